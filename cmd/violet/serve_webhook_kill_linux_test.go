package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/server"
	"github.com/violet-mlsecops/violet/store"
	"github.com/violet-mlsecops/violet/webhook"
)

// startWebhookChild starts violet serve on data, delivering webhooks to
// loopback with a 200 ms backoff, and waits until it listens.
func startWebhookChild(t *testing.T, data string) *serveChild {
	t.Helper()
	return startServeChild(t, data, "", "--webhook-allow-private", "--webhook-backoff", "200ms")
}

// TestWebhookSurvivesKill9: the server commits an incident (and its
// webhook event) while the receiver is down, and is killed with SIGKILL
// before any delivery succeeds; restarted, it delivers the event, signed,
// once the receiver is up.
func TestWebhookSurvivesKill9(t *testing.T) {
	const secret = "kill-9 test shared secret"
	var mu sync.Mutex
	up, failed := false, 0
	var delivered []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(r.Header.Get(webhook.TimestampHeader) + "." + string(body)))
		if r.Header.Get(webhook.SignatureHeader) != "sha256="+hex.EncodeToString(m.Sum(nil)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if !up {
			failed++
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		delivered = append(delivered, string(body))
	}))
	defer recv.Close()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}

	// The admin team (which violet serve adopts on its first start) and
	// its webhook, written before the server runs.
	ctx := context.Background()
	data := t.TempDir()
	st, err := store.Open(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	a := store.Actor{Name: "test", Remote: "local"}
	team, err := st.CreateTeam(ctx, a, server.AdminTeam)
	if err != nil {
		t.Fatal(err)
	}
	hook, err := st.CreateWebhook(ctx, a, store.Webhook{TeamID: team.ID, URL: recv.URL, Format: "json",
		Events: []string{store.EventIncidentOpened}, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	srv := startWebhookChild(t, data)
	raw, err := os.ReadFile(filepath.Join(data, AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	admin := strings.TrimSpace(string(raw))
	api(t, "POST", srv.url+"/api/v1/incidents", admin, map[string]any{"type": "malicious-model", "severity": "high",
		"title": "pickle in prod", "summary": "kill -9 test"}, nil, 201)
	waitFor("an attempt on the receiver that is down", func() bool { mu.Lock(); defer mu.Unlock(); return failed > 0 })
	// Kill between attempts (the dispatcher polls every second), not
	// during one: a delivery killed mid-attempt waits for its lease (3.5
	// minutes) before the next.
	time.Sleep(300 * time.Millisecond)
	if err := srv.kill(); err != nil {
		t.Fatal(err)
	}
	// Committed, not delivered.
	st, err = store.Open(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := st.WebhookDeliveries(ctx, team.ID, hook.ID)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || !ds[0].DeliveredAt.IsZero() || ds[0].Attempts < 1 {
		t.Fatalf("after the kill: %+v", ds)
	}

	mu.Lock()
	if len(delivered) != 0 {
		t.Fatalf("delivered before the kill: %q", delivered)
	}
	up = true
	mu.Unlock()
	srv = startWebhookChild(t, data)
	waitFor("the delivery after the restart", func() bool { mu.Lock(); defer mu.Unlock(); return len(delivered) > 0 })
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(delivered) != 1 || !strings.Contains(delivered[0], `"type":"incident.opened"`) ||
		!strings.Contains(delivered[0], `"title":"pickle in prod"`) {
		t.Fatalf("delivered %q", delivered)
	}
	st, err = store.Open(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ds, err = st.WebhookDeliveries(ctx, team.ID, hook.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].DeliveredAt.IsZero() || ds[0].Attempts < 2 {
		t.Fatalf("deliveries %+v", ds)
	}
}
