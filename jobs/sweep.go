package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/violet-mlsecops/violet/store"
)

// sweepEvery is how often the leader's worker sweeps; sweepBatch how many
// queued requests one sweep looks at.
const (
	sweepEvery = 10 * time.Minute
	sweepBatch = 1000
)

// SweepArgs is the periodic job that finishes, as incomplete, the scan
// requests whose River job ended without storing a result: discarded (the
// rescuer found it stuck after its last attempt: its worker died), or
// cancelled or deleted by an operator.
type SweepArgs struct{}

// Kind implements river.JobArgs.
func (SweepArgs) Kind() string { return "violet.sweep" }

// InsertOpts puts the sweep on QueueMaintenance.
func (SweepArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueMaintenance} }

// sweepWorker works SweepArgs.
type sweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	r *Runner
}

// Work sweeps.
func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	_, err := w.r.Sweep(ctx)
	return err
}

// Sweep finishes as incomplete each queued scan request whose job River
// no longer runs (discarded, cancelled, or gone) and returns how many it
// finished. A request whose version is known gets an incomplete report,
// as after a last failed attempt.
func (r *Runner) Sweep(ctx context.Context) (int, error) {
	reqs, err := r.st.QueuedScanRequests(ctx, sweepBatch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, q := range reqs {
		job, err := r.client.JobGet(ctx, q.JobID)
		var why string
		switch {
		case errors.Is(err, rivertype.ErrNotFound):
			why = "its job is gone"
		case err != nil:
			return n, err
		case job.State == rivertype.JobStateDiscarded || job.State == rivertype.JobStateCancelled || job.State == rivertype.JobStateCompleted:
			why = fmt.Sprintf("its job ended %s after %d attempts without a result", job.State, job.Attempt)
		default:
			continue
		}
		res, err := r.incomplete(ctx, q, why)
		if err != nil {
			return n, err
		}
		if _, err := r.st.CompleteScan(ctx, Actor, q.ID, res, nil); err != nil && !errors.Is(err, store.ErrConflict) {
			return n, err
		}
		n++
	}
	return n, nil
}
