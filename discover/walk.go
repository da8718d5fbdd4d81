package discover

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/violet-mlsecops/violet/analyzer"
)

// skipDirs are folders that hold no code of the project: version control,
// installed packages and caches. Virtual environments are recognized by
// their pyvenv.cfg whatever their name.
var skipDirs = map[string]bool{
	".git": true, ".hg": true, ".svn": true, "node_modules": true, ".venv": true, "venv": true,
	"virtualenvs": true, "__pycache__": true, "site-packages": true, "dist-packages": true,
	".tox": true, ".nox": true, ".mypy_cache": true, ".pytest_cache": true, ".ruff_cache": true,
	".ipynb_checkpoints": true,
}

// fileRec is one regular file the walk looked at.
type fileRec struct {
	rel     string   // slash path relative to the root
	size    int64    // bytes
	formats []string // model formats recognized by content
	kind    Kind     // KindModelFile, KindArchive, or "" when not a model
	config  *folderConfig
}

// walker walks a tree in parallel: each worker reads one folder at a time
// and looks at its files, and queues its subfolders.
type walker struct {
	ctx     context.Context
	root    string // absolute, symbolic links resolved
	isDir   bool
	opts    Options
	sniffer *sniffer

	mu         sync.Mutex
	cond       *sync.Cond
	queue      []string // folders to read, relative to root
	pending    int      // folders queued or being read
	files      []fileRec
	texts      []Asset
	stats      Stats
	unreadable []ReadError
}

func newWalker(ctx context.Context, root string, isDir bool, opts Options) *walker {
	w := &walker{ctx: ctx, root: root, isDir: isDir, opts: opts, sniffer: newSniffer()}
	w.cond = sync.NewCond(&w.mu)
	return w
}

// local is what one worker found, merged into the walker at the end.
type local struct {
	files      []fileRec
	texts      []Asset
	stats      Stats
	unreadable []ReadError
	buf        []byte
}

// fail records that the file or folder rel could not be read.
func (l *local) fail(rel string, err error) {
	l.stats.Unreadable++
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // the path is rel
	}
	l.unreadable = append(l.unreadable, ReadError{Path: rel, Error: err.Error()})
}

func (w *walker) run() error {
	if !w.isDir {
		var l local
		w.visitFile(&l, path.Base(filepath.ToSlash(w.root)), w.root)
		w.merge(&l)
		return nil
	}
	w.push(".")
	var wg sync.WaitGroup
	for range w.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var l local
			for {
				dir, ok := w.next()
				if !ok {
					break
				}
				w.readDir(&l, dir)
				w.done()
			}
			w.merge(&l)
		}()
	}
	wg.Wait()
	return nil
}

func (w *walker) push(dir string) {
	w.mu.Lock()
	w.queue = append(w.queue, dir)
	w.pending++
	w.mu.Unlock()
	w.cond.Signal()
}

func (w *walker) next() (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.queue) == 0 && w.pending > 0 {
		w.cond.Wait()
	}
	if len(w.queue) == 0 {
		return "", false
	}
	dir := w.queue[len(w.queue)-1]
	w.queue = w.queue[:len(w.queue)-1]
	return dir, true
}

func (w *walker) done() {
	w.mu.Lock()
	w.pending--
	if w.pending == 0 {
		w.cond.Broadcast()
	}
	w.mu.Unlock()
}

func (w *walker) merge(l *local) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.files = append(w.files, l.files...)
	w.texts = append(w.texts, l.texts...)
	w.stats.Files += l.stats.Files
	w.stats.Dirs += l.stats.Dirs
	w.stats.SkippedDirs += l.stats.SkippedDirs
	w.stats.SkippedSymlinks += l.stats.SkippedSymlinks
	w.stats.Unreadable += l.stats.Unreadable
	w.unreadable = append(w.unreadable, l.unreadable...)
}

// readDir reads one folder: files are looked at here, subfolders queued.
func (w *walker) readDir(l *local, rel string) {
	if w.ctx.Err() != nil {
		return
	}
	abs := filepath.Join(w.root, filepath.FromSlash(rel))
	entries, err := os.ReadDir(abs)
	if err != nil {
		l.fail(rel, err)
		return
	}
	if rel != "." {
		for _, e := range entries {
			if e.Name() == "pyvenv.cfg" && e.Type().IsRegular() {
				l.stats.SkippedDirs++
				return
			}
		}
	}
	l.stats.Dirs++
	cacheRepo := isCacheRepo(path.Base(rel))
	for _, e := range entries {
		name := e.Name()
		childRel := name
		if rel != "." {
			childRel = rel + "/" + name
		}
		childAbs := filepath.Join(abs, name)
		switch t := e.Type(); {
		case t.IsDir():
			if skipDirs[name] {
				l.stats.SkippedDirs++
				continue
			}
			if cacheRepo && (name == "blobs" || name == ".no_exist") {
				continue // read through the snapshots' links
			}
			w.push(childRel)
		case t&os.ModeSymlink != 0:
			target, ok := w.cacheLink(childRel, childAbs)
			if !ok {
				l.stats.SkippedSymlinks++
				continue
			}
			w.visitFile(l, childRel, target)
		case t.IsRegular():
			w.visitFile(l, childRel, childAbs)
		}
	}
}

// cacheLink resolves a link of a Hugging Face cache snapshot to the blob it
// names. It follows only links to regular files inside the cache repository
// folder (models--ORG--NAME) that holds the snapshot, itself inside the root.
func (w *walker) cacheLink(rel, abs string) (string, bool) {
	loc, ok := parseCachePath(rel)
	if !ok {
		return "", false
	}
	target, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", false
	}
	repo := filepath.Join(w.root, filepath.FromSlash(loc.repoDir))
	if !within(repo, target) || !within(w.root, target) {
		return "", false
	}
	info, err := os.Stat(target)
	if err != nil || !info.Mode().IsRegular() {
		return "", false
	}
	return target, true
}

// within reports whether p is dir or below it (both absolute and clean).
func within(dir, p string) bool {
	r, err := filepath.Rel(dir, p)
	return err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) && !filepath.IsAbs(r)
}

// visitFile looks at one regular file: its head for model formats, and, for
// code, notebooks, configuration and dependency files, its text.
func (w *walker) visitFile(l *local, rel, abs string) {
	l.stats.Files++
	f, err := os.Open(abs)
	if err != nil {
		l.fail(rel, err)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = errors.New("not a regular file")
	}
	if err != nil {
		l.fail(rel, err)
		return
	}
	size := info.Size()
	name := path.Base(rel)
	tk := textKindOf(rel)
	limit := int64(analyzer.HeadSize)
	if tk.any() {
		limit = max(limit, tk.limit(w.opts.MaxTextSize))
	}
	n := min(size, limit)
	if int64(cap(l.buf)) < n {
		l.buf = make([]byte, n)
	}
	buf := l.buf[:n]
	m, err := io.ReadFull(f, buf)
	if err != nil && err != io.ErrUnexpectedEOF {
		l.fail(rel, err)
		return
	}
	buf = buf[:m]
	rec := fileRec{rel: rel, size: size}
	if size > 0 {
		rec.kind, rec.formats = w.sniffer.classify(name, buf, size, f)
	}
	if configNames[name] && rec.kind == "" && int64(m) == size {
		c := readFolderConfig(buf)
		rec.config = &c
	}
	if tk.any() && rec.kind == "" && int64(m) == size {
		l.texts = append(l.texts, tk.analyze(rel, buf)...)
	}
	l.files = append(l.files, rec)
}

// configNames are the configuration files of model folders.
var configNames = map[string]bool{"config.json": true, "adapter_config.json": true}
