package gate

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/util"
)

// DenyQuery is the query the gate evaluates: a set of objects
// {"id": ..., "msg": ...}, one per reason to refuse the release.
const DenyQuery = "data.violet.gate.deny"

// DefaultEvalTimeout bounds an evaluation whose context has no deadline.
const DefaultEvalTimeout = 10 * time.Second

// MaxEvalMemory bounds the memory an evaluation may hold, with
// EvalMemoryPerFinding more for each finding of the input: a policy that
// builds huge values (a string doubled again and again) is stopped once
// the live heap has grown by this much since the evaluation started. The
// default policy holds about 0.6 KiB per finding.
const MaxEvalMemory = 128 << 20

// EvalMemoryPerFinding is the memory an evaluation may hold for each
// finding of its input, beyond MaxEvalMemory.
const EvalMemoryPerFinding = 1 << 10

// memoryPoll is how often an evaluation's memory is looked at.
const memoryPoll = 2 * time.Millisecond

// errEvalMemory is the cause of an evaluation stopped for its memory.
var errEvalMemory = errors.New("the evaluation used too much memory")

// defaultPolicy is the embedded default policy: its modules, its tests
// and its data.
//
//go:embed policies/*.rego policies/data.json
var defaultPolicy embed.FS

// defaultPolicyDir is where the default policy lies in defaultPolicy.
const defaultPolicyDir = "policies"

// DefaultPolicyFiles returns the embedded default policy's files (Rego
// modules, their tests, and data.json) by base name, for a team to start
// its own policy from.
func DefaultPolicyFiles() (map[string][]byte, error) {
	entries, err := fs.ReadDir(defaultPolicy, defaultPolicyDir)
	if err != nil {
		return nil, err
	}
	files := make(map[string][]byte, len(entries))
	for _, e := range entries {
		b, err := fs.ReadFile(defaultPolicy, path.Join(defaultPolicyDir, e.Name()))
		if err != nil {
			return nil, err
		}
		files[e.Name()] = b
	}
	return files, nil
}

// Policy is a compiled release policy, ready to evaluate many times.
type Policy struct {
	query rego.PreparedEvalQuery
}

// Decision is the outcome of a policy over one Input.
type Decision struct {
	// Allow is true when the policy gave no reason to deny.
	Allow bool `json:"allow"`
	// Reasons are the reasons to deny, sorted by ID then Message.
	Reasons []Reason `json:"reasons"`
}

// Reason is one reason to deny a release.
type Reason struct {
	// ID names the rule that denies ("SCAN-SEVERITY").
	ID string `json:"id"`
	// Message says what, for a person.
	Message string `json:"message"`
	// Severity is the severity of the evidence behind the reason, when
	// the policy gives one.
	Severity string `json:"severity,omitempty"`
}

// sources are the files of a policy: its modules, its test modules and
// its data documents, in the order they were found.
type sources struct {
	modules map[string]*ast.Module
	tests   map[string]*ast.Module
	data    []map[string]any
}

// LoadPolicy compiles a policy. With no dirs it is the embedded default
// policy; otherwise the Rego modules (*.rego but not *_test.rego) of the
// given files and directories (searched recursively). Its data is the
// default policy's data.json, then every data.json, data.yaml or
// data.yml found in dirs, then the files of data (JSON or YAML), each
// merged over the ones before: objects merge key by key, any other value
// replaces. A file of data may set only keys that the data before it (the
// default's and the dirs') defines: an unknown key is an error naming it. The policy is compiled once; Evaluate may be called
// concurrently.
func LoadPolicy(ctx context.Context, dirs []string, data []string) (*Policy, error) {
	src, err := loadSources(dirs, data)
	if err != nil {
		return nil, err
	}
	if !definesDeny(src.modules) {
		return nil, fmt.Errorf("policy: no rule defines %s (a module in package violet.gate with rules \"deny contains reason if ...\")", DenyQuery)
	}
	opts := []func(*rego.Rego){
		rego.Query(DenyQuery),
		rego.Store(src.store()),
		rego.StoreReadAST(true),
		rego.StrictBuiltinErrors(true),
	}
	for _, name := range sortedKeys(src.modules) {
		opts = append(opts, rego.ParsedModule(src.modules[name]))
	}
	q, err := rego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return &Policy{query: q}, nil
}

// Evaluate decides on in. The policy denies when data.violet.gate.deny
// has any member; each member must be an object with a string "id" and
// a string "msg" (and may have a string "severity"). Anything else (deny
// undefined, a conflict between rules, a builtin error, a member that is
// not such an object, the context's deadline or DefaultEvalTimeout, more
// memory than MaxEvalMemory and EvalMemoryPerFinding allow) is an error:
// a broken policy never allows.
func (p *Policy) Evaluate(ctx context.Context, in *Input) (*Decision, error) {
	if in == nil {
		return nil, errors.New("policy: no input")
	}
	findings := 0
	if in.Scan != nil {
		findings += len(in.Scan.Findings)
	}
	if in.Deps != nil {
		findings += len(in.Deps.Findings)
	}
	return p.evaluateValue(ctx, inputValue(withDerived(in)), MaxEvalMemory+uint64(findings)*EvalMemoryPerFinding)
}

// evaluateValue decides on an input already converted to OPA's values,
// holding at most memory bytes more than when it starts.
func (p *Policy) evaluateValue(ctx context.Context, input ast.Value, memory uint64) (*Decision, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultEvalTimeout)
		defer cancel()
	}
	watched, stop := watchMemory(ctx, memory)
	rs, err := p.query.Eval(watched, rego.EvalParsedInput(input))
	stop()
	if cause := context.Cause(watched); errors.Is(cause, errEvalMemory) {
		return nil, fmt.Errorf("policy: %w (more than %d MiB): a policy must not build values that large", cause, memory>>20)
	}
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, fmt.Errorf("policy: %s is undefined", DenyQuery)
	}
	if len(rs) > 1 {
		return nil, fmt.Errorf("policy: %s has %d values", DenyQuery, len(rs))
	}
	return decide(rs[0].Expressions[0].Value)
}

// watchMemory returns a context that is cancelled, with errEvalMemory as
// its cause, once the heap's objects have grown by more than limit bytes
// and a garbage collection leaves them so (garbage does not count), and a
// function that stops watching. OPA checks its context between the steps
// of an evaluation and inside the builtins that build strings, so that a
// policy doubling a string stops before the next doubling. The heap is
// the process's: evaluations running at once share the bound.
func watchMemory(ctx context.Context, limit uint64) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	finished := make(chan struct{})
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	heap := func() uint64 {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return sample[0].Value.Uint64()
	}
	base := heap()
	go func() {
		defer close(finished)
		tick := time.NewTicker(memoryPoll)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if heap() <= base+limit {
				continue
			}
			runtime.GC()
			if heap() > base+limit {
				cancel(errEvalMemory)
				return
			}
		}
	}()
	return ctx, func() {
		close(done)
		<-finished
		cancel(nil)
	}
}

// decide turns the value of deny into a Decision.
func decide(v any) (*Decision, error) {
	members, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("policy: %s is a %s, not a set of reasons", DenyQuery, typeName(v))
	}
	d := &Decision{Allow: len(members) == 0, Reasons: make([]Reason, 0, len(members))}
	for _, m := range members {
		obj, ok := m.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("policy: a reason in %s is a %s, not an object {\"id\": ..., \"msg\": ...}", DenyQuery, typeName(m))
		}
		var r Reason
		if r.ID, ok = obj["id"].(string); !ok || r.ID == "" {
			return nil, fmt.Errorf("policy: a reason in %s has no string \"id\": %s", DenyQuery, jsonText(obj))
		}
		if r.Message, ok = obj["msg"].(string); !ok {
			return nil, fmt.Errorf("policy: reason %s has no string \"msg\"", r.ID)
		}
		if s, present := obj["severity"]; present {
			if r.Severity, ok = s.(string); !ok {
				return nil, fmt.Errorf("policy: reason %s has a \"severity\" that is not a string", r.ID)
			}
		}
		d.Reasons = append(d.Reasons, r)
	}
	sort.Slice(d.Reasons, func(i, j int) bool {
		a, b := d.Reasons[i], d.Reasons[j]
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		return a.Message < b.Message
	})
	return d, nil
}

// typeName names the JSON type of v.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case map[string]any:
		return "object"
	case []any:
		return "set"
	default:
		return "number"
	}
}

// jsonText is v as compact JSON, for messages.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// definesDeny reports whether a module defines a rule at DenyQuery (or
// at a prefix of it, as "gate.deny" in package violet or "deny" in
// package violet.gate do).
func definesDeny(modules map[string]*ast.Module) bool {
	want := ast.MustParseRef(DenyQuery)
	for _, m := range modules {
		for _, r := range m.Rules {
			full := r.Ref()
			ground := full.GroundPrefix()
			if ground.HasPrefix(want) || want.HasPrefix(ground) && len(ground) < len(full) {
				return true
			}
		}
	}
	return false
}

// store is the policy's data, merged.
func (s *sources) store() storage.Store {
	merged := map[string]any{}
	for _, d := range s.data {
		merged = mergeData(merged, d)
	}
	return inmem.NewFromObjectWithOpts(merged, inmem.OptRoundTripOnWrite(false), inmem.OptReturnASTValuesOnRead(true))
}

// mergeData merges over into base: objects key by key, any other value
// replaces.
func mergeData(base, over map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		bm, ok1 := out[k].(map[string]any)
		om, ok2 := v.(map[string]any)
		if ok1 && ok2 {
			out[k] = mergeData(bm, om)
		} else {
			out[k] = v
		}
	}
	return out
}

// loadSources reads the modules and data of a policy: the embedded
// default policy when dirs is empty.
func loadSources(dirs, data []string) (*sources, error) {
	src := &sources{modules: map[string]*ast.Module{}, tests: map[string]*ast.Module{}}
	def, err := fs.ReadFile(defaultPolicy, path.Join(defaultPolicyDir, "data.json"))
	if err != nil {
		return nil, err
	}
	if err := src.addData("(default) data.json", def); err != nil {
		return nil, err
	}
	if len(dirs) == 0 {
		err := fs.WalkDir(defaultPolicy, defaultPolicyDir, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() || !strings.HasSuffix(p, ".rego") {
				return err
			}
			b, err := fs.ReadFile(defaultPolicy, p)
			if err != nil {
				return err
			}
			return src.addModule(p, b)
		})
		if err != nil {
			return nil, err
		}
	}
	for _, d := range dirs {
		if err := src.addPath(d); err != nil {
			return nil, err
		}
	}
	// The data of the policy itself (the default's, and that of its
	// folders) defines the keys the data files given may set.
	known := map[string]any{}
	for _, d := range src.data {
		known = mergeData(known, d)
	}
	for _, f := range data {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("policy data: %w", err)
		}
		m, err := parseData(f, b)
		if err != nil {
			return nil, err
		}
		if err := checkKeys(f, m, known, ""); err != nil {
			return nil, err
		}
		if m != nil {
			src.data = append(src.data, m)
		}
	}
	return src, nil
}

// addPath adds the Rego modules and data files of a file or directory.
func (s *sources) addPath(root string) error {
	info, err := os.Stat(root)
	if err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	if !info.IsDir() {
		b, err := os.ReadFile(root)
		if err != nil {
			return fmt.Errorf("policy: %w", err)
		}
		switch {
		case strings.HasSuffix(root, ".rego"):
			return s.addModule(root, b)
		case isDataFile(filepath.Base(root)):
			return s.addData(root, b)
		}
		return fmt.Errorf("policy: %s is not a Rego module (*.rego) nor a data file (data.json, data.yaml)", root)
	}
	var files []string
	err = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if p != root && strings.HasPrefix(e.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".rego") || isDataFile(e.Name()) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("policy: %w", err)
		}
		if strings.HasSuffix(p, ".rego") {
			err = s.addModule(p, b)
		} else {
			err = s.addData(p, b)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// isDataFile reports whether a file of that base name is a data document.
func isDataFile(name string) bool {
	return name == "data.json" || name == "data.yaml" || name == "data.yml"
}

// addModule parses a Rego v1 module; *_test.rego files are tests.
func (s *sources) addModule(name string, b []byte) error {
	m, err := ast.ParseModuleWithOpts(name, string(b), ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
	if err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	if _, dup := s.modules[name]; dup {
		return nil
	}
	if _, dup := s.tests[name]; dup {
		return nil
	}
	if strings.HasSuffix(name, "_test.rego") {
		s.tests[name] = m
	} else {
		s.modules[name] = m
	}
	return nil
}

// addData parses a JSON or YAML data document, which must be an object.
func (s *sources) addData(name string, b []byte) error {
	m, err := parseData(name, b)
	if err == nil && m != nil {
		s.data = append(s.data, m)
	}
	return err
}

// parseData parses a JSON or YAML data document, which must be an object;
// nil for an empty file.
func parseData(name string, b []byte) (map[string]any, error) {
	var v any
	if err := util.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("policy data %s: %w", name, err)
	}
	if v == nil {
		return nil, nil // an empty file
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("policy data %s: the document is a %s, not an object", name, typeName(v))
	}
	return m, nil
}

// checkKeys reports the first key of over, in key order, that base does
// not have: a data file given to tune a policy may set only the settings
// the policy's own data defines (a misspelt key would otherwise be
// ignored without a word). Objects are compared key by key, except those
// that are empty in base (a map the policy leaves open).
func checkKeys(name string, over, base map[string]any, prefix string) error {
	for _, k := range sortedKeys(over) {
		b, ok := base[k]
		if !ok {
			return fmt.Errorf("policy data %s: unknown key %s%s (known: %s): the policy would ignore it", name, prefix, k, strings.Join(sortedKeys(base), ", "))
		}
		om, ok1 := over[k].(map[string]any)
		bm, ok2 := b.(map[string]any)
		if ok1 && ok2 && len(bm) > 0 {
			if err := checkKeys(name, om, bm, prefix+k+"."); err != nil {
				return err
			}
		}
	}
	return nil
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
