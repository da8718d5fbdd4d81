package pickle

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/finding"
	tu "github.com/violet-mlsecops/violet/internal/testutil"
)

// scanBytes traces data and judges it with the default policy.
func scanBytes(t *testing.T, data []byte) []finding.Finding {
	t.Helper()
	tr, err := Run(context.Background(), bytes.NewReader(data), int64(len(data)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return New(DefaultPolicy()).Findings(tr, finding.Location{Path: "x.pkl"})
}

// The tricks attackers use to hide a call from scanners that pattern-match
// GLOBAL opcodes, each with the rule and the evidence it must produce.
var tricks = []struct {
	name     string
	data     []byte
	rule     string
	evidence string
}{
	{"GLOBAL and REDUCE", tu.NewPickle(2).Call("os", "system", "id").Stop().Bytes(),
		finding.PickleProcess, "os.system('id')"},
	{"STACK_GLOBAL", tu.NewPickle(4).StackGlobal("subprocess", "check_output").Mark().Str("id").Tuple().Reduce().Stop().Bytes(),
		finding.PickleProcess, "subprocess.check_output('id')"},
	{"STACK_GLOBAL operands from the memo", tu.NewPickle(4).Str("posix").Memoize().Pop().Str("system").Memoize().Pop().
		Get(0).Get(1).Raw(0x93).Str("id").Tuple1().Reduce().Stop().Bytes(),
		finding.PickleProcess, "posix.system('id')"},
	{"dotted name through pathlib", tu.NewPickle(4).StackGlobal("pathlib", "os.system").Str("id").Tuple1().Reduce().Stop().Bytes(),
		finding.PickleProcess, "pathlib.os.system('id')"},
	{"dotted name through tempfile._os", tu.NewPickle(4).StackGlobal("tempfile", "_os.system").Str("id").Tuple1().Reduce().Stop().Bytes(),
		finding.PickleProcess, "tempfile._os.system('id')"},
	{"numpy.__builtins__", tu.NewPickle(4).StackGlobal("numpy", "__builtins__.eval").Str("1").Tuple1().Reduce().Stop().Bytes(),
		finding.PickleCodeExec, "numpy.__builtins__.eval('1')"},
	{"dunder attribute of an allowlisted class", tu.NewPickle(4).StackGlobal("collections", "OrderedDict.__init__.__globals__").Stop().Bytes(),
		finding.PickleInternals, "collections.OrderedDict.__init__.__globals__"},
	{"Python 2 __builtin__", tu.NewPickle(0).Call("__builtin__", "eval", "1").Stop().Bytes(),
		finding.PickleCodeExec, "builtins.eval('1')"},
	{"Python 2 commands module", tu.NewPickle(2).Call("commands", "getoutput", "id").Stop().Bytes(),
		finding.PickleProcess, "subprocess.getoutput('id')"},
	{"INST", tu.NewPickle(0).Mark().Str("id").Raw([]byte("ios\nsystem\n")...).Stop().Bytes(),
		finding.PickleProcess, "os.system('id')"},
	{"bare reference stored in a dict", tu.NewPickle(4).EmptyDict().Str("hook").StackGlobal("builtins", "exec").SetItem().Stop().Bytes(),
		finding.PickleCodeExec, "builtins.exec"},
	{"EXT code registered in the stream", tu.NewPickle(2).
		Global("copyreg", "add_extension").Mark().Str("os").Str("system").Int(200).Tuple().Reduce().Pop().
		Raw(0x82, 200).Str("id").Tuple1().Reduce().Stop().Bytes(),
		finding.PickleProcess, "os.system('id')"},
	{"module attribute overwritten by BUILD", tu.NewPickle(4).
		StackGlobal("torch", "_utils").EmptyDict().Str("_rebuild_tensor").StackGlobal("builtins", "eval").SetItem().Build().Pop().
		StackGlobal("torch._utils", "_rebuild_tensor").Str("1").Tuple1().Reduce().Stop().Bytes(),
		finding.PickleCodeExec, "builtins.eval('1')"},
	{"call after the memo error CPython stops at", tu.NewPickle(4).Call("os", "system", "id").Pop().Get(9).Stop().Bytes(),
		finding.PickleProcess, "os.system('id')"},
	{"second stream after a benign one", append(tu.NewPickle(4).EmptyDict().Stop().Bytes(), tu.NewPickle(4).Call("os", "system", "id").Stop().Bytes()...),
		finding.PickleProcess, "os.system('id')"},
	{"protocol 0 stream after junk", append(append(tu.NewPickle(2).EmptyDict().Stop().Bytes(), "\x00\x01junk"...), tu.NewPickle(0).Call("os", "system", "id").Stop().Bytes()...),
		finding.PickleProcess, "os.system('id')"},
	{"payload after a line longer than any buffer", tu.NewPickle(0).Raw([]byte("S'"+strings.Repeat("A", 70000)+"'\n0")...).Call("os", "system", "id").Stop().Bytes(),
		finding.PickleProcess, "os.system('id')"},
	{"unknown global called", tu.NewPickle(4).StackGlobal("mylib.models", "Net").EmptyTuple().NewObj().Stop().Bytes(),
		finding.PickleUnknownCall, "mylib.models.Net()"},
	{"unknown global referenced", tu.NewPickle(4).StackGlobal("mylib.models", "helper").Stop().Bytes(),
		finding.PickleUnknownRef, "mylib.models.helper"},
}

func TestTricks(t *testing.T) {
	for _, tc := range tricks {
		if tc.rule == "" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			fs := scanBytes(t, tc.data)
			for _, f := range fs {
				if f.Rule == tc.rule && f.Evidence == tc.evidence {
					return
				}
			}
			t.Errorf("want %s with evidence %q; got:", tc.rule, tc.evidence)
			for _, f := range fs {
				t.Errorf("  %s %s %q", f.Rule, f.Location, f.Evidence)
			}
		})
	}
}

// TestModulePatchIsReported checks that overwriting a module attribute is a
// finding of its own, whatever is put there.
func TestModulePatchIsReported(t *testing.T) {
	data := tu.NewPickle(4).StackGlobal("torch", "_utils").EmptyDict().Str("x").Int(1).SetItem().Build().Stop().Bytes()
	fs := scanBytes(t, data)
	if len(fs) == 0 || fs[len(fs)-1].Rule != finding.PickleInternals {
		t.Fatalf("BUILD on a module: got %v", fs)
	}
}

// TestConstantGetattr: getattr(Class, 'NAME') is judged as Class.NAME
// (Python 3.12 pickles enum members so), and getattr(os, 'system') is
// os.system.
func TestConstantGetattr(t *testing.T) {
	enum := tu.NewPickle(4).StackGlobal("builtins", "getattr").StackGlobal("torch", "Size").Str("Axis").Raw(0x86).Reduce().Stop().Bytes()
	for _, f := range scanBytes(t, enum) {
		if f.Severity >= finding.High {
			t.Errorf("getattr(torch.Size, 'Axis'): %s %s", f.Rule, f.Evidence)
		}
	}
	evil := tu.NewPickle(4).StackGlobal("builtins", "getattr").StackGlobal("os", "path").Str("system").Raw(0x86).Reduce().Stop().Bytes()
	got := false
	for _, f := range scanBytes(t, evil) {
		got = got || f.Severity == finding.Critical
	}
	if !got {
		t.Error("getattr(os.path, 'system') is not critical")
	}
}

// TestMalformedReportsWhatRanFirst: a truncated stream reports the call
// before the break and the break itself.
func TestMalformedReportsWhatRanFirst(t *testing.T) {
	data := tu.NewPickle(4).Call("os", "system", "id").Raw('X', 0xff, 0xff).Bytes()
	var rules []string
	for _, f := range scanBytes(t, data) {
		rules = append(rules, f.Rule)
	}
	if strings.Join(rules, ",") != finding.PickleProcess+","+finding.PickleMalformed {
		t.Errorf("got %v", rules)
	}
}

// TestAllowlistedModelPasses: what torch writes for a tensor passes clean.
func TestAllowlistedModelPasses(t *testing.T) {
	data := tu.NewPickle(2).Global("collections", "OrderedDict").EmptyTuple().Reduce().
		Global("torch._utils", "_rebuild_tensor_v2").Mark().
		Mark().Str("storage").Global("torch", "FloatStorage").Str("0").Str("cpu").Int(4).Tuple().Raw('Q').
		Int(0).Int(2).Tuple1().Int(1).Tuple1().Raw(0x89).
		Global("collections", "OrderedDict").EmptyTuple().Reduce().Tuple().Reduce().Stop().Bytes()
	if fs := scanBytes(t, data); len(fs) > 0 {
		t.Errorf("clean state dict: %v", fs)
	}
}

// TestUserAllowlist: --allow lets a custom class through.
func TestUserAllowlist(t *testing.T) {
	p, err := DefaultPolicy().WithAllowed("mylib.models.Net", "other.**")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range [][2]string{{"mylib.models", "Net"}, {"other.deep.mod", "thing"}} {
		if v := p.Judge(g[0], g[1]); !v.Allowed() {
			t.Errorf("%s.%s: %+v", g[0], g[1], v)
		}
	}
	if v := p.Judge("mylib.models", "Other"); v.Allowed() {
		t.Error("mylib.models.Other allowed")
	}
	// A wildcard never reaches through a dotted name or a dunder.
	for _, g := range [][2]string{{"other", "os.system"}, {"other.mod", "thing.__globals__"}} {
		if v := p.Judge(g[0], g[1]); v.Allowed() || v.Rule == finding.PickleUnknownCall {
			t.Errorf("%s + %s: %+v", g[0], g[1], v)
		}
	}
	for _, bad := range []string{"", "nodot", "a.", "9a.b"} {
		if _, err := DefaultPolicy().WithAllowed(bad); err == nil {
			t.Errorf("WithAllowed(%q) accepted", bad)
		}
	}
}

// TestPolicyTable pins the verdicts on names that matter.
func TestPolicyTable(t *testing.T) {
	p := DefaultPolicy()
	for _, tc := range []struct{ module, name, rule string }{
		{"torch._utils", "_rebuild_tensor_v2", ""},
		{"torch.nn.modules.linear", "Linear", ""},
		{"numpy.core.multiarray", "_reconstruct", ""},
		{"sklearn.ensemble._forest", "RandomForestClassifier", ""},
		{"pandas.core.frame", "DataFrame", ""},
		{"pathlib", "PosixPath", ""},
		{"__builtin__", "set", ""},
		{"copy_reg", "_reconstructor", ""},
		{"pathlib", "PosixPath.write_text", finding.PickleFilesystem},
		{"pandas.io.pytables", "HDFStore", finding.PickleFilesystem},
		{"pandas", "read_pickle", finding.PickleNestedLoad},
		{"numpy.testing._private.utils", "runstring", finding.PickleCodeExec},
		{"numpy", "load", finding.PickleNestedLoad},
		{"torch", "load", finding.PickleNestedLoad},
		{"torch.serialization", "_get_layout", ""},
		{"builtins", "getattr", finding.PickleDynamicImport},
		{"copyreg", "add_extension", finding.PickleInternals},
		{"sys", "modules", finding.PickleInternals},
		{"__main__", "Net", finding.PickleUnknownCall},
		{"os", "remove", finding.PickleFilesystem},
		{"socket", "create_connection", finding.PickleNetwork},
		{"torch._dynamo.guards", "GuardBuilder.get", finding.PickleCodeExec},
		{"sklearn.utils._testing", "assert_run_python_script", finding.PickleCodeExec},
	} {
		if v := p.Judge(tc.module, tc.name); v.Rule != tc.rule {
			t.Errorf("%s.%s: got %q (%s), want %q", tc.module, tc.name, v.Rule, v.Why, tc.rule)
		}
	}
}

// TestSniff: content decides, text is not a pickle.
func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		data string
		want bool
	}{
		{"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00", true},
		{"(dp0\nS'a'\np1\nI1\ns.", true},
		{"cos\nsystem\n", true},
		{"class Linear(Module):\n  pass\n", false},
		{"cmod\n\xf8\n", false},
		{"# README\n", false},
		{"\x89PNG\r\n\x1a\n", false},
		{"\x93NUMPY\x01\x00", false},
		{"", false},
	} {
		if got := Sniff([]byte(tc.data), true); got != tc.want {
			t.Errorf("Sniff(%q) = %v", tc.data, got)
		}
	}
}
