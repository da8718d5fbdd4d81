package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Role is what a user may do in a team.
type Role string

// The roles of issue 15.
const (
	RoleAdmin           Role = "admin"
	RoleMLEngineer      Role = "ml-engineer"
	RoleSecurity        Role = "security"
	RoleSME             Role = "sme"
	RoleLegalCompliance Role = "legal-compliance"
	RoleHR              Role = "hr"
	RoleProcurement     Role = "procurement"
	RoleViewer          Role = "viewer"
)

// Roles lists every role.
func Roles() []Role {
	return []Role{RoleAdmin, RoleMLEngineer, RoleSecurity, RoleSME, RoleLegalCompliance, RoleHR, RoleProcurement, RoleViewer}
}

func checkRole(r Role) error {
	for _, x := range Roles() {
		if r == x {
			return nil
		}
	}
	return fmt.Errorf("role %q: unknown: %w", clip(string(r)), ErrInvalid)
}

// Team is a group of users that owns models.
type Team struct {
	ID        int64
	Name      string
	CreatedAt time.Time
}

// CreateTeam creates a team; a taken name is ErrExists.
func (s *Store) CreateTeam(ctx context.Context, a Actor, name string) (Team, error) {
	if err := checkText("team name", name); err != nil {
		return Team{}, err
	}
	t := Team{Name: name, CreatedAt: s.stamp()}
	err := s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO teams (name, created_at) VALUES ($1, $2) RETURNING id`,
			name, fmtTime(t.CreatedAt)).Scan(&t.ID)
		if err != nil {
			return err
		}
		log.add("team.create", objectID("team", t.ID), map[string]any{"name": name})
		return nil
	})
	return t, err
}

// Teams lists the teams by name.
func (s *Store) Teams(ctx context.Context) ([]Team, error) {
	out, err := queryAll(ctx, s.rdb, func(row scanner) (Team, error) {
		var t Team
		var at dbTime
		err := row.Scan(&t.ID, &t.Name, &at)
		t.CreatedAt = at.T
		return t, err
	}, `SELECT id, name, created_at FROM teams ORDER BY name`)
	return out, s.wrap(err)
}

// User is an account.
type User struct {
	ID          int64
	Login       string
	DisplayName string
	// PasswordHash is an argon2id PHC string, "" when the user has no
	// password (tokens only, or single sign-on later).
	PasswordHash string
	CreatedAt    time.Time
}

// CreateUser creates a user. passwordHash is "" or an argon2id PHC string
// ($argon2id$v=19$m=...,t=...,p=...$salt$hash): the store never sees a
// password, and refuses anything else so that a plain password cannot be
// stored by mistake. A taken login is ErrExists.
func (s *Store) CreateUser(ctx context.Context, a Actor, login, displayName, passwordHash string) (User, error) {
	if err := checkText("login", login); err != nil {
		return User{}, err
	}
	if err := checkText("display name", displayName); err != nil {
		return User{}, err
	}
	var hash any
	if passwordHash != "" {
		if err := checkText("password hash", passwordHash); err != nil {
			// Never echo what may be a password.
			return User{}, fmt.Errorf("password hash: not an argon2id PHC string: %w", ErrInvalid)
		}
		hash = passwordHash
	}
	u := User{Login: login, DisplayName: displayName, PasswordHash: passwordHash, CreatedAt: s.stamp()}
	err := s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO users (login, display_name, password_hash, created_at)
			VALUES ($1, $2, $3, $4) RETURNING id`, login, displayName, hash, fmtTime(u.CreatedAt)).Scan(&u.ID)
		if err != nil {
			return err
		}
		log.add("user.create", objectID("user", u.ID), map[string]any{"login": login, "password": passwordHash != ""})
		return nil
	})
	return u, err
}

// UserByLogin returns the user with that login, or ErrNotFound.
func (s *Store) UserByLogin(ctx context.Context, login string) (User, error) {
	var u User
	var hash sql.NullString
	var at dbTime
	err := s.rdb.QueryRowContext(ctx, `SELECT id, login, display_name, password_hash, created_at
		FROM users WHERE login = $1`, login).Scan(&u.ID, &u.Login, &u.DisplayName, &hash, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("store: user %q: %w", clip(login), ErrNotFound)
	}
	u.PasswordHash, u.CreatedAt = hash.String, at.T
	return u, s.wrap(err)
}

// Membership is one role of a user in a team.
type Membership struct {
	TeamID int64
	UserID int64
	Role   Role
}

// AddMember gives a user a role in a team (a user may hold several); a
// role already held is ErrExists, a missing team or user ErrNotFound.
func (s *Store) AddMember(ctx context.Context, a Actor, m Membership) error {
	if err := checkRole(m.Role); err != nil {
		return err
	}
	return s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO memberships (team_id, user_id, role, created_at)
			VALUES ($1, $2, $3, $4)`, m.TeamID, m.UserID, string(m.Role), fmtTime(s.stamp())); err != nil {
			return err
		}
		log.add("member.add", objectID("team", m.TeamID), map[string]any{"user": m.UserID, "role": m.Role})
		return nil
	})
}

// RemoveMember takes a role of a user in a team away; a role not held is
// ErrNotFound.
func (s *Store) RemoveMember(ctx context.Context, a Actor, m Membership) error {
	if err := checkRole(m.Role); err != nil {
		return err
	}
	return s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM memberships WHERE team_id = $1 AND user_id = $2 AND role = $3`,
			m.TeamID, m.UserID, string(m.Role))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("store: membership: %w", ErrNotFound)
		}
		log.add("member.remove", objectID("team", m.TeamID), map[string]any{"user": m.UserID, "role": m.Role})
		return nil
	})
}

// Memberships lists a user's roles, by team then role.
func (s *Store) Memberships(ctx context.Context, userID int64) ([]Membership, error) {
	out, err := queryAll(ctx, s.rdb, func(row scanner) (Membership, error) {
		var m Membership
		var role string
		err := row.Scan(&m.TeamID, &m.UserID, &role)
		m.Role = Role(role)
		return m, err
	}, `SELECT team_id, user_id, role FROM memberships WHERE user_id = $1 ORDER BY team_id, role`, userID)
	return out, s.wrap(err)
}

// TokenPrefix starts every API token secret, so that a leaked token is
// recognizable (secret scanners) and never mistaken for a password.
const TokenPrefix = "vlt_"

// MaxTokenLifetime is the longest validity of an API token.
const MaxTokenLifetime = 366 * 24 * time.Hour

// tokenTouchInterval is how stale last_used_at may get: a token's use is
// recorded (and audited) at most once per interval, so that a busy client
// does not turn every request into a write.
const tokenTouchInterval = time.Minute

// Token is an API token, without its secret.
type Token struct {
	ID        int64
	Name      string
	UserID    int64
	TeamID    int64
	Role      Role
	CreatedAt time.Time
	ExpiresAt time.Time
	// LastUsedAt is the zero time for a token never used; it lags the
	// last use by up to a minute.
	LastUsedAt time.Time
	// RevokedAt is the zero time for a token not revoked.
	RevokedAt time.Time
}

// TokenSpec describes a token to create: acting for a user, in a team, with
// a role the user holds there.
type TokenSpec struct {
	Name      string
	UserID    int64
	TeamID    int64
	Role      Role
	ExpiresAt time.Time
}

// hashToken is what the database keeps of a secret: its SHA-256. A token
// holds 256 random bits, so a fast hash is enough (unlike a password).
func hashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CreateToken creates an API token and returns its secret, which the store
// does not keep: it is shown once. The user must hold the role in the team
// (ErrInvalid otherwise), and the expiry must be in the future, within
// MaxTokenLifetime.
func (s *Store) CreateToken(ctx context.Context, a Actor, spec TokenSpec) (secret string, t Token, err error) {
	if err := checkText("token name", spec.Name); err != nil {
		return "", Token{}, err
	}
	if err := checkRole(spec.Role); err != nil {
		return "", Token{}, err
	}
	now := s.stamp()
	exp := spec.ExpiresAt.UTC().Truncate(time.Microsecond)
	if !exp.After(now) || exp.Sub(now) > MaxTokenLifetime {
		return "", Token{}, fmt.Errorf("token expiry %s: must be in the future and within %s: %w",
			exp.Format(time.RFC3339), MaxTokenLifetime, ErrInvalid)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", Token{}, err
	}
	secret = TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	t = Token{Name: spec.Name, UserID: spec.UserID, TeamID: spec.TeamID, Role: spec.Role, CreatedAt: now, ExpiresAt: exp}
	err = s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM memberships WHERE team_id = $1 AND user_id = $2 AND role = $3`,
			spec.TeamID, spec.UserID, string(spec.Role)).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("store: user %d does not hold role %s in team %d: %w", spec.UserID, spec.Role, spec.TeamID, ErrInvalid)
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO api_tokens
			(token_sha256, name, user_id, team_id, role, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			hashToken(secret), spec.Name, spec.UserID, spec.TeamID, string(spec.Role),
			fmtTime(now), fmtTime(exp)).Scan(&t.ID); err != nil {
			return err
		}
		log.add("token.create", objectID("token", t.ID), map[string]any{
			"name": spec.Name, "user": spec.UserID, "team": spec.TeamID, "role": spec.Role, "expires": fmtTime(exp)})
		return nil
	})
	if err != nil {
		return "", Token{}, err
	}
	return secret, t, nil
}

const tokenColumns = `id, name, user_id, team_id, role, created_at, expires_at, last_used_at, revoked_at`

func scanToken(row scanner) (Token, error) {
	var t Token
	var role string
	var c, e, l, r dbTime
	err := row.Scan(&t.ID, &t.Name, &t.UserID, &t.TeamID, &role, &c, &e, &l, &r)
	t.Role, t.CreatedAt, t.ExpiresAt, t.LastUsedAt, t.RevokedAt = Role(role), c.T, e.T, l.T, r.T
	return t, err
}

// AuthenticateToken returns the token of a secret, or ErrTokenInvalid for a
// secret that is malformed, unknown, expired or revoked. It records the use
// (last_used_at, and an audit record "token.use" by the token from remote)
// at most once a minute per token.
func (s *Store) AuthenticateToken(ctx context.Context, secret, remote string) (Token, error) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 128 {
		return Token{}, ErrTokenInvalid
	}
	t, err := scanToken(s.rdb.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE token_sha256 = $1`,
		hashToken(secret)))
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, ErrTokenInvalid
	}
	if err != nil {
		return Token{}, s.wrap(err)
	}
	now := s.stamp()
	if !t.RevokedAt.IsZero() || !now.Before(t.ExpiresAt) {
		return Token{}, ErrTokenInvalid
	}
	if now.Sub(t.LastUsedAt) < tokenTouchInterval {
		return t, nil
	}
	a := Actor{Name: objectID("token", t.ID), Remote: remote}
	err = s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		// Conditional: of two requests racing, one records the use.
		res, err := tx.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $1
			WHERE id = $2 AND revoked_at IS NULL AND (last_used_at IS NULL OR last_used_at <= $3)`,
			fmtTime(now), t.ID, fmtTime(now.Add(-tokenTouchInterval)))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		log.add("token.use", objectID("token", t.ID), map[string]any{"user": t.UserID, "team": t.TeamID})
		return nil
	})
	if err != nil {
		return Token{}, err
	}
	t.LastUsedAt = now
	return t, nil
}

// RevokeToken revokes a token for good; revoking it again is a no-op.
func (s *Store) RevokeToken(ctx context.Context, a Actor, id int64) error {
	return s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`,
			fmtTime(s.stamp()), id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			var x int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM api_tokens WHERE id = $1`, id).Scan(&x); err != nil {
				return err
			}
			if x == 0 {
				return fmt.Errorf("store: token %d: %w", id, ErrNotFound)
			}
			return nil
		}
		log.add("token.revoke", objectID("token", id), nil)
		return nil
	})
}

// Tokens lists a team's tokens, newest first.
func (s *Store) Tokens(ctx context.Context, teamID int64) ([]Token, error) {
	out, err := queryAll(ctx, s.rdb, scanToken,
		`SELECT `+tokenColumns+` FROM api_tokens WHERE team_id = $1 ORDER BY id DESC`, teamID)
	return out, s.wrap(err)
}
