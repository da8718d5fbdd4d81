package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Source kinds: where a model comes from.
const (
	SourceHuggingFace = "huggingface" // Ref: a repository id, "org/name"
	SourceRegistry    = "registry"    // Ref: a registry reference (OCI, MLflow, ...)
	SourcePath        = "path"        // Ref: a path on the scanning machine or share
)

// Model is an entry of the inventory, owned by a team.
type Model struct {
	ID         int64
	TeamID     int64
	Name       string
	SourceKind string
	SourceRef  string
	CreatedAt  time.Time
}

// CreateModel adds a model to a team's inventory; a name taken in the team
// is ErrExists, a missing team ErrNotFound.
func (s *Store) CreateModel(ctx context.Context, a Actor, m Model) (Model, error) {
	if err := checkText("model name", m.Name); err != nil {
		return Model{}, err
	}
	if err := oneOf("source kind", m.SourceKind, []string{SourceHuggingFace, SourceRegistry, SourcePath}); err != nil {
		return Model{}, err
	}
	if err := checkText("source ref", m.SourceRef); err != nil {
		return Model{}, err
	}
	m.ID, m.CreatedAt = 0, s.stamp()
	err := s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO models (team_id, name, source_kind, source_ref, created_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			m.TeamID, m.Name, m.SourceKind, m.SourceRef, fmtTime(m.CreatedAt)).Scan(&m.ID); err != nil {
			return err
		}
		log.add("model.create", objectID("model", m.ID), map[string]any{
			"team": m.TeamID, "name": m.Name, "source_kind": m.SourceKind, "source_ref": m.SourceRef})
		return nil
	})
	return m, err
}

const modelColumns = `id, team_id, name, source_kind, source_ref, created_at`

func scanModel(row scanner) (Model, error) {
	var m Model
	var at dbTime
	err := row.Scan(&m.ID, &m.TeamID, &m.Name, &m.SourceKind, &m.SourceRef, &at)
	m.CreatedAt = at.T
	return m, err
}

// Model returns a model by id, or ErrNotFound.
func (s *Store) Model(ctx context.Context, id int64) (Model, error) {
	m, err := scanModel(s.rdb.QueryRowContext(ctx, `SELECT `+modelColumns+` FROM models WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Model{}, fmt.Errorf("store: model %d: %w", id, ErrNotFound)
	}
	return m, s.wrap(err)
}

// Models lists a team's models by name.
func (s *Store) Models(ctx context.Context, teamID int64) ([]Model, error) {
	out, err := queryAll(ctx, s.rdb, scanModel, `SELECT `+modelColumns+` FROM models WHERE team_id = $1 ORDER BY name`, teamID)
	return out, s.wrap(err)
}

// Version is a model version, identified within its model by the digest of
// its manifest.
type Version struct {
	ID      int64
	ModelID int64
	// Digest is the manifest's root digest (sign.Manifest.RootDigest),
	// "sha256:<hex>".
	Digest string
	// Label is a human name (a revision, a tag); it is not an identity.
	Label     string
	CreatedAt time.Time
}

// File is one file of a model version.
type File struct {
	// Path is relative to the model's root, POSIX ("." for a single-file
	// model).
	Path   string
	SHA256 string // lower-case hex
	Size   int64
}

// PutVersion records a version of a model with its files, and is
// idempotent: putting the same digest with the same files again returns
// the stored version and created=false, with no change and no audit
// record. The same digest with other files is ErrConflict: the digest is
// the version's identity, and a second, different file list under it is
// either a bug or a lie. Label is kept from the first put.
func (s *Store) PutVersion(ctx context.Context, a Actor, modelID int64, digest, label string, files []File) (v Version, created bool, err error) {
	if err := checkDigest(digest); err != nil {
		return Version{}, false, err
	}
	if err := checkText("label", label); err != nil {
		return Version{}, false, err
	}
	if len(files) > MaxVersionFiles {
		return Version{}, false, fmt.Errorf("version: %d files, more than %d: %w", len(files), MaxVersionFiles, ErrTooLarge)
	}
	files = slices.Clone(files)
	sortFiles(files)
	for i, f := range files {
		if err := checkFilePath(f.Path); err != nil {
			return Version{}, false, err
		}
		if err := checkSHA256("file sha256", f.SHA256); err != nil {
			return Version{}, false, err
		}
		if f.Size < 0 {
			return Version{}, false, fmt.Errorf("file %q: negative size: %w", clip(f.Path), ErrInvalid)
		}
		if i > 0 && files[i-1].Path == f.Path {
			return Version{}, false, fmt.Errorf("file %q listed twice: %w", clip(f.Path), ErrInvalid)
		}
	}
	v = Version{ModelID: modelID, Digest: digest, Label: label, CreatedAt: s.stamp()}
	err = s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		// ON CONFLICT: of two puts of one version racing, one inserts and
		// the other compares.
		err := tx.QueryRowContext(ctx, `INSERT INTO model_versions (model_id, digest, label, created_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT (model_id, digest) DO NOTHING RETURNING id`,
			modelID, digest, label, fmtTime(v.CreatedAt)).Scan(&v.ID)
		if errors.Is(err, sql.ErrNoRows) {
			var at dbTime
			if err := tx.QueryRowContext(ctx, `SELECT id, label, created_at FROM model_versions
				WHERE model_id = $1 AND digest = $2`, modelID, digest).Scan(&v.ID, &v.Label, &at); err != nil {
				return err
			}
			v.CreatedAt = at.T
			stored, err := versionFiles(ctx, tx, v.ID)
			if err != nil {
				return err
			}
			if !slices.Equal(stored, files) {
				return fmt.Errorf("store: version %s of model %d is stored with other files: %w", digest, modelID, ErrConflict)
			}
			return nil
		}
		if err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO version_files (version_id, path, sha256, size) VALUES ($1, $2, $3, $4)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, f := range files {
			if _, err := stmt.ExecContext(ctx, v.ID, f.Path, f.SHA256, f.Size); err != nil {
				return err
			}
		}
		created = true
		log.add("version.create", objectID("version", v.ID), map[string]any{
			"model": modelID, "digest": digest, "label": label, "files": len(files)})
		return nil
	})
	if err != nil {
		return Version{}, false, err
	}
	return v, created, nil
}

// sortFiles sorts files by path, byte-wise (not in the database's collation,
// which on PostgreSQL depends on the locale).
func sortFiles(files []File) {
	slices.SortFunc(files, func(x, y File) int { return strings.Compare(x.Path, y.Path) })
}

// versionFiles reads a version's files in path order.
func versionFiles(ctx context.Context, q querier, versionID int64) ([]File, error) {
	out, err := queryAll(ctx, q, func(row scanner) (File, error) {
		var f File
		return f, row.Scan(&f.Path, &f.SHA256, &f.Size)
	}, `SELECT path, sha256, size FROM version_files WHERE version_id = $1`, versionID)
	sortFiles(out)
	return out, err
}

// VersionFiles lists a version's files in path order.
func (s *Store) VersionFiles(ctx context.Context, versionID int64) ([]File, error) {
	files, err := versionFiles(ctx, s.rdb, versionID)
	return files, s.wrap(err)
}

// Versions lists a model's versions, oldest first.
func (s *Store) Versions(ctx context.Context, modelID int64) ([]Version, error) {
	out, err := queryAll(ctx, s.rdb, func(row scanner) (Version, error) {
		var v Version
		var at dbTime
		err := row.Scan(&v.ID, &v.ModelID, &v.Digest, &v.Label, &at)
		v.CreatedAt = at.T
		return v, err
	}, `SELECT id, model_id, digest, label, created_at FROM model_versions WHERE model_id = $1 ORDER BY id`, modelID)
	return out, s.wrap(err)
}
