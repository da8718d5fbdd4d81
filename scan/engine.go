// Package scan is Violet's engine: it walks files and folders, decides each
// input's format from its content, enforces the limits of containers in one
// place, runs the analyzers in parallel and collects their findings into a
// report.
package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	fswalk "github.com/violet-mlsecops/violet/internal/walk"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/report"
)

// Options configure a scan.
type Options struct {
	// Analyzers are tried in order on every input; the first whose Sniff
	// accepts it analyzes it.
	Analyzers []analyzer.Analyzer
	// Limits bound each file on disk and everything inside it.
	Limits analyzer.Limits
	// Workers is how many files are scanned at once (default: all cores).
	Workers int
	// Ignore holds glob patterns (path.Match syntax, matched against the
	// path relative to the scanned folder and against the base name) of
	// files and folders not to scan.
	Ignore []string
	// Severity overrides the severity of rules, by rule id.
	Severity map[string]finding.Severity
	// FailOn is the threshold recorded in the report.
	FailOn finding.Severity
	// Progress, when set, is called after each file with the files done
	// and found so far.
	Progress func(done, total int)
	// Version is the program version written in the report.
	Version string
	// ConfigPath is the absolute path of the configuration in use, or "";
	// any other Violet configuration found in a target is reported as
	// ignored.
	ConfigPath string
	// Digest sets each file's SHA256 from the bytes the scan analyzed
	// (digest.go): a file written while it was scanned gets none, and a
	// SCAN-ERROR finding.
	Digest bool
	// Logger receives the engine's debug lines: which analyzer claimed
	// which input, and why a file was skipped. nil discards them.
	Logger *slog.Logger
	// Cache, when set, keeps the result of every fully analyzed file by
	// its content (cache.go): a file of the same bytes and name is then
	// taken from the cache as long as the analyzers that judged it are
	// the same. Every file is hashed whole for its key.
	Cache Cache
	// CacheStats, when set, counts the cache's hits and misses.
	CacheStats *CacheStats

	// policyDigest is PolicyDigest, computed once per scan.
	policyDigest string
}

// Scan scans targets (files and folders) and returns the report. It
// returns an error only for a target that does not exist or cannot be
// listed; every problem inside a file is a finding.
func Scan(ctx context.Context, targets []string, opts Options) (*report.Report, error) {
	start := time.Now()
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.FailOn == 0 {
		opts.FailOn = finding.High
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Cache != nil {
		opts.policyDigest = PolicyDigest(opts)
	}
	// The walk lists the files while the workers scan those already
	// listed: on many small files the listing is a good part of the work,
	// and it would otherwise run alone before the first file is scanned.
	jobs := make(chan *job, 4*opts.Workers)
	var listed []*job
	var walkErr error
	var total atomic.Int64
	go func() {
		defer close(jobs)
		walkErr = walkTo(targets, opts.Ignore, opts.ConfigPath, opts.Logger, func(f file) {
			j := &job{file: f}
			listed = append(listed, j)
			total.Add(1)
			jobs <- j
		})
	}()
	var mu sync.Mutex
	done := 0
	var wg sync.WaitGroup
	for range opts.Workers {
		wg.Go(func() {
			var w worker
			defer w.opener.Close()
			for j := range jobs {
				j.result = scanFile(ctx, j.file, &opts, &w)
				if opts.Progress != nil {
					mu.Lock()
					done++
					opts.Progress(done, int(total.Load()))
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if walkErr != nil {
		return nil, walkErr
	}
	sortFiles(listed, func(j *job) string { return j.file.path })
	results := make([]report.File, len(listed))
	for i, j := range listed {
		results[i] = j.result
	}
	r := &report.Report{
		SchemaVersion: report.SchemaVersion,
		Tool:          report.Tool{Name: "violet", Version: opts.Version},
		StartedAt:     start.UTC(),
		DurationMS:    time.Since(start).Milliseconds(),
		Targets:       targets,
		FailOn:        opts.FailOn,
		Files:         results,
	}
	for _, a := range opts.Analyzers {
		r.Tool.Analyzers = append(r.Tool.Analyzers, a.Name()+"/"+a.Version())
	}
	summarize(r)
	return r, nil
}

// summarize fills r.Summary from r.Files.
func summarize(r *report.Report) {
	s := report.Summary{Formats: map[string]int{}, Findings: map[string]int{}}
	for _, f := range r.Files {
		s.Files++
		s.Bytes += f.Size
		switch {
		case f.Skipped:
			s.Skipped++
		default:
			s.Scanned++
		}
		if f.Incomplete {
			s.Incomplete++
		}
		for _, name := range f.Formats {
			s.Formats[name]++
		}
		for _, x := range f.Findings {
			s.Findings[x.Severity.String()]++
		}
	}
	r.Summary = s
}

// file is one file on disk to scan.
type file struct {
	path string
	size int64
	// named is set for a file named on the command line (or standard
	// input): it is opened by its path, links followed, and read as a
	// stream when it is not a regular file.
	named bool
	// entry is what the walk found for a file listed in a folder (a
	// File, or an Unreadable entry): it opens the file.
	entry fswalk.Entry
	// outside is the target of a symbolic link that leaves the scanned
	// folder: the file is reported, not read.
	outside string
	// config is set for a Violet configuration inside a target: it is
	// reported, never read.
	config bool
	// notFetched names the tool (a key of pointerTools) whose content this
	// placeholder stands for: a git-annex link to nowhere, a DVC output
	// never pulled.
	notFetched string
}

// job is a file of a scan and, once scanned, its result.
type job struct {
	file   file
	result report.File
}

// worker is what one goroutine of a scan keeps from file to file.
type worker struct {
	// opener holds the folders of the last files opened.
	opener fswalk.Opener
}

// sortFiles sorts the files of a walk by path, keeping the order of the
// walk between equal paths (none: each path is listed once).
func sortFiles[T any](list []T, path func(T) string) {
	sort.SliceStable(list, func(i, j int) bool { return path(list[i]) < path(list[j]) })
}

// walk lists the files under targets, in a stable order, by the rules of
// package walk (the same for every verb): links followed only into the
// folder, its Hugging Face cache repository or the project's content
// stores; anything else reported, never read. log (nil: none) is told of
// the paths an ignore pattern leaves out.
func walk(targets []string, ignore []string, configPath string, log *slog.Logger) ([]file, error) {
	var out []file
	if err := walkTo(targets, ignore, configPath, log, func(f file) { out = append(out, f) }); err != nil {
		return nil, err
	}
	sortFiles(out, func(f file) string { return f.path })
	return out, nil
}

// walkTo lists the files under targets as walk does, handing each to put
// once, in the order of the walk (not sorted). The targets are checked
// before any file is listed.
func walkTo(targets []string, ignore []string, configPath string, log *slog.Logger, put func(file)) error {
	l := &lister{seen: map[string]bool{}, ignore: ignore, configPath: configPath, log: log, out: put}
	stdin := 0
	infos := make([]os.FileInfo, len(targets))
	for i, t := range targets {
		if t == Stdin {
			if stdin++; stdin > 1 {
				return fmt.Errorf("standard input (-) can be scanned once")
			}
			continue
		}
		info, err := os.Stat(t)
		if err != nil {
			return fmt.Errorf("cannot scan %s: %w", t, err)
		}
		infos[i] = info
	}
	for i, t := range targets {
		switch info := infos[i]; {
		case t == Stdin:
			l.put(file{path: Stdin, named: true, size: -1})
		case !info.IsDir():
			l.put(file{path: t, named: true, size: info.Size()})
		default:
			if err := l.folder(t); err != nil {
				return fmt.Errorf("cannot scan %s: %w", t, err)
			}
		}
	}
	return nil
}

// lister hands on the files of a walk, each once.
type lister struct {
	out        func(file)
	seen       map[string]bool
	ignore     []string
	configPath string
	log        *slog.Logger
}

func (l *lister) put(f file) {
	if !l.seen[f.path] {
		l.seen[f.path] = true
		l.out(f)
	}
}

// folder lists the folder root by the rules of package walk.
func (l *lister) folder(root string) error {
	skip := func(rel, name string) bool {
		p := ignored(rel, name, l.ignore)
		if p != "" && l.log != nil {
			l.log.Debug("not scanned: an ignore pattern matches", "path", filepath.Join(root, rel), "pattern", p)
		}
		return p != ""
	}
	opts := fswalk.Options{
		SkipDir: func(rel, name string) bool { return fswalk.VCSDirs[name] || skip(rel, name) },
		Skip:    skip,
		// The size is read when the file is opened.
		NoSize: true,
	}
	return fswalk.Walk(root, opts, func(e fswalk.Entry) error {
		l.entry(e)
		return nil
	})
}

// entry lists what the walk found: a file to scan, a configuration to
// report, placeholders of content never fetched, a link out to report.
// FIFOs, sockets and devices hold no stored content and are not listed.
func (l *lister) entry(e fswalk.Entry) {
	switch e.Kind {
	case fswalk.File:
		if IsConfigFile(filepath.Base(e.Path)) {
			if abs, err := filepath.Abs(e.Path); err != nil || abs != l.configPath {
				l.put(file{path: e.Path, config: true})
				return
			}
		}
		if strings.HasSuffix(e.Path, ".dvc") {
			for _, p := range dvcMissing(e.Path) {
				l.put(file{path: p, notFetched: "DVC"})
			}
		}
		l.put(file{path: e.Path, size: e.Size, entry: e})
	case fswalk.Unreadable:
		l.put(file{path: e.Path, size: -1, entry: e})
	case fswalk.LinkOutside:
		l.put(file{path: e.Path, size: max(e.Size, 0), outside: e.Target})
	case fswalk.Broken:
		if annexLink(e.LinkText) {
			l.put(file{path: e.Path, notFetched: "git-annex"})
		}
	}
}

// ignored returns the first of patterns that matches the path, or "".
func ignored(rel, base string, patterns []string) string {
	rel = filepath.ToSlash(rel)
	for _, p := range patterns {
		if ok, _ := filepath.Match(p, rel); ok {
			return p
		}
		if ok, _ := filepath.Match(p, base); ok {
			return p
		}
		if strings.HasSuffix(p, "/**") && (rel == strings.TrimSuffix(p, "/**") || strings.HasPrefix(rel, strings.TrimSuffix(p, "**"))) {
			return p
		}
	}
	return ""
}

// smallFile is the size up to which a file is read whole into memory.
const smallFile = 64 << 10

// fileScan is the state of the scan of one file on disk.
type fileScan struct {
	opts     *Options
	worker   *worker
	result   *report.File
	budget   budget
	reported map[string]bool // limit rules already reported for this file
	formats  map[string]bool
	temps    []*os.File
	// claimed are the analyzers that claimed the file or a member;
	// readsBeside is set when one of them read other files of the folder
	// (the result is then not cached).
	claimed     map[string]bool
	readsBeside bool
}

func scanFile(ctx context.Context, f file, opts *Options, w *worker) report.File {
	res := report.File{Path: f.path, Size: max(f.size, 0), Findings: []finding.Finding{}}
	s := &fileScan{opts: opts, worker: w, result: &res, reported: map[string]bool{}, formats: map[string]bool{}, claimed: map[string]bool{},
		budget: budget{maxTotal: opts.Limits.MaxTotalBytes}}
	defer s.cleanup()
	loc := finding.Location{Path: f.path, Offset: -1}
	if f.outside != "" {
		s.add(finding.New(finding.SymlinkOutside, loc, "This is a symbolic link to "+f.outside+", outside the scanned folder: it was not read. Scan that place too, or replace the link with the file.", f.outside), "engine")
		return s.finish()
	}
	if f.notFetched != "" {
		s.notFetched(loc, f.notFetched)
		return s.finish()
	}
	if f.config {
		s.add(finding.New(finding.ScanConfigIgnored, loc, "A Violet configuration inside a scanned target: ignored. Configuration comes only from --config and from the project you run Violet in.", ""), "engine")
		return s.finish()
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Limits.Timeout)
	defer cancel()
	fh, info, err := s.open(ctx, f)
	if err != nil {
		if f.size < 0 && !f.named && f.entry.Kind == fswalk.File {
			// The walk leaves sizes to the open (fswalk.Options.NoSize).
			if info, err := os.Lstat(f.path); err == nil && info.Mode().IsRegular() {
				res.Size = info.Size()
			}
		}
		s.openError(loc, err)
		return s.finish()
	}
	defer fh.Close()
	res.Size = info.Size()
	// A small file is read whole, at once: the analyzers then read it from
	// memory rather than with a system call per read (the zip analyzer
	// alone reads the last 64 KiB of every file), and most files of a
	// model repository are small.
	size := info.Size()
	buf := make([]byte, min(size, analyzer.HeadSize))
	if size <= smallFile {
		buf = make([]byte, size)
	}
	n, err := fh.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		s.add(finding.New(finding.ScanError, loc, "The file could not be read: "+err.Error(), ""), "engine")
		return s.finish()
	}
	head := buf[:min(len(buf), analyzer.HeadSize)]
	if tool := pointerTool(head, size); tool != "" {
		s.notFetched(loc, tool)
		return s.finish()
	}
	var ra io.ReaderAt = ctxReaderAt{ctx, fh}
	var whole []byte
	if int64(n) == size {
		ra, whole = bytes.NewReader(buf), buf
	}
	digest := s.startDigest(ctx, fh, info, whole)
	key := ""
	if opts.Cache != nil && digest.err == nil && f.path != Stdin {
		key = s.cacheKeyOf(digest.sum, filepath.Base(f.path))
		if s.fromCache(ctx, key) {
			if opts.Digest {
				res.SHA256 = digest.sum
			}
			return s.finish()
		}
	}
	in := analyzer.NewInput(loc, filepath.Base(f.path), size, head, 0, &opts.Limits, ra, nil, nil)
	s.dispatch(ctx, in)
	if s.finishDigest(digest) && key != "" && s.cacheable(ctx) {
		s.toCache(ctx, key)
	}
	if ctx.Err() != nil {
		// Every read checks the budget (ctxReaderAt): an analyzer may
		// have reported the stop as an unreadable input; the file says
		// why.
		s.reportLimit(finding.LimitTime, loc, fmt.Sprintf("The analysis of this file ran out of its time budget (%s).", s.opts.Limits.Timeout))
	}
	return s.finish()
}

// open opens the file f to scan: a listed file inside its folder, a named
// one by its path (a stream copied to a temporary file, removed when the
// scan of the file ends).
func (s *fileScan) open(ctx context.Context, f file) (*os.File, os.FileInfo, error) {
	if !f.named {
		if f.entry.Kind == fswalk.Unreadable {
			return nil, nil, f.entry.Err
		}
		return s.worker.opener.Open(f.entry)
	}
	fh, info, spooled, err := openNamed(ctx, f, spoolLimits{maxBytes: s.opts.Limits.MaxTotalBytes, timeout: s.opts.Limits.Timeout})
	if err == nil && spooled {
		s.temps = append(s.temps, fh) // removed by cleanup
	}
	return fh, info, err
}

// openError reports why a file could not be opened or its stream read.
func (s *fileScan) openError(loc finding.Location, err error) {
	switch {
	case errors.Is(err, errStreamTimeout):
		s.reportLimit(finding.LimitTime, loc, "The stream was not read whole: "+err.Error()+".")
	case errors.Is(err, errStreamTooLarge):
		s.reportLimit(finding.LimitSize, loc, "The stream was not read whole: "+err.Error()+".")
	case errors.Is(err, errStreamEmpty):
		s.add(finding.New(finding.ScanError, loc, "Nothing was read: the stream held no bytes (was the model piped in?).", ""), "engine")
	case errors.Is(err, fswalk.ErrNotRegular):
		s.add(finding.New(finding.ScanError, loc, "The file was not read: "+err.Error()+".", ""), "engine")
	default:
		s.add(finding.New(finding.ScanError, loc, "The file could not be opened: "+err.Error(), ""), "engine")
	}
}

// notFetched reports a placeholder of tool in place of the content.
func (s *fileScan) notFetched(loc finding.Location, tool string) {
	s.add(finding.New(finding.ContentNotFetched, loc,
		fmt.Sprintf("This is a %s placeholder, not the file's content: the content was never fetched, so it was not scanned. Fetch it (%s), then scan again.", tool, pointerTools[tool]), tool), "engine")
}

// finish sorts the findings, applies severity overrides and the formats.
func (s *fileScan) finish() report.File {
	r := s.result
	for i := range r.Findings {
		if sev, ok := s.opts.Severity[r.Findings[i].Rule]; ok {
			r.Findings[i].Severity = sev
		}
		if r.Findings[i].Incomplete {
			r.Incomplete = true
		}
	}
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := r.Findings[i].Location, r.Findings[j].Location
		if x, y := strings.Join(a.Member, "\x00"), strings.Join(b.Member, "\x00"); x != y {
			return x < y
		}
		return a.Offset < b.Offset
	})
	for name := range s.formats {
		r.Formats = append(r.Formats, name)
	}
	sort.Strings(r.Formats)
	r.Skipped = len(r.Findings) == 0 && len(r.Formats) == 0
	return *r
}

func (s *fileScan) cleanup() {
	for _, f := range s.temps {
		f.Close()
		os.Remove(f.Name())
	}
}

func (s *fileScan) add(f finding.Finding, analyzerName string) {
	if f.Analyzer == "" {
		f.Analyzer = analyzerName
	}
	s.result.Findings = append(s.result.Findings, f)
}

// reportLimit reports a limit once per file.
func (s *fileScan) reportLimit(rule string, loc finding.Location, msg string) {
	if s.reported[rule] {
		return
	}
	s.reported[rule] = true
	s.add(finding.New(rule, loc, msg, ""), "engine")
}

// dispatch runs every analyzer that claims in, except those covered by
// another that claims it too. It reports whether any analyzer ran.
func (s *fileScan) dispatch(ctx context.Context, in *analyzer.Input) bool {
	var matched []analyzer.Analyzer
	covered := map[string]bool{}
	debug := s.opts.Logger.Enabled(ctx, slog.LevelDebug)
	for _, a := range s.opts.Analyzers {
		claims, err := sniff(a, in)
		if err != nil {
			s.analysisError(ctx, in, a.Name()+"/"+a.Version(), err)
			continue
		}
		if claims {
			matched = append(matched, a)
			s.claimed[a.Name()] = true
			if r, ok := a.(analyzer.ReadsBeside); ok && in.Depth == 0 && r.ReadsBeside() {
				s.readsBeside = true
			}
			if c, ok := a.(analyzer.Covering); ok {
				for _, name := range c.Covers() {
					covered[name] = true
				}
			}
		}
	}
	var run []analyzer.Analyzer
	for _, a := range matched {
		if !covered[a.Name()] {
			run = append(run, a)
		}
		if debug {
			s.opts.Logger.Debug("analyzer claims the input", "input", in.Location.String(), "analyzer", a.Name(), "runs", !covered[a.Name()])
		}
	}
	if debug && len(matched) == 0 {
		s.opts.Logger.Debug("no analyzer claims the input", "input", in.Location.String(), "size", in.Size, "head", fmt.Sprintf("%x", in.Head[:min(len(in.Head), 16)]))
	}
	if len(run) > 1 && !in.HasReaderAt() {
		// A stream is read once: two formats of the same bytes need random
		// access, which the spool provides.
		if _, _, err := in.ReaderAt(); err != nil {
			s.analysisError(ctx, in, "engine", err)
			return true
		}
	}
	ran := false
	found := map[string]bool{}
	before := len(s.result.Findings)
	for _, a := range run {
		out := &output{s: s, in: in, name: a.Name() + "/" + a.Version(), found: found}
		s.analysisError(ctx, in, out.name, analyze(ctx, a, in, out))
		ran = true
	}
	s.checkName(in, found)
	if len(found) == 0 && len(s.result.Findings) == before {
		s.checkUnread(in)
	}
	return ran
}

// modelExtensions are the names that promise a model file a loader reads
// (docs/formats.md): content that no analyzer reads under such a name is
// not passed.
var modelExtensions = map[string]bool{
	".pt": true, ".pth": true, ".bin": true, ".ckpt": true, ".safetensors": true, ".gguf": true, ".ggml": true,
	".onnx": true, ".h5": true, ".hdf5": true, ".keras": true, ".joblib": true, ".pkl": true, ".pickle": true,
	".npy": true, ".npz": true, ".pt2": true, ".tflite": true, ".msgpack": true, ".nemo": true, ".mar": true,
	".sav": true, ".dill": true, ".jl": true,
}

// sidecarExtensions are the models whose raw weights sit beside them in
// files of their own (ONNX external data, OpenVINO IR's .bin): such a file
// holds no format, and the model that names it is checked instead.
var sidecarExtensions = []string{".onnx", ".xml"}

// beside reports whether the file's folder holds a file with one of the
// extensions.
func (s *fileScan) beside(exts ...string) bool {
	entries, err := os.ReadDir(filepath.Dir(s.result.Path))
	if err != nil {
		return false
	}
	for _, e := range entries {
		for _, x := range exts {
			if !e.IsDir() && strings.EqualFold(filepath.Ext(e.Name()), x) {
				return true
			}
		}
	}
	return false
}

// checkUnread reports a file named as a model that no analyzer recognized
// and that raised nothing: exit 2, never skipped.
func (s *fileScan) checkUnread(in *analyzer.Input) {
	ext := strings.ToLower(filepath.Ext(in.Name))
	if in.Depth > 0 || !modelExtensions[ext] || ext == ".bin" && s.beside(sidecarExtensions...) {
		return
	}
	what := "no format Violet reads"
	if in.Size == 0 {
		what = "nothing: the file is empty"
	}
	s.add(finding.New(finding.FormatUnrecognized, in.Location,
		fmt.Sprintf("The file is named %s, a model file, but its content is %s. A loader chosen by the name may still read it; Violet could not check it.", in.Name, what), ext), "engine")
}

// analysisError turns the error of an analyzer into a finding.
// PanicError is the error of an analyzer that panicked on an input: the
// engine recovers, reports the input as not fully analyzed, and goes on.
type PanicError struct {
	// Analyzer is the analyzer's name.
	Analyzer string
	// Value is what the analyzer panicked with.
	Value any
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("the %s analyzer crashed on this input (%v): a bug in Violet, please report it", e.Analyzer, e.Value)
}

// analyze runs a.Analyze, turning a panic into a PanicError.
func analyze(ctx context.Context, a analyzer.Analyzer, in *analyzer.Input, out analyzer.Output) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Analyzer: a.Name(), Value: v}
		}
	}()
	return a.Analyze(ctx, in, out)
}

// sniff runs a.Sniff, turning a panic into a PanicError.
func sniff(a analyzer.Analyzer, in *analyzer.Input) (claims bool, err error) {
	defer func() {
		if v := recover(); v != nil {
			claims, err = false, &PanicError{Analyzer: a.Name(), Value: v}
		}
	}()
	return a.Sniff(in), nil
}

func (s *fileScan) analysisError(ctx context.Context, in *analyzer.Input, name string, err error) {
	var crash *PanicError
	switch {
	case errors.As(err, &crash):
		s.add(finding.New(finding.ScanError, in.Location, "The analysis could not finish: "+err.Error()+".", crash.Analyzer), name)
	case err == nil || errors.Is(err, analyzer.ErrStopped):
	case ctx.Err() != nil:
		s.reportLimit(finding.LimitTime, in.Location, fmt.Sprintf("The analysis of this file ran out of its time budget (%s).", s.opts.Limits.Timeout))
	default:
		if rule, msg := limitRule(err); rule != "" {
			s.reportLimit(rule, in.Location, "The analysis stopped: "+msg+".")
			return
		}
		s.add(finding.New(finding.ScanError, in.Location, "The analysis could not finish: "+err.Error(), ""), name)
	}
}

// namedFormats are file extensions that promise a format that cannot run
// code; content of another format under such a name is a finding.
var namedFormats = map[string]string{
	".safetensors": "safetensors",
	".gguf":        "gguf",
	".onnx":        "onnx",
	".tflite":      "tflite",
}

// checkName reports an input named like a safe format that holds others.
func (s *fileScan) checkName(in *analyzer.Input, found map[string]bool) {
	want, ok := namedFormats[strings.ToLower(filepath.Ext(in.Name))]
	if !ok || len(found) == 0 || found[want] {
		return
	}
	var got []string
	for f := range found {
		got = append(got, f)
	}
	sort.Strings(got)
	s.add(finding.New(finding.FormatNameMismatch, in.Location,
		fmt.Sprintf("The file is named %s but holds %s, not %s.", in.Name, strings.Join(got, " and "), want), strings.Join(got, ", ")), "engine")
}

// output is what an analyzer reports to.
type output struct {
	s     *fileScan
	in    *analyzer.Input
	name  string
	found map[string]bool // formats found in this input by its analyzers
}

func (o *output) Report(f finding.Finding) { o.s.add(f, o.name) }

func (o *output) Format(name string) {
	o.s.formats[name] = true
	o.found[name] = true
}

func (o *output) Member(ctx context.Context, m analyzer.Member) error {
	s := o.s
	loc := o.in.Location.Child(m.Name)
	if ctx.Err() != nil {
		// The budget ran out between two members: the rest are not analyzed.
		s.reportLimit(finding.LimitTime, o.in.Location, fmt.Sprintf("The analysis of this file ran out of its time budget (%s).", s.opts.Limits.Timeout))
		return analyzer.ErrStopped
	}
	s.budget.members++
	if s.budget.members > s.opts.Limits.MaxMembers {
		s.reportLimit(finding.LimitMembers, o.in.Location, fmt.Sprintf("The file holds more than %d members; the rest were not analyzed.", s.opts.Limits.MaxMembers))
		return analyzer.ErrStopped
	}
	depth := o.in.Depth + 1
	if depth > s.opts.Limits.MaxDepth {
		s.reportLimit(finding.LimitDepth, loc, fmt.Sprintf("Containers nest deeper than %d; this member was not analyzed.", s.opts.Limits.MaxDepth))
		return nil
	}
	in, release, err := s.memberInput(loc, m, depth)
	if err != nil {
		s.memberError(ctx, loc, err)
		if _, ok := err.(*LimitError); ok {
			return analyzer.ErrStopped
		}
		return nil
	}
	s.dispatch(ctx, in)
	release()
	if rule, _ := s.stopped(); rule != "" {
		return analyzer.ErrStopped
	}
	return nil
}

// stopped reports a limit that ends the whole file.
func (s *fileScan) stopped() (string, bool) {
	for _, r := range []string{finding.LimitSize, finding.LimitMembers} {
		if s.reported[r] {
			return r, true
		}
	}
	return "", false
}

func (s *fileScan) memberError(ctx context.Context, loc finding.Location, err error) {
	if rule, msg := limitRule(err); rule != "" {
		s.reportLimit(rule, loc, "The analysis stopped: "+msg+".")
		return
	}
	if ctx.Err() != nil {
		s.reportLimit(finding.LimitTime, loc, fmt.Sprintf("The analysis of this file ran out of its time budget (%s).", s.opts.Limits.Timeout))
		return
	}
	s.add(finding.New(finding.ArchiveUnreadable, loc, "The member could not be read: "+err.Error(), ""), "engine")
}
