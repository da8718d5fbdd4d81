package discover

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Owner sources.
const (
	OwnerCodeowners = "codeowners"
	OwnerGit        = "git"
)

// Bounds of the git history read (see also gitread.go).
const (
	gitTimeout  = 60 * time.Second
	maxGitBytes = 64 << 20 // bytes of paths recorded
)

// authorAt is a committer and the recency of their last commit to a path
// (0 is the newest commit read).
type authorAt struct {
	name string
	at   int
}

// gitRepo is what discovery knows of the git work tree around the root.
type gitRepo struct {
	top     string                // the work tree's top folder
	prefix  string                // the root's path in it ("" or "sub/dir/")
	history map[string][]authorAt // committers by path relative to the root
	read    bool                  // whether history was read (in full or in part)
	note    string                // why history was not read, or read only in part
	bytes   int                   // bytes of paths recorded
	shown   int                   // commits read into the history
}

// openGit finds the work tree around dir (the first folder at or above it
// with a .git) and reads the committers of the last commits that touch
// dir, as git log -n commits --name-only --relative -- . lists them, with
// a reader of git objects that runs no program. It returns nil when dir is
// in no work tree.
func openGit(ctx context.Context, dir string, commits int) *gitRepo {
	top, gitDir, err := findGitDir(dir)
	if top == "" && err == nil {
		return nil
	}
	g := &gitRepo{top: top, history: map[string][]authorAt{}}
	if top == "" {
		g.top = dir
	}
	if rel, rerr := filepath.Rel(g.top, dir); rerr == nil && rel != "." {
		g.prefix = filepath.ToSlash(rel) + "/"
	}
	if err == nil {
		err = g.readHistory(ctx, gitDir, commits)
	}
	switch {
	case err == nil:
	case errors.Is(err, errNoCommits):
		g.read = true // an empty history
	case g.read:
		g.note = fmt.Sprintf("git history read in part (%d commits): %v", g.shown, err)
	default:
		g.note = "git history not read: " + err.Error()
	}
	return g
}

// readHistory walks the commits from HEAD, newest committer date first,
// simplifying the history to the prefix as git log does by default: a
// commit is shown when it changes a path under the prefix (a merge, when
// it differs there from every parent, and it lists no paths); a merge that
// matches a parent there is followed through that parent only. The
// committers of the first commits shown are recorded by path.
func (g *gitRepo) readHistory(ctx context.Context, gitDir string, commits int) error {
	ctx, cancel := context.WithTimeout(ctx, gitTimeout)
	defer cancel()
	check := func() error {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("stopped after %s: %w", gitTimeout, ctx.Err())
		}
		return ctx.Err()
	}
	s, err := openGitStore(gitDir, check)
	if err != nil {
		return err
	}
	defer s.close()
	head, err := s.head()
	if err != nil {
		return err
	}
	if err := s.loadShallow(); err != nil {
		return err
	}
	if err := s.loadPacks(); err != nil {
		return err
	}
	start, err := s.commit(head, true)
	if err != nil {
		return err
	}
	var parts []string
	if g.prefix != "" {
		parts = strings.Split(strings.TrimSuffix(g.prefix, "/"), "/")
	}
	sub := func(c *commitInfo) (oid, error) {
		if !c.subDone {
			t, err := s.subtree(c.tree, parts)
			if err != nil {
				return "", err
			}
			c.sub, c.subDone = t, true
		}
		return c.sub, nil
	}
	q := &commitQueue{}
	seen := map[oid]bool{start.id: true}
	q.push(start)
	g.read = true
	for walked := 0; q.len() > 0 && g.shown < commits; walked++ {
		if walked >= maxCommitsWalked {
			return fmt.Errorf("more than %d commits walked: %w", maxCommitsWalked, errGitLimit)
		}
		if err := check(); err != nil {
			return err
		}
		c := q.pop()
		t, err := sub(c)
		if err != nil {
			return err
		}
		parents := make([]*commitInfo, len(c.parents))
		for i, id := range c.parents {
			if err := check(); err != nil {
				return err
			}
			if parents[i], err = s.commit(id, false); err != nil {
				return err
			}
		}
		follow, from, show := parents, oid(""), true
		switch len(parents) {
		case 0:
			show = t != ""
		case 1:
			if from, err = sub(parents[0]); err != nil {
				return err
			}
			show = from != t
		default:
			for _, p := range parents {
				pt, err := sub(p)
				if err != nil {
					return err
				}
				if pt == t {
					follow, show = []*commitInfo{p}, false
					break
				}
			}
		}
		for _, p := range follow {
			if !seen[p.id] {
				seen[p.id] = true
				q.push(p)
			}
		}
		if len(seen) > maxCommitsWalked {
			return fmt.Errorf("more than %d commits queued: %w", maxCommitsWalked, errGitLimit)
		}
		if !show {
			continue
		}
		if len(parents) < 2 {
			err := s.diff(from, t, "", 0, func(p string) error { return g.add(p, c.author, g.shown) })
			if err != nil {
				return err
			}
		}
		g.shown++
	}
	return nil
}

// commitQueue orders commits newest committer date first, and in the
// order they were queued on equal dates, as git log does.
type commitQueue struct {
	items []queued
	seq   int
}

type queued struct {
	c   *commitInfo
	seq int
}

func (q *commitQueue) len() int { return len(q.items) }

func (q *commitQueue) less(i, j int) bool {
	a, b := q.items[i], q.items[j]
	return a.c.when > b.c.when || a.c.when == b.c.when && a.seq < b.seq
}

func (q *commitQueue) push(c *commitInfo) {
	q.items = append(q.items, queued{c, q.seq})
	q.seq++
	for i := len(q.items) - 1; i > 0; {
		up := (i - 1) / 2
		if !q.less(i, up) {
			break
		}
		q.items[i], q.items[up] = q.items[up], q.items[i]
		i = up
	}
}

func (q *commitQueue) pop() *commitInfo {
	top := q.items[0].c
	last := len(q.items) - 1
	q.items[0] = q.items[last]
	q.items = q.items[:last]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < last && q.less(l, m) {
			m = l
		}
		if l+1 < last && q.less(l+1, m) {
			m = l + 1
		}
		if m == i {
			return top
		}
		q.items[i], q.items[m] = q.items[m], q.items[i]
		i = m
	}
}

// add records that author committed to p at recency at.
func (g *gitRepo) add(p, author string, at int) error {
	for _, a := range g.history[p] {
		if a.name == author {
			return nil
		}
	}
	g.bytes += len(p) + len(author)
	if g.bytes > maxGitBytes {
		return fmt.Errorf("more than %d bytes of paths: %w", maxGitBytes, errGitLimit)
	}
	g.history[p] = append(g.history[p], authorAt{author, at})
	return nil
}

// assetPaths are the paths whose history and ownership are the asset's:
// the file, or the files of a folder.
func assetPaths(a *Asset) []string {
	if len(a.Files) == 0 {
		return []string{a.Path}
	}
	out := make([]string, 0, len(a.Files))
	for _, f := range a.Files {
		if a.Path == "." {
			out = append(out, f.Path)
		} else {
			out = append(out, a.Path+"/"+f.Path)
		}
	}
	return out
}

// assignOwners sets the owners of every asset from CODEOWNERS (at the work
// tree's top, or the root outside git) and the git history. It reports
// whether git history was read, and why it was not or only in part.
func assignOwners(ctx context.Context, root string, isDir bool, assets []Asset, opts Options) (bool, string) {
	dir := root
	if !isDir {
		dir = filepath.Dir(root)
	}
	var g *gitRepo
	if !opts.NoGit {
		g = openGit(ctx, dir, opts.GitCommits)
	}
	base, prefix := dir, ""
	if g != nil {
		base, prefix = g.top, g.prefix
	}
	co := loadCodeowners(base)
	for i := range assets {
		a := &assets[i]
		paths := assetPaths(a)
		if len(paths) == 0 {
			continue
		}
		for _, o := range co.Owners(prefix + paths[0]) {
			a.Owners = append(a.Owners, Owner{Name: o, Source: OwnerCodeowners})
		}
		if g != nil && g.read {
			for _, name := range g.committers(paths, opts.MaxOwners) {
				a.Owners = append(a.Owners, Owner{Name: name, Source: OwnerGit})
			}
		}
	}
	if g == nil {
		return false, ""
	}
	return g.read, g.note
}

// committers returns the most recent committers to any of paths, newest
// first, at most max.
func (g *gitRepo) committers(paths []string, max int) []string {
	best := map[string]int{}
	for _, p := range paths {
		for _, a := range g.history[p] {
			if at, ok := best[a.name]; !ok || a.at < at {
				best[a.name] = a.at
			}
		}
	}
	names := make([]string, 0, len(best))
	for n := range best {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if best[names[i]] != best[names[j]] {
			return best[names[i]] < best[names[j]]
		}
		return names[i] < names[j]
	})
	if len(names) > max {
		names = names[:max]
	}
	return names
}
