package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Lineage kinds: what a version derives from.
const (
	LineageModel   = "model"   // a base model, or the model an adapter, fine-tune or merge is of
	LineageDataset = "dataset" // a dataset it was trained or evaluated on
)

// Limits on what one report gives the inventory.
const (
	MaxLineage  = 10_000
	MaxPackages = 100_000
)

// LineageLink is one model or dataset a version derives from, as its
// ML-BOM says.
type LineageLink struct {
	// Kind is LineageModel or LineageDataset.
	Kind string
	// Relation says how: for a model "base", "adapter", "finetune",
	// "merge", "quantized" (the BOM's words); for a dataset "training" or
	// "evaluation".
	Relation string
	// Name is the model's or dataset's id ("org/name" on Hugging Face).
	Name string
	// Ref is its package URL or URL; "" when the BOM gives none.
	Ref string
}

// Package is one Python package that a version's dependency files name,
// as a `violet deps` report gives it.
type Package struct {
	Ecosystem string // "PyPI"
	// Name is the PEP 503 name.
	Name string
	// Version is the exact version when pinned; "" otherwise.
	Version string
	// Specifier is the version specifier as written, "" for a pin.
	Specifier string
	// Manifest is the dependency file, relative to the model, and Line its
	// line (0 when the format has none).
	Manifest string
	Line     int
	// Severity is the worst severity of the report's findings on the
	// package; "" when it has none.
	Severity string
}

// Usage is a version of a team's model that uses a model, dataset or
// package: the answer to "where is it used?".
type Usage struct {
	ModelID   int64
	ModelName string
	VersionID int64
	Digest    string
	Label     string
	// How is the lineage relation, or the package's version ("" when not
	// pinned).
	How string
}

// AddBOMEvidence stores an ML-BOM for a version with the lineage it gives,
// in one transaction; the version's lineage is that of its newest BOM
// (Lineage). Like AddEvidence it is idempotent.
func (s *Store) AddBOMEvidence(ctx context.Context, a Actor, versionID int64, report []byte, lineage []LineageLink) (Evidence, bool, error) {
	if err := checkDerived(nil, lineage); err != nil {
		return Evidence{}, false, err
	}
	return s.addDerivedEvidence(ctx, a, versionID, EvidenceBOM, report, func(tx *sql.Tx, e Evidence) (int, error) {
		return insertLineage(ctx, tx, e, lineage)
	})
}

// insertLineage records a BOM's lineage (evidence e) in tx.
func insertLineage(ctx context.Context, tx *sql.Tx, e Evidence, lineage []LineageLink) (int, error) {
	return insertEach(ctx, tx, `INSERT INTO version_lineage (version_id, kind, relation, name, ref, evidence_id)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (evidence_id, kind, relation, name) DO NOTHING`,
		lineage, func(l LineageLink) []any { return []any{e.VersionID, l.Kind, l.Relation, l.Name, l.Ref, e.ID} })
}

// checkDerived refuses a verify report's signers or a BOM's lineage out of
// bounds.
func checkDerived(signers []string, lineage []LineageLink) error {
	for _, x := range signers {
		if err := checkText("signer", x); err != nil {
			return err
		}
	}
	if len(lineage) > MaxLineage {
		return fmt.Errorf("lineage: %d links, more than %d: %w", len(lineage), MaxLineage, ErrTooLarge)
	}
	for _, l := range lineage {
		if err := checkLineage(l); err != nil {
			return err
		}
	}
	return nil
}

// insertDerived records, in tx, what the inventory draws from a verify
// report (its signers) or a BOM (its lineage) stored as evidence e.
func insertDerived(ctx context.Context, tx *sql.Tx, log *auditQueue, e Evidence, signers []string, lineage []LineageLink) error {
	var n int
	var err error
	switch e.Kind {
	case EvidenceVerify:
		n, err = insertSigners(ctx, tx, e, signers)
	case EvidenceBOM:
		n, err = insertLineage(ctx, tx, e, lineage)
	}
	if err == nil && n > 0 {
		log.add("inventory.derive", objectID("evidence", e.ID), map[string]any{"version": e.VersionID, "kind": e.Kind, "rows": n})
	}
	return err
}

// AddDepsEvidence stores a `violet deps` report for a version with the
// packages it lists, in one transaction; the version's packages are those
// of its newest report (Packages). Like AddEvidence it is idempotent.
func (s *Store) AddDepsEvidence(ctx context.Context, a Actor, versionID int64, report []byte, pkgs []Package) (Evidence, bool, error) {
	if len(pkgs) > MaxPackages {
		return Evidence{}, false, fmt.Errorf("packages: %d, more than %d: %w", len(pkgs), MaxPackages, ErrTooLarge)
	}
	for _, p := range pkgs {
		if err := checkPackage(p); err != nil {
			return Evidence{}, false, err
		}
	}
	return s.addDerivedEvidence(ctx, a, versionID, EvidenceDeps, report, func(tx *sql.Tx, e Evidence) (int, error) {
		return insertEach(ctx, tx, `INSERT INTO version_packages
			(version_id, ecosystem, name, version, specifier, manifest, line, severity, evidence_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (evidence_id, manifest, line, name) DO NOTHING`,
			pkgs, func(p Package) []any {
				return []any{versionID, p.Ecosystem, p.Name, p.Version, p.Specifier, p.Manifest, p.Line, p.Severity, e.ID}
			})
	})
}

// insertEach runs the insert query once per row, with args(row) as its
// arguments, and returns how many rows it inserted.
func insertEach[T any](ctx context.Context, tx *sql.Tx, query string, rows []T, args func(T) []any) (int, error) {
	n := 0
	for _, r := range rows {
		res, err := tx.ExecContext(ctx, query, args(r)...)
		if err != nil {
			return 0, err
		}
		k, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		n += int(k)
	}
	return n, nil
}

// addDerivedEvidence stores a report of kind and, in the same
// transaction, what derive draws from it (on a report stored before, it
// runs again and adds nothing new). One audit record names the rows added.
func (s *Store) addDerivedEvidence(ctx context.Context, a Actor, versionID int64, kind string, report []byte,
	derive func(tx *sql.Tx, e Evidence) (int, error)) (Evidence, bool, error) {
	if err := checkEvidence(kind, report); err != nil {
		return Evidence{}, false, err
	}
	e := newEvidence(a, versionID, kind, report, s.stamp())
	var created bool
	err := s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		var err error
		if created, err = insertEvidence(ctx, tx, log, &e, report); err != nil {
			return err
		}
		n, err := derive(tx, e)
		if err == nil && n > 0 {
			log.add("inventory.derive", objectID("evidence", e.ID), map[string]any{"version": versionID, "kind": kind, "rows": n})
		}
		return err
	})
	if err != nil {
		return Evidence{}, false, err
	}
	return e, created, nil
}

func checkLineage(l LineageLink) error {
	if err := oneOf("lineage kind", l.Kind, []string{LineageModel, LineageDataset}); err != nil {
		return err
	}
	for _, f := range []struct{ field, v string }{{"relation", l.Relation}, {"lineage name", l.Name}, {"lineage ref", l.Ref}} {
		if err := checkText(f.field, f.v); err != nil {
			return err
		}
	}
	return nil
}

func checkPackage(p Package) error {
	for _, f := range []struct{ field, v string }{{"ecosystem", p.Ecosystem}, {"package name", p.Name},
		{"package version", p.Version}, {"specifier", p.Specifier}} {
		if err := checkText(f.field, f.v); err != nil {
			return err
		}
	}
	if err := checkFilePath(p.Manifest); err != nil {
		return err
	}
	if p.Line < 0 {
		return fmt.Errorf("package %s: line %d: %w", p.Name, p.Line, ErrInvalid)
	}
	return oneOf("package severity", p.Severity, []string{"", "info", "low", "medium", "high", "critical"})
}

// newestOf is the condition that a row (alias x, with version_id and
// evidence_id) comes from its version's newest evidence of a kind.
func newestOf(x, kind string) string {
	return x + `.evidence_id = (SELECT max(id) FROM evidence WHERE version_id = ` + x + `.version_id AND kind = '` + kind + `')`
}

// Lineage lists what a version derives from, as its newest ML-BOM says,
// models first, by relation and name.
func (s *Store) Lineage(ctx context.Context, versionID int64) ([]LineageLink, error) {
	out, err := queryAll(ctx, s.rdb, func(row scanner) (LineageLink, error) {
		var l LineageLink
		return l, row.Scan(&l.Kind, &l.Relation, &l.Name, &l.Ref)
	}, `SELECT l.kind, l.relation, l.name, l.ref FROM version_lineage l
		WHERE l.version_id = $1 AND `+newestOf("l", EvidenceBOM)+` ORDER BY l.kind DESC, l.relation, l.name`, versionID)
	return out, s.wrap(err)
}

// Packages lists a version's Python packages, as its newest deps report
// says, by name.
func (s *Store) Packages(ctx context.Context, versionID int64) ([]Package, error) {
	out, err := queryAll(ctx, s.rdb, func(row scanner) (Package, error) {
		var p Package
		return p, row.Scan(&p.Ecosystem, &p.Name, &p.Version, &p.Specifier, &p.Manifest, &p.Line, &p.Severity)
	}, `SELECT p.ecosystem, p.name, p.version, p.specifier, p.manifest, p.line, p.severity FROM version_packages p
		WHERE p.version_id = $1 AND `+newestOf("p", EvidenceDeps)+` ORDER BY p.name, p.manifest, p.line`, versionID)
	return out, s.wrap(err)
}

// usageSelect selects Usage's columns for a table aliased x.
func usageSelect(how, x string) string {
	return `SELECT DISTINCT m.id, m.name, v.id, v.digest, v.label, ` + how + ` FROM ` + x + `
		JOIN model_versions v ON v.id = u.version_id JOIN models m ON m.id = v.model_id`
}

func scanUsage(row scanner) (Usage, error) {
	var u Usage
	return u, row.Scan(&u.ModelID, &u.ModelName, &u.VersionID, &u.Digest, &u.Label, &u.How)
}

// LineageUsers lists the versions of the team's models whose newest ML-BOM
// names the model or dataset (kind, name) as what they derive from.
func (s *Store) LineageUsers(ctx context.Context, teamID int64, kind, name string) ([]Usage, error) {
	out, err := queryAll(ctx, s.rdb, scanUsage, usageSelect("u.relation", "version_lineage u")+`
		WHERE m.team_id = $1 AND u.kind = $2 AND u.name = $3 AND `+newestOf("u", EvidenceBOM)+`
		ORDER BY m.name, v.id`, teamID, kind, name)
	return out, s.wrap(err)
}

// PackageUsers lists the versions of the team's models whose newest deps
// report names the package (ecosystem, PEP 503 name).
func (s *Store) PackageUsers(ctx context.Context, teamID int64, ecosystem, name string) ([]Usage, error) {
	out, err := queryAll(ctx, s.rdb, scanUsage, usageSelect("u.version", "version_packages u")+`
		WHERE m.team_id = $1 AND u.ecosystem = $2 AND u.name = $3 AND `+newestOf("u", EvidenceDeps)+`
		ORDER BY m.name, v.id`, teamID, ecosystem, name)
	return out, s.wrap(err)
}
