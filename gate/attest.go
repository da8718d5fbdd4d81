package gate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/sign"
)

// CheckAttestation verifies a scan attestation (bundle, as `violet scan
// --attest` writes it) of the model at modelPath with v: the signature,
// the predicate type sign.ScanPredicateType, then that its subjects are
// exactly the model's files as they are now, with the same SHA-256. The
// files are named as the scanner names them (report.AttestedName): every
// regular file under a folder, and the regular files symbolic links lead
// to, except in .git, .hg and .svn folders; a single file by its base
// name. A file whose content is the bundle itself (an attestation written
// into the model folder) is not one of the model's files.
//
// Signer is set once the signature is trusted (sign.SignerName: the key
// hint, or the certificate's subject), and Counts once the predicate is
// read, even when the files differ: Verified is what says the counts are
// about this model.
func CheckAttestation(modelPath string, bundle []byte, v sign.Verifier) AttestationEvidence {
	var ev AttestationEvidence
	b, err := sign.ParseBundle(bundle)
	if err != nil {
		ev.Error = err.Error()
		return ev
	}
	a, err := sign.VerifyAttestation(b, v, sign.ScanPredicateType)
	if err != nil {
		ev.Error = err.Error()
		return ev
	}
	ev.Signer = a.Signer
	var pred report.ScanAttestation
	if err := json.Unmarshal(a.Predicate, &pred); err != nil {
		ev.Error = fmt.Sprintf("%v: the scan predicate: %v", sign.ErrPayload, err)
		return ev
	}
	ev.Counts = pred.Summary.Findings
	self := sha256.Sum256(bundle)
	current, err := attestedFiles(modelPath, hex.EncodeToString(self[:]))
	if err != nil {
		ev.Error = "hashing the model's files: " + err.Error()
		return ev
	}
	var modified, added, missing []string
	attested := map[string]bool{}
	for _, s := range a.Subjects {
		attested[s.Name] = true
		switch d, ok := current[s.Name]; {
		case !ok:
			missing = append(missing, s.Name)
		case d != s.SHA256:
			modified = append(modified, s.Name)
		}
	}
	for name := range current {
		if !attested[name] {
			added = append(added, name)
		}
	}
	sort.Strings(added)
	var diffs []string
	for _, d := range []struct {
		what  string
		files []string
	}{{"modified", modified}, {"added", added}, {"missing", missing}} {
		if len(d.files) > 0 {
			diffs = append(diffs, d.what+": "+strings.Join(d.files, ", "))
		}
	}
	if len(diffs) > 0 {
		ev.Error = "the model's files are not the attested ones: " + strings.Join(diffs, "; ")
		return ev
	}
	ev.Verified = true
	return ev
}

// attestSkippedDirs are the folders the scanner does not enter.
var attestSkippedDirs = map[string]bool{".git": true, ".hg": true, ".svn": true}

// attestedFiles is the SHA-256 of the model's files by attested name,
// leaving out the files whose digest is skip.
func attestedFiles(modelPath, skip string) (map[string]string, error) {
	out := map[string]string{}
	add := func(path string) error {
		d, _, err := sign.FileSHA256(path)
		if err != nil {
			return err
		}
		if d == skip {
			return nil
		}
		name, err := report.AttestedName(modelPath, path)
		if err != nil {
			return err
		}
		out[name] = d
		return nil
	}
	info, err := os.Stat(modelPath)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return out, add(modelPath)
	}
	err = filepath.WalkDir(modelPath, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if path != modelPath && attestSkippedDirs[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		case d.Type().IsRegular():
			return add(path)
		case d.Type()&fs.ModeSymlink != 0:
			if info, err := os.Stat(path); err == nil && info.Mode().IsRegular() {
				return add(path)
			}
		}
		return nil
	})
	return out, err
}
