package webui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/store"
)

// docsImage saves what the window shows (1280×1000) for docs/team.md as
// docs/images/risks-NAME.png, only when VIOLET_DOCS_SCREENSHOTS is set.
func docsImage(t *testing.T, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if os.Getenv("VIOLET_DOCS_SCREENSHOTS") == "" {
			return nil
		}
		png, err := chromedp.CaptureScreenshot()(ctx, tg)
		if err != nil {
			return err
		}
		path := filepath.Join("..", "docs", "images", "risks-"+name+".png")
		t.Logf("docs image %s", path)
		return os.WriteFile(path, png, 0o644)
	})
}

// TestBrowserRisks drives the risk register and a threat model in
// headless Chromium with three roles: legal-compliance adds a privacy risk
// on a model and sees it in the register beside an overdue one; security
// pre-fills the model's threat model from the inventory (a pickle
// checkpoint with a PICKLE finding), edits it and adds prompt injection; a
// viewer sees both without a form.
func TestBrowserRisks(t *testing.T) {
	ctx := browser(t)
	w := newWorld(t)
	// A team whose pages read well in docs/team.md: a credit scorer
	// shipped as a pickle, with the scan's finding. (TestRiskPages checks
	// the escaping of texts.)
	bg := context.Background()
	team := must[store.Team](t)(w.st.CreateTeam(bg, admin, "credit"))
	lena, sam, vic := w.addUser(t, "lena", team, store.RoleLegalCompliance), w.addUser(t, "sam", team, store.RoleSecurity),
		w.addUser(t, "vic", team, store.RoleViewer)
	model := must[store.Model](t)(w.st.CreateModel(bg, admin, store.Model{TeamID: team.ID, Name: "credit-scorer",
		SourceKind: store.SourceHuggingFace, SourceRef: "acme/credit-scorer"}))
	v, _, err := w.st.PutVersion(bg, admin, model.ID, "sha256:"+sha("credit-scorer"), "v3", []store.File{
		{Path: "model.pkl", SHA256: w.fileSHA, Size: 10}, {Path: "config.json", SHA256: sha("config"), Size: 2}})
	if err != nil {
		t.Fatal(err)
	}
	ev, _, err := w.st.AddEvidence(bg, admin, v.ID, store.EvidenceScan, scanReport(t, finding.Critical, "calls os.system"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.st.RecordFindings(bg, admin, v.ID, ev.ID, []store.FindingInput{{Rule: "PICKLE-EXEC",
		FileSHA256: w.fileSHA, Location: "model.pkl@3", Severity: finding.Critical, Message: "calls os.system"}}); err != nil {
		t.Fatal(err)
	}
	must[store.Risk](t)(w.st.CreateRisk(bg, admin, store.Risk{TeamID: team.ID,
		Category: store.RiskEthicsBias, Title: "Credit scores differ by postcode", OwnerRole: store.RoleSME,
		Likelihood: 3, Impact: 4, Treatment: store.TreatMitigate, Plan: "quarterly fairness review by group",
		ReviewBy: time.Now().AddDate(0, 0, -5), Status: store.RiskInTreatment}))
	srv := w.server(t, Options{})
	dir := artifacts(t)
	title := "Lakehouse joins scores with addresses"
	tp := fmt.Sprintf("/models/%d/threats", model.ID)
	var status, register, overdue, threats, bobRisks, bobThreats, bobForms, scripts string
	err = chromedp.Do(ctx,
		// Legal and compliance adds a privacy risk.
		signIn(srv.URL, lena),
		chromedp.Click(chromedp.CSS(`nav a[href="/risks"]`)),
		chromedp.WaitVisible(chromedp.ID("#add-risk")),
		chromedp.Click(chromedp.ID("#add-risk")),
		chromedp.WaitVisible(chromedp.ID("#title")),
		chromedp.SendKeys(chromedp.ID("#title"), title),
		chromedp.SetValue(chromedp.ID("#category"), "privacy"),
		chromedp.SetValue(chromedp.ID("#model"), fmt.Sprint(model.ID)),
		chromedp.SendKeys(chromedp.ID("#description"), "A lakehouse query joining the scores with customer addresses re-identifies people. "+xss),
		chromedp.SetValue(chromedp.ID("#owner_role"), "legal-compliance"),
		chromedp.SetValue(chromedp.ID("#likelihood"), "3"),
		chromedp.SetValue(chromedp.ID("#impact"), "5"),
		chromedp.SetValue(chromedp.ID("#treatment"), "mitigate"),
		chromedp.SendKeys(chromedp.ID("#plan"), "Publish scores by region only; DPIA before any new join."),
		screenshot(t, dir, "1-new-risk"),
		chromedp.Click(chromedp.ID("#save-risk")),
		chromedp.WaitVisible(chromedp.CSS("dl#risk")),
		into(&status, chromedp.Text(chromedp.ID("#status"))),
		chromedp.Navigate(srv.URL+"/risks"),
		chromedp.WaitVisible(chromedp.CSS("table#risks")),
		into(&register, chromedp.Text(chromedp.CSS("table#risks"))),
		into(&overdue, chromedp.Text(chromedp.CSS("tr.overdue"))),
		screenshot(t, dir, "2-register"),
		docsImage(t, "register"),
		chromedp.Click(chromedp.ID("#logout")),
		chromedp.WaitVisible(chromedp.ID("#username")),

		// Security pre-fills the threat model, then edits it.
		signIn(srv.URL, sam),
		chromedp.Navigate(fmt.Sprintf("%s/models/%d", srv.URL, model.ID)),
		chromedp.WaitVisible(chromedp.ID("#threat-model")),
		chromedp.Click(chromedp.ID("#threat-model")),
		chromedp.WaitVisible(chromedp.ID("#prefill")),
		chromedp.Click(chromedp.ID("#prefill")),
		chromedp.WaitVisible(chromedp.ID("#prefilled")),
		screenshot(t, dir, "3-prefilled"),
		chromedp.SendKeys(chromedp.ID("#assets"), "The scoring weights; the customers' scores."),
		chromedp.SendKeys(chromedp.ID("#entry_points"), "The model hub mirror; the nightly batch job that loads the checkpoint."),
		chromedp.SetValue(chromedp.ID("#mitigations-0"), "Only signed checkpoints load (violet verify in CI); scanned on every upload."),
		chromedp.SetValue(chromedp.ID("#residual-0"), "medium"),
		chromedp.SendKeys(chromedp.ID("#technique-2"), "AML.T0051"),
		chromedp.SendKeys(chromedp.ID("#why-2"), "Support agents paste customer e-mails into the prompt."),
		chromedp.SendKeys(chromedp.ID("#controls-2"), "TEMPLATE-INJECTION"),
		chromedp.SetValue(chromedp.ID("#residual-2"), "high"),
		chromedp.Click(chromedp.ID("#save-threats")),
		chromedp.WaitVisible(chromedp.ID("#threat-2")),
		into(&threats, chromedp.Text(chromedp.ID("#threat-form"))),
		screenshot(t, dir, "4-threat-model"),
		docsImage(t, "threat-model"),
		chromedp.Click(chromedp.ID("#logout")),
		chromedp.WaitVisible(chromedp.ID("#username")),

		// A viewer sees both, with no form.
		signIn(srv.URL, vic),
		chromedp.Navigate(srv.URL+"/risks"),
		chromedp.WaitVisible(chromedp.CSS("table#risks")),
		into(&bobRisks, chromedp.Text(chromedp.CSS("table#risks"))),
		chromedp.Navigate(srv.URL+tp),
		chromedp.WaitVisible(chromedp.CSS("table#threats")),
		into(&bobThreats, chromedp.Text(chromedp.CSS("table#threats"))),
		into(&bobForms, chromedp.Evaluate[string](`String(document.querySelectorAll("#threat-form, #prefill, #add-risk, #risk-form").length)`)),
		into(&scripts, chromedp.Evaluate[string](`String(document.querySelectorAll("script").length)`)),
		screenshot(t, dir, "5-viewer"),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if status != "open" || !strings.Contains(register, title) || !strings.Contains(register, "3 × 5 = 15") {
		t.Errorf("status %q, register %q: want the new risk, shown as text", status, register)
	}
	if !strings.Contains(overdue, "Credit scores differ by postcode") || !strings.Contains(overdue, "overdue") {
		t.Errorf("the overdue row %q", overdue)
	}
	if !strings.Contains(threats, "AML.T0010.003") || !strings.Contains(threats, "AML.T0011.000") || !strings.Contains(threats, "LLM Prompt Injection") {
		t.Errorf("threat model form %q", threats)
	}
	if !strings.Contains(bobRisks, title) || !strings.Contains(bobThreats, "LLM Prompt Injection") || bobForms != "0" || scripts != "0" {
		t.Errorf("the viewer: register %q, threats %q, %s forms, %s scripts", bobRisks, bobThreats, bobForms, scripts)
	}
	risks := must[[]store.Risk](t)(w.st.Risks(bg, team.ID))
	if len(risks) != 2 || risks[1].Title != title || risks[1].CreatedBy != lena || risks[1].ModelID != model.ID ||
		risks[1].Category != store.RiskPrivacy || risks[1].Score() != 15 {
		t.Fatalf("stored risks %+v", risks)
	}
	tm := must[store.ThreatModel](t)(w.st.ThreatModel(bg, model.ID))
	if len(tm.Threats) != 3 || !strings.HasPrefix(tm.Assets, "The scoring weights") || tm.Threats[0].Residual != store.ResidualMedium || !strings.Contains(tm.Threats[0].Mitigations, "signed") ||
		tm.Threats[2].Technique != "AML.T0051" || tm.Threats[2].Controls[0] != "TEMPLATE-INJECTION" || tm.UpdatedBy != sam {
		t.Fatalf("stored threat model %+v", tm)
	}
}
