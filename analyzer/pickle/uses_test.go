package pickle

import (
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/finding"
	tu "github.com/violet-mlsecops/violet/internal/testutil"
)

// newObj pickles module.name instantiated by NEWOBJ with no arguments,
// then BUILD with state {key: <global stateMod.stateName>} when stateMod
// is set.
func newObj(module, name, key, stateMod, stateName string) *tu.Pickle {
	p := tu.NewPickle(4).StackGlobal(module, name).EmptyTuple().NewObj()
	if stateMod != "" {
		p.EmptyDict().Str(key).StackGlobal(stateMod, stateName).SetItem().Build()
	}
	return p
}

// The operations on a global and their verdicts: what a real file of a
// well-known library does passes; what an attacker needs still fails.
var useCases = []struct {
	name string
	data []byte
	rule string // "" for a pass
}{
	// Classes of well-known libraries, rebuilt without their constructor.
	{"timm class by NEWOBJ", newObj("timm.models.vision_transformer", "VisionTransformer", "", "", "").Stop().Bytes(), ""},
	{"torch.distributed.checkpoint data class", newObj("torch.distributed.checkpoint.metadata", "Metadata", "", "", "").Stop().Bytes(), ""},
	{"transformers Enum by value", tu.NewPickle(2).Call("transformers.trainer_utils", "SchedulerType", "linear").Stop().Bytes(), ""},
	{"library class through copyreg._reconstructor", tu.NewPickle(0).Global("copyreg", "_reconstructor").Mark().
		Raw([]byte("ctransformers.training_args\nTrainingArguments\n")...).Raw([]byte("c__builtin__\nobject\n")...).Raw('N').Tuple().Reduce().Stop().Bytes(), ""},
	{"Cython unpickle helper of numpy", tu.NewPickle(4).StackGlobal("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence").
		StackGlobal("numpy.random.bit_generator", "SeedSequence").Int(65708578).Raw('N').Raw(0x87).Reduce().Stop().Bytes(), ""},
	{"functools.partial of an allowed layer", tu.NewPickle(4).StackGlobal("functools", "partial").
		StackGlobal("torch.nn.modules.normalization", "LayerNorm").Tuple1().Reduce().Stop().Bytes(), ""},

	// What still fails.
	{"class of an unknown module by NEWOBJ", newObj("evilpkg.models", "Net", "", "", "").Stop().Bytes(), finding.PickleUnknownCall},
	{"library function called with arguments", tu.NewPickle(2).Call("timm.models", "create_model", "resnet50").Stop().Bytes(), finding.PickleUnknownCall},
	{"library function called with a constant", tu.NewPickle(2).Call("transformers.utils", "some_helper", "x").Stop().Bytes(), finding.PickleUnknownCall},
	{"library class called with arguments", tu.NewPickle(4).StackGlobal("transformers.models.auto", "AutoConfig").
		Str("a").Str("b").Raw(0x86).Reduce().Stop().Bytes(), finding.PickleUnknownCall},
	{"dangerous callable in an allowed class's state", newObj("transformers.training_args", "TrainingArguments", "hook", "posix", "system").Stop().Bytes(), finding.PickleProcess},
	{"unknown callable in an allowed class's state", newObj("timm.layers", "Mlp", "act", "evilpkg", "gadget").Stop().Bytes(), finding.PickleUnknownRef},
	{"loader method of a library class by dotted name", tu.NewPickle(4).StackGlobal("transformers", "AutoModel.from_pretrained").
		Str("evil/model").Tuple1().Reduce().Stop().Bytes(), finding.PickleNestedLoad},
	{"gadget method read from a library object", newObj("pandas.core.frame", "DataFrame", "", "", "").Put(0).Pop().
		StackGlobal("builtins", "getattr").Get(0).Str("query").Raw(0x86).Reduce().Str("x").Tuple1().Reduce().Stop().Bytes(), finding.PickleCodeExec},
	{"dunder method read from a library object", newObj("timm.layers", "Mlp", "", "", "").Put(0).Pop().
		StackGlobal("builtins", "getattr").Get(0).Str("__reduce_ex__").Raw(0x86).Reduce().Stop().Bytes(), finding.PickleInternals},
	{"instance of a library class called", newObj("timm.layers", "Mlp", "", "", "").Str("x").Tuple1().Reduce().Stop().Bytes(), finding.PickleUnknownCall},
	{"functools.partial of os.system", tu.NewPickle(4).StackGlobal("functools", "partial").
		StackGlobal("os", "system").Str("id").Raw(0x86).Reduce().Stop().Bytes(), finding.PickleProcess},
	{"functools.partial of an unknown function", tu.NewPickle(4).StackGlobal("functools", "partial").
		StackGlobal("evilpkg", "gadget").Tuple1().Reduce().Stop().Bytes(), finding.PickleUnknownCall},
	{"copyreg._reconstructor of an unknown class", tu.NewPickle(0).Global("copyreg", "_reconstructor").Mark().
		Raw([]byte("cevilpkg\nGadget\n")...).Raw([]byte("c__builtin__\nobject\n")...).Raw('N').Tuple().Reduce().Stop().Bytes(), finding.PickleUnknownCall},
	{"jax _reconstruct_array calling an unknown function", tu.NewPickle(4).StackGlobal("jax._src.array", "_reconstruct_array").
		StackGlobal("evilpkg", "gadget").EmptyTuple().Raw(0x86).Reduce().Stop().Bytes(), finding.PickleUnknownCall},
	{"type() building a class", tu.NewPickle(4).StackGlobal("builtins", "type").Str("X").EmptyTuple().EmptyDict().Raw(0x87).Reduce().Stop().Bytes(), finding.PickleUnknownCall},
	{"torch.distributed RPC", tu.NewPickle(2).Call("torch.distributed.rpc", "rpc_sync", "worker").Stop().Bytes(), finding.PickleNetwork},
	{"torch.distributed store", tu.NewPickle(2).Call("torch.distributed", "TCPStore", "10.0.0.1").Stop().Bytes(), finding.PickleNetwork},
	{"Enum-looking call of an unknown module", tu.NewPickle(2).Call("evilpkg", "Mode", "x").Stop().Bytes(), finding.PickleUnknownCall},
	{"unknown function named as a runner", tu.NewPickle(4).StackGlobal("functools", "partial").
		StackGlobal("evilpkg", "run").Tuple1().Reduce().Stop().Bytes(), finding.PickleCodeExec},
	{"fsspec file system rebuilt from a remote class", tu.NewPickle(4).StackGlobal("fsspec.spec", "make_instance").
		StackGlobal("fsspec.implementations.http", "HTTPFileSystem").EmptyTuple().EmptyDict().Raw(0x87).Reduce().Stop().Bytes(), finding.PickleNetwork},
	{"fsspec local file system", tu.NewPickle(4).StackGlobal("fsspec.spec", "make_instance").
		StackGlobal("fsspec.implementations.local", "LocalFileSystem").EmptyTuple().EmptyDict().Raw(0x87).Reduce().Stop().Bytes(), ""},
	{"partial whose state replaces its function", tu.NewPickle(4).StackGlobal("functools", "partial").
		StackGlobal("torch.nn.modules.normalization", "LayerNorm").Tuple1().Reduce().
		Mark().StackGlobal("evilpkg", "gadget").Str("x").Tuple1().Raw('N', 'N').Tuple().Build().Stop().Bytes(), finding.PickleUnknownCall},
	{"vectorize whose state holds a function", tu.NewPickle(4).StackGlobal("numpy", "vectorize").EmptyTuple().NewObj().
		EmptyDict().Str("pyfunc").StackGlobal("evilpkg", "gadget").SetItem().Build().Stop().Bytes(), finding.PickleUnknownCall},
	{"pandas top-level name that writes a file", tu.NewPickle(2).Call("pandas", "HDFStore", "/tmp/x").Stop().Bytes(), finding.PickleFilesystem},
	{"torchaudio reader of a URL", tu.NewPickle(2).Call("torchaudio.io", "StreamReader", "http://x/a").Stop().Bytes(), finding.PickleFilesystem},
	{"torch.fx graph module rebuilt without reduce_graph_module", newObj("torch.fx._lazy_graph_module", "_LazyGraphModule", "", "", "").Stop().Bytes(), finding.PickleCodeExec},
	{"torch datapipes (dill inside)", newObj("torch.utils.data.datapipes.iter.callable", "MapperIterDataPipe", "", "", "").Stop().Bytes(), finding.PickleCodeExec},
}

func TestUses(t *testing.T) {
	for _, c := range useCases {
		t.Run(c.name, func(t *testing.T) {
			fs := scanBytes(t, c.data)
			var worst finding.Finding
			for _, f := range fs {
				if f.Severity > worst.Severity {
					worst = f
				}
			}
			if c.rule == "" {
				if worst.Severity >= finding.Medium {
					t.Fatalf("want a pass, got %s %s: %s", worst.Rule, worst.Message, worst.Evidence)
				}
				return
			}
			for _, f := range fs {
				if f.Rule == c.rule {
					return
				}
			}
			t.Fatalf("want %s, got %v", c.rule, fs)
		})
	}
}

// TestExplain checks that --explain lists every global with how it is used
// and the entry that decided.
func TestExplain(t *testing.T) {
	data := tu.NewPickle(4).StackGlobal("functools", "partial").StackGlobal("torch.nn.modules.normalization", "LayerNorm").
		Tuple1().Reduce().Pop().Raw(0x8c, 4).Raw([]byte("timm")...).Raw(0x8c, 3).Raw([]byte("Mlp")...).Raw(0x93).EmptyTuple().NewObj().Stop().Bytes()
	tr, err := Run(t.Context(), strings.NewReader(string(data)), int64(len(data)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	fs := New(DefaultPolicy().WithExplain()).Findings(tr, finding.Location{Path: "x.pkl"})
	want := []string{
		"calls functools.partial: allowed by allow functools:partial",
		"calls torch.nn.modules.normalization.LayerNorm (through functools.partial): allowed by allow torch.nn.modules.**:[A-Z]*",
		"instantiates timm.Mlp: allowed by library timm",
	}
	var got []string
	for _, f := range fs {
		if f.Rule != finding.PickleGlobal || f.Severity != finding.Info {
			t.Errorf("unexpected %s %s", f.Rule, f.Message)
		}
		got = append(got, f.Message)
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || strings.Contains(g, w)
		}
		if !found {
			t.Errorf("no explanation %q in %q", w, got)
		}
	}
}

// TestHelperPastMaxEvents checks that past the events kept per stream, a
// helper's call with a callable not seen before is still kept and judged:
// a thousand benign partials do not hide a partial of an unknown function.
func TestHelperPastMaxEvents(t *testing.T) {
	p := tu.NewPickle(4)
	for range 50 {
		p.StackGlobal("functools", "partial").StackGlobal("torch.nn.modules.normalization", "LayerNorm").Tuple1().Reduce().Pop()
	}
	data := p.StackGlobal("functools", "partial").StackGlobal("evilpkg", "gadget").Tuple1().Reduce().Stop().Bytes()
	tr, err := Run(t.Context(), strings.NewReader(string(data)), int64(len(data)), Options{MaxEvents: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range New(DefaultPolicy()).Findings(tr, finding.Location{Path: "x.pkl"}) {
		if f.Rule == finding.PickleUnknownCall && strings.Contains(f.Message, "evilpkg.gadget through functools.partial") {
			return
		}
	}
	t.Fatal("the partial of evilpkg.gadget past MaxEvents was not judged as a call")
}
