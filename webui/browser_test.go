package webui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser starts headless Chromium for a test and returns its context.
// Without Chromium the test is skipped, except with CI=true, where it
// fails: CI must run it.
func browser(t *testing.T) context.Context {
	t.Helper()
	unavailable := func(err error) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("headless Chromium is required with CI=true: %v", err)
		}
		t.Skipf("headless Chromium is not available: %v", err)
	}
	var path string
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		unavailable(errors.New("no chromium on PATH"))
	}
	profile := t.TempDir()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// The test server's certificate is self-signed (httptest); the
		// session cookie is Secure, so the UI is tested over HTTPS.
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.WindowSize(1280, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// The first call starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		unavailable(err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancelTimeout)
	return ctx
}

// artifacts returns the folder for the test's screenshots: under
// VIOLET_TEST_ARTIFACTS when set, else a temporary folder.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("VIOLET_TEST_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, "webui", t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// screenshot saves a full-page screenshot as an action.
func screenshot(t *testing.T, dir, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		// quality 100: PNG. Right after a navigation Chromium may not
		// have laid the page out yet ("0 width"): try again shortly.
		png, err := chromedp.FullScreenshot(100)(ctx, tg)
		for try := 0; err != nil && strings.Contains(err.Error(), "0 width") && try < 20; try++ {
			time.Sleep(50 * time.Millisecond)
			png, err = chromedp.FullScreenshot(100)(ctx, tg)
		}
		if err != nil {
			return err
		}
		path := filepath.Join(dir, name+".png")
		t.Logf("screenshot %s", path)
		return os.WriteFile(path, png, 0o644)
	})
}

// signIn signs user in (password "password"+user) from the login page of
// the UI at srvURL.
func signIn(srvURL, user string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(srvURL+"/login"),
		chromedp.WaitVisible(chromedp.ID("#username")),
		chromedp.SendKeys(chromedp.ID("#username"), user),
		chromedp.SendKeys(chromedp.ID("#password"), "password"+user),
		chromedp.Click(chromedp.ID("#signin")),
		chromedp.WaitVisible(chromedp.ID("#q")),
	)
}

// into stores the value of an action in dst.
func into[T any](dst *T, a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		v, err := a(ctx, tg)
		*dst = v
		return chromedp.Void{}, err
	}
}

// TestBrowserTriage drives the UI as a security reviewer would, without
// JavaScript of ours: sign in, find a model by its Hugging Face id, open a
// finding, accept the risk with a reason, see the new state and history.
func TestBrowserTriage(t *testing.T) {
	ctx := browser(t)
	w := newWorld(t)
	srv := w.server(t, Options{})
	dir := artifacts(t)
	reason := "runs in a sandbox " + xss
	var title, state, history, message, scripts string
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("#username")),
		screenshot(t, dir, "1-login"),
		chromedp.SendKeys(chromedp.ID("#username"), w.alice),
		chromedp.SendKeys(chromedp.ID("#password"), "password"+w.alice),
		chromedp.Click(chromedp.ID("#signin")),
		chromedp.WaitVisible(chromedp.ID("#q")),
		screenshot(t, dir, "2-inventory"),
		chromedp.SendKeys(chromedp.ID("#q"), "ORG/<script>"),
		chromedp.Click(chromedp.CSS("form.search button")),
		chromedp.WaitVisible(chromedp.ID("search-results")),
		into(&title, chromedp.Text(chromedp.CSS("section.model h2 a"))),
		screenshot(t, dir, "3-search"),
		chromedp.Click(chromedp.CSS("section.model h2 a")),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`a[href$="/findings/%d"]`, w.findingA))),
		screenshot(t, dir, "4-model"),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href$="/findings/%d"]`, w.findingA))),
		chromedp.WaitVisible(chromedp.ID("#accept-reason")),
		into(&message, chromedp.Text(chromedp.ID("#message"))),
		chromedp.SendKeys(chromedp.ID("#accept-reason"), reason),
		screenshot(t, dir, "5-finding"),
		chromedp.Click(chromedp.ID("#accept")),
		chromedp.WaitVisible(chromedp.CSS("table#history")),
		into(&state, chromedp.Text(chromedp.ID("#state"))),
		into(&history, chromedp.Text(chromedp.CSS("table#history"))),
		into(&scripts, chromedp.Evaluate[string](`String(document.querySelectorAll("script").length)`)),
		screenshot(t, dir, "6-accepted"),
		chromedp.Click(chromedp.ID("#logout")),
		chromedp.WaitVisible(chromedp.ID("#username")),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if title != xss+" model" {
		t.Errorf("search result %q: want the model's name shown as text", title)
	}
	if message != "evidence "+xss {
		t.Errorf("finding message %q: want the evidence shown as text", message)
	}
	if state != "accepted-risk" {
		t.Errorf("state after accepting: %q", state)
	}
	if !strings.Contains(history, reason) || !strings.Contains(history, w.alice) || !strings.Contains(history, "accepted-risk") {
		t.Errorf("history %q: want the reason, the reviewer and the state", history)
	}
	if scripts != "0" {
		t.Errorf("the finding page holds %s script elements", scripts)
	}
	h, err := w.st.FindingHistory(context.Background(), w.findingA)
	if err != nil || len(h) != 1 || h[0].Reason != reason || h[0].SetBy != w.alice {
		t.Fatalf("stored history %+v %v", h, err)
	}
}
