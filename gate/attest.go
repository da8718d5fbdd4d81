package gate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/scan"
	"github.com/violet-mlsecops/violet/sign"
)

// CheckAttestation verifies a scan attestation (bundle, as `violet scan
// --attest` writes it) of the model at modelPath with v: the signature,
// the predicate type sign.ScanPredicateType, then that its subjects are
// exactly the model's files as they are now, with the same SHA-256. The
// files are those a scan of modelPath reads, named as the scanner names
// them (report.AttestedName) and hashed by scan.Digests: no link is
// followed out of the folder, and a file the scan does not read (a link
// out of the folder, a placeholder never fetched) can be no subject, so it
// never matches. A file whose content is the bundle itself (an attestation
// written into the model folder) is not one of the model's files.
//
// Signer is set once the signature is trusted (sign.SignerName: the key
// hint, or the certificate's subject), and Counts once the predicate is
// read, even when the files differ: Verified is what says the counts are
// about this model.
func CheckAttestation(modelPath string, bundle []byte, v sign.Verifier) AttestationEvidence {
	files, err := listModelFiles(context.Background(), modelPath)
	if err != nil {
		return AttestationEvidence{Error: "listing the model's files: " + err.Error()}
	}
	ev, _ := checkAttestation(files, bundle, v, map[string]bool{digestOf(bundle): true})
	return ev
}

// checkAttestation verifies bundle against the model's files, leaving out
// those whose content digest is in skip, and returns the evidence and,
// when it verifies, its predicate.
func checkAttestation(files modelFiles, bundle []byte, v sign.Verifier, skip map[string]bool) (AttestationEvidence, *report.ScanAttestation) {
	var ev AttestationEvidence
	b, err := sign.ParseBundle(bundle)
	if err != nil {
		ev.Error = err.Error()
		return ev, nil
	}
	a, err := sign.VerifyAttestation(b, v, sign.ScanPredicateType)
	if err != nil {
		ev.Error = err.Error()
		return ev, nil
	}
	ev.Signer = a.Signer
	var pred report.ScanAttestation
	if err := json.Unmarshal(a.Predicate, &pred); err != nil {
		ev.Error = fmt.Sprintf("%v: the scan predicate: %v", sign.ErrPayload, err)
		return ev, nil
	}
	ev.Counts = pred.Summary.Findings
	claimed := make(map[string]string, len(a.Subjects))
	for _, s := range a.Subjects {
		claimed[s.Name] = s.SHA256
	}
	if diff := files.compare(claimed, skip); diff != "" {
		ev.Error = "the model's files are not the attested ones: " + diff
		return ev, nil
	}
	ev.Verified = true
	return ev, &pred
}

// digestOf is the hex SHA-256 of data.
func digestOf(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// modelFiles are the model's files as a scan of it lists them, by the
// name an attestation gives them.
type modelFiles map[string]scan.FileDigest

// listModelFiles lists and hashes the files of the model at path.
func listModelFiles(ctx context.Context, path string) (modelFiles, error) {
	digests, err := scan.Digests(ctx, path)
	if err != nil {
		return nil, err
	}
	files := make(modelFiles, len(digests))
	for _, d := range digests {
		name, err := report.AttestedName(path, d.Path)
		if err != nil {
			return nil, err
		}
		files[name] = d
	}
	return files, nil
}

// compare compares the files a piece of evidence names (their SHA-256 by
// name; "" when it does not say) with the model's files, and says how
// they differ: "" when they do not. A file of the model whose content
// digest is in skip (an evidence file written into the model folder) may
// be left out of the evidence.
func (m modelFiles) compare(claimed map[string]string, skip map[string]bool) string {
	var modified, added, missing, unread []string
	for name, digest := range claimed {
		f, ok := m[name]
		switch {
		case !ok:
			missing = append(missing, name)
		case f.NotRead != "":
			unread = append(unread, name+" ("+f.NotRead+")")
		case digest != "" && digest != f.SHA256:
			modified = append(modified, name)
		}
	}
	for name, f := range m {
		if _, ok := claimed[name]; !ok && !skip[f.SHA256] {
			added = append(added, name)
		}
	}
	var diffs []string
	for _, d := range []struct {
		what  string
		files []string
	}{{"modified", modified}, {"added", added}, {"missing", missing}, {"not hashed", unread}} {
		if len(d.files) > 0 {
			diffs = append(diffs, d.what+": "+listed(d.files))
		}
	}
	return strings.Join(diffs, "; ")
}

// attestedScan is the scan evidence of verified attestations: the findings
// their signed predicates hold, all of them (the predicate names each
// finding by rule, severity and place; its message is the rule's title).
func attestedScan(preds []*report.ScanAttestation) *ScanEvidence {
	ev := &ScanEvidence{Source: SourceAttestation, Findings: []Finding{}}
	for _, p := range preds {
		ev.Files = max(ev.Files, p.Summary.Files)
		ev.Incomplete = max(ev.Incomplete, p.Summary.Incomplete)
		for _, f := range p.Findings {
			rule, _ := finding.Lookup(f.Rule)
			message := rule.Title
			if message == "" {
				message = f.Rule
			}
			ev.Findings = append(ev.Findings, Finding{Rule: f.Rule, Severity: f.Severity,
				Path:    finding.Location{Path: f.Path, Member: f.Member, Offset: f.Offset}.String(),
				Message: message + " (attested)", Evidence: f.Evidence, Incomplete: rule.Incomplete})
		}
	}
	return ev
}

// findingKey identifies a finding of a scan predicate, to compare two
// scans of the same files.
func findingKey(f report.AttestedFinding) string {
	return strings.Join(append([]string{f.Rule, f.Severity, f.Path, fmt.Sprint(f.Offset)}, f.Member...), "\x00")
}

// disagreement says how the findings of a scan report differ from those of
// the verified attestations: "" when they are the same.
func disagreement(r *report.Report, preds []*report.ScanAttestation) string {
	p, err := report.ScanPredicate(r, 0)
	if err != nil {
		return err.Error()
	}
	count := map[string]int{}
	first := map[string]report.AttestedFinding{}
	for _, q := range preds {
		for _, f := range q.Findings {
			count[findingKey(f)]++
			first[findingKey(f)] = f
		}
	}
	for _, f := range p.Findings {
		count[findingKey(f)]--
		first[findingKey(f)] = f
	}
	var lacks, extra []string
	for k, n := range count {
		f := first[k]
		what := fmt.Sprintf("%s %s (%s)", finding.Location{Path: f.Path, Member: f.Member, Offset: f.Offset}, f.Rule, f.Severity)
		if n > 0 {
			lacks = append(lacks, what)
		} else if n < 0 {
			extra = append(extra, what)
		}
	}
	var out []string
	if len(lacks) > 0 {
		out = append(out, "it lacks findings of the attested scan: "+listed(lacks))
	}
	if len(extra) > 0 {
		out = append(out, "it has findings the attested scan does not: "+listed(extra))
	}
	return strings.Join(out, "; ")
}

// maxListed is how many names a message lists.
const maxListed = 10

// listed sorts names and joins the first maxListed of them, saying how
// many more there are.
func listed(names []string) string {
	sort.Strings(names)
	if len(names) <= maxListed {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:maxListed], ", "), len(names)-maxListed)
}
