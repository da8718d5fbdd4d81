package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/internal/pgtest"
)

// backend opens stores of one dialect for a test.
type backend struct {
	name string
	// target returns a fresh, empty data folder or database URL.
	target func(t *testing.T) string
}

var backends = []backend{
	{"sqlite", func(t *testing.T) string { return t.TempDir() }},
	{"postgres", func(t *testing.T) string { return pgtest.URL(t) }},
}

// eachBackend runs f once per dialect, as subtests named after it.
func eachBackend(t *testing.T, f func(t *testing.T, target string)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, b.target(t)) })
	}
}

// openT opens a store and closes it when the test ends.
func openT(t *testing.T, target string) *Store {
	t.Helper()
	s, err := Open(context.Background(), target)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// must fails the test on an error.
func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// wantErr fails the test unless err matches target.
func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
}

var tester = Actor{Name: "tester", Remote: "127.0.0.1:1234"}

// sha returns the hex SHA-256 of s.
func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// fixture is a small inventory: a team, a user with a role, a model with a
// version and a scan report.
type fixture struct {
	team    Team
	user    User
	model   Model
	version Version
	scan    Evidence
}

func newFixture(t *testing.T, s *Store, suffix string) fixture {
	t.Helper()
	ctx := context.Background()
	var f fixture
	f.team = must[Team](t)(s.CreateTeam(ctx, tester, "team "+suffix))
	f.user = must[User](t)(s.CreateUser(ctx, tester, "user"+strings.ToLower(suffix), "User "+suffix, ""))
	if err := s.AddMember(ctx, tester, Membership{TeamID: f.team.ID, UserID: f.user.ID, Role: RoleMLEngineer}); err != nil {
		t.Fatal(err)
	}
	f.model = must[Model](t)(s.CreateModel(ctx, tester, Model{TeamID: f.team.ID, Name: "model " + suffix,
		SourceKind: SourceHuggingFace, SourceRef: "org/model-" + suffix}))
	var err error
	f.version, _, err = s.PutVersion(ctx, tester, f.model.ID, "sha256:"+sha("v1"+suffix), "v1", []File{
		{Path: "model.safetensors", SHA256: sha("weights" + suffix), Size: 100},
		{Path: "config.json", SHA256: sha("config"), Size: 10},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.scan, _, err = s.AddEvidence(ctx, tester, f.version.ID, EvidenceScan, []byte(`{"findings":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// verifyOK fails the test unless the audit chain verifies, and returns its
// head.
func verifyOK(t *testing.T, s *Store) AuditHead {
	t.Helper()
	head, err := s.VerifyAudit(context.Background())
	if err != nil {
		t.Fatalf("VerifyAudit: %v", err)
	}
	return head
}

// setClock makes the store's clock return at.
func setClock(s *Store, at time.Time) { s.now = func() time.Time { return at } }

// count returns the number of rows of a table.
func count(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(fmt.Sprintf(`SELECT count(*) FROM %s`, table)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
