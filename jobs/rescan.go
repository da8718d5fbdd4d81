package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river"

	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/store"
)

// RescanAllArgs is the job that queues a rescan of stored versions: every
// version that has a location (Reason "scheduled", the periodic job), or
// with OnlyChanged those whose last scan job ran another scanner version
// or policy than this worker's.
type RescanAllArgs struct {
	Reason      string `json:"reason"`
	OnlyChanged bool   `json:"only_changed,omitempty"`
}

// Kind implements river.JobArgs.
func (RescanAllArgs) Kind() string { return "violet.rescan_all" }

// InsertOpts puts the job on QueueMaintenance, once at a time per kind of
// run.
func (RescanAllArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, UniqueOpts: river.UniqueOpts{ByArgs: true, ByPeriod: time.Minute}}
}

// rescanAllWorker works RescanAllArgs.
type rescanAllWorker struct {
	river.WorkerDefaults[RescanAllArgs]
	r *Runner
}

// Work queues the rescans.
func (w *rescanAllWorker) Work(ctx context.Context, job *river.Job[RescanAllArgs]) error {
	_, err := w.r.RequestRescans(ctx, Actor, 0, store.ScanKindRescan, job.Args.OnlyChanged)
	return err
}

// RequestRescans queues a job of kind (store.ScanKindRescan, or
// ScanKindVerify or ScanKindBOM to verify or write the BOM of stored
// versions again) for each stored version of model modelID (0: of every
// model) that has a location (store.RescanTargets); with onlyChanged, a
// rescan only of those whose last scan job ran another scanner version or
// policy than this runner's. Each request and its job are inserted in one
// transaction.
func (r *Runner) RequestRescans(ctx context.Context, a store.Actor, modelID int64, kind string, onlyChanged bool) ([]store.ScanRequest, error) {
	if kind == store.ScanKindScan || !slices.Contains(store.ScanRequestKinds(), kind) {
		return nil, fmt.Errorf("jobs: kind %q: a stored version is rescanned, verified or given a BOM", kind)
	}
	targets, err := r.st.RescanTargets(ctx, modelID)
	if err != nil {
		return nil, err
	}
	var out []store.ScanRequest
	for _, t := range targets {
		if onlyChanged && kind == store.ScanKindRescan && t.Scanner == r.cfg.ScannerVersion && t.Policy == r.policy {
			continue
		}
		req, err := r.st.RequestScan(ctx, a, t.ModelID, t.VersionID, kind, t.Location, r.enqueue)
		if err != nil {
			return out, fmt.Errorf("jobs: %s of version %d: %w", kind, t.VersionID, err)
		}
		out = append(out, req)
	}
	return out, nil
}

// Wait waits until every request in reqs is finished (done or
// incomplete), polling every interval, and returns them as stored.
func (r *Runner) Wait(ctx context.Context, reqs []store.ScanRequest, interval time.Duration) ([]store.ScanRequest, error) {
	out := make([]store.ScanRequest, len(reqs))
	for i, q := range reqs {
		for {
			got, err := r.st.ScanRequest(ctx, q.ID)
			if err != nil {
				return nil, err
			}
			if got.Status != store.ScanQueued {
				out[i] = got
				break
			}
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("jobs: waiting for scan request %d: %w", q.ID, ctx.Err())
			case <-time.After(interval):
			}
		}
	}
	return out, nil
}

// Verdicts of a scan run.
const (
	VerdictPass       = "pass"       // no finding at or above high, none incomplete
	VerdictFail       = "fail"       // a finding at or above high
	VerdictIncomplete = "incomplete" // no such finding, but a file not fully analyzed
	VerdictNone       = "none"       // no run before
)

// Change is what a finished scan request changed in its version's
// verdict: the run it stored against the run before it.
type Change struct {
	Request        store.ScanRequest
	Before, After  string // verdicts
	Added, Removed []store.Finding
	Kept           int
}

// Changed reports whether the verdict changed.
func (c Change) Changed() bool { return c.Before != c.After }

// verdict judges findings as the gate's default threshold does.
func verdict(fs []store.Finding) string {
	v := VerdictPass
	for _, f := range fs {
		if f.Severity >= finding.High {
			return VerdictFail
		}
		if rule, ok := finding.Lookup(f.Rule); ok && rule.Incomplete {
			v = VerdictIncomplete
		}
	}
	return v
}

// Changes compares the run each finished request stored with the run
// before it. A request without a stored report (a scan that failed before
// its version was known) has the verdicts none and incomplete. A verify
// request compares its report with the version's verify report before it
// (pass: verified, fail: not verified); a BOM request passes once stored.
func Changes(ctx context.Context, st *store.Store, reqs []store.ScanRequest) ([]Change, error) {
	out := make([]Change, 0, len(reqs))
	for _, q := range reqs {
		c := Change{Request: q, Before: VerdictNone, After: VerdictIncomplete}
		if q.EvidenceID == 0 {
			out = append(out, c)
			continue
		}
		if q.Kind == store.ScanKindVerify || q.Kind == store.ScanKindBOM {
			if err := evidenceChange(ctx, st, &c); err != nil {
				return nil, err
			}
			out = append(out, c)
			continue
		}
		ch, err := st.ScanChanges(ctx, q.VersionID, q.EvidenceID)
		if err != nil {
			return nil, err
		}
		after, err := st.ScanRunFindings(ctx, q.EvidenceID)
		if err != nil {
			return nil, err
		}
		c.After, c.Added, c.Removed, c.Kept = verdict(after), ch.Added, ch.Removed, ch.Kept
		if ch.Base != nil {
			before, err := st.ScanRunFindings(ctx, ch.Base.EvidenceID)
			if err != nil {
				return nil, err
			}
			c.Before = verdict(before)
		}
		out = append(out, c)
	}
	return out, nil
}

// evidenceChange sets the verdicts of a verify or BOM request: its
// report's, and that of the version's report of the same kind before it.
func evidenceChange(ctx context.Context, st *store.Store, c *Change) error {
	kind := store.EvidenceOfRequest(c.Request.Kind)
	list, err := st.ListEvidence(ctx, c.Request.VersionID, kind)
	if err != nil {
		return err
	}
	judge := func(id int64) (string, error) {
		if kind == store.EvidenceBOM {
			return VerdictPass, nil
		}
		data, err := st.EvidenceReport(ctx, id)
		if err != nil {
			return "", err
		}
		var rep struct {
			Verified bool `json:"verified"`
		}
		if err := json.Unmarshal(data, &rep); err != nil {
			return "", fmt.Errorf("verify report %d: %w", id, err)
		}
		if rep.Verified {
			return VerdictPass, nil
		}
		return VerdictFail, nil
	}
	var before int64
	for _, e := range list {
		if e.ID < c.Request.EvidenceID && e.ID > before {
			before = e.ID
		}
	}
	if before != 0 {
		if c.Before, err = judge(before); err != nil {
			return err
		}
	}
	c.After, err = judge(c.Request.EvidenceID)
	return err
}

// Enqueuer is the Runner as the server sees it: scan requests inserted
// with their job.
func (r *Runner) Enqueuer() func(tx *sql.Tx, req store.ScanRequest) (int64, error) { return r.enqueue }
