package scan

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	tu "github.com/violet-mlsecops/violet/internal/testutil"
)

// TestSelect: analyzers chosen by name keep the registry's order; an
// unknown name, or nothing left, is an error that lists the names.
func TestSelect(t *testing.T) {
	all := Analyzers(pickle.DefaultPolicy())
	names := Names(all)
	if len(names) != len(all) || names[0] != "zip" || names[len(names)-1] != "pickle" {
		t.Fatalf("names %v", names)
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Errorf("two analyzers named %q: selecting by name needs unique names", n)
		}
		seen[n] = true
	}
	for _, tc := range []struct {
		only, skip, want []string
	}{
		{nil, nil, names},
		{[]string{"pickle", "zip"}, nil, []string{"zip", "pickle"}},
		{nil, []string{"pickle", "gguf"}, slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == "pickle" || n == "gguf" })},
		{[]string{"pickle", "zip"}, []string{"zip"}, []string{"pickle"}},
	} {
		got, err := Select(all, tc.only, tc.skip)
		if err != nil || !slices.Equal(Names(got), tc.want) {
			t.Errorf("Select(%v, %v) = %v, %v; want %v", tc.only, tc.skip, Names(got), err, tc.want)
		}
	}
	for _, tc := range [][2][]string{{{"pikle"}, nil}, {nil, {"Pickle"}}, {{"zip"}, {"zip"}}} {
		if _, err := Select(all, tc[0], tc[1]); err == nil || !strings.Contains(err.Error(), strings.Join(names, ", ")) {
			t.Errorf("Select(%v, %v): %v", tc[0], tc[1], err)
		}
	}
}

// TestLoggerExplainsDispatch: at debug level the engine says which
// analyzer claimed each input (a member of an archive too), which one an
// analyzer covers, what no analyzer claimed, and which paths an ignore
// pattern left out; with no Logger nothing is logged and nothing breaks.
func TestLoggerExplainsDispatch(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pkl := write("model.pkl", tu.NewPickle(2).EmptyDict().Stop().Bytes())
	txt := write("notes.txt", []byte("hello"))
	write("skip.tmp", []byte("x"))
	bundle, err := os.ReadFile(tu.ZipFile(t, map[string]string{"inner.pkl": string(tu.NewPickle(2).EmptyDict().Stop().Bytes())}))
	if err != nil {
		t.Fatal(err)
	}
	zip := write("bundle.zip", bundle)
	var buf bytes.Buffer
	opts := Options{Analyzers: Analyzers(pickle.DefaultPolicy()), Limits: analyzer.DefaultLimits(), Ignore: []string{"*.tmp"},
		Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if _, err := Scan(context.Background(), []string{dir}, opts); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`msg="analyzer claims the input" input=` + pkl + ` analyzer=pickle runs=true`,
		`msg="analyzer claims the input" input=` + zip + ` analyzer=zip runs=true`,
		`msg="analyzer claims the input" input=` + zip + `!inner.pkl analyzer=pickle runs=true`,
		`msg="no analyzer claims the input" input=` + txt + ` size=5 head=68656c6c6f`,
		`msg="not scanned: an ignore pattern matches" path=` + filepath.Join(dir, "skip.tmp") + ` pattern=*.tmp`,
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("no %q in\n%s", want, buf.String())
		}
	}
	opts.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	buf.Reset()
	if _, err := Scan(context.Background(), []string{dir}, opts); err != nil || buf.Len() != 0 {
		t.Errorf("at warn: %v %q", err, buf.String())
	}
	opts.Logger = nil
	if _, err := Scan(context.Background(), []string{dir}, opts); err != nil {
		t.Error(err)
	}
}
