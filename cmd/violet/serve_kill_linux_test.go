package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/internal/pgtest"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/server"
	"github.com/violet-mlsecops/violet/store"
)

// killClients is how many clients upload at once while the server is
// killed.
const killClients = 8

// TestServeKill9 runs violet serve as a child process (this test binary,
// TestMain), has killClients clients upload scan reports to it at once,
// each upload a new version of the client's model, and kills the server
// with SIGKILL in the middle of the stream, three times, restarting it on
// the same data each time. After each kill, in the database: every upload
// the server acknowledged (2xx) is there, with its version's files, its
// report byte for byte and its finding; no version lacks a file (its
// digest is its files' digest) and no report differs from its SHA-256;
// the audit chain verifies. After each restart the acknowledged uploads
// are served by the API; at the end violet audit verify passes. On SQLite
// in --data, and on PostgreSQL (--database) under scripts/pg-test.sh.
func TestServeKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	t.Run("sqlite", func(t *testing.T) { testServeKill9(t, "") })
	t.Run("postgres", func(t *testing.T) { testServeKill9(t, pgtest.URL(t)) })
}

// ackedUpload is an upload the server acknowledged.
type ackedUpload struct {
	client int
	up     server.Upload
	sha256 string
}

func testServeKill9(t *testing.T, database string) {
	data := filepath.Join(t.TempDir(), "data")
	dsn := data
	if database != "" {
		dsn = database
	}
	var (
		acked  []ackedUpload
		tokens []string
		seq    atomic.Int64
	)
	for round := range 3 {
		srv := startServeChild(t, data, database)
		if round == 0 {
			tokens = killTokens(t, srv.url, data)
		} else {
			checkAckedByAPI(t, srv.url, tokens, acked)
		}
		got := uploadUntilKilled(t, srv, tokens, &seq, 40+20*round)
		acked = append(acked, got...)
		t.Logf("round %d: %d uploads acknowledged before the kill, %d in all", round, len(got), len(acked))
		checkStoreAfterKill(t, dsn, acked)
	}
	srv := startServeChild(t, data, database)
	checkAckedByAPI(t, srv.url, tokens, acked)
	if err := srv.stop(); err != nil {
		t.Fatalf("violet serve did not stop cleanly on SIGTERM: %v: %s", err, srv.stderr.String())
	}
	args := []string{"audit", "verify", "--data", data}
	if database != "" {
		args = append(args, "--database", database)
	}
	var out, errOut syncBuffer
	if code := run(args, &out, &errOut); code != report.ExitPass || !strings.Contains(out.String(), "intact") {
		t.Fatalf("violet audit verify: exit %d: %s %s", code, out.String(), errOut.String())
	}
}

// serveChild is violet serve running in a child process.
type serveChild struct {
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
	done   chan error
}

// startServeChild starts violet serve on data (and database, when not "")
// with the flags more, on a free port of 127.0.0.1, and waits until it
// listens. The child is killed when the test ends, and when the test
// process dies.
// startChild starts this test binary as violet with args and the extra
// environment env; the child dies with the test (and with its parent).
func startChild(t *testing.T, args, env []string) *serveChild {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := &serveChild{cmd: exec.Command(self, args...), stderr: &syncBuffer{}, done: make(chan error, 1)}
	c.cmd.Env = append(append(os.Environ(), asVioletEnv+"=1"), env...)
	c.cmd.Stdout = io.Discard
	c.cmd.Stderr = c.stderr
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.done <- c.cmd.Wait() }()
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

func startServeChild(t *testing.T, data, database string, more ...string) *serveChild {
	t.Helper()
	args := []string{"serve", "--data", data, "--addr", "127.0.0.1:0"}
	if database != "" {
		args = append(args, "--database", database)
	}
	c := startChild(t, append(args, more...), nil)
	listening := regexp.MustCompile(`Listening on (http://127\.0\.0\.1:[0-9]+)`)
	deadline := time.After(60 * time.Second)
	for {
		if m := listening.FindStringSubmatch(c.stderr.String()); m != nil {
			c.url = m[1]
			return c
		}
		select {
		case err := <-c.done:
			c.done <- err
			t.Fatalf("violet serve ended: %v: %s", err, c.stderr.String())
		case <-deadline:
			t.Fatalf("violet serve did not listen: %s", c.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// kill sends SIGKILL and waits for the child to end.
func (c *serveChild) kill() error {
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	<-c.done
	return nil
}

// stop sends SIGTERM and returns how the child ended.
func (c *serveChild) stop() error {
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case err := <-c.done:
		return err
	case <-time.After(60 * time.Second):
		return errors.New("still running 60 s after SIGTERM")
	}
}

// killTokens creates, with the admin token of the first start, the team
// ml and a user of role ml-engineer there for each client, and returns
// their tokens (one each: the upload rate limit counts per token).
func killTokens(t *testing.T, base, data string) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(data, AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	admin := strings.TrimSpace(string(raw))
	api(t, "POST", base+"/api/v1/teams", admin, map[string]string{"name": "ml"}, nil, 201)
	var out []string
	for i := range killClients {
		login := fmt.Sprintf("ci-%d", i)
		api(t, "POST", base+"/api/v1/users", admin, map[string]string{"login": login, "team": "ml", "role": "ml-engineer"}, nil, 201)
		var tok struct{ Secret string }
		api(t, "POST", base+"/api/v1/tokens", admin, map[string]any{"login": login, "team": "ml", "role": "ml-engineer", "name": login}, &tok, 201)
		out = append(out, tok.Secret)
	}
	return out
}

// uploadUntilKilled runs killClients clients uploading to srv until it has
// acknowledged at least n uploads (or 60 s passed), kills it with SIGKILL
// while they go on, and returns the uploads it acknowledged. An error
// before the kill fails the test; after it, errors are expected.
func uploadUntilKilled(t *testing.T, srv *serveChild, tokens []string, seq *atomic.Int64, n int) []ackedUpload {
	t.Helper()
	var (
		mu     sync.Mutex
		acked  []ackedUpload
		killed atomic.Bool
		wg     sync.WaitGroup
	)
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	hc := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	for w := range killClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &server.Client{BaseURL: srv.url, Token: tokens[w], HTTP: hc}
			for !killed.Load() {
				up := testUpload(w, seq.Add(1))
				_, err := client.Upload(context.Background(), up)
				var ae *server.APIError
				switch {
				case err == nil:
					sum := sha256.Sum256(up.Report)
					mu.Lock()
					acked = append(acked, ackedUpload{client: w, up: up, sha256: hex.EncodeToString(sum[:])})
					mu.Unlock()
				case killed.Load():
					return
				case errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests:
					time.Sleep(time.Second)
				default:
					t.Errorf("client %d, before the kill: %v", w, err)
					return
				}
			}
		}()
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		got := len(acked)
		mu.Unlock()
		if got >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	killed.Store(true)
	if err := srv.kill(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if len(acked) < n/2 {
		t.Fatalf("the server acknowledged only %d uploads before the kill: %s", len(acked), srv.stderr.String())
	}
	return acked
}

// checkStoreAfterKill opens the store the killed server left and checks
// it: every acknowledged upload is whole, nothing stored is half-stored,
// the audit chain verifies.
func checkStoreAfterKill(t *testing.T, dsn string, acked []ackedUpload) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("reopening the store after the kill: %v", err)
	}
	defer st.Close()
	teams, err := st.Teams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type versionKey struct{ model, digest string }
	versions := map[versionKey]store.Version{}
	stored, noFindings := 0, 0
	for _, team := range teams {
		models, err := st.Models(ctx, team.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range models {
			vs, err := st.Versions(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vs {
				versions[versionKey{m.Name, v.Digest}] = v
				files, err := st.VersionFiles(ctx, v.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got := server.RootDigest(files); got != v.Digest {
					t.Errorf("version %s of %s: half-stored: its %d files have the digest %s", v.Digest, m.Name, len(files), got)
				}
				evidence, err := st.ListEvidence(ctx, v.ID, "")
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range evidence {
					stored++
					body, err := st.EvidenceReport(ctx, e.ID)
					if sum := sha256.Sum256(body); err != nil || hex.EncodeToString(sum[:]) != e.SHA256 || int64(len(body)) != e.Size {
						t.Errorf("evidence %d: half-stored: %d bytes of %d, %v", e.ID, len(body), e.Size, err)
					}
				}
				if len(evidence) > 0 {
					fs, err := st.VersionFindings(ctx, v.ID)
					if err != nil {
						t.Fatal(err)
					}
					if len(fs) == 0 {
						noFindings++
					}
				}
			}
		}
	}
	for _, a := range acked {
		v, ok := versions[versionKey{a.up.Model, a.up.Digest}]
		if !ok {
			t.Errorf("acknowledged upload lost: version %s of %s", a.up.Digest, a.up.Model)
			continue
		}
		files, err := st.VersionFiles(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(sortedFiles(files), sortedFiles(a.up.Files)) {
			t.Errorf("version %s of %s: files %v, want %v", a.up.Digest, a.up.Model, files, a.up.Files)
		}
		evidence, err := st.ListEvidence(ctx, v.ID, store.EvidenceScan)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(evidence, func(e store.Evidence) bool { return e.SHA256 == a.sha256 }) {
			t.Errorf("acknowledged upload lost: the report %s of version %s of %s", a.sha256, a.up.Digest, a.up.Model)
		}
		fs, err := st.VersionFindings(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) != 1 || fs[0].Rule != finding.PickleProcess {
			t.Errorf("acknowledged upload to version %s of %s: findings %+v, want its one %s", a.up.Digest, a.up.Model, fs, finding.PickleProcess)
		}
	}
	head, err := st.VerifyAudit(ctx)
	if err != nil {
		t.Fatalf("the audit chain after the kill: %v", err)
	}
	// A scan report and its findings are stored in one transaction: a
	// stored report of a version without its finding would show the
	// version clean.
	if noFindings > 0 {
		t.Errorf("%d versions hold a scan report but not its finding", noFindings)
	}
	t.Logf("after the kill: %d versions, %d reports, audit head %d", len(versions), stored, head.Seq)
}

// sortedFiles returns files in path order.
func sortedFiles(files []store.File) []store.File {
	out := slices.Clone(files)
	slices.SortFunc(out, func(a, b store.File) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// checkAckedByAPI checks that the server lists every acknowledged upload's
// report under its version, to the token that uploaded it.
func checkAckedByAPI(t *testing.T, base string, tokens []string, acked []ackedUpload) {
	t.Helper()
	for _, a := range acked {
		var list struct {
			Items []struct {
				Kind, SHA256 string
			}
		}
		path := base + "/api/v1/models/" + url.PathEscape(a.up.Model) + "/versions/" + url.PathEscape(a.up.Digest) + "/evidence"
		api(t, "GET", path, tokens[a.client], nil, &list, 200)
		if len(list.Items) != 1 || list.Items[0].SHA256 != a.sha256 || list.Items[0].Kind != store.EvidenceScan {
			t.Errorf("after the restart, %s lists %+v, want the report %s", path, list.Items, a.sha256)
		}
	}
}
