package pickle

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/violet-mlsecops/violet/finding"
)

// Policy judges the globals a pickle imports: deny by default. A global is
// allowed only when an allowlist entry names it (what real model files
// import, each with a reason); a denylist entry names the danger of the
// globals attackers use; anything else is unknown.
type Policy struct {
	allow     []allowEntry
	deny      []denyEntry
	denyNames []denyEntry // by a name's last part: see builtinDenyNames
	libraries []libraryEntry
	explain   bool
}

// libraryEntry is a library whose classes a pickle may instantiate without
// running their constructor (see builtinLibraries).
type libraryEntry struct {
	module string
	why    string
}

// allowEntry allows the globals whose module matches module and whose
// name matches name. A module pattern ending in ".**" also matches every
// submodule. In a name pattern, "*" matches any run of characters but a dot,
// and "[A-Z]*" a class name (an upper-case initial); a name pattern never
// matches a dotted name unless it has the dot itself.
type allowEntry struct {
	module, name string
	why          string
	user         bool // from --allow or .violet.yaml
}

// denyEntry denies a dotted name and everything below it (attributes of it,
// or the submodules of a module). A "*" in its last part matches any run of
// characters but a dot.
type denyEntry struct {
	name string
	rule string
	why  string
}

// Verdict is the policy's judgement of one global.
type Verdict struct {
	// Rule is the finding rule id, or "" when the global is allowed.
	Rule string
	// Name is the name judged: the global's dotted name after the Python 2
	// mapping, or what a dotted name really reaches (os.system for
	// pathlib.os.system).
	Name string
	// Why says why.
	Why string
	// Entry is the allowlist or denylist entry that decided ("allow
	// torch.nn.modules.**:[A-Z]*", "deny os"), or "" for an unknown name.
	Entry string
}

// Digest identifies the policy: the SHA-256 of its built-in lists (the
// allowlist, denylists and libraries, hashed once per process), of the
// entries a user added and of the explain switch, equal for equal policies.
// A content cache of scan results keys on it.
func (p *Policy) Digest() string {
	h := sha256.New()
	fmt.Fprintf(h, "builtin %s\nexplain=%t\n", builtinDigest(), p.explain)
	for _, e := range p.allow {
		if e.user {
			fmt.Fprintf(h, "allow %q %q\n", e.module, e.name)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// builtinDigest is the SHA-256 of the built-in policy's entries.
var builtinDigest = sync.OnceValue(func() string {
	p := DefaultPolicy()
	h := sha256.New()
	for _, e := range p.allow {
		fmt.Fprintf(h, "allow %q %q %q\n", e.module, e.name, e.why)
	}
	for _, e := range p.deny {
		fmt.Fprintf(h, "deny %q %q %q\n", e.name, e.rule, e.why)
	}
	for _, e := range p.denyNames {
		fmt.Fprintf(h, "denyname %q %q %q\n", e.name, e.rule, e.why)
	}
	for _, e := range p.libraries {
		fmt.Fprintf(h, "library %q %q\n", e.module, e.why)
	}
	return hex.EncodeToString(h.Sum(nil))
})

// Allowed reports whether the verdict lets the global pass.
func (v Verdict) Allowed() bool { return v.Rule == "" }

// DefaultPolicy returns the built-in policy.
func DefaultPolicy() *Policy {
	p := &Policy{}
	for _, g := range builtinAllow {
		for _, n := range g.names {
			p.allow = append(p.allow, splitAllow(n, g.why))
		}
	}
	for _, g := range builtinDeny {
		for _, n := range g.names {
			p.deny = append(p.deny, denyEntry{name: n, rule: g.rule, why: g.why})
		}
	}
	for _, g := range builtinDenyNames {
		for _, n := range g.names {
			p.denyNames = append(p.denyNames, denyEntry{name: n, rule: g.rule, why: g.why})
		}
	}
	for _, g := range builtinLibraries {
		for _, m := range g.modules {
			p.libraries = append(p.libraries, libraryEntry{module: m, why: g.why})
		}
	}
	return p
}

// WithExplain returns a copy of p whose analyzer also reports every global a
// pickle uses, allowed or not, with how it is used and the entry that
// decided (the PICKLE-GLOBAL rule, at severity info): violet scan --explain.
func (p *Policy) WithExplain() *Policy {
	q := *p
	q.explain = true
	return &q
}

// Library returns the library entry that covers module: its classes may be
// instantiated without running their constructor, and its Enum classes
// called with a constant. Dunder names are never covered.
func (p *Policy) Library(module, name string) (string, bool) {
	module, name = mapPy2(module, name)
	if dunder(module, name) != "" {
		return "", false
	}
	for _, e := range p.libraries {
		if module == e.module || strings.HasPrefix(module, e.module+".") {
			return e.why, true
		}
	}
	return "", false
}

// JudgeName judges a name by its last part alone (see builtinDenyNames):
// the verdict for a loader, downloader or writer of any library.
func (p *Policy) JudgeName(full string) (Verdict, bool) {
	last := full
	if i := strings.LastIndexByte(full, '.'); i >= 0 {
		last = full[i+1:]
	}
	for _, e := range p.denyNames {
		if globPart(e.name, last) {
			return Verdict{Rule: e.rule, Name: full, Why: e.why, Entry: "deny name " + e.name}, true
		}
	}
	return Verdict{}, false
}

// splitAllow turns "module:name" into an entry.
func splitAllow(s, why string) allowEntry {
	mod, name, ok := strings.Cut(s, ":")
	if !ok {
		panic("pickle: allowlist entry without a colon: " + s)
	}
	return allowEntry{module: mod, name: name, why: why}
}

// WithAllowed returns a copy of p that also allows names given by a user:
// "module.name" allows that global, "module.*" every name in the module,
// "module.**" every name in the module and its submodules. Users can allow
// a denylisted name too: that is their call, and the docs say so.
func (p *Policy) WithAllowed(names ...string) (*Policy, error) {
	q := *p
	q.allow = append([]allowEntry(nil), p.allow...)
	for _, n := range names {
		n = strings.TrimSpace(n)
		var e allowEntry
		switch {
		case strings.HasSuffix(n, ".**"):
			e = allowEntry{module: strings.TrimSuffix(n, ".**") + ".**", name: "**"}
		case strings.HasSuffix(n, ".*"):
			e = allowEntry{module: strings.TrimSuffix(n, ".*"), name: "*"}
		default:
			i := strings.LastIndexByte(n, '.')
			if i <= 0 || i == len(n)-1 {
				return nil, fmt.Errorf("allow %q: want module.name, module.* or module.**", n)
			}
			e = allowEntry{module: n[:i], name: n[i+1:]}
		}
		if !isDottedName([]byte(strings.TrimSuffix(strings.TrimSuffix(e.module, ".**"), ".*"))) {
			return nil, fmt.Errorf("allow %q: %q is not a module name", n, e.module)
		}
		e.why = "allowed by the user"
		e.user = true
		q.allow = append(q.allow, e)
	}
	return &q, nil
}

// mapPy2 maps Python 2 names to the Python 3 names CPython's fix_imports
// would load. The policy judges the mapped name whatever the protocol, as
// the stricter reading.
func mapPy2(module, name string) (string, string) {
	if m, ok := compatNames[[2]string{module, name}]; ok {
		return m[0], m[1]
	}
	if m, ok := compatImports[module]; ok {
		return m, name
	}
	return module, name
}

// resolve is the dotted name CPython's unpickler loads for module and name
// at protocol proto (the Python 2 mapping applies below protocol 3).
func resolve(module, name string, proto int) string {
	if proto < 3 {
		module, name = mapPy2(module, name)
	}
	return module + "." + name
}

// Judge judges the global (module, name) as a pickle names it.
func (p *Policy) Judge(module, name string) Verdict {
	module, name = mapPy2(module, name)
	full := module + "." + name

	// What a hop of a dotted name reaches (pathlib.os.system is os.system,
	// whatever pathlib itself is), and dunders anywhere: no allowlist entry,
	// not even a user's wildcard, lets these through.
	parts := strings.Split(name, ".")
	for i, part := range parts {
		if target, ok := hopAliases[part]; ok || p.isDeniedRoot(part) {
			if !ok {
				target = part
			}
			rebased := strings.Join(append([]string{target}, parts[i+1:]...), ".")
			if v, ok := p.denied(rebased); ok {
				v.Name, v.Why = full, "reaches "+rebased+", which "+v.Why
				return v
			}
		}
	}
	if d := dunder(module, name); d != "" {
		if v, ok := p.denied(full); ok {
			return v // builtins.__import__ is named by the denylist
		}
		return Verdict{Rule: finding.PickleInternals, Name: full, Why: "names the dunder attribute " + d + ", a way into interpreter internals", Entry: "dunder " + d}
	}
	// A user's allowlist entry wins over the denylist: the documented escape
	// hatch for a trusted file.
	if e, ok := p.allowed(module, name, true); ok {
		return Verdict{Name: full, Why: e.why, Entry: "allow " + e.pattern()}
	}
	if v, ok := p.denied(full); ok {
		return v
	}
	if e, ok := p.allowed(module, name, false); ok {
		return Verdict{Name: full, Why: e.why, Entry: "allow " + e.pattern()}
	}
	if v, ok := p.JudgeName(full); ok {
		return v
	}
	return Verdict{Rule: finding.PickleUnknownCall, Name: full, Why: "is not on the allowlist"}
}

// hopAliases are attribute names, found inside a dotted name, that are
// other names of dangerous modules (tempfile._os is os).
var hopAliases = map[string]string{
	"_os": "os", "_sys": "sys", "_subprocess": "subprocess", "_shutil": "shutil", "_socket": "socket",
	"_bltin": "builtins", "__builtins__": "builtins", "__builtin__": "builtins", "_io": "io", "_pickle": "pickle",
	"_posixsubprocess": "_posixsubprocess", "_imp": "importlib",
}

// isDeniedRoot reports whether part is the first component of a deny entry
// that names a whole module (os, subprocess, socket...).
func (p *Policy) isDeniedRoot(part string) bool {
	return deniedRoots[part]
}

var deniedRoots = func() map[string]bool {
	m := map[string]bool{}
	for _, g := range builtinDeny {
		for _, n := range g.names {
			if !strings.Contains(n, ".") && !strings.Contains(n, "*") {
				m[n] = true
			}
		}
	}
	return m
}()

// denied returns the verdict of the longest deny entry matching full.
func (p *Policy) denied(full string) (Verdict, bool) {
	best := -1
	for i, e := range p.deny {
		if matchDeny(e.name, full) && (best < 0 || len(e.name) > len(p.deny[best].name)) {
			best = i
		}
	}
	if best < 0 {
		return Verdict{}, false
	}
	// A longer built-in allowlist entry (pathlib.PurePosixPath under a
	// denied pathlib) wins over a shorter deny entry.
	e := p.deny[best]
	if i := strings.LastIndexByte(full, '.'); i > 0 {
		if a, ok := p.allowed(full[:i], full[i+1:], false); ok && allowSpecificity(a) > len(e.name) {
			return Verdict{}, false
		}
	}
	return Verdict{Rule: e.rule, Name: full, Why: e.why, Entry: "deny " + e.name}, true
}

// pattern is the entry as its table writes it.
func (e allowEntry) pattern() string { return e.module + ":" + e.name }

// allowSpecificity is the length of the fixed part of an allow entry.
func allowSpecificity(a allowEntry) int {
	n := len(strings.TrimSuffix(a.module, ".**"))
	if !strings.ContainsAny(a.name, "*[") {
		n += 1 + len(a.name)
	}
	return n
}

// matchDeny reports whether deny pattern pat names full or a prefix of it.
func matchDeny(pat, full string) bool {
	if !strings.Contains(pat, "*") {
		return full == pat || strings.HasPrefix(full, pat) && full[len(pat)] == '.'
	}
	pp, fp := strings.Split(pat, "."), strings.Split(full, ".")
	if len(fp) < len(pp) {
		return false
	}
	for i := range pp {
		if !globPart(pp[i], fp[i]) {
			return false
		}
	}
	return true
}

// allowed finds an allow entry for (module, name); userOnly restricts the
// search to the user's entries.
func (p *Policy) allowed(module, name string, userOnly bool) (allowEntry, bool) {
	for _, e := range p.allow {
		if userOnly != e.user {
			continue
		}
		if matchModule(e.module, module) && matchName(e.name, name) {
			return e, true
		}
	}
	return allowEntry{}, false
}

func matchModule(pat, module string) bool {
	if base, ok := strings.CutSuffix(pat, ".**"); ok {
		return module == base || strings.HasPrefix(module, base+".")
	}
	return pat == module
}

func matchName(pat, name string) bool {
	if pat == "**" {
		return true
	}
	if strings.Count(pat, ".") != strings.Count(name, ".") {
		return false
	}
	pp, np := strings.Split(pat, "."), strings.Split(name, ".")
	for i := range pp {
		if !globPart(pp[i], np[i]) {
			return false
		}
	}
	return true
}

// globPart matches one dotted component: "*" is any run of characters,
// a leading "[A-Z]" an upper-case letter.
func globPart(pat, s string) bool {
	if rest, ok := strings.CutPrefix(pat, "[A-Z]"); ok {
		if s == "" || s[0] < 'A' || s[0] > 'Z' {
			return false
		}
		return globPart(rest, s[1:])
	}
	star := strings.IndexByte(pat, '*')
	if star < 0 {
		return pat == s
	}
	prefix, suffix := pat[:star], pat[star+1:]
	if !strings.HasPrefix(s, prefix) {
		return false
	}
	s = s[len(prefix):]
	if !strings.Contains(suffix, "*") {
		return len(s) >= len(suffix) && strings.HasSuffix(s, suffix)
	}
	for i := 0; i <= len(s); i++ {
		if globPart(suffix, s[i:]) {
			return true
		}
	}
	return false
}

// dunder returns the first dunder component of a dotted name, or "". The
// modules __main__ (classes of the script that saved the file) and
// __torch__ (TorchScript's class namespace) are names, not internals.
func dunder(module, name string) string {
	for i, part := range strings.Split(module, ".") {
		if i == 0 && (part == "__main__" || part == "__mp_main__" || part == "__torch__") {
			continue
		}
		if isDunder(part) {
			return part
		}
	}
	for _, part := range strings.Split(name, ".") {
		if isDunder(part) {
			return part
		}
	}
	return ""
}

func isDunder(s string) bool {
	return len(s) > 4 && strings.HasPrefix(s, "__") && strings.HasSuffix(s, "__")
}
