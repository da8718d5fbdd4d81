package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The audit log is a hash chain. Record n holds prev_hash = hash of record
// n-1 (GenesisHash for record 1) and
//
//	hash = SHA-256(auditDomain || field(seq) || field(at) || field(actor) ||
//	               field(action) || field(object) || field(detail) ||
//	               field(remote) || field(prev_hash))
//
// where field(x) is the 8-byte big-endian length of x followed by x, seq is
// its decimal text, at is in the store's time format (UTC, microseconds)
// and hashes are lower-case hex. Length prefixes make the encoding
// unambiguous: no two different records encode alike.
//
// Records are appended by the store only, in the transaction of the change
// they record; seq runs from 1 without gaps. The table refuses UPDATE and
// DELETE (a trigger, in both dialects); whoever bypasses that (drops the
// trigger, edits the SQLite file) breaks the chain, and VerifyAudit names
// the first broken record. Removing records from the end keeps a valid
// chain: compare AuditHead with a copy kept elsewhere to detect that.

// AuditTimeLayout is the format of a record's time in its hash: the
// store's, UTC with microseconds. A client that recomputes the chain from
// the text of the records (the API's) parses At with it.
const AuditTimeLayout = timeLayout

// GenesisHash is the prev_hash of the first record.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// auditDomain separates this hash from any other use of SHA-256.
const auditDomain = "violet audit log v1\n"

// pgAuditLock is the key of the PostgreSQL advisory lock that orders
// appends: one transaction at a time reads the head and appends after it.
const pgAuditLock = 0x76696f6c65740002

// AuditRecord is one record of the audit log.
type AuditRecord struct {
	Seq    int64
	At     time.Time
	Actor  string
	Action string // "team.create", "finding.state", ...
	Object string // "team/3", "version/12", ...
	Detail string // a JSON object
	Remote string
	// PrevHash and Hash are lower-case hex SHA-256.
	PrevHash string
	Hash     string
}

// encode returns the canonical encoding of the record's fields (Hash
// itself is not part of it).
func (r *AuditRecord) encode() []byte {
	b := []byte(auditDomain)
	for _, f := range []string{
		strconv.FormatInt(r.Seq, 10), fmtTime(r.At), r.Actor, r.Action, r.Object, r.Detail, r.Remote, r.PrevHash,
	} {
		b = binary.BigEndian.AppendUint64(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}

// ComputeHash returns the hash of the record's fields, as the store
// computes it when it appends the record: what Hash must be. A client that
// reads the log over the API recomputes the chain with it.
func (r *AuditRecord) ComputeHash() string {
	sum := sha256.Sum256(r.encode())
	return hex.EncodeToString(sum[:])
}

// auditEntry is a record queued by a write transaction.
type auditEntry struct {
	action, object string
	detail         map[string]any
}

// auditQueue collects the records of one write transaction.
type auditQueue struct {
	actor   Actor
	entries []auditEntry
	events  []outboxEvent // webhook events, for insertOutbox
}

// add queues a record; detail may be nil.
func (q *auditQueue) add(action, object string, detail map[string]any) {
	q.entries = append(q.entries, auditEntry{action, object, detail})
}

// appendAudit appends the queued records after the current head, in tx.
func (s *Store) appendAudit(ctx context.Context, tx *sql.Tx, q *auditQueue) error {
	if len(q.entries) == 0 {
		return nil
	}
	if s.dialect == postgresDialect {
		// Held to the end of the transaction: the next writer reads the
		// head after this one commits.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(pgAuditLock)); err != nil {
			return err
		}
	}
	seq, prev := int64(0), GenesisHash
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev)
	if err != nil && err != sql.ErrNoRows {
		return err
	}
	at := s.stamp()
	for _, e := range q.entries {
		detail := []byte("{}")
		if e.detail != nil {
			// json.Marshal sorts map keys: the text is canonical.
			if detail, err = json.Marshal(e.detail); err != nil {
				return fmt.Errorf("audit detail: %w", err)
			}
		}
		r := AuditRecord{
			Seq: seq + 1, At: at, Actor: q.actor.Name, Action: e.action, Object: e.object,
			Detail: string(detail), Remote: q.actor.Remote, PrevHash: prev,
		}
		r.Hash = r.ComputeHash()
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log
			(seq, at, actor, action, object, detail, remote, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			r.Seq, fmtTime(r.At), r.Actor, r.Action, r.Object, r.Detail, r.Remote, r.PrevHash, r.Hash); err != nil {
			return err
		}
		seq, prev = r.Seq, r.Hash
	}
	return nil
}

// AuditBreak is the first broken link of the audit chain that VerifyAudit
// found.
type AuditBreak struct {
	// Seq is the sequence number of the first record that does not verify
	// (for a missing record, the number that is missing).
	Seq int64
	// Reason says why, for a person.
	Reason string
}

// Error implements error.
func (b *AuditBreak) Error() string {
	return fmt.Sprintf("audit log broken at seq %d: %s", b.Seq, b.Reason)
}

// AuditHead is the last record of the chain: its sequence number and hash
// (0 and GenesisHash for an empty log). Kept outside the database (printed,
// sent to a log service), it lets a later check detect that records were
// removed from the end, which the chain alone cannot show.
type AuditHead struct {
	Seq  int64
	Hash string
}

// auditColumns is the column list that scanAudit reads.
const auditColumns = `seq, at, actor, action, object, detail, remote, prev_hash, hash`

func scanAudit(row scanner) (AuditRecord, error) {
	var r AuditRecord
	var at dbTime
	err := row.Scan(&r.Seq, &at, &r.Actor, &r.Action, &r.Object, &r.Detail, &r.Remote, &r.PrevHash, &r.Hash)
	r.At = at.T
	return r, err
}

// VerifyAudit walks the whole chain in one consistent snapshot and returns
// its head. A chain that does not verify gives an *AuditBreak (errors.As)
// naming the first bad record: a record whose hash does not match its
// fields (a field was changed), a prev_hash that is not the previous
// record's hash, or a gap in seq (a record was removed); records swapped
// or renumbered fail the same checks. Any other error is a failure to
// read.
func (s *Store) VerifyAudit(ctx context.Context) (AuditHead, error) {
	head := AuditHead{Hash: GenesisHash}
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_log ORDER BY seq`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanAudit(rows)
			if err != nil {
				// A field that does not even scan (a time in another
				// format) is a change to the record.
				return &AuditBreak{Seq: head.Seq + 1, Reason: fmt.Sprintf("unreadable record: %v", err)}
			}
			if b := CheckAuditLink(head, r); b != nil {
				return b
			}
			head = AuditHead{Seq: r.Seq, Hash: r.Hash}
		}
		return rows.Err()
	})
	var b *AuditBreak
	if errors.As(err, &b) {
		return head, b
	}
	return head, err
}

// CheckAuditLink checks record r against the head of the chain before it
// (AuditHead{Hash: GenesisHash} before the first record): nil when r is
// the next link, else the break. VerifyAudit walks the chain with it, and
// so does a client that reads the log over the API.
func CheckAuditLink(prev AuditHead, r AuditRecord) *AuditBreak {
	switch {
	case r.Seq != prev.Seq+1:
		if r.Seq > prev.Seq+1 {
			return &AuditBreak{Seq: prev.Seq + 1, Reason: fmt.Sprintf("record missing (the next record is seq %d)", r.Seq)}
		}
		return &AuditBreak{Seq: r.Seq, Reason: fmt.Sprintf("seq %d follows %d", r.Seq, prev.Seq)}
	case r.PrevHash != prev.Hash:
		return &AuditBreak{Seq: r.Seq, Reason: "prev_hash is not the hash of the previous record (a record was removed, replaced or moved)"}
	case r.Hash != r.ComputeHash():
		return &AuditBreak{Seq: r.Seq, Reason: "hash does not match the record's fields (the record was changed)"}
	}
	return nil
}

// AuditHead returns the last record's sequence number and hash, without
// verifying the chain.
func (s *Store) AuditHead(ctx context.Context) (AuditHead, error) {
	head := AuditHead{Hash: GenesisHash}
	err := s.rdb.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&head.Seq, &head.Hash)
	if err == sql.ErrNoRows {
		err = nil
	}
	return head, s.wrap(err)
}

// MaxAuditPage is the most records that one AuditLog call returns.
const MaxAuditPage = 1000

// AuditLog returns up to limit records (at most MaxAuditPage) after seq
// afterSeq, in order. Object, when not "", keeps only that object's records.
func (s *Store) AuditLog(ctx context.Context, afterSeq int64, limit int, object string) ([]AuditRecord, error) {
	if limit <= 0 || limit > MaxAuditPage {
		limit = MaxAuditPage
	}
	q := `SELECT ` + auditColumns + ` FROM audit_log WHERE seq > $1`
	args := []any{afterSeq}
	if object != "" {
		q += ` AND object = $2`
		args = append(args, object)
	}
	q += fmt.Sprintf(` ORDER BY seq LIMIT %d`, limit)
	out, err := queryAll(ctx, s.rdb, scanAudit, q, args...)
	return out, s.wrap(err)
}

// The actions of the sign-in records of the web UI (RecordSignIn).
const (
	// SignInPassword: a user signed in with a password.
	SignInPassword = "signin.password"
	// SignInOIDC: a user signed in through single sign-on.
	SignInOIDC = "signin.oidc"
	// SignInFailed: a sign-in was refused (unknown login, wrong password,
	// single sign-on refused).
	SignInFailed = "signin.failed"
	// SignOut: a user signed out.
	SignOut = "signout"
)

// signInEvents are the actions RecordSignIn records.
var signInEvents = []string{SignInPassword, SignInOIDC, SignInFailed, SignOut}

// Bounds of what a sign-in record keeps of the caller's texts.
const (
	maxSignInLogin  = 64
	maxSignInReason = 128
)

// SignIn is a sign-in event of the web UI, for the audit log.
type SignIn struct {
	// Event is SignInPassword, SignInOIDC, SignInFailed or SignOut.
	Event string
	// UserID is the user signed in or out, or whose sign-in failed; 0
	// when the login attempted names no user.
	UserID int64
	// Login is the login signed in or out, or the one attempted. It is
	// recorded clipped to 64 bytes; the caller never passes a password.
	Login string
	// Reason says why a sign-in failed, in a few words ("" otherwise); it
	// is recorded clipped to 128 bytes.
	Reason string
}

// RecordSignIn appends the audit record of a sign-in, a failed sign-in or
// a sign-out, by a (the user, or the web UI for a failed sign-in) from
// a.Remote. It changes nothing else. The caller rate-limits failed
// sign-ins: every call is a record.
func (s *Store) RecordSignIn(ctx context.Context, a Actor, e SignIn) error {
	if err := oneOf("sign-in event", e.Event, signInEvents); err != nil {
		return err
	}
	object := ""
	if e.UserID > 0 {
		object = objectID("user", e.UserID)
	}
	detail := map[string]any{"login": clipUTF8(e.Login, maxSignInLogin)}
	if e.Reason != "" {
		detail["reason"] = clipUTF8(e.Reason, maxSignInReason)
	}
	return s.writeTx(ctx, a, func(_ *sql.Tx, log *auditQueue) error {
		log.add(e.Event, object, detail)
		return nil
	})
}

// clipUTF8 returns v, its invalid UTF-8 replaced, cut to at most n bytes
// on a character boundary.
func clipUTF8(v string, n int) string {
	v = strings.ToValidUTF8(v, "\uFFFD")
	if len(v) <= n {
		return v
	}
	for n > 0 && !utf8.RuneStart(v[n]) {
		n--
	}
	return v[:n]
}

// objectID names a record of a table for the audit log: "team/3".
func objectID(kind string, id int64) string {
	return kind + "/" + fmt.Sprint(id)
}
