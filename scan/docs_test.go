package scan

import (
	"bytes"
	"errors"
	"flag"
	"io/fs"
	"os"
	"testing"

	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/finding"
)

var update = flag.Bool("update", false, "rewrite docs/rules.md from the rule catalogue and the pickle policy")

const rulesDoc = "../docs/rules.md"

// TestRulesDocUpToDate checks that docs/rules.md is what the rule catalogue
// and the pickle policy's tables write.
func TestRulesDocUpToDate(t *testing.T) {
	var buf bytes.Buffer
	if err := finding.WriteRulesMarkdown(&buf, pickle.PolicySections()...); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(rulesDoc, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(rulesDoc)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	if !bytes.Equal(got, buf.Bytes()) {
		t.Errorf("%s is not up to date: run go test ./scan -run TestRulesDoc -update", rulesDoc)
	}
}
