package store

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestUsersAndRoles(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		ctx := context.Background()
		s := openT(t, target)
		team := must[Team](t)(s.CreateTeam(ctx, tester, "ml platform"))
		const phc = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"
		u := must[User](t)(s.CreateUser(ctx, tester, "alice@example.com", "Alice", phc))
		if got := must[User](t)(s.UserByLogin(ctx, "alice@example.com")); got != u || got.PasswordHash != phc {
			t.Fatalf("user %+v, want %+v", got, u)
		}
		_, err := s.UserByLogin(ctx, "nobody")
		wantErr(t, err, ErrNotFound)
		_, err = s.CreateUser(ctx, tester, "alice@example.com", "", "")
		wantErr(t, err, ErrExists)

		for _, r := range []Role{RoleSecurity, RoleSME} {
			if err := s.AddMember(ctx, tester, Membership{TeamID: team.ID, UserID: u.ID, Role: r}); err != nil {
				t.Fatal(err)
			}
		}
		wantErr(t, s.AddMember(ctx, tester, Membership{TeamID: team.ID, UserID: u.ID, Role: RoleSME}), ErrExists)
		wantErr(t, s.AddMember(ctx, tester, Membership{TeamID: team.ID, UserID: u.ID, Role: "root"}), ErrInvalid)
		wantErr(t, s.AddMember(ctx, tester, Membership{TeamID: team.ID + 100, UserID: u.ID, Role: RoleSME}), ErrNotFound)
		ms := must[[]Membership](t)(s.Memberships(ctx, u.ID))
		if len(ms) != 2 || ms[0].Role != RoleSecurity || ms[1].Role != RoleSME {
			t.Fatalf("memberships %+v", ms)
		}
		if err := s.RemoveMember(ctx, tester, ms[1]); err != nil {
			t.Fatal(err)
		}
		wantErr(t, s.RemoveMember(ctx, tester, ms[1]), ErrNotFound)
		verifyOK(t, s)
	})
}

// TestPasswordHashMustBeArgon2id: the store refuses what is not an argon2id
// PHC string, so a password cannot be stored in clear by mistake, and the
// error does not echo it.
func TestPasswordHashMustBeArgon2id(t *testing.T) {
	s := openT(t, t.TempDir())
	for _, h := range []string{
		"hunter2",
		"$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", // bcrypt
		"$argon2i$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
		"$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA\n",
		"$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$",
	} {
		_, err := s.CreateUser(context.Background(), tester, "u", "", h)
		wantErr(t, err, ErrInvalid)
		if strings.Contains(err.Error(), strings.TrimSpace(h)) {
			t.Errorf("error echoes the value: %v", err)
		}
	}
	if n := count(t, s, "users"); n != 0 {
		t.Fatalf("%d users stored", n)
	}
}

func TestTokens(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		ctx := context.Background()
		s := openT(t, target)
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		setClock(s, now)
		f := newFixture(t, s, "x")
		spec := TokenSpec{Name: "ci", UserID: f.user.ID, TeamID: f.team.ID, Role: RoleMLEngineer, ExpiresAt: now.Add(24 * time.Hour)}

		// The user must hold the role; the expiry must be ahead and bounded.
		bad := spec
		bad.Role = RoleAdmin
		_, _, err := s.CreateToken(ctx, tester, bad)
		wantErr(t, err, ErrInvalid)
		for _, exp := range []time.Time{now, now.Add(-time.Hour), now.Add(MaxTokenLifetime + time.Hour), {}} {
			bad = spec
			bad.ExpiresAt = exp
			_, _, err = s.CreateToken(ctx, tester, bad)
			wantErr(t, err, ErrInvalid)
		}

		secret, tok, err := s.CreateToken(ctx, tester, spec)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, TokenPrefix) || len(secret) < 40 {
			t.Fatalf("secret %q", secret)
		}
		// Only the hash is stored.
		var stored string
		if err := s.db.QueryRow(`SELECT token_sha256 FROM api_tokens WHERE id = $1`, tok.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored != sha(secret) || strings.Contains(stored, secret[len(TokenPrefix):]) {
			t.Fatalf("stored %q", stored)
		}

		got, err := s.AuthenticateToken(ctx, secret, "10.0.0.9:1")
		if err != nil || got.ID != tok.ID || got.Role != RoleMLEngineer || !got.LastUsedAt.Equal(now) {
			t.Fatalf("authenticate: %+v %v", got, err)
		}
		// A use within a minute is not written again.
		head := must[AuditHead](t)(s.AuditHead(ctx))
		setClock(s, now.Add(30*time.Second))
		must[Token](t)(s.AuthenticateToken(ctx, secret, "10.0.0.9:1"))
		if h := must[AuditHead](t)(s.AuditHead(ctx)); h != head {
			t.Fatal("a use within a minute was recorded again")
		}
		setClock(s, now.Add(2*time.Minute))
		must[Token](t)(s.AuthenticateToken(ctx, secret, "10.0.0.9:1"))
		recs := must[[]AuditRecord](t)(s.AuditLog(ctx, head.Seq, 0, ""))
		if len(recs) != 1 || recs[0].Action != "token.use" || recs[0].Remote != "10.0.0.9:1" {
			t.Fatalf("records %+v", recs)
		}

		for _, wrong := range []string{"", "vlt_", secret + "x", strings.ToUpper(secret), "Bearer " + secret,
			strings.Repeat("vlt_", 100)} {
			_, err := s.AuthenticateToken(ctx, wrong, "")
			wantErr(t, err, ErrTokenInvalid)
		}
		// Expired.
		setClock(s, now.Add(24*time.Hour))
		_, err = s.AuthenticateToken(ctx, secret, "")
		wantErr(t, err, ErrTokenInvalid)
		// Revoked.
		setClock(s, now)
		if err := s.RevokeToken(ctx, tester, tok.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.AuthenticateToken(ctx, secret, "")
		wantErr(t, err, ErrTokenInvalid)
		if err := s.RevokeToken(ctx, tester, tok.ID); err != nil {
			t.Fatalf("revoking again: %v", err)
		}
		wantErr(t, s.RevokeToken(ctx, tester, tok.ID+100), ErrNotFound)
		toks := must[[]Token](t)(s.Tokens(ctx, f.team.ID))
		if len(toks) != 1 || toks[0].RevokedAt.IsZero() {
			t.Fatalf("tokens %+v", toks)
		}
		verifyOK(t, s)
	})
}
