// Package threat pre-fills a model's threat model from what the inventory
// of violet serve knows about it: its newest version's files, findings,
// ML-BOM and lineage give signals (a pickle checkpoint, a chat model, a
// model trained or fine-tuned on data), and a table of rules turns each
// signal into the MITRE ATLAS techniques it brings, with the mitigations
// to consider and the Violet controls that give evidence for them. The
// team then edits the result; the store keeps it (store.PutThreatModel).
package threat

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/violet-mlsecops/violet/store"
)

// Signal is something known about a model that brings threats.
type Signal string

// The signals.
const (
	// SignalPickle: the model holds pickle-format files, or its scan found
	// PICKLE-* rules. Loading it can run code.
	SignalPickle Signal = "pickle"
	// SignalChat: a chat or text-generation model (its BOM's task, a chat
	// template among its files, a TEMPLATE-* finding). It takes prompts.
	SignalChat Signal = "chat"
	// SignalTrainedOnData: its BOM names a training dataset, or it is a
	// fine-tune or adapter of a base model. What it learnt can be poisoned
	// or leak back out.
	SignalTrainedOnData Signal = "trained-on-data"
)

// Rule is what a signal brings: the techniques, each as a threat with the
// reason it applies, the mitigations to consider, the controls whose
// evidence shows them, and the residual risk to start from.
type Rule struct {
	Signal  Signal
	Threats []store.Threat
}

// Rules is the pre-fill table. Every technique is checked against ATLAS
// and every control against Violet's rules (TestRules).
var Rules = []Rule{
	{SignalPickle, []store.Threat{
		{Technique: "AML.T0010.003", Why: "The model ships as pickle: a tampered checkpoint from the hub or a mirror runs the attacker's code when it is loaded.",
			Mitigations: "AML.M0014 Verify AI Artifacts: pin the digest and verify its signature before loading. AML.M0016 Vulnerability Scanning: scan every version in CI. Prefer safetensors.",
			Controls:    []string{"scan", "verify", "PICKLE-CODE-EXEC", "PICKLE-PROCESS", "PICKLE-UNKNOWN-GLOBAL-CALL"}, Residual: store.ResidualHigh},
		{Technique: "AML.T0011.000", Why: "Someone who loads the checkpoint (a notebook, a serving job) executes whatever the pickle calls.",
			Mitigations: "AML.M0011 Restrict Library Loading: load with weights_only or a safe loader, in a sandbox without credentials. AML.M0018 User Training.",
			Controls:    []string{"scan", "gate", "PICKLE-CODE-EXEC"}, Residual: store.ResidualHigh},
	}},
	{SignalChat, []store.Threat{
		{Technique: "AML.T0051", Why: "The model answers prompts from users and from documents it reads: crafted text can override its instructions.",
			Mitigations: "AML.M0020 Generative AI Guardrails on input and output. AML.M0021 Generative AI Guidelines in the system prompt. Keep tools and data behind least privilege.",
			Controls:    []string{"scan", "TEMPLATE-INJECTION", "TEMPLATE-SUSPICIOUS"}, Residual: store.ResidualHigh},
		{Technique: "AML.T0057", Why: "Its answers can repeat what it saw: the system prompt, retrieved documents, personal data of other users.",
			Mitigations: "AML.M0020 Generative AI Guardrails (filter personal data from output). AML.M0019 Control Access to AI Models and Data in Production.",
			Controls:    []string{"bom"}, Residual: store.ResidualMedium},
	}},
	{SignalTrainedOnData, []store.Threat{
		{Technique: "AML.T0020", Why: "It learnt from data that others could write to: poisoned records plant a backdoor or a bias.",
			Mitigations: "AML.M0007 Sanitize Training Data. AML.M0025 Maintain AI Dataset Provenance: record the datasets and their versions in the ML-BOM.",
			Controls:    []string{"bom"}, Residual: store.ResidualMedium},
		{Technique: "AML.T0024.000", Why: "It was trained on specific records, user data among them: its answers can tell whether a person's record was in the training set.",
			Mitigations: "AML.M0002 Passive AI Output Obfuscation (no raw confidence scores). AML.M0004 Restrict Number of AI Model Queries. Train with differential privacy where the data is personal.",
			Controls:    []string{"bom"}, Residual: store.ResidualMedium},
	}},
}

// Found is a signal found for a model, with what showed it.
type Found struct {
	Signal Signal
	// Because says what showed it ("model.pkl is a pickle-format file").
	Because string
}

// pickleExts are the extensions of pickle-format checkpoints (PyTorch's
// .bin and .pt are zip archives of pickles).
var pickleExts = []string{".pkl", ".pickle", ".pt", ".pth", ".ckpt", ".joblib", ".dill", ".bin"}

// chatTasks are the tasks (a BOM's modelParameters.task, Hugging Face's
// pipeline tags) of models that take prompts.
var chatTasks = []string{"text-generation", "conversational", "text2text-generation", "image-text-to-text", "chat"}

// chatFiles are the files that hold a chat template.
var chatFiles = []string{"chat_template.jinja", "chat_template.json"}

// Signals returns what the newest version of the model shows: from its
// files, its findings, its newest BOM (task) and its lineage. A model
// without versions shows nothing.
func Signals(ctx context.Context, st *store.Store, modelID int64) ([]Found, error) {
	versions, err := st.Versions(ctx, modelID)
	if err != nil || len(versions) == 0 {
		return nil, err
	}
	v := versions[len(versions)-1]
	found := map[Signal]string{}
	add := func(s Signal, because string) {
		if _, ok := found[s]; !ok {
			found[s] = because
		}
	}
	files, err := st.VersionFiles(ctx, v.ID)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		base := strings.ToLower(path.Base(f.Path))
		if slices.Contains(pickleExts, path.Ext(base)) {
			add(SignalPickle, fmt.Sprintf("%s is a pickle-format file", f.Path))
		}
		if slices.Contains(chatFiles, base) {
			add(SignalChat, fmt.Sprintf("%s is a chat template", f.Path))
		}
	}
	findings, err := st.VersionFindings(ctx, v.ID)
	if err != nil {
		return nil, err
	}
	for _, f := range findings {
		switch {
		case strings.HasPrefix(f.Rule, "PICKLE-"):
			add(SignalPickle, fmt.Sprintf("the scan found %s", f.Rule))
		case strings.HasPrefix(f.Rule, "TEMPLATE-"):
			add(SignalChat, fmt.Sprintf("the scan found %s in a chat template", f.Rule))
		}
	}
	if task, err := bomTask(ctx, st, v.ID); err != nil {
		return nil, err
	} else if slices.Contains(chatTasks, task) {
		add(SignalChat, fmt.Sprintf("its ML-BOM gives the task %s", task))
	}
	lineage, err := st.Lineage(ctx, v.ID)
	if err != nil {
		return nil, err
	}
	for _, l := range lineage {
		switch {
		case l.Kind == store.LineageDataset && l.Relation == "training":
			add(SignalTrainedOnData, fmt.Sprintf("its ML-BOM names the training dataset %s", l.Name))
		case l.Kind == store.LineageModel && (l.Relation == "finetune" || l.Relation == "adapter"):
			add(SignalTrainedOnData, fmt.Sprintf("it is a %s of %s", l.Relation, l.Name))
		}
	}
	var out []Found
	for _, r := range Rules {
		if because, ok := found[r.Signal]; ok {
			out = append(out, Found{r.Signal, because})
		}
	}
	return out, nil
}

// bomTask returns the task of the version's newest CycloneDX BOM
// (metadata.component.modelCard.modelParameters.task); "" without one. A
// report that is not such a BOM gives "".
func bomTask(ctx context.Context, st *store.Store, versionID int64) (string, error) {
	ev, err := st.ListEvidence(ctx, versionID, store.EvidenceBOM)
	if err != nil || len(ev) == 0 {
		return "", err
	}
	b, err := st.EvidenceReport(ctx, ev[len(ev)-1].ID)
	if err != nil {
		return "", err
	}
	var bom struct {
		Metadata struct {
			Component struct {
				ModelCard struct {
					ModelParameters struct {
						Task string `json:"task"`
					} `json:"modelParameters"`
				} `json:"modelCard"`
			} `json:"component"`
		} `json:"metadata"`
	}
	if json.Unmarshal(b, &bom) != nil {
		return "", nil
	}
	return strings.ToLower(bom.Metadata.Component.ModelCard.ModelParameters.Task), nil
}

// Prefill adds to tm the threats that the found signals bring and that
// it does not list yet, each with what showed its signal; the threats
// already there, as the team edited them, are kept as they are. It
// returns the threat model and the techniques it added.
func Prefill(tm store.ThreatModel, found []Found) (store.ThreatModel, []string) {
	out := tm
	out.Threats = slices.Clone(tm.Threats)
	var added []string
	for _, f := range found {
		for _, r := range Rules {
			if r.Signal != f.Signal {
				continue
			}
			for _, t := range r.Threats {
				if len(out.Threats) == store.MaxThreats ||
					slices.ContainsFunc(out.Threats, func(x store.Threat) bool { return x.Technique == t.Technique }) {
					continue
				}
				t.Why = fmt.Sprintf("%s (Pre-filled: %s.)", t.Why, f.Because)
				t.Controls = slices.Clone(t.Controls)
				out.Threats = append(out.Threats, t)
				added = append(added, t.Technique)
			}
		}
	}
	return out, added
}
