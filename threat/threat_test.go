package threat

import (
	"context"
	"crypto/sha256"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/internal/atlas"
	"github.com/violet-mlsecops/violet/store"
)

// TestRules: every technique of the table is in ATLAS, once per signal,
// every control is a Violet control, every mitigation it names by id is an
// ATLAS mitigation, and the threats pass the store's checks.
func TestRules(t *testing.T) {
	signals := map[Signal]bool{}
	for _, r := range Rules {
		if signals[r.Signal] {
			t.Errorf("signal %s has two rules", r.Signal)
		}
		signals[r.Signal] = true
		if len(r.Threats) == 0 {
			t.Errorf("signal %s brings no threat", r.Signal)
		}
		for _, th := range r.Threats {
			if _, ok := atlas.Technique(th.Technique); !ok {
				t.Errorf("%s: %s is not an ATLAS technique", r.Signal, th.Technique)
			}
			for _, c := range th.Controls {
				if err := store.CheckControl(c); err != nil {
					t.Errorf("%s %s: %v", r.Signal, th.Technique, err)
				}
			}
			for _, w := range strings.Fields(th.Mitigations) {
				if strings.HasPrefix(w, "AML.M") {
					if _, ok := atlas.Mitigation(w); !ok {
						t.Errorf("%s %s: mitigation %s is not in ATLAS", r.Signal, th.Technique, w)
					}
				}
			}
			if th.Why == "" || th.Mitigations == "" || !slices.Contains(store.ResidualLevels(), th.Residual) {
				t.Errorf("%s %s: incomplete %+v", r.Signal, th.Technique, th)
			}
		}
	}
	for _, s := range []Signal{SignalPickle, SignalChat, SignalTrainedOnData} {
		if !signals[s] {
			t.Errorf("signal %s has no rule", s)
		}
	}
}

var actor = store.Actor{Name: "test"}

// model makes a model with one version of files.
func model(t *testing.T, st *store.Store, team store.Team, name string, files ...string) store.Version {
	t.Helper()
	ctx := context.Background()
	m, err := st.CreateModel(ctx, actor, store.Model{TeamID: team.ID, Name: name, SourceKind: store.SourcePath, SourceRef: "/m/" + name})
	if err != nil {
		t.Fatal(err)
	}
	var fs []store.File
	for _, f := range files {
		fs = append(fs, store.File{Path: f, SHA256: strings.Repeat("a", 64), Size: 1})
	}
	v, _, err := st.PutVersion(ctx, actor, m.ID, "sha256:"+fmt.Sprintf("%x", sha256.Sum256([]byte(name))), "v1", fs)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func signalsOf(t *testing.T, st *store.Store, v store.Version) []Signal {
	t.Helper()
	found, err := Signals(context.Background(), st, v.ModelID)
	if err != nil {
		t.Fatal(err)
	}
	var out []Signal
	for _, f := range found {
		if f.Because == "" {
			t.Errorf("%s: no reason", f.Signal)
		}
		out = append(out, f.Signal)
	}
	return out
}

// TestSignals: the signals come from the newest version's files, its
// BOM's task and its lineage; a safetensors model with no BOM shows none.
func TestSignals(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	team, err := st.CreateTeam(ctx, actor, "t")
	if err != nil {
		t.Fatal(err)
	}
	plain := model(t, st, team, "plain", "model.safetensors", "config.json")
	if got := signalsOf(t, st, plain); len(got) != 0 {
		t.Errorf("a safetensors model: %v", got)
	}
	pickle := model(t, st, team, "pickle", "sub/Model.PT", "config.json")
	if got := signalsOf(t, st, pickle); !reflect.DeepEqual(got, []Signal{SignalPickle}) {
		t.Errorf("a PyTorch checkpoint: %v", got)
	}
	chat := model(t, st, team, "chatty", "model.safetensors", "chat_template.jinja")
	if got := signalsOf(t, st, chat); !reflect.DeepEqual(got, []Signal{SignalChat}) {
		t.Errorf("a chat template: %v", got)
	}
	tuned := model(t, st, team, "tuned-model", "adapter.safetensors")
	bom := `{"bomFormat":"CycloneDX","metadata":{"component":{"type":"machine-learning-model","name":"x",` +
		`"modelCard":{"modelParameters":{"task":"Text-Generation"}}}}}`
	if _, _, err := st.AddBOMEvidence(ctx, actor, tuned.ID, []byte(bom), []store.LineageLink{
		{Kind: store.LineageDataset, Relation: "training", Name: "org/support-tickets"}}); err != nil {
		t.Fatal(err)
	}
	if got := signalsOf(t, st, tuned); !reflect.DeepEqual(got, []Signal{SignalChat, SignalTrainedOnData}) {
		t.Errorf("a text-generation fine-tune: %v", got)
	}
	// An evaluation dataset and a base model are no training signal.
	eval := model(t, st, team, "eval-only-model", "model.safetensors")
	if _, _, err := st.AddBOMEvidence(ctx, actor, eval.ID, []byte(`{"bomFormat":"CycloneDX"}`), []store.LineageLink{
		{Kind: store.LineageDataset, Relation: "evaluation", Name: "org/bench"},
		{Kind: store.LineageModel, Relation: "base", Name: "org/base"}}); err != nil {
		t.Fatal(err)
	}
	if got := signalsOf(t, st, eval); len(got) != 0 {
		t.Errorf("evaluation only: %v", got)
	}
}

// TestPrefill: the threats the team edited stay as they are; the missing
// ones are added once, with what showed their signal; the result is a
// threat model the store takes.
func TestPrefill(t *testing.T) {
	edited := store.Threat{Technique: "AML.T0051", Why: "our words", Controls: []string{"scan"}, Residual: store.ResidualLow}
	tm := store.ThreatModel{ModelID: 1, Assets: "a", Threats: []store.Threat{edited}}
	found := []Found{{SignalChat, "chat_template.jinja is a chat template"}, {SignalPickle, "the scan found PICKLE-GLOBAL"}}
	out, added := Prefill(tm, found)
	if !reflect.DeepEqual(added, []string{"AML.T0057", "AML.T0010.003", "AML.T0011.000"}) {
		t.Fatalf("added %v", added)
	}
	if !reflect.DeepEqual(out.Threats[0], edited) || len(tm.Threats) != 1 {
		t.Errorf("the edited threat changed: %+v (input now %+v)", out.Threats[0], tm.Threats)
	}
	if !strings.Contains(out.Threats[1].Why, "chat_template.jinja is a chat template") {
		t.Errorf("why %q", out.Threats[1].Why)
	}
	again, added := Prefill(out, found)
	if len(added) != 0 || !reflect.DeepEqual(again, out) {
		t.Errorf("a second pre-fill added %v", added)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	team, _ := st.CreateTeam(ctx, actor, "t")
	v := model(t, st, team, "m", "model.pkl")
	out.ModelID = v.ModelID
	if _, err := st.PutThreatModel(ctx, actor, out); err != nil {
		t.Fatalf("the store refuses the pre-filled threat model: %v", err)
	}
}
