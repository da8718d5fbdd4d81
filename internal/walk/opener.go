package walk

import (
	"fmt"
	"os"
	"path/filepath"
)

// openerFolders is how many folders an Opener keeps open.
const openerFolders = 4

// Opener opens File entries as Entry.Open does (confined, without
// blocking, the descriptor checked), but keeps the last few folders it
// opened them in: Entry.Open opens the allowed base (an os.Root), walks
// every folder of the path from it, and closes them again, once for the
// open and once for the check, about ten system calls for a file of a
// subfolder; an Opener opens a file of a folder it holds in four (open,
// stat, the name's lstat, close of the file). Each folder is opened through
// the os.Root of the allowed base, so that it is confined as Entry.Open
// confines it. An Opener is for one goroutine (a worker of a parallel scan
// keeps its own: it sees the files of a folder in a row), and holds at most
// a handful of descriptors; Close releases them.
type Opener struct {
	bases   map[string]*os.Root // by real path of the allowed base
	folders []openFolder        // most recent last
}

// openFolder is a folder of an allowed base that an Opener holds.
type openFolder struct {
	within, dir string
	root        *os.Root
}

// Open opens a File entry for reading, with the guarantees of Entry.Open.
func (o *Opener) Open(e Entry) (*os.File, os.FileInfo, error) {
	if e.Kind != File || e.within == "" {
		return nil, nil, fmt.Errorf("%s: a %s is not opened", e.Path, e.Kind)
	}
	dir, name := filepath.Split(e.open)
	root, err := o.folder(e.within, filepath.Clean(dir))
	if err != nil {
		return nil, nil, err
	}
	return openIn(root, name, e.Link)
}

// folder returns the os.Root of the folder dir ("." for the base itself)
// of the allowed base within, opened through the base's root.
func (o *Opener) folder(within, dir string) (*os.Root, error) {
	for i := len(o.folders) - 1; i >= 0; i-- {
		if f := o.folders[i]; f.within == within && f.dir == dir {
			return f.root, nil
		}
	}
	base, ok := o.bases[within]
	if !ok {
		var err error
		if base, err = os.OpenRoot(within); err != nil {
			return nil, err
		}
		if o.bases == nil {
			o.bases = map[string]*os.Root{}
		}
		if len(o.bases) >= openerFolders {
			// A walk with links into many stores: start again.
			for _, r := range o.bases {
				r.Close()
			}
			clear(o.bases)
		}
		o.bases[within] = base
	}
	if dir == "." {
		return base, nil
	}
	root, err := base.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	if len(o.folders) == openerFolders {
		o.folders[0].root.Close()
		o.folders = append(o.folders[:0], o.folders[1:]...)
	}
	o.folders = append(o.folders, openFolder{within: within, dir: dir, root: root})
	return root, nil
}

// Close closes the folders the Opener holds; it can be used again.
func (o *Opener) Close() {
	for _, f := range o.folders {
		f.root.Close()
	}
	o.folders = o.folders[:0]
	for _, r := range o.bases {
		r.Close()
	}
	clear(o.bases)
}
