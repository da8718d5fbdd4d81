// Package webhook delivers the store's outbox of events to the teams'
// webhooks: signed with HMAC-SHA256, retried with exponential backoff,
// formatted as the event's JSON, a Slack message or a Microsoft Teams
// MessageCard. See docs/webhooks.md.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/violet-mlsecops/violet/store"
)

// The headers of a delivery.
const (
	// SignatureHeader holds "sha256=" and the lower-case hex HMAC-SHA256,
	// keyed with the webhook's secret, of TimestampHeader's value, a dot
	// and the body.
	SignatureHeader = "X-Violet-Signature"
	// TimestampHeader holds the Unix time of the attempt, in seconds.
	TimestampHeader = "X-Violet-Timestamp"
	// EventHeader holds the event type.
	EventHeader = "X-Violet-Event"
)

// Timeout bounds one attempt, connection and response included.
const Timeout = 10 * time.Second

// maxResponse is the most bytes of a response read (the rest is dropped);
// maxErrorText is the most of it kept as the delivery's error.
const (
	maxResponse  = 4096
	maxErrorText = 200
)

// Sign returns the value of SignatureHeader for body sent at timestamp ts
// (the value of TimestampHeader).
func Sign(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// titles are the one-line summaries of the event types, for Slack and
// Teams.
var titles = map[string]string{
	store.EventFindingCritical:  "New critical finding",
	store.EventReleaseWaiting:   "Release waiting for decisions",
	store.EventIncidentOpened:   "Incident opened",
	store.EventDrillScheduled:   "Drill scheduled",
	store.EventRescanNewFinding: "Rescan found a new finding in a released model",
	store.EventVerifyFailed:     "A released model no longer verifies",
	store.EventTrainingOverdue:  "Training overdue",
	store.EventDrillDue:         "Drill due",
}

// event is the part of an outbox payload that the chat formats use.
type event struct {
	Type string          `json:"type"`
	Team int64           `json:"team"`
	Data json.RawMessage `json:"data"`
}

// slackEscape escapes the characters that Slack's message text gives a
// meaning to (<!channel>, <url|text>).
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Body returns the body to post for the outbox payload in format ("json",
// "slack" or "teams").
func Body(format string, payload []byte) ([]byte, error) {
	if format == "json" {
		return payload, nil
	}
	var e event
	if err := json.Unmarshal(payload, &e); err != nil {
		return nil, fmt.Errorf("webhook: event payload: %w", err)
	}
	title := titles[e.Type]
	if title == "" {
		title = e.Type
	}
	heading := fmt.Sprintf("Violet: %s (team %d)", title, e.Team)
	details := string(e.Data)
	switch format {
	case "slack":
		// Slack reads <...> as links and mentions: escape them.
		return json.Marshal(map[string]string{"text": slackEscape.Replace(heading + "\n```" + details + "```")})
	case "teams":
		return json.Marshal(map[string]string{"@type": "MessageCard", "@context": "https://schema.org/extensions",
			"summary": heading, "title": heading, "text": details})
	}
	return nil, fmt.Errorf("webhook: unknown format %q", format)
}

// ErrPrivateAddress is the error of a connection refused by the SSRF rule.
var ErrPrivateAddress = errors.New("webhook: the address is loopback, private, link-local or otherwise not public")

// public reports whether ip may be called when private addresses are not
// allowed.
func public(ip net.IP) bool {
	cgnat := &net.IPNet{IP: net.IPv4(100, 64, 0, 0), Mask: net.CIDRMask(10, 32)}
	return !(ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || cgnat.Contains(ip))
}

// NewClient returns the HTTP client of deliveries: Timeout per attempt, no
// proxy, no redirects followed (a 3xx is a failed attempt) and, unless
// allowPrivate, no connection to a non-public address. The check is made
// on the address dialled, after name resolution, so a name that resolves
// to a private address is refused too.
func NewClient(allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: Timeout}
	if !allowPrivate {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip := net.ParseIP(host); ip == nil || !public(ip) {
				return fmt.Errorf("%w: %s", ErrPrivateAddress, host)
			}
			return nil
		}
	}
	return &http.Client{
		Timeout:       Timeout,
		Transport:     &http.Transport{Proxy: nil, DialContext: d.DialContext, TLSHandshakeTimeout: Timeout, MaxIdleConns: 10},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Send posts one claimed delivery, signed at now: nil when the receiver
// answered 2xx.
func Send(ctx context.Context, c *http.Client, d store.Due, now time.Time) error {
	body, err := Body(d.Webhook.Format, d.Payload)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Webhook.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "violet-webhook/1")
	req.Header.Set(EventHeader, d.EventType)
	req.Header.Set(TimestampHeader, ts)
	req.Header.Set(SignatureHeader, Sign(d.Webhook.Secret, ts, body))
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.ToValidUTF8(text[:min(len(text), maxErrorText)], nil))
	}
	return nil
}

// Dispatcher delivers the outbox until its context ends.
type Dispatcher struct {
	Outbox *store.Outbox
	Client *http.Client
	// Poll is how often it looks for due deliveries (default 1 s).
	Poll time.Duration
	// MaxAttempts is the attempts before a delivery fails for good
	// (default 8); Backoff is the wait after the first failed attempt,
	// doubled after each (default 30 s, at most an hour).
	MaxAttempts int
	Backoff     time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logf reports errors of the store (default: dropped).
	Logf func(format string, args ...any)
}

// batch is the most deliveries claimed at once.
const batch = 20

// lease is how long a claimed batch is left to its attempts (one after
// the other, each within Timeout) before another claim may take them (a
// dispatcher that died).
const lease = (batch + 1) * Timeout

// Run delivers due deliveries every Poll until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	poll := cmp(d.Poll, time.Second)
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		d.Step(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func cmp(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

// Step claims the due deliveries once and attempts each; it returns how
// many it attempted.
func (d *Dispatcher) Step(ctx context.Context) int {
	now, logf := time.Now, d.Logf
	if d.Now != nil {
		now = d.Now
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	attempts, backoff := d.MaxAttempts, cmp(d.Backoff, 30*time.Second)
	if attempts <= 0 {
		attempts = 8
	}
	due, err := d.Outbox.Claim(ctx, now(), lease, batch)
	if err != nil {
		logf("webhooks: claim: %v", err)
		return 0
	}
	for _, x := range due {
		if err := Send(ctx, d.Client, x, now()); err != nil {
			if ctx.Err() != nil {
				return len(due) // shutting down: the lease ends and the attempt is made again
			}
			if err := d.Outbox.Failed(ctx, x.ID, now(), err.Error(), attempts, backoff); err != nil {
				logf("webhooks: delivery %d: %v", x.ID, err)
			}
			continue
		}
		if err := d.Outbox.Delivered(ctx, x.ID, now()); err != nil {
			logf("webhooks: delivery %d: %v", x.ID, err)
		}
	}
	return len(due)
}
