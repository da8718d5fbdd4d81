package server

import (
	"net/http"
	"time"

	"github.com/violet-mlsecops/violet/store"
)

// The JSON shapes of webhooks and their deliveries (openapi.json). A
// webhook's secret is write-only: it is never returned.
type (
	webhookJSON struct {
		ID        int64     `json:"id"`
		URL       string    `json:"url"`
		Format    string    `json:"format"`
		Events    []string  `json:"events"`
		CreatedBy string    `json:"created_by"`
		CreatedAt time.Time `json:"created_at"`
		Disabled  bool      `json:"disabled"`
	}
	deliveryJSON struct {
		ID            int64      `json:"id"`
		EventID       string     `json:"event_id"`
		EventType     string     `json:"event_type"`
		Attempts      int        `json:"attempts"`
		NextAttemptAt time.Time  `json:"next_attempt_at"`
		DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
		FailedAt      *time.Time `json:"failed_at,omitempty"`
		LastError     string     `json:"last_error,omitempty"`
	}
)

func toWebhook(w store.Webhook) webhookJSON {
	return webhookJSON{ID: w.ID, URL: w.URL, Format: w.Format, Events: w.Events, CreatedBy: w.CreatedBy,
		CreatedAt: w.CreatedAt, Disabled: w.Disabled}
}

// listWebhooks lists the token's team's webhooks.
func (s *Server) listWebhooks(c *call) error {
	ws, err := s.st.Webhooks(c.ctx, c.token.TeamID)
	if err != nil {
		return err
	}
	out := []webhookJSON{}
	for _, w := range ws {
		out = append(out, toWebhook(w))
	}
	writeJSON(c.w, http.StatusOK, out)
	return nil
}

// createWebhook adds a webhook to the token's team.
func (s *Server) createWebhook(c *call) error {
	var in struct {
		URL    string   `json:"url"`
		Format string   `json:"format"`
		Events []string `json:"events"`
		Secret string   `json:"secret"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	if in.Format == "" {
		in.Format = "json"
	}
	w, err := s.st.CreateWebhook(c.ctx, c.actor, store.Webhook{TeamID: c.token.TeamID, URL: in.URL, Format: in.Format,
		Events: in.Events, Secret: in.Secret})
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, toWebhook(w))
	return nil
}

// webhook returns the token's team's webhook of the path; another team's
// is 404.
func (s *Server) webhook(c *call) (store.Webhook, error) {
	id, err := pathID(c, "webhook")
	if err != nil {
		return store.Webhook{}, err
	}
	ws, err := s.st.Webhooks(c.ctx, c.token.TeamID)
	if err != nil {
		return store.Webhook{}, err
	}
	for _, w := range ws {
		if w.ID == id {
			return w, nil
		}
	}
	return store.Webhook{}, fail(http.StatusNotFound, "not_found", "webhook %d: not found", id)
}

// disableWebhook disables a webhook of the token's team (DELETE: the
// webhook and its deliveries are kept, for the record).
func (s *Server) disableWebhook(c *call) error {
	w, err := s.webhook(c)
	if err != nil {
		return err
	}
	if err := s.st.DisableWebhook(c.ctx, c.actor, w.TeamID, w.ID); err != nil {
		return err
	}
	w.Disabled = true
	writeJSON(c.w, http.StatusOK, toWebhook(w))
	return nil
}

// listDeliveries lists a webhook's last deliveries, newest first.
func (s *Server) listDeliveries(c *call) error {
	w, err := s.webhook(c)
	if err != nil {
		return err
	}
	ds, err := s.st.WebhookDeliveries(c.ctx, w.TeamID, w.ID)
	if err != nil {
		return err
	}
	out := []deliveryJSON{}
	for _, d := range ds {
		out = append(out, deliveryJSON{ID: d.ID, EventID: d.EventID, EventType: d.EventType, Attempts: d.Attempts,
			NextAttemptAt: d.NextAttemptAt, DeliveredAt: timePtr(d.DeliveredAt), FailedAt: timePtr(d.FailedAt),
			LastError: d.LastError})
	}
	writeJSON(c.w, http.StatusOK, out)
	return nil
}
