package hydra

import (
	"context"
	"testing"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/finding"
)

type collect struct{ fs []finding.Finding }

func (c *collect) Report(f finding.Finding)                      { c.fs = append(c.fs, f) }
func (c *collect) Member(context.Context, analyzer.Member) error { return nil }
func (c *collect) Format(string)                                 {}

func run(t *testing.T, name, data string) []finding.Finding {
	t.Helper()
	a := New(pickle.DefaultPolicy())
	in := analyzer.NewBytesInput(name, []byte(data))
	if !a.Sniff(in) {
		t.Fatalf("%s not claimed", name)
	}
	c := &collect{}
	if err := a.Analyze(context.Background(), in, c); err != nil {
		t.Fatal(err)
	}
	return c.fs
}

func TestTargets(t *testing.T) {
	cases := []struct {
		name, file, data, rule string
	}{
		{"NeMo model config", "model_config.yaml", "target: nemo.collections.asr.models.EncDecCTCModel\noptim:\n  _target_: torch.optim.AdamW\n  lr: 0.001\nencoder:\n  _target_: nemo.collections.asr.modules.ConformerEncoder\n", ""},
		{"os.system in YAML", "model_config.yaml", "preprocessor:\n  _target_: os.system\n  command: id\n", finding.ConfigTargetDangerous},
		{"builtins.eval nested in a list", "config.yaml", "layers:\n  - _target_: torch.nn.Linear\n  - _target_: builtins.eval\n    _args_: ['1']\n", finding.ConfigTargetDangerous},
		{"subprocess in JSON", "config.json", `{"model": {"_target_": "subprocess.Popen", "args": ["id"]}}`, finding.ConfigTargetDangerous},
		{"hydra.utils.call", "config.yaml", "x:\n  _target_: hydra.utils.call\n", finding.ConfigTargetDangerous},
		{"unknown function", "config.yaml", "x:\n  _target_: evilpkg.run_me\n", finding.ConfigTargetUnknown},
		{"unknown class", "config.yaml", "x:\n  _target_: evilpkg.Gadget\n", finding.ConfigTargetUnknown},
		{"library function", "config.yaml", "x:\n  _target_: timm.create_model\n", finding.ConfigTargetUnknown},
		{"alias bomb", "config.yaml", "a: &a [_target_, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nd:\n  _target_: torch.nn.ReLU\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := run(t, c.file, c.data)
			if c.rule == "" {
				if len(fs) != 0 {
					t.Fatalf("want a pass, got %v", fs)
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

func FuzzConfig(f *testing.F) {
	f.Add("x:\n  _target_: os.system\n")
	f.Add(`{"_target_": "torch.nn.ReLU", "a": [{"_target_": "x.y"}]}`)
	f.Add("a: &a [1]\nb: [*a, *a]\n_target_: a.b\n")
	a := New(pickle.DefaultPolicy())
	f.Fuzz(func(t *testing.T, data string) {
		for _, name := range []string{"c.yaml", "c.json"} {
			in := analyzer.NewBytesInput(name, []byte(data))
			if a.Sniff(in) {
				if err := a.Analyze(context.Background(), in, &collect{}); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}
