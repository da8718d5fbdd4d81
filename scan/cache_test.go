package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/finding"
	tu "github.com/violet-mlsecops/violet/internal/testutil"
	"github.com/violet-mlsecops/violet/report"
)

var (
	cacheEvil  = tu.NewPickle(2).Call("posix", "system", "id").Stop().Bytes()
	cacheClean = tu.NewPickle(2).Global("collections", "OrderedDict").EmptyTuple().Reduce().Stop().Bytes()
)

// marker is a test analyzer: it claims inputs that start with "%MARK" and
// reports each as a name mismatch (a complete finding), at offset 5.
type marker struct {
	version, sniffVersion string
}

func (m *marker) Name() string    { return "marker" }
func (m *marker) Version() string { return m.version }
func (m *marker) Sniff(in *analyzer.Input) bool {
	return bytes.HasPrefix(in.Head, []byte("%MARK"))
}
func (m *marker) Analyze(_ context.Context, in *analyzer.Input, out analyzer.Output) error {
	out.Format("marker")
	out.Report(finding.New(markRule, finding.Location{Path: in.Location.Path, Member: in.Location.Member, Offset: 5}, "marked", "MARK"))
	return nil
}

// markRule is the rule marker reports.
const markRule = finding.FormatNameMismatch

// sniffVersioned is a marker with a sniff version of its own.
type sniffVersioned struct{ *marker }

func (s sniffVersioned) SniffVersion() string { return s.sniffVersion }

func cacheOptions(c Cache, extra ...analyzer.Analyzer) (Options, *CacheStats) {
	stats := &CacheStats{}
	list := append(Analyzers(pickle.DefaultPolicy()), extra...)
	return Options{Analyzers: list, Limits: analyzer.DefaultLimits(), Workers: 2, Cache: c, CacheStats: stats}, stats
}

func scanWith(t *testing.T, opts Options, targets ...string) *report.Report {
	t.Helper()
	r, err := Scan(context.Background(), targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// comparable strips what differs between two scans of the same files.
func comparable(r *report.Report) []report.File {
	files := slices.Clone(r.Files)
	for i := range files {
		files[i].SHA256 = ""
	}
	return files
}

func counts(s *CacheStats) string {
	return fmt.Sprintf("hits %d misses %d stored %d errors %d", s.Hits.Load(), s.Misses.Load(), s.Stored.Load(), s.Errors.Load())
}

// A file of the same bytes and name under another folder is taken from the
// cache, its findings re-pathed; the report is the one a scan without the
// cache gives.
func TestCacheReuseAtAnotherPath(t *testing.T) {
	root := t.TempDir()
	for _, v := range []string{"v1", "v2"} {
		writeIn(t, filepath.Join(root, v), "model.pkl", cacheEvil)
		writeIn(t, filepath.Join(root, v), "clean.pkl", cacheClean)
		writeIn(t, filepath.Join(root, v), "config.json", []byte(`{"model_type": "bert"}`))
	}
	c := &MemoryCache{}
	opts, stats := cacheOptions(c)
	scanWith(t, opts, filepath.Join(root, "v1"))
	// config.json is claimed by hf-remote-code, which may read the Python
	// files beside it: never cached.
	if got := counts(stats); got != "hits 0 misses 3 stored 2 errors 0" {
		t.Fatalf("first scan: %s", got)
	}
	opts, stats = cacheOptions(c)
	opts.Digest = true
	got := scanWith(t, opts, filepath.Join(root, "v2"))
	if s := counts(stats); s != "hits 2 misses 1 stored 0 errors 0" {
		t.Fatalf("second scan: %s", s)
	}
	plain, _ := cacheOptions(nil)
	want := scanWith(t, plain, filepath.Join(root, "v2"))
	if !reflect.DeepEqual(comparable(got), comparable(want)) {
		t.Fatalf("from the cache:\n%+v\nanalyzed:\n%+v", got.Files, want.Files)
	}
	if got.ExitCode(finding.High) != report.ExitFindings {
		t.Fatalf("exit %d", got.ExitCode(finding.High))
	}
	for _, f := range got.Files {
		if f.SHA256 == "" {
			t.Errorf("%s: no digest", f.Path)
		}
		for _, x := range f.Findings {
			if x.Location.Path != f.Path {
				t.Errorf("%s: finding at %s", f.Path, x.Location.Path)
			}
		}
	}
	// The same bytes under another name are another entry: the engine
	// judges names (a .safetensors holding a pickle).
	writeIn(t, filepath.Join(root, "v3"), "model.safetensors", cacheEvil)
	opts, stats = cacheOptions(c)
	r := scanWith(t, opts, filepath.Join(root, "v3"))
	if s := counts(stats); s != "hits 0 misses 1 stored 1 errors 0" {
		t.Fatalf("renamed: %s", s)
	}
	if !fileHas(r.Files[0], finding.FormatNameMismatch) {
		t.Fatalf("renamed file lost its name check: %+v", r.Files[0].Findings)
	}
}

// writeIn writes dir/name, making dir.
func writeIn(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return tu.WriteFile(t, dir, name, data)
}

func fileHas(f report.File, rule string) bool { return hasRule(f.Findings, rule) }

// A result is reused only while the analyzers that judged it are the same:
// a new version of the analyzer that claimed the file, or of one that did
// not and has no sniff version of its own, makes it analyzed again; a new
// Version with the same SniffVersion of an analyzer that did not claim it
// does not; an analyzer added or a changed allowlist changes the key.
func TestCacheInvalidation(t *testing.T) {
	dir := t.TempDir()
	tu.WriteFile(t, dir, "a.bin", []byte("%MARK this file"))
	tu.WriteFile(t, dir, "b.pkl", cacheEvil)
	c := &MemoryCache{}
	run := func(m analyzer.Analyzer, wantHits, wantMisses int64) *report.Report {
		t.Helper()
		opts, stats := cacheOptions(c, m)
		r := scanWith(t, opts, dir)
		if stats.Hits.Load() != wantHits || stats.Misses.Load() != wantMisses {
			t.Fatalf("%s: %s, want %d hits %d misses", m.Version(), counts(stats), wantHits, wantMisses)
		}
		if !fileHas(r.Files[0], markRule) || !fileHas(r.Files[1], finding.PickleProcess) {
			t.Fatalf("verdicts changed: %+v", r.Files)
		}
		return r
	}
	run(&marker{version: "1"}, 0, 2)
	run(&marker{version: "1"}, 2, 0)
	// The claimer of a.bin changes: a.bin again; b.pkl too, since marker
	// has no sniff version (its Sniff may now claim b.pkl).
	run(&marker{version: "2"}, 0, 2)
	// The same Version with a sniff version of its own: a.bin's claimer
	// is unchanged; b.pkl was judged when marker's sniff version was "2".
	run(sniffVersioned{&marker{version: "2", sniffVersion: "s1"}}, 1, 1)
	// A new judging version, the same sniffing: only the claimed file.
	run(sniffVersioned{&marker{version: "3", sniffVersion: "s1"}}, 1, 1)
	run(sniffVersioned{&marker{version: "3", sniffVersion: "s1"}}, 2, 0)
	// A new sniff version: every file marker did not claim (b.pkl); the
	// file it claimed keeps its result while its Version is the same.
	run(sniffVersioned{&marker{version: "3", sniffVersion: "s2"}}, 1, 1)

	// An analyzer left out or added: another policy digest.
	opts, stats := cacheOptions(c)
	scanWith(t, opts, filepath.Join(dir, "b.pkl"))
	if stats.Hits.Load() != 0 {
		t.Fatalf("without marker: %s", counts(stats))
	}
	// The allowlist: posix.system allowed is another policy.
	allowed, err := pickle.DefaultPolicy().WithAllowed("posix.system")
	if err != nil {
		t.Fatal(err)
	}
	opts, stats = cacheOptions(c)
	opts.Analyzers = Analyzers(allowed)
	r := scanWith(t, opts, filepath.Join(dir, "b.pkl"))
	if stats.Hits.Load() != 0 || fileHas(r.Files[0], finding.PickleProcess) {
		t.Fatalf("another allowlist: %s, %+v", counts(stats), r.Files[0].Findings)
	}
	if PolicyDigest(opts) == PolicyDigest(Options{Analyzers: Analyzers(pickle.DefaultPolicy()), Limits: opts.Limits}) {
		t.Fatal("the allowlist does not change the policy digest")
	}
	limits := opts.Limits
	limits.MaxPickleOps--
	if PolicyDigest(opts) == PolicyDigest(Options{Analyzers: opts.Analyzers, Limits: limits}) {
		t.Fatal("the limits do not change the policy digest")
	}
	if PolicyDigest(opts) != PolicyDigest(Options{Analyzers: opts.Analyzers, Limits: opts.Limits, FailOn: finding.Low, Workers: 7}) {
		t.Fatal("fail-on or workers change the policy digest")
	}
}

// Severity overrides apply to cached findings as to new ones.
func TestCacheSeverityOverride(t *testing.T) {
	dir := t.TempDir()
	tu.WriteFile(t, dir, "model.pkl", cacheEvil)
	c := &MemoryCache{}
	opts, _ := cacheOptions(c)
	scanWith(t, opts, dir)
	opts, stats := cacheOptions(c)
	opts.Severity = map[string]finding.Severity{finding.PickleProcess: finding.Low}
	r := scanWith(t, opts, dir)
	if stats.Hits.Load() != 1 {
		t.Fatalf("%s", counts(stats))
	}
	for _, x := range r.Files[0].Findings {
		if x.Rule == finding.PickleProcess && x.Severity != finding.Low {
			t.Fatalf("override not applied: %+v", x)
		}
	}
}

// brokenCache fails every call.
type brokenCache struct{}

func (brokenCache) Get(context.Context, string) ([]byte, bool, error) {
	return nil, false, errors.New("database down")
}
func (brokenCache) Put(context.Context, string, []byte) error { return errors.New("database down") }

// A cache that fails, or that holds corrupt values, never makes a file
// pass: every file is analyzed.
func TestCacheBrokenOrCorrupt(t *testing.T) {
	dir := t.TempDir()
	tu.WriteFile(t, dir, "model.pkl", cacheEvil)
	tu.WriteFile(t, dir, "clean.pkl", cacheClean)
	plain, _ := cacheOptions(nil)
	want := comparable(scanWith(t, plain, dir))

	opts, stats := cacheOptions(brokenCache{})
	if got := comparable(scanWith(t, opts, dir)); !reflect.DeepEqual(got, want) {
		t.Fatalf("broken cache:\n%+v\nwant\n%+v", got, want)
	}
	if stats.Errors.Load() != 4 || stats.Hits.Load() != 0 {
		t.Fatalf("broken cache: %s", counts(stats))
	}

	c := &MemoryCache{}
	opts, _ = cacheOptions(c)
	scanWith(t, opts, dir)
	for _, bad := range []func([]byte) []byte{
		func([]byte) []byte { return []byte("not json") },
		func(b []byte) []byte { return b[:len(b)/2] },
		func(b []byte) []byte { return bytes.Replace(b, []byte(`"format":1`), []byte(`"format":99`), 1) },
		func(b []byte) []byte { return bytes.Replace(b, []byte(`"rule":"`), []byte(`"rule":"NO-SUCH-`), 1) },
		func(b []byte) []byte { return append(b, []byte(`{}`)...) },
		func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"format":1`), []byte(`"format":1,"extra":true`), 1)
		},
	} {
		var unchanged int64 // a corruption that does not apply to a value
		for k, v := range c.m {
			if c.m[k] = bad(v); bytes.Equal(c.m[k], v) {
				unchanged++
			}
		}
		opts, stats := cacheOptions(c)
		if got := comparable(scanWith(t, opts, dir)); !reflect.DeepEqual(got, want) {
			t.Fatalf("corrupt cache:\n%+v\nwant\n%+v", got, want)
		}
		if stats.Hits.Load() != unchanged || stats.Misses.Load() != 2-unchanged || stats.Stored.Load() != 2-unchanged {
			t.Fatalf("corrupt cache: %s", counts(stats))
		}
	}
}

// A file not fully analyzed (a limit reached, a SCAN-ERROR) is never
// cached: it is analyzed every time.
func TestCacheIncompleteNotCached(t *testing.T) {
	dir := t.TempDir()
	members := map[string]string{}
	for i := range 20 {
		members[fmt.Sprintf("m%02d.txt", i)] = "x"
	}
	tu.WriteFile(t, dir, "many.zip", tu.ZipBytes(t, members))
	c := &MemoryCache{}
	for range 2 {
		opts, stats := cacheOptions(c)
		opts.Limits.MaxMembers = 5
		r := scanWith(t, opts, dir)
		if !r.Files[0].Incomplete || !fileHas(r.Files[0], finding.LimitMembers) {
			t.Fatalf("not incomplete: %+v", r.Files[0])
		}
		if stats.Stored.Load() != 0 || stats.Hits.Load() != 0 {
			t.Fatalf("incomplete file: %s", counts(stats))
		}
	}
	if c.Len() != 0 {
		t.Fatalf("%d values cached", c.Len())
	}
	// A value claiming an incomplete result is refused.
	if _, err := decodeCacheValue([]byte(`{"format":1,"claimed":[],"consulted":[],"findings":[{"rule":"LIMIT-MEMBERS","severity":"high","title":"","message":"","location":{"path":"","offset":-1},"incomplete":true}],"formats":[]}`)); err == nil {
		t.Fatal("an incomplete cached value decoded")
	}
}

// Members of archives: a zip holding a dangerous pickle at two paths is
// taken from the cache with its member paths, and an analyzer that claimed
// only a member invalidates the zip's result when its version changes.
func TestCacheArchiveMembers(t *testing.T) {
	root := t.TempDir()
	data := tu.ZipBytes(t, map[string]string{"inner/data.pkl": string(cacheEvil), "mark.txt": "%MARK inside"})
	a := writeIn(t, filepath.Join(root, "a"), "bundle.zip", data)
	b := writeIn(t, filepath.Join(root, "b"), "bundle.zip", data)
	c := &MemoryCache{}
	opts, _ := cacheOptions(c, sniffVersioned{&marker{version: "1", sniffVersion: "s"}})
	first := scanWith(t, opts, a)
	opts, stats := cacheOptions(c, sniffVersioned{&marker{version: "1", sniffVersion: "s"}})
	second := scanWith(t, opts, b)
	if stats.Hits.Load() != 1 {
		t.Fatalf("%s", counts(stats))
	}
	var members []string
	for _, x := range second.Files[0].Findings {
		if x.Location.Path != b {
			t.Fatalf("finding at %s", x.Location.Path)
		}
		members = append(members, strings.Join(x.Location.Member, "/"))
	}
	if !slices.Contains(members, "inner/data.pkl") || !slices.Contains(members, "mark.txt") {
		t.Fatalf("members %v", members)
	}
	first.Files[0].Path = b
	for i := range first.Files[0].Findings {
		first.Files[0].Findings[i].Location.Path = b
	}
	if !reflect.DeepEqual(comparable(first), comparable(second)) {
		t.Fatalf("cached %+v\nanalyzed %+v", second.Files, first.Files)
	}
	// marker claimed only a member: its new version re-analyzes the zip.
	opts, stats = cacheOptions(c, sniffVersioned{&marker{version: "2", sniffVersion: "s"}})
	scanWith(t, opts, b)
	if stats.Hits.Load() != 0 || stats.Misses.Load() != 1 {
		t.Fatalf("member's analyzer changed: %s", counts(stats))
	}
}

// An analyzer that reads the files beside a file (ONNX external data, the
// Python files of a configuration) makes the file's result uncached.
func TestCacheReadsBesideNotCached(t *testing.T) {
	dir := t.TempDir()
	tu.WriteFile(t, dir, "config.json", []byte(`{"auto_map": {"AutoModel": "modeling.Model"}}`))
	tu.WriteFile(t, dir, "modeling.py", []byte("import os\n"))
	c := &MemoryCache{}
	opts, stats := cacheOptions(c)
	r := scanWith(t, opts, dir)
	if !slices.Contains(r.Files[0].Formats, "hf-config") {
		t.Fatalf("config.json not read as a configuration: %+v", r.Files[0])
	}
	if stats.Stored.Load() != 1 { // modeling.py only
		t.Fatalf("%s", counts(stats))
	}
}

// The key of a .bin file says whether a model beside it may keep its
// weights there (the engine then does not ask for a format).
func TestCacheSidecar(t *testing.T) {
	root := t.TempDir()
	writeIn(t, filepath.Join(root, "a"), "weights.bin", []byte("raw float bytes"))
	writeIn(t, filepath.Join(root, "b"), "weights.bin", []byte("raw float bytes"))
	writeIn(t, filepath.Join(root, "b"), "model.xml", []byte("<net/>"))
	c := &MemoryCache{}
	opts, _ := cacheOptions(c)
	ra := scanWith(t, opts, filepath.Join(root, "a"))
	opts, stats := cacheOptions(c)
	rb := scanWith(t, opts, filepath.Join(root, "b"))
	if stats.Hits.Load() != 0 {
		t.Fatalf("%s", counts(stats))
	}
	if !fileHas(ra.Files[0], finding.FormatUnrecognized) || fileHas(rb.Files[1], finding.FormatUnrecognized) {
		t.Fatalf("a: %+v\nb: %+v", ra.Files, rb.Files)
	}
}

// The MemoryCache keeps copies and stops at its bound.
func TestMemoryCache(t *testing.T) {
	c := &MemoryCache{Max: 1}
	v := []byte("v")
	if err := c.Put(context.Background(), "k", v); err != nil {
		t.Fatal(err)
	}
	v[0] = 'x'
	got, ok, _ := c.Get(context.Background(), "k")
	if !ok || string(got) != "v" {
		t.Fatalf("%q %v", got, ok)
	}
	_ = c.Put(context.Background(), "k2", v)
	if _, ok, _ := c.Get(context.Background(), "k2"); ok || c.Len() != 1 {
		t.Fatal("bound not kept")
	}
}

// Every analyzer that holds the user's configuration (the pickle policy,
// itself or through the pickle analyzer) says so (analyzer.Configured):
// without it, a result judged under another allowlist could be reused.
func TestAnalyzersConfigured(t *testing.T) {
	configTypes := []reflect.Type{reflect.TypeFor[*pickle.Policy](), reflect.TypeFor[*pickle.Analyzer]()}
	n := 0
	for _, a := range Analyzers(pickle.DefaultPolicy()) {
		v := reflect.Indirect(reflect.ValueOf(a))
		if v.Kind() != reflect.Struct {
			continue
		}
		for i := range v.NumField() {
			if slices.Contains(configTypes, v.Field(i).Type()) {
				n++
				if _, ok := a.(analyzer.Configured); !ok {
					t.Errorf("%s holds the policy but has no ConfigDigest", a.Name())
				}
			}
		}
	}
	if n < 3 {
		t.Fatalf("%d analyzers hold the policy: the test no longer sees them", n)
	}
}

// FuzzDecodeCacheValue: any bytes decode or fail, never panic, and what
// decodes is valid by the decoder's rules.
func FuzzDecodeCacheValue(f *testing.F) {
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "model.pkl"), cacheEvil, 0o644); err != nil {
		f.Fatal(err)
	}
	c := &MemoryCache{}
	opts, _ := cacheOptions(c)
	if _, err := Scan(context.Background(), []string{dir}, opts); err != nil {
		f.Fatal(err)
	}
	for _, v := range c.m {
		f.Add(v)
	}
	f.Add([]byte(`{"format":1}`))
	f.Add([]byte(`{"format":1,"findings":[{"rule":"PICKLE-LIMIT","severity":"high","location":{"path":"","offset":0}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decodeCacheValue(b)
		if err != nil {
			return
		}
		if v.Format != cacheFormat {
			t.Fatalf("format %d", v.Format)
		}
		for _, x := range v.Findings {
			if x.Incomplete || x.Location.Path != "" {
				t.Fatalf("decoded %+v", x)
			}
		}
		validCacheValue(v, opts.Analyzers)
	})
}

// BenchmarkScanCache scans 100 versions of a model, each a folder of 50
// small files of which 45 are the same in every version (configurations,
// tokenizer files, pickles) and 5 are its own, one folder per Scan as a
// registry scan does (one shared file is a pickle of 40,000 strings, about
// half a megabyte), with and without a cache kept across the versions
// (new for every iteration). hits/op and misses/op are per 100 versions.
func BenchmarkScanCache(b *testing.B) {
	const versions, files, shared = 100, 50, 45
	root := b.TempDir()
	var dirs []string
	for v := range versions {
		dir := filepath.Join(root, fmt.Sprintf("v%03d", v))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for i := range files {
			id := i
			if i >= shared {
				id = v*files + i // this version's own content
			}
			var name string
			var data []byte
			switch {
			case i == 0:
				// A larger pickle shared by every version: 40,000 strings.
				name = "vocab.pkl"
				p := tu.NewPickle(2).Raw(']', '(')
				for k := range 40_000 {
					p.Str(fmt.Sprintf("token-%d", k))
				}
				data = p.Raw('e').Stop().Bytes()
			default:
				data = nil
			}
			switch i % 3 {
			case 0:
				if data != nil {
					break
				}
				name = fmt.Sprintf("state%02d.pkl", i)
				p := tu.NewPickle(2).Global("collections", "OrderedDict").EmptyTuple().Reduce()
				for k := range 20 {
					p.Str(fmt.Sprintf("layer.%d.%d", id, k)).Int(int32(k))
				}
				data = p.Stop().Bytes()
			case 1:
				name = fmt.Sprintf("config%02d.yaml", i)
				data = fmt.Appendf(nil, "model: %d\nlayers: 12\nhidden: 768\n", id)
			default:
				name = fmt.Sprintf("README%02d.md", i)
				data = bytes.Repeat(fmt.Appendf(nil, "Model card %d.\n", id), 50)
			}
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				b.Fatal(err)
			}
		}
		dirs = append(dirs, dir)
	}
	for _, cached := range []bool{false, true} {
		b.Run(fmt.Sprintf("cache=%t", cached), func(b *testing.B) {
			var hits, misses int64
			for b.Loop() {
				var c Cache
				if cached {
					c = &MemoryCache{}
				}
				opts, stats := cacheOptions(c)
				opts.Workers = 0
				for _, dir := range dirs {
					r, err := Scan(context.Background(), []string{dir}, opts)
					if err != nil {
						b.Fatal(err)
					}
					if r.Summary.Files != files || r.Summary.Incomplete != 0 {
						b.Fatalf("%s: %+v", dir, r.Summary)
					}
				}
				hits += stats.Hits.Load()
				misses += stats.Misses.Load()
			}
			b.ReportMetric(float64(hits)/float64(b.N), "hits/op")
			b.ReportMetric(float64(misses)/float64(b.N), "misses/op")
			b.ReportMetric(float64(versions*files)*float64(b.N)/b.Elapsed().Seconds(), "files/s")
		})
	}
}

// delegating is a marker that judges with another analyzer's code.
type delegating struct {
	*marker
	delegate string
}

func (d delegating) DelegateVersions() []string { return []string{d.delegate} }

// A result of an analyzer that judges with another (numpy with pickle) is
// analyzed again when that other analyzer's version changes.
func TestCacheDelegateVersion(t *testing.T) {
	dir := t.TempDir()
	tu.WriteFile(t, dir, "a.bin", []byte("%MARK this file"))
	c := &MemoryCache{}
	for _, tc := range []struct {
		delegate   string
		hit        int64
		wantClaims string
	}{{"pickle/3", 0, "marker/1+pickle/3"}, {"pickle/3", 1, ""}, {"pickle/4", 0, "marker/1+pickle/4"}} {
		opts, stats := cacheOptions(c, delegating{&marker{version: "1"}, tc.delegate})
		r := scanWith(t, opts, dir)
		if stats.Hits.Load() != tc.hit || !fileHas(r.Files[0], markRule) {
			t.Fatalf("%s: %s", tc.delegate, counts(stats))
		}
		if tc.wantClaims == "" {
			continue
		}
		found := false
		for _, b := range c.m {
			found = found || bytes.Contains(b, []byte(`"claimed":["`+tc.wantClaims+`"]`))
		}
		if !found {
			t.Fatalf("no value claims %s", tc.wantClaims)
		}
	}
}
