package scan

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/finding"
	tu "github.com/violet-mlsecops/violet/internal/testutil"
)

// loadFromBytes pickles torch.storage._load_from_bytes(payload), as
// pickle.dump writes a tensor's storage, padded past the VM's kept prefix
// when pad is set.
func loadFromBytes(payload []byte, pad int) []byte {
	payload = append(payload, make([]byte, pad)...)
	p := tu.NewPickle(4).StackGlobal("torch.storage", "_load_from_bytes").Raw('B')
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(payload)))
	return p.Raw(n[:]...).Raw(payload...).Tuple1().Reduce().Stop().Bytes()
}

// TestNestedPayloads checks that a storage pickled by plain pickle, whose
// bytes torch.load reads again, is scanned as a file of its own: a clean
// payload passes, a malicious one fails, wherever it is and however long.
func TestNestedPayloads(t *testing.T) {
	clean := tu.NewPickle(2).Global("collections", "OrderedDict").EmptyTuple().Reduce().Stop().Bytes()
	evil := tu.NewPickle(2).Call("os", "system", "id").Stop().Bytes()
	opaque := tu.NewPickle(4).StackGlobal("torch.storage", "_load_from_bytes").StackGlobal("builtins", "bytes").
		EmptyTuple().Reduce().Tuple1().Reduce().Stop().Bytes()
	cases := []struct {
		name string
		data []byte
		rule string
	}{
		{"clean short payload", loadFromBytes(clean, 0), ""},
		{"clean long payload", loadFromBytes(clean, 10000), ""},
		{"malicious short payload", loadFromBytes(evil, 0), finding.PickleProcess},
		{"malicious long payload", loadFromBytes(evil, 10000), finding.PickleProcess},
		{"payload that is no literal", opaque, finding.PickleNestedLoad},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".pkl")
			if err := os.WriteFile(path, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			r := scanOne(t, path)
			fs := r.AllFindings()
			if c.rule == "" {
				for _, f := range fs {
					if f.Severity >= finding.Medium {
						t.Errorf("want a pass, got %s %s %s", f.Rule, f.Location, f.Evidence)
					}
				}
				return
			}
			if !hasRule(fs, c.rule) {
				t.Errorf("want %s, got %v", c.rule, fs)
			}
		})
	}
}
