package jobs

import (
	"context"
	"database/sql"
	"fmt"
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
	_, err := w.r.RequestRescans(ctx, Actor, 0, job.Args.OnlyChanged)
	return err
}

// RequestRescans queues a rescan of each stored version of model modelID
// (0: of every model) that has a location and no rescan queued; with
// onlyChanged, only of those whose last scan job ran another scanner
// version or policy than this runner's. Each request and its job are
// inserted in one transaction.
func (r *Runner) RequestRescans(ctx context.Context, a store.Actor, modelID int64, onlyChanged bool) ([]store.ScanRequest, error) {
	targets, err := r.st.RescanTargets(ctx, modelID)
	if err != nil {
		return nil, err
	}
	var out []store.ScanRequest
	for _, t := range targets {
		if onlyChanged && t.Scanner == r.cfg.ScannerVersion && t.Policy == r.policy {
			continue
		}
		req, err := r.st.RequestScan(ctx, a, t.ModelID, t.VersionID, store.ScanKindRescan, t.Location, r.enqueue)
		if err != nil {
			return out, fmt.Errorf("jobs: rescan of version %d: %w", t.VersionID, err)
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
// its version was known) has the verdicts none and incomplete.
func Changes(ctx context.Context, st *store.Store, reqs []store.ScanRequest) ([]Change, error) {
	out := make([]Change, 0, len(reqs))
	for _, q := range reqs {
		c := Change{Request: q, Before: VerdictNone, After: VerdictIncomplete}
		if q.EvidenceID == 0 {
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

// Enqueuer is the Runner as the server sees it: scan requests inserted
// with their job.
func (r *Runner) Enqueuer() func(tx *sql.Tx, req store.ScanRequest) (int64, error) { return r.enqueue }
