package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/violet-mlsecops/violet/webui"

	"github.com/spf13/cobra"

	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/server"
	"github.com/violet-mlsecops/violet/store"
	"github.com/violet-mlsecops/violet/webhook"
)

// AdminTokenFile is the file, in the data folder, where the first start
// writes the admin's API token.
const AdminTokenFile = "admin.token"

// adminTokenLifetime is the validity of the first admin token.
const adminTokenLifetime = 365 * 24 * time.Hour

// storeOptions are the flags that name the store.
type storeOptions struct {
	data, database string
}

func (o *storeOptions) addFlags(cmd *cobra.Command, dataUsage string) {
	cmd.Flags().StringVar(&o.data, "data", "", dataUsage)
	cmd.Flags().StringVar(&o.database, "database", "", "use the PostgreSQL database at `URL` (postgres://...) instead of SQLite in --data")
}

// open opens the store: --database when given, else SQLite in --data.
func (o *storeOptions) open(ctx context.Context) (*store.Store, error) {
	dsn := o.database
	if dsn == "" {
		if o.data == "" {
			return nil, usageError(errors.New("--data DIR (or --database URL) is needed"))
		}
		dsn = o.data
	} else if !isPostgresURL(dsn) {
		return nil, usageError(errors.New("--database: want a postgres:// URL"))
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, usageError(err)
	}
	return st, nil
}

func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

func newServeCommand(g *globalOptions) *cobra.Command {
	o := &storeOptions{}
	var addr string
	sso := &oidcOptions{}
	jo := &jobOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Violet server: inventory, evidence, findings and triage over an HTTP API",
		Long: `Run the Violet server on --addr: the HTTP API of docs/server.md (OpenAPI
document at /api/v1/openapi.json) and the web UI at /ui/ (users created with a
password sign in there), on SQLite in --data or on PostgreSQL
(--database). On the first start it creates the admin user and writes an
admin API token to DATA/admin.token (mode 0600), and says so once. It stops
gracefully on SIGINT or SIGTERM.

Serve plain HTTP on 127.0.0.1 only: in front of it, put a reverse proxy that
terminates TLS (the UI's session cookie is Secure: browsers send it over
HTTPS, and to http://localhost). Rate limits count by the address the connection comes from.`,
		Example: `  violet serve --data /var/lib/violet
  violet serve --data /var/lib/violet --database postgres://violet@/violet?host=/run/postgresql
  violet serve backup --data /var/lib/violet --to /backup/violet-$(date +%F).db
  violet serve restore --from /backup/violet-2026-12-05.db --data /var/lib/violet`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd, g, o, addr, sso, jo)
		},
	}
	cmd.Long = withExitCodes(cmd.Long, "serve")
	o.addFlags(cmd, "keep the SQLite database and admin.token in `DIR` (created with mode 0700)")
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "listen on `HOST:PORT`")
	sso.addFlags(cmd.Flags())
	jo.addFlags(cmd.Flags(), 0)
	cmd.Flags().Bool("webhook-allow-private", false,
		"let webhooks call loopback, private and link-local addresses (refused by default: docs/webhooks.md)")
	cmd.Flags().Duration("webhook-backoff", 30*time.Second,
		"wait this long after a webhook's first failed attempt, doubled after each (at most an hour)")
	cmd.Flags().StringArray("scan-root", nil,
		"a local `FOLDER` that scan requests of the API may name (repeatable; none by default: docs/server.md#scan-jobs)")
	cmd.Flags().StringArray("scan-registry", nil,
		"an OCI registry `HOST[:PORT]` that scan requests of the API may name (repeatable; none by default)")
	cmd.Flags().Duration("metrics-max-age", store.DefaultMetricsMaxAge,
		"keep each team's metrics this long unless the server changes a record (0: compute them on every call; docs/metrics.md)")
	cmd.AddCommand(newServeBackupCommand(), newServeRestoreCommand())
	return cmd
}

func runServe(cmd *cobra.Command, g *globalOptions, o *storeOptions, addr string, sso *oidcOptions, jo *jobOptions) error {
	if o.data == "" {
		return usageError(errors.New("--data DIR is needed (it holds admin.token, and the database unless --database)"))
	}
	oidc, err := sso.config(cmd.Flags())
	if err != nil {
		return usageError(err)
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := o.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	roots, registries, err := scanLocations(cmd)
	if err != nil {
		return usageError(err)
	}
	maxAge, _ := cmd.Flags().GetDuration("metrics-max-age")
	st.SetMetricsMaxAge(maxAge)
	if err := bootstrapAdmin(ctx, cmd, st, o.data); err != nil {
		return usageError(err)
	}
	// The scan jobs (docs/server.md#scan-jobs): River's tables migrated,
	// --workers of them run in-process (0: queued only, for violet worker).
	jr, err := jo.runner(ctx, g, st)
	if err != nil {
		return err
	}
	if err := jr.Start(context.WithoutCancel(ctx)); err != nil {
		return usageError(err)
	}
	defer stopRunner(jr) //nolint:errcheck // stopping: the jobs under way are run again later
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return usageError(err)
	}
	srv := &http.Server{
		Handler:           handler(st, g, oidc, server.Options{Enqueue: jr.Enqueuer(), ScanRoots: roots, ScanRegistries: registries}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "Listening on http://%s (%s)\n", ln.Addr(), st.Dialect())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	// The webhook dispatcher (docs/webhooks.md), stopped before the store.
	allowPrivate, _ := cmd.Flags().GetBool("webhook-allow-private")
	backoff, _ := cmd.Flags().GetDuration("webhook-backoff")
	wctx, wstop := context.WithCancel(ctx)
	wdone := make(chan struct{})
	go func() {
		defer close(wdone)
		(&webhook.Dispatcher{Outbox: st.Outbox(), Client: webhook.NewClient(allowPrivate), Backoff: backoff, Logf: func(f string, a ...any) {
			fmt.Fprintf(cmd.ErrOrStderr(), f+"\n", a...)
		}}).Run(wctx)
	}()
	defer func() { wstop(); <-wdone }()
	// The daily snapshot of the metrics (docs/metrics.md): checked every
	// hour, taken once per UTC day.
	sdone := make(chan struct{})
	go func() {
		defer close(sdone)
		hourlyCheck(wctx, st, func(err error) {
			fmt.Fprintf(cmd.ErrOrStderr(), "hourly check (metrics snapshot, reminders): %v\n", err)
		})
	}()
	defer func() { wstop(); <-sdone }()
	select {
	case err := <-done:
		return usageError(err)
	case <-ctx.Done():
	}
	g.notice(cmd, "Stopping: finishing the requests under way\n")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return usageError(fmt.Errorf("shutdown: %w", err))
	}
	return nil
}

// handler is what violet serve serves: the web UI under /ui/ (for people
// signing in with a password, or with single sign-on when oidc is set),
// the API and the health checks elsewhere; enqueue queues scan jobs.
func handler(st *store.Store, g *globalOptions, oidc *webui.OIDCConfig, api server.Options) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/ui/", webui.New(st, webui.Options{BasePath: "/ui", Logger: g.logger, OIDC: oidc}))
	api.Logger = g.logger
	mux.Handle("/", server.New(st, api))
	return mux
}

// bootstrapAdmin creates, on the first start (no user "admin"), the team
// "admin", the user "admin" with the admin role there, and an API token
// written to dir/admin.token (created exclusively, mode 0600).
func bootstrapAdmin(ctx context.Context, cmd *cobra.Command, st *store.Store, dir string) error {
	if _, err := st.UserByLogin(ctx, "admin"); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(dir, AdminTokenFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("first start: the admin token: %w (move the old one away)", err)
	}
	secret, exp, err := createAdmin(ctx, st)
	if err == nil {
		_, err = fmt.Fprintln(f, secret)
		err = errors.Join(err, f.Sync())
	}
	if err = errors.Join(err, f.Close()); err != nil {
		return errors.Join(fmt.Errorf("first start: %w", err), os.Remove(path))
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "First start: created the user admin (team admin) and wrote its API token to %s; it expires on %s. Keep it secret.\n",
		path, exp.Format("2006-01-02"))
	return nil
}

func createAdmin(ctx context.Context, st *store.Store) (string, time.Time, error) {
	a := store.Actor{Name: "system"}
	team, err := adminTeam(ctx, st, a)
	if err != nil {
		return "", time.Time{}, err
	}
	u, err := st.CreateUser(ctx, a, "admin", "Administrator", "")
	if err != nil {
		return "", time.Time{}, err
	}
	if err := st.AddMember(ctx, a, store.Membership{TeamID: team.ID, UserID: u.ID, Role: store.RoleAdmin}); err != nil {
		return "", time.Time{}, err
	}
	secret, tok, err := st.CreateToken(ctx, a, store.TokenSpec{Name: "admin (first start)", UserID: u.ID, TeamID: team.ID,
		Role: store.RoleAdmin, ExpiresAt: time.Now().Add(adminTokenLifetime)})
	return secret, tok.ExpiresAt, err
}

func newServeBackupCommand() *cobra.Command {
	o := &storeOptions{}
	var to string
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Write a consistent copy of the SQLite database, while the server runs",
		Long: `Write a consistent copy of the server's SQLite database to --to (mode 0600,
never over an existing file), while the server runs. For PostgreSQL, use
pg_dump. Restore it with violet serve restore, which checks it first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to == "" {
				return usageError(errors.New("--to FILE is needed"))
			}
			st, err := o.open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.Backup(cmd.Context(), to); err != nil {
				return usageError(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Backup written to %s\n", to)
			return nil
		},
	}
	cmd.Long = withExitCodes(cmd.Long, "serve backup")
	o.addFlags(cmd, "the server's data folder `DIR`")
	cmd.Flags().StringVar(&to, "to", "", "write the copy to `FILE` (must not exist)")
	return cmd
}

func newServeRestoreCommand() *cobra.Command {
	o := &storeOptions{}
	var from string
	cmd := &cobra.Command{
		Use:   "restore",
		Short: "Check a backup and put it in an empty data folder, for the server to start on",
		Long: `Restore a copy written by violet serve backup into --data, a data folder that
is empty or does not exist yet (it is created, mode 0700): it never writes over
a database. The copy is checked first, in a temporary file in the folder: an
SQLite database (quick_check), of a schema version this Violet knows, whose
audit chain verifies. Then it becomes violet.db (mode 0600, synced) and the
audit head is printed: compare it with the one kept at the backup, then start
violet serve --data on the folder. For PostgreSQL, use pg_restore into an
empty database, then violet audit verify --database.`,
		Example: `  violet serve restore --from /backup/violet-2026-12-05.db --data /var/lib/violet`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case o.database != "":
				return usageError(errors.New("--database: restore PostgreSQL with pg_restore into an empty database " +
					"(pg_restore -d URL violet.dump), then check it with violet audit verify --database URL"))
			case o.data == "":
				return usageError(errors.New("--data DIR is needed: the empty (or new) data folder to restore into"))
			case from == "":
				return usageError(errors.New("--from FILE is needed: the backup to restore"))
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			res, err := store.Restore(ctx, from, o.data)
			var b *store.AuditBreak
			if errors.As(err, &b) {
				return exitError{code: report.ExitFindings, msg: "nothing restored: the backup's " + b.Error()}
			}
			if err != nil {
				return usageError(fmt.Errorf("nothing restored: %w", err))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Restored %s to %s (schema version %d). Audit log intact: %d records, head seq %d hash %s\n",
				from, res.Path, res.SchemaVersion, res.Head.Seq, res.Head.Seq, res.Head.Hash)
			return nil
		},
	}
	cmd.Long = withExitCodes(cmd.Long, "serve restore")
	o.addFlags(cmd, "restore into the data folder `DIR` (empty, or created)")
	cmd.Flags().StringVar(&from, "from", "", "the backup `FILE` to restore (written by violet serve backup)")
	return cmd
}

// adminTeam returns the built-in team server.AdminTeam, created when missing.
func adminTeam(ctx context.Context, st *store.Store, a store.Actor) (store.Team, error) {
	team, err := st.CreateTeam(ctx, a, server.AdminTeam)
	if !errors.Is(err, store.ErrExists) {
		return team, err
	}
	teams, err := st.Teams(ctx)
	if err != nil {
		return store.Team{}, err
	}
	for _, t := range teams {
		if t.Name == server.AdminTeam {
			return t, nil
		}
	}
	return store.Team{}, fmt.Errorf("team admin: %w", store.ErrNotFound)
}

// scanLocations reads --scan-root (made absolute and clean) and
// --scan-registry (lower case).
func scanLocations(cmd *cobra.Command) (roots, registries []string, err error) {
	rs, _ := cmd.Flags().GetStringArray("scan-root")
	for _, r := range rs {
		abs, err := filepath.Abs(r)
		if err != nil {
			return nil, nil, fmt.Errorf("--scan-root %s: %w", r, err)
		}
		roots = append(roots, abs)
	}
	regs, _ := cmd.Flags().GetStringArray("scan-registry")
	for _, r := range regs {
		if r == "" || strings.ContainsAny(r, "/ ") {
			return nil, nil, fmt.Errorf("--scan-registry %q: want HOST or HOST:PORT", r)
		}
		registries = append(registries, strings.ToLower(r))
	}
	return roots, registries, nil
}

// queueWeeklyReports queues each team's weekly report for the webhooks,
// once per ISO week (store.QueueWeeklyReport): rendered only at the first
// hourly check of the week.
func queueWeeklyReports(ctx context.Context, st *store.Store) error {
	teams, err := st.Teams(ctx)
	if err != nil {
		return err
	}
	for _, t := range teams {
		render := func() (string, error) {
			md, err := server.WeeklyReport(ctx, st, t, time.Now().UTC(), "markdown")
			return string(md), err
		}
		if _, err := st.QueueWeeklyReport(ctx, store.Actor{Name: "violet serve", Remote: "local"}, t.ID, render); err != nil {
			return err
		}
	}
	return nil
}

// hourlyCheck takes the day's metrics snapshot and queues the due reminders
// (trainings overdue, drills due) now and then every hour
// (store.TakeSnapshot writes one per team and day), until ctx ends.
func hourlyCheck(ctx context.Context, st *store.Store, report func(error)) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		if _, err := st.TakeSnapshot(ctx, store.Actor{Name: "violet serve", Remote: "local"}, time.Now()); err != nil && ctx.Err() == nil {
			report(err)
		}
		// The reminders (trainings overdue, drills due) and the weekly
		// report go to the webhooks.
		if _, err := st.QueueDueNotices(ctx, store.Actor{Name: "violet serve", Remote: "local"}); err != nil && ctx.Err() == nil {
			report(err)
		}
		if err := queueWeeklyReports(ctx, st); err != nil && ctx.Err() == nil {
			report(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
