// Package server is the HTTP API of violet serve on a store.Store: REST
// under /api/v1 (described by the embedded OpenAPI document, openapi.json),
// API token authentication, per-team access to models, a role table, rate
// limits, and JSON errors with stable codes.
//
// The store records and audits; this package authenticates, authorizes and
// bounds what it reads. Every mutation goes through a store method with the
// token as the actor and the client's address.
package server

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/violet-mlsecops/violet/store"
)

// OpenAPI is the OpenAPI 3.1 document of the API, served at
// /api/v1/openapi.json.
//
//go:embed openapi.json
var OpenAPI []byte

// maxJSONBody bounds a JSON request body that is not a report.
const maxJSONBody = 1 << 20

// RateLimit is a token bucket: Burst events at once, then one per Every.
type RateLimit struct {
	Burst int
	Every time.Duration
}

// Options configure the server. The zero value is usable.
type Options struct {
	// Logger logs requests that failed on the server's side (nil: none).
	Logger *slog.Logger
	// AuthFailures limits failed token authentications per client address
	// (default: 10 at once, then one per 6 s).
	AuthFailures RateLimit
	// Uploads limits evidence and BOM uploads per token (default: 60 at
	// once, then one per second).
	Uploads RateLimit
	// Now is the clock of the rate limits (default time.Now).
	Now func() time.Time
	// Enqueue inserts the job of a scan request (POST .../scans) in the
	// request's transaction (jobs.Runner.Enqueuer); nil: scan requests
	// are refused (503).
	Enqueue store.Enqueue
	// ScanRoots are the local folders a scan request may name (a location
	// that is a path must be one of them or under one); none: no local
	// path is accepted over the API, so that no API user makes a worker
	// read the server's own files.
	ScanRoots []string
	// ScanRegistries are the OCI registries (host or host:port) an oci://
	// location of a scan request may name; none: no oci:// location, so
	// that no API user makes a worker connect to any host it can reach.
	// hf:// and s3:// go to the endpoints the worker is configured with.
	ScanRegistries []string
}

// Server serves the API of a store.
type Server struct {
	st       *store.Store
	log      *slog.Logger
	mux      *http.ServeMux
	failures *limiter
	uploads  *limiter
	// slots bounds the uploads read at once (each holds up to
	// store.MaxEvidenceSize in memory).
	slots chan struct{}
	// enqueue inserts a scan request's job (Options.Enqueue).
	enqueue store.Enqueue
	// scanRoots and scanRegistries bound the locations of scan requests.
	scanRoots, scanRegistries []string
}

// maxConcurrentUploads is how many uploads the server reads at once; the
// others wait for a slot (or their client gives up).
const maxConcurrentUploads = 4

// New returns the HTTP handler of the API on st.
func New(st *store.Store, opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AuthFailures.Burst <= 0 {
		opts.AuthFailures = RateLimit{Burst: 10, Every: 6 * time.Second}
	}
	if opts.Uploads.Burst <= 0 {
		opts.Uploads = RateLimit{Burst: 60, Every: time.Second}
	}
	s := &Server{st: st, log: opts.Logger, mux: http.NewServeMux(),
		failures: newLimiter(opts.AuthFailures, opts.Now), uploads: newLimiter(opts.Uploads, opts.Now),
		slots: make(chan struct{}, maxConcurrentUploads), enqueue: opts.Enqueue,
		scanRoots: opts.ScanRoots, scanRegistries: opts.ScanRegistries}
	for _, rt := range s.routes() {
		s.mux.Handle(rt.method+" "+rt.pattern, s.wrap(rt))
	}
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	// The mux answers an unknown path (404) or a known path with another
	// method (405) in plain text: answer in JSON instead.
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.mux.ServeHTTP(&plainCatcher{ResponseWriter: w}, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// plainCatcher turns the mux's plain-text 404 and 405 into JSON errors.
type plainCatcher struct {
	http.ResponseWriter
	swallow bool
}

func (m *plainCatcher) WriteHeader(code int) {
	switch code {
	case http.StatusMethodNotAllowed:
		m.swallow = true
		writeError(m.ResponseWriter, code, "method_not_allowed", "method not allowed on this path")
	case http.StatusNotFound:
		m.swallow = true
		writeError(m.ResponseWriter, code, "not_found", "no such endpoint")
	default:
		m.ResponseWriter.WriteHeader(code)
	}
}

func (m *plainCatcher) Write(b []byte) (int, error) {
	if m.swallow {
		return len(b), nil
	}
	return m.ResponseWriter.Write(b)
}

// Permission is what an operation needs of a token: a permission of the
// store's role table, or PermPublic.
type Permission = store.Permission

// The permissions of the API.
const (
	PermPublic      Permission = "" // no token
	PermRead                   = store.PermRead
	PermWrite                  = store.PermWrite
	PermTriage                 = store.PermTriage
	PermAdmin                  = store.PermAdmin
	PermSignoff                = store.PermSignoff
	PermTraining               = store.PermTraining
	PermProcurement            = store.PermProcurement
)

// RoleTable is who holds each permission (store.RolePermissions, which the
// web UI judges by too).
var RoleTable = store.RolePermissions

// Allowed reports whether role holds permission p.
func Allowed(role store.Role, p Permission) bool {
	return p == PermPublic || role.May(p)
}

// route is one operation of the API.
type route struct {
	method, pattern string
	perm            Permission
	upload          bool // counts against the upload rate limit
	handle          func(c *call) error
}

// Route names one operation: its method, its path pattern and the
// permission it needs.
type Route struct {
	Method, Pattern string
	Perm            Permission
}

// Routes lists the operations the server serves.
func Routes() []Route {
	var out []Route
	for _, rt := range (&Server{}).routes() {
		out = append(out, Route{rt.method, rt.pattern, rt.perm})
	}
	return out
}

// routes is the table of operations; openapi.json describes the same
// (TestOpenAPIRoutes).
func (s *Server) routes() []route {
	const m = "/api/v1/models/{model}"
	const v = m + "/versions/{digest}"
	return []route{
		{"GET", "/healthz", PermPublic, false, s.healthz},
		{"GET", "/readyz", PermPublic, false, s.readyz},
		{"GET", "/metrics", PermRead, false, s.prometheus},
		{"GET", "/api/v1/metrics", PermRead, false, s.getMetrics},
		{"PUT", "/api/v1/metrics/targets", PermAdmin, false, s.setMetricTarget},
		{"GET", "/api/v1/openapi.json", PermPublic, false, s.openapi},
		{"GET", "/api/v1/teams", PermAdmin, false, s.listTeams},
		{"POST", "/api/v1/teams", PermAdmin, false, s.createTeam},
		{"POST", "/api/v1/teams/{team}/members", PermAdmin, false, s.addMember},
		{"POST", "/api/v1/users", PermAdmin, false, s.createUser},
		{"POST", "/api/v1/tokens", PermAdmin, false, s.createToken},
		{"GET", "/api/v1/audit", PermAdmin, false, s.auditLog},
		{"GET", "/api/v1/webhooks", PermAdmin, false, s.listWebhooks},
		{"POST", "/api/v1/webhooks", PermAdmin, false, s.createWebhook},
		{"DELETE", "/api/v1/webhooks/{webhook}", PermAdmin, false, s.disableWebhook},
		{"GET", "/api/v1/webhooks/{webhook}/deliveries", PermAdmin, false, s.listDeliveries},
		{"GET", "/api/v1/signers", PermRead, false, s.listSigners},
		{"POST", "/api/v1/signers", PermSigners, false, s.addSigner},
		{"DELETE", "/api/v1/signers/{signer}", PermSigners, false, s.removeSigner},
		{"GET", "/api/v1/models", PermRead, false, s.listModels},
		{"POST", "/api/v1/models", PermWrite, false, s.createModel},
		{"GET", m, PermRead, false, s.getModel},
		{"GET", m + "/versions", PermRead, false, s.listVersions},
		{"POST", m + "/scans", PermWrite, false, s.requestScan},
		{"GET", m + "/scans", PermRead, false, s.listScans},
		{"GET", m + "/scans/{scan}", PermRead, false, s.getScan},
		{"PUT", v, PermWrite, false, s.putVersion},
		{"GET", v + "/evidence", PermRead, false, s.listEvidence},
		{"POST", v + "/evidence", PermWrite, true, s.addEvidence},
		{"GET", v + "/findings", PermRead, false, s.listFindings},
		{"GET", v + "/findings/{finding}/history", PermRead, false, s.findingHistory},
		{"PUT", v + "/findings/{finding}/state", PermTriage, false, s.setFindingState},
		{"PUT", "/api/v1/bom", PermWrite, true, s.putBOM},
		{"GET", m + "/owners", PermRead, false, s.listOwners},
		{"GET", v + "/scans", PermRead, false, s.listScanRuns},
		{"GET", v + "/scans/{evidence}/changes", PermRead, false, s.scanChanges},
		{"GET", v + "/lineage", PermRead, false, s.listLineage},
		{"GET", v + "/packages", PermRead, false, s.listPackages},
		{"GET", "/api/v1/where-used", PermRead, false, s.whereUsed},
		{"GET", "/api/v1/discoveries", PermRead, false, s.listDiscoveries},
		{"POST", "/api/v1/discoveries", PermWrite, true, s.addDiscovery},
		{"GET", "/api/v1/risks", PermRead, false, s.listRisks},
		{"POST", "/api/v1/risks", store.PermRisk, false, s.createRisk},
		{"GET", "/api/v1/risks/{risk}", PermRead, false, s.getRisk},
		{"PUT", "/api/v1/risks/{risk}", store.PermRisk, false, s.updateRisk},
		{"GET", m + "/threat-model", PermRead, false, s.getThreatModel},
		{"PUT", m + "/threat-model", store.PermThreatModel, false, s.putThreatModel},
		{"POST", m + "/threat-model/prefill", store.PermThreatModel, false, s.prefillThreatModel},
		{"GET", "/api/v1/blast-radius", PermRead, false, s.blastRadius},
		{"GET", "/api/v1/incidents", PermRead, false, s.listIncidents},
		{"POST", "/api/v1/incidents", PermIncident, false, s.openIncident},
		{"GET", "/api/v1/incidents/{incident}", PermRead, false, s.getIncident},
		{"POST", "/api/v1/incidents/{incident}/events", PermIncidentNote, false, s.addIncidentEvent},
		{"PUT", "/api/v1/incidents/{incident}/state", PermIncident, false, s.setIncidentState},
		{"POST", "/api/v1/incidents/{incident}/affected", PermIncident, false, s.attachAffected},
		{"GET", "/api/v1/drill-scenarios", PermRead, false, s.listDrillScenarios},
		{"GET", "/api/v1/drills", PermRead, false, s.listDrills},
		{"POST", "/api/v1/drills", PermDrill, false, s.scheduleDrill},
		{"GET", "/api/v1/drills/{drill}", PermRead, false, s.getDrill},
		{"POST", "/api/v1/drills/{drill}/start", PermDrill, false, s.startDrill},
		{"POST", "/api/v1/drills/{drill}/close", PermDrill, false, s.closeDrill},
		{"GET", "/api/v1/reports/weekly", PermRead, false, s.weeklyReport},
		{"GET", "/api/v1/releases", PermRead, false, s.listReleases},
		{"POST", "/api/v1/releases", PermWrite, false, s.createRelease},
		{"GET", "/api/v1/releases/{release}", PermRead, false, s.getRelease},
		{"GET", "/api/v1/releases/{release}/record", PermRead, false, s.releaseRecordExport},
		{"POST", "/api/v1/releases/{release}/decisions", PermSignoff, false, s.decideRelease},
		{"GET", "/api/v1/training/courses", PermRead, false, s.listCourses},
		{"POST", "/api/v1/training/courses", PermTraining, false, s.createCourse},
		{"POST", "/api/v1/training/courses/{course}/completions", PermTraining, false, s.recordCompletion},
		{"GET", "/api/v1/training/status", PermRead, false, s.trainingStatus},
		{"GET", "/api/v1/procurement/reviews", PermRead, false, s.listReviews},
		{"POST", "/api/v1/procurement/reviews", PermProcurement, false, s.createReview},
		{"PUT", "/api/v1/procurement/reviews/{review}/decision", PermProcurement, false, s.decideReview},
	}
}

// call is one authenticated request.
type call struct {
	w     http.ResponseWriter
	r     *http.Request
	ctx   context.Context
	token store.Token
	actor store.Actor
}

// apiError is an error with its HTTP status and stable code.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func fail(status int, code, format string, args ...any) error {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

// errorBody is the JSON of an error.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var b errorBody
	b.Error.Code, b.Error.Message = code, msg
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status, data = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"encoding the response"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(data, '\n')) //nolint:errcheck // the client went away
}

// storeErrors map the store's errors to statuses and codes.
var storeErrors = []struct {
	err    error
	status int
	code   string
}{
	{store.ErrNotFound, http.StatusNotFound, "not_found"},
	{store.ErrExists, http.StatusConflict, "exists"},
	{store.ErrConflict, http.StatusConflict, "conflict"},
	{store.ErrTooLarge, http.StatusRequestEntityTooLarge, "too_large"},
	{store.ErrInvalid, http.StatusUnprocessableEntity, "invalid"},
}

// respondError writes err as a JSON error.
func (s *Server) respondError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		writeError(w, ae.status, ae.code, ae.msg)
		return
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is larger than %d bytes", mbe.Limit))
		return
	}
	for _, se := range storeErrors {
		if errors.Is(err, se.err) {
			writeError(w, se.status, se.code, err.Error())
			return
		}
	}
	s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "internal", "the server could not complete the request")
}

// remoteHost is the client's address without its port.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// wrap authenticates and authorizes a request for rt, then runs it.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{w: w, r: r, ctx: r.Context()}
		if rt.perm != PermPublic {
			if err := s.authenticate(c); err != nil {
				s.respondError(w, r, err)
				return
			}
			if !Allowed(c.token.Role, rt.perm) {
				writeError(w, http.StatusForbidden, "forbidden",
					fmt.Sprintf("the role %s may not do this (it needs the %s permission)", c.token.Role, rt.perm))
				return
			}
			if rt.upload && !s.uploads.take(fmt.Sprint(c.token.ID)) {
				w.Header().Set("Retry-After", "1")
				writeError(w, http.StatusTooManyRequests, "rate_limited", "too many uploads with this token: wait and retry")
				return
			}
		}
		if rt.upload {
			select {
			case s.slots <- struct{}{}:
				defer func() { <-s.slots }()
			case <-r.Context().Done():
				return
			}
		}
		if err := rt.handle(c); err != nil {
			s.respondError(w, r, err)
		}
	})
}

// authenticate checks the bearer token. Failures are rate limited per
// client address: past the limit, the answer is 429 without a look at the
// token.
func (s *Server) authenticate(c *call) error {
	host := remoteHost(c.r)
	if !s.failures.has(host) {
		c.w.Header().Set("Retry-After", "60")
		return fail(http.StatusTooManyRequests, "rate_limited", "too many failed authentications from this address: wait and retry")
	}
	h := c.r.Header.Get("Authorization")
	secret, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || secret == "" {
		s.failures.take(host)
		c.w.Header().Set("WWW-Authenticate", `Bearer realm="violet"`)
		return fail(http.StatusUnauthorized, "unauthorized", "an API token is needed: Authorization: Bearer <token>")
	}
	tok, err := s.st.AuthenticateToken(c.ctx, strings.TrimSpace(secret), host)
	if errors.Is(err, store.ErrTokenInvalid) {
		s.failures.take(host)
		c.w.Header().Set("WWW-Authenticate", `Bearer realm="violet", error="invalid_token"`)
		return fail(http.StatusUnauthorized, "unauthorized", "the API token is unknown, expired or revoked")
	}
	if err != nil {
		return err
	}
	c.token = tok
	c.actor = store.Actor{Name: fmt.Sprintf("token:%d", tok.ID), Remote: host}
	return nil
}

func (s *Server) healthz(c *call) error {
	writeJSON(c.w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) readyz(c *call) error {
	ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
	defer cancel()
	if _, err := s.st.AuditHead(ctx); err != nil {
		s.log.Error("database not ready", "err", err)
		return fail(http.StatusServiceUnavailable, "unavailable", "the database does not answer")
	}
	writeJSON(c.w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

func (s *Server) openapi(c *call) error {
	c.w.Header().Set("Content-Type", "application/json")
	c.w.Write(OpenAPI) //nolint:errcheck // the client went away
	return nil
}
