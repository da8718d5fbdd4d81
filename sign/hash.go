package sign

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/zeebo/blake3"
)

// DefaultReadSize is the size of the reads into each worker's buffer when HashOptions.ReadSize is 0.
const DefaultReadSize = 1 << 20

// HashOptions tune Hash without changing its result.
type HashOptions struct {
	// Workers is the number of files or shards hashed at once; 0 means GOMAXPROCS.
	Workers int
	// ReadSize is the size of each read, and of each worker's buffer; 0 means DefaultReadSize.
	ReadSize int
	// Only, when not nil, limits the manifest to these files (POSIX paths relative to the model root,
	// as Manifest.Files returns them from a signed manifest): a verifier told to ignore unsigned files
	// hashes only what the signature names. The folder is not listed; a named file that does not exist
	// is left out of the manifest, so that Compare reports it as missing. Ignore paths still apply.
	// Only does not apply to a single-file model.
	Only []string
	// MaxResources bounds the files and shards of a manifest (0 means
	// DefaultMaxResources): a shard size a signature chose, tiny against
	// the model's files, must not make the verifier list and hash
	// billions of shards.
	MaxResources int
}

// DefaultMaxResources is the most files and shards a manifest may hold:
// a model of 1 TiB in the default 1 GB shards has about a thousand.
const DefaultMaxResources = 1 << 20

// modelFile is one regular file of the model.
type modelFile struct {
	name string // manifest path: relative POSIX path, or "." for a single-file model
	open string // path to open inside the opened root (the link's path for a followed symlink)
	size int64
}

// hashTask is a file or a shard of a file.
type hashTask struct {
	file       modelFile
	start, end int64
	whole      bool // method files: read to the end of the file
}

// hashResult is the digest of a task.
type hashResult struct {
	name       string
	start, end int64
	digest     []byte
}

// deferSize is the size from which a file is hashed after the listing, largest first.
const deferSize = 16 << 20

// Hash hashes the model at path, a folder or a single file, as the reference tool serializes it with
// the parameters s, and returns its manifest. Files and shards are hashed in parallel; memory does not
// grow with the model (one buffer of ReadSize per worker). No file outside the model is ever read: a
// symbolic link is an error unless s.AllowSymlinks, and a link leading outside the model is always one.
// Errors name the file. The manifest's Serialization is s as recorded in a signature: ignore paths
// relative, cleaned and sorted; shard size defaulted; method files for BLAKE3 (as the reference does).
func Hash(ctx context.Context, modelPath string, s Serialization, opts HashOptions) (*Manifest, error) {
	s, err := normalizeSerialization(s)
	if err != nil {
		return nil, err
	}
	m := &Manifest{ModelName: modelName(modelPath), Serialization: s}

	info, err := os.Lstat(modelPath)
	if err != nil {
		return nil, err
	}
	real := modelPath
	if info.Mode()&fs.ModeSymlink != 0 {
		if !s.AllowSymlinks {
			return nil, fmt.Errorf("%s: the model is a symbolic link (allow_symlinks is false)", modelPath)
		}
	}
	if real, err = filepath.Abs(real); err != nil {
		return nil, err
	}
	if real, err = filepath.EvalSymlinks(real); err != nil {
		return nil, err
	}
	if info, err = os.Stat(real); err != nil {
		return nil, err
	}

	ignore := relativeIgnorePaths(real, s.IgnorePaths)
	m.Serialization.IgnorePaths = ignore
	if s.IgnorePaths == nil {
		m.Serialization.IgnorePaths = nil
	}

	var (
		rootDir string
		single  *modelFile
	)
	switch {
	case info.Mode().IsRegular():
		rootDir = filepath.Dir(real)
		if !Ignored(".", ignore) {
			single = &modelFile{name: ".", open: filepath.Base(real), size: info.Size()}
		}
	case info.IsDir():
		rootDir = real
	default:
		return nil, fmt.Errorf("%s: not a regular file or a directory", modelPath)
	}
	root, err := os.OpenRoot(rootDir)
	if err != nil {
		return nil, err
	}
	defer root.Close()

	// The files are hashed while the folder is listed: small files at once, large ones (and all
	// their shards) once the listing is over, largest first, so that no large file starts last.
	nfiles := 0
	maxResources := opts.MaxResources
	if maxResources <= 0 {
		maxResources = DefaultMaxResources
	}
	resources := int64(0)
	produce := func(ctx context.Context, emit func(hashTask) bool) error {
		var deferred []hashTask
		add := func(f modelFile) error {
			nfiles++
			if resources += taskCount(f, s); resources > int64(maxResources) {
				return fmt.Errorf("%s: more than %d files and shards (shard size %d): too many to hash; use larger shards", modelPath, maxResources, s.ShardSize)
			}
			tasks := fileTasks(f, s)
			if f.size >= deferSize {
				deferred = append(deferred, tasks...)
				return nil
			}
			for _, t := range tasks {
				if !emit(t) {
					return ctx.Err()
				}
			}
			return nil
		}
		w := modelWalker{root: root, realRoot: real, allowSymlinks: s.AllowSymlinks, ignore: ignore, add: add}
		var err error
		switch {
		case single != nil:
			err = add(*single)
		case !info.IsDir():
		case opts.Only != nil:
			err = w.named(opts.Only)
		default:
			err = w.walk(ctx)
		}
		if err != nil {
			return err
		}
		slices.SortStableFunc(deferred, func(a, b hashTask) int { return cmp.Compare(b.end-b.start, a.end-a.start) })
		for _, t := range deferred {
			if !emit(t) {
				return ctx.Err()
			}
		}
		return nil
	}
	results, err := runHashTasks(ctx, root, produce, s.HashType, opts)
	if err != nil {
		return nil, err
	}
	if nfiles == 0 && s.Method == MethodFiles && opts.Only == nil {
		return nil, fmt.Errorf("%s: the model holds no regular file once the ignore paths are left out", modelPath)
	}
	slices.SortFunc(results, func(a, b hashResult) int {
		if c := comparePaths(a.name, b.name); c != 0 {
			return c
		}
		return cmp.Compare(a.start, b.start)
	})
	alg := s.ResourceAlgorithm()
	m.Resources = make([]Resource, len(results))
	for i, r := range results {
		name := r.name
		if s.Method == MethodShards {
			name = shardName(name, r.start, r.end)
		}
		m.Resources[i] = Resource{Name: name, Algorithm: alg, Digest: r.digest}
	}
	return m, nil
}

// normalizeSerialization validates s and applies the reference tool's defaults and substitutions.
func normalizeSerialization(s Serialization) (Serialization, error) {
	if s.Method == MethodShards && s.HashType == HashBLAKE3 {
		// The reference tool hashes whole files with BLAKE3 even when asked for shards.
		s.Method, s.ShardSize = MethodFiles, 0
	}
	if s.Method == MethodShards && s.ShardSize == 0 {
		s.ShardSize = DefaultShardSize
	}
	if err := s.Validate(); err != nil {
		return s, err
	}
	return s, nil
}

// modelName is the last element of the model's path, as the reference tool takes it (Python's
// pathlib name, or the name of the resolved path when that is empty or "..").
func modelName(p string) string {
	s := filepath.ToSlash(p)
	for {
		t := strings.TrimRight(s, "/")
		t = strings.TrimSuffix(t, "/.")
		if t == s || t == "" {
			s = t
			break
		}
		s = t
	}
	name := path.Base(s)
	if s == "" || name == "." || name == ".." || name == "/" {
		abs, err := filepath.Abs(p)
		if err != nil {
			return ""
		}
		if r, err := filepath.EvalSymlinks(abs); err == nil {
			abs = r
		}
		name = filepath.Base(abs)
		if name == string(filepath.Separator) || name == "." {
			name = ""
		}
	}
	return name
}

// relativeIgnorePaths cleans the ignore paths into relative POSIX paths, sorted, without duplicates.
// An absolute path is made relative to the model; one outside the model is dropped, as the reference
// tool drops it.
func relativeIgnorePaths(realRoot string, paths []string) []string {
	out := []string{}
	for _, p := range paths {
		if p == "" {
			continue
		}
		if filepath.IsAbs(p) {
			p = resolveLinks(p)
			rel, err := filepath.Rel(realRoot, p)
			if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				continue
			}
			p = rel
		}
		p = path.Clean(filepath.ToSlash(p))
		if p == ".." || strings.HasPrefix(p, "../") {
			continue
		}
		out = append(out, p)
	}
	slices.SortFunc(out, comparePaths)
	return slices.Compact(out)
}

// resolveLinks returns the absolute path p with its symbolic links
// resolved, as the model root is, so that an ignore path given through a
// link to the model's folder still names the file inside it. A path that
// does not exist is resolved through its parent folder.
func resolveLinks(p string) string {
	if real, err := filepath.EvalSymlinks(p); err == nil {
		return real
	}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(p)); err == nil {
		return filepath.Join(dir, filepath.Base(p))
	}
	return p
}

// Ignored reports whether the relative path p (POSIX form) is one of the
// ignore paths or lies under one ("." ignores everything; a trailing "/"
// is the same path).
func Ignored(p string, ignore []string) bool {
	for _, ig := range ignore {
		if ig != "/" {
			ig = strings.TrimSuffix(ig, "/")
		}
		if p == ig || ig == "." || strings.HasPrefix(p, ig) && len(p) > len(ig) && p[len(ig)] == '/' {
			return true
		}
	}
	return false
}

// modelWalker lists the regular files of a model folder.
type modelWalker struct {
	root          *os.Root
	realRoot      string // the folder, absolute, symbolic links resolved
	allowSymlinks bool
	ignore        []string
	add           func(modelFile) error // called for every file to hash
}

// walk lists every file of the folder that is not ignored.
func (w *modelWalker) walk(ctx context.Context) error { return w.walkDir(ctx, ".") }

// walkDir lists the folder dir (a path relative to the root) and what it holds, in name order. It
// reads through the os.Root itself, not its fs.FS, which refuses names that are not UTF-8.
func (w *modelWalker) walkDir(ctx context.Context, dir string) error {
	f, err := w.root.Open(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	entries, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	for _, d := range entries {
		p := d.Name()
		if dir != "." {
			p = dir + "/" + p
		}
		if Ignored(p, w.ignore) {
			continue
		}
		if d.IsDir() {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := w.walkDir(ctx, p); err != nil {
				return err
			}
			continue
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		file, ok, err := w.classify(p, info)
		if err != nil {
			return err
		}
		if ok {
			if err := w.add(file); err != nil {
				return err
			}
		}
	}
	return nil
}

// named looks up the given files only, leaving out those that do not exist.
func (w *modelWalker) named(names []string) error {
	seen := map[string]bool{}
	for _, name := range names {
		p := path.Clean(name)
		if name == "" || p != name || p == "." || path.IsAbs(p) || p == ".." || strings.HasPrefix(p, "../") ||
			strings.Contains(p, "\\") {
			return fmt.Errorf("%q: not a clean path relative to the model", name)
		}
		if seen[p] || Ignored(p, w.ignore) {
			continue
		}
		seen[p] = true
		info, err := w.root.Lstat(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				continue
			}
			return err
		}
		if !w.allowSymlinks {
			// A symbolic link on the way is refused as the link itself is.
			for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
				di, err := w.root.Lstat(dir)
				if err != nil {
					return err
				}
				if di.Mode()&fs.ModeSymlink != 0 {
					return fmt.Errorf("%s: a symbolic link (allow_symlinks is false)", dir)
				}
			}
		}
		f, ok, err := w.classify(p, info)
		if err != nil {
			return err
		}
		if ok {
			if err := w.add(f); err != nil {
				return err
			}
		}
	}
	return nil
}

// classify decides about one entry that is not a directory: a regular file is hashed; a symbolic link
// is an error, or (allowed) followed to a regular file inside the model, or skipped when it leads to a
// directory inside the model; anything else is an error.
func (w *modelWalker) classify(p string, info fs.FileInfo) (modelFile, bool, error) {
	typ := info.Mode().Type()
	switch {
	case typ.IsDir():
		return modelFile{}, false, nil
	case typ.IsRegular():
		return modelFile{name: p, open: p, size: info.Size()}, true, nil
	case typ&fs.ModeSymlink != 0:
		if !w.allowSymlinks {
			return modelFile{}, false, fmt.Errorf("%s: a symbolic link (allow_symlinks is false)", p)
		}
		target, err := filepath.EvalSymlinks(filepath.Join(w.realRoot, filepath.FromSlash(p)))
		if err != nil {
			return modelFile{}, false, fmt.Errorf("%s: a symbolic link that cannot be followed: %w", p, err)
		}
		rel, err := filepath.Rel(w.realRoot, target)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return modelFile{}, false, fmt.Errorf("%s: a symbolic link to %s, outside the model", p, target)
		}
		info, err := w.root.Stat(p)
		if err != nil {
			return modelFile{}, false, fmt.Errorf("%s: %w", p, err)
		}
		switch {
		case info.IsDir():
			return modelFile{}, false, nil // not followed, as in the reference tool
		case info.Mode().IsRegular():
			return modelFile{name: p, open: p, size: info.Size()}, true, nil
		}
		return modelFile{}, false, fmt.Errorf("%s: a symbolic link to a special file", p)
	}
	return modelFile{}, false, fmt.Errorf("%s: not a regular file or a directory (%v)", p, typ)
}

// taskCount is the number of tasks fileTasks makes of f, computed without
// making them.
func taskCount(f modelFile, s Serialization) int64 {
	if s.Method == MethodFiles {
		return 1
	}
	return (f.size + s.ShardSize - 1) / s.ShardSize
}

// fileTasks cuts a file into tasks: the whole file for method files, its shards for method shards.
func fileTasks(f modelFile, s Serialization) []hashTask {
	if s.Method == MethodFiles {
		return []hashTask{{file: f, end: f.size, whole: true}}
	}
	var tasks []hashTask
	for start := int64(0); start < f.size; start += s.ShardSize {
		tasks = append(tasks, hashTask{file: f, start: start, end: min(start+s.ShardSize, f.size)})
	}
	return tasks
}

// newContentHash returns the hash of a hash type that normalizeSerialization accepted.
func newContentHash(hashType string) hash.Hash {
	if hashType == HashBLAKE3 {
		return blake3.New()
	}
	return sha256.New()
}

// runHashTasks hashes the tasks that produce emits with a pool of workers, and returns the digests in
// no particular order. The first error cancels the rest.
func runHashTasks(ctx context.Context, root *os.Root, produce func(context.Context, func(hashTask) bool) error,
	hashType string, opts HashOptions) ([]hashResult, error) {
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	readSize := opts.ReadSize
	if readSize <= 0 {
		readSize = DefaultReadSize
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		tasks    = make(chan hashTask, 4*workers)
		mu       sync.Mutex
		results  []hashResult
		errOnce  sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		errOnce.Do(func() {
			firstErr = err
			cancel()
		})
	}
	for range workers {
		wg.Go(func() {
			var (
				buf  []byte // allocated at the first task
				h    = newContentHash(hashType)
				mine []hashResult
			)
			for t := range tasks {
				if ctx.Err() != nil {
					continue // drain
				}
				if buf == nil {
					buf = make([]byte, readSize)
				}
				d, err := hashOne(ctx, root, t.file.open, t, h, buf)
				if err != nil {
					if ctx.Err() != nil && errors.Is(err, context.Canceled) {
						continue // stopped by another error, which is the one to report
					}
					fail(fmt.Errorf("%s: %w", t.file.name, err))
					continue
				}
				mine = append(mine, hashResult{name: t.file.name, start: t.start, end: t.end, digest: d})
			}
			mu.Lock()
			results = append(results, mine...)
			mu.Unlock()
		})
	}
	err := produce(ctx, func(t hashTask) bool {
		select {
		case tasks <- t:
			return true
		case <-ctx.Done():
			return false
		}
	})
	if err != nil {
		cancel() // the listing failed: stop hashing
	}
	close(tasks)
	wg.Wait()
	if err := parent.Err(); err != nil {
		return nil, err
	}
	// A hashing error stops the listing, and a listing error stops the
	// hashing: report the cause, not the cancellation it caused.
	if firstErr != nil && (err == nil || errors.Is(err, context.Canceled)) {
		return nil, firstErr
	}
	if err != nil {
		return nil, err
	}
	return results, nil
}

// mmapMin is the size from which a file or shard is hashed through a
// memory mapping (hashMapped) rather than read into a buffer.
const mmapMin = 4 << 20

// errNoMmap says that a file could not be mapped; it is read instead.
var errNoMmap = errors.New("memory mapping not available")

// FileSHA256 returns the hex SHA-256 of the file at path (through a
// symbolic link, of its target) and the number of bytes hashed. A large
// file is hashed through a memory mapping, as Hash does; a file truncated
// meanwhile is an error.
func FileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", 0, err
	}
	h := sha256.New()
	if info.Mode().IsRegular() && info.Size() >= mmapMin {
		err := hashMapped(context.Background(), f, 0, info.Size(), h)
		if err == nil {
			return hex.EncodeToString(h.Sum(nil)), info.Size(), nil
		}
		if !errors.Is(err, errNoMmap) {
			return "", 0, fmt.Errorf("%s: %w", path, err)
		}
		h.Reset() // mapping is not possible here: read instead
	}
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// hashOne hashes a whole file or one shard, checking for cancellation between reads.
func hashOne(ctx context.Context, root *os.Root, name string, t hashTask, h hash.Hash, buf []byte) ([]byte, error) {
	// O_NONBLOCK: a file swapped for a FIFO after the walk must not block the open.
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	h.Reset()
	start, end := t.start, t.end
	if t.whole {
		start, end = 0, info.Size()
	}
	if end-start >= mmapMin {
		err := hashMapped(ctx, f, start, end, h)
		if err == nil {
			return h.Sum(nil), nil
		}
		if !errors.Is(err, errNoMmap) {
			return nil, err
		}
		h.Reset() // mapping is not possible here: read instead
	}
	if t.whole {
		for {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			n, err := f.Read(buf)
			h.Write(buf[:n])
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
		}
		return h.Sum(nil), nil
	}
	for off := t.start; off < t.end; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		want := int(min(int64(len(buf)), t.end-off))
		n, err := f.ReadAt(buf[:want], off)
		h.Write(buf[:n])
		off += int64(n)
		if err == io.EOF && off < t.end {
			return nil, fmt.Errorf("the file shrank while being hashed (shard %d:%d)", t.start, t.end)
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
	}
	return h.Sum(nil), nil
}
