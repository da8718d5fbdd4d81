package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// DrillScenario is one exercise of the drill library: what is injected,
// the steps the team is expected to take, and what counts as detected and
// as contained (the two times a drill measures).
type DrillScenario struct {
	// ID names the scenario in the API ("poisoned-checkpoint").
	ID    string
	Title string
	// Type and Severity are those of the incident a started drill opens.
	Type     string
	Severity string
	// Inject is what the facilitator plants or announces at the start.
	Inject string
	// Steps are what the team is expected to do, in order.
	Steps []string
	// Detected and Contained say when the facilitator marks the drill's
	// incident detected and contained.
	Detected  string
	Contained string
	// Roles are the roles the scenario needs at the table.
	Roles []Role
}

// drillScenarios is the library: a table of data, one row per scenario.
var drillScenarios = []DrillScenario{
	{
		ID: "poisoned-checkpoint", Title: "A poisoned checkpoint arrives from a hub",
		Type: IncidentMaliciousModel, Severity: "critical",
		Inject: "A new revision of a base model the team fine-tunes is pulled from Hugging Face; its pickle checkpoint runs code when loaded.",
		Steps: []string{
			"violet scan of the new revision in CI fails with a PICKLE finding",
			"blast radius: which versions contain the checkpoint's file digest, or derive from the base model",
			"stop the pipelines and deployments that use those versions; pin the last good revision",
			"report the revision to the hub; record the evidence on the incident",
		},
		Detected:  "someone names the malicious file (its SHA-256) as the cause",
		Contained: "no pipeline or deployment loads an affected version",
		Roles:     []Role{RoleSecurity, RoleMLEngineer},
	},
	{
		ID: "dependency-compromise", Title: "A dependency is compromised (torchtriton-style)",
		Type: IncidentCompromisedDependency, Severity: "critical",
		Inject: "A package with the name of an internal dependency is published on PyPI with a higher version and a payload that exfiltrates secrets at install.",
		Steps: []string{
			"violet deps flags the package (typosquat, known-malicious or unpinned)",
			"blast radius: which versions depend on the package (and at which version)",
			"pin the package to the internal index, rotate the secrets of the machines that installed it",
			"rebuild the affected versions and check their new deps reports",
		},
		Detected:  "the package and its bad versions are named",
		Contained: "no build can install the bad version and the exposed secrets are rotated",
		Roles:     []Role{RoleSecurity, RoleMLEngineer, RoleProcurement},
	},
	{
		ID: "leaked-signing-key", Title: "A model signing key leaks",
		Type: IncidentLeakedSigningKey, Severity: "high",
		Inject: "The private key that CI signs models with is found in a public repository.",
		Steps: []string{
			"blast radius: which versions were signed by the key (its hint, from the verify reports)",
			"revoke the key: remove it from the team's trusted signers (DELETE /api/v1/signers/{id}) and from every other verifier",
			"re-sign the affected versions with a new key and verify them again (violet rescan --all --kind verify --wait)",
			"find how the key leaked and who could have used it",
		},
		Detected:  "the key is identified (its hint) and confirmed as the CI key",
		Contained: "the key is no longer trusted by any verifier",
		Roles:     []Role{RoleSecurity, RoleMLEngineer, RoleLegalCompliance},
	},
	{
		ID: "prompt-injection-leak", Title: "Data leaks through prompt injection against a deployed assistant",
		Type: IncidentPromptInjectionLeakage, Severity: "high",
		Inject: "A customer reports that a crafted document made the support assistant reveal other customers' records.",
		Steps: []string{
			"reproduce the injection and identify the model version and the data it reached",
			"disable the assistant's retrieval tool or take the version out of service",
			"legal and compliance assess the personal data exposed and the notification duties",
			"add the injection to the evaluation set; fix the tool permissions",
		},
		Detected:  "the injection is reproduced and the exposed data is identified",
		Contained: "the assistant can no longer reach the data",
		Roles:     []Role{RoleSecurity, RoleMLEngineer, RoleSME, RoleLegalCompliance},
	},
	{
		ID: "training-data-poisoning", Title: "A training dataset is poisoned",
		Type: IncidentPoisoning, Severity: "high",
		Inject: "A dataset the team trains on is found to contain planted samples with a trigger phrase.",
		Steps: []string{
			"blast radius: which versions derive from the dataset or from a model trained on it",
			"evaluate the affected versions for the trigger; take them out of service if it fires",
			"retrain from a cleaned dataset",
		},
		Detected:  "the poisoned dataset and the trigger are identified",
		Contained: "no affected version serves traffic",
		Roles:     []Role{RoleSecurity, RoleMLEngineer, RoleSME},
	},
}

// DrillScenarios returns the drill library.
func DrillScenarios() []DrillScenario { return slices.Clone(drillScenarios) }

// DrillScenarioByID returns the scenario named id.
func DrillScenarioByID(id string) (DrillScenario, bool) {
	for _, s := range drillScenarios {
		if s.ID == id {
			return s, true
		}
	}
	return DrillScenario{}, false
}

// MaxDrillItems bounds a drill's participants and follow-up actions.
const MaxDrillItems = 100

// DrillParticipant is who takes part in a drill: a role and, optionally, a
// member of the team who holds it ("" for whoever holds it).
type DrillParticipant struct {
	Role  Role
	Login string
}

// Drill is an exercise of a team: scheduled, started (its incident opened)
// and closed with findings and follow-up actions.
type Drill struct {
	ID           int64
	TeamID       int64
	Scenario     string
	ScheduledAt  time.Time
	ScheduledBy  string
	Participants []DrillParticipant
	// StartedAt and ClosedAt are the zero time until then.
	StartedAt time.Time
	ClosedAt  time.Time
	// IncidentID is the incident its start opened (0 before).
	IncidentID int64
	Findings   string
	FollowUps  []string
}

// ScheduleDrill schedules a drill of a scenario of the library for a team.
// A participant with a login must hold the role in the team.
func (s *Store) ScheduleDrill(ctx context.Context, a Actor, d Drill) (Drill, error) {
	if _, ok := DrillScenarioByID(d.Scenario); !ok {
		return Drill{}, fmt.Errorf("drill scenario %q: not in the library: %w", clip(d.Scenario), ErrInvalid)
	}
	if d.ScheduledAt.IsZero() {
		return Drill{}, fmt.Errorf("drill: no schedule: %w", ErrInvalid)
	}
	if len(d.Participants) == 0 || len(d.Participants) > MaxDrillItems {
		return Drill{}, fmt.Errorf("drill: %d participants, want 1 to %d: %w", len(d.Participants), MaxDrillItems, ErrInvalid)
	}
	for _, p := range d.Participants {
		if err := checkRole(p.Role); err != nil {
			return Drill{}, err
		}
		if p.Login != "" {
			if err := checkText("login", p.Login); err != nil {
				return Drill{}, err
			}
		}
	}
	d.ScheduledBy, d.Findings, d.FollowUps = a.Name, "", nil
	d.StartedAt, d.ClosedAt, d.IncidentID = time.Time{}, time.Time{}, 0
	d.ScheduledAt = d.ScheduledAt.UTC().Truncate(time.Microsecond)
	err := s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO drills (team_id, scenario, scheduled_at, scheduled_by, findings)
			VALUES ($1, $2, $3, $4, '') RETURNING id`, d.TeamID, d.Scenario, fmtTime(d.ScheduledAt), a.Name).Scan(&d.ID); err != nil {
			return err
		}
		for _, p := range d.Participants {
			if p.Login != "" {
				var one int
				err := tx.QueryRowContext(ctx, `SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
					WHERE m.team_id = $1 AND u.login = $2 AND m.role = $3`, d.TeamID, p.Login, string(p.Role)).Scan(&one)
				if errors.Is(err, sql.ErrNoRows) {
					return fmt.Errorf("drill participant %s: not a %s of the team: %w", p.Login, p.Role, ErrInvalid)
				} else if err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO drill_participants (drill_id, role, login) VALUES ($1, $2, $3)
				ON CONFLICT (drill_id, role, login) DO NOTHING`, d.ID, string(p.Role), p.Login); err != nil {
				return err
			}
		}
		log.add("drill.schedule", objectID("drill", d.ID), map[string]any{"team": d.TeamID, "scenario": d.Scenario})
		log.event(EventDrillScheduled, d.TeamID, map[string]any{"drill": d.ID, "scenario": d.Scenario,
			"scheduled_at": fmtTime(d.ScheduledAt)})
		return nil
	})
	if err != nil {
		return Drill{}, err
	}
	return s.Drill(ctx, d.ID)
}

const drillColumns = `d.id, d.team_id, d.scenario, d.scheduled_at, d.scheduled_by, d.started_at, d.closed_at, d.findings,
	COALESCE((SELECT i.id FROM incidents i WHERE i.drill_id = d.id), 0)`

func scanDrill(row scanner) (Drill, error) {
	var d Drill
	var sched, started, closed dbTime
	err := row.Scan(&d.ID, &d.TeamID, &d.Scenario, &sched, &d.ScheduledBy, &started, &closed, &d.Findings, &d.IncidentID)
	d.ScheduledAt, d.StartedAt, d.ClosedAt = sched.T, started.T, closed.T
	return d, err
}

// Drill returns a drill with its participants and follow-up actions.
func (s *Store) Drill(ctx context.Context, id int64) (Drill, error) {
	var d Drill
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		d, err = scanDrill(tx.QueryRowContext(ctx, `SELECT `+drillColumns+` FROM drills d WHERE d.id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: drill %d: %w", id, ErrNotFound)
		} else if err != nil {
			return err
		}
		if d.Participants, err = queryAll(ctx, tx, func(row scanner) (DrillParticipant, error) {
			var p DrillParticipant
			return p, row.Scan(&p.Role, &p.Login)
		}, `SELECT role, login FROM drill_participants WHERE drill_id = $1 ORDER BY role, login`, id); err != nil {
			return err
		}
		d.FollowUps, err = queryAll(ctx, tx, func(row scanner) (string, error) {
			var a string
			return a, row.Scan(&a)
		}, `SELECT action FROM drill_follow_ups WHERE drill_id = $1 ORDER BY n`, id)
		return err
	})
	return d, err
}

// Drills lists a team's drills, the newest first (without participants
// and follow-up actions: Drill has them).
func (s *Store) Drills(ctx context.Context, teamID int64) ([]Drill, error) {
	out, err := queryAll(ctx, s.rdb, scanDrill, `SELECT `+drillColumns+` FROM drills d WHERE d.team_id = $1 ORDER BY d.id DESC`, teamID)
	return out, s.wrap(err)
}

// StartDrill starts a scheduled drill: it opens the drill's incident (the
// scenario's type and severity, began now, not yet detected) in the same
// transaction. Starting a started drill again changes nothing and returns
// its incident (started false); a closed drill cannot start.
func (s *Store) StartDrill(ctx context.Context, a Actor, id int64, who string) (Incident, bool, error) {
	if err := checkText("who", who); err != nil {
		return Incident{}, false, err
	}
	now := s.stamp()
	var incidentID int64
	started := false
	err := s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		d, err := scanDrill(tx.QueryRowContext(ctx, `SELECT `+drillColumns+` FROM drills d WHERE d.id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: drill %d: %w", id, ErrNotFound)
		} else if err != nil {
			return err
		}
		if !d.StartedAt.IsZero() {
			incidentID = d.IncidentID
			return nil
		}
		sc, ok := DrillScenarioByID(d.Scenario)
		if !ok {
			return fmt.Errorf("drill %d: scenario %q is no longer in the library: %w", id, d.Scenario, ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE drills SET started_at = $1 WHERE id = $2`, fmtTime(now), id); err != nil {
			return err
		}
		inc := Incident{TeamID: d.TeamID, Type: sc.Type, Severity: sc.Severity, Title: "Drill: " + sc.Title,
			Summary: sc.Inject, BeganAt: now, DrillID: id}
		if incidentID, err = insertIncident(ctx, tx, log, a, who, inc, now); err != nil {
			return err
		}
		started = true
		log.add("drill.start", objectID("drill", id), map[string]any{"incident": incidentID})
		return nil
	})
	if err != nil {
		return Incident{}, false, err
	}
	inc, err := s.Incident(ctx, incidentID)
	return inc, started, err
}

// CloseDrill closes a started drill with its findings and follow-up
// actions; its incident, when not resolved yet, is resolved now. Closing a
// closed drill again with the same findings and actions changes nothing
// (closed false); with others it is ErrConflict.
func (s *Store) CloseDrill(ctx context.Context, a Actor, id int64, who, findings string, followUps []string) (Drill, bool, error) {
	if err := checkText("who", who); err != nil {
		return Drill{}, false, err
	}
	if err := checkText("drill findings", findings); err != nil {
		return Drill{}, false, err
	}
	if len(followUps) > MaxDrillItems {
		return Drill{}, false, fmt.Errorf("drill: %d follow-up actions, more than %d: %w", len(followUps), MaxDrillItems, ErrInvalid)
	}
	for _, f := range followUps {
		if err := checkText("follow-up action", f); err != nil {
			return Drill{}, false, err
		}
	}
	now := s.stamp()
	closed := false
	err := s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		d, err := scanDrill(tx.QueryRowContext(ctx, `SELECT `+drillColumns+` FROM drills d WHERE d.id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: drill %d: %w", id, ErrNotFound)
		} else if err != nil {
			return err
		}
		if d.StartedAt.IsZero() {
			return fmt.Errorf("drill %d has not started: %w", id, ErrConflict)
		}
		if !d.ClosedAt.IsZero() {
			stored, err := queryAll(ctx, tx, func(row scanner) (string, error) {
				var a string
				return a, row.Scan(&a)
			}, `SELECT action FROM drill_follow_ups WHERE drill_id = $1 ORDER BY n`, id)
			if err != nil {
				return err
			}
			if d.Findings != findings || !slices.Equal(stored, followUps) {
				return fmt.Errorf("drill %d is closed with other findings: %w", id, ErrConflict)
			}
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE drills SET closed_at = $1, findings = $2 WHERE id = $3`,
			fmtTime(now), findings, id); err != nil {
			return err
		}
		for i, f := range followUps {
			if _, err := tx.ExecContext(ctx, `INSERT INTO drill_follow_ups (drill_id, n, action) VALUES ($1, $2, $3)`,
				id, i+1, f); err != nil {
				return err
			}
		}
		if err := resolveForDrill(ctx, tx, log, a, d.IncidentID, who, now); err != nil {
			return err
		}
		closed = true
		log.add("drill.close", objectID("drill", id), map[string]any{"follow_ups": len(followUps)})
		return nil
	})
	if err != nil {
		return Drill{}, false, err
	}
	d, err := s.Drill(ctx, id)
	return d, closed, err
}

// resolveForDrill resolves a drill's incident that is not resolved yet,
// marking what was never marked (detected, contained) at the same time.
func resolveForDrill(ctx context.Context, tx *sql.Tx, log *auditQueue, a Actor, incidentID int64, who string, now time.Time) error {
	inc, err := scanIncident(tx.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = $1`, incidentID))
	if err != nil {
		return err
	}
	if inc.State == IncidentResolved {
		return nil
	}
	return changeState(ctx, tx, log, inc, IncidentResolved, who, now, "the drill was closed")
}
