package discover

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/violet-mlsecops/violet/internal/walk"

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
	tree    *walk.Tree // the root's entries, by the link rules of every verb

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
		tree, err := walk.NewTree(filepath.Dir(w.root))
		if err != nil {
			return err
		}
		var l local
		if e, ok := tree.Stat(filepath.Base(w.root)); ok {
			e.Rel = path.Base(filepath.ToSlash(w.root))
			w.visitFile(&l, e)
		}
		w.merge(&l)
		return nil
	}
	tree, err := walk.NewTree(w.root)
	if err != nil {
		return err
	}
	w.tree = tree
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
			w.visitLink(l, childRel)
		case t.IsRegular():
			if e, ok := w.tree.Stat(childRel); ok {
				w.visitFile(l, e)
			}
		}
	}
}

// visitLink looks at a symbolic link by the link rules of every verb
// (internal/walk). A link to a file elsewhere in the tree is not followed:
// the file is listed by its own path. A Hugging Face cache snapshot's link
// into its blobs, and a link into the project's DVC or git-annex store, are
// followed: they are how those tools lay out the assets. A link out of the
// tree is reported as not read.
func (w *walker) visitLink(l *local, rel string) {
	e, ok := w.tree.Stat(rel)
	switch {
	case !ok: // a linked folder inside the tree: its files are listed by their own paths
		l.stats.SkippedSymlinks++
	case e.Kind == walk.LinkOutside:
		l.fail(rel, fmt.Errorf("a symbolic link to %s, outside the folder: not read (run discover on that place too)", e.Target))
	case e.Kind != walk.File:
		l.stats.SkippedSymlinks++
	case within(w.root, e.Target):
		if _, cache := parseCachePath(rel); !cache {
			l.stats.SkippedSymlinks++
			return
		}
		w.visitFile(l, e)
	default:
		w.visitFile(l, e)
	}
}

// within reports whether p is dir or below it (both absolute and clean).
func within(dir, p string) bool {
	r, err := filepath.Rel(dir, p)
	return err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) && !filepath.IsAbs(r)
}

// visitFile looks at one regular file: its head for model formats, and, for
// code, notebooks, configuration and dependency files, its text.
func (w *walker) visitFile(l *local, e walk.Entry) {
	l.stats.Files++
	rel := e.Rel
	if e.Kind == walk.Unreadable {
		l.fail(rel, e.Err)
		return
	}
	// Opened inside the folder the link rules allow, without blocking, and
	// checked to be the regular file listed (not one swapped for a FIFO).
	f, info, err := e.Open()
	if err != nil {
		l.fail(rel, err)
		return
	}
	defer f.Close()
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
