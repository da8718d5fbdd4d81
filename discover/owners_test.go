package discover

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"crypto/sha1"
	"fmt"
	"go/parser"
	gotoken "go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testRepo builds a git repository with the git command line, in a clean
// environment (no system or global configuration), with dates set by the
// test. Only tests run git; discovery never does.
type testRepo struct {
	t     *testing.T
	dir   string
	clock int64
}

func newTestRepo(t *testing.T, dir string, initArgs ...string) *testRepo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r := &testRepo{t: t, dir: dir, clock: 1_700_000_000}
	r.git(append([]string{"init", "-q", "-b", "main"}, initArgs...)...)
	return r
}

// gitEnv is the environment of the git the tests run.
func gitEnv(home string, extra ...string) []string {
	env := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0", "LC_ALL=C"}
	return append(env, extra...)
}

// gitIn runs git in dir and returns its standard output.
func gitIn(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, errOut.String())
	}
	return out.String()
}

func (r *testRepo) git(args ...string) string {
	r.t.Helper()
	return r.gitAs("Test", args...)
}

func (r *testRepo) gitAs(author string, args ...string) string {
	r.t.Helper()
	email := strings.ToLower(strings.ReplaceAll(author, " ", ".")) + "@example.com"
	date := fmt.Sprintf("@%d +0000", r.clock)
	return gitIn(r.t, r.dir, gitEnv(r.dir, "GIT_AUTHOR_NAME="+author, "GIT_AUTHOR_EMAIL="+email, "GIT_COMMITTER_NAME="+author,
		"GIT_COMMITTER_EMAIL="+email, "GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date), args...)
}

// commit writes files (an empty content deletes the file) and commits
// them all as author, a minute after the last commit.
func (r *testRepo) commit(author string, files map[string]string) {
	r.t.Helper()
	for name, data := range files {
		p := filepath.Join(r.dir, filepath.FromSlash(name))
		if data == "" {
			if err := os.RemoveAll(p); err != nil {
				r.t.Fatal(err)
			}
			continue
		}
		writeFile(r.t, r.dir, name, data)
	}
	r.clock += 60
	r.gitAs(author, "add", "-A")
	r.gitAs(author, "commit", "-q", "--allow-empty", "-m", "change by "+author)
}

// gitLogHistory is the history the owners came from before: what git log
// lists in dir, parsed as the old openGit did.
func gitLogHistory(t *testing.T, dir string, commits int) map[string][]authorAt {
	t.Helper()
	out := gitIn(t, dir, gitEnv(t.TempDir()), "--no-pager", "log", "-n", strconv.Itoa(commits), "--no-renames", "--no-ext-diff",
		"--no-textconv", "--name-only", "--relative", "--format=%x00%an <%ae>", "--", ".")
	g := &gitRepo{history: map[string][]authorAt{}}
	author, commit := "", -1
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		switch line := sc.Text(); {
		case strings.HasPrefix(line, "\x00"):
			author, commit = line[1:], commit+1
		case line != "" && author != "":
			if err := g.add(line, author, commit); err != nil {
				t.Fatal(err)
			}
		}
	}
	return g.history
}

// buildHistory makes a history with branches, merges (one that changes
// sub/, one that does not, one that discards its branch), equal dates, a
// date older than its parent's, deletions, a mode change, a link that
// becomes a folder, a submodule and a folder of many files (so that a
// repack makes tree deltas).
func buildHistory(r *testRepo) {
	big := map[string]string{}
	for i := range 300 {
		big[fmt.Sprintf("big/file%03d.txt", i)] = fmt.Sprintf("v1 %d\n", i)
	}
	big["sub/a.txt"], big["sub/deep/b.txt"], big["top.txt"] = "a\n", "b\n", "top\n"
	r.commit("Ada Lovelace", big)
	if err := os.Symlink("a.txt", filepath.Join(r.dir, "sub", "ln")); err != nil {
		r.t.Fatal(err)
	}
	r.commit("Grace Hopper", map[string]string{"sub/a.txt": "a2\n", "big/file001.txt": "v2\n"})
	r.git("branch", "feature")
	r.git("checkout", "-q", "feature")
	r.commit("Linus Torvalds", map[string]string{"sub/deep/c.txt": "c\n"})
	r.commit("Linus Torvalds", map[string]string{"top.txt": "top2\n", "big/file002.txt": "v2\n"})
	r.git("checkout", "-q", "main")
	r.commit("Ada Lovelace", map[string]string{"sub/deep/b.txt": "b2\n"})
	if err := os.Chmod(filepath.Join(r.dir, "sub", "a.txt"), 0o755); err != nil {
		r.t.Fatal(err)
	}
	r.commit("Grace Hopper", nil)
	r.clock += 60
	r.gitAs("Margaret Hamilton", "merge", "-q", "--no-ff", "-m", "merge feature", "feature")
	r.git("checkout", "-q", "-b", "side")
	r.clock -= 3600 // a commit dated before its parent
	r.commit("Ken Thompson", map[string]string{"top.txt": "top3\n"})
	r.clock += 7200
	r.git("checkout", "-q", "main")
	r.commit("Barbara Liskov", map[string]string{"sub/ln": "", "big/file003.txt": "v2\n"})
	r.commit("Barbara Liskov", map[string]string{"sub/ln/inside.txt": "now a folder\n"})
	r.clock -= 60 // the same date as the last commit
	r.commit("Dennis Ritchie", map[string]string{"sub/deep/c.txt": "", "big/file004.txt": "v2\n"})
	r.gitAs("Dennis Ritchie", "merge", "-q", "--no-ff", "-m", "merge side", "side")
	r.git("checkout", "-q", "-b", "discarded")
	r.commit("Discarded Work", map[string]string{"sub/a.txt": "discarded\n", "big/file005.txt": "discarded\n"})
	r.git("checkout", "-q", "main")
	r.clock += 60
	r.gitAs("Dennis Ritchie", "merge", "-q", "-s", "ours", "-m", "discard", "discarded")
	hexLen := len(strings.TrimSpace(r.git("rev-parse", "HEAD")))
	r.git("update-index", "--add", "--cacheinfo", "160000,"+strings.Repeat("a", hexLen)+",sub/module")
	r.clock += 60
	r.gitAs("Ada Lovelace", "commit", "-q", "-m", "add a submodule")
	for i := range 20 {
		r.commit(fmt.Sprintf("Author %d", i%4), map[string]string{fmt.Sprintf("big/file%03d.txt", i*7): fmt.Sprintf("v3 %d\n", i)})
	}
}

// checkHistory compares what openGit reads to what git log lists, from
// several folders of the work tree and for several commit counts.
func checkHistory(t *testing.T, dir string) {
	t.Helper()
	for _, sub := range []string{".", "sub", "sub/deep", "big"} {
		for _, n := range []int{1, 2, 3, 5, 8, 1000} {
			from := filepath.Join(dir, sub)
			want := gitLogHistory(t, from, n)
			g := openGit(context.Background(), from, n)
			if g == nil || !g.read || g.note != "" {
				t.Fatalf("%s -n %d: history not read: %+v", sub, n, g)
			}
			if !reflect.DeepEqual(g.history, want) {
				t.Errorf("%s -n %d: history differs from git log\n got %v\nwant %v", sub, n, g.history, want)
			}
		}
	}
}

// TestGitHistoryMatchesGitLog: the reader lists the same committers, by
// path and recency, as git log did, from loose objects, from packs with
// offset and ref deltas, from a shallow clone, and in a SHA-256
// repository.
func TestGitHistoryMatchesGitLog(t *testing.T) {
	r := newTestRepo(t, t.TempDir())
	buildHistory(r)
	t.Run("loose", func(t *testing.T) { checkHistory(t, r.dir) })

	r.git("repack", "-adq", "--window=50", "--depth=50")
	if k := packKinds(t, r.dir); k[objOfsDelta] == 0 || k[objRefDelta] != 0 {
		t.Fatalf("pack entries by type %v: want offset deltas", k)
	}
	t.Run("ofs-delta", func(t *testing.T) { checkHistory(t, r.dir) })

	r.git("-c", "repack.useDeltaBaseOffset=false", "repack", "-adfq", "--window=50", "--depth=50")
	if k := packKinds(t, r.dir); k[objRefDelta] == 0 || k[objOfsDelta] != 0 {
		t.Fatalf("pack entries by type %v: want ref deltas", k)
	}
	t.Run("ref-delta", func(t *testing.T) { checkHistory(t, r.dir) })

	r.commit("Late Loose", map[string]string{"sub/late.txt": "late\n"})
	t.Run("pack-and-loose", func(t *testing.T) { checkHistory(t, r.dir) })

	shallow := filepath.Join(t.TempDir(), "shallow")
	gitIn(t, r.dir, gitEnv(r.dir), "clone", "-q", "--depth", "3", "--no-local", "file://"+r.dir, shallow)
	t.Run("shallow", func(t *testing.T) { checkHistory(t, shallow) })

	s := newTestRepo(t, t.TempDir(), "--object-format=sha256")
	buildHistory(s)
	s.git("repack", "-adq")
	t.Run("sha256", func(t *testing.T) { checkHistory(t, s.dir) })
}

// packKinds counts the entries of the repository's packs by type.
func packKinds(t *testing.T, dir string) map[int]int {
	t.Helper()
	s, err := openGitStore(filepath.Join(dir, ".git"), func() error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if _, err := s.head(); err != nil {
		t.Fatal(err)
	}
	if err := s.loadPacks(); err != nil {
		t.Fatal(err)
	}
	kinds := map[int]int{}
	for _, p := range s.packs {
		for i := range p.count {
			off, err := p.offset(i)
			if err != nil {
				t.Fatal(err)
			}
			var b [1]byte
			if _, err := p.pack.ReadAt(b[:], off); err != nil {
				t.Fatal(err)
			}
			kinds[int(b[0]>>4)&7]++
		}
	}
	return kinds
}

// hostileTool writes a script that records that it ran, and returns its
// path and the marker file it writes.
func hostileTool(t *testing.T) (tool, marker string) {
	t.Helper()
	dir := t.TempDir()
	tool, marker = filepath.Join(dir, "tool.sh"), filepath.Join(dir, "ran")
	script := "#!/bin/sh\necho \"$0 $*\" >> '" + marker + "'\ncat >/dev/null 2>&1 </dev/null\nexit 0\n"
	if err := os.WriteFile(tool, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return tool, marker
}

// armRepository makes HEAD a commit with a gpgsig header and writes a
// configuration, attributes and hooks that make git run tool: a signature
// check (log.showSignature, gpg.program), fsmonitor, pagers, an external
// diff, textconv and filter drivers, a credential helper, an ssh command,
// hooks and a hooks path, and an include of more of the same.
func armRepository(t *testing.T, r *testRepo, tool string) {
	t.Helper()
	body := r.git("cat-file", "commit", "HEAD")
	var signed strings.Builder
	for _, line := range strings.SplitAfter(body, "\n") {
		signed.WriteString(line)
		if strings.HasPrefix(line, "committer ") {
			signed.WriteString("gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEEaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=\n -----END PGP SIGNATURE-----\n")
		}
	}
	cmd := exec.Command("git", "hash-object", "-t", "commit", "-w", "--stdin")
	cmd.Dir, cmd.Env, cmd.Stdin = r.dir, gitEnv(r.dir), strings.NewReader(signed.String())
	id, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	r.git("update-ref", "refs/heads/main", strings.TrimSpace(string(id)))

	gitDir := filepath.Join(r.dir, ".git")
	hooks := filepath.Join(t.TempDir(), "hooks")
	for _, d := range []string{hooks, filepath.Join(gitDir, "hooks")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{"post-checkout", "pre-commit", "post-index-change", "reference-transaction", "fsmonitor-watchman"} {
			if err := os.WriteFile(filepath.Join(d, h), []byte("#!/bin/sh\nexec '"+tool+"' hook-"+h+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Commands run by a shell take a word saying what ran them; programs
	// (gpg, fsmonitor) are run as they are named.
	q := func(what string) string { return strconv.Quote(tool + " " + what) }
	plain := strconv.Quote(tool)
	included := filepath.Join(t.TempDir(), "included.config")
	writeFile(t, filepath.Dir(included), filepath.Base(included), "[core]\n\tpager = "+q("included-pager")+"\n")
	config := "[core]\n\trepositoryformatversion = 0\n\tbare = false\n" +
		"\tfsmonitor = " + plain + "\n\tpager = " + q("core-pager") + "\n\tsshCommand = " + q("ssh") + "\n" +
		"\thooksPath = " + strconv.Quote(hooks) + "\n\teditor = " + q("editor") + "\n" +
		"[log]\n\tshowSignature = true\n" +
		"[gpg]\n\tprogram = " + plain + "\n[gpg \"ssh\"]\n\tprogram = " + plain + "\n" +
		"[pager]\n\tlog = " + q("pager-log") + "\n" +
		"[diff]\n\texternal = " + q("diff-external") + "\n[diff \"x\"]\n\ttextconv = " + q("textconv") + "\n\tcommand = " + q("diff-command") + "\n" +
		"[filter \"x\"]\n\tsmudge = " + q("smudge") + "\n\tclean = " + q("clean") + "\n\tprocess = " + q("process") + "\n" +
		"[credential]\n\thelper = " + q("credential") + "\n" +
		"[include]\n\tpath = " + strconv.Quote(included) + "\n" +
		"[includeIf \"gitdir:/\"]\n\tpath = " + strconv.Quote(included) + "\n"
	writeFile(t, gitDir, "config", config)
	writeFile(t, r.dir, ".gitattributes", "* diff=x filter=x\n")
}

// TestDiscoverRunsNoProgram: a repository whose configuration makes git
// run a program (shown to work on git itself, with the command the owners
// came from before) runs nothing under discovery, with no git on the PATH,
// and its committers are still the owners.
func TestDiscoverRunsNoProgram(t *testing.T) {
	r := newTestRepo(t, t.TempDir())
	r.commit("Ada Lovelace", map[string]string{"requirements.txt": "torch==2.3.1\n", "src/train.py": "m = AutoModel.from_pretrained(\"acme/base\")\n"})
	r.commit("Grace Hopper", map[string]string{"src/train.py": "m = AutoModel.from_pretrained(\"acme/other\")\n"})
	tool, marker := hostileTool(t)
	armRepository(t, r, tool)

	t.Setenv("PATH", t.TempDir()) // no git, nothing else either
	for _, root := range []string{r.dir, filepath.Join(r.dir, "src")} {
		res, err := Discover(context.Background(), root, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Git || res.GitNote != "" {
			t.Errorf("%s: git history not read: %q", root, res.GitNote)
		}
		path := "src/train.py"
		if root != r.dir {
			path = "train.py"
		}
		checkOwners(t, res, KindReference, path, "git", "Grace Hopper <grace.hopper@example.com>,Ada Lovelace <ada.lovelace@example.com>")
	}
	res, err := Discover(context.Background(), r.dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkOwners(t, res, KindDependency, "requirements.txt", "git", "Ada Lovelace <ada.lovelace@example.com>")
	if data, err := os.ReadFile(marker); err == nil {
		t.Fatalf("discovery ran a program of the repository:\n%s", data)
	}
}

// TestArmedRepositoryRunsGit proves the premise of TestDiscoverRunsNoProgram:
// the command the owners came from before runs a program of the repository.
func TestArmedRepositoryRunsGit(t *testing.T) {
	r := newTestRepo(t, t.TempDir())
	r.commit("Ada Lovelace", map[string]string{"requirements.txt": "torch==2.3.1\n"})
	tool, marker := hostileTool(t)
	armRepository(t, r, tool)
	cmd := exec.Command("git", "-C", r.dir, "--no-pager", "-c", "core.fsmonitor=false", "-c", "core.quotepath=off", "-c", "diff.external=",
		"log", "-n", "1000", "--no-renames", "--no-ext-diff", "--no-textconv", "--name-only", "--relative", "--format=%x00%an <%ae>", "--", ".")
	cmd.Env = append(gitEnv(t.TempDir()), "GIT_TERMINAL_PROMPT=0", "GIT_OPTIONAL_LOCKS=0", "GIT_PAGER=cat")
	_ = cmd.Run() // git's exit status does not matter: the marker says whether it ran the tool
	if data, err := os.ReadFile(marker); err != nil || !strings.Contains(string(data), "--verify") {
		t.Fatalf("the armed repository did not make git run its gpg program (%v): the test proves nothing", err)
	}
}

// TestDiscoverRunsNoProcess: the discover package cannot start a process:
// it imports neither os/exec nor a way to start one.
func TestDiscoverRunsNoProcess(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := gotoken.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "os/exec" || p == "os/signal" || p == "plugin" {
				t.Errorf("%s imports %s", name, p)
			}
		}
		src, _ := os.ReadFile(name)
		for _, call := range []string{"StartProcess(", "ForkExec(", "syscall.Exec("} {
			if bytes.Contains(src, []byte(call)) {
				t.Errorf("%s calls %s", name, call)
			}
		}
	}
}

// ownersOf returns the git owners of path (any kind), joined.
func ownersOf(res *Result, path string) string {
	var got []string
	for _, a := range res.Assets {
		if a.Path != path {
			continue
		}
		for _, o := range a.Owners {
			if o.Source == OwnerGit {
				got = append(got, o.Name)
			}
		}
	}
	return strings.Join(got, ",")
}

// TestGitPointersNotFollowed: a .git file, a .git link, alternates,
// commondir and a .git whose objects lead elsewhere are not followed
// (git itself follows each, as checked): no history, a note saying why,
// no error.
func TestGitPointersNotFollowed(t *testing.T) {
	outside := newTestRepo(t, filepath.Join(t.TempDir(), "outside"))
	outside.commit("Eve Outside", map[string]string{"requirements.txt": "torch==2.3.1\n"})
	cases := map[string]func(root string){
		"gitdir file": func(root string) {
			writeFile(t, root, ".git", "gitdir: "+filepath.Join(outside.dir, ".git")+"\n")
		},
		"worktree": func(root string) {
			os.Remove(root)
			outside.git("worktree", "add", "-q", "--detach", root)
		},
		"symlink": func(root string) {
			if err := os.Symlink(filepath.Join(outside.dir, ".git"), filepath.Join(root, ".git")); err != nil {
				t.Fatal(err)
			}
		},
		"alternates": func(root string) {
			os.Remove(root)
			gitIn(t, outside.dir, gitEnv(outside.dir), "clone", "-q", "--shared", outside.dir, root)
		},
		"commondir": func(root string) {
			writeFile(t, root, ".git/HEAD", "ref: refs/heads/main\n")
			writeFile(t, root, ".git/commondir", filepath.Join(outside.dir, ".git")+"\n")
			for _, d := range []string{"objects", "refs"} {
				if err := os.MkdirAll(filepath.Join(root, ".git", d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
		},
		"objects link": func(root string) {
			os.Remove(root)
			gitIn(t, outside.dir, gitEnv(outside.dir), "clone", "-q", "--no-local", outside.dir, root)
			objects := filepath.Join(root, ".git", "objects")
			moved := filepath.Join(t.TempDir(), "objects")
			if err := os.Rename(objects, moved); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(moved, objects); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, setup := range cases {
		t.Run(name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "root")
			if err := os.MkdirAll(root, 0o755); err != nil {
				t.Fatal(err)
			}
			setup(root)
			writeFile(t, root, "requirements.txt", "torch==2.3.1\n")
			if got := gitIn(t, root, gitEnv(t.TempDir()), "log", "--format=%an", "--", "requirements.txt"); !strings.Contains(got, "Eve Outside") {
				t.Fatalf("git itself does not read the outside history (%q): the test proves nothing", got)
			}
			res, err := Discover(context.Background(), root, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Git || !strings.Contains(res.GitNote, "not followed") {
				t.Errorf("git %v, note %q", res.Git, res.GitNote)
			}
			if got := ownersOf(res, "requirements.txt"); got != "" {
				t.Errorf("owners from a history outside the root: %s", got)
			}
			if find(res, KindDependency, "requirements.txt") == nil {
				t.Error("the rest of the inventory is missing")
			}
		})
	}
}

// writeLoose writes a loose object of the given type and content and
// returns its id; at, when set, is the id to write it under instead of
// its hash (a forged store).
func writeLoose(t *testing.T, gitDir, kind string, content []byte, at []byte) []byte {
	t.Helper()
	raw := append([]byte(fmt.Sprintf("%s %d\x00", kind, len(content))), content...)
	sum := sha1.Sum(raw)
	id := sum[:]
	if at != nil {
		id = at
	}
	return writeLooseRaw(t, gitDir, id, raw)
}

func writeLooseRaw(t *testing.T, gitDir string, id, raw []byte) []byte {
	t.Helper()
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	h := fmt.Sprintf("%x", id)
	writeFile(t, gitDir, "objects/"+h[:2]+"/"+h[2:], z.String())
	return id
}

// TestGitHostileObjects: forged objects (a tree that contains itself, an
// object that declares a huge size, a truncated object, a blob where a
// tree should be, a missing tree) end the read with a note, in bounded
// time and memory, never a panic or an error of discovery.
func TestGitHostileObjects(t *testing.T) {
	self := bytes.Repeat([]byte{0x11}, 20)
	cases := map[string]struct {
		setup func(gitDir string) []byte // returns the commit's tree
		note  string
	}{
		"tree in itself": {func(gitDir string) []byte {
			return writeLoose(t, gitDir, "tree", append([]byte("40000 d\x00"), self...), self)
		}, "nested deeper"},
		"tree in itself twice": {func(gitDir string) []byte {
			e := append([]byte("40000 a\x00"), self...)
			e = append(e, append([]byte("40000 b\x00"), self...)...)
			return writeLoose(t, gitDir, "tree", e, self)
		}, "limit reached"},
		"huge size": {func(gitDir string) []byte {
			return writeLooseRaw(t, gitDir, self, []byte("tree 4294967296\x00"))
		}, "object of 4294967296 bytes"},
		"truncated": {func(gitDir string) []byte {
			return writeLooseRaw(t, gitDir, self, []byte("tree 100\x00100644 a\x00"))
		}, "truncated"},
		"blob as tree": {func(gitDir string) []byte {
			return writeLoose(t, gitDir, "blob", []byte("hello\n"), nil)
		}, "is a blob"},
		"missing tree": {func(gitDir string) []byte { return self }, "no such file"},
		"bad tree": {func(gitDir string) []byte {
			return writeLoose(t, gitDir, "tree", []byte("100644 a\x00short"), nil)
		}, "malformed"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			tree := c.setup(filepath.Join(root, ".git"))
			root, _ = forgedRepoAt(t, root, tree)
			start := time.Now()
			res, err := Discover(context.Background(), root, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(res.GitNote, c.note) {
				t.Errorf("note %q, want %q", res.GitNote, c.note)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("took %s", d)
			}
			if find(res, KindDependency, "requirements.txt") == nil {
				t.Error("the rest of the inventory is missing")
			}
		})
	}
}

// forgedRepoAt is forgedRepo in an existing folder.
func forgedRepoAt(t *testing.T, root string, tree []byte) (string, string) {
	t.Helper()
	gitDir := filepath.Join(root, ".git")
	writeFile(t, gitDir, "HEAD", "ref: refs/heads/main\n")
	if err := os.MkdirAll(filepath.Join(gitDir, "objects"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := fmt.Sprintf("tree %x\nauthor Mallory <m@example.com> 1700000000 +0000\ncommitter Mallory <m@example.com> 1700000000 +0000\n\nx\n", tree)
	id := writeLoose(t, gitDir, "commit", []byte(c), nil)
	writeFile(t, gitDir, "refs/heads/main", fmt.Sprintf("%x\n", id))
	writeFile(t, root, "requirements.txt", "torch==2.3.1\n")
	return root, gitDir
}

// TestGitTooManyParents: a commit with more parents than the bound ends
// the read with a note.
func TestGitTooManyParents(t *testing.T) {
	root := t.TempDir()
	gitDir := filepath.Join(root, ".git")
	tree := writeLoose(t, gitDir, "tree", []byte{}, nil)
	_, _ = forgedRepoAt(t, root, tree)
	first := strings.TrimSpace(readFileT(t, filepath.Join(gitDir, "refs", "heads", "main")))
	c := fmt.Sprintf("tree %x\n%sauthor M <m@example.com> 1700000001 +0000\ncommitter M <m@example.com> 1700000001 +0000\n\nx\n",
		tree, strings.Repeat("parent "+first+"\n", maxParents+1))
	writeFile(t, gitDir, "refs/heads/main", fmt.Sprintf("%x\n", writeLoose(t, gitDir, "commit", []byte(c), nil)))
	res, err := Discover(context.Background(), root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.GitNote, "more than 4096 parents") {
		t.Errorf("note %q", res.GitNote)
	}
}

func readFileT(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
