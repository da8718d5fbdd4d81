package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/violet-mlsecops/violet/deps"
)

// The CI integrations (the GitHub Action, the GitLab template, the
// pre-commit hooks, the recipes of docs/ci.md) call violet with commands and
// flags written as text: these tests read them and check them against the
// command tree, so that renaming a flag breaks a test, not users' pipelines.

const repoRoot = "../.."

func readRepoFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func unmarshalYAML(t *testing.T, name string, v any) []byte {
	t.Helper()
	data := readRepoFile(t, name)
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return data
}

// subcommand returns the command named name under parent, or nil.
func subcommand(parent *cobra.Command, name string) *cobra.Command {
	for _, c := range parent.Commands() {
		if c.Name() == name || c.HasAlias(name) {
			return c
		}
	}
	return nil
}

// lookupFlag finds a flag word ("--format", "--format=json", "-o") on cmd.
func lookupFlag(cmd *cobra.Command, word string) *pflag.Flag {
	name, _, _ := strings.Cut(word, "=")
	find := func(fs *pflag.FlagSet) *pflag.Flag {
		if strings.HasPrefix(name, "--") {
			return fs.Lookup(name[2:])
		}
		if len(name) == 2 {
			return fs.ShorthandLookup(name[1:])
		}
		return nil
	}
	cmd.InitDefaultHelpFlag()
	if f := find(cmd.Flags()); f != nil {
		return f
	}
	return find(cmd.InheritedFlags())
}

// shellWord strips the quotes and backticks around a shell word.
func shellWord(w string) string {
	return strings.Trim(w, "\"'`")
}

// isViolet reports whether a shell word runs violet ("violet", "$bin/violet").
func isViolet(w string) bool {
	w = shellWord(w)
	return w == "violet" || strings.HasSuffix(w, "/violet")
}

// endsInvocation reports whether a shell word ends a command line.
func endsInvocation(w string) bool {
	switch w {
	case "|", "||", "&&", ";", ">", ">>", "2>&1", "#", ")", "<<<":
		return true
	}
	return strings.HasPrefix(w, "#") || strings.HasPrefix(w, ">")
}

// checkInvocations finds every violet invocation in the shell text and
// checks its command and flags against the command tree. A command that is
// a shell variable ("$VIOLET_COMMAND") stands for each of variableCommands.
func checkInvocations(t *testing.T, where, text string, variableCommands []string) (checked int) {
	t.Helper()
	root := newRoot()
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		words := strings.Fields(line)
		for i := 0; i < len(words); i++ {
			if !isViolet(words[i]) || i+1 >= len(words) || (i > 0 && words[i-1] == "echo") {
				continue // echo "violet ...": a message, not a command
			}
			// The words of this invocation, up to the end of the command line.
			var args []string
			for _, w := range words[i+1:] {
				if endsInvocation(w) {
					break
				}
				last := strings.HasSuffix(w, ";")
				args = append(args, strings.TrimSuffix(w, ";"))
				if last {
					break
				}
			}
			if len(args) == 0 {
				continue
			}
			name := shellWord(args[0])
			names := []string{name}
			if strings.HasPrefix(name, "$") {
				names = variableCommands
			} else if strings.HasPrefix(name, "-") {
				continue // violet --version, violet --help
			}
			for _, n := range names {
				cmd := subcommand(root, n)
				if cmd == nil {
					t.Errorf("%s: %q: violet has no command %q", where, strings.TrimSpace(line), n)
					continue
				}
				rest := args[1:]
				// Descend into subcommands: violet policy test.
				for len(rest) > 0 && cmd.HasSubCommands() {
					sub := subcommand(cmd, shellWord(rest[0]))
					if sub == nil {
						break
					}
					cmd, rest = sub, rest[1:]
				}
				checkFlags(t, where, line, cmd, rest)
				checked++
			}
		}
	}
	return checked
}

func checkFlags(t *testing.T, where, line string, cmd *cobra.Command, args []string) {
	t.Helper()
	for j := 0; j < len(args); j++ {
		w := shellWord(args[j])
		if w == "--" {
			return // the end of the flags
		}
		if !strings.HasPrefix(w, "-") || w == "-" || strings.HasPrefix(w, "-$") {
			continue
		}
		f := lookupFlag(cmd, w)
		if f == nil {
			t.Errorf("%s: %q: violet %s has no flag %s", where, strings.TrimSpace(line), cmd.Name(), w)
			continue
		}
		if f.Value.Type() != "bool" && !strings.Contains(w, "=") {
			j++ // its value
		}
	}
}

// actionFile is the part of action.yml the tests read.
type actionFile struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Inputs      map[string]struct {
		Description string `yaml:"description"`
		Default     string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Description string `yaml:"description"`
		Value       string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []struct {
			Name            string            `yaml:"name"`
			ID              string            `yaml:"id"`
			If              string            `yaml:"if"`
			Uses            string            `yaml:"uses"`
			Run             string            `yaml:"run"`
			Shell           string            `yaml:"shell"`
			With            map[string]string `yaml:"with"`
			Env             map[string]string `yaml:"env"`
			ContinueOnError bool              `yaml:"continue-on-error"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

// actionCommands are the commands the action's command input takes.
var actionCommands = []string{"scan", "gate", "deps", "verify"}

func modulePath(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^module\s+(\S+)`).FindSubmatch(readRepoFile(t, "go.mod"))
	if m == nil {
		t.Fatal("go.mod: no module line")
	}
	return string(m[1])
}

func TestGitHubAction(t *testing.T) {
	var a actionFile
	unmarshalYAML(t, "action.yml", &a)
	if a.Name == "" || a.Description == "" {
		t.Error("action.yml: name and description are required")
	}
	if a.Runs.Using != "composite" {
		t.Errorf("runs.using = %q, want composite", a.Runs.Using)
	}
	for _, in := range []string{"command", "path", "args", "version", "sarif", "fail-on"} {
		if _, ok := a.Inputs[in]; !ok {
			t.Errorf("input %q is missing", in)
		}
	}
	for name, in := range a.Inputs {
		if strings.TrimSpace(in.Description) == "" {
			t.Errorf("input %q has no description", name)
		}
	}
	if d := a.Inputs["command"].Default; d != "scan" {
		t.Errorf("input command defaults to %q, want scan", d)
	}
	for _, c := range actionCommands {
		if !strings.Contains(a.Inputs["command"].Description, c) {
			t.Errorf("the command input does not document %s", c)
		}
	}
	for _, out := range []string{"exit-code", "sarif-file"} {
		o, ok := a.Outputs[out]
		if !ok || o.Description == "" || !strings.Contains(o.Value, "steps.") {
			t.Errorf("output %q is missing, undocumented or not set from a step", out)
		}
	}

	checkActionInstall(t, a)
	var runStep, upload, exit bool
	scripts := ""
	for _, s := range a.Runs.Steps {
		if s.Run != "" && s.Shell == "" {
			t.Errorf("step %q: a composite run step needs shell", s.Name)
		}
		scripts += s.Run + "\n"
		switch {
		case strings.HasPrefix(s.Uses, "github/codeql-action/upload-sarif@"):
			upload = true
			if !strings.Contains(s.If, "always()") {
				t.Errorf("the SARIF upload step runs if %q: it must run when violet fails, with always()", s.If)
			}
			if !strings.Contains(s.With["sarif_file"], "steps.") {
				t.Errorf("the SARIF upload step uploads %q, not the file the violet step wrote", s.With["sarif_file"])
			}
		case s.ID == "violet":
			runStep = strings.Contains(s.Run, "violet \"")
			if !strings.Contains(s.Run, "set +e") || !strings.Contains(s.Run, "exit-code=") {
				t.Error("the violet step must run with set +e and record the exit code")
			}
		case strings.Contains(s.Run, "exit \""):
			exit = strings.Contains(s.If, "always()")
		}
	}
	if !runStep || !upload || !exit {
		t.Errorf("steps: violet with set +e %v, upload-sarif %v, final exit if always() %v", runStep, upload, exit)
	}
	if n := checkInvocations(t, "action.yml", scripts, actionCommands); n == 0 {
		t.Error("action.yml: no violet invocation found")
	}

	// What the action's run step reads from each command's help: --fail-on
	// for the fail-on input, a --format that writes SARIF with --output for
	// the sarif input. The inputs document which commands have them.
	root := newRoot()
	for _, c := range actionCommands {
		cmd := subcommand(root, c)
		if cmd == nil {
			t.Errorf("violet %s is not a command", c)
			continue
		}
		sarif := false
		if f := cmd.Flags().Lookup("format"); f != nil && strings.Contains(f.Usage, "sarif") && cmd.Flags().Lookup("output") != nil {
			sarif = true
		}
		if doc := documentedCommands(a.Inputs["sarif"].Description)[c]; doc != sarif {
			t.Errorf("violet %s writes SARIF: %v; the sarif input's description says %v", c, sarif, doc)
		}
		failOn := cmd.Flags().Lookup("fail-on") != nil
		if doc := documentedCommands(a.Inputs["fail-on"].Description)[c]; doc != failOn {
			t.Errorf("violet %s has --fail-on: %v; the fail-on input's description says %v", c, failOn, doc)
		}
	}
}

// installPath returns the install input a step is for, from its if:
// "release", "source", or "" for a step of both.
func installPath(cond string) string {
	m := regexp.MustCompile(`inputs\.install == '(\w+)'`).FindStringSubmatch(cond)
	if m == nil {
		return ""
	}
	return m[1]
}

// pinnedAction matches a uses: pinned to a full commit SHA.
var pinnedAction = regexp.MustCompile(`^[\w.-]+/[\w./-]+@[0-9a-f]{40}$`)

// usesOf returns the uses: of the first step of a workflow or action that
// runs the action named (owner/name), or "".
func usesOf(steps []string, name string) string {
	for _, u := range steps {
		if strings.HasPrefix(u, name+"@") {
			return u
		}
	}
	return ""
}

// releaseWorkflowUses returns the uses: of every step of the release
// workflow, the one that signs checksums.txt.
func releaseWorkflowUses(t *testing.T) []string {
	t.Helper()
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				Uses string `yaml:"uses"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	unmarshalYAML(t, ".github/workflows/release.yml", &wf)
	var uses []string
	for _, j := range wf.Jobs {
		for _, s := range j.Steps {
			uses = append(uses, s.Uses)
		}
	}
	return uses
}

// checkActionInstall checks the two ways the action installs violet: the
// release (ci/install.sh, with cosign and a cache, no Go) and the source
// build (setup-go, go install), each step on one path only.
func checkActionInstall(t *testing.T, a actionFile) {
	t.Helper()
	if in, ok := a.Inputs["install"]; !ok || in.Default != "release" {
		t.Errorf("input install: default %q, want release", in.Default)
	}
	if d := a.Inputs["version"].Default; d != "" {
		t.Errorf("input version defaults to %q: want empty, the release ci/install.sh pins", d)
	}
	var resolve, cosign, cache, release, setupGo, source = -1, -1, -1, -1, -1, -1
	var cacheKey, cachePath string
	for i, s := range a.Runs.Steps {
		path := installPath(s.If)
		if path != "source" {
			// The release path, and the steps of both, leave the caller's Go alone.
			if strings.HasPrefix(s.Uses, "actions/setup-go@") || regexp.MustCompile(`(^|[\s(;&|])go (install|build|env|run)\b`).MatchString(s.Run) {
				t.Errorf("step %q (install %q) uses Go: only the source path may", s.Name, path)
			}
		}
		if s.Uses != "" && !pinnedAction.MatchString(s.Uses) {
			t.Errorf("step %q uses %q: pin the action by its commit SHA", s.Name, s.Uses)
		}
		switch {
		case s.ID == "release":
			resolve = i
			if path != "" || !strings.Contains(s.Run, `sh "$GITHUB_ACTION_PATH/ci/install.sh" -n`) || !strings.Contains(s.Run, "GITHUB_OUTPUT") {
				t.Errorf("step %q: want ci/install.sh -n into $GITHUB_OUTPUT, for either install (to reject a bad one)", s.Name)
			}
			if s.Env["VIOLET_VERSION"] != "${{ inputs.version }}" || s.Env["VIOLET_OS"] != "${{ runner.os }}" || s.Env["VIOLET_ARCH"] != "${{ runner.arch }}" {
				t.Errorf("step %q: env %v: want the version input and the runner's os and arch", s.Name, s.Env)
			}
		case strings.HasPrefix(s.Uses, "sigstore/cosign-installer@"):
			cosign = i
			if path != "release" {
				t.Errorf("cosign-installer runs for install %q, want release", path)
			}
			// The verifier is the cosign of the signer: the bundle format is theirs.
			if want := usesOf(releaseWorkflowUses(t), "sigstore/cosign-installer"); s.Uses != want {
				t.Errorf("the action installs cosign with %q, the release workflow signs with %q: use the same", s.Uses, want)
			}
		case strings.HasPrefix(s.Uses, "actions/cache@"):
			cache, cacheKey, cachePath = i, s.With["key"], s.With["path"]
			if path != "release" {
				t.Errorf("actions/cache runs for install %q, want release", path)
			}
			for _, part := range []string{"steps.release.outputs.version", "steps.release.outputs.os", "steps.release.outputs.arch"} {
				if !strings.Contains(cacheKey, part) {
					t.Errorf("the cache key %q does not hold %s", cacheKey, part)
				}
			}
		case strings.Contains(s.Run, "ci/install.sh") && path == "release":
			release = i
			if !strings.Contains(s.Run, `sh "$GITHUB_ACTION_PATH/ci/install.sh"`) || !strings.Contains(s.Run, "GITHUB_PATH") {
				t.Errorf("step %q: want sh \"$GITHUB_ACTION_PATH/ci/install.sh\", then the folder on $GITHUB_PATH", s.Name)
			}
			if s.Env["VIOLET_VERSION"] != "${{ steps.release.outputs.version }}" {
				t.Errorf("step %q installs %q, not the version the cache is keyed by", s.Name, s.Env["VIOLET_VERSION"])
			}
			if s.Env["VIOLET_INSTALL_CACHE"] == "" || s.Env["VIOLET_INSTALL_CACHE"] != cachePath {
				t.Errorf("step %q keeps its downloads in %q, the cache step saves %q", s.Name, s.Env["VIOLET_INSTALL_CACHE"], cachePath)
			}
			if _, ok := s.Env["VIOLET_VERIFY_SIGNATURE"]; ok {
				t.Errorf("step %q sets VIOLET_VERIFY_SIGNATURE: the action always verifies the signature", s.Name)
			}
		case strings.HasPrefix(s.Uses, "actions/setup-go@"):
			setupGo = i
			if path != "source" || !strings.Contains(s.With["go-version-file"], "github.action_path") || !strings.HasSuffix(s.With["go-version-file"], "go.mod") {
				t.Errorf("setup-go: install %q, go-version-file %q: want source only, the action's go.mod", path, s.With["go-version-file"])
			}
		case strings.Contains(s.Run, "go install"):
			source = i
			if path != "source" || !strings.Contains(s.Run, "go install ./cmd/violet") || !strings.Contains(s.Run, "GITHUB_ACTION_PATH") ||
				!strings.Contains(s.Run, "go install \""+modulePath(t)+"/cmd/violet@") {
				t.Errorf("step %q: want, for install source only, go install of the action's checkout or of %s/cmd/violet@VERSION", s.Name, modulePath(t))
			}
		}
	}
	if resolve < 0 || cosign < 0 || cache < 0 || release < 0 || setupGo < 0 || source < 0 {
		t.Fatalf("steps: resolve %d, cosign-installer %d, cache %d, install.sh %d, setup-go %d, go install %d: one is missing",
			resolve, cosign, cache, release, setupGo, source)
	}
	if !(resolve < cache && cosign < release && cache < release && setupGo < source) {
		t.Errorf("step order: resolve %d < cache %d < install.sh %d, cosign-installer %d < install.sh, setup-go %d < go install %d",
			resolve, cache, release, cosign, setupGo, source)
	}
}

// installScript is the path of the install script.
const installScript = "ci/install.sh"

// installDefaultVersion returns the release ci/install.sh installs by default.
func installDefaultVersion(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^default_version=(v\S+)$`).FindSubmatch(readRepoFile(t, installScript))
	if m == nil {
		t.Fatalf("%s: no default_version=vX.Y.Z line", installScript)
	}
	return string(m[1])
}

// TestReleasePins checks that the release the integrations install by
// default is the same everywhere: ci/install.sh (the action, any shell),
// the GitLab template's image tag, and the recipes of docs/ci.md.
func TestReleasePins(t *testing.T) {
	v := installDefaultVersion(t)
	if !regexp.MustCompile(`^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`).MatchString(v) {
		t.Errorf("%s: default_version %q is not a release tag", installScript, v)
	}
	if _, _, vars := readGitLabTemplate(t); vars["VIOLET_VERSION"] != v {
		t.Errorf("%s: VIOLET_VERSION %q, %s installs %s: set both at a release", gitlabTemplate, vars["VIOLET_VERSION"], installScript, v)
	}
	doc := string(readRepoFile(t, "docs/ci.md"))
	for _, want := range []string{"violet-mlsecops/violet@" + v, "VIOLET_VERSION: " + v, "violet/" + v + "/ci/install.sh"} {
		if !strings.Contains(doc, want) {
			t.Errorf("docs/ci.md does not show %q: the recipes pin another release than %s", want, installScript)
		}
	}
	for _, old := range regexp.MustCompile(`violet-mlsecops/violet@(v\d[\w.-]*)`).FindAllStringSubmatch(doc, -1) {
		if old[1] != v {
			t.Errorf("docs/ci.md pins violet-mlsecops/violet@%s, the release is %s", old[1], v)
		}
	}
}

// documentedCommands reads the parenthesized list of commands in an
// input's description, "(scan, deps, gate; not verify)": the commands
// named, but not those after "not".
func documentedCommands(desc string) map[string]bool {
	known := map[string]bool{}
	for _, c := range actionCommands {
		known[c] = true
	}
	for _, m := range regexp.MustCompile(`\(([^()]+)\)`).FindAllStringSubmatch(desc, -1) {
		cmds := map[string]bool{}
		all := true
		for _, item := range strings.FieldsFunc(m[1], func(r rune) bool { return r == ',' || r == ';' }) {
			item = strings.TrimSpace(item)
			name, not := strings.CutPrefix(item, "not ")
			all = all && known[name]
			if !not {
				cmds[name] = true
			}
		}
		if all {
			return cmds
		}
	}
	return nil
}

// gitlabTemplate is the path of the GitLab template.
const gitlabTemplate = "ci/gitlab/violet.gitlab-ci.yml"

// gitlabImage is a job's image: a name, or a name and an entrypoint.
type gitlabImage struct {
	Name       string   `yaml:"name"`
	Entrypoint []string `yaml:"entrypoint"`
}

// UnmarshalYAML reads both forms of image:.
func (i *gitlabImage) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		return n.Decode(&i.Name)
	}
	type plain gitlabImage
	return n.Decode((*plain)(i))
}

// gitlabJob is a job of the GitLab template.
type gitlabJob struct {
	Extends      any         `yaml:"extends"`
	Image        gitlabImage `yaml:"image"`
	BeforeScript []string    `yaml:"before_script"`
	Script       []string    `yaml:"script"`
	Artifacts    struct {
		When  string   `yaml:"when"`
		Paths []string `yaml:"paths"`
	} `yaml:"artifacts"`
}

// readGitLabTemplate returns the template's text, jobs and variables.
func readGitLabTemplate(t *testing.T) ([]byte, map[string]gitlabJob, map[string]string) {
	t.Helper()
	var raw map[string]yaml.Node
	data := unmarshalYAML(t, gitlabTemplate, &raw)
	jobs := map[string]gitlabJob{}
	for k, n := range raw {
		if k == "variables" || k == "include" || k == "stages" || k == "default" || k == "workflow" {
			continue
		}
		var j gitlabJob
		if err := n.Decode(&j); err != nil {
			t.Fatalf("%s: job %s: %v", gitlabTemplate, k, err)
		}
		jobs[k] = j
	}
	var top struct {
		Variables map[string]string `yaml:"variables"`
	}
	if err := yaml.Unmarshal(data, &top); err != nil {
		t.Fatal(err)
	}
	return data, jobs, top.Variables
}

func TestGitLabTemplate(t *testing.T) {
	const name = gitlabTemplate
	data, jobs, variables := readGitLabTemplate(t)
	for _, v := range []string{"VIOLET_PATH", "VIOLET_ARGS", "VIOLET_VERSION"} {
		if _, ok := variables[v]; !ok {
			t.Errorf("variable %s has no default", v)
		}
		if !regexp.MustCompile(`(?m)^#\s+` + v + `\s+\S`).Match(data) {
			t.Errorf("variable %s is not documented in the header", v)
		}
	}

	// .violet: the release image, whose entrypoint (violet) GitLab must not
	// run; nothing to build.
	base, ok := jobs[".violet"]
	if !ok {
		t.Fatal("no .violet hidden job")
	}
	if want := releaseImage(t) + ":${VIOLET_VERSION}"; base.Image.Name != want {
		t.Errorf(".violet image %q, want %s", base.Image.Name, want)
	}
	if len(base.Image.Entrypoint) != 1 || base.Image.Entrypoint[0] != "" {
		t.Errorf(".violet image entrypoint %q, want [\"\"]: GitLab runs the script with the image's shell", base.Image.Entrypoint)
	}
	if strings.Contains(strings.Join(base.BeforeScript, "\n"), "go ") {
		t.Errorf(".violet before_script %q builds violet: the image has it", base.BeforeScript)
	}
	// .violet-source: the documented source build.
	src, ok := jobs[".violet-source"]
	if !ok {
		t.Fatal("no .violet-source hidden job")
	}
	goVersion := regexp.MustCompile(`(?m)^go\s+(\d+\.\d+)`).FindSubmatch(readRepoFile(t, "go.mod"))
	if goVersion == nil || src.Image.Name != "golang:"+string(goVersion[1]) {
		t.Errorf(".violet-source image %q, want golang:%s (go.mod)", src.Image.Name, goVersion[1])
	}
	if !strings.Contains(strings.Join(src.BeforeScript, "\n"), "go install \""+modulePath(t)+"/cmd/violet@${VIOLET_VERSION}\"") {
		t.Errorf(".violet-source does not go install %s/cmd/violet@${VIOLET_VERSION}", modulePath(t))
	}
	if !regexp.MustCompile(`(?m)^#\s+extends: \.violet-source$`).Match(data) {
		t.Error("the header does not show how to extend .violet-source")
	}
	for _, name := range []string{"violet-scan", "violet-gate"} {
		j, ok := jobs[name]
		if !ok {
			t.Errorf("no %s job", name)
			continue
		}
		if j.Extends != ".violet" {
			t.Errorf("%s extends %v, want .violet", name, j.Extends)
		}
		script := strings.Join(j.Script, "\n")
		if !strings.Contains(script, "--format json --output") || j.Artifacts.When != "always" || len(j.Artifacts.Paths) == 0 {
			t.Errorf("%s: want a --format json report kept as an artifact when: always", name)
		}
		for _, p := range j.Artifacts.Paths {
			if !strings.Contains(script, "--output "+p) {
				t.Errorf("%s: artifact %s is not the file violet writes", name, p)
			}
		}
	}
	var all []string
	for _, j := range jobs {
		all = append(all, j.BeforeScript...)
		all = append(all, j.Script...)
	}
	if n := checkInvocations(t, name, strings.Join(all, "\n"), nil); n == 0 {
		t.Error("no violet invocation found")
	}
}

// releaseImage returns the image repository the release publishes
// (.goreleaser.yaml), after checking that it is tagged v<version>.
func releaseImage(t *testing.T) string {
	t.Helper()
	var g struct {
		Dockers []struct {
			Images []string `yaml:"images"`
			Tags   []string `yaml:"tags"`
		} `yaml:"dockers_v2"`
	}
	unmarshalYAML(t, ".goreleaser.yaml", &g)
	if len(g.Dockers) != 1 || len(g.Dockers[0].Images) != 1 {
		t.Fatalf(".goreleaser.yaml: want one image, got %+v", g.Dockers)
	}
	if !slices.Contains(g.Dockers[0].Tags, "v{{ .Version }}") {
		t.Errorf(".goreleaser.yaml tags the image %v: the template's VIOLET_VERSION (v1.2.3) needs v{{ .Version }}", g.Dockers[0].Tags)
	}
	return g.Dockers[0].Images[0]
}

// shellImages are base images that hold a POSIX sh on PATH: GitLab runs a
// job's script with the image's shell, and fails one without
// ("exec: \"sh\": executable file not found in $PATH").
var shellImages = []*regexp.Regexp{
	regexp.MustCompile(`^gcr\.io/distroless/[\w.-]+:debug(-nonroot)?(-[\w.]+)?$`), // busybox in /busybox
	regexp.MustCompile(`^(docker\.io/)?(library/)?(busybox|alpine|debian|ubuntu)(:[\w.-]+)?(@sha256:[0-9a-f]{64})?$`),
}

// TestGitLabImageHasShell checks that the release image, which the GitLab
// template runs its jobs in, has a shell: distroless/static has none.
func TestGitLabImageHasShell(t *testing.T) {
	from := regexp.MustCompile(`(?mi)^FROM\s+(?:--platform=\S+\s+)?(\S+)`).FindAllSubmatch(readRepoFile(t, "Dockerfile"), -1)
	if from == nil {
		t.Fatal("Dockerfile: no FROM")
	}
	base := string(from[len(from)-1][1])
	for _, re := range shellImages {
		if re.MatchString(base) {
			return
		}
	}
	t.Errorf("the release image is FROM %s, which has no shell: the GitLab template's jobs cannot run in it "+
		"(use gcr.io/distroless/static-debian12:debug-nonroot, which adds busybox sh)", base)
}

// modelExtensions are the extensions the violet-scan hook must match.
var modelExtensions = []string{".pt", ".pth", ".bin", ".ckpt", ".pkl", ".pickle", ".joblib", ".npy", ".npz", ".h5",
	".hdf5", ".keras", ".safetensors", ".gguf", ".onnx", ".pb", ".tflite", ".msgpack"}

func TestPreCommitHooks(t *testing.T) {
	var hooks []struct {
		ID             string   `yaml:"id"`
		Name           string   `yaml:"name"`
		Entry          string   `yaml:"entry"`
		Language       string   `yaml:"language"`
		Files          string   `yaml:"files"`
		Types          []string `yaml:"types"`
		PassFilenames  *bool    `yaml:"pass_filenames"`
		RequireSerial  bool     `yaml:"require_serial"`
		Description    string   `yaml:"description"`
		AlwaysRun      bool     `yaml:"always_run"`
		AdditionalDeps []string `yaml:"additional_dependencies"`
	}
	unmarshalYAML(t, ".pre-commit-hooks.yaml", &hooks)
	root := newRoot()
	seen := map[string]bool{}
	byID := map[string]int{}
	for i, h := range hooks {
		byID[h.ID] = i
	}
	for _, h := range hooks {
		seen[h.ID] = true
		if h.Name == "" || h.Entry == "" || h.Description == "" {
			t.Errorf("hook %s: name, entry and description are required", h.ID)
		}
		// HOOK builds violet (golang); HOOK-system runs the violet on PATH,
		// the same check on the same files.
		base, system := strings.CutSuffix(h.ID, "-system")
		if want := map[bool]string{false: "golang", true: "system"}[system]; h.Language != want {
			t.Errorf("hook %s: language %q, want %s", h.ID, h.Language, want)
		}
		if system {
			i, ok := byID[base]
			if !ok {
				t.Errorf("hook %s: no hook %s that it is the system variant of", h.ID, base)
			} else if b := hooks[i]; h.Entry != b.Entry || h.Files != b.Files || !slices.Equal(h.Types, b.Types) ||
				(h.PassFilenames == nil) != (b.PassFilenames == nil) || (h.PassFilenames != nil && *h.PassFilenames != *b.PassFilenames) ||
				h.RequireSerial != b.RequireSerial {
				t.Errorf("hook %s does not run what %s runs, on the same files", h.ID, base)
			}
		}
		if !strings.HasPrefix(h.Entry, "violet ") {
			t.Errorf("hook %s: entry %q does not run violet", h.ID, h.Entry)
		}
		checkInvocations(t, ".pre-commit-hooks.yaml", h.Entry, nil)
		re, err := regexp.Compile(h.Files)
		if err != nil {
			t.Errorf("hook %s: files: %v", h.ID, err)
			continue
		}
		// pre-commit appends the staged file names to the entry: the command
		// must take several paths.
		if cmd := subcommand(root, strings.Fields(h.Entry)[1]); cmd != nil && (h.PassFilenames == nil || *h.PassFilenames) && cmd.Args != nil {
			if err := cmd.Args(cmd, []string{"a.pt", "b.pt"}); err != nil {
				t.Errorf("hook %s passes file names, but violet %s refuses two: %v", h.ID, cmd.Name(), err)
			}
		}
		switch base {
		case "violet-scan":
			for _, ext := range modelExtensions {
				for _, p := range []string{"model" + ext, "models/sub/weights" + strings.ToUpper(ext)} {
					if !re.MatchString(p) {
						t.Errorf("violet-scan files %q does not match %s", h.Files, p)
					}
				}
			}
			for _, p := range []string{"train.py", "README.md", "config.json", "model.pt.txt"} {
				if re.MatchString(p) {
					t.Errorf("violet-scan files %q matches %s", h.Files, p)
				}
			}
		case "violet-deps":
			// The hook runs when a file violet deps reads is staged, and only then.
			for _, p := range []string{"requirements.txt", "sub/requirements-dev.txt", "constraints.txt",
				"requirements/base.txt", "poetry.lock", "uv.lock", "Pipfile.lock", "pdm.lock", "pylock.toml",
				"pylock.gpu.toml", "environment.yml", "env/environment-gpu.yaml", "conda.yml", "conda.yaml",
				"README.md", "setup.py", "pyproject.toml", "notes.txt", "yarn.lock", "package-lock.json", "conda.txt",
				"myrequirements.txt", "docs/requirements.md"} {
				if want := deps.FileKind(p) != ""; re.MatchString(p) != want {
					t.Errorf("violet-deps files %q matches %s: %v, violet deps reads it: %v", h.Files, p, !want, want)
				}
			}
		}
	}
	for _, id := range []string{"violet-scan", "violet-deps", "violet-scan-system", "violet-deps-system"} {
		if !seen[id] {
			t.Errorf("no %s hook", id)
		}
	}
}

// TestCIRecipes checks the violet command lines in the code blocks of
// docs/ci.md.
func TestCIRecipes(t *testing.T) {
	for _, name := range []string{"docs/ci.md"} {
		var code []string
		in := false
		for _, line := range strings.Split(string(readRepoFile(t, name)), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "```") {
				in = !in
				continue
			}
			if in {
				code = append(code, line)
			}
		}
		if n := checkInvocations(t, name, strings.Join(code, "\n"), actionCommands); n == 0 {
			t.Errorf("%s: no violet invocation found", name)
		}
	}
}
