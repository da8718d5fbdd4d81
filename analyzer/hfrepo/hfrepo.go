// Package hfrepo checks the configuration files of Hugging Face model
// repositories (config.json, tokenizer_config.json...) for remote code: an
// auto_map or custom_pipelines entry makes transformers import Python files
// of the repository when trust_remote_code=True. The analyzer lists those
// files and, for a model folder on disk, reads them as text (never importing
// or running them) and reports the imports that reach processes, files, the
// network or dynamic code.
package hfrepo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/finding"
)

// Limits of the analysis.
const (
	MaxJSON   = 16 << 20 // bytes of a configuration file
	MaxPython = 4 << 20  // bytes read of one Python file
	MaxFiles  = 32       // Python files read per configuration file
)

// configNames are the configuration files that may hold an auto_map.
var configNames = map[string]bool{
	"config.json": true, "tokenizer_config.json": true, "preprocessor_config.json": true,
	"processor_config.json": true, "generation_config.json": true, "feature_extractor_config.json": true,
}

// riskyModules are the top-level modules whose import by remote code is
// reported: processes, file-system changes, network, dynamic code.
var riskyModules = map[string]string{
	"os": "processes and files", "sys": "the interpreter", "subprocess": "processes", "pty": "processes",
	"posix": "processes and files", "nt": "processes and files", "multiprocessing": "processes",
	"shutil": "files", "socket": "the network", "http": "the network", "urllib": "the network",
	"urllib3": "the network", "requests": "the network", "httpx": "the network", "aiohttp": "the network",
	"ftplib": "the network", "smtplib": "the network", "telnetlib": "the network", "paramiko": "the network",
	"webbrowser": "the network", "importlib": "dynamic code", "ctypes": "native code", "pickle": "dynamic code",
	"marshal": "dynamic code", "dill": "dynamic code", "cloudpickle": "dynamic code", "runpy": "dynamic code",
	"builtins": "dynamic code",
}

// Ref is one class reference of an auto_map or custom_pipelines entry.
type Ref struct {
	// Key is the auto_map key ("AutoModelForCausalLM") or pipeline task.
	Key string
	// Repo is the other repository of an "org/repo--module.Class"
	// reference, or "".
	Repo string
	// Module and Class split "module.Class".
	Module, Class string
}

// File is the Python file of the reference's module.
func (r Ref) File() string { return r.Module + ".py" }

// safe reports whether the module names a file in the model folder itself.
func (r Ref) safe() bool {
	m := r.Module
	return m != "" && m != "." && m != ".." && !strings.ContainsAny(m, "/\\:\x00") && !strings.HasPrefix(m, ".")
}

// Config is what a configuration file asks for.
type Config struct {
	// Refs are the class references of auto_map and custom_pipelines.
	Refs []Ref
	// TrustRemoteCode is true when the file sets a top-level
	// trust_remote_code to true. A mere mention (in a description, in a
	// nested setting) is not enough: it asks for nothing.
	TrustRemoteCode bool
	// Transformers is true when the file has a key that transformers
	// configurations have (model_type, architectures, auto_map...): a
	// config.json of another library (Keras writes one) is not reported as
	// a Hugging Face configuration.
	Transformers bool
}

// transformersKeys are top-level keys of the configuration files that
// transformers writes or reads.
var transformersKeys = []string{"model_type", "architectures", "transformers_version", "auto_map",
	"custom_pipelines", "tokenizer_class", "chat_template", "_name_or_path", "trust_remote_code",
	"bos_token_id", "eos_token_id", "processor_class", "feature_extractor_type", "image_processor_type"}

// ParseConfig reads the remote-code references of a configuration file. It
// returns an error when data is not a JSON object.
func ParseConfig(data []byte) (*Config, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, err
	}
	c := &Config{}
	for _, k := range transformersKeys {
		if _, ok := top[k]; ok {
			c.Transformers = true
		}
	}
	if raw, ok := top["trust_remote_code"]; ok {
		c.TrustRemoteCode = bytes.Equal(bytes.TrimSpace(raw), []byte("true"))
	}
	if raw, ok := top["auto_map"]; ok {
		var m map[string]any
		if json.Unmarshal(raw, &m) == nil {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				c.addRefs(k, m[k])
			}
		} else {
			var v any
			if json.Unmarshal(raw, &v) == nil {
				c.addRefs("auto_map", v) // the old list form of tokenizer_config.json
			}
		}
	}
	if raw, ok := top["custom_pipelines"]; ok {
		var m map[string]any
		if json.Unmarshal(raw, &m) == nil {
			tasks := make([]string, 0, len(m))
			for k := range m {
				tasks = append(tasks, k)
			}
			sort.Strings(tasks)
			for _, task := range tasks {
				if p, ok := m[task].(map[string]any); ok {
					c.addRefs("custom_pipelines."+task, p["impl"])
				}
			}
		}
	}
	return c, nil
}

func (c *Config) addRefs(key string, v any) {
	switch x := v.(type) {
	case string:
		if x == "" {
			return
		}
		r := Ref{Key: key}
		if repo, rest, ok := strings.Cut(x, "--"); ok {
			r.Repo, x = repo, rest
		}
		if dot := strings.LastIndexByte(x, '.'); dot >= 0 {
			r.Module, r.Class = x[:dot], x[dot+1:]
		} else {
			r.Module = x
		}
		c.Refs = append(c.Refs, r)
	case []any:
		for _, e := range x {
			c.addRefs(key, e)
		}
	}
}

// Analyzer checks Hugging Face configuration files for remote code.
type Analyzer struct{}

// Name is the analyzer's name (violet scan --analyzers, the report's tool.analyzers).
const Name = "hf-remote-code"

// Name is Name.
func (Analyzer) Name() string { return Name }

// Version is the analyzer's version.
func (Analyzer) Version() string { return "1" }

// ReadsBeside is true: the Python files a configuration on disk names are
// read (analyzer.ReadsBeside).
func (Analyzer) ReadsBeside() bool { return true }

// Sniff accepts the configuration files of a model repository, by name,
// whose content starts as a JSON object.
func (Analyzer) Sniff(in *analyzer.Input) bool {
	head := bytes.TrimLeft(in.Head, " \t\r\n\ufeff")
	return len(head) > 0 && head[0] == '{' && configNames[strings.ToLower(in.Name)]
}

// Analyze reports the remote code the configuration asks for and, for a
// file on disk, the risky imports of the Python files it names.
func (Analyzer) Analyze(ctx context.Context, in *analyzer.Input, out analyzer.Output) error {
	rc, err := in.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, MaxJSON+1))
	if err != nil {
		return err
	}
	rep := analyzer.Reporter{Out: out, In: in}
	if len(data) > MaxJSON {
		rep.Report(finding.FormatMalformed, -1, fmt.Sprintf("The configuration file is larger than %d bytes; its remote code was not checked.", MaxJSON), "")
		return nil
	}
	c, err := ParseConfig(bytes.TrimPrefix(data, []byte("\ufeff")))
	if err != nil {
		return nil // not JSON: transformers cannot load it either
	}
	if !c.Transformers {
		return nil
	}
	out.Format("hf-config")
	if len(c.Refs) == 0 {
		if c.TrustRemoteCode {
			rep.Report(finding.HFRemoteCode, -1, "The configuration sets trust_remote_code to true: the repository expects its own Python code to be run.", "trust_remote_code")
		}
		return nil
	}
	rep.Report(finding.HFRemoteCode, -1, refsMessage(c), refsEvidence(c.Refs))

	// The Python files are read only for a file on disk.
	if len(in.Location.Member) != 0 {
		return nil
	}
	dir := filepath.Dir(in.Location.Path)
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil
	}
	var queue []string
	queued := map[string]bool{}
	for _, r := range c.Refs {
		if r.Repo == "" && r.safe() && !queued[r.File()] {
			queued[r.File()] = true
			queue = append(queue, r.File())
		}
	}
	for read := 0; len(queue) > 0 && read < MaxFiles; read++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := queue[0]
		queue = queue[1:]
		src, truncated, ok := readPython(root, name)
		if !ok {
			continue
		}
		py := ParsePython(src)
		reportImports(rep, name, py, truncated)
		for _, imp := range py.Imports {
			for _, sib := range relativeFiles(imp) {
				if !queued[sib] {
					queued[sib] = true
					queue = append(queue, sib)
				}
			}
		}
	}
	return nil
}

func refsMessage(c *Config) string {
	var files, classes, repos []string
	seenF, seenR := map[string]bool{}, map[string]bool{}
	var refused []string
	for _, r := range c.Refs {
		classes = append(classes, r.Key+" → "+r.Module+"."+r.Class)
		switch {
		case r.Repo != "":
			if !seenR[r.Repo] {
				seenR[r.Repo] = true
				repos = append(repos, r.Repo)
			}
		case !r.safe():
			refused = append(refused, r.Module)
		case !seenF[r.File()]:
			seenF[r.File()] = true
			files = append(files, r.File())
		}
	}
	var b strings.Builder
	b.WriteString("The configuration maps classes to Python code that transformers runs with trust_remote_code=True")
	if len(files) > 0 {
		fmt.Fprintf(&b, "; files of this repository: %s", strings.Join(files, ", "))
	}
	fmt.Fprintf(&b, "; classes: %s", strings.Join(classes, ", "))
	b.WriteString(".")
	if len(repos) > 0 {
		fmt.Fprintf(&b, " Some of the code comes from ANOTHER repository (%s), which can change independently of this one: review and pin it too.", strings.Join(repos, ", "))
	}
	if len(refused) > 0 {
		fmt.Fprintf(&b, " Module names that leave the model folder were not read: %q.", refused)
	}
	return b.String()
}

func refsEvidence(refs []Ref) string {
	parts := make([]string, 0, len(refs))
	for _, r := range refs {
		s := r.Module + "." + r.Class
		if r.Repo != "" {
			s = r.Repo + "--" + s
		}
		parts = append(parts, r.Key+": "+s)
	}
	return strings.Join(parts, "; ")
}

// readPython reads the file name of the model folder root, refusing any
// path (symbolic links included) that leaves it.
func readPython(root, name string) ([]byte, bool, bool) {
	real, err := filepath.EvalSymlinks(filepath.Join(root, name))
	if err != nil {
		return nil, false, false
	}
	if rel, err := filepath.Rel(root, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return nil, false, false
	}
	f, err := os.Open(real)
	if err != nil {
		return nil, false, false
	}
	defer f.Close()
	if info, err := f.Stat(); err != nil || !info.Mode().IsRegular() {
		return nil, false, false
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxPython+1))
	if err != nil {
		return nil, false, false
	}
	if len(data) > MaxPython {
		return data[:MaxPython], true, true
	}
	return data, false, true
}

// relativeFiles lists the sibling files a relative import may load: "from
// .helpers import x" loads helpers.py, "from . import x" loads x.py.
func relativeFiles(imp Import) []string {
	if !strings.HasPrefix(imp.Module, ".") || strings.HasPrefix(imp.Module, "..") {
		return nil
	}
	mod := imp.Module[1:]
	if mod != "" {
		if strings.Contains(mod, ".") {
			return nil
		}
		return []string{mod + ".py"}
	}
	var files []string
	for _, n := range imp.Names {
		if n != "*" {
			files = append(files, n+".py")
		}
	}
	return files
}

// reportImports reports, for one Python file, each risky module (first
// import, with a count of the others) and each call of exec, eval, compile
// or __import__.
func reportImports(rep analyzer.Reporter, file string, py Python, truncated bool) {
	suffix := ""
	if truncated {
		suffix = fmt.Sprintf(" Only the first %d bytes of the file were read.", MaxPython)
	}
	type group struct {
		first Import
		count int
	}
	groups := map[string]*group{}
	var order []string
	for _, imp := range py.Imports {
		if strings.HasPrefix(imp.Module, ".") {
			continue
		}
		top, _, _ := strings.Cut(imp.Module, ".")
		if _, ok := riskyModules[top]; !ok {
			continue
		}
		if g, ok := groups[top]; ok {
			g.count++
			continue
		}
		groups[top] = &group{first: imp, count: 1}
		order = append(order, top)
	}
	for _, top := range order {
		g := groups[top]
		more := ""
		if g.count > 1 {
			more = fmt.Sprintf(" (and %d more imports of it)", g.count-1)
		}
		rep.Report(finding.HFRemoteCodeImports, -1,
			fmt.Sprintf("%s, which the configuration asks transformers to run, imports %s (%s) at line %d%s: review what it does with it.%s",
				file, top, riskyModules[top], g.first.Line, more, suffix),
			fmt.Sprintf("%s:%d: %s", file, g.first.Line, g.first.Statement))
	}
	calls := map[string][]Call{}
	var names []string
	for _, c := range py.Calls {
		if calls[c.Name] == nil {
			names = append(names, c.Name)
		}
		calls[c.Name] = append(calls[c.Name], c)
	}
	for _, n := range names {
		cs := calls[n]
		more := ""
		if len(cs) > 1 {
			more = fmt.Sprintf(" (and %d more calls)", len(cs)-1)
		}
		rep.Report(finding.HFRemoteCodeImports, -1,
			fmt.Sprintf("%s, which the configuration asks transformers to run, calls %s() at line %d%s, which runs or loads code built at run time: review it.%s",
				file, n, cs[0].Line, more, suffix),
			fmt.Sprintf("%s:%d: %s", file, cs[0].Line, cs[0].Text))
	}
}
