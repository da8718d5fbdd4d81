package pickle

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The differential test runs the same generated pickles through the Go VM
// and through CPython's own C unpickler (testdata/gen/recording_unpickler.py,
// whose find_class and persistent_load return stand-ins: nothing named by a
// pickle is imported or called) and compares, file by file, for the first
// stream: the imports (module, name as find_class receives them), the calls
// (kind, callable), and whether the stream raised. See testdata/gen/README.md.

var (
	diffKeep = flag.String("diffkeep", "", "copy the pickles on which the Go VM and CPython disagree into this directory")
	diffSeed = flag.Int("diffseed", 1, "seed of testdata/gen/gen_pickles.py for TestDifferential")
	diffN    = flag.Int("diffn", 0, "number of pickles for TestDifferential (0: 3000, 300 with -short)")
)

// pyTrace is one line of recording_unpickler.py's output.
type pyTrace struct {
	File        string              `json:"file"`
	Imports     [][2]string         `json:"imports"`
	Calls       [][2]string         `json:"calls"`
	Error       bool                `json:"error"`
	ErrorMsg    string              `json:"error_msg"`
	ErrorType   string              `json:"error_type"`
	Resolved    []string            `json:"resolved"`
	ImportOps   [][]json.RawMessage `json:"import_ops"`
	CallOffsets []int64             `json:"call_offsets"`
	Diag        []string            `json:"diag"`
}

// goTrace is the same view of the Go VM's first stream.
type goTrace struct {
	Imports     [][2]string
	Calls       [][2]string
	Error       bool
	ErrorMsg    string
	Resolved    []string
	ImportOffs  []int64
	CallOffsets []int64
	// Broken is set when the VM panicked or Run failed: always a difference.
	Broken string
}

// comparedKinds are the calls the recorder sees: calls of a stand-in. The
// Go VM also reports APPEND, APPENDS, SETITEM and ADDITEMS on opaque
// objects (method calls of the object), which the recorder's stand-ins
// accept silently.
var comparedKinds = map[string]bool{"REDUCE": true, "INST": true, "OBJ": true, "NEWOBJ": true, "NEWOBJ_EX": true, "BUILD": true}

// resourceErrors are Python-side failures that depend on the machine, not
// on the format: such files are not compared.
var resourceErrors = map[string]bool{"MemoryError": true, "Timeout": true, "RecursionError": true, "crash": true}

func TestDifferential(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 is required by TestDifferential in CI: %v", err)
		}
		t.Skipf("python3 not found: %v", err)
	}
	gen := filepath.Join("..", "..", "testdata", "gen")
	n := *diffN
	if n <= 0 {
		n = 3000
		if testing.Short() {
			n = 300
		}
	}
	files := genPickles(t, python, gen, n)

	// The general set, for the readers that share the C unpickler's
	// semantics; then pickles made to part the readers at frame boundaries,
	// for all three (the pure-Python unpickler differs from the C one in
	// other ways too, which the VM does not model, so it is compared on
	// real pickles whose frames and lengths are changed).
	frameFiles := genPickles(t, python, gen, max(n/3, 100), "--frames")
	for _, r := range diffReaders {
		t.Run(r.name, func(t *testing.T) {
			set := frameFiles
			if r.reader != ReadPython {
				set = append(append([]string(nil), files...), frameFiles...)
			}
			ref := runRecorder(t, python, filepath.Join(gen, "recording_unpickler.py"), set, r.name)
			compareAll(t, set, ref, r.reader)
		})
	}
}

// genPickles runs gen_pickles.py for n files with extra arguments.
func genPickles(t *testing.T, python, gen string, n int, extra ...string) []string {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{filepath.Join(gen, "gen_pickles.py"), "--out", dir, "--n", fmt.Sprint(n), "--seed", fmt.Sprint(*diffSeed)}, extra...)
	if out, err := exec.Command(python, args...).CombinedOutput(); err != nil {
		t.Fatalf("gen_pickles.py: %v\n%s", err, out)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		files = append(files, filepath.Join(dir, e.Name()))
	}
	sort.Strings(files)
	if len(files) != n {
		t.Fatalf("gen_pickles.py wrote %d files, want %d", len(files), n)
	}
	return files
}

// diffReaders are the ways the stream reaches CPython's unpicklers that the
// differential test compares the VM with, each against the same Reader of
// the VM: the C unpickler holding the whole stream (pickle.loads), the C
// unpickler on io.BytesIO (torch.load of a zip checkpoint), and the
// pure-Python unpickler (joblib).
var diffReaders = []struct {
	name   string
	reader Reader
}{{"whole", ReadMemory}, {"bytesio", ReadFile}, {"python", ReadPython}}

// compareAll compares every file's trace by the recorder with the VM's.
func compareAll(t *testing.T, files []string, ref map[string]*pyTrace, reader Reader) {
	var (
		agree, skipped, differ int
		byAspect               = map[string]int{}
		diag                   []string
		shown                  int
		report                 strings.Builder
	)
	for _, f := range files {
		py := ref[f]
		if py == nil {
			t.Fatalf("no recorder output for %s", f)
		}
		if len(py.Diag) > 0 {
			diag = append(diag, fmt.Sprintf("%s: %s", filepath.Base(f), strings.Join(py.Diag, "; ")))
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		g := runGo(data, reader)
		aspects := compareTraces(py, g, reader)
		if len(aspects) == 0 {
			agree++
			continue
		}
		if resourceErrors[py.ErrorType] && g.Broken == "" {
			skipped++
			continue
		}
		differ++
		for _, a := range aspects {
			byAspect[a]++
		}
		if shown < 10 {
			shown++
			fmt.Fprintf(&report, "\n--- %s (differs in %s)\n%s", filepath.Base(f), strings.Join(aspects, ", "), describeDiff(data, py, g))
		}
		if *diffKeep != "" {
			keepDiff(t, *diffKeep, f, data, py, g)
		}
	}
	t.Logf("differential (seed %d, reader %d): %d pickles, %d agree with CPython, %d differ (imports %d, calls %d, error %d, resolved %d, VM panic or failure %d), %d not compared (Python hit a resource limit)",
		*diffSeed, reader, len(files), agree, differ, byAspect["imports"], byAspect["calls"], byAspect["error"], byAspect["resolved"], byAspect["go-broken"], skipped)
	if len(diag) > 0 {
		t.Errorf("the recorder could not attribute events to opcodes in %d files (a recorder bug):\n%s", len(diag), strings.Join(diag[:min(len(diag), 10)], "\n"))
	}
	if differ > 0 {
		t.Errorf("the Go VM and CPython disagree on %d of %d pickles; the first %d:%s", differ, len(files), shown, report.String())
	}
}

// runGo traces data with the Go VM; a panic is reported as an error.
func runGo(data []byte, reader Reader) (g goTrace) {
	defer func() {
		if r := recover(); r != nil {
			g = goTrace{Error: true, Broken: fmt.Sprintf("panic: %v", r)}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var st *Stream
	if reader == ReadMemory {
		tr, err := Run(ctx, bytes.NewReader(data), int64(len(data)), Options{})
		if err != nil {
			return goTrace{Error: true, Broken: "Run: " + err.Error()}
		}
		for i := range tr.Streams {
			if tr.Streams[i].Start == 0 && tr.Streams[i].Reader == ReadMemory {
				st = &tr.Streams[i] // nested streams (joblib) come first and start later
				break
			}
		}
	} else {
		m := newVM(ctx, newFramedSource(bytes.NewReader(data), int64(len(data)), reader), Options{})
		st = m.runStream(0)
	}
	if st == nil {
		return goTrace{Error: true, Broken: "no stream at offset 0"}
	}
	for _, im := range st.Imports {
		if im.Opcode == "getattr" {
			continue // getattr(global, "name") folded into a global: no find_class call
		}
		g.Imports = append(g.Imports, [2]string{pyString(im.Module), pyString(im.Name)})
		g.Resolved = append(g.Resolved, pyString(im.Resolved))
		g.ImportOffs = append(g.ImportOffs, im.Offset)
	}
	for _, c := range st.Calls {
		if !comparedKinds[c.Kind] {
			continue
		}
		desc := "?"
		if c.Global {
			desc = pyString(c.Callable)
		}
		g.Calls = append(g.Calls, [2]string{c.Kind, desc})
		g.CallOffsets = append(g.CallOffsets, c.Offset)
	}
	if st.Err != nil {
		g.Error, g.ErrorMsg = true, st.Err.Error()
	}
	return g
}

// pyString maps a Go string the way the Python side's JSON reaches Go: the
// recorder writes str as UTF-8 with surrogatepass, and each byte that is not
// valid UTF-8 (a lone surrogate) is decoded as one U+FFFD.
func pyString(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s { // an invalid byte yields one utf8.RuneError
		b.WriteRune(r)
	}
	return b.String()
}

// standInStops are the errors CPython raises only because the recorder's
// stand-in for a call result is an opaque instance: a real result may be a
// type or a tuple, so the VM goes on (it must not stop where a real load
// could go on). Where CPython stops with one of these, the VM's trace must
// start with CPython's: it may only have recorded more.
var standInStops = []string{
	"class argument isn't a type object", "class argument must be a type",
	"argument list must be a tuple", "args argument must be a tuple", "expected an arg tuple",
	"a bytes-like object is required",
}

// continuesPast reports whether the VM went on, as it must, where CPython
// stopped on a stand-in, having recorded the same things up to there.
func continuesPast(py *pyTrace, g goTrace) bool {
	if !py.Error {
		return false
	}
	stop := false
	for _, m := range standInStops {
		stop = stop || strings.Contains(py.ErrorMsg, m)
	}
	return stop && len(g.Imports) >= len(py.Imports) && len(g.Calls) >= len(py.Calls) &&
		slices.Equal(py.Imports, g.Imports[:len(py.Imports)]) && slices.Equal(py.Calls, g.Calls[:len(py.Calls)])
}

// compareTraces returns the aspects on which the two sides differ.
func compareTraces(py *pyTrace, g goTrace, reader Reader) []string {
	if reader != ReadMemory {
		// The recorder attributes a call's opcode by lexing the stream as the
		// whole reader reads it: for the other readers compare the callables.
		py, g = callablesOnly(py), callablesOnlyGo(g)
	}
	var out []string
	if g.Broken == "" && continuesPast(py, g) {
		return nil
	}
	if g.Broken != "" {
		out = append(out, "go-broken")
	}
	if !slices.Equal(py.Imports, g.Imports) {
		out = append(out, "imports")
	}
	if !slices.Equal(py.Calls, g.Calls) {
		out = append(out, "calls")
	}
	if py.Error != g.Error {
		out = append(out, "error")
	}
	if reader == ReadMemory && slices.Equal(py.Imports, g.Imports) && !slices.Equal(py.Resolved, g.Resolved) {
		out = append(out, "resolved")
	}
	return out
}

// callablesOnly drops the kinds of the recorder's calls.
func callablesOnly(py *pyTrace) *pyTrace {
	q := *py
	q.Calls = nil
	for _, c := range py.Calls {
		q.Calls = append(q.Calls, [2]string{"", c[1]})
	}
	return &q
}

// callablesOnlyGo drops the kinds of the VM's calls.
func callablesOnlyGo(g goTrace) goTrace {
	calls := g.Calls
	g.Calls = nil
	for _, c := range calls {
		g.Calls = append(g.Calls, [2]string{"", c[1]})
	}
	return g
}

func describeDiff(data []byte, py *pyTrace, g goTrace) string {
	var b strings.Builder
	head := data
	if len(head) > 240 {
		head = head[:240]
	}
	fmt.Fprintf(&b, "  bytes (%d): %q\n", len(data), head)
	pyOffs := make([]string, len(py.ImportOps))
	for i, op := range py.ImportOps {
		if len(op) == 2 {
			pyOffs[i] = string(op[0])
		}
	}
	fmt.Fprintf(&b, "  CPython imports %q at %v\n  Go      imports %q at %v\n", py.Imports, pyOffs, g.Imports, g.ImportOffs)
	fmt.Fprintf(&b, "  CPython calls   %q at %v\n  Go      calls   %q at %v\n", py.Calls, py.CallOffsets, g.Calls, g.CallOffsets)
	if !slices.Equal(py.Resolved, g.Resolved) {
		fmt.Fprintf(&b, "  CPython resolved %q\n  Go      resolved %q\n", py.Resolved, g.Resolved)
	}
	fmt.Fprintf(&b, "  CPython error   %v %s: %s\n  Go      error   %v %s\n", py.Error, py.ErrorType, py.ErrorMsg, g.Error, g.ErrorMsg)
	if g.Broken != "" {
		fmt.Fprintf(&b, "  Go      BROKEN  %s\n", g.Broken)
	}
	return b.String()
}

func keepDiff(t *testing.T, dir, f string, data []byte, py *pyTrace, g goTrace) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	base := filepath.Base(f)
	if err := os.WriteFile(filepath.Join(dir, base), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, base+".diff.txt"), []byte(describeDiff(data, py, g)), 0o644); err != nil {
		t.Fatal(err)
	}
	both, err := json.MarshalIndent(map[string]any{"cpython": py, "go": g}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, base+".json"), both, 0o644); err != nil {
		t.Fatal(err)
	}
}

// runRecorder runs recording_unpickler.py --stdin over files, in as few
// processes as possible: a process that dies or stops answering on a file
// (a pickle that crashes or hangs CPython) is killed, that file is marked
// "crash", and a new process takes the rest.
func runRecorder(t *testing.T, python, script string, files []string, reader string) map[string]*pyTrace {
	t.Helper()
	out := make(map[string]*pyTrace, len(files))
	for rest := files; len(rest) > 0; {
		got, err := recorderOnce(python, script, rest, 60*time.Second, reader)
		for i, p := range got {
			if p.File != rest[i] {
				t.Fatalf("recorder answered for %q, expected %q", p.File, rest[i])
			}
			out[p.File] = p
		}
		rest = rest[len(got):]
		if err == nil {
			if len(rest) > 0 {
				t.Fatalf("recorder stopped after %d files without an error", len(got))
			}
			break
		}
		if len(rest) == 0 {
			t.Fatalf("recording_unpickler.py: %v", err)
		}
		t.Logf("recorder failed on %s (%v); restarting after it", filepath.Base(rest[0]), err)
		out[rest[0]] = &pyTrace{File: rest[0], Error: true, ErrorType: "crash", ErrorMsg: err.Error()}
		rest = rest[1:]
	}
	return out
}

func recorderOnce(python, script string, files []string, perFile time.Duration, reader string) ([]*pyTrace, error) {
	cmd := exec.Command(python, script, "--stdin", "--reader", reader)
	cmd.Stdin = strings.NewReader(strings.Join(files, "\n") + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	type line struct {
		p   *pyTrace
		err error
	}
	lines := make(chan line)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 256<<20)
		for sc.Scan() {
			p := new(pyTrace)
			err := json.Unmarshal(sc.Bytes(), p)
			lines <- line{p, err}
		}
	}()
	var got []*pyTrace
	timer := time.NewTimer(perFile)
	defer timer.Stop()
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				if err := cmd.Wait(); err != nil {
					return got, fmt.Errorf("%v: %s", err, lastLines(stderr.String(), 5))
				}
				return got, nil
			}
			if l.err != nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				return got, fmt.Errorf("bad output line: %v", l.err)
			}
			got = append(got, l.p)
			timer.Reset(perFile)
		case <-timer.C:
			_ = cmd.Process.Kill()
			for range lines {
			}
			_ = cmd.Wait()
			return got, fmt.Errorf("no answer within %v", perFile)
		}
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
