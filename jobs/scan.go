package jobs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/scan"
	"github.com/violet-mlsecops/violet/server"
	"github.com/violet-mlsecops/violet/sign"
	"github.com/violet-mlsecops/violet/source"
	"github.com/violet-mlsecops/violet/store"
)

// ScanArgs is a scan or rescan job: it carries out scan request Request
// (store.ScanRequest), which holds the model, the location and, for a
// rescan, the version.
type ScanArgs struct {
	Request int64 `json:"request"`
}

// Kind implements river.JobArgs.
func (ScanArgs) Kind() string { return "violet.scan" }

// InsertOpts puts scan jobs on QueueScan.
func (ScanArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueScan} }

// Fetcher brings the model at location into dir, a private folder of the
// job that is removed after it, and returns the path to scan (a folder or
// a file) and the pinned location (the one a rescan fetches again). An
// error wrapped with Permanent is not retried.
type Fetcher func(ctx context.Context, location, dir string) (target, pinned string, err error)

// permanent marks an error that a retry cannot cure.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// Permanent marks err as one that a retry cannot cure: the job records an
// incomplete result at once.
func Permanent(err error) error { return permanent{err} }

// FetchSource is the Fetcher of package source: a local path, s3://,
// oci:// or hf:// location is opened (a remote revision or tag resolved
// and pinned) and its files copied into dir/model within opts.Limits. A
// location of a scheme Violet does not read is a permanent error.
func FetchSource(opts source.Options) Fetcher {
	return func(ctx context.Context, location, dir string) (string, string, error) {
		src, err := source.Open(ctx, location, opts)
		if errors.Is(err, source.ErrUnsupported) {
			return "", "", Permanent(err)
		}
		if err != nil {
			return "", "", err
		}
		defer src.Close()
		target := filepath.Join(dir, "model")
		if _, err := source.Fetch(ctx, src, target, opts.Limits); err != nil {
			return "", "", err
		}
		return target, src.Location(), nil
	}
}

// PolicyDigest is the digest of a scan policy: the configuration that
// decides verdicts (fail_on, the pickle allowlist, ignore patterns,
// severities, limits) and the analyzers with their versions. Two scans
// with the same digest judge the same bytes alike.
func PolicyDigest(cfg *scan.Config) (string, error) {
	policy, err := pickle.DefaultPolicy().WithAllowed(cfg.Allow...)
	if err != nil {
		return "", fmt.Errorf("jobs: scan policy: %w", err)
	}
	var names []string
	for _, a := range scan.Analyzers(policy) {
		names = append(names, a.Name()+"/"+a.Version())
	}
	b, err := json.Marshal(map[string]any{"config": cfg, "analyzers": names})
	if err != nil {
		return "", fmt.Errorf("jobs: scan policy: %w", err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// scanOptions are the engine's options of the runner's policy.
func (r *Runner) scanOptions() (scan.Options, error) {
	cfg := r.cfg.ScanConfig
	failOn := finding.High
	if cfg.FailOn != "" {
		if err := failOn.UnmarshalText([]byte(cfg.FailOn)); err != nil {
			return scan.Options{}, fmt.Errorf("jobs: fail_on: %w", err)
		}
	}
	policy, err := pickle.DefaultPolicy().WithAllowed(cfg.Allow...)
	if err != nil {
		return scan.Options{}, err
	}
	return scan.Options{Analyzers: scan.Analyzers(policy), Limits: cfg.Limits, Workers: 1, Ignore: cfg.Ignore,
		Severity: cfg.SeverityOverrides(), FailOn: failOn, Version: r.cfg.ScannerVersion,
		ConfigPath: r.cfg.ConfigPath, Digest: true, Cache: r.cfg.Cache, CacheStats: &r.cacheStats}, nil
}

// RequestScan records a request to scan the model at location for model
// modelID and enqueues its job in the same transaction.
func (r *Runner) RequestScan(ctx context.Context, a store.Actor, modelID int64, location string) (store.ScanRequest, error) {
	return r.Request(ctx, a, modelID, 0, store.ScanKindScan, location)
}

// Request records a request of kind (store.ScanKindScan, ScanKindRescan,
// ScanKindVerify or ScanKindBOM) for model modelID at location, and
// enqueues its job in the same transaction. versionID is the stored
// version the location must hold (a rescan's; 0 for a scan; either for a
// verify or BOM job): a location that holds another ends incomplete.
func (r *Runner) Request(ctx context.Context, a store.Actor, modelID, versionID int64, kind, location string) (store.ScanRequest, error) {
	return r.st.RequestScan(ctx, a, modelID, versionID, kind, location, r.enqueue)
}

// enqueue inserts the scan job of req in tx.
func (r *Runner) enqueue(tx *sql.Tx, req store.ScanRequest) (int64, error) {
	res, err := r.client.InsertTx(context.Background(), tx, ScanArgs{Request: req.ID}, nil)
	if err != nil {
		return 0, err
	}
	return res.Job.ID, nil
}

// scanWorker works ScanArgs.
type scanWorker struct {
	river.WorkerDefaults[ScanArgs]
	r *Runner
}

// slowEnv is a test hook: a number of milliseconds each scan job sleeps
// before it fetches, so that a test can kill a worker mid-job. Test-only:
// it has no other use.
const slowEnv = "VIOLET_TEST_JOB_DELAY_MS"

// Work fetches, scans and stores the result in the transaction that
// completes the job. A failure is returned for a retry, except on the last
// attempt or for a permanent error: then an incomplete result is stored.
func (w *scanWorker) Work(ctx context.Context, job *river.Job[ScanArgs]) error {
	r := w.r
	req, err := r.st.ScanRequest(ctx, job.Args.Request)
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if req.Status != store.ScanQueued {
		return nil // finished by an earlier attempt whose completion was lost
	}
	if ms := os.Getenv(slowEnv); ms != "" {
		var d int
		if _, err := fmt.Sscan(ms, &d); err == nil {
			select {
			case <-time.After(time.Duration(d) * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	res, err := r.scanRequest(ctx, req)
	if err == nil {
		return r.complete(ctx, job, req, res)
	}
	var p permanent
	if !errors.As(err, &p) && job.Attempt < job.MaxAttempts && ctx.Err() == nil {
		return err
	}
	if ctx.Err() != nil && job.Attempt < job.MaxAttempts {
		return err
	}
	inc, ierr := r.incomplete(ctx, req, fmt.Sprintf("attempt %d of %d: %v", job.Attempt, job.MaxAttempts, err))
	if ierr != nil {
		return errors.Join(err, ierr)
	}
	return r.complete(ctx, job, req, inc)
}

// complete stores res and completes the job in one transaction. A
// request finished by another attempt (rescued while it still ran) is
// left as it is.
func (r *Runner) complete(ctx context.Context, job *river.Job[ScanArgs], req store.ScanRequest, res store.ScanResult) error {
	_, err := r.st.CompleteScan(ctx, Actor, req.ID, res, func(tx *sql.Tx) error {
		var err error
		if r.dialect == "postgres" {
			_, err = river.JobCompleteTx[*riverdatabasesql.Driver](ctx, tx, job)
		} else {
			_, err = river.JobCompleteTx[*riversqlite.Driver](ctx, tx, job)
		}
		return err
	})
	if errors.Is(err, store.ErrConflict) {
		return nil
	}
	return err
}

// scanRequest fetches the request's location into a private folder, puts
// the version it holds or checks it is the request's version (a rescan, or
// a verify or BOM job of a stored version), then scans it with the cache
// (a scan or rescan), verifies its signature (verify) or writes its BOM
// (bom), and binds the report to the version.
func (r *Runner) scanRequest(ctx context.Context, req store.ScanRequest) (store.ScanResult, error) {
	if req.Kind == store.ScanKindVerify && strings.HasPrefix(req.Location, source.SchemeOCI) {
		if res, ok, err := r.verifyOCI(ctx, req); ok || err != nil {
			return res, err
		}
	}
	dir, err := os.MkdirTemp(r.cfg.TempDir, "violet-job-")
	if err != nil {
		return store.ScanResult{}, err
	}
	defer os.RemoveAll(dir)
	target, pinned, err := r.cfg.Fetch(ctx, req.Location, dir)
	if err != nil {
		return store.ScanResult{}, fmt.Errorf("fetching %s: %w", req.Location, err)
	}
	digest, files, err := HashVersion(ctx, target)
	if err != nil {
		return store.ScanResult{}, err
	}
	versionID, err := r.requestVersion(ctx, req, digest, files, pinned)
	if err != nil {
		return store.ScanResult{}, err
	}
	switch req.Kind {
	case store.ScanKindVerify, store.ScanKindBOM:
		m, err := r.st.Model(ctx, req.ModelID)
		if err != nil {
			return store.ScanResult{}, err
		}
		if req.Kind == store.ScanKindVerify {
			return r.verifyVersion(ctx, m, target, pinned, versionID)
		}
		return r.bomVersion(ctx, m, target, pinned, versionID)
	}
	opts, err := r.scanOptions()
	if err != nil {
		return store.ScanResult{}, Permanent(err)
	}
	rep, err := scan.Scan(ctx, []string{target}, opts)
	if err != nil {
		return store.ScanResult{}, err
	}
	var b bytes.Buffer
	if err := report.WriteJSON(&b, rep); err != nil {
		return store.ScanResult{}, err
	}
	stored, err := r.st.VersionFiles(ctx, versionID)
	if err != nil {
		return store.ScanResult{}, err
	}
	in, scanner, err := server.BindScanReport(b.Bytes(), stored)
	if err != nil {
		return store.ScanResult{}, err
	}
	return store.ScanResult{VersionID: versionID, Report: b.Bytes(), Scanner: scanner, Policy: r.policy, Pinned: pinned,
		Findings: in}, nil
}

// requestVersion returns the version that the model found at pinned
// (digest, files) is for request req: the request's own version, which it
// must be (else a permanent error: the location holds another), or the
// version put for it.
func (r *Runner) requestVersion(ctx context.Context, req store.ScanRequest, digest string, files []store.File, pinned string) (int64, error) {
	if req.VersionID == 0 {
		v, _, err := r.st.PutVersion(ctx, Actor, req.ModelID, digest, "", files)
		return v.ID, err
	}
	v, err := r.version(ctx, req.ModelID, req.VersionID)
	if err != nil {
		return 0, err
	}
	if v.Digest != digest {
		return 0, Permanent(fmt.Errorf("%s now holds %s, not the version %s", pinned, digest, v.Digest))
	}
	return v.ID, nil
}

// version returns version id of model modelID.
func (r *Runner) version(ctx context.Context, modelID, id int64) (store.Version, error) {
	vs, err := r.st.Versions(ctx, modelID)
	if err != nil {
		return store.Version{}, err
	}
	for _, v := range vs {
		if v.ID == id {
			return v, nil
		}
	}
	return store.Version{}, Permanent(fmt.Errorf("version %d of model %d: %w", id, modelID, store.ErrNotFound))
}

// incomplete is the result of a request that failed for good: for a
// version known (a rescan), a report that gives each of its files a
// SCAN-ERROR finding (an incomplete rule: never clean); for a scan whose
// version is unknown, and for a verify or BOM job, no report (no evidence
// that could read as verified or complete), and the request keeps the
// error.
func (r *Runner) incomplete(ctx context.Context, req store.ScanRequest, cause string) (store.ScanResult, error) {
	res := store.ScanResult{Incomplete: true, Error: cause, Scanner: r.cfg.ScannerVersion, Policy: r.policy}
	if req.Kind == store.ScanKindVerify || req.Kind == store.ScanKindBOM {
		res.VersionID = req.VersionID
		return res, nil
	}
	if req.VersionID == 0 {
		return res, nil
	}
	files, err := r.st.VersionFiles(ctx, req.VersionID)
	if err != nil {
		return res, err
	}
	target := "/violet-job"
	rep := &report.Report{SchemaVersion: report.SchemaVersion, Tool: report.Tool{Name: "violet", Version: r.cfg.ScannerVersion},
		StartedAt: time.Now().UTC(), Targets: []string{target}, FailOn: finding.High,
		Summary: report.Summary{Formats: map[string]int{}, Findings: map[string]int{}}}
	msg := "the job could not scan this file: " + cause
	for _, f := range files {
		p := target
		if f.Path != "." {
			p = target + "/" + f.Path
		}
		x := finding.New(finding.ScanError, finding.Location{Path: p, Offset: -1}, msg, "")
		rep.Files = append(rep.Files, report.File{Path: p, Size: f.Size, SHA256: f.SHA256, Incomplete: true,
			Findings: []finding.Finding{x}})
		rep.Summary.Files++
		rep.Summary.Incomplete++
		rep.Summary.Bytes += f.Size
		rep.Summary.Findings[x.Severity.String()]++
	}
	var b bytes.Buffer
	if err := report.WriteJSON(&b, rep); err != nil {
		return res, err
	}
	in, _, err := server.BindScanReport(b.Bytes(), files)
	if err != nil {
		return res, err
	}
	res.VersionID, res.Report, res.Findings = req.VersionID, b.Bytes(), in
	return res, nil
}

// HashVersion returns the version of the model at target as the server
// knows it: the manifest digest that violet hash prints (the signature
// file left out) and the files with their sizes.
func HashVersion(ctx context.Context, target string) (string, []store.File, error) {
	s := sign.DefaultSerialization()
	s.IgnorePaths = append(s.IgnorePaths, sign.DefaultSignaturePath(target))
	m, err := sign.Hash(ctx, target, s, sign.HashOptions{})
	if err != nil {
		return "", nil, fmt.Errorf("hashing %s: %w", target, err)
	}
	files := make([]store.File, 0, len(m.Resources))
	for _, res := range m.Resources {
		p := target
		if res.Name != "." {
			p = filepath.Join(target, filepath.FromSlash(res.Name))
		}
		fi, err := os.Stat(p)
		if err != nil {
			return "", nil, err
		}
		files = append(files, store.File{Path: res.Name, SHA256: hex.EncodeToString(res.Digest), Size: fi.Size()})
	}
	return "sha256:" + hex.EncodeToString(m.RootDigest()), files, nil
}

// ListedVersion is HashVersion of a model known by a listing that states
// every file's SHA-256 and size (an OCI artifact pushed one file per
// layer): the same files (the default ignore paths and model.sig left
// out) and the same digest, without fetching a byte. An entry whose
// SHA-256 is known only once fetched (a decompressed layer) is an error.
func ListedVersion(entries []source.Entry) (string, []store.File, error) {
	var files []store.File
	for _, e := range entries {
		if server.OutsideVersion(e.Path) {
			continue
		}
		if e.SHA256 == "" || e.Size < 0 {
			return "", nil, fmt.Errorf("%s: its SHA-256 is known only once fetched", e.Path)
		}
		files = append(files, store.File{Path: e.Path, SHA256: e.SHA256, Size: e.Size})
	}
	if len(files) == 0 {
		return "", nil, errors.New("the listing names no file")
	}
	return server.RootDigest(files), files, nil
}
