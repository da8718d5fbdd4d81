package discover

// A reader of git history that runs nothing. It reads commits and trees
// from loose objects and packfiles itself, and never consults the
// repository's configuration: nothing a repository configures (pagers,
// fsmonitor, gpg programs, diff drivers, filters, hooks, credential
// helpers) can run. Every read goes through an os.Root on the .git folder,
// so no path or symbolic link leads out of it, and pointers to other
// object stores (a .git file, objects/info/alternates, commondir) are
// refused, not followed. Every read is bounded: object size, bytes
// inflated, delta chain, tree depth and entries, commits walked.

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"container/list"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unicode"
)

// Bounds of one history read.
const (
	maxGitObject     = 32 << 20  // largest commit, tree or delta, inflated
	maxGitInflate    = 512 << 20 // bytes inflated in all
	maxDeltaChain    = 4096      // deltas on deltas (git's own maximum is 4095)
	maxTreeDepth     = 1024      // nested folders
	maxTreeEntries   = 5_000_000 // tree entries compared in all
	maxCommitsWalked = 200_000   // commits read or queued, shown or not
	maxParents       = 4096      // parents of one commit
	maxPacks         = 1024      // packfiles
	maxPackDirEnts   = 100_000   // entries of objects/pack
	maxRefFile       = 64 << 10  // HEAD and a loose ref
	maxRefDepth      = 8         // symbolic refs to symbolic refs
	maxTagDepth      = 8         // tags of tags
	gitCacheBytes    = 32 << 20  // decoded objects kept
)

// Object types, as packfiles number them.
const (
	objCommit   = 1
	objTree     = 2
	objBlob     = 3
	objTag      = 4
	objOfsDelta = 6
	objRefDelta = 7
)

var objNames = map[string]int{"commit": objCommit, "tree": objTree, "blob": objBlob, "tag": objTag}

// errGitLimit is wrapped by the errors of a read that hit one of its bounds.
var errGitLimit = errors.New("limit reached")

// errNoCommits says HEAD names a branch with no commit yet.
var errNoCommits = errors.New("no commits yet")

// oid is an object id, as raw bytes ("" is no object).
type oid string

func (id oid) String() string { return hex.EncodeToString([]byte(id)) }

// findGitDir walks up from dir to the first folder holding a .git and
// returns that folder (the work tree's top) and its .git folder. A .git
// that is a file (a linked worktree or a submodule, pointing elsewhere) or
// a symbolic link is not followed, nor is a .git folder whose HEAD, objects
// or refs lead out of it: top is returned with a non-nil error. A .git
// folder that lacks one of them is passed over, as git does. It returns ""
// when no folder at or above dir has a .git.
func findGitDir(dir string) (top, gitDir string, err error) {
	for d := dir; ; {
		p := filepath.Join(d, ".git")
		fi, err := os.Lstat(p)
		switch {
		case err == nil && fi.Mode()&fs.ModeSymlink != 0:
			return d, "", fmt.Errorf("%s is a symbolic link: not followed", p)
		case err == nil && fi.IsDir():
			ok, err := isRepository(p)
			if err != nil {
				return d, "", err
			}
			if ok {
				return d, p, nil
			}
		case err == nil:
			return d, "", fmt.Errorf("%s is a file that points to another git folder (a linked worktree or a submodule): not followed", p)
		case !errors.Is(err, fs.ErrNotExist):
			return d, "", err
		}
		up := filepath.Dir(d)
		if up == d {
			return "", "", nil
		}
		d = up
	}
}

// isRepository reports whether p looks like a git folder: a HEAD file,
// objects and refs folders. One that exists but leads out of p (a
// symbolic link) is an error.
func isRepository(p string) (bool, error) {
	root, err := os.OpenRoot(p)
	if err != nil {
		return false, err
	}
	defer root.Close()
	for _, name := range []string{"HEAD", "objects", "refs"} {
		fi, err := root.Stat(name)
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("%s: %w: not followed", filepath.Join(p, name), err)
		}
		if fi.IsDir() != (name != "HEAD") {
			return false, nil
		}
	}
	return true, nil
}

// gitStore reads the objects of one .git folder.
type gitStore struct {
	root       *os.Root
	hashLen    int // 20 (SHA-1) or 32 (SHA-256)
	packs      []*gitPack
	shallow    map[oid]bool // commits whose parents a shallow clone lacks
	cache      objCache
	inflated   int64 // bytes inflated so far
	entries    int64 // tree entries compared so far
	maxEntries int64 // bound on entries (maxTreeEntries)
	check      func() error
}

// openGitStore opens the .git folder gitDir. check is called before each
// object read; its error (a cancelled context) stops the read.
func openGitStore(gitDir string, check func() error) (*gitStore, error) {
	root, err := os.OpenRoot(gitDir)
	if err != nil {
		return nil, err
	}
	s := &gitStore{root: root, check: check, cache: objCache{max: gitCacheBytes}, maxEntries: maxTreeEntries}
	for name, why := range map[string]string{
		"objects/info/alternates": "names other object stores",
		"commondir":               "points to another git folder (a linked worktree)",
		"reftable":                "holds reftable refs, which this reader does not read",
	} {
		if _, err := root.Lstat(name); err == nil {
			root.Close()
			return nil, fmt.Errorf("%s %s: not followed", filepath.Join(gitDir, name), why)
		}
	}
	return s, nil
}

// close releases the files of the store.
func (s *gitStore) close() {
	for _, p := range s.packs {
		p.idx.Close()
		p.pack.Close()
	}
	s.root.Close()
}

// openFile opens a regular file of the git folder. It does not block on a
// FIFO planted there.
func (s *gitStore) openFile(name string) (*os.File, int64, error) {
	f, err := s.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file", name)
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// readSmall reads a file of at most limit bytes.
func (s *gitStore) readSmall(name string, limit int64) ([]byte, error) {
	f, _, err := s.openFile(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err == nil && int64(len(data)) > limit {
		err = fmt.Errorf("%s is larger than %d bytes", name, limit)
	}
	return data, err
}

// head resolves HEAD to a commit id, and sets the hash length from it.
func (s *gitStore) head() (oid, error) {
	name := "HEAD"
	for range maxRefDepth {
		v, err := s.ref(name)
		if err != nil {
			return "", err
		}
		if target, ok := strings.CutPrefix(v, "ref:"); ok {
			name = strings.TrimSpace(target)
			continue
		}
		return s.parseID(v)
	}
	return "", fmt.Errorf("HEAD: more than %d symbolic refs", maxRefDepth)
}

// ref reads a ref: a loose file, else a line of packed-refs. A branch that
// is in neither has no commit yet.
func (s *gitStore) ref(name string) (string, error) {
	if name != "HEAD" && !validRefName(name) {
		return "", fmt.Errorf("bad ref name %q", name)
	}
	data, err := s.readSmall(name, maxRefFile)
	if err == nil {
		return strings.TrimSpace(string(data)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) || name == "HEAD" {
		return "", err
	}
	f, _, err := s.openFile("packed-refs")
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s: %w", name, errNoCommits)
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 4096), 64<<10)
	for sc.Scan() {
		id, ref, ok := strings.Cut(sc.Text(), " ")
		if ok && ref == name {
			return id, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("packed-refs: %w", err)
	}
	return "", fmt.Errorf("%s: %w", name, errNoCommits)
}

// validRefName accepts refs/... names without empty, dot or dot-dot parts.
func validRefName(name string) bool {
	if !strings.HasPrefix(name, "refs/") || strings.ContainsAny(name, "\\\x00") {
		return false
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." || part == ".." {
			return false
		}
	}
	return true
}

// parseID decodes a hexadecimal object id. The first one read sets the
// repository's hash length.
func (s *gitStore) parseID(h string) (oid, error) {
	if len(h) != 40 && len(h) != 64 || s.hashLen != 0 && len(h) != 2*s.hashLen {
		return "", fmt.Errorf("bad object id %q", h)
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return "", fmt.Errorf("bad object id %q", h)
	}
	if s.hashLen == 0 {
		s.hashLen = len(b)
	}
	return oid(b), nil
}

// loadShallow reads the commits a shallow clone has without their parents.
func (s *gitStore) loadShallow() error {
	f, _, err := s.openFile("shallow")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	s.shallow = map[oid]bool{}
	sc := bufio.NewScanner(f)
	for n := 0; sc.Scan(); n++ {
		if n >= maxCommitsWalked {
			return fmt.Errorf("shallow: more than %d commits: %w", maxCommitsWalked, errGitLimit)
		}
		id, err := s.parseID(strings.TrimSpace(sc.Text()))
		if err != nil {
			return fmt.Errorf("shallow: %w", err)
		}
		s.shallow[id] = true
	}
	return sc.Err()
}

// loadPacks opens the packfiles of objects/pack and checks their indexes.
func (s *gitStore) loadPacks() error {
	d, err := s.root.Open("objects/pack")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer d.Close()
	var names []string
	for seen := 0; ; {
		ents, err := d.ReadDir(1024)
		for _, e := range ents {
			if base, ok := strings.CutSuffix(e.Name(), ".idx"); ok && strings.HasPrefix(base, "pack-") {
				names = append(names, base)
			}
		}
		seen += len(ents)
		if err == io.EOF || len(ents) == 0 {
			break
		}
		if err != nil {
			return err
		}
		if seen > maxPackDirEnts || len(names) > maxPacks {
			return fmt.Errorf("objects/pack holds more than %d packs or %d entries: %w", maxPacks, maxPackDirEnts, errGitLimit)
		}
	}
	for _, base := range names {
		p, err := s.openPack("objects/pack/" + base)
		if err != nil {
			return err
		}
		if p != nil {
			s.packs = append(s.packs, p)
		}
	}
	return nil
}

// gitPack is a packfile and its version 2 index, read in place.
type gitPack struct {
	name      string
	idx, pack *os.File
	packSize  int64
	count     int64
	large     int64 // 8-byte offsets in the index
	fanout    [256]uint32
	hashLen   int
}

// openPack opens base.idx and base.pack and checks that the index's sizes
// agree with its file and the pack's header. A pack without its .pack
// (being written or removed) is passed over.
func (s *gitStore) openPack(base string) (*gitPack, error) {
	idx, idxSize, err := s.openFile(base + ".idx")
	if err != nil {
		return nil, err
	}
	pack, packSize, err := s.openFile(base + ".pack")
	if errors.Is(err, fs.ErrNotExist) {
		idx.Close()
		return nil, nil
	}
	if err != nil {
		idx.Close()
		return nil, err
	}
	p := &gitPack{name: base, idx: idx, pack: pack, packSize: packSize, hashLen: s.hashLen}
	if err := p.check(idxSize); err != nil {
		idx.Close()
		pack.Close()
		return nil, fmt.Errorf("%s: %w", base, err)
	}
	return p, nil
}

func (p *gitPack) check(idxSize int64) error {
	var head [8 + 256*4]byte
	if _, err := p.idx.ReadAt(head[:], 0); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	if !bytes.Equal(head[:4], []byte{0xff, 't', 'O', 'c'}) || binary.BigEndian.Uint32(head[4:8]) != 2 {
		return errors.New("index: not a version 2 pack index")
	}
	for i := range p.fanout {
		p.fanout[i] = binary.BigEndian.Uint32(head[8+4*i:])
		if i > 0 && p.fanout[i] < p.fanout[i-1] {
			return errors.New("index: fanout table out of order")
		}
	}
	h := int64(p.hashLen)
	p.count = int64(p.fanout[255])
	rest := idxSize - (8 + 1024 + p.count*(h+8) + 2*h)
	if rest < 0 || rest%8 != 0 || rest/8 > p.count {
		return fmt.Errorf("index: %d bytes for %d objects", idxSize, p.count)
	}
	p.large = rest / 8
	var ph [12]byte
	if _, err := p.pack.ReadAt(ph[:], 0); err != nil {
		return fmt.Errorf("pack: %w", err)
	}
	if v := binary.BigEndian.Uint32(ph[4:8]); string(ph[:4]) != "PACK" || v != 2 && v != 3 {
		return errors.New("pack: bad header")
	}
	if int64(binary.BigEndian.Uint32(ph[8:])) != p.count || p.packSize < 12+h {
		return errors.New("pack: object count differs from the index")
	}
	return nil
}

// find returns the offset of id in the pack, or -1.
func (p *gitPack) find(id oid) (int64, error) {
	h := int64(p.hashLen)
	lo, hi := int64(0), int64(p.fanout[id[0]])
	if id[0] > 0 {
		lo = int64(p.fanout[id[0]-1])
	}
	name := make([]byte, h)
	for lo < hi {
		mid := lo + (hi-lo)/2
		if _, err := p.idx.ReadAt(name, 8+1024+mid*h); err != nil {
			return 0, err
		}
		switch c := strings.Compare(string(name), string(id)); {
		case c == 0:
			return p.offset(mid)
		case c < 0:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return -1, nil
}

// offset reads the pack offset of the i-th object of the index.
func (p *gitPack) offset(i int64) (int64, error) {
	h := int64(p.hashLen)
	table := 8 + 1024 + p.count*(h+4)
	var b [8]byte
	if _, err := p.idx.ReadAt(b[:4], table+4*i); err != nil {
		return 0, err
	}
	off := int64(binary.BigEndian.Uint32(b[:4]))
	if off&0x80000000 != 0 {
		j := off & 0x7fffffff
		if j >= p.large {
			return 0, errors.New("index: bad large offset")
		}
		if _, err := p.idx.ReadAt(b[:], table+4*p.count+8*j); err != nil {
			return 0, err
		}
		off = int64(binary.BigEndian.Uint64(b[:]))
	}
	if off < 12 || off >= p.packSize-h {
		return 0, fmt.Errorf("index: offset %d outside the pack", off)
	}
	return off, nil
}

// object reads an object by id: packs first, then loose objects. Blobs are
// never read.
func (s *gitStore) object(id oid, depth int) (int, []byte, error) {
	if len(id) != s.hashLen {
		return 0, nil, errors.New("bad object id")
	}
	if kind, data, ok := s.cache.get(string(id)); ok {
		return kind, data, nil
	}
	if err := s.check(); err != nil {
		return 0, nil, err
	}
	for i, p := range s.packs {
		off, err := p.find(id)
		if err != nil {
			return 0, nil, fmt.Errorf("%s: %w", p.name, err)
		}
		if off >= 0 {
			kind, data, err := s.packed(i, off, depth)
			if err != nil {
				return 0, nil, fmt.Errorf("object %s: %w", id, err)
			}
			s.cache.put(string(id), kind, data)
			return kind, data, nil
		}
	}
	kind, data, err := s.loose(id)
	if err != nil {
		return 0, nil, fmt.Errorf("object %s: %w", id, err)
	}
	s.cache.put(string(id), kind, data)
	return kind, data, nil
}

// loose reads objects/xx/yyyy: zlib of "type size\0" and the content.
func (s *gitStore) loose(id oid) (int, []byte, error) {
	h := id.String()
	f, _, err := s.openFile("objects/" + h[:2] + "/" + h[2:])
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	zr, err := zlib.NewReader(bufio.NewReader(f))
	if err != nil {
		return 0, nil, err
	}
	br := bufio.NewReaderSize(zr, 64)
	head, err := br.ReadSlice(0)
	if err != nil || len(head) > 32 {
		return 0, nil, errors.New("bad loose object header")
	}
	name, size, _ := strings.Cut(string(head[:len(head)-1]), " ")
	kind, n, err := objNames[name], int64(0), error(nil)
	if kind != 0 {
		n, err = strconv.ParseInt(size, 10, 64)
	}
	if kind == 0 || err != nil || n < 0 {
		return 0, nil, errors.New("bad loose object header")
	}
	if kind == objBlob {
		return 0, nil, errors.New("is a blob")
	}
	data, err := s.readN(br, n)
	return kind, data, err
}

// packed reads the object at off of the i-th pack, resolving deltas.
func (s *gitStore) packed(i int, off int64, depth int) (int, []byte, error) {
	key := "\x00" + strconv.Itoa(i) + "@" + strconv.FormatInt(off, 10)
	if kind, data, ok := s.cache.get(key); ok {
		return kind, data, nil
	}
	if depth > maxDeltaChain {
		return 0, nil, fmt.Errorf("delta chain longer than %d: %w", maxDeltaChain, errGitLimit)
	}
	p := s.packs[i]
	r := bufio.NewReader(io.NewSectionReader(p.pack, off, p.packSize-int64(p.hashLen)-off))
	c, err := r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	kind, size := int(c>>4)&7, int64(c&15)
	for shift := 4; c&0x80 != 0; shift += 7 {
		if c, err = r.ReadByte(); err != nil || shift > 56 {
			return 0, nil, errors.New("bad pack object header")
		}
		size |= int64(c&0x7f) << shift
	}
	var baseKind int
	var base []byte
	switch kind {
	case objCommit, objTree, objTag:
		data, err := s.inflate(r, size)
		if err == nil {
			s.cache.put(key, kind, data)
		}
		return kind, data, err
	case objBlob:
		return 0, nil, errors.New("is a blob")
	case objOfsDelta:
		rel, err := ofsDelta(r)
		if err != nil || rel <= 0 || rel > off-12 {
			return 0, nil, errors.New("bad delta base offset")
		}
		baseKind, base, err = s.packed(i, off-rel, depth+1)
		if err != nil {
			return 0, nil, err
		}
	case objRefDelta:
		id := make([]byte, p.hashLen)
		if _, err := io.ReadFull(r, id); err != nil {
			return 0, nil, err
		}
		baseKind, base, err = s.object(oid(id), depth+1)
		if err != nil {
			return 0, nil, err
		}
	default:
		return 0, nil, fmt.Errorf("bad pack object type %d", kind)
	}
	delta, err := s.inflate(r, size)
	if err != nil {
		return 0, nil, err
	}
	data, err := s.applyDelta(base, delta)
	if err != nil {
		return 0, nil, err
	}
	s.cache.put(key, baseKind, data)
	return baseKind, data, nil
}

// ofsDelta reads the distance back to an offset delta's base.
func ofsDelta(r io.ByteReader) (int64, error) {
	c, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	n := int64(c & 0x7f)
	for c&0x80 != 0 {
		if c, err = r.ReadByte(); err != nil || n > 1<<48 {
			return 0, errors.New("bad delta base offset")
		}
		n = (n+1)<<7 | int64(c&0x7f)
	}
	return n, nil
}

// inflate reads size bytes of zlib data from r.
func (s *gitStore) inflate(r io.Reader, size int64) ([]byte, error) {
	zr, err := zlib.NewReader(r)
	if err != nil {
		return nil, err
	}
	return s.readN(zr, size)
}

// readN reads exactly size bytes, charged to the inflate budget.
func (s *gitStore) readN(r io.Reader, size int64) ([]byte, error) {
	if err := s.charge(size); err != nil {
		return nil, err
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, fmt.Errorf("truncated object: %w", err)
	}
	return data, nil
}

// charge counts size bytes against the bounds on one object and on all.
func (s *gitStore) charge(size int64) error {
	if size < 0 || size > maxGitObject {
		return fmt.Errorf("object of %d bytes (more than %d): %w", size, maxGitObject, errGitLimit)
	}
	if s.inflated+size > maxGitInflate {
		return fmt.Errorf("more than %d bytes inflated: %w", maxGitInflate, errGitLimit)
	}
	s.inflated += size
	return nil
}

// applyDelta builds an object from its base and a git delta.
func (s *gitStore) applyDelta(base, delta []byte) ([]byte, error) {
	bad := errors.New("bad delta")
	src, delta, ok := uvarint(delta)
	if !ok || src != uint64(len(base)) {
		return nil, bad
	}
	dst, delta, ok := uvarint(delta)
	if !ok || dst > maxGitObject {
		return nil, bad
	}
	if err := s.charge(int64(dst)); err != nil {
		return nil, err
	}
	out := make([]byte, 0, dst)
	for len(delta) > 0 {
		op := delta[0]
		delta = delta[1:]
		switch {
		case op&0x80 != 0:
			var off, n uint64
			for bit := range 7 {
				if op&(1<<bit) == 0 {
					continue
				}
				if len(delta) == 0 {
					return nil, bad
				}
				if bit < 4 {
					off |= uint64(delta[0]) << (8 * bit)
				} else {
					n |= uint64(delta[0]) << (8 * (bit - 4))
				}
				delta = delta[1:]
			}
			if n == 0 {
				n = 0x10000
			}
			if off+n > uint64(len(base)) || uint64(len(out))+n > dst {
				return nil, bad
			}
			out = append(out, base[off:off+n]...)
		case op != 0:
			n := int(op)
			if n > len(delta) || uint64(len(out)+n) > dst {
				return nil, bad
			}
			out = append(out, delta[:n]...)
			delta = delta[n:]
		default:
			return nil, bad
		}
	}
	if uint64(len(out)) != dst {
		return nil, bad
	}
	return out, nil
}

// uvarint reads the little-endian base-128 sizes of a delta.
func uvarint(b []byte) (uint64, []byte, bool) {
	var v uint64
	for i, shift := 0, 0; i < len(b) && shift < 64; i, shift = i+1, shift+7 {
		v |= uint64(b[i]&0x7f) << shift
		if b[i]&0x80 == 0 {
			return v, b[i+1:], true
		}
	}
	return 0, nil, false
}

// commitInfo is what the history needs of a commit.
type commitInfo struct {
	id      oid
	tree    oid
	parents []oid
	author  string // "Name <email>"
	when    int64  // committer time
	sub     oid    // the tree at the prefix ("" none), once subDone
	subDone bool
}

// commit reads a commit, through tags when peel is set.
func (s *gitStore) commit(id oid, peel bool) (*commitInfo, error) {
	for range maxTagDepth {
		kind, data, err := s.object(id, 0)
		if err != nil {
			return nil, err
		}
		if kind == objTag && peel {
			target, _, _ := strings.Cut(string(headerValue(data, "object")), "\n")
			if id, err = s.parseID(target); err != nil {
				return nil, fmt.Errorf("tag: %w", err)
			}
			continue
		}
		if kind != objCommit {
			return nil, fmt.Errorf("object %s is not a commit", id)
		}
		return s.parseCommit(id, data)
	}
	return nil, fmt.Errorf("more than %d tags of tags", maxTagDepth)
}

// headerValue returns the value of the first header line key of a commit
// or tag (nil when absent).
func headerValue(data []byte, key string) []byte {
	for len(data) > 0 {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		if len(line) == 0 {
			return nil
		}
		if v, ok := bytes.CutPrefix(line, []byte(key+" ")); ok {
			return v
		}
		data = rest
	}
	return nil
}

func (s *gitStore) parseCommit(id oid, data []byte) (*commitInfo, error) {
	c := &commitInfo{id: id}
	for len(data) > 0 {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		data = rest
		if len(line) == 0 {
			break // the message
		}
		key, val, _ := bytes.Cut(line, []byte(" "))
		var err error
		switch string(key) {
		case "tree":
			c.tree, err = s.parseID(string(val))
		case "parent":
			var p oid
			if p, err = s.parseID(string(val)); err == nil {
				c.parents = append(c.parents, p)
			}
			if len(c.parents) > maxParents {
				err = fmt.Errorf("more than %d parents: %w", maxParents, errGitLimit)
			}
		case "author":
			c.author = authorOf(val)
		case "committer":
			if i := bytes.LastIndexByte(val, '>'); i >= 0 {
				f := strings.Fields(string(val[i+1:]))
				if len(f) > 0 {
					c.when, _ = strconv.ParseInt(f[0], 10, 64)
				}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("commit %s: %w", id, err)
		}
	}
	if c.tree == "" {
		return nil, fmt.Errorf("commit %s has no tree", id)
	}
	if s.shallow[id] {
		c.parents = nil
	}
	return c, nil
}

// authorOf formats an ident line ("Name <email> time zone") as git log's
// "%an <%ae>" does, with control characters replaced.
func authorOf(ident []byte) string {
	name, email := ident, []byte(nil)
	if lt := bytes.IndexByte(ident, '<'); lt >= 0 {
		name, email = ident[:lt], ident[lt+1:]
		if gt := bytes.IndexByte(email, '>'); gt >= 0 {
			email = email[:gt]
		}
	}
	clean := func(r rune) rune {
		if unicode.IsControl(r) {
			return unicode.ReplacementChar
		}
		return r
	}
	return strings.Map(clean, strings.TrimSpace(string(name))) + " <" + strings.Map(clean, string(email)) + ">"
}

// treeEntry is one entry of a tree.
type treeEntry struct {
	name string
	mode uint32
	id   oid
}

func (e treeEntry) dir() bool { return e.mode == 0o40000 }

// tree reads and parses a tree ("" is the empty tree).
func (s *gitStore) tree(id oid) ([]treeEntry, error) {
	if id == "" {
		return nil, nil
	}
	kind, data, err := s.object(id, 0)
	if err != nil {
		return nil, err
	}
	if kind != objTree {
		return nil, fmt.Errorf("object %s is not a tree", id)
	}
	var out []treeEntry
	for len(data) > 0 {
		sp := bytes.IndexByte(data, ' ')
		nul := bytes.IndexByte(data, 0)
		if sp <= 0 || sp > 7 || nul < sp+2 || len(data) < nul+1+s.hashLen {
			return nil, fmt.Errorf("tree %s is malformed", id)
		}
		mode, err := strconv.ParseUint(string(data[:sp]), 8, 32)
		if err != nil {
			return nil, fmt.Errorf("tree %s is malformed", id)
		}
		out = append(out, treeEntry{name: string(data[sp+1 : nul]), mode: uint32(mode), id: oid(data[nul+1 : nul+1+s.hashLen])})
		data = data[nul+1+s.hashLen:]
	}
	s.entries += int64(len(out))
	if s.entries > s.maxEntries {
		return nil, fmt.Errorf("more than %d tree entries: %w", s.maxEntries, errGitLimit)
	}
	return out, nil
}

// subtree returns the id of the folder at path (its parts) under tree,
// or "" when there is none.
func (s *gitStore) subtree(tree oid, parts []string) (oid, error) {
	for _, name := range parts {
		ents, err := s.tree(tree)
		if err != nil {
			return "", err
		}
		tree = ""
		for _, e := range ents {
			if e.name == name && e.dir() {
				tree = e.id
				break
			}
		}
		if tree == "" {
			return "", nil
		}
	}
	return tree, nil
}

// diff calls emit with the path (below dir) of every file, link or
// submodule that differs between trees a and b, as git diff --name-only
// --no-renames lists them: both sides of a change of type.
func (s *gitStore) diff(a, b oid, dir string, depth int, emit func(string) error) error {
	if a == b {
		return nil
	}
	if depth > maxTreeDepth {
		return fmt.Errorf("folders nested deeper than %d: %w", maxTreeDepth, errGitLimit)
	}
	ea, err := s.tree(a)
	if err != nil {
		return err
	}
	eb, err := s.tree(b)
	if err != nil {
		return err
	}
	old := make(map[string]treeEntry, len(ea))
	for _, e := range ea {
		old[e.name] = e
	}
	side := func(e treeEntry, p string, removed bool) error {
		switch {
		case !e.dir():
			return emit(p)
		case removed:
			return s.diff(e.id, "", p, depth+1, emit)
		default:
			return s.diff("", e.id, p, depth+1, emit)
		}
	}
	for _, y := range eb {
		p := joinPath(dir, y.name)
		x, ok := old[y.name]
		delete(old, y.name)
		switch {
		case ok && x.dir() && y.dir():
			err = s.diff(x.id, y.id, p, depth+1, emit)
		case ok && !x.dir() && !y.dir():
			if x.id != y.id || x.mode != y.mode {
				err = emit(p)
			}
		default:
			if ok {
				err = side(x, p, true)
			}
			if err == nil {
				err = side(y, p, false)
			}
		}
		if err != nil {
			return err
		}
	}
	for _, x := range ea {
		if _, ok := old[x.name]; ok {
			delete(old, x.name)
			if err := side(x, joinPath(dir, x.name), true); err != nil {
				return err
			}
		}
	}
	return nil
}

func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// objCache keeps recently decoded objects, up to max bytes.
type objCache struct {
	max, size int
	ll        list.List
	m         map[string]*list.Element
}

type cachedObj struct {
	key  string
	kind int
	data []byte
}

func (c *objCache) get(key string) (int, []byte, bool) {
	e, ok := c.m[key]
	if !ok {
		return 0, nil, false
	}
	c.ll.MoveToFront(e)
	o := e.Value.(*cachedObj)
	return o.kind, o.data, true
}

func (c *objCache) put(key string, kind int, data []byte) {
	if len(data) > c.max/4 {
		return
	}
	if c.m == nil {
		c.m = map[string]*list.Element{}
	}
	if _, ok := c.m[key]; ok {
		return
	}
	c.m[key] = c.ll.PushFront(&cachedObj{key, kind, data})
	c.size += len(data) + len(key)
	for c.size > c.max {
		e := c.ll.Back()
		o := e.Value.(*cachedObj)
		c.ll.Remove(e)
		delete(c.m, o.key)
		c.size -= len(o.data) + len(o.key)
	}
}
