// Package hydra judges the classes and functions that configuration files
// make frameworks instantiate: Hydra's and OmegaConf's `_target_` (NeMo's
// model_config.yaml inside .nemo archives, the config.json of model
// repositories, training and checkpoint configs). hydra.utils.instantiate
// imports the dotted name and calls it with the rest of the mapping as
// arguments, so a `_target_` is a global, judged by the pickle policy.
package hydra

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/finding"
)

// Name is the analyzer's name.
const Name = "hydra-config"

// Version changes whenever the analyzer's verdicts may change.
const Version = "1"

const (
	// MaxConfig is the largest configuration file read.
	MaxConfig = 8 << 20
	// maxDepth bounds the nesting walked.
	maxDepth = 64
	// maxTargets bounds the targets reported per file.
	maxTargets = 50
)

// Analyzer finds `_target_` entries in YAML and JSON configuration files.
type Analyzer struct {
	policy *pickle.Policy
}

// New returns the analyzer, judging targets with policy.
func New(policy *pickle.Policy) *Analyzer { return &Analyzer{policy: policy} }

// Name is "hydra-config".
func (*Analyzer) Name() string { return Name }

// Version is the analyzer's version.
func (*Analyzer) Version() string { return Version }

// ConfigDigest is the digest of the policy (analyzer.Configured).
func (a *Analyzer) ConfigDigest() string { return a.policy.Digest() }

// DelegateVersions names the pickle analyzer, whose policy judges the
// targets (analyzer.Delegating).
func (*Analyzer) DelegateVersions() []string { return []string{pickle.Name + "/" + pickle.Version} }

// Sniff claims YAML and JSON files whose head names a `_target_`.
func (*Analyzer) Sniff(in *analyzer.Input) bool {
	name := strings.ToLower(in.Name)
	if !strings.HasSuffix(name, ".yaml") && !strings.HasSuffix(name, ".yml") && !strings.HasSuffix(name, ".json") {
		return false
	}
	return bytes.Contains(in.Head, []byte("_target")) || in.Size > int64(len(in.Head)) && in.Size <= MaxConfig
}

// Analyze walks the configuration and judges every target.
func (a *Analyzer) Analyze(ctx context.Context, in *analyzer.Input, out analyzer.Output) error {
	rc, err := in.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, MaxConfig+1))
	if err != nil {
		return err
	}
	rep := analyzer.Reporter{Out: out, In: in}
	if len(data) > MaxConfig {
		if bytes.Contains(data, []byte("_target")) {
			rep.Report(finding.FormatMalformed, -1, fmt.Sprintf("The configuration file is larger than %d bytes; its _target_ entries were not checked.", MaxConfig), "")
		}
		return nil
	}
	if !bytes.Contains(data, []byte("_target")) {
		return nil
	}
	var targets []target
	if strings.HasSuffix(strings.ToLower(in.Name), ".json") {
		var v any
		dec := json.NewDecoder(bytes.NewReader(data))
		if dec.Decode(&v) != nil {
			return nil // not JSON: another analyzer's business
		}
		walkJSON(v, "", 0, &targets)
	} else {
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			rep.Report(finding.FormatMalformed, -1, "The YAML configuration could not be parsed ("+clip(err.Error())+"); its _target_ entries were not checked.", "")
			return nil
		}
		walkYAML(&doc, "", 0, &targets)
	}
	out.Format(Name)
	for i, t := range targets {
		if i == maxTargets {
			rep.Report(finding.ConfigTargetUnknown, -1, fmt.Sprintf("%d more _target_ entries were not listed.", len(targets)-maxTargets), "")
			break
		}
		a.judge(rep, t)
	}
	return nil
}

// target is one `_target_` value and where it is.
type target struct {
	path, value string
	line        int
}

func (a *Analyzer) judge(rep analyzer.Reporter, t target) {
	where := t.path
	if t.line > 0 {
		where = fmt.Sprintf("%s (line %d)", t.path, t.line)
	}
	v := a.policy.JudgeTarget(t.value)
	switch v.Rule {
	case "":
	case finding.ConfigTargetDangerous:
		rep.Report(v.Rule, -1, fmt.Sprintf("The configuration's %s makes the framework call %s, which %s (hydra.utils.instantiate imports and calls it when the model is built).", where, clip(v.Name), v.Why), clip(t.value))
	default:
		rep.Report(v.Rule, -1, fmt.Sprintf("The configuration's %s makes the framework call %s, which is %s.", where, clip(v.Name), v.Why), clip(t.value))
	}
}

func walkJSON(v any, path string, depth int, out *[]target) {
	if depth > maxDepth {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			p := path + "." + k
			if s, ok := val.(string); ok && pickle.TargetKeys[k] {
				*out = append(*out, target{path: strings.TrimPrefix(p, "."), value: s})
				continue
			}
			walkJSON(val, p, depth+1, out)
		}
	case []any:
		for i, val := range x {
			walkJSON(val, fmt.Sprintf("%s[%d]", path, i), depth+1, out)
		}
	}
}

// walkYAML walks the document without following aliases (their anchors are
// walked where they are defined), so that no alias expansion can grow it.
func walkYAML(n *yaml.Node, path string, depth int, out *[]target) {
	if n == nil || depth > maxDepth {
		return
	}
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, c := range n.Content {
			p := path
			if n.Kind == yaml.SequenceNode {
				p = fmt.Sprintf("%s[%d]", path, i)
			}
			walkYAML(c, p, depth+1, out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			p := strings.TrimPrefix(path+"."+k.Value, ".")
			if pickle.TargetKeys[k.Value] && val.Kind == yaml.ScalarNode {
				*out = append(*out, target{path: p, value: val.Value, line: val.Line})
				continue
			}
			walkYAML(val, p, depth+1, out)
		}
	}
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
