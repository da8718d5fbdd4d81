package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/store"
	"github.com/violet-mlsecops/violet/webhook"
)

// TestQueueWeeklyReports: the hourly check queues each team's weekly
// report once a week, with the report's Markdown in the event, in the
// Slack body too.
func TestQueueWeeklyReports(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a := store.Actor{Name: "test"}
	team, err := st.CreateTeam(ctx, a, "weekly team")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateWebhook(ctx, a, store.Webhook{TeamID: team.ID, URL: "https://hooks.example/w", Format: "slack",
		Events: []string{store.EventReportWeekly}, Secret: "0123456789abcdef"}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := queueWeeklyReports(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	due, err := st.Outbox().Claim(ctx, time.Now().Add(time.Minute), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 1 || due[0].EventType != store.EventReportWeekly {
		t.Fatalf("due %+v", due)
	}
	var e struct {
		Data struct{ Week, Markdown string }
	}
	if err := json.Unmarshal(due[0].Payload, &e); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.Data.Markdown, "weekly team") || !strings.Contains(e.Data.Week, "-W") {
		t.Fatalf("event %+v", e.Data)
	}
	body, err := webhook.Body("slack", due[0].Payload)
	if err != nil || !strings.Contains(string(body), "weekly team") {
		t.Fatalf("slack body %s %v", body, err)
	}
}
