package pickle

import (
	"testing"

	"github.com/violet-mlsecops/violet/finding"
	tu "github.com/violet-mlsecops/violet/internal/testutil"
)

// picklescanBlocklist is every global that picklescan's scanner denies
// (mmaitre314/picklescan, src/picklescan/scanner.py, _unsafe_globals, at
// commit f15d54d, 2026; "anything_at_all" stands for its whole-module
// entries). Each entry was added for a published bypass of that scanner
// (its GHSA advisories of 2024-2026). Violet must report each one called
// at high or above.
var picklescanBlocklist = [][2]string{
	{"__builtin__", "apply"},
	{"__builtin__", "breakpoint"},
	{"__builtin__", "compile"},
	{"__builtin__", "eval"},
	{"__builtin__", "exec"},
	{"__builtin__", "getattr"},
	{"__builtin__", "open"},
	{"builtins", "apply"},
	{"builtins", "breakpoint"},
	{"builtins", "compile"},
	{"builtins", "eval"},
	{"builtins", "exec"},
	{"builtins", "getattr"},
	{"builtins", "open"},
	{"cloudpickle.cloudpickle", "_builtin_type"},
	{"cloudpickle.cloudpickle", "_function_setstate"},
	{"cloudpickle.cloudpickle", "_make_cell"},
	{"cloudpickle.cloudpickle", "_make_empty_cell"},
	{"cloudpickle.cloudpickle", "_make_function"},
	{"cloudpickle.cloudpickle", "subimport"},
	{"types", "CodeType"},
	{"aiohttp", "anything_at_all"},
	{"asyncio", "anything_at_all"},
	{"bdb", "anything_at_all"},
	{"commands", "anything_at_all"},
	{"ctypes", "anything_at_all"},
	{"functools", "partial"},
	{"httplib", "anything_at_all"},
	{"logging", "FileHandler"},
	{"_io", "FileIO"},
	{"numpy.f2py", "anything_at_all"},
	{"numpy.testing._private.utils", "anything_at_all"},
	{"nt", "anything_at_all"},
	{"posix", "anything_at_all"},
	{"_operator", "attrgetter"},
	{"_operator", "itemgetter"},
	{"_operator", "methodcaller"},
	{"operator", "attrgetter"},
	{"operator", "itemgetter"},
	{"operator", "methodcaller"},
	{"os", "anything_at_all"},
	{"requests.api", "anything_at_all"},
	{"runpy", "anything_at_all"},
	{"shutil", "anything_at_all"},
	{"socket", "anything_at_all"},
	{"ssl", "anything_at_all"},
	{"subprocess", "anything_at_all"},
	{"sys", "anything_at_all"},
	{"code", "InteractiveInterpreter.runcode"},
	{"cProfile", "anything_at_all"},
	{"distutils.file_util", "anything_at_all"},
	{"doctest", "debug_script"},
	{"ensurepip", "_run_pip"},
	{"idlelib.autocomplete", "AutoComplete.fetch_completions"},
	{"idlelib.autocomplete", "AutoComplete.get_entity"},
	{"idlelib.calltip", "Calltip.fetch_tip"},
	{"idlelib.calltip", "get_entity"},
	{"idlelib.debugobj", "ObjectTreeItem.SetText"},
	{"idlelib.pyshell", "ModifiedInterpreter.runcode"},
	{"idlelib.pyshell", "ModifiedInterpreter.runcommand"},
	{"idlelib.run", "Executive.runcode"},
	{"imaplib", "IMAP4_stream"},
	{"lib2to3.pgen2.grammar", "Grammar.loads"},
	{"lib2to3.pgen2.pgen", "ParserGenerator.make_label"},
	{"pdb", "anything_at_all"},
	{"pickle", "anything_at_all"},
	{"_pickle", "anything_at_all"},
	{"pip", "anything_at_all"},
	{"pkgutil", "resolve_name"},
	{"pty", "anything_at_all"},
	{"profile", "anything_at_all"},
	{"pydoc", "anything_at_all"},
	{"test", "anything_at_all"},
	{"timeit", "anything_at_all"},
	{"torch._dynamo.guards", "GuardBuilder.get"},
	{"torch._inductor.codecache", "compile_file"},
	{"torch.fx.experimental.symbolic_shapes", "ShapeEnv.evaluate_guards_expression"},
	{"torch.jit.unsupported_tensor_ops", "execWrapper"},
	{"torch.serialization", "load"},
	{"torch.utils._config_module", "ConfigModule.load_config"},
	{"torch.utils.bottleneck.__main__", "run_autograd_prof"},
	{"torch.utils.bottleneck.__main__", "run_cprofile"},
	{"torch.utils.collect_env", "run"},
	{"torch.utils.data.datapipes.utils.decoder", "basichandlers"},
	{"trace", "Trace.run"},
	{"trace", "Trace.runctx"},
	{"urllib.request", "anything_at_all"},
	{"uuid", "anything_at_all"},
	{"venv", "anything_at_all"},
	{"webbrowser", "anything_at_all"},
	{"_osx_support", "anything_at_all"},
	{"_aix_support", "anything_at_all"},
	{"_pyrepl", "anything_at_all"},
}

func TestPicklescanBlocklist(t *testing.T) {
	for _, g := range picklescanBlocklist {
		t.Run(g[0]+"."+g[1], func(t *testing.T) {
			p := tu.NewPickle(4).StackGlobal(g[0], g[1])
			if g == [2]string{"functools", "partial"} {
				// Violet judges partial through the callable it is given
				// (see TestUses): give it the one picklescan's comment names.
				p.StackGlobal("os", "system")
			} else {
				p.Str("x")
			}
			fs := scanBytes(t, p.Tuple1().Reduce().Stop().Bytes())
			for _, f := range fs {
				if f.Severity >= finding.High {
					return
				}
			}
			t.Errorf("%s.%s called passes: %v", g[0], g[1], fs)
		})
	}
}
