package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/store"
)

// TestAuditAPI: GET /api/v1/audit pages through the whole log in order,
// with every field the hash covers as the store holds it: the chain
// recomputes from the JSON alone. Bad parameters are 400.
func TestAuditAPI(t *testing.T) {
	e := newEnv(t, "", Options{})
	for i := range 5 {
		e.team(fmt.Sprintf("team-%d", i))
	}
	var got []AuditRecordJSON
	after, pages := int64(0), 0
	for {
		var page AuditPageJSON
		e.must(http.StatusOK, e.do("GET", fmt.Sprintf("/api/v1/audit?after=%d&limit=3", after), e.admin, nil)).decode(t, &page)
		pages++
		got = append(got, page.Items...)
		if page.NextAfter == nil {
			break
		}
		if len(page.Items) != 3 || *page.NextAfter != page.Items[2].Seq {
			t.Fatalf("page %+v", page)
		}
		after = *page.NextAfter
	}
	want, err := e.st.AuditLog(context.Background(), 0, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(want) < 9 || pages != (len(want)+2)/3 {
		t.Fatalf("%d records in %d pages, the store holds %d", len(got), pages, len(want))
	}
	head := store.AuditHead{Hash: store.GenesisHash}
	for i, j := range got {
		if j != toAuditRecord(want[i]) {
			t.Fatalf("record %d: %+v, the store holds %+v", i, j, want[i])
		}
		r := store.AuditRecord{Seq: j.Seq, Actor: j.Actor, Action: j.Action, Object: j.Object, Detail: j.Detail,
			Remote: j.Remote, PrevHash: j.PrevHash, Hash: j.Hash}
		r.At = want[i].At
		if b := store.CheckAuditLink(head, r); b != nil {
			t.Fatalf("the chain of the API's records: %v", b)
		}
		head = store.AuditHead{Seq: r.Seq, Hash: r.Hash}
	}
	// The default page and an empty one past the end.
	var page AuditPageJSON
	e.must(http.StatusOK, e.do("GET", "/api/v1/audit", e.admin, nil)).decode(t, &page)
	if len(page.Items) < len(want) || page.Items[0].Seq != 1 || page.Items[0].PrevHash != store.GenesisHash {
		t.Fatalf("default page: %+v", page)
	}
	r := e.must(http.StatusOK, e.do("GET", "/api/v1/audit?after=1000000", e.admin, nil))
	if string(r.body) != "{\"items\":[]}\n" {
		t.Fatalf("past the end: %s", r.body)
	}
	for _, q := range []string{"limit=0", "limit=501", "limit=x", "after=-1", "after=x", "after=99999999999999999999", "%zz"} {
		if r := e.do("GET", "/api/v1/audit?"+q, e.admin, nil); r.status != http.StatusBadRequest || r.code() != "invalid_parameter" {
			t.Errorf("?%s: %d %s", q, r.status, r.body)
		}
	}
}

// TestClientVerifyAudit: the client walks the log over the API and checks
// the chain with the store's hash: the head of an intact chain is the
// store's, and a record changed in the database is named.
func TestClientVerifyAudit(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := newEnv(t, dir, Options{})
	// More than one page of the client's.
	for i := range auditPageSize + 20 {
		e.team(fmt.Sprintf("team-%d", i))
	}
	c := &Client{BaseURL: e.srv.URL, Token: e.admin}
	head, err := c.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want, err := e.st.VerifyAudit(ctx); err != nil || head != want || head.Seq < auditPageSize+20 {
		t.Fatalf("head over the API %+v, the store's %+v (%v)", head, want, err)
	}

	// A viewer may not read it; a bad token is refused.
	viewer := e.token(e.team("viewers"), "viewer", store.RoleViewer)
	for _, token := range []string{viewer, store.TokenPrefix + "wrong"} {
		_, err := (&Client{BaseURL: e.srv.URL, Token: token}).VerifyAudit(ctx)
		var ae *APIError
		if !errors.As(err, &ae) || (ae.Status != http.StatusForbidden && ae.Status != http.StatusUnauthorized) {
			t.Errorf("token %.8s...: %v", token, err)
		}
	}

	// Someone with the database file changes a record, past the
	// append-only trigger.
	db, err := sql.Open("sqlite", filepath.Join(dir, store.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{`DROP TRIGGER audit_log_no_update`, fmt.Sprintf(`UPDATE audit_log SET detail = '{"name":"evil"}' WHERE seq = %d`, auditPageSize+7)} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.VerifyAudit(ctx)
	var b *store.AuditBreak
	if !errors.As(err, &b) || b.Seq != auditPageSize+7 {
		t.Fatalf("tampering over the API: %v, want the break at seq %d", err, auditPageSize+7)
	}
}

// TestClientVerifyAuditBadAnswers: a server whose answers are not pages of
// an intact log never verifies: a break for records that do not chain, an
// error for anything else.
func TestClientVerifyAuditBadAnswers(t *testing.T) {
	rec := store.AuditRecord{Seq: 1, Actor: "a", Action: "team.create", Object: "team/1", Detail: "{}", PrevHash: store.GenesisHash}
	rec.Hash = rec.ComputeHash()
	good := fmt.Sprintf(`{"seq":1,"at":"0001-01-01T00:00:00.000000Z","actor":"a","action":"team.create","object":"team/1","detail":"{}","remote":"","prev_hash":%q,"hash":%q}`,
		rec.PrevHash, rec.Hash)
	cases := []struct {
		name   string
		status int
		body   string
		// seq is the break expected (0: an error that is no break).
		seq int64
	}{
		{"not JSON", 200, `<html>hello</html>`, 0},
		{"no items", 200, `{}`, 0},
		{"items null", 200, `{"items":null}`, 0},
		{"an error", 500, `{"error":{"code":"internal","message":"boom"}}`, 0},
		{"a redirect page", 302, ``, 0},
		{"more, but nothing", 200, `{"items":[],"next_after":0}`, 0},
		{"more, from elsewhere", 200, `{"items":[` + good + `],"next_after":5}`, 0},
		{"a first record after a gap", 200, `{"items":[{"seq":2,"at":"0001-01-01T00:00:00.000000Z","prev_hash":"` + store.GenesisHash + `"}]}`, 1},
		{"a record whose hash does not match", 200, `{"items":[{"seq":1,"at":"0001-01-01T00:00:00.000000Z","actor":"b","action":"team.create","object":"team/1","detail":"{}","remote":"","prev_hash":"` + store.GenesisHash + `","hash":"` + rec.Hash + `"}]}`, 1},
		{"a time in another format", 200, `{"items":[{"seq":1,"at":"0001-01-01T00:00:00Z","actor":"a","action":"team.create","object":"team/1","detail":"{}","remote":"","prev_hash":"` + store.GenesisHash + `","hash":"` + rec.Hash + `"}]}`, 1},
		{"a record repeated", 200, `{"items":[` + good + `,` + good + `]}`, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/api/v1/audit" || r.Header.Get("Authorization") != "Bearer vlt_x" {
					http.NotFound(w, r)
					return
				}
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			_, err := (&Client{BaseURL: srv.URL, Token: "vlt_x"}).VerifyAudit(context.Background())
			var b *store.AuditBreak
			switch {
			case err == nil:
				t.Fatal("verified")
			case tc.seq == 0 && errors.As(err, &b):
				t.Fatalf("a break %v, want an error that is not one", b)
			case tc.seq != 0 && (!errors.As(err, &b) || b.Seq != tc.seq):
				t.Fatalf("%v, want the break at seq %d", err, tc.seq)
			}
		})
	}
	// The one good record alone verifies: the cases fail for their flaw.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"items":[`+good+`]}`)
	}))
	defer srv.Close()
	if head, err := (&Client{BaseURL: srv.URL, Token: "vlt_x"}).VerifyAudit(context.Background()); err != nil || head.Seq != 1 {
		t.Fatalf("the good record: %+v %v", head, err)
	}
}

// FuzzAuditPage: whatever a server answers, the client never panics, and
// a page it accepts is a chain from the first record: each record the
// next seq, linked to the one before, its hash its fields'.
func FuzzAuditPage(f *testing.F) {
	rec := store.AuditRecord{Seq: 1, Actor: "a", Action: "team.create", Object: "team/1", Detail: "{}", PrevHash: store.GenesisHash}
	rec.Hash = rec.ComputeHash()
	good := fmt.Sprintf(`{"seq":1,"at":"0001-01-01T00:00:00.000000Z","actor":"a","action":"team.create","object":"team/1","detail":"{}","remote":"","prev_hash":%q,"hash":%q}`,
		rec.PrevHash, rec.Hash)
	f.Add([]byte(`{"items":[` + good + `]}`))
	f.Add([]byte(`{"items":[` + good + `,` + good + `],"next_after":1}`))
	f.Add([]byte(`{"items":[]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"items":[{"seq":1,"at":"0001-01-01T00:00:00Z"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		page, err := decodeAuditPage(data)
		if err != nil {
			return
		}
		head, err := verifyAuditPage(store.AuditHead{Hash: store.GenesisHash}, page)
		if err != nil {
			var b *store.AuditBreak
			if !errors.As(err, &b) {
				t.Fatalf("an error that is no break: %v", err)
			}
			return
		}
		prev := store.GenesisHash
		for i, j := range page.Items {
			at, perr := time.Parse(store.AuditTimeLayout, j.At)
			r := store.AuditRecord{Seq: j.Seq, At: at, Actor: j.Actor, Action: j.Action, Object: j.Object,
				Detail: j.Detail, Remote: j.Remote, PrevHash: j.PrevHash, Hash: j.Hash}
			if perr != nil || j.Seq != int64(i+1) || j.PrevHash != prev || j.Hash != r.ComputeHash() || j.At != at.Format(store.AuditTimeLayout) {
				t.Fatalf("record %d accepted: %+v", i, j)
			}
			prev = j.Hash
		}
		if head.Seq != int64(len(page.Items)) || head.Hash != prev {
			t.Fatalf("head %+v after %d records", head, len(page.Items))
		}
	})
}
