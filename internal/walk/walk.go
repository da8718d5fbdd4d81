// Package walk lists the files of a folder for every verb of Violet (scan,
// sign, bom, deps, discover, the scan attestation), with one set of rules
// for what is read:
//
//   - A symbolic link is followed only into the folder itself, into the
//     Hugging Face cache repository that holds it (snapshots link into
//     blobs), or into a content store of the project the folder belongs to
//     (DVC's .dvc/cache, git-annex's .git/annex/objects). Any other link is
//     an entry of kind LinkOutside: reported by the verb, never read.
//   - A linked folder is not walked (its files are reached by their own
//     path when they are inside); one outside is LinkOutside.
//   - A folder or file that cannot be read is an entry of kind Unreadable,
//     and the walk goes on.
//   - FIFOs, sockets and devices are entries of kind Special: never opened.
//   - Entry.Open opens a file inside the folder the rules allowed it in,
//     through an os.Root, without blocking, and checks on the descriptor
//     that it is still a regular file: a file swapped for a link or a FIFO
//     after the walk is refused.
package walk

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Kind is what a walk entry is.
type Kind int

// The kinds of entries.
const (
	// File is a regular file, or a link to one where the rules allow it.
	File Kind = iota
	// LinkOutside is a link (to a file or a folder) that leaves the
	// folder and every place the rules allow: not followed.
	LinkOutside
	// Broken is a link to nothing.
	Broken
	// Unreadable is a folder or a file whose entry could not be read.
	Unreadable
	// Special is a FIFO, a socket or a device.
	Special
)

// String names the kind.
func (k Kind) String() string {
	return [...]string{"file", "link outside", "broken link", "unreadable", "special file"}[k]
}

// Entry is one thing the walk found.
type Entry struct {
	// Path is the root joined with Rel, as the caller named the root.
	Path string
	// Rel is the path relative to the root, with forward slashes.
	Rel string
	// Kind is what the entry is.
	Kind Kind
	// Size is a File's size, -1 when unknown.
	Size int64
	// Link is set for an entry found as a symbolic link; Target is its
	// resolved target (empty for a broken link) and LinkText the text of
	// the link.
	Link     bool
	Target   string
	LinkText string
	// Err says why an Unreadable entry could not be read.
	Err error
	// within is the real path of the folder a File is opened in, open its
	// path there.
	within, open string
}

// Options tune a walk. The link rules are not an option: they are the
// same for every verb.
type Options struct {
	// SkipDir reports whether a folder below the root is left out (its
	// name and its path relative to the root, with forward slashes).
	SkipDir func(rel, name string) bool
	// Skip reports whether an entry that is not a folder is left out
	// before it is examined.
	Skip func(rel, name string) bool
	// NoSize leaves the Size of a regular file -1 (a link's is still
	// set): a verb that learns the size when it opens the file saves a
	// system call per file, the walk's largest cost after reading the
	// folders.
	NoSize bool
}

// VCSDirs are the folders of version control systems, which hold no part
// of a model: most verbs skip them.
var VCSDirs = map[string]bool{".git": true, ".hg": true, ".svn": true}

// Walk lists root (a folder) in lexical order and calls fn for each entry
// that is not a folder. It returns an error only when root itself cannot
// be read, or when fn returns one (fs.SkipAll ends the walk quietly).
func Walk(root string, o Options, fn func(Entry) error) error {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return err
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if err != nil {
			if path == root {
				return err
			}
			if err := fn(Entry{Path: path, Rel: rel, Kind: Unreadable, Size: -1, Err: err}); err != nil {
				return err
			}
			if d != nil && d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if path != root && o.SkipDir != nil && o.SkipDir(rel, d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if o.Skip != nil && o.Skip(rel, d.Name()) {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			if e, ok := linkEntry(realRoot, path, rel); ok {
				return fn(e)
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return fn(Entry{Path: path, Rel: rel, Kind: Special, Size: -1})
		}
		if o.NoSize {
			return fn(Entry{Path: path, Rel: rel, Kind: File, Size: -1, within: realRoot, open: filepath.FromSlash(rel)})
		}
		info, err := d.Info()
		if err != nil {
			return fn(Entry{Path: path, Rel: rel, Kind: Unreadable, Size: -1, Err: err})
		}
		return fn(Entry{Path: path, Rel: rel, Kind: File, Size: info.Size(), within: realRoot, open: filepath.FromSlash(rel)})
	})
	if errors.Is(err, fs.SkipAll) {
		return nil
	}
	return err
}

// Tree is a folder whose entries a walker of its own (a parallel one)
// looks up one at a time by the same rules as Walk; its real path is
// resolved once.
type Tree struct {
	root, realRoot string
}

// NewTree returns the tree of the folder root.
func NewTree(root string) (*Tree, error) {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, err
	}
	return &Tree{root: root, realRoot: realRoot}, nil
}

// Stat returns the entry of the path rel (slash-separated) in the tree, by
// the same rules as Walk: a File opens inside the folder the rules allow,
// a link out is LinkOutside. ok is false for a folder, and for a link to a
// folder the rules allow.
func (t *Tree) Stat(rel string) (e Entry, ok bool) {
	path := filepath.Join(t.root, filepath.FromSlash(rel))
	info, err := os.Lstat(path)
	switch {
	case err != nil:
		return Entry{Path: path, Rel: rel, Kind: Unreadable, Size: -1, Err: err}, true
	case info.Mode()&os.ModeSymlink != 0:
		return linkEntry(t.realRoot, path, rel)
	case info.IsDir():
		return Entry{}, false
	case !info.Mode().IsRegular():
		return Entry{Path: path, Rel: rel, Kind: Special, Size: -1}, true
	}
	return Entry{Path: path, Rel: rel, Kind: File, Size: info.Size(), within: t.realRoot, open: filepath.FromSlash(rel)}, true
}

// linkEntry classifies the symbolic link at path; ok is false for a link
// to a folder the rules allow, which has no entry (the folder's files are
// listed by their own paths, or not at all).
func linkEntry(realRoot, path, rel string) (e Entry, ok bool) {
	e = Entry{Path: path, Rel: rel, Link: true, Size: -1}
	e.LinkText, _ = os.Readlink(path)
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		e.Kind = Broken
		return e, true
	}
	e.Target = target
	info, err := os.Stat(target)
	if err != nil {
		e.Kind, e.Err = Unreadable, err
		return e, true
	}
	base := AllowedBase(realRoot, path, target)
	switch {
	case base == "":
		e.Kind = LinkOutside
	case info.IsDir():
		return e, false
	case !info.Mode().IsRegular():
		e.Kind = Special
	default:
		e.Kind, e.Size, e.within = File, info.Size(), base
		e.open, _ = relWithin(base, target)
	}
	return e, true
}

// AllowedBase returns the real path of the folder a symbolic link found
// under root may be followed into, when its resolved target lies there:
// root itself, the Hugging Face cache repository that holds the link
// (models--org--name, whose snapshots link into its blobs), or a content
// store of the project root belongs to (DVC cache, git-annex objects);
// else "".
func AllowedBase(root, link, target string) string {
	if store := ProjectStore(root, target); store != "" {
		return store
	}
	for _, base := range []string{root, HFCacheRepo(link)} {
		if base == "" {
			continue
		}
		real, err := filepath.EvalSymlinks(base)
		if err != nil {
			continue
		}
		if _, ok := relWithin(real, target); ok {
			return real
		}
	}
	return ""
}

// contentStores are the folders of a project where data version control
// keeps the content that its links point to: DVC's cache and git-annex's
// object store.
var contentStores = []string{".dvc/cache", ".git/annex/objects"}

// ProjectStore returns the content store (DVC cache, git-annex objects)
// that target lies in, when that store belongs to the git work tree
// holding root; else "".
func ProjectStore(root, target string) string {
	abs, err := filepath.Abs(root)
	if err != nil {
		return ""
	}
	top := GitTop(abs)
	if top == "" {
		return ""
	}
	realTop, err := filepath.EvalSymlinks(top)
	if err != nil {
		return ""
	}
	for _, s := range contentStores {
		store := filepath.Join(realTop, filepath.FromSlash(s))
		if rel, ok := relWithin(store, target); ok && rel != "." {
			return store
		}
	}
	return ""
}

// GitTop returns the closest folder at or above dir that holds a .git
// entry, or "".
func GitTop(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// HFCacheRepo returns the Hugging Face cache repository folder that holds
// path (models--*, datasets--* or spaces--*, with blobs/ and snapshots/),
// or "".
func HFCacheRepo(path string) string {
	for dir := filepath.Dir(path); ; {
		base := filepath.Base(dir)
		if strings.HasPrefix(base, "models--") || strings.HasPrefix(base, "datasets--") || strings.HasPrefix(base, "spaces--") {
			if isDir(filepath.Join(dir, "blobs")) && isDir(filepath.Join(dir, "snapshots")) {
				return dir
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func isDir(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}

// relWithin returns path relative to base, when base holds it.
func relWithin(base, path string) (string, bool) {
	rel, err := filepath.Rel(base, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", false
	}
	return rel, true
}

// ErrNotRegular is returned by Open for an entry that is no longer the
// regular file the walk listed.
var ErrNotRegular = errors.New("no longer a regular file")

// Open opens a File entry for reading inside the folder the link rules
// allowed it in, through an os.Root (a link swapped in after the walk
// cannot lead out of that folder), without blocking (a FIFO swapped in
// opens at once), and checks on the open descriptor that it is a regular
// file, the one at the listed name.
func (e Entry) Open() (*os.File, os.FileInfo, error) {
	if e.Kind != File || e.within == "" {
		return nil, nil, fmt.Errorf("%s: a %s is not opened", e.Path, e.Kind)
	}
	root, err := os.OpenRoot(e.within)
	if err != nil {
		return nil, nil, err
	}
	defer root.Close()
	return openIn(root, e.open, e.Link)
}

// openIn opens the file at name in root without blocking and checks on the
// descriptor that it is a regular file and, unless it was listed as a link,
// the file at the name itself, not a link to another.
func openIn(root *os.Root, name string, link bool) (*os.File, os.FileInfo, error) {
	fh, err := root.OpenFile(name, os.O_RDONLY|nonBlocking, 0)
	if err != nil {
		return nil, nil, err
	}
	info, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, nil, err
	}
	if !info.Mode().IsRegular() {
		fh.Close()
		return nil, nil, fmt.Errorf("%w: it is now %s", ErrNotRegular, ModeName(info.Mode()))
	}
	if !link {
		// A name the walk saw as a file must still be that file, not a
		// link (inside the folder, else the root refused it) to another.
		at, err := root.Lstat(name)
		if err != nil || !os.SameFile(at, info) {
			fh.Close()
			var mode os.FileMode
			if at != nil {
				mode = at.Mode()
			}
			return nil, nil, fmt.Errorf("%w: it was replaced while Violet read the folder (now %s)", ErrNotRegular, ModeName(mode))
		}
	}
	return fh, info, nil
}

// ModeName says in words what kind of file mode is.
func ModeName(mode os.FileMode) string {
	switch {
	case mode == 0:
		return "gone"
	case mode&os.ModeSymlink != 0:
		return "a symbolic link"
	case mode&os.ModeNamedPipe != 0:
		return "a FIFO"
	case mode&os.ModeSocket != 0:
		return "a socket"
	case mode&os.ModeDevice != 0:
		return "a device"
	case mode.IsDir():
		return "a folder"
	case mode.IsRegular():
		return "another file"
	}
	return "not a regular file"
}

// Outside is the message verbs give for a LinkOutside entry: what was not
// read and how to include it.
func (e Entry) Outside() string {
	return fmt.Sprintf("%s is a symbolic link to %s, outside the folder: it was not read. Name that place as a target too, or replace the link with the file.", e.Path, e.Target)
}
