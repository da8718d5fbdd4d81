// Package jobs runs Violet's background work as River jobs
// (riverqueue/river) in the store's own database: scans of a model at a
// location, rescans of stored versions (retro-hunt) and the periodic
// rescan, signature verifications against the team's trusted signers, and
// ML-BOMs. One code path serves both dialects: River's SQLite driver
// (riversqlite) on the store's embedded SQLite and its database/sql driver
// (riverdatabasesql) on PostgreSQL, both through the store's *sql.DB, so
// that a job is inserted in the transaction of the record it belongs to
// and completed in the transaction that stores its result.
//
// River's own tables (river_job, river_leader, ...) are created and
// upgraded by River's migrations (rivermigrate), which New applies: a
// worker, violet serve and violet rescan all call it before anything else.
// Both drivers run poll-only (no LISTEN/NOTIFY: database/sql has none), so
// a job waits at most PollInterval before a free worker fetches it.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/violet-mlsecops/violet/scan"
	"github.com/violet-mlsecops/violet/source"
	"github.com/violet-mlsecops/violet/store"
)

// QueueScan is the queue of scan and rescan jobs; QueueMaintenance holds
// the periodic rescan, which only enqueues.
const (
	QueueScan        = "scan"
	QueueMaintenance = "maintenance"
)

// Queues lists the queues a worker can work.
var Queues = []string{QueueScan, QueueMaintenance}

// Defaults of Config.
const (
	DefaultMaxAttempts  = 5
	DefaultRetryBase    = 10 * time.Second
	DefaultPollInterval = time.Second
	DefaultJobTimeout   = 30 * time.Minute
	// maxRetryWait caps the wait between two attempts.
	maxRetryWait = time.Hour
)

// Actor is who the jobs act as in the audit log.
var Actor = store.Actor{Name: "violet worker", Remote: "local"}

// Config configures a Runner. Store is required; the zero value of every
// other field is a default.
type Config struct {
	Store *store.Store
	// Workers is how many jobs of QueueScan run at once; 0 makes a client
	// that only inserts jobs (violet serve --workers 0, violet rescan).
	Workers int
	// Queues are the queues worked (default Queues).
	Queues []string
	// ScanConfig is the scan policy: the configuration of violet scan
	// (default scan.DefaultConfig()).
	ScanConfig *scan.Config
	// ConfigPath is the file ScanConfig was read from ("" for none).
	ConfigPath string
	// ScannerVersion is the program version written in reports.
	ScannerVersion string
	// Sources are the options the jobs read locations with (endpoints,
	// credentials, limits): the defaults of Fetch and Signatures use them,
	// and verify jobs of oci:// locations check the layer digests through
	// them without pulling layers.
	Sources source.Options
	// Fetch brings a location's model to a folder (default
	// FetchSource(Sources)).
	Fetch Fetcher
	// Signatures finds the signatures attached to a model outside its
	// files, for verify jobs (default SourceSignatures(Sources)).
	Signatures Signatures
	// Cache is the content cache of scan results, which scan.Scan
	// consults (default: the store's, CacheEntries entries).
	Cache        *store.ScanCache
	CacheEntries int
	// MaxAttempts is how many times a job runs before it fails for good
	// (default DefaultMaxAttempts); RetryBase is the wait after the first
	// failure, doubled after each (default DefaultRetryBase, at most an
	// hour, with up to 10% jitter).
	MaxAttempts int
	RetryBase   time.Duration
	// PollInterval is how often an idle worker looks for jobs (default
	// DefaultPollInterval).
	PollInterval time.Duration
	// JobTimeout bounds one attempt (default DefaultJobTimeout; -1: none).
	JobTimeout time.Duration
	// RescueAfter is how long a job may run before River takes it for
	// stuck (its worker died) and queues it again (default: JobTimeout plus
	// an hour). It must be more than JobTimeout.
	RescueAfter time.Duration
	// RescanEvery schedules a rescan of every stored version (0: none).
	RescanEvery time.Duration
	// RescanChanged rescans, when the worker starts, the versions whose
	// last scan job ran another scanner version or policy.
	RescanChanged bool
	// TempDir holds the jobs' private folders (default os.TempDir()).
	TempDir string
	// Logger receives River's and the jobs' logs (nil: none).
	Logger *slog.Logger
}

// Runner is a River client over the store, with Violet's workers.
type Runner struct {
	cfg     Config
	st      *store.Store
	dialect string
	client  *river.Client[*sql.Tx]
	policy  string
	// cacheStats counts the scan cache's hits and misses of the jobs.
	cacheStats scan.CacheStats
}

// CacheStats returns the scan cache's hits and misses counted by this
// runner's jobs, and the rate of hits among the files looked up.
func (r *Runner) CacheStats() (hits, misses int64, rate float64) {
	hits, misses = r.cacheStats.Hits.Load(), r.cacheStats.Misses.Load()
	if hits+misses > 0 {
		rate = float64(hits) / float64(hits+misses)
	}
	return hits, misses, rate
}

// driver returns River's driver for the store's database: riversqlite on
// SQLite, riverdatabasesql on PostgreSQL; both take *sql.Tx.
func driver(st *store.Store) (riverdriver.Driver[*sql.Tx], string) {
	db, dialect := st.JobDatabase()
	if dialect == "postgres" {
		return riverdatabasesql.New(db), dialect
	}
	return riversqlite.New(db), dialect
}

// Migrate creates or upgrades River's tables in the store's database to
// the version this binary carries, in a transaction per migration. It is
// a no-op when they are current.
func Migrate(ctx context.Context, st *store.Store, logger *slog.Logger) error {
	d, _ := driver(st)
	m, err := rivermigrate.New(d, &rivermigrate.Config{Logger: quiet(logger)})
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("jobs: River's migrations: %w", err)
	}
	return nil
}

// quiet is logger, or one that discards.
func quiet(logger *slog.Logger) *slog.Logger {
	if logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return logger
}

// New applies River's migrations and returns a Runner; Start starts its
// workers (none when cfg.Workers is 0: it only inserts).
func New(ctx context.Context, cfg Config) (*Runner, error) {
	if cfg.Store == nil {
		return nil, errors.New("jobs: no store")
	}
	if cfg.Workers < 0 {
		return nil, fmt.Errorf("jobs: %d workers", cfg.Workers)
	}
	if cfg.ScanConfig == nil {
		cfg.ScanConfig = scan.DefaultConfig()
	}
	if cfg.Fetch == nil {
		cfg.Fetch = FetchSource(cfg.Sources)
	}
	if cfg.Signatures == nil {
		cfg.Signatures = SourceSignatures(cfg.Sources)
	}
	if cfg.Cache == nil {
		cfg.Cache = cfg.Store.ScanCache(cfg.CacheEntries)
	}
	cfg.MaxAttempts = cmpOr(cfg.MaxAttempts, DefaultMaxAttempts)
	cfg.RetryBase = cmpOr(cfg.RetryBase, DefaultRetryBase)
	cfg.PollInterval = cmpOr(cfg.PollInterval, DefaultPollInterval)
	cfg.JobTimeout = cmpOr(cfg.JobTimeout, DefaultJobTimeout)
	if cfg.RescueAfter == 0 {
		cfg.RescueAfter = max(cfg.JobTimeout, 0) + time.Hour
	}
	if cfg.JobTimeout > 0 && cfg.RescueAfter <= cfg.JobTimeout {
		return nil, fmt.Errorf("jobs: rescue after %s: want more than the job timeout %s", cfg.RescueAfter, cfg.JobTimeout)
	}
	if len(cfg.Queues) == 0 {
		cfg.Queues = Queues
	}
	for _, q := range cfg.Queues {
		if q != QueueScan && q != QueueMaintenance {
			return nil, fmt.Errorf("jobs: unknown queue %q (the queues: %s, %s)", q, QueueScan, QueueMaintenance)
		}
	}
	if err := Migrate(ctx, cfg.Store, cfg.Logger); err != nil {
		return nil, err
	}
	policy, err := PolicyDigest(cfg.ScanConfig)
	if err != nil {
		return nil, err
	}
	r := &Runner{cfg: cfg, st: cfg.Store, policy: policy}
	d, dialect := driver(cfg.Store)
	r.dialect = dialect
	rc := &river.Config{
		Logger:               quiet(cfg.Logger),
		MaxAttempts:          cfg.MaxAttempts,
		RetryPolicy:          &retryPolicy{base: cfg.RetryBase},
		FetchPollInterval:    cfg.PollInterval,
		FetchCooldown:        min(cfg.PollInterval, 100*time.Millisecond),
		PollOnly:             true,
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.RescueAfter,
	}
	if cfg.Workers > 0 {
		workers := river.NewWorkers()
		river.AddWorker(workers, &scanWorker{r: r})
		river.AddWorker(workers, &rescanAllWorker{r: r})
		river.AddWorker(workers, &sweepWorker{r: r})
		rc.Workers = workers
		rc.Queues = map[string]river.QueueConfig{}
		for _, q := range cfg.Queues {
			n := cfg.Workers
			if q == QueueMaintenance {
				n = 1
			}
			rc.Queues[q] = river.QueueConfig{MaxWorkers: n}
		}
		rc.PeriodicJobs = []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(sweepEvery),
			func() (river.JobArgs, *river.InsertOpts) { return SweepArgs{}, nil },
			&river.PeriodicJobOpts{ID: "violet-sweep", RunOnStart: true})}
		if cfg.RescanEvery > 0 {
			rc.PeriodicJobs = append(rc.PeriodicJobs, river.NewPeriodicJob(river.PeriodicInterval(cfg.RescanEvery),
				func() (river.JobArgs, *river.InsertOpts) { return RescanAllArgs{Reason: "scheduled"}, nil },
				&river.PeriodicJobOpts{ID: "violet-rescan"}))
		}
	}
	if r.client, err = river.NewClient(d, rc); err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return r, nil
}

// cmpOr is v, or def when v is zero.
func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Start starts the workers (a no-op for an insert-only Runner) and, with
// RescanChanged, queues the rescan of versions judged by another scanner
// or policy.
func (r *Runner) Start(ctx context.Context) error {
	if r.cfg.Workers == 0 {
		return nil
	}
	if err := r.client.Start(ctx); err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	if r.cfg.RescanChanged {
		if _, err := r.client.Insert(ctx, RescanAllArgs{Reason: "changed", OnlyChanged: true}, nil); err != nil {
			return fmt.Errorf("jobs: %w", err)
		}
	}
	return nil
}

// Stop stops fetching jobs and waits for the running ones to finish, or
// for ctx to end (then they are cancelled; River retries them later).
func (r *Runner) Stop(ctx context.Context) error {
	if r.cfg.Workers == 0 {
		return nil
	}
	err := r.client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = r.client.StopAndCancel(sctx)
	}
	return err
}

// Policy returns the digest of the scan policy the workers judge with.
func (r *Runner) Policy() string { return r.policy }

// retryPolicy waits base·2^(attempt-1), at most maxRetryWait, plus up to
// 10% jitter, after a failed attempt.
type retryPolicy struct{ base time.Duration }

// NextRetry implements river.ClientRetryPolicy.
func (p *retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	wait := min(p.base<<min(max(job.Attempt-1, 0), 20), maxRetryWait)
	wait += time.Duration(rand.Int64N(int64(wait)/10 + 1))
	return time.Now().Add(wait)
}
