package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/violet-mlsecops/violet/store"
)

// The JSON shapes of the API (openapi.json, components.schemas).
type (
	teamJSON struct {
		ID        int64     `json:"id"`
		Name      string    `json:"name"`
		CreatedAt time.Time `json:"created_at"`
	}
	userJSON struct {
		ID          int64  `json:"id"`
		Login       string `json:"login"`
		DisplayName string `json:"display_name,omitempty"`
		Team        string `json:"team,omitempty"`
		Role        string `json:"role,omitempty"`
	}
	tokenJSON struct {
		ID        int64     `json:"id"`
		Name      string    `json:"name"`
		Team      string    `json:"team"`
		Role      string    `json:"role"`
		ExpiresAt time.Time `json:"expires_at"`
		Secret    string    `json:"secret"`
	}
	modelJSON struct {
		ID         int64     `json:"id"`
		Name       string    `json:"name"`
		SourceKind string    `json:"source_kind"`
		SourceRef  string    `json:"source_ref"`
		CreatedAt  time.Time `json:"created_at"`
	}
	fileJSON struct {
		Path   string `json:"path"`
		SHA256 string `json:"sha256"`
		Size   int64  `json:"size"`
	}
	versionJSON struct {
		ID        int64      `json:"id"`
		Digest    string     `json:"digest"`
		Label     string     `json:"label"`
		CreatedAt time.Time  `json:"created_at"`
		Files     []fileJSON `json:"files,omitempty"`
	}
	evidenceJSON struct {
		ID         int64     `json:"id"`
		Kind       string    `json:"kind"`
		SHA256     string    `json:"sha256"`
		Size       int64     `json:"size"`
		UploadedBy string    `json:"uploaded_by"`
		UploadedAt time.Time `json:"uploaded_at"`
		Findings   *int      `json:"findings,omitempty"`
	}
	stateJSON struct {
		State     string     `json:"state"`
		Reason    string     `json:"reason,omitempty"`
		ExpiresAt *time.Time `json:"expires_at,omitempty"`
		SetBy     string     `json:"set_by,omitempty"`
		SetAt     *time.Time `json:"set_at,omitempty"`
	}
	findingJSON struct {
		ID          int64      `json:"id"`
		Rule        string     `json:"rule"`
		Severity    string     `json:"severity"`
		FileSHA256  string     `json:"file_sha256"`
		Location    string     `json:"location"`
		Message     string     `json:"message"`
		FirstSeenAt time.Time  `json:"first_seen_at"`
		State       string     `json:"state"`
		Expired     bool       `json:"expired,omitempty"`
		Last        *stateJSON `json:"last,omitempty"`
	}
)

func toTeam(t store.Team) teamJSON { return teamJSON{t.ID, t.Name, t.CreatedAt} }

func toModel(m store.Model) modelJSON {
	return modelJSON{m.ID, m.Name, m.SourceKind, m.SourceRef, m.CreatedAt}
}

func toVersion(v store.Version, files []store.File) versionJSON {
	out := versionJSON{ID: v.ID, Digest: v.Digest, Label: v.Label, CreatedAt: v.CreatedAt}
	for _, f := range files {
		out.Files = append(out.Files, fileJSON(f))
	}
	return out
}

func toEvidence(e store.Evidence) evidenceJSON {
	return evidenceJSON{ID: e.ID, Kind: e.Kind, SHA256: e.SHA256, Size: e.Size, UploadedBy: e.UploadedBy, UploadedAt: e.UploadedAt}
}

func toState(st store.FindingState) stateJSON {
	out := stateJSON{State: st.State, Reason: st.Reason, SetBy: st.SetBy}
	if !st.ExpiresAt.IsZero() {
		out.ExpiresAt = &st.ExpiresAt
	}
	if !st.SetAt.IsZero() {
		out.SetAt = &st.SetAt
	}
	return out
}

func toFinding(f store.Finding) findingJSON {
	out := findingJSON{ID: f.ID, Rule: f.Rule, Severity: f.Severity.String(), FileSHA256: f.FileSHA256,
		Location: f.Location, Message: f.Message, FirstSeenAt: f.FirstSeenAt, State: f.State, Expired: f.Expired}
	if f.Last != nil {
		st := toState(*f.Last)
		out.Last = &st
	}
	return out
}

// decode reads a JSON request body of at most maxJSONBody bytes into v,
// refusing unknown fields and trailing data.
func decode(c *call, v any) error {
	body := http.MaxBytesReader(c.w, c.r.Body, maxJSONBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return fail(http.StatusBadRequest, "invalid_json", "the body is not the JSON this operation takes: %v", err)
	}
	if dec.More() {
		return fail(http.StatusBadRequest, "invalid_json", "the body holds more than one JSON value")
	}
	return nil
}

// Paging.
const (
	defaultLimit = 100
	maxLimit     = 500
)

// pageJSON is a page of a list.
type pageJSON[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// pageQuery parses the request's query and its ?limit= (1 to maxLimit,
// default defaultLimit).
func pageQuery(c *call) (url.Values, int, error) {
	q, err := url.ParseQuery(c.r.URL.RawQuery)
	if err != nil {
		return nil, 0, fail(http.StatusBadRequest, "invalid_parameter", "the query does not parse: %v", err)
	}
	limit := defaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return nil, 0, fail(http.StatusBadRequest, "invalid_parameter", "limit %q: want 1 to %d", clipText(v), maxLimit)
		}
		limit = n
	}
	return q, limit, nil
}

// paginate writes the page of items that ?limit= and ?cursor= ask for. The
// cursor is opaque to the client: the offset of the next item.
func paginate[S any, T any](c *call, items []S, conv func(S) T) error {
	q, limit, err := pageQuery(c)
	if err != nil {
		return err
	}
	start := 0
	if v := q.Get("cursor"); v != "" {
		raw, err := base64.RawURLEncoding.DecodeString(v)
		n, perr := strconv.Atoi(strings.TrimPrefix(string(raw), "o:"))
		if err != nil || perr != nil || !strings.HasPrefix(string(raw), "o:") || n < 0 {
			return fail(http.StatusBadRequest, "invalid_parameter", "cursor %q: not a cursor this server gave", clipText(v))
		}
		start = min(n, len(items))
	}
	end := min(start+limit, len(items))
	page := pageJSON[T]{Items: make([]T, 0, end-start)}
	for _, x := range items[start:end] {
		page.Items = append(page.Items, conv(x))
	}
	if end < len(items) {
		page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(end)))
	}
	writeJSON(c.w, http.StatusOK, page)
	return nil
}

// clipText shortens a value for an error message.
func clipText(v string) string {
	if len(v) > 64 {
		return v[:64] + "..."
	}
	return v
}

// modelName is the form of a model's name: it is a path segment of the
// API and the default is a folder's name, so no slash, no "..", no
// leading dot.
var modelName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$`)

func checkModelName(name string) error {
	if !modelName.MatchString(name) || strings.Contains(name, "..") {
		return fail(http.StatusUnprocessableEntity, "invalid",
			"model name %q: want letters, digits, '.', '_', '+' or '-', starting with a letter or digit, at most 128 bytes, without '..'", clipText(name))
	}
	return nil
}

// team returns the team named name, or 404.
func (s *Server) team(c *call, name string) (store.Team, error) {
	teams, err := s.st.Teams(c.ctx)
	if err != nil {
		return store.Team{}, err
	}
	for _, t := range teams {
		if t.Name == name {
			return t, nil
		}
	}
	return store.Team{}, fail(http.StatusNotFound, "not_found", "team %q: not found", clipText(name))
}

// model returns the model of the request's {model} in the token's team. A
// model of another team is not found (404), never forbidden: its existence
// is not told.
func (s *Server) model(c *call) (store.Model, error) {
	name := c.r.PathValue("model")
	models, err := s.st.Models(c.ctx, c.token.TeamID)
	if err != nil {
		return store.Model{}, err
	}
	for _, m := range models {
		if m.Name == name {
			return m, nil
		}
	}
	return store.Model{}, fail(http.StatusNotFound, "not_found", "model %q: not found", clipText(name))
}

// version returns the model and version of the request's {model} and
// {digest}.
func (s *Server) version(c *call) (store.Model, store.Version, error) {
	m, err := s.model(c)
	if err != nil {
		return store.Model{}, store.Version{}, err
	}
	digest := c.r.PathValue("digest")
	versions, err := s.st.Versions(c.ctx, m.ID)
	if err != nil {
		return store.Model{}, store.Version{}, err
	}
	for _, v := range versions {
		if v.Digest == digest {
			return m, v, nil
		}
	}
	return store.Model{}, store.Version{}, fail(http.StatusNotFound, "not_found", "version %q of model %q: not found", clipText(digest), m.Name)
}

// AdminTeam is the built-in team that violet serve creates on its first
// start. A token with role admin in it administers the whole server: it
// lists and creates teams, creates users, and adds members to and creates
// tokens for any team. A token with role admin in another team administers
// that team only: its members and its tokens.
const AdminTeam = "admin"

// administers reports whether a token with role in the team named team may
// administer target: a team's name, or "" for the whole server (teams and
// users). It is the one rule of account administration.
func administers(role store.Role, team, target string) bool {
	if !role.May(store.PermAdmin) {
		return false
	}
	return team == AdminTeam || (target != "" && target == team)
}

// adminOf checks that the token may administer target (a team's name, or
// "" for the whole server) and returns that team (the token's own for "").
// A refusal is 403 forbidden whether or not target exists, so that a team's
// admin learns nothing of the other teams; a missing team is 404 only for
// the server's admins.
func (s *Server) adminOf(c *call, target string) (store.Team, error) {
	teams, err := s.st.Teams(c.ctx)
	if err != nil {
		return store.Team{}, err
	}
	i := slices.IndexFunc(teams, func(t store.Team) bool { return t.ID == c.token.TeamID })
	if i < 0 {
		return store.Team{}, fmt.Errorf("server: the team %d of token %d is not in the store", c.token.TeamID, c.token.ID)
	}
	own := teams[i]
	if !administers(c.token.Role, own.Name, target) {
		if target == "" {
			return store.Team{}, fail(http.StatusForbidden, "forbidden",
				"only an admin of team %s administers the server (teams, users); this token is %s of team %s", AdminTeam, c.token.Role, own.Name)
		}
		return store.Team{}, fail(http.StatusForbidden, "forbidden",
			"an admin of team %s administers that team only (its members and tokens), not team %q", own.Name, clipText(target))
	}
	if target == "" || target == own.Name {
		return own, nil
	}
	return s.team(c, target)
}

func (s *Server) listTeams(c *call) error {
	if _, err := s.adminOf(c, ""); err != nil {
		return err
	}
	teams, err := s.st.Teams(c.ctx)
	if err != nil {
		return err
	}
	return paginate(c, teams, toTeam)
}

func (s *Server) createTeam(c *call) error {
	if _, err := s.adminOf(c, ""); err != nil {
		return err
	}
	var in struct {
		Name string `json:"name"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	t, err := s.st.CreateTeam(c.ctx, c.actor, in.Name)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, toTeam(t))
	return nil
}

func (s *Server) createUser(c *call) error {
	if _, err := s.adminOf(c, ""); err != nil {
		return err
	}
	var in struct {
		Login       string `json:"login"`
		DisplayName string `json:"display_name"`
		Team        string `json:"team"`
		Role        string `json:"role"`
		Password    string `json:"password"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	t, err := s.team(c, in.Team)
	if err != nil {
		return err
	}
	if !isRole(in.Role) {
		return fail(http.StatusUnprocessableEntity, "invalid", "role %q: unknown", clipText(in.Role))
	}
	hash := ""
	if in.Password != "" {
		if n := utf8.RuneCountInString(in.Password); n < 12 || len(in.Password) > 1024 {
			return fail(http.StatusUnprocessableEntity, "invalid", "password: 12 characters at least, 1024 bytes at most")
		}
		var err error
		if hash, err = store.HashPassword(in.Password); err != nil {
			return err
		}
	}
	u, err := s.st.CreateUser(c.ctx, c.actor, in.Login, in.DisplayName, hash)
	if err != nil {
		return err
	}
	if err := s.st.AddMember(c.ctx, c.actor, store.Membership{TeamID: t.ID, UserID: u.ID, Role: store.Role(in.Role)}); err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, userJSON{ID: u.ID, Login: u.Login, DisplayName: u.DisplayName, Team: t.Name, Role: in.Role})
	return nil
}

func isRole(r string) bool {
	for _, x := range store.Roles() {
		if string(x) == r {
			return true
		}
	}
	return false
}

func (s *Server) addMember(c *call) error {
	var in struct {
		Login string `json:"login"`
		Role  string `json:"role"`
	}
	t, err := s.adminOf(c, c.r.PathValue("team"))
	if err != nil {
		return err
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	u, err := s.st.UserByLogin(c.ctx, in.Login)
	if err != nil {
		return err
	}
	if err := s.st.AddMember(c.ctx, c.actor, store.Membership{TeamID: t.ID, UserID: u.ID, Role: store.Role(in.Role)}); err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, userJSON{ID: u.ID, Login: u.Login, DisplayName: u.DisplayName, Team: t.Name, Role: in.Role})
	return nil
}

// defaultTokenDays is the validity of a token when the request names none.
const defaultTokenDays = 90

func (s *Server) createToken(c *call) error {
	var in struct {
		Login         string `json:"login"`
		Team          string `json:"team"`
		Role          string `json:"role"`
		Name          string `json:"name"`
		ExpiresInDays int    `json:"expires_in_days"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	t, err := s.adminOf(c, in.Team)
	if err != nil {
		return err
	}
	if in.ExpiresInDays == 0 {
		in.ExpiresInDays = defaultTokenDays
	}
	if in.ExpiresInDays < 1 || in.ExpiresInDays > 366 {
		return fail(http.StatusUnprocessableEntity, "invalid", "expires_in_days %d: want 1 to 366", in.ExpiresInDays)
	}
	u, err := s.st.UserByLogin(c.ctx, in.Login)
	if err != nil {
		return err
	}
	secret, tok, err := s.st.CreateToken(c.ctx, c.actor, store.TokenSpec{Name: in.Name, UserID: u.ID, TeamID: t.ID,
		Role: store.Role(in.Role), ExpiresAt: time.Now().Add(time.Duration(in.ExpiresInDays) * 24 * time.Hour)})
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, tokenJSON{ID: tok.ID, Name: tok.Name, Team: t.Name, Role: string(tok.Role),
		ExpiresAt: tok.ExpiresAt, Secret: secret})
	return nil
}

func (s *Server) listModels(c *call) error {
	models, err := s.st.Models(c.ctx, c.token.TeamID)
	if err != nil {
		return err
	}
	return paginate(c, models, toModel)
}

func (s *Server) createModel(c *call) error {
	var in struct {
		Name       string `json:"name"`
		SourceKind string `json:"source_kind"`
		SourceRef  string `json:"source_ref"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	if err := checkModelName(in.Name); err != nil {
		return err
	}
	m, err := s.st.CreateModel(c.ctx, c.actor, store.Model{TeamID: c.token.TeamID, Name: in.Name,
		SourceKind: in.SourceKind, SourceRef: in.SourceRef})
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, toModel(m))
	return nil
}

func (s *Server) getModel(c *call) error {
	m, err := s.model(c)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, toModel(m))
	return nil
}

func (s *Server) listVersions(c *call) error {
	m, err := s.model(c)
	if err != nil {
		return err
	}
	versions, err := s.st.Versions(c.ctx, m.ID)
	if err != nil {
		return err
	}
	return paginate(c, versions, func(v store.Version) versionJSON { return toVersion(v, nil) })
}

// maxVersionBody bounds the body of a version: its file list.
const maxVersionBody = 64 << 20

func (s *Server) putVersion(c *call) error {
	m, err := s.model(c)
	if err != nil {
		return err
	}
	var in struct {
		Label string     `json:"label"`
		Files []fileJSON `json:"files"`
	}
	c.r.Body = http.MaxBytesReader(c.w, c.r.Body, maxVersionBody)
	dec := json.NewDecoder(c.r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return fail(http.StatusBadRequest, "invalid_json", "the body is not a version: %v", err)
	}
	files := make([]store.File, len(in.Files))
	for i, f := range in.Files {
		files[i] = store.File(f)
	}
	digest := c.r.PathValue("digest")
	if err := checkVersionDigest(digest, files); err != nil {
		return err
	}
	v, created, err := s.st.PutVersion(c.ctx, c.actor, m.ID, digest, in.Label, files)
	if err != nil {
		return err
	}
	stored, err := s.st.VersionFiles(c.ctx, v.ID)
	if err != nil {
		return err
	}
	writeJSON(c.w, statusOf(created), toVersion(v, stored))
	return nil
}

// statusOf is 201 for a record created, 200 for one that was there.
func statusOf(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

func (s *Server) listEvidence(c *call) error {
	_, v, err := s.version(c)
	if err != nil {
		return err
	}
	list, err := s.st.ListEvidence(c.ctx, v.ID, "")
	if err != nil {
		return err
	}
	return paginate(c, list, toEvidence)
}

// readReport reads a report body of at most store.MaxEvidenceSize bytes:
// a larger declared length is refused before reading, a longer body
// while reading.
func readReport(c *call, limit int64) ([]byte, error) {
	if c.r.ContentLength > limit {
		return nil, fail(http.StatusRequestEntityTooLarge, "too_large", "the body is %d bytes, more than %d", c.r.ContentLength, limit)
	}
	return io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, limit))
}

func (s *Server) addEvidence(c *call) error {
	kind := c.r.URL.Query().Get("kind")
	if !isEvidenceKind(kind) {
		return fail(http.StatusBadRequest, "invalid_parameter", "kind %q: want one of %s", clipText(kind), strings.Join(store.EvidenceKinds(), ", "))
	}
	_, v, err := s.version(c)
	if err != nil {
		return err
	}
	report, err := readReport(c, store.MaxEvidenceSize)
	if err != nil {
		return err
	}
	e, created, findings, err := s.storeEvidence(c, v, kind, report)
	if err != nil {
		return err
	}
	out := toEvidence(e)
	if kind == store.EvidenceScan {
		out.Findings = &findings
	}
	writeJSON(c.w, statusOf(created), out)
	return nil
}

func isEvidenceKind(k string) bool {
	for _, x := range store.EvidenceKinds() {
		if x == k {
			return true
		}
	}
	return false
}

// storeEvidence checks a report against the version's files (scan and
// bom), stores it and records a scan's findings. Storing the same report
// again records its findings again, which is a no-op unless an earlier try
// stopped between the two.
func (s *Server) storeEvidence(c *call, v store.Version, kind string, report []byte) (store.Evidence, bool, int, error) {
	if !json.Valid(report) {
		return store.Evidence{}, false, 0, fail(http.StatusBadRequest, "invalid_json", "the report is not JSON")
	}
	files, err := s.st.VersionFiles(c.ctx, v.ID)
	if err != nil {
		return store.Evidence{}, false, 0, err
	}
	// A report and what the inventory draws from it (a scan's findings, a
	// BOM's lineage, a deps report's packages) are stored in one
	// transaction: no crash can leave the report without its findings (a
	// version that would look clean).
	var e store.Evidence
	var created bool
	findings := 0
	switch kind {
	case store.EvidenceScan:
		in, scanner, berr := bindScan(report, files)
		if berr != nil {
			return store.Evidence{}, false, 0, berr
		}
		findings = len(in)
		e, created, err = s.st.AddScanEvidence(c.ctx, c.actor, v.ID, report, scanner, in)
	case store.EvidenceBOM:
		lineage, berr := BindBOM(report, files)
		if berr != nil {
			return store.Evidence{}, false, 0, berr
		}
		e, created, err = s.st.AddBOMEvidence(c.ctx, c.actor, v.ID, report, lineage)
	case store.EvidenceDeps:
		pkgs, berr := bindDeps(report, files)
		if berr != nil {
			return store.Evidence{}, false, 0, berr
		}
		e, created, err = s.st.AddDepsEvidence(c.ctx, c.actor, v.ID, report, pkgs)
	case store.EvidenceVerify:
		signers, berr := BindVerify(report, files)
		if berr != nil {
			return store.Evidence{}, false, 0, berr
		}
		e, created, err = s.st.AddVerifyEvidence(c.ctx, c.actor, v.ID, report, signers)
	default:
		e, created, err = s.st.AddEvidence(c.ctx, c.actor, v.ID, kind, report)
	}
	if err != nil {
		return store.Evidence{}, false, 0, err
	}
	return e, created, findings, nil
}

func (s *Server) listFindings(c *call) error {
	_, v, err := s.version(c)
	if err != nil {
		return err
	}
	list, err := s.st.VersionFindings(c.ctx, v.ID)
	if err != nil {
		return err
	}
	return paginate(c, list, toFinding)
}

// finding returns the request's {finding}, which must have been seen in
// the request's version (of the token's team).
func (s *Server) finding(c *call) (store.Finding, error) {
	_, v, err := s.version(c)
	if err != nil {
		return store.Finding{}, err
	}
	raw := c.r.PathValue("finding")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return store.Finding{}, fail(http.StatusNotFound, "not_found", "finding %q: not found", clipText(raw))
	}
	list, err := s.st.VersionFindings(c.ctx, v.ID)
	if err != nil {
		return store.Finding{}, err
	}
	for _, f := range list {
		if f.ID == id {
			return f, nil
		}
	}
	return store.Finding{}, fail(http.StatusNotFound, "not_found", "finding %d: not found in this version", id)
}

func (s *Server) findingHistory(c *call) error {
	f, err := s.finding(c)
	if err != nil {
		return err
	}
	hist, err := s.st.FindingHistory(c.ctx, f.ID)
	if err != nil {
		return err
	}
	out := struct {
		Items []stateJSON `json:"items"`
	}{Items: []stateJSON{}}
	for _, st := range hist {
		out.Items = append(out.Items, toState(st))
	}
	writeJSON(c.w, http.StatusOK, out)
	return nil
}

func (s *Server) setFindingState(c *call) error {
	var in struct {
		State     string     `json:"state"`
		Reason    string     `json:"reason"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	f, err := s.finding(c)
	if err != nil {
		return err
	}
	change := store.FindingState{State: in.State, Reason: in.Reason}
	if in.ExpiresAt != nil {
		change.ExpiresAt = *in.ExpiresAt
	}
	st, err := s.st.SetFindingState(c.ctx, c.actor, f.ID, change)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, toState(st))
	return nil
}

// maxBOMBody bounds PUT /api/v1/bom: a report of store.MaxEvidenceSize in
// base64, and the envelope.
const maxBOMBody = store.MaxEvidenceSize/3*4 + 64<<10

// putBOM takes a BOM as Dependency-Track's PUT /api/v1/bom does
// (projectName, projectVersion, bom: base64 or the JSON itself), creates
// the model (in the token's team) and the version (its files from the
// BOM, its digest computed from them) when needed, and stores the BOM as
// evidence.
func (s *Server) putBOM(c *call) error {
	body, err := readReport(c, maxBOMBody)
	if err != nil {
		return err
	}
	var in struct {
		ProjectName    string          `json:"projectName"`
		ProjectVersion string          `json:"projectVersion"`
		AutoCreate     *bool           `json:"autoCreate"`
		BOM            json.RawMessage `json:"bom"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return fail(http.StatusBadRequest, "invalid_json", "the body is not a BOM upload: %v", err)
	}
	if err := checkModelName(in.ProjectName); err != nil {
		return err
	}
	bom := []byte(in.BOM)
	var text string
	if json.Unmarshal(in.BOM, &text) == nil {
		if bom, err = base64.StdEncoding.DecodeString(text); err != nil {
			return fail(http.StatusBadRequest, "invalid_bom", "bom: neither a JSON object nor base64: %v", err)
		}
	}
	if len(bom) > store.MaxEvidenceSize {
		return fail(http.StatusRequestEntityTooLarge, "too_large", "the BOM is %d bytes, more than %d", len(bom), store.MaxEvidenceSize)
	}
	if len(bom) == 0 || bom[0] != '{' || !json.Valid(bom) {
		return fail(http.StatusBadRequest, "invalid_bom", "bom: not a CycloneDX or SPDX 3 JSON document (compressed or other formats are not taken)")
	}
	content, err := readBOM(bom)
	if err != nil {
		return err
	}
	files := content.Files
	if len(files) == 0 {
		return fail(http.StatusUnprocessableEntity, "evidence_mismatch", "the BOM lists no file with its SHA-256: no version can be bound to it (write it with violet bom)")
	}
	digest := RootDigest(files)
	if strings.HasPrefix(in.ProjectVersion, "sha256:") && in.ProjectVersion != digest {
		return fail(http.StatusUnprocessableEntity, "digest_mismatch", "projectVersion %s is not the digest of the BOM's files, %s", clipText(in.ProjectVersion), digest)
	}
	m, err := s.modelByName(c, in.ProjectName, in.AutoCreate == nil || *in.AutoCreate)
	if err != nil {
		return err
	}
	label := in.ProjectVersion
	if label == digest {
		label = ""
	}
	v, err := s.putBOMVersion(c, m, digest, label, files)
	if err != nil {
		return err
	}
	e, created, _, err := s.storeEvidence(c, v, store.EvidenceBOM, bom)
	if err != nil {
		return err
	}
	writeJSON(c.w, statusOf(created), struct {
		Token    string       `json:"token"`
		Model    modelJSON    `json:"model"`
		Version  versionJSON  `json:"version"`
		Evidence evidenceJSON `json:"evidence"`
	}{strconv.FormatInt(e.ID, 10), toModel(m), toVersion(v, nil), toEvidence(e)})
	return nil
}

// modelByName returns the token's team's model named name, created (source
// path, the name) when missing and create is set.
func (s *Server) modelByName(c *call, name string, create bool) (store.Model, error) {
	models, err := s.st.Models(c.ctx, c.token.TeamID)
	if err != nil {
		return store.Model{}, err
	}
	for _, m := range models {
		if m.Name == name {
			return m, nil
		}
	}
	if !create {
		return store.Model{}, fail(http.StatusNotFound, "not_found", "model %q: not found (autoCreate is false)", name)
	}
	m, err := s.st.CreateModel(c.ctx, c.actor, store.Model{TeamID: c.token.TeamID, Name: name,
		SourceKind: store.SourcePath, SourceRef: name})
	if errors.Is(err, store.ErrExists) {
		return s.modelByName(c, name, false)
	}
	return m, err
}

// putBOMVersion returns the model's version of digest, recorded with the
// BOM's files when new. A version already recorded is taken as it is: the
// BOM's files gave its digest, so they are its files (a BOM may lack the
// sizes).
func (s *Server) putBOMVersion(c *call, m store.Model, digest, label string, files []store.File) (store.Version, error) {
	versions, err := s.st.Versions(c.ctx, m.ID)
	if err != nil {
		return store.Version{}, err
	}
	for _, v := range versions {
		if v.Digest == digest {
			return v, nil
		}
	}
	v, _, err := s.st.PutVersion(c.ctx, c.actor, m.ID, digest, label, files)
	return v, err
}
