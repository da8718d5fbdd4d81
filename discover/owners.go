package discover

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Owner sources.
const (
	OwnerCodeowners = "codeowners"
	OwnerGit        = "git"
)

// Bounds of the git history read.
const (
	gitTimeout  = 60 * time.Second
	maxGitBytes = 64 << 20
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
}

// safeGit runs git with options that keep a repository's configuration
// from running programs (no pager, no fsmonitor, no external diff).
func safeGit(ctx context.Context, dir string, args ...string) *exec.Cmd {
	base := []string{"-C", dir, "--no-pager", "-c", "core.fsmonitor=false", "-c", "core.quotepath=off", "-c", "diff.external="}
	cmd := exec.CommandContext(ctx, "git", append(base, args...)...)
	cmd.Env = append(cmd.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_OPTIONAL_LOCKS=0", "GIT_PAGER=cat")
	return cmd
}

// openGit finds the work tree around dir and reads the committers of the
// last commits, in one git log. It returns nil when dir is in no work tree
// or git is not installed.
func openGit(ctx context.Context, dir string, commits int) *gitRepo {
	if _, err := exec.LookPath("git"); err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, gitTimeout)
	defer cancel()
	out, err := safeGit(ctx, dir, "rev-parse", "--show-toplevel", "--show-prefix").Output()
	if err != nil {
		return nil
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) < 1 || lines[0] == "" {
		return nil
	}
	g := &gitRepo{top: lines[0], history: map[string][]authorAt{}}
	if len(lines) > 1 {
		g.prefix = lines[1]
	}
	cmd := safeGit(ctx, dir, "log", "-n", strconv.Itoa(commits), "--no-renames", "--no-ext-diff", "--no-textconv", "--name-only",
		"--relative", "--format=%x00%an <%ae>", "--", ".")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return g
	}
	if cmd.Start() != nil {
		return g
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	author, commit, read := "", -1, 0
	for sc.Scan() {
		line := sc.Text()
		read += len(line) + 1
		if read > maxGitBytes {
			cancel()
			break
		}
		switch {
		case strings.HasPrefix(line, "\x00"):
			author, commit = line[1:], commit+1
		case line != "" && author != "":
			g.add(line, author, commit)
		}
	}
	_ = cmd.Wait()
	return g
}

// add records that author committed to p at recency at.
func (g *gitRepo) add(p, author string, at int) {
	for _, a := range g.history[p] {
		if a.name == author {
			return
		}
	}
	g.history[p] = append(g.history[p], authorAt{author, at})
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
// whether git history was read.
func assignOwners(ctx context.Context, root string, isDir bool, assets []Asset, opts Options) bool {
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
		if g != nil {
			for _, name := range g.committers(paths, opts.MaxOwners) {
				a.Owners = append(a.Owners, Owner{Name: name, Source: OwnerGit})
			}
		}
	}
	return g != nil
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
