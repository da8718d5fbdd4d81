package discover

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// benchSource is a typical Python module of a service.
const benchSource = `"""Module %d of a service."""
import os
import json

from app.util import helper


def handler_%d(event, context):
    # Read the configuration and answer.
    cfg = json.loads(os.environ.get("CONFIG", "{}"))
    items = [helper(x) for x in event.get("items", [])]
    return {"status": 200, "count": len(items), "region": cfg.get("region", "eu-west-1")}
`

// benchTree writes files source files in folders of 100, and a model
// file in one folder of 1000.
func benchTree(tb testing.TB, dir string, files int) {
	tb.Helper()
	model, err := os.ReadFile("../testdata/formats/benign/hf-repo/model.safetensors")
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i < files; i++ {
		sub := filepath.Join(dir, fmt.Sprintf("pkg%03d", i/1000), fmt.Sprintf("mod%02d", i/100%10))
		if i%100 == 0 {
			if err := os.MkdirAll(sub, 0o755); err != nil {
				tb.Fatal(err)
			}
		}
		name, data := fmt.Sprintf("m%05d.py", i), []byte(fmt.Sprintf(benchSource, i, i))
		switch {
		case i%1000 == 999:
			name, data = fmt.Sprintf("w%05d.safetensors", i), model
		case i%10 == 5:
			name = fmt.Sprintf("r%05d.md", i)
		case i%10 == 7:
			name = fmt.Sprintf("c%05d.yaml", i)
			data = []byte("service:\n  name: api\n  replicas: 3\n  image: registry.local/api:1.2\n")
		}
		if err := os.WriteFile(filepath.Join(sub, name), data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkDiscover walks a generated tree of 100,000 files (mostly Python
// sources, a few YAML and Markdown files, one model in a thousand).
func BenchmarkDiscover(b *testing.B) {
	if testing.Short() {
		b.Skip("generates 100,000 files")
	}
	const files = 100_000
	dir := b.TempDir()
	benchTree(b, dir, files)
	b.ResetTimer()
	for b.Loop() {
		res, err := Discover(context.Background(), dir, Options{NoGit: true})
		if err != nil {
			b.Fatal(err)
		}
		if res.Summary[KindModelFile] != files/1000 {
			b.Fatalf("found %d model files, want %d", res.Summary[KindModelFile], files/1000)
		}
	}
	b.ReportMetric(float64(files)*float64(b.N)/b.Elapsed().Seconds(), "files/s")
}
