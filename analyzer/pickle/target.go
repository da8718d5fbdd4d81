package pickle

import (
	"strings"

	"github.com/violet-mlsecops/violet/finding"
)

// TargetKeys are the keys of a configuration mapping whose string value a
// framework imports and calls: Hydra's and OmegaConf's `_target_` (read by
// hydra.utils.instantiate), and `_target` of older NeMo configs.
var TargetKeys = map[string]bool{"_target_": true, "_target": true}

// Target is one `_target_` string of a dict that a pickle stream builds: a
// configuration (a checkpoint's hyper_parameters, a NeMo model's cfg) that
// the framework hands to hydra.utils.instantiate after loading.
type Target struct {
	// Key is the dict key ("_target_").
	Key string
	// Value is the dotted name, shortened past 200 bytes.
	Value string
	// Offset is the byte offset of the opcode that stored it.
	Offset int64
}

// maxTargets bounds the targets recorded per stream.
const maxTargets = 50

// TargetVerdict is the policy's verdict on a `_target_`.
type TargetVerdict struct {
	// Rule is "" when the target is allowed, else CONFIG-TARGET-DANGEROUS or
	// CONFIG-TARGET-UNKNOWN.
	Rule string
	// Name is the dotted name as judged.
	Name string
	// Why says what the callable does (a dangerous target), or why it is
	// not known.
	Why string
}

// JudgeTarget judges a `_target_` as the global that instantiation imports
// and calls: denied as the pickle policy denies it; allowed when an
// allowlist entry names it or when it is a class of a library Violet knows
// (built from the configuration's values, as a pickle rebuilds one);
// unknown otherwise, including a name that is not a dotted path.
func (p *Policy) JudgeTarget(dotted string) TargetVerdict {
	dotted = strings.TrimSpace(dotted)
	i := strings.LastIndexByte(dotted, '.')
	if i <= 0 || i == len(dotted)-1 {
		return TargetVerdict{Rule: finding.ConfigTargetUnknown, Name: dotted, Why: "not a dotted module path: Hydra resolves it at instantiation"}
	}
	module, name := dotted[:i], dotted[i+1:]
	v := p.Judge(module, name)
	switch {
	case v.Allowed():
		return TargetVerdict{Name: v.Name}
	case v.Rule != finding.PickleUnknownCall:
		return TargetVerdict{Rule: finding.ConfigTargetDangerous, Name: v.Name, Why: v.Why}
	}
	if _, ok := p.Library(module, name); ok && classLike(name) {
		return TargetVerdict{Name: v.Name}
	}
	return TargetVerdict{Rule: finding.ConfigTargetUnknown, Name: v.Name, Why: "not on the allowlist nor a class of a library Violet knows"}
}

// noteTargets records the `_target_` strings among dict pairs (key, value,
// key...).
func (m *vm) noteTargets(off int64, items []value) {
	for j := 0; j+1 < len(items); j += 2 {
		k, v := items[j], items[j+1]
		if k.k != kStr || !TargetKeys[k.s] || len(m.st.Targets) >= maxTargets {
			continue
		}
		s := v.s
		switch {
		case v.k == kObject && m.nodeVals[v.p] != "":
			s = m.nodeVals[v.p] // an omegaconf node holding the name
		case v.k != kStr:
			continue
		}
		if len(s) > 200 {
			s = s[:200] + "…"
		}
		m.st.Targets = append(m.st.Targets, Target{Key: k.s, Value: s, Offset: off})
	}
}

// maxNodeVals bounds the configuration node values remembered per file.
const maxNodeVals = 10_000

// noteNodeValue remembers the string an omegaconf node holds (a DictConfig
// pickles each value as a node whose state has it under "_val"), so that
// a `_target_` stored as a node is judged like a plain string.
func (m *vm) noteNodeValue(inst, state value) {
	if inst.k != kObject || state.k != kDict || len(m.nodeVals) >= maxNodeVals {
		return
	}
	g, ok := origin(inst.p)
	if !ok || !strings.HasPrefix(g.resolved, "omegaconf.") {
		return
	}
	items := state.p.items
	for j := 0; j+1 < len(items); j += 2 {
		if k, v := items[j], items[j+1]; k.k == kStr && k.s == "_val" && v.k == kStr && strings.Contains(v.s, ".") {
			if m.nodeVals == nil {
				m.nodeVals = map[*object]string{}
			}
			m.nodeVals[inst.p] = v.s
			return
		}
	}
}
