package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/violet-mlsecops/violet/release"
	"github.com/violet-mlsecops/violet/store"
)

// The JSON shapes of releases (openapi.json).
type (
	releaseJSON struct {
		ID          int64          `json:"id"`
		Model       string         `json:"model"`
		Digest      string         `json:"digest"`
		Title       string         `json:"title"`
		Tier        string         `json:"tier"`
		ThirdParty  bool           `json:"third_party"`
		Required    []string       `json:"required_roles"`
		RequestedBy string         `json:"requested_by"`
		RequestedAt time.Time      `json:"requested_at"`
		Status      release.Status `json:"status"`
	}
	releaseDetailJSON struct {
		releaseJSON
		Decisions []release.Decision `json:"decisions"`
	}
)

// releaseRecord is a stored release with its decisions as package release
// judges them.
func releaseRecord(team string, r store.Release, ds []store.ReleaseDecision) release.Record {
	rec := release.Record{ID: r.ID, Team: team, Model: r.Model, Digest: r.Digest, Title: r.Title, Tier: r.Tier,
		ThirdParty: r.ThirdParty, RequestedBy: r.RequestedBy, RequestedAt: r.RequestedAt, Required: r.Required,
		Decisions: []release.Decision{}}
	for _, d := range ds {
		rec.Decisions = append(rec.Decisions, release.Decision{Release: r.ID, Model: r.Model, Digest: d.Digest,
			Role: d.Role, Decision: d.Decision, Reason: d.Reason, By: d.DecidedBy, At: d.DecidedAt,
			Signature: json.RawMessage(d.Signature)})
	}
	return rec
}

func toRelease(rec release.Record) releaseJSON {
	return releaseJSON{ID: rec.ID, Model: rec.Model, Digest: rec.Digest, Title: rec.Title, Tier: rec.Tier,
		ThirdParty: rec.ThirdParty, Required: rec.Required, RequestedBy: rec.RequestedBy, RequestedAt: rec.RequestedAt,
		Status: release.Judge(rec.Required, rec.Digest, rec.Decisions)}
}

// record loads a release of the token's team with its decisions; another
// team's release is 404.
func (s *Server) record(c *call, id int64) (release.Record, error) {
	r, err := s.st.Release(c.ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && r.TeamID != c.token.TeamID {
		return release.Record{}, fail(http.StatusNotFound, "not_found", "release %d: not found", id)
	}
	if err != nil {
		return release.Record{}, err
	}
	ds, err := s.st.ReleaseDecisions(c.ctx, r.ID)
	if err != nil {
		return release.Record{}, err
	}
	team, err := s.teamName(c, r.TeamID)
	if err != nil {
		return release.Record{}, err
	}
	return releaseRecord(team, r, ds), nil
}

// teamName is the name of the team id.
func (s *Server) teamName(c *call, id int64) (string, error) {
	teams, err := s.st.Teams(c.ctx)
	if err != nil {
		return "", err
	}
	for _, t := range teams {
		if t.ID == id {
			return t.Name, nil
		}
	}
	return "", errors.New("server: team not found")
}

// listReleases lists the team's release requests, newest first, each
// with where it stands; ?digest= keeps those of one version.
func (s *Server) listReleases(c *call) error {
	list, err := s.st.Releases(c.ctx, c.token.TeamID, c.r.URL.Query().Get("digest"))
	if err != nil {
		return err
	}
	out := make([]releaseJSON, 0, len(list))
	for _, r := range list {
		rec, err := s.record(c, r.ID)
		if err != nil {
			return err
		}
		out = append(out, toRelease(rec))
	}
	return paginate(c, out, func(r releaseJSON) releaseJSON { return r })
}

// createRelease requests the release of a version of the team's model:
// {"model","digest","title","tier","third_party"}. The roles that must
// approve come from the tier (release.DefaultSignoffs).
func (s *Server) createRelease(c *call) error {
	var in struct {
		Model      string `json:"model"`
		Digest     string `json:"digest"`
		Title      string `json:"title"`
		Tier       string `json:"tier"`
		ThirdParty bool   `json:"third_party"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	required, err := release.DefaultSignoffs.Required(in.Tier, in.ThirdParty)
	if err != nil {
		return fail(http.StatusUnprocessableEntity, "invalid", "%v", err)
	}
	m, err := s.modelByName(c, in.Model, false)
	if err != nil {
		return err
	}
	versions, err := s.st.Versions(c.ctx, m.ID)
	if err != nil {
		return err
	}
	for _, v := range versions {
		if v.Digest != in.Digest {
			continue
		}
		r, err := s.st.CreateRelease(c.ctx, c.actor, store.Release{VersionID: v.ID, Title: in.Title, Tier: in.Tier,
			ThirdParty: in.ThirdParty, Required: required})
		if err != nil {
			return err
		}
		rec, err := s.record(c, r.ID)
		if err != nil {
			return err
		}
		writeJSON(c.w, http.StatusCreated, toRelease(rec))
		return nil
	}
	return fail(http.StatusNotFound, "not_found", "version %q of model %q: not found", clipText(in.Digest), m.Name)
}

func (s *Server) getRelease(c *call) error {
	id, err := pathID(c, "release")
	if err != nil {
		return err
	}
	rec, err := s.record(c, id)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, releaseDetailJSON{toRelease(rec), rec.Decisions})
	return nil
}

// releaseRecordExport serves the record that `violet release verify`
// checks offline.
func (s *Server) releaseRecordExport(c *call) error {
	id, err := pathID(c, "release")
	if err != nil {
		return err
	}
	rec, err := s.record(c, id)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, rec)
	return nil
}

// decideRelease records the token's decision for its role:
// {"decision","reason","digest","signature"}. The digest is the version
// the decider looked at: a decision about another one is refused. A
// signature must sign exactly this decision (release.CheckSigned); its
// key is checked by whoever verifies the record.
func (s *Server) decideRelease(c *call) error {
	id, err := pathID(c, "release")
	if err != nil {
		return err
	}
	var in struct {
		Decision  string          `json:"decision"`
		Reason    string          `json:"reason"`
		Digest    string          `json:"digest"`
		Signature json.RawMessage `json:"signature"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	rec, err := s.record(c, id)
	if err != nil {
		return err
	}
	d := release.Decision{Release: rec.ID, Model: rec.Model, Digest: in.Digest, Role: string(c.token.Role),
		Decision: in.Decision, Reason: in.Reason}
	if len(in.Signature) > 0 && string(in.Signature) != "null" {
		if err := release.CheckSigned(d, in.Signature); err != nil {
			return fail(http.StatusUnprocessableEntity, "invalid_signature", "%v", err)
		}
	} else {
		in.Signature = nil
	}
	stored, err := s.st.DecideRelease(c.ctx, c.actor, c.token.UserID, store.ReleaseDecision{ReleaseID: rec.ID,
		Role: d.Role, Decision: d.Decision, Reason: d.Reason, Digest: d.Digest, Signature: in.Signature})
	if err != nil {
		return err
	}
	d.By, d.At, d.Signature = stored.DecidedBy, stored.DecidedAt, json.RawMessage(stored.Signature)
	writeJSON(c.w, http.StatusCreated, d)
	return nil
}
