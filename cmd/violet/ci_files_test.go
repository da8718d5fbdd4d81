package main

import (
	"os"
	"path/filepath"
	"regexp"
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

	var setupGo, install, runStep, upload, exit bool
	scripts := ""
	for _, s := range a.Runs.Steps {
		if s.Run != "" && s.Shell == "" {
			t.Errorf("step %q: a composite run step needs shell", s.Name)
		}
		scripts += s.Run + "\n"
		switch {
		case strings.HasPrefix(s.Uses, "actions/setup-go@"):
			setupGo = strings.Contains(s.With["go-version-file"], "github.action_path") && strings.HasSuffix(s.With["go-version-file"], "go.mod")
		case strings.HasPrefix(s.Uses, "github/codeql-action/upload-sarif@"):
			upload = true
			if !strings.Contains(s.If, "always()") {
				t.Errorf("the SARIF upload step runs if %q: it must run when violet fails, with always()", s.If)
			}
			if !strings.Contains(s.With["sarif_file"], "steps.") {
				t.Errorf("the SARIF upload step uploads %q, not the file the violet step wrote", s.With["sarif_file"])
			}
		case strings.Contains(s.Run, "go install"):
			install = strings.Contains(s.Run, "go install ./cmd/violet") && strings.Contains(s.Run, "GITHUB_ACTION_PATH") &&
				strings.Contains(s.Run, "go install \"github.com/violet-mlsecops/violet/cmd/violet@")
		case s.ID != "" && strings.Contains(s.Run, "violet \""):
			runStep = true
			if !strings.Contains(s.Run, "set +e") || !strings.Contains(s.Run, "exit-code=") {
				t.Error("the violet step must run with set +e and record the exit code")
			}
		case strings.Contains(s.Run, "exit \""):
			exit = strings.Contains(s.If, "always()")
		}
	}
	if !setupGo || !install || !runStep || !upload || !exit {
		t.Errorf("steps: setup-go from the action's go.mod %v, go install (checkout or version) %v, violet with set +e %v, upload-sarif %v, final exit if always() %v",
			setupGo, install, runStep, upload, exit)
	}
	if !strings.Contains(scripts, modulePath(t)+"/cmd/violet@") {
		t.Errorf("the install step does not go install %s/cmd/violet@VERSION", modulePath(t))
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

// gitlabJob is a job of the GitLab template.
type gitlabJob struct {
	Extends      any      `yaml:"extends"`
	Image        string   `yaml:"image"`
	BeforeScript []string `yaml:"before_script"`
	Script       []string `yaml:"script"`
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

	base, ok := jobs[".violet"]
	if !ok {
		t.Fatal("no .violet hidden job")
	}
	goVersion := regexp.MustCompile(`(?m)^go\s+(\d+\.\d+)`).FindSubmatch(readRepoFile(t, "go.mod"))
	if goVersion == nil || base.Image != "golang:"+string(goVersion[1]) {
		t.Errorf(".violet image %q, want golang:%s (go.mod)", base.Image, goVersion[1])
	}
	if !strings.Contains(strings.Join(base.BeforeScript, "\n"), "go install \""+modulePath(t)+"/cmd/violet@${VIOLET_VERSION}\"") {
		t.Errorf(".violet does not go install %s/cmd/violet@${VIOLET_VERSION}", modulePath(t))
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
	for _, h := range hooks {
		seen[h.ID] = true
		if h.Name == "" || h.Entry == "" || h.Description == "" {
			t.Errorf("hook %s: name, entry and description are required", h.ID)
		}
		if h.Language != "golang" {
			t.Errorf("hook %s: language %q, want golang", h.ID, h.Language)
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
		switch h.ID {
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
	for _, id := range []string{"violet-scan", "violet-deps"} {
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
