package server

import (
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/violet-mlsecops/violet/source"
	"github.com/violet-mlsecops/violet/store"
)

// BindScanReport checks a scan report (report.Report JSON, one target)
// against a version's files and returns its findings as the store records
// them and the scanner's version: what an upload of the report would
// record. The scan jobs (package jobs) store their reports through it.
func BindScanReport(data []byte, files []store.File) ([]store.FindingInput, string, error) {
	return bindScan(data, files)
}

// BindBOM checks an ML-BOM (CycloneDX or SPDX 3 JSON) against a version's
// files and returns the lineage it gives: what an upload of the BOM would
// record. The BOM jobs (package jobs) store their BOMs through it.
func BindBOM(data []byte, files []store.File) ([]store.LineageLink, error) {
	bom, err := readBOM(data)
	if err != nil {
		return nil, err
	}
	// A single-file model's one file is "." in the version.
	if len(files) == 1 && files[0].Path == "." && len(bom.Files) == 1 {
		bom.Files[0].Path = "."
	}
	if err := bindFiles("the BOM", bom.Files, files); err != nil {
		return nil, err
	}
	return bom.Lineage, nil
}

// scanRequestJSON is a scan request in the API (openapi.json ScanRequest).
type scanRequestJSON struct {
	ID          int64      `json:"id"`
	Model       string     `json:"model"`
	Kind        string     `json:"kind"`
	Location    string     `json:"location"`
	Status      string     `json:"status"`
	Job         int64      `json:"job"`
	Version     *int64     `json:"version,omitempty"`
	Evidence    *int64     `json:"evidence,omitempty"`
	Scanner     string     `json:"scanner,omitempty"`
	Policy      string     `json:"policy,omitempty"`
	Error       string     `json:"error,omitempty"`
	RequestedBy string     `json:"requested_by"`
	RequestedAt time.Time  `json:"requested_at"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
}

func toScanRequest(m store.Model, r store.ScanRequest) scanRequestJSON {
	out := scanRequestJSON{ID: r.ID, Model: m.Name, Kind: r.Kind, Location: r.Location, Status: r.Status, Job: r.JobID,
		Scanner: r.Scanner, Policy: r.Policy, Error: r.Error, RequestedBy: r.RequestedBy, RequestedAt: r.RequestedAt}
	if r.VersionID != 0 {
		out.Version = &r.VersionID
	}
	if r.EvidenceID != 0 {
		out.Evidence = &r.EvidenceID
	}
	if !r.FinishedAt.IsZero() {
		out.FinishedAt = &r.FinishedAt
	}
	return out
}

// maxLocation bounds a scan request's location.
const maxLocation = 2048

// requestKinds are the kinds of job POST .../scans queues: a rescan is
// violet rescan's (POST .../scans with kind scan and a version is one).
var requestKinds = []string{store.ScanKindScan, store.ScanKindVerify, store.ScanKindBOM}

// requestScan records a scan, verify or BOM job of the model at a location,
// or of a stored version (fetched again from the location its last scan
// pinned), and enqueues its job in the same transaction (202: a worker
// carries it out).
func (s *Server) requestScan(c *call) error {
	if s.enqueue == nil {
		return fail(http.StatusServiceUnavailable, "jobs_disabled", "this server queues no jobs")
	}
	m, err := s.model(c)
	if err != nil {
		return err
	}
	var in struct {
		Location string `json:"location"`
		Kind     string `json:"kind"`
		Version  string `json:"version"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	if in.Kind == "" {
		in.Kind = store.ScanKindScan
	}
	if !slices.Contains(requestKinds, in.Kind) {
		return fail(http.StatusUnprocessableEntity, "invalid", "kind %q: want one of %s", clipText(in.Kind), strings.Join(requestKinds, ", "))
	}
	var versionID int64
	if in.Version != "" {
		if versionID, in.Location, err = s.requestVersion(c, m, in.Version, in.Location); err != nil {
			return err
		}
		if in.Kind == store.ScanKindScan {
			in.Kind = store.ScanKindRescan
		}
	}
	if in.Location == "" || len(in.Location) > maxLocation || strings.TrimSpace(in.Location) != in.Location {
		return fail(http.StatusUnprocessableEntity, "invalid", "location: want 1 to %d bytes without surrounding spaces", maxLocation)
	}
	if err := checkLocation(in.Location, s.scanRoots, s.scanRegistries); err != nil {
		return fail(http.StatusUnprocessableEntity, "location_not_allowed", "%v", err)
	}
	r, err := s.st.RequestScan(c.ctx, c.actor, m.ID, versionID, in.Kind, in.Location, s.enqueue)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusAccepted, toScanRequest(m, r))
	return nil
}

// requestVersion returns the version of m with digest and the location to
// fetch it from: location when given, else the one its last scan job
// pinned. A version no scan job fetched has none: 422.
func (s *Server) requestVersion(c *call, m store.Model, digest, location string) (int64, string, error) {
	versions, err := s.st.Versions(c.ctx, m.ID)
	if err != nil {
		return 0, "", err
	}
	i := slices.IndexFunc(versions, func(v store.Version) bool { return v.Digest == digest })
	if i < 0 {
		return 0, "", fail(http.StatusNotFound, "not_found", "version %q of model %q: not found", clipText(digest), m.Name)
	}
	if location != "" {
		return versions[i].ID, location, nil
	}
	targets, err := s.st.RescanTargets(c.ctx, m.ID)
	if err != nil {
		return 0, "", err
	}
	for _, t := range targets {
		if t.VersionID == versions[i].ID {
			return t.VersionID, t.Location, nil
		}
	}
	return 0, "", fail(http.StatusUnprocessableEntity, "no_location", "version %q: no scan job fetched it: give its location", clipText(digest))
}

// listScans lists the model's scan requests, newest first.
func (s *Server) listScans(c *call) error {
	m, err := s.model(c)
	if err != nil {
		return err
	}
	rs, err := s.st.ScanRequests(c.ctx, m.ID)
	if err != nil {
		return err
	}
	return paginate(c, rs, func(r store.ScanRequest) scanRequestJSON { return toScanRequest(m, r) })
}

// getScan returns one scan request of the model: its status, and once
// done the evidence it stored.
func (s *Server) getScan(c *call) error {
	m, err := s.model(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "scan")
	if err != nil {
		return err
	}
	r, err := s.st.ScanRequest(c.ctx, id)
	if err != nil || r.ModelID != m.ID {
		return fail(http.StatusNotFound, "not_found", "scan %d: not found", id)
	}
	writeJSON(c.w, http.StatusOK, toScanRequest(m, r))
	return nil
}

// checkLocation says whether a scan request may name location: an hf://
// or s3:// location (read from the endpoints the worker is configured
// with), an oci:// location on one of registries, or a clean absolute path
// in or under one of roots. Anything else would let an API user point a
// worker at files or hosts the operator did not choose.
func checkLocation(location string, roots, registries []string) error {
	switch {
	case strings.HasPrefix(location, source.SchemeHF), strings.HasPrefix(location, source.SchemeS3):
		return nil
	case strings.HasPrefix(location, source.SchemeOCI):
		host, _, _ := strings.Cut(strings.TrimPrefix(location, source.SchemeOCI), "/")
		if slices.Contains(registries, strings.ToLower(host)) {
			return nil
		}
		return fmt.Errorf("registry %q: not one the server scans from (violet serve --scan-registry)", clipText(host))
	case source.IsRemote(location) || strings.Contains(location, "://"):
		return fmt.Errorf("location %q: not a scheme the server scans from (hf://, s3://, oci://)", clipText(location))
	}
	if !filepath.IsAbs(location) || filepath.Clean(location) != location {
		return fmt.Errorf("location %q: a local path must be absolute and clean", clipText(location))
	}
	for _, root := range roots {
		if rel, err := filepath.Rel(root, location); err == nil && filepath.IsLocal(rel) || location == root {
			return nil
		}
	}
	return fmt.Errorf("path %q: not under a folder the server scans (violet serve --scan-root)", clipText(location))
}
