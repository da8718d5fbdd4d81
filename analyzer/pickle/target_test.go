package pickle

import (
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/finding"
)

// TestTargets checks that a `_target_` string stored in a dict that a pickle
// builds (a checkpoint's hyper_parameters) is judged as the global that
// hydra.utils.instantiate would import and call, however it is stored.
func TestTargets(t *testing.T) {
	str := func(s string) string { return "X" + string([]byte{byte(len(s)), 0, 0, 0}) + s }
	node := func(v string) string {
		// omegaconf.nodes.AnyNode() with the state {'_val': v}, as a
		// DictConfig pickles its values.
		return "comegaconf.nodes\nAnyNode\n)\x81}" + str("_val") + str(v) + "sb"
	}
	cases := []struct {
		name, data string
		want       string // the rule, or "" for none
	}{
		{"dict SETITEM", "\x80\x02}" + str("_target_") + str("posix.system") + "s.", finding.ConfigTargetDangerous},
		{"dict DICT", "\x80\x02(" + str("_target") + str("subprocess.run") + "d.", finding.ConfigTargetDangerous},
		{"nested SETITEMS", "\x80\x02}" + str("hyper_parameters") + "}(" + str("lr") + "G?\xb9\x99\x99\x99\x99\x99\x9a" + str("_target_") + str("builtins.exec") + "us.", finding.ConfigTargetDangerous},
		{"OrderedDict", "\x80\x02ccollections\nOrderedDict\n)R" + str("_target_") + str("os.system") + "s.", finding.ConfigTargetDangerous},
		{"DictConfig node", "\x80\x02}" + str("_target_") + node("os.system") + "s.", finding.ConfigTargetDangerous},
		{"unknown function", "\x80\x02}" + str("_target_") + str("mypkg.build_model") + "s.", finding.ConfigTargetUnknown},
		{"library class", "\x80\x02}" + str("_target_") + str("torch.optim.AdamW") + "s.", ""},
		{"not a target key", "\x80\x02}" + str("target") + str("posix.system") + "s.", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, f := range scanBytes(t, []byte(c.data)) {
				got = append(got, f.Rule)
				if f.Rule == c.want && !strings.Contains(f.Message, "instantiate") {
					t.Errorf("the finding does not say who calls it: %s", f.Message)
				}
			}
			joined := strings.Join(got, " ")
			if c.want == "" && (strings.Contains(joined, "CONFIG-TARGET") || strings.Contains(joined, "MALFORMED")) || c.want != "" && !strings.Contains(joined, c.want) {
				t.Errorf("rules %v, want %q", got, c.want)
			}
		})
	}
}
