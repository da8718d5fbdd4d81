package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/violet-mlsecops/violet/internal/cli"
	"github.com/violet-mlsecops/violet/jobs"
	"github.com/violet-mlsecops/violet/store"
)

// jobOptions are the flags of the job workers, shared by violet worker and
// violet serve (docs/server.md#scan-jobs).
type jobOptions struct {
	workers      int
	queues       []string
	config       cli.ConfigOptions
	sources      sourceOptions
	maxAttempts  int
	retryBase    time.Duration
	poll         time.Duration
	jobTimeout   time.Duration
	rescueAfter  time.Duration
	rescanEvery  time.Duration
	cacheEntries int
}

// addFlags adds the flags; defWorkers is --workers' default.
func (o *jobOptions) addFlags(f *pflag.FlagSet, defWorkers int) {
	f.IntVar(&o.workers, "workers", defWorkers, "run `N` scan jobs at once (0: run no jobs, only queue them)")
	f.StringSliceVar(&o.queues, "queues", nil, "work only these queues (`LIST` of "+strings.Join(jobs.Queues, ", ")+"; default all)")
	o.config = cli.ConfigOptions{Usage: "judge with the scan policy of `FILE` (a .violet.yaml; default: the .violet.yaml of the project this runs in)"}
	o.config.AddFlags(f)
	o.sources.addFlags(f)
	f.IntVar(&o.maxAttempts, "max-attempts", jobs.DefaultMaxAttempts, "run a failing job at most `N` times; after the last, its result is incomplete (never clean)")
	f.DurationVar(&o.retryBase, "retry-backoff", jobs.DefaultRetryBase, "wait this long after a job's first failure, doubled after each (at most an hour)")
	f.DurationVar(&o.poll, "poll-interval", jobs.DefaultPollInterval, "look for new jobs this often")
	f.DurationVar(&o.jobTimeout, "job-timeout", jobs.DefaultJobTimeout, "cancel an attempt that runs longer (-1ns: never, but then a dead worker's job is never rescued)")
	f.DurationVar(&o.rescueAfter, "rescue-after", 0, "queue again a job running this long and past --job-timeout, taken for the job of a dead worker (checked every 30 s; default: --job-timeout plus an hour)")
	f.DurationVar(&o.rescanEvery, "rescan-every", 0, "rescan every stored version this often, and on start those judged by another scanner or policy (0: never)")
	f.IntVar(&o.cacheEntries, "cache-entries", store.DefaultScanCacheEntries, "keep at most `N` entries in the scan cache (least recently used evicted)")
}

// runner makes the jobs' Runner on st (not started).
func (o *jobOptions) runner(ctx context.Context, g *globalOptions, st *store.Store) (*jobs.Runner, error) {
	if o.workers < 0 {
		return nil, usageError(fmt.Errorf("--workers %d: want 0 or more", o.workers))
	}
	cfg, path, err := o.config.Load()
	if err != nil {
		return nil, usageError(err)
	}
	r, err := jobs.New(ctx, jobs.Config{Store: st, Workers: o.workers, Queues: o.queues, ScanConfig: cfg, ConfigPath: path,
		ScannerVersion: programVersion(), Sources: o.sources.options(), CacheEntries: o.cacheEntries,
		MaxAttempts: o.maxAttempts, RetryBase: o.retryBase, PollInterval: o.poll, JobTimeout: o.jobTimeout,
		RescueAfter: o.rescueAfter, RescanEvery: o.rescanEvery, RescanChanged: o.rescanEvery > 0, Logger: g.logger})
	if err != nil {
		return nil, usageError(err)
	}
	return r, nil
}

func newWorkerCommand(g *globalOptions) *cobra.Command {
	so := &storeOptions{}
	o := &jobOptions{}
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run scan jobs from the server's queue until stopped",
		Long: `Run the scan and rescan jobs queued in the server's database (River
queues in the store: SQLite in --data, or PostgreSQL with --database): fetch
the model at the job's location into a private folder, scan it with the scan
cache, and store the report as the version's scan evidence in the
transaction that completes the job. A failing job is retried with backoff;
after --max-attempts its result is incomplete, never clean. Run several
workers against one PostgreSQL database to scale out. It stops gracefully on
SIGINT or SIGTERM, finishing the jobs under way (a second signal cancels
them: River runs them again later).`,
		Example: `  violet worker --database postgres://violet@/violet?host=/run/postgresql --workers 4
  violet worker --data /var/lib/violet --rescan-every 24h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runWorker(cmd, g, so, o)
		},
	}
	cmd.Long = withExitCodes(cmd.Long, "worker")
	so.addFlags(cmd, "the server's data folder `DIR` (its SQLite database)")
	o.addFlags(cmd.Flags(), 2)
	return cmd
}

func runWorker(cmd *cobra.Command, g *globalOptions, so *storeOptions, o *jobOptions) error {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	if o.workers == 0 {
		return usageError(errors.New("--workers 0: a worker needs at least one"))
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := so.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	r, err := o.runner(ctx, g, st)
	if err != nil {
		return err
	}
	if err := r.Start(context.WithoutCancel(ctx)); err != nil {
		return usageError(err)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "Working %d jobs at once (%s, policy %s)\n", o.workers, st.Dialect(), r.Policy())
	<-ctx.Done()
	stop() // a second signal ends the process
	g.notice(cmd, "Stopping: finishing the jobs under way\n")
	return stopRunner(r)
}

// stopRunner stops r's workers, waiting up to a minute for the jobs under
// way.
func stopRunner(r *jobs.Runner) error {
	sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.Stop(sctx); err != nil {
		return usageError(fmt.Errorf("stopping the workers: %w", err))
	}
	return nil
}
