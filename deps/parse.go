package deps

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/violet-mlsecops/violet/internal/walk"
)

// Limits of the parsers: a dependency file larger than MaxFileSize is
// refused, requirement includes (-r, -c) nest at most MaxIncludeDepth
// deep, and a file (with its includes) declares at most MaxPackages
// packages.
const (
	MaxFileSize     = 32 << 20
	MaxIncludeDepth = 16
	MaxPackages     = 100000
)

// Kinds of dependency files (Manifest.Kind).
const (
	KindRequirements = "requirements"
	KindPoetry       = "poetry.lock"
	KindUV           = "uv.lock"
	KindPipfile      = "Pipfile.lock"
	KindPDM          = "pdm.lock"
	KindPylock       = "pylock.toml"
	KindConda        = "conda"
	KindPyproject    = "pyproject.toml"
	KindPipfileTOML  = "Pipfile"
	KindSetupCfg     = "setup.cfg"
	KindSetupPy      = "setup.py"
)

// fileFormat is how one kind of dependency file is read.
type fileFormat struct {
	kind   string
	locked bool
	parse  func(st *parseState, file string, data []byte) error
}

var (
	formatRequirements = &fileFormat{KindRequirements, false, parseRequirementsFile}
	formatPoetry       = &fileFormat{KindPoetry, true, parsePoetryLock}
	formatUV           = &fileFormat{KindUV, true, parseUVLock}
	formatPipfile      = &fileFormat{KindPipfile, true, parsePipfileLock}
	formatPDM          = &fileFormat{KindPDM, true, parsePDMLock}
	formatPylock       = &fileFormat{KindPylock, true, parsePylock}
	formatConda        = &fileFormat{KindConda, false, parseCondaEnv}
	formatPyproject    = &fileFormat{KindPyproject, false, parsePyproject}
	formatPipfileTOML  = &fileFormat{KindPipfileTOML, false, parsePipfile}
	formatSetupCfg     = &fileFormat{KindSetupCfg, false, parseSetupCfg}
	formatSetupPy      = &fileFormat{KindSetupPy, false, parseSetupPy}
)

// filePatterns maps file names (lower case, path.Match patterns) to their
// format; the first match wins.
var filePatterns = []struct {
	pattern string
	format  *fileFormat
}{
	{"requirements*.txt", formatRequirements},
	{"constraints*.txt", formatRequirements},
	{"poetry.lock", formatPoetry},
	{"uv.lock", formatUV},
	{"pipfile.lock", formatPipfile},
	{"pdm.lock", formatPDM},
	{"pylock.toml", formatPylock},
	{"pylock.*.toml", formatPylock},
	{"environment*.yml", formatConda},
	{"environment*.yaml", formatConda},
	{"conda.yml", formatConda},
	{"conda.yaml", formatConda},
	{"pyproject.toml", formatPyproject},
	{"pipfile", formatPipfileTOML},
	{"setup.cfg", formatSetupCfg},
	{"setup.py", formatSetupPy},
}

// requirementsDirs are directories whose *.txt files are requirements
// files (requirements/base.txt).
var requirementsDirs = map[string]bool{"requirements": true}

// formatOf returns the format of a file by its name, nil if it is not a
// dependency file.
func formatOf(p string) *fileFormat {
	base := strings.ToLower(filepath.Base(p))
	for _, fp := range filePatterns {
		if ok, _ := path.Match(fp.pattern, base); ok {
			return fp.format
		}
	}
	dir := strings.ToLower(filepath.Base(filepath.Dir(p)))
	if requirementsDirs[dir] && strings.HasSuffix(base, ".txt") {
		return formatRequirements
	}
	return nil
}

// FileKind returns the kind of dependency file path names (a Manifest
// Kind), or "" when the name is not one of a dependency file.
func FileKind(path string) string {
	if f := formatOf(path); f != nil {
		return f.kind
	}
	return ""
}

// IsLockFile reports whether path names a lock file, one that pins the
// exact version of every package (poetry.lock, uv.lock, Pipfile.lock,
// pdm.lock, pylock.toml) rather than stating requirements.
func IsLockFile(path string) bool {
	f := formatOf(path)
	return f != nil && f.locked
}

// ParseFile reads the dependency file at path, its kind chosen by its
// name (see FileKind). Requirement files it includes (-r, -c) must lie
// in path's directory or below: ParseFileWithin(path, filepath.Dir(path)).
func ParseFile(path string) (*Manifest, error) {
	return ParseFileWithin(path, filepath.Dir(path))
}

// ParseFileWithin reads the dependency file at path like ParseFile, but
// confines the files it reads (path itself and the requirement files it
// includes, symbolic links resolved) to the directory root; an empty
// root confines nothing. A file that cannot be opened gives the error of
// os.Open; anything else wrong with the file or its includes gives a
// *ParseError.
func ParseFileWithin(path, root string) (*Manifest, error) {
	format := formatOf(path)
	if format == nil {
		return nil, &ParseError{File: path, Msg: "not a known dependency file name"}
	}
	st := &parseState{
		m:    &Manifest{Path: path, Kind: format.kind, Locked: format.locked, Packages: []Package{}},
		seen: map[string]bool{},
	}
	if root != "" {
		r, err := resolvePath(root)
		if err != nil {
			return nil, err
		}
		st.root = r
	}
	data, resolved, err := st.readFile(path)
	if err != nil {
		return nil, err
	}
	st.stack = []string{resolved}
	if err := format.parse(st, path, data); err != nil {
		return nil, err
	}
	st.applyConstraints()
	return st.m, nil
}

// ParseBytes reads data as the dependency file called name (its kind
// chosen by the name, as FileKind does), without reading any other file:
// requirement files it includes (-r, -c) are skipped. It is for callers
// that already hold the file's bytes and want what it declares itself,
// such as an inventory; a check of what gets installed uses ParseFile.
func ParseBytes(name string, data []byte) (*Manifest, error) {
	format := formatOf(name)
	if format == nil {
		return nil, &ParseError{File: name, Msg: "not a known dependency file name"}
	}
	if len(data) > MaxFileSize {
		return nil, &ParseError{File: name, Msg: fmt.Sprintf("file larger than %d bytes", MaxFileSize)}
	}
	st := &parseState{m: &Manifest{Path: name, Kind: format.kind, Locked: format.locked, Packages: []Package{}},
		seen: map[string]bool{}, stack: []string{name}, noIncludes: true}
	if err := format.parse(st, name, data); err != nil {
		return nil, err
	}
	st.applyConstraints()
	return st.m, nil
}

// parseState is the state of reading one dependency file and its
// includes.
type parseState struct {
	// root is the resolved directory reads are confined to ("": none).
	root string
	m    *Manifest
	// stack are the resolved paths of the files being read, the
	// top-level file first; seen the includes read already.
	stack []string
	seen  map[string]bool
	// constraints are the packages of -c constraint files.
	constraints []Package
	// noIncludes skips -r and -c includes (ParseBytes).
	noIncludes bool
}

// resolvePath returns the absolute path of p with symbolic links
// resolved.
func resolvePath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// within reports whether the resolved path p is root or below it.
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return false
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel))
}

// readFile reads a regular file of at most MaxFileSize bytes inside the
// root and returns its contents and resolved path.
func (st *parseState) readFile(p string) ([]byte, string, error) {
	resolved, err := resolvePath(p)
	if err != nil {
		if abs, aerr := filepath.Abs(p); aerr == nil && st.root != "" && !within(st.root, abs) {
			return nil, "", &ParseError{File: p, Msg: "file lies outside the scanned directory " + st.root}
		}
		return nil, "", err
	}
	if st.root != "" && !within(st.root, resolved) {
		return nil, "", &ParseError{File: p, Msg: "file lies outside the scanned directory " + st.root}
	}
	fi, err := os.Stat(resolved)
	if err != nil {
		return nil, "", err
	}
	if !fi.Mode().IsRegular() {
		return nil, "", &ParseError{File: p, Msg: "not a regular file"}
	}
	if fi.Size() > MaxFileSize {
		return nil, "", &ParseError{File: p, Msg: fmt.Sprintf("file larger than %d bytes", MaxFileSize)}
	}
	f, err := os.Open(resolved)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, "", err
	}
	if len(data) > MaxFileSize {
		return nil, "", &ParseError{File: p, Msg: fmt.Sprintf("file larger than %d bytes", MaxFileSize)}
	}
	return data, resolved, nil
}

// add appends a package to the manifest (or to the constraints), filling
// in the normalized name and ecosystem.
func (st *parseState) add(p Package, constraint bool) error {
	if len(st.m.Packages)+len(st.constraints) >= MaxPackages {
		return &ParseError{File: p.File, Line: p.Line, Msg: fmt.Sprintf("more than %d packages", MaxPackages)}
	}
	p.NormalizedName = normalizePackageName(p.Name)
	if p.Ecosystem == "" {
		p.Ecosystem = EcosystemPyPI
	}
	if constraint {
		st.constraints = append(st.constraints, p)
	} else {
		st.m.Packages = append(st.m.Packages, p)
	}
	return nil
}

// addIndex records an index URL: the primary one (the last set wins, as
// with pip) or an extra one (deduplicated).
func (st *parseState) addIndex(url string, extra bool) {
	if !extra {
		if isPyPIIndex(url) {
			url = ""
		}
		st.m.IndexURL = url
		return
	}
	for _, u := range st.m.ExtraIndexURLs {
		if u == url {
			return
		}
	}
	st.m.ExtraIndexURLs = append(st.m.ExtraIndexURLs, url)
}

// pypiIndexes are the URLs of PyPI's own index.
var pypiIndexes = map[string]bool{
	"https://pypi.org/simple":        true,
	"https://pypi.python.org/simple": true,
	"https://pypi.org/pypi":          true,
}

// isPyPIIndex reports whether url is PyPI's default index.
func isPyPIIndex(url string) bool {
	return pypiIndexes[strings.TrimSuffix(strings.ToLower(url), "/")]
}

// applyConstraints pins the unpinned index requirements that a -c
// constraints file pins, as pip would install them.
func (st *parseState) applyConstraints() {
	if len(st.constraints) == 0 {
		return
	}
	pins := map[string]Package{}
	for _, c := range st.constraints {
		if c.Version != "" && c.Source == SourceIndex {
			pins[c.NormalizedName] = c
		}
	}
	for i := range st.m.Packages {
		p := &st.m.Packages[i]
		c, ok := pins[p.NormalizedName]
		if !ok || p.Version != "" || p.Source != SourceIndex {
			continue
		}
		p.Version = c.Version
		if len(p.Hashes) == 0 {
			p.Hashes = c.Hashes
		}
	}
}

var nameSeparators = regexp.MustCompile(`[-_.]+`)

// normalizePackageName returns the PEP 503 form of a package name.
func normalizePackageName(name string) string {
	return strings.ToLower(nameSeparators.ReplaceAllString(name, "-"))
}

// validPackageName matches a PEP 508 package name.
var validPackageName = regexp.MustCompile(`^(?i:[a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9])$`)

// lineIndex maps byte offsets of a file to line numbers.
type lineIndex []int

// newLineIndex indexes the line starts of data.
func newLineIndex(data []byte) lineIndex {
	li := lineIndex{0}
	for i, c := range data {
		if c == '\n' {
			li = append(li, i+1)
		}
	}
	return li
}

// line returns the line (from 1) of byte offset off.
func (li lineIndex) line(off int) int {
	return sort.Search(len(li), func(i int) bool { return li[i] > off })
}

// skipDirs are directories FindFiles does not enter.
var skipDirs = map[string]bool{
	".git":          true,
	".hg":           true,
	".svn":          true,
	"node_modules":  true,
	"__pycache__":   true,
	"site-packages": true,
	"dist-packages": true,
}

// envMarkers are files or directories that make a directory a Python
// environment (virtualenv, conda environment), which FindFiles skips.
var envMarkers = []string{"pyvenv.cfg", "conda-meta"}

// FindFiles walks root and returns the dependency files in it (see
// FileKind), sorted. It skips version-control directories, node_modules,
// __pycache__, site-packages and Python environments (directories with a
// pyvenv.cfg or conda-meta), and follows links by the rules of package
// internal/walk, the same for every verb: a linked file inside root is
// returned; a dependency file linked from outside root is returned in
// unreadable (it is not read), as is a folder below root that cannot be
// read (permissions, an I/O error), in walk order, for the caller to
// report, and the walk goes on. A root that is itself a dependency file
// is returned alone; only an unreadable root is an error.
func FindFiles(root string) (files []string, unreadable []*ParseError, err error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, nil, err
	}
	if !fi.IsDir() {
		if formatOf(root) != nil && fi.Mode().IsRegular() {
			return []string{root}, nil, nil
		}
		return []string{}, nil, nil
	}
	files = []string{}
	opts := walk.Options{SkipDir: func(rel, name string) bool {
		return skipDirs[name] || isEnvironment(filepath.Join(root, filepath.FromSlash(rel)))
	}}
	err = walk.Walk(root, opts, func(e walk.Entry) error {
		switch {
		case e.Kind == walk.Unreadable:
			msg := e.Err.Error()
			var pe *fs.PathError
			if errors.As(e.Err, &pe) {
				msg = pe.Err.Error()
			}
			unreadable = append(unreadable, &ParseError{File: e.Path, Msg: "cannot read: " + msg})
		case formatOf(e.Path) == nil:
		case e.Kind == walk.File:
			files = append(files, e.Path)
		case e.Kind == walk.LinkOutside:
			unreadable = append(unreadable, &ParseError{File: e.Path, Msg: "a symbolic link to " + e.Target + ", outside the folder: not read (check that file itself, or replace the link with it)"})
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(files)
	return files, unreadable, nil
}

// isEnvironment reports whether dir is a Python environment.
func isEnvironment(dir string) bool {
	for _, m := range envMarkers {
		if _, err := os.Lstat(filepath.Join(dir, m)); err == nil {
			return true
		} else if !errors.Is(err, fs.ErrNotExist) {
			return false
		}
	}
	return false
}
