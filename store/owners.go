package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Owner sources, as `violet discover` names them.
const (
	OwnerViaCodeowners = "codeowners"
	OwnerViaGit        = "git"
)

// MaxOwners bounds the owners one discovery gives.
const MaxOwners = 100_000

// Discovery is an inventory of a code base (`violet discover --format
// json`) that a team uploaded, without the report itself (see
// DiscoveryReport).
type Discovery struct {
	ID     int64
	TeamID int64
	// Source is what the uploader calls the code base (a repository).
	Source string
	// SHA256 is the lower-case hex SHA-256 of the report's bytes.
	SHA256     string
	Size       int64
	UploadedBy string
	UploadedAt time.Time
}

// ModelOwner is an owner of a model that a discovery found: the asset of
// the code base that is the model, and who owns it there.
type ModelOwner struct {
	ModelID int64
	// Owner is a CODEOWNERS owner (@user, @org/team, an email) or a git
	// author ("Name <email>").
	Owner string
	// Via is OwnerViaCodeowners or OwnerViaGit.
	Via string
	// Asset is the discovery's path or hub id of the model.
	Asset       string
	DiscoveryID int64
	// Source is the discovery's code base (set by ModelOwners).
	Source string
}

// AddDiscovery stores a code base's inventory for a team, with the owners
// it gives the team's models (the caller matched the assets to models;
// ModelID and the owner fields are taken, DiscoveryID is set here). A
// model's owners are those of the newest discovery of each code base
// (ModelOwners). The same report of the same source again is the stored
// discovery, created false.
func (s *Store) AddDiscovery(ctx context.Context, a Actor, teamID int64, source string, report []byte, owners []ModelOwner) (Discovery, bool, error) {
	if err := checkText("source", source); err != nil {
		return Discovery{}, false, err
	}
	if err := checkReport("discovery", report); err != nil {
		return Discovery{}, false, err
	}
	if len(owners) > MaxOwners {
		return Discovery{}, false, fmt.Errorf("owners: %d, more than %d: %w", len(owners), MaxOwners, ErrTooLarge)
	}
	for _, o := range owners {
		if err := checkOwner(o); err != nil {
			return Discovery{}, false, err
		}
	}
	sum := sha256.Sum256(report)
	d := Discovery{TeamID: teamID, Source: source, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(report)),
		UploadedBy: a.Name, UploadedAt: s.stamp()}
	created := true
	err := s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO discoveries (team_id, source, sha256, size, report, uploaded_by, uploaded_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (team_id, source, sha256) DO NOTHING RETURNING id`,
			d.TeamID, d.Source, d.SHA256, d.Size, report, d.UploadedBy, fmtTime(d.UploadedAt)).Scan(&d.ID)
		if errors.Is(err, sql.ErrNoRows) {
			created = false
			var at dbTime
			err = tx.QueryRowContext(ctx, `SELECT id, uploaded_by, uploaded_at FROM discoveries
				WHERE team_id = $1 AND source = $2 AND sha256 = $3`, d.TeamID, d.Source, d.SHA256).Scan(&d.ID, &d.UploadedBy, &at)
			d.UploadedAt = at.T
			return err
		}
		if err != nil {
			return err
		}
		for _, o := range owners {
			var team int64
			if err := tx.QueryRowContext(ctx, `SELECT team_id FROM models WHERE id = $1`, o.ModelID).Scan(&team); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return fmt.Errorf("store: model %d: %w", o.ModelID, ErrNotFound)
				}
				return err
			}
			if team != teamID {
				return fmt.Errorf("store: model %d is not of team %d: %w", o.ModelID, teamID, ErrInvalid)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO model_owners (model_id, owner, via, asset, discovery_id)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (model_id, discovery_id, owner, via, asset) DO NOTHING`,
				o.ModelID, o.Owner, o.Via, o.Asset, d.ID); err != nil {
				return err
			}
		}
		log.add("discovery.add", objectID("discovery", d.ID), map[string]any{
			"team": teamID, "source": source, "sha256": d.SHA256, "size": d.Size, "owners": len(owners)})
		return nil
	})
	if err != nil {
		return Discovery{}, false, err
	}
	return d, created, nil
}

func checkOwner(o ModelOwner) error {
	if err := checkText("owner", o.Owner); err != nil {
		return err
	}
	if err := oneOf("owner via", o.Via, []string{OwnerViaCodeowners, OwnerViaGit}); err != nil {
		return err
	}
	return checkText("asset", o.Asset)
}

// Discoveries lists a team's discoveries, oldest first.
func (s *Store) Discoveries(ctx context.Context, teamID int64) ([]Discovery, error) {
	out, err := queryAll(ctx, s.rdb, func(row scanner) (Discovery, error) {
		var d Discovery
		var at dbTime
		err := row.Scan(&d.ID, &d.TeamID, &d.Source, &d.SHA256, &d.Size, &d.UploadedBy, &at)
		d.UploadedAt = at.T
		return d, err
	}, `SELECT id, team_id, source, sha256, size, uploaded_by, uploaded_at FROM discoveries
		WHERE team_id = $1 ORDER BY id`, teamID)
	return out, s.wrap(err)
}

// DiscoveryReport returns a stored discovery's report, checked against its
// SHA-256, with the team it belongs to.
func (s *Store) DiscoveryReport(ctx context.Context, id int64) (teamID int64, report []byte, err error) {
	var want string
	err = s.rdb.QueryRowContext(ctx, `SELECT team_id, report, sha256 FROM discoveries WHERE id = $1`, id).Scan(&teamID, &report, &want)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, fmt.Errorf("store: discovery %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return 0, nil, s.wrap(err)
	}
	if sum := sha256.Sum256(report); hex.EncodeToString(sum[:]) != want {
		return 0, nil, fmt.Errorf("store: discovery %d: the stored report does not match its SHA-256 (changed in the database)", id)
	}
	return teamID, report, nil
}

// ModelOwners lists a model's owners as the newest discovery of each code
// base gives them, by code base, owner and asset.
func (s *Store) ModelOwners(ctx context.Context, modelID int64) ([]ModelOwner, error) {
	out, err := queryAll(ctx, s.rdb, func(row scanner) (ModelOwner, error) {
		var o ModelOwner
		return o, row.Scan(&o.ModelID, &o.Owner, &o.Via, &o.Asset, &o.DiscoveryID, &o.Source)
	}, `SELECT o.model_id, o.owner, o.via, o.asset, o.discovery_id, d.source
		FROM model_owners o JOIN discoveries d ON d.id = o.discovery_id JOIN models m ON m.id = o.model_id
		WHERE o.model_id = $1 AND d.id = (SELECT max(id) FROM discoveries n WHERE n.team_id = m.team_id AND n.source = d.source)
		ORDER BY d.source, o.owner, o.via, o.asset`, modelID)
	return out, s.wrap(err)
}
