package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Incident types.
const (
	IncidentMaliciousModel         = "malicious-model"
	IncidentCompromisedDependency  = "compromised-dependency"
	IncidentLeakedSigningKey       = "leaked-signing-key"
	IncidentPromptInjectionLeakage = "prompt-injection-leakage"
	IncidentPoisoning              = "poisoning"
	IncidentOther                  = "other"
)

// IncidentTypes lists the incident types.
func IncidentTypes() []string {
	return []string{IncidentMaliciousModel, IncidentCompromisedDependency, IncidentLeakedSigningKey,
		IncidentPromptInjectionLeakage, IncidentPoisoning, IncidentOther}
}

// IncidentSeverities lists the severities of an incident, lowest first.
func IncidentSeverities() []string { return []string{"low", "medium", "high", "critical"} }

// Incident states, forward only: open, contained, resolved. IncidentDetected
// is no state but the mark that sets DetectedAt (a drill's incident opens
// undetected).
const (
	IncidentOpen      = "open"
	IncidentContained = "contained"
	IncidentResolved  = "resolved"
	IncidentDetected  = "detected"
)

// Why a version is affected: what the blast-radius query named.
const (
	AffectedFile    = "file"    // it holds a file of this SHA-256
	AffectedPackage = "package" // its newest deps report names the package
	AffectedSigner  = "signer"  // a verified signature of it names the signer
	AffectedBase    = "base"    // its newest ML-BOM derives it from the model
	AffectedDataset = "dataset" // its newest ML-BOM names the dataset
)

// Limits of incidents.
const (
	// MaxAffected bounds the versions one incident (or one query) takes.
	MaxAffected = 10_000
)

// Incident is a security incident of a team, or the incident of a drill.
type Incident struct {
	ID       int64
	TeamID   int64
	Type     string // IncidentTypes
	Severity string // IncidentSeverities
	Title    string
	Summary  string
	State    string // IncidentOpen, IncidentContained, IncidentResolved
	// BeganAt is when the compromise began (the start of a drill), zero
	// when unknown; DetectedAt, ContainedAt and ResolvedAt are zero until
	// then.
	BeganAt     time.Time
	DetectedAt  time.Time
	ContainedAt time.Time
	ResolvedAt  time.Time
	// DrillID is the drill whose start opened it, 0 for a real incident.
	DrillID  int64
	OpenedBy string
	OpenedAt time.Time
}

// span is to - from when both are set.
func span(from, to time.Time) (time.Duration, bool) {
	if from.IsZero() || to.IsZero() {
		return 0, false
	}
	return to.Sub(from), true
}

// TimeToDetect is from when the compromise began to its detection.
func (i Incident) TimeToDetect() (time.Duration, bool) { return span(i.BeganAt, i.DetectedAt) }

// TimeToContain is from detection to containment.
func (i Incident) TimeToContain() (time.Duration, bool) { return span(i.DetectedAt, i.ContainedAt) }

// TimeToResolve is from detection to resolution.
func (i Incident) TimeToResolve() (time.Duration, bool) { return span(i.DetectedAt, i.ResolvedAt) }

// IncidentEvent is one entry of an incident's timeline (append-only).
type IncidentEvent struct {
	ID   int64
	At   time.Time
	Who  string
	Text string
}

// BlastQuery asks which versions of a team's models are affected by one
// thing: exactly one of File (a hex SHA-256), Package (a PEP 503 name, with
// Version to narrow it), Signer (a key hint, in any case, or a certificate
// subject, as verify reports name it), Base (a model id, org/name, in any
// case) and Dataset (likewise).
type BlastQuery struct {
	File, Package, Version, Signer, Base, Dataset string
}

// Affected is a version of a team's model that a blast-radius query
// found, with why.
type Affected struct {
	ModelID   int64
	ModelName string
	VersionID int64
	Digest    string
	Label     string
	// Why is AffectedFile, AffectedPackage, AffectedSigner, AffectedBase
	// or AffectedDataset; Subject is what the query named (the digest, the
	// package, the signer, the model or dataset).
	Why     string
	Subject string
	// How says how the version holds it: the file's path; the package's
	// pinned version, or "unpinned <specifier>"; "verified signature"; the
	// lineage relation.
	How string
}

// hexText matches hex digits: a digest or a key hint, which Violet writes
// in lower case.
var hexText = regexp.MustCompile(`^[0-9A-Fa-f]+$`)

// normalized is the query as the inventory spells its subjects: digests
// and key hints in lower case (a hint pasted in upper case must not find
// nothing).
func (q BlastQuery) normalized() BlastQuery {
	q.File = strings.ToLower(q.File)
	if hexText.MatchString(q.Signer) {
		q.Signer = strings.ToLower(q.Signer)
	}
	return q
}

// check validates the query: exactly one subject, well formed.
func (q BlastQuery) check() error {
	n := 0
	for _, v := range []string{q.File, q.Package, q.Signer, q.Base, q.Dataset} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("blast radius: give exactly one of file, package, signer, base and dataset: %w", ErrInvalid)
	}
	if q.Version != "" && q.Package == "" {
		return fmt.Errorf("blast radius: a version narrows a package only: %w", ErrInvalid)
	}
	switch {
	case q.File != "":
		return checkSHA256("file digest", q.File)
	case q.Package != "":
		if err := checkText("package name", q.Package); err != nil {
			return err
		}
		return checkText("package version", q.Version)
	case q.Signer != "":
		return checkText("signer", q.Signer)
	case q.Base != "":
		return checkText("lineage name", q.Base)
	}
	return checkText("lineage name", q.Dataset)
}

// affectedSelect selects Affected's columns from a table aliased u (with
// version_id), why and subject given as arguments $2 and $3.
func affectedSelect(how, table string) string {
	return `SELECT DISTINCT m.id, m.name, v.id, v.digest, v.label, CAST($2 AS TEXT), CAST($3 AS TEXT), ` + how + ` FROM ` + table + `
		JOIN model_versions v ON v.id = u.version_id JOIN models m ON m.id = v.model_id WHERE m.team_id = $1 AND `
}

// blastRadius answers q for a team with q.
func blastRadius(ctx context.Context, db querier, teamID int64, q BlastQuery) ([]Affected, error) {
	q = q.normalized()
	if err := q.check(); err != nil {
		return nil, err
	}
	var query string
	args := []any{teamID}
	switch {
	case q.File != "":
		query = affectedSelect("u.path", "version_files u") + `u.sha256 = $3`
		args = append(args, AffectedFile, q.File)
	case q.Package != "":
		// An unpinned requirement may resolve to the bad version: it is
		// affected too, and says so.
		query = affectedSelect(`CASE WHEN u.version = '' THEN 'unpinned ' || u.specifier ELSE u.version END`, "version_packages u") +
			`u.name = $3 AND ($4 = '' OR u.version = $4 OR u.version = '') AND ` + newestOf("u", EvidenceDeps)
		args = append(args, AffectedPackage, q.Package, q.Version)
	case q.Signer != "":
		query = affectedSelect(`'verified signature'`, "version_signers u") + `u.signer = $3`
		args = append(args, AffectedSigner, q.Signer)
	case q.Base != "":
		query = affectedSelect("u.relation", "version_lineage u") + `u.kind = 'model' AND lower(u.name) = lower($3) AND ` + newestOf("u", EvidenceBOM)
		args = append(args, AffectedBase, q.Base)
	default:
		query = affectedSelect("u.relation", "version_lineage u") + `u.kind = 'dataset' AND lower(u.name) = lower($3) AND ` + newestOf("u", EvidenceBOM)
		args = append(args, AffectedDataset, q.Dataset)
	}
	out, err := queryAll(ctx, db, func(row scanner) (Affected, error) {
		var a Affected
		return a, row.Scan(&a.ModelID, &a.ModelName, &a.VersionID, &a.Digest, &a.Label, &a.Why, &a.Subject, &a.How)
	}, query+` ORDER BY 2, 3, 8 LIMIT `+fmt.Sprint(MaxAffected+1), args...)
	if err != nil {
		return nil, err
	}
	if len(out) > MaxAffected {
		return nil, fmt.Errorf("blast radius: more than %d versions: %w", MaxAffected, ErrTooLarge)
	}
	return out, nil
}

// BlastRadius lists the versions of the team's models that q names: those
// holding a file of that SHA-256, whose newest deps report names the
// package (at that version, or unpinned), that a verified signature of the
// signer covers, or whose newest ML-BOM derives them from the model or
// dataset.
func (s *Store) BlastRadius(ctx context.Context, teamID int64, q BlastQuery) ([]Affected, error) {
	out, err := blastRadius(ctx, s.rdb, teamID, q)
	return out, s.wrap(err)
}

const incidentColumns = `id, team_id, type, severity, title, summary, state, began_at, detected_at, contained_at,
	resolved_at, COALESCE(drill_id, 0), opened_by, opened_at`

func scanIncident(row scanner) (Incident, error) {
	var i Incident
	var began, detected, contained, resolved, opened dbTime
	err := row.Scan(&i.ID, &i.TeamID, &i.Type, &i.Severity, &i.Title, &i.Summary, &i.State, &began, &detected,
		&contained, &resolved, &i.DrillID, &i.OpenedBy, &opened)
	i.BeganAt, i.DetectedAt, i.ContainedAt, i.ResolvedAt, i.OpenedAt = began.T, detected.T, contained.T, resolved.T, opened.T
	return i, err
}

func checkIncident(i Incident, now time.Time) error {
	if err := oneOf("incident type", i.Type, IncidentTypes()); err != nil {
		return err
	}
	if err := oneOf("incident severity", i.Severity, IncidentSeverities()); err != nil {
		return err
	}
	if err := checkText("incident title", i.Title); err != nil {
		return err
	}
	if err := checkText("incident summary", i.Summary); err != nil {
		return err
	}
	if i.BeganAt.After(now) || i.DetectedAt.After(now) {
		return fmt.Errorf("incident: a time in the future: %w", ErrInvalid)
	}
	if !i.BeganAt.IsZero() && !i.DetectedAt.IsZero() && i.DetectedAt.Before(i.BeganAt) {
		return fmt.Errorf("incident: detected before it began: %w", ErrInvalid)
	}
	return nil
}

// insertIncident inserts an open incident with its first timeline event
// and returns its id.
func insertIncident(ctx context.Context, tx *sql.Tx, log *auditQueue, a Actor, who string, i Incident, now time.Time) (int64, error) {
	var drill any
	if i.DrillID != 0 {
		drill = i.DrillID
	}
	var id int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO incidents (team_id, type, severity, title, summary, state, began_at,
		detected_at, drill_id, opened_by, opened_at) VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8, $9, $10) RETURNING id`,
		i.TeamID, i.Type, i.Severity, i.Title, i.Summary, nullTime(i.BeganAt), nullTime(i.DetectedAt), drill, who,
		fmtTime(now)).Scan(&id); err != nil {
		return 0, err
	}
	text := "incident opened"
	if i.DrillID != 0 {
		text = "drill started: the scenario is injected"
	}
	if err := insertEvent(ctx, tx, id, who, text, now); err != nil {
		return 0, err
	}
	log.add("incident.open", objectID("incident", id), map[string]any{"team": i.TeamID, "type": i.Type,
		"severity": i.Severity, "drill": i.DrillID})
	log.event(EventIncidentOpened, i.TeamID, map[string]any{"incident": id, "type": i.Type, "severity": i.Severity,
		"title": i.Title, "drill": i.DrillID})
	return id, nil
}

func insertEvent(ctx context.Context, tx *sql.Tx, incidentID int64, who, text string, at time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO incident_events (incident_id, at, who, text) VALUES ($1, $2, $3, $4)`,
		incidentID, fmtTime(at), who, text)
	return err
}

// OpenIncident opens an incident of a team (state open; DetectedAt now
// when zero) and attaches the versions each query finds, in one
// transaction. who is the person opening it, for its timeline.
func (s *Store) OpenIncident(ctx context.Context, a Actor, who string, i Incident, queries []BlastQuery) (Incident, error) {
	now := s.stamp()
	i.DrillID = 0
	if i.DetectedAt.IsZero() {
		i.DetectedAt = now
	}
	i.BeganAt, i.DetectedAt = i.BeganAt.UTC().Truncate(time.Microsecond), i.DetectedAt.UTC().Truncate(time.Microsecond)
	if err := checkText("who", who); err != nil {
		return Incident{}, err
	}
	if err := checkIncident(i, now); err != nil {
		return Incident{}, err
	}
	for _, q := range queries {
		if err := q.check(); err != nil {
			return Incident{}, err
		}
	}
	var id int64
	err := s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		var err error
		if id, err = insertIncident(ctx, tx, log, a, who, i, now); err != nil {
			return err
		}
		_, err = attach(ctx, tx, log, id, i.TeamID, who, queries, now)
		return err
	})
	if err != nil {
		return Incident{}, err
	}
	return s.Incident(ctx, id)
}

// attach adds to an incident the versions the queries find and says so on
// its timeline; it returns how many rows it added.
func attach(ctx context.Context, tx *sql.Tx, log *auditQueue, id, teamID int64, who string, queries []BlastQuery, now time.Time) (int, error) {
	var all []Affected
	for _, q := range queries {
		found, err := blastRadius(ctx, tx, teamID, q)
		if err != nil {
			return 0, err
		}
		all = append(all, found...)
		if len(all) > MaxAffected {
			return 0, fmt.Errorf("incident: more than %d affected versions: %w", MaxAffected, ErrTooLarge)
		}
	}
	n, err := insertEach(ctx, tx, `INSERT INTO incident_assets (incident_id, version_id, why, subject, how, added_by, added_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (incident_id, version_id, why, subject, how) DO NOTHING`,
		all, func(x Affected) []any { return []any{id, x.VersionID, x.Why, x.Subject, x.How, who, fmtTime(now)} })
	if err != nil || n == 0 {
		return n, err
	}
	if err := insertEvent(ctx, tx, id, who, fmt.Sprintf("blast radius attached: %d affected versions", n), now); err != nil {
		return 0, err
	}
	log.add("incident.assets", objectID("incident", id), map[string]any{"rows": n})
	return n, nil
}

// AttachAffected adds to an incident the versions of its team that each
// query finds; versions already attached for the same reason are kept
// once. It returns how many rows it added.
func (s *Store) AttachAffected(ctx context.Context, a Actor, incidentID int64, who string, queries []BlastQuery) (int, error) {
	if err := checkText("who", who); err != nil {
		return 0, err
	}
	for _, q := range queries {
		if err := q.check(); err != nil {
			return 0, err
		}
	}
	now := s.stamp()
	var n int
	err := s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		inc, err := scanIncident(tx.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = $1`, incidentID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: incident %d: %w", incidentID, ErrNotFound)
		} else if err != nil {
			return err
		}
		n, err = attach(ctx, tx, log, incidentID, inc.TeamID, who, queries, now)
		return err
	})
	return n, err
}

// Incident returns an incident.
func (s *Store) Incident(ctx context.Context, id int64) (Incident, error) {
	i, err := scanIncident(s.rdb.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Incident{}, fmt.Errorf("store: incident %d: %w", id, ErrNotFound)
	}
	return i, s.wrap(err)
}

// Incidents lists a team's incidents, drills' included, the newest first.
func (s *Store) Incidents(ctx context.Context, teamID int64) ([]Incident, error) {
	out, err := queryAll(ctx, s.rdb, scanIncident, `SELECT `+incidentColumns+` FROM incidents WHERE team_id = $1 ORDER BY id DESC`, teamID)
	return out, s.wrap(err)
}

// IncidentEvents returns an incident's timeline, oldest first.
func (s *Store) IncidentEvents(ctx context.Context, incidentID int64) ([]IncidentEvent, error) {
	out, err := queryAll(ctx, s.rdb, func(row scanner) (IncidentEvent, error) {
		var e IncidentEvent
		var at dbTime
		err := row.Scan(&e.ID, &at, &e.Who, &e.Text)
		e.At = at.T
		return e, err
	}, `SELECT id, at, who, text FROM incident_events WHERE incident_id = $1 ORDER BY id`, incidentID)
	return out, s.wrap(err)
}

// IncidentAffected lists the versions attached to an incident, by model
// and version.
func (s *Store) IncidentAffected(ctx context.Context, incidentID int64) ([]Affected, error) {
	out, err := queryAll(ctx, s.rdb, func(row scanner) (Affected, error) {
		var a Affected
		return a, row.Scan(&a.ModelID, &a.ModelName, &a.VersionID, &a.Digest, &a.Label, &a.Why, &a.Subject, &a.How)
	}, `SELECT m.id, m.name, v.id, v.digest, v.label, u.why, u.subject, u.how FROM incident_assets u
		JOIN model_versions v ON v.id = u.version_id JOIN models m ON m.id = v.model_id
		WHERE u.incident_id = $1 ORDER BY m.name, v.id, u.why, u.subject, u.how`, incidentID)
	return out, s.wrap(err)
}

// AddIncidentEvent appends an entry to an incident's timeline.
func (s *Store) AddIncidentEvent(ctx context.Context, a Actor, incidentID int64, who, text string) (IncidentEvent, error) {
	if err := checkText("who", who); err != nil {
		return IncidentEvent{}, err
	}
	if err := checkText("event text", text); err != nil {
		return IncidentEvent{}, err
	}
	e := IncidentEvent{At: s.stamp(), Who: who, Text: text}
	err := s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO incident_events (incident_id, at, who, text) VALUES ($1, $2, $3, $4)
			RETURNING id`, incidentID, fmtTime(e.At), who, text).Scan(&e.ID)
		if err != nil {
			return err
		}
		log.add("incident.event", objectID("incident", incidentID), map[string]any{"event": e.ID})
		return nil
	})
	if err != nil {
		return IncidentEvent{}, err
	}
	return e, nil
}

// SetIncidentState marks an incident detected, contained or resolved at
// at (now when zero; never in the future, never before the mark it
// follows). States move forward only: containing marks it detected too
// when it was not, resolving marks both. Marking what is already marked
// changes nothing (changed false); containing a resolved incident is
// ErrConflict.
func (s *Store) SetIncidentState(ctx context.Context, a Actor, id int64, who, to string, at time.Time) (Incident, bool, error) {
	if err := oneOf("incident state", to, []string{IncidentDetected, IncidentContained, IncidentResolved}); err != nil {
		return Incident{}, false, err
	}
	if err := checkText("who", who); err != nil {
		return Incident{}, false, err
	}
	now := s.stamp()
	if at.IsZero() {
		at = now
	}
	at = at.UTC().Truncate(time.Microsecond)
	if at.After(now) {
		return Incident{}, false, fmt.Errorf("incident: %s in the future: %w", to, ErrInvalid)
	}
	changed := false
	err := s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		inc, err := scanIncident(tx.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: incident %d: %w", id, ErrNotFound)
		} else if err != nil {
			return err
		}
		switch {
		case to == IncidentDetected && !inc.DetectedAt.IsZero(),
			to == IncidentContained && inc.State == IncidentContained,
			to == IncidentResolved && inc.State == IncidentResolved:
			return nil
		case to == IncidentContained && inc.State == IncidentResolved:
			return fmt.Errorf("incident %d is resolved: %w", id, ErrConflict)
		}
		for _, prev := range []time.Time{inc.BeganAt, inc.DetectedAt, inc.ContainedAt} {
			if at.Before(prev) {
				return fmt.Errorf("incident %d: %s at %s, before a mark it follows (%s): %w", id, to,
					fmtTime(at), fmtTime(prev), ErrInvalid)
			}
		}
		changed = true
		text := "marked " + to
		if !at.Equal(now) {
			text += " as of " + fmtTime(at)
		}
		return changeState(ctx, tx, log, inc, to, who, at, text)
	})
	if err != nil {
		return Incident{}, false, err
	}
	inc, err := s.Incident(ctx, id)
	return inc, changed, err
}

// changeState sets the mark to (and those before it that are unset) at at,
// with a timeline event.
func changeState(ctx context.Context, tx *sql.Tx, log *auditQueue, inc Incident, to, who string, at time.Time, text string) error {
	set := func(t time.Time) time.Time {
		if t.IsZero() {
			return at
		}
		return t
	}
	state := inc.State
	detected, contained, resolved := set(inc.DetectedAt), inc.ContainedAt, inc.ResolvedAt
	switch to {
	case IncidentContained:
		state, contained = IncidentContained, at
	case IncidentResolved:
		state, contained, resolved = IncidentResolved, set(inc.ContainedAt), at
	}
	if _, err := tx.ExecContext(ctx, `UPDATE incidents SET state = $1, detected_at = $2, contained_at = $3, resolved_at = $4
		WHERE id = $5`, state, nullTime(detected), nullTime(contained), nullTime(resolved), inc.ID); err != nil {
		return err
	}
	if err := insertEvent(ctx, tx, inc.ID, who, text, at); err != nil {
		return err
	}
	log.add("incident.state", objectID("incident", inc.ID), map[string]any{"mark": to, "at": fmtTime(at)})
	return nil
}

// AddVerifyEvidence stores a `violet verify` report for a version with the
// signers of its verified signature (none for a signature that did not
// verify), in one transaction. Like AddEvidence it is idempotent.
func (s *Store) AddVerifyEvidence(ctx context.Context, a Actor, versionID int64, report []byte, signers []string) (Evidence, bool, error) {
	if err := checkDerived(signers, nil); err != nil {
		return Evidence{}, false, err
	}
	return s.addDerivedEvidence(ctx, a, versionID, EvidenceVerify, report, func(tx *sql.Tx, e Evidence) (int, error) {
		return insertSigners(ctx, tx, e, signers)
	})
}

// insertSigners records who signed (a verify report, evidence e) in tx.
func insertSigners(ctx context.Context, tx *sql.Tx, e Evidence, signers []string) (int, error) {
	return insertEach(ctx, tx, `INSERT INTO version_signers (version_id, signer, evidence_id) VALUES ($1, $2, $3)
		ON CONFLICT (evidence_id, signer) DO NOTHING`, signers, func(x string) []any { return []any{e.VersionID, x, e.ID} })
}

// VersionSigners lists who signed a version, as its verified verify
// reports name them, once each, by name.
func (s *Store) VersionSigners(ctx context.Context, versionID int64) ([]string, error) {
	out, err := queryAll(ctx, s.rdb, func(row scanner) (string, error) {
		var x string
		return x, row.Scan(&x)
	}, `SELECT DISTINCT signer FROM version_signers WHERE version_id = $1 ORDER BY signer`, versionID)
	return out, s.wrap(err)
}

// UserLogin returns the login of a user (who a token acts for, on a
// timeline).
func (s *Store) UserLogin(ctx context.Context, userID int64) (string, error) {
	var login string
	err := s.rdb.QueryRowContext(ctx, `SELECT login FROM users WHERE id = $1`, userID).Scan(&login)
	return login, s.wrap(err)
}
