package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/internal/atlas"
)

// Residual risk levels of a threat, once its mitigations are in place.
const (
	ResidualLow      = "low"
	ResidualMedium   = "medium"
	ResidualHigh     = "high"
	ResidualCritical = "critical"
)

// ResidualLevels lists the residual risk levels, lowest first.
func ResidualLevels() []string {
	return []string{ResidualLow, ResidualMedium, ResidualHigh, ResidualCritical}
}

// Bounds of a threat model.
const (
	MaxThreats  = 64 // techniques per threat model
	MaxControls = 32 // controls per technique
)

// Threat is a MITRE ATLAS technique that applies to a model.
type Threat struct {
	// Technique is the ATLAS id of a technique or sub-technique
	// ("AML.T0051", "AML.T0024.000"); it must be in ATLAS.
	Technique string
	// Why says how the technique reaches this model.
	Why string
	// Mitigations says what is done against it.
	Mitigations string
	// Controls are the Violet controls whose evidence shows the
	// mitigations at work: rule ids of violet scan (finding.Lookup) or
	// evidence kinds (scan, verify, bom, deps, gate).
	Controls []string
	// Residual is the risk left: one of ResidualLevels.
	Residual string
}

// ThreatModel is a model's threat model.
type ThreatModel struct {
	ModelID     int64
	Assets      string // what there is to protect
	EntryPoints string // where an attacker reaches the model
	Threats     []Threat
	UpdatedBy   string
	// UpdatedAt is zero when the model has no threat model yet.
	UpdatedAt time.Time
}

// evidenceKinds are the evidence kinds a control may name.
var evidenceKinds = []string{EvidenceScan, EvidenceVerify, EvidenceBOM, EvidenceDeps, EvidenceGate}

// CheckControl checks that c names a Violet control: a rule id of the
// scanner's catalogue or an evidence kind.
func CheckControl(c string) error {
	if err := checkText("control", c); err != nil {
		return err
	}
	if _, ok := finding.Lookup(c); ok || slices.Contains(evidenceKinds, c) {
		return nil
	}
	return fmt.Errorf("control %q: neither a rule id of violet scan nor an evidence kind (%s): %w",
		clip(c), strings.Join(evidenceKinds, ", "), ErrInvalid)
}

// checkThreatModel checks a threat model's texts, that each technique is
// in ATLAS and listed once, its controls, and its residual risk.
func checkThreatModel(tm ThreatModel) error {
	if err := checkText("threat text", tm.Assets); err != nil {
		return err
	}
	if err := checkText("threat text", tm.EntryPoints); err != nil {
		return err
	}
	if len(tm.Threats) > MaxThreats {
		return fmt.Errorf("%d techniques, more than %d: %w", len(tm.Threats), MaxThreats, ErrInvalid)
	}
	seen := map[string]bool{}
	for _, t := range tm.Threats {
		if _, ok := atlas.Technique(t.Technique); !ok {
			return fmt.Errorf("technique %q: not a MITRE ATLAS %s technique id: %w", clip(t.Technique), atlas.Version, ErrInvalid)
		}
		if seen[t.Technique] {
			return fmt.Errorf("technique %s is listed twice: %w", t.Technique, ErrInvalid)
		}
		seen[t.Technique] = true
		if err := checkText("threat text", t.Why); err != nil {
			return err
		}
		if err := checkText("threat text", t.Mitigations); err != nil {
			return err
		}
		if len(t.Controls) > MaxControls {
			return fmt.Errorf("technique %s: %d controls, more than %d: %w", t.Technique, len(t.Controls), MaxControls, ErrInvalid)
		}
		for i, c := range t.Controls {
			if err := CheckControl(c); err != nil {
				return err
			}
			if slices.Contains(t.Controls[:i], c) {
				return fmt.Errorf("technique %s: control %s is listed twice: %w", t.Technique, c, ErrInvalid)
			}
		}
		if err := oneOf("residual risk", t.Residual, ResidualLevels()); err != nil {
			return err
		}
	}
	return nil
}

// threatFields are the fields of a threat that audit records show.
func threatFields(t Threat) map[string]any {
	return map[string]any{"why": t.Why, "mitigations": t.Mitigations,
		"controls": strings.Join(t.Controls, " "), "residual": t.Residual}
}

// threatDiff is what a change of a threat model changed, as its audit
// record holds it; empty when nothing changed.
func threatDiff(old, tm ThreatModel) map[string]any {
	d := diffFields(map[string]any{"assets": old.Assets, "entry_points": old.EntryPoints},
		map[string]any{"assets": tm.Assets, "entry_points": tm.EntryPoints})
	before := map[string]Threat{}
	for _, t := range old.Threats {
		before[t.Technique] = t
	}
	var added []map[string]any
	changed := map[string]any{}
	order := false
	for i, t := range tm.Threats {
		b, ok := before[t.Technique]
		if !ok {
			f := threatFields(t)
			f["technique"] = t.Technique
			added = append(added, f)
			continue
		}
		if c := diffFields(threatFields(b), threatFields(t)); len(c) > 0 {
			changed[t.Technique] = c
		}
		order = order || i >= len(old.Threats) || old.Threats[i].Technique != t.Technique
		delete(before, t.Technique)
	}
	var removed []string
	for _, t := range old.Threats {
		if _, ok := before[t.Technique]; ok {
			removed = append(removed, t.Technique)
		}
	}
	if len(added) > 0 {
		d["added"] = added
	}
	if len(removed) > 0 {
		d["removed"] = removed
	}
	if len(changed) > 0 {
		d["changed"] = changed
	}
	if order && len(added) == 0 && len(removed) == 0 {
		d["reordered"] = true
	}
	return d
}

// PutThreatModel sets the threat model of tm.ModelID (a missing model is
// ErrNotFound), replacing the one stored. Its audit record, "threat.put"
// on the model, holds what changed: the texts as [before, after], the
// techniques added (with their fields), removed, and changed (each field
// as [before, after]). Saving the same threat model again records nothing.
func (s *Store) PutThreatModel(ctx context.Context, a Actor, tm ThreatModel) (ThreatModel, error) {
	if err := checkThreatModel(tm); err != nil {
		return ThreatModel{}, err
	}
	for i := range tm.Threats {
		if tm.Threats[i].Controls == nil {
			tm.Threats[i].Controls = []string{}
		}
	}
	now := s.stamp()
	var out ThreatModel
	err := s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM models WHERE id = $1`, tm.ModelID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("store: model %d: %w", tm.ModelID, ErrNotFound)
		}
		old, err := threatModel(ctx, tx, tm.ModelID)
		if err != nil {
			return err
		}
		diff := threatDiff(old, tm)
		if len(diff) == 0 && !old.UpdatedAt.IsZero() {
			out = old
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO threat_models (model_id, assets, entry_points, updated_by, updated_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (model_id) DO UPDATE SET assets = excluded.assets,
			entry_points = excluded.entry_points, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
			tm.ModelID, tm.Assets, tm.EntryPoints, a.Name, fmtTime(now)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM threat_techniques WHERE model_id = $1`, tm.ModelID); err != nil {
			return err
		}
		for i, t := range tm.Threats {
			if _, err := tx.ExecContext(ctx, `INSERT INTO threat_techniques
				(model_id, atlas_id, position, why, mitigations, controls, residual) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				tm.ModelID, t.Technique, i, t.Why, t.Mitigations, strings.Join(t.Controls, " "), t.Residual); err != nil {
				return err
			}
		}
		log.add("threat.put", objectID("model", tm.ModelID), diff)
		out = tm
		out.UpdatedBy, out.UpdatedAt = a.Name, now
		return nil
	})
	if err != nil {
		return ThreatModel{}, err
	}
	return out, nil
}

// ThreatModel returns a model's threat model; one with a zero UpdatedAt
// and nothing in it when none was saved.
func (s *Store) ThreatModel(ctx context.Context, modelID int64) (ThreatModel, error) {
	var tm ThreatModel
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		tm, err = threatModel(ctx, tx, modelID)
		return err
	})
	return tm, err
}

// threatModel is ThreatModel in tx.
func threatModel(ctx context.Context, tx *sql.Tx, modelID int64) (ThreatModel, error) {
	tm := ThreatModel{ModelID: modelID, Threats: []Threat{}}
	var at dbTime
	err := tx.QueryRowContext(ctx, `SELECT assets, entry_points, updated_by, updated_at FROM threat_models WHERE model_id = $1`,
		modelID).Scan(&tm.Assets, &tm.EntryPoints, &tm.UpdatedBy, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return tm, nil
	}
	if err != nil {
		return tm, err
	}
	tm.UpdatedAt = at.T
	tm.Threats, err = queryAll(ctx, tx, func(row scanner) (Threat, error) {
		var t Threat
		var controls string
		err := row.Scan(&t.Technique, &t.Why, &t.Mitigations, &controls, &t.Residual)
		t.Controls = strings.Fields(controls)
		return t, err
	}, `SELECT atlas_id, why, mitigations, controls, residual FROM threat_techniques WHERE model_id = $1 ORDER BY position`, modelID)
	if tm.Threats == nil {
		tm.Threats = []Threat{}
	}
	return tm, err
}
