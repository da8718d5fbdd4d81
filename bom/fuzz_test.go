package bom

import (
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzModelCard reads arbitrary bytes as a model card (front matter and
// sections): no panic, and what is read stays within the input's size.
func FuzzModelCard(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "bom", "*", "README.md"))
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("---\nlicense: [mit, 3]\nco2_eq_emissions: {emissions: x}\nmodel-index: [{results: [{metrics: [{value: [1]}]}]}]\n---\n# Uses\n- a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := reader{m: &Model{}}
		y, body := splitCard(data)
		var fm frontMatter
		if y != nil {
			_ = yaml.Unmarshal(y, &fm)
		}
		r.applyFrontMatter(&fm)
		r.applySections(parseSections(body))
		r.finish()
		if len(r.m.Description) > len(data) {
			t.Fatalf("a description of %d bytes from %d", len(r.m.Description), len(data))
		}
	})
}
