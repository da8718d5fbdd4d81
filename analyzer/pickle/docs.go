package pickle

import (
	"fmt"
	"sort"
	"strings"

	"github.com/violet-mlsecops/violet/finding"
)

// PolicySections returns the part of docs/rules.md that explains how the
// pickle policy judges a global, written from the policy's own tables: the
// order of the checks, the severity of each operation with the reasoning,
// the libraries whose classes may be rebuilt, the helpers judged through
// their arguments, and the allowlist and denylist groups with their reasons.
func PolicySections() []finding.Section {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("A pickle names the globals it needs (GLOBAL, STACK_GLOBAL, INST, EXT) and then does something with each. Violet\n")
	p("re-enacts the stream and judges every global by its name **and by what the stream does with it**. The checks run\n")
	p("in this order; the first that decides wins:\n\n")
	p("1. A dunder anywhere in the name (`__globals__`, `__builtins__`), or a hop through another name of a dangerous\n")
	p("   module (`pathlib.os.system`, `tempfile._os`), is critical: no entry lets these through.\n")
	p("2. The user's own entries (`--allow`, `allow:` in `.violet.yaml`) allow a name.\n")
	p("3. The denylist names what attackers use, by the danger it brings (tables below): critical whatever the\n")
	p("   operation, even when only referenced, since a stored callable is a trap.\n")
	p("4. The allowlist names what real files use, each group with its reason (tables below).\n")
	p("5. A name no entry covers is judged by its last part, by what it says it does: a loader, downloader, writer\n")
	p("   or runner of any library is critical (deny by name, below).\n")
	p("6. What remains is unknown, and the operation decides, as this table says.\n\n")
	p("| Operation | How a pickle does it | What runs at load | Class of a listed library | Anything else |\n|---|---|---|---|---|\n")
	p("| referenced | the global is stored, passed as an argument or used as state | nothing now; a stored callable may be called by the code that later uses the object | pass | `PICKLE-UNKNOWN-GLOBAL` (medium) |\n")
	p("| instantiated | NEWOBJ, NEWOBJ_EX, INST or OBJ without arguments, or a helper that calls `cls.__new__` (`copyreg._reconstructor`, Cython's `__pyx_unpickle_*`, scikit-learn's `newObj`) | `cls.__new__` allocates; then `__setstate__` or a `__dict__` update stores the state, whose own globals are judged in turn. Only a type can be instantiated so | pass | `PICKLE-UNKNOWN-GLOBAL-CALL` (high) |\n")
	p("| Enum value | REDUCE of a class name (PEP 8: an upper-case initial) with one constant | an Enum member is looked up by its value | pass | `PICKLE-UNKNOWN-GLOBAL-CALL` (high) |\n")
	p("| called | REDUCE, INST or OBJ with arguments, or a helper that calls what it is given | the callable's own code, with arguments of the file's choosing | `PICKLE-UNKNOWN-GLOBAL-CALL` (high) | `PICKLE-UNKNOWN-GLOBAL-CALL` (high) |\n")
	p("| instance called | REDUCE, OBJ or NEWOBJ on an object the stream built | the class's `__call__` (a model's `forward`, a pipeline) on the file's arguments | `PICKLE-UNKNOWN-GLOBAL-CALL` (high) | `PICKLE-UNKNOWN-GLOBAL-CALL` (high) |\n\n")
	p("Why the operation matters: instantiating a class without its constructor runs no code that the file chooses.\n")
	p("The class's `__new__` allocates, and its `__setstate__` stores data; a class whose `__new__` or `__setstate__`\n")
	p("is a known gadget (torch datapipes that unpickle with dill, pyarrow's Python extension type, datasets' memory-mapped\n")
	p("tables that open a path) is on the denylist and stays critical whatever the operation. Calling an arbitrary\n")
	p("function with the file's arguments is what every pickle exploit needs, so an unknown function called is high even\n")
	p("in a library Violet knows, and reference-only dangerous callables stay critical. A class of a library that is not\n")
	p("listed stays high when instantiated: Violet cannot know what its `__setstate__` does.\n\n")
	p("A bound method (`builtins.getattr(obj, 'name')` with a constant name on an object the stream built: how scipy's\n")
	p("frozen distributions and a model's methods are pickled) is judged as the method of the object's class: allowed\n")
	p("when the class is, critical when the name is a dunder or says what it does (deny by name), and a dynamic\n")
	p("`getattr` on anything else stays critical.\n\n")

	p("### Libraries whose classes may be rebuilt\n\n")
	p("A class of these libraries, and every submodule, passes when it is instantiated without its constructor or\n")
	p("called with one constant (an Enum); a reference to one of their functions passes too. Their functions called with\n")
	p("arguments do not.\n\n")
	p("| Modules | Why |\n|---|---|\n")
	for _, g := range builtinLibraries {
		p("| %s | %s |\n", codeList(g.modules, 0), g.why)
	}
	p("\n### Helpers judged through their arguments\n\n")
	p("These allowed helpers call or instantiate a callable the stream hands them. They are safe exactly when that\n")
	p("callable is, so the callable is judged as used by the helper, recursively: `functools.partial(os.system)` is\n")
	p("critical, `functools.partial(torch.nn.modules.normalization.LayerNorm)` passes.\n\n")
	p("| Helper | Argument | Judged as |\n|---|---|---|\n")
	names := make([]string, 0, len(helperArgs))
	for n := range helperArgs {
		names = append(names, n)
	}
	sort.Strings(names)
	names = append(names, "*.__pyx_unpickle_*")
	for _, n := range names {
		uses := helperArgs[n]
		if n == "*.__pyx_unpickle_*" {
			uses = cythonUnpickle
		}
		for _, u := range uses {
			p("| `%s` | %d | %s |\n", n, u.index+1, useVerbs[u.kind])
		}
	}
	var states []string
	for n := range callsItsState {
		states = append(states, n)
	}
	sort.Strings(states)
	for _, n := range states {
		p("| `%s` | a global in its BUILD state | called: the object calls what its state holds |\n", n)
	}
	for n, limit := range argLimits {
		p("| `%s` | more than %d | called: `type(name, bases, dict)` builds a class |\n", n, limit)
	}
	p("\n### Deny by name\n\n")
	p("For a name that no entry covers, and for a method read from an object, the last part of the name decides:\n\n")
	p("| Rule | Why | Names |\n|---|---|---|\n")
	for _, g := range builtinDenyNames {
		p("| `%s` | %s | %s |\n", g.rule, g.why, codeList(g.names, 0))
	}
	p("\n### Denylist\n\n")
	p("| Rule | Why | Names (and everything below them) |\n|---|---|---|\n")
	for _, g := range builtinDeny {
		p("| `%s` | %s | %s |\n", g.rule, g.why, codeList(g.names, 0))
	}
	p("\n### Allowlist\n\n")
	p("Entries are `module:name`; `module.**` covers submodules, `*` any run of characters, `[A-Z]*` a class name.\n\n")
	p("| Why | Entries |\n|---|---|\n")
	for _, g := range builtinAllow {
		p("| %s | %s |\n", g.why, codeList(g.names, 24))
	}
	return []finding.Section{{Title: "How the pickle policy judges a global", Markdown: b.String()}}
}

// codeList renders names as inline code, the first max of them (0: all).
func codeList(names []string, max int) string {
	var parts []string
	for i, n := range names {
		if max > 0 && i == max {
			parts = append(parts, fmt.Sprintf("and %d more", len(names)-max))
			break
		}
		parts = append(parts, "`"+strings.ReplaceAll(n, "|", `\|`)+"`")
	}
	return strings.Join(parts, ", ")
}
