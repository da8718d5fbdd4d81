package scan

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/report"
)

// TestNamedAsModelReadAsNothing checks that a file named as a model whose
// content no analyzer reads is not skipped: FORMAT-UNRECOGNIZED, exit 2.
// Files of other names, and the raw weights beside an ONNX model, are not.
func TestNamedAsModelReadAsNothing(t *testing.T) {
	random := make([]byte, 4096)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(r.UintN(256))
	}
	random[0] = 0xff // no opcode, no magic
	cases := []struct {
		name string
		data []byte
		want bool
	}{
		{"model.pt", random, true},
		{"pytorch_model.bin", random, true},
		{"model.safetensors", append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, `{"a":1}`...), true},
		{"model2.safetensors", append([]byte{8, 0, 0, 0, 0, 0, 0, 0}, "not json"...), true},
		{"model.gguf", []byte("GGUX not a gguf"), true},
		{"model.onnx", random, true},
		{"model.h5", random, true},
		{"model.keras", random, true},
		{"model.joblib", random, true},
		{"model.npy", random, true},
		{"empty.ckpt", nil, true},
		{"notes.txt", random, false},
		{"image.png", random, false},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sub := filepath.Join(dir, c.name+".d")
			if err := os.Mkdir(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(sub, c.name)
			if err := os.WriteFile(path, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			rep := scanOne(t, path)
			got := hasRule(rep.AllFindings(), finding.FormatUnrecognized)
			if got != c.want {
				t.Fatalf("FORMAT-UNRECOGNIZED %v, want %v: %v", got, c.want, rep.AllFindings())
			}
			if c.want && rep.ExitCode(finding.High) != report.ExitIncomplete {
				t.Errorf("exit %d, want %d", rep.ExitCode(finding.High), report.ExitIncomplete)
			}
		})
	}
	t.Run("weights beside an ONNX model", func(t *testing.T) {
		sub := filepath.Join(dir, "onnx")
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, "model.onnx"), []byte{0x08, 0x07}, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, "weights.bin"), bytes.Repeat([]byte{1, 2, 3}, 100), 0o644); err != nil {
			t.Fatal(err)
		}
		rep := scanOne(t, filepath.Join(sub, "weights.bin"))
		if hasRule(rep.AllFindings(), finding.FormatUnrecognized) {
			t.Errorf("the external data of an ONNX model is reported: %v", rep.AllFindings())
		}
	})
}
