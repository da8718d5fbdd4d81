package pytorch_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/pytorch"
	"github.com/violet-mlsecops/violet/finding"
	tu "github.com/violet-mlsecops/violet/internal/testutil"
)

// view is a tensor of a hand-written checkpoint: the storage it is built
// on (declared as torch.save declares it), and its offset, sizes and
// strides.
type view struct {
	storageType string // torch.FloatStorage
	key         string
	numel       int32
	offset      int32
	size        []int32
	stride      []int32
	dtype       string // the dtype argument of _rebuild_tensor_v3 ("": _rebuild_tensor_v2)
}

// checkpoint writes data.pkl as torch.save does (a list of tensors, each
// _rebuild_tensor_v2 of persistent_load(('storage', type, key, 'cpu',
// numel)), or _rebuild_tensor_v3 with a dtype), and a zip of it with the
// records: key → size in bytes.
func checkpoint(t testing.TB, views []view, records map[string]int) []byte {
	t.Helper()
	p := tu.NewPickle(2).Raw(']').Mark()
	for _, v := range views {
		fn := "_rebuild_tensor_v2"
		if v.dtype != "" {
			fn = "_rebuild_tensor_v3"
		}
		mod, name, _ := strings.Cut(v.storageType, ":")
		p.Global("torch._utils", fn).Mark()
		p.Mark().Str("storage").Global(mod, name).Str(v.key).Str("cpu").Int(v.numel).Tuple().Raw('Q')
		p.Int(v.offset)
		p.Mark()
		for _, s := range v.size {
			p.Int(s)
		}
		p.Tuple().Mark()
		for _, s := range v.stride {
			p.Int(s)
		}
		p.Tuple().Raw(0x89).Global("collections", "OrderedDict").EmptyTuple().Reduce()
		if v.dtype != "" {
			p.Global("torch", v.dtype)
		}
		p.Tuple().Reduce()
	}
	return zipOf(t, p.Raw('e').Stop().Bytes(), records)
}

// zipOf writes a checkpoint zip of data.pkl and the records: key → size.
func zipOf(t testing.TB, data []byte, records map[string]int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, b []byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	add("archive/data.pkl", data)
	for key, n := range records {
		add("archive/data/"+key, make([]byte, n))
	}
	add("archive/version", []byte("3\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const float = "torch:FloatStorage"

// TestStorageLayout: storages declared larger than their records, and
// tensors that reach past them, are PYTORCH-MEMORY-SAFETY naming
// CVE-2026-24747; views, shared storages and empty tensors within their
// records are not.
func TestStorageLayout(t *testing.T) {
	cases := []struct {
		name    string
		views   []view
		records map[string]int
		class   string // "" for none
	}{
		{"a matrix", []view{{float, "0", 6, 0, []int32{2, 3}, []int32{3, 1}, ""}}, map[string]int{"0": 24}, ""},
		{"views of a shared storage", []view{
			{float, "0", 12, 0, []int32{12}, []int32{1}, ""},
			{float, "0", 12, 2, []int32{2, 5}, []int32{1, 2}, ""}, // a transposed slice: reaches element 11
			{float, "0", 12, 11, []int32{1}, []int32{1}, ""},
			{float, "0", 12, 40, []int32{0}, []int32{1}, ""}, // no element
		}, map[string]int{"0": 48}, ""},
		{"an untyped storage of float8", []view{{"torch.storage:UntypedStorage", "0", 2, 0, []int32{2}, []int32{1}, "float8_e4m3fn"}}, map[string]int{"0": 2}, ""},
		{"an untyped storage of uint16", []view{{"torch.storage:UntypedStorage", "0", 4, 0, []int32{2}, []int32{1}, "uint16"}}, map[string]int{"0": 4}, ""},
		// CVE-2026-24747: a million floats declared, 24 bytes recorded.
		{"storage larger than its record", []view{{float, "0", 1_000_000, 0, []int32{2, 3}, []int32{3, 1}, ""}}, map[string]int{"0": 24}, pytorch.ClassStorageSize},
		// The first declaration of a key is the one loaded.
		{"key declared larger the first time", []view{
			{float, "0", 100, 0, []int32{6}, []int32{1}, ""},
			{float, "0", 6, 0, []int32{6}, []int32{1}, ""},
		}, map[string]int{"0": 24}, pytorch.ClassStorageSize},
		{"view past its record", []view{{float, "0", 6, 4, []int32{3}, []int32{1}, ""}}, map[string]int{"0": 24}, pytorch.ClassTensorExtent},
		{"stride past its record", []view{{float, "0", 6, 0, []int32{2, 3}, []int32{1000, 1}, ""}}, map[string]int{"0": 24}, pytorch.ClassTensorExtent},
		{"negative stride", []view{{float, "0", 6, 0, []int32{2}, []int32{-1}, ""}}, map[string]int{"0": 24}, pytorch.ClassTensorExtent},
		{"float8 view past its record", []view{{"torch.storage:UntypedStorage", "0", 2, 0, []int32{2, 2}, []int32{2, 1}, "float8_e4m3fn"}}, map[string]int{"0": 2}, pytorch.ClassTensorExtent},
		{"uint16 storage counted in bytes", []view{{"torch.storage:UntypedStorage", "0", 4, 0, []int32{4}, []int32{1}, "uint16"}}, map[string]int{"0": 4}, pytorch.ClassTensorExtent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := checkpoint(t, c.views, c.records)
			out := &tu.Output{}
			in := analyzer.NewBytesInput("model.pt", data)
			if !(pytorch.Zip{}).Sniff(in) {
				t.Fatal("not claimed")
			}
			if err := (pytorch.Zip{}).Analyze(context.Background(), in, out); err != nil {
				t.Fatal(err)
			}
			a := advisory(t, pytorch.ClassStorageSize)
			var got []string
			for _, f := range out.Findings {
				got = append(got, f.Rule+": "+f.Message)
				if f.Rule != finding.PyTorchMemorySafety || !strings.Contains(f.Message, "CVE-2026-24747") || !strings.Contains(f.Message, a.URL) {
					t.Errorf("finding %s: %s", f.Rule, f.Message)
				}
				if f.Location.Member[0] != "archive/data.pkl" || f.Location.Offset <= 0 {
					t.Errorf("location %s", f.Location)
				}
			}
			switch {
			case c.class == "" && len(out.Findings) > 0:
				t.Errorf("findings on a valid layout: %v", got)
			case c.class != "" && (len(out.Findings) != 1 || !strings.Contains(out.Findings[0].Message, "a trigger of the class of "+c.class) && !strings.Contains(out.Findings[0].Message, advisory(t, c.class).Summary)):
				t.Errorf("want one %s finding, got %v", c.class, got)
			}
		})
	}
}

func advisory(t *testing.T, class string) analyzer.Advisory {
	t.Helper()
	for _, a := range pytorch.Advisories {
		if a.Class == class {
			return a
		}
	}
	t.Fatalf("no advisory for %s", class)
	return analyzer.Advisory{}
}

// TestStorageFindingsBounded: a checkpoint of many bad storages gets
// maxReports findings, then one that counts the rest.
func TestStorageFindingsBounded(t *testing.T) {
	var views []view
	records := map[string]int{}
	for i := range 100 {
		key := strings.Repeat("k", i+1)
		views = append(views, view{float, key, 1000, 0, []int32{1}, []int32{1}, ""})
		records[key] = 4
	}
	out := &tu.Output{}
	if err := (pytorch.Zip{}).Analyze(context.Background(), analyzer.NewBytesInput("model.pt", checkpoint(t, views, records)), out); err != nil {
		t.Fatal(err)
	}
	if n := len(out.Findings); n != 21 || !strings.HasPrefix(out.Findings[20].Message, "80 more problems like these") {
		t.Errorf("%d findings, the last %v", n, out.Findings[n-1].Message)
	}
}

// TestCensusStorages: every zip checkpoint of the census (written by
// torch.save, transformers, Lightning, accelerate...: testdata/census)
// passes, views, shared storages, quantized and float8 tensors included.
func TestCensusStorages(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the census")
	}
	checked := 0
	for _, name := range []string{"debian", "modern"} {
		f, err := os.Open(filepath.Join("..", "..", "testdata", "census", name+".tar.gz"))
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(zr)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(io.LimitReader(tr, 16<<20))
			if err != nil {
				t.Fatal(err)
			}
			in := analyzer.NewBytesInput(h.Name, data)
			if h.Typeflag != tar.TypeReg || !(pytorch.Zip{}).Sniff(in) {
				continue
			}
			out := &tu.Output{}
			if err := (pytorch.Zip{}).Analyze(context.Background(), in, out); err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(data, []byte("data.pkl")) {
				checked++
			}
			for _, fd := range out.Findings {
				t.Errorf("%s: %s %s", h.Name, fd.Rule, fd.Message)
			}
		}
		f.Close()
	}
	if checked < 1000 {
		t.Errorf("only %d checkpoints checked", checked)
	}
	t.Logf("%d checkpoints checked", checked)
}

// FuzzZip: whatever data.pkl holds and whatever its record's size, the
// analysis ends, reports only PYTORCH-MEMORY-SAFETY (at most maxReports of
// each class, and a count of the rest) or PICKLE-LIMIT, and never panics.
func FuzzZip(f *testing.F) {
	seed := func(views []view) []byte {
		b := checkpoint(f, views, nil)
		zr, _ := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		rc, _ := zr.File[0].Open()
		pkl, _ := io.ReadAll(rc)
		return pkl
	}
	f.Add(seed([]view{{float, "0", 6, 0, []int32{2, 3}, []int32{3, 1}, ""}}), uint16(24))
	f.Add(seed([]view{{float, "0", 1 << 20, 0, []int32{2, 3}, []int32{3, 1}, ""}}), uint16(24))
	f.Add(seed([]view{{float, "0", 6, 4, []int32{3}, []int32{1}, ""}, {float, "0", 6, 0, []int32{0}, []int32{-1}, ""}}), uint16(24))
	f.Add(seed([]view{{"torch.storage:UntypedStorage", "0", 2, 0, []int32{2}, []int32{1}, "float8_e4m3fn"}}), uint16(2))
	f.Fuzz(func(t *testing.T, pkl []byte, record uint16) {
		out := &tu.Output{}
		in := analyzer.NewBytesInput("model.pt", zipOf(t, pkl, map[string]int{"0": int(record)}))
		if err := (pytorch.Zip{}).Analyze(context.Background(), in, out); err != nil {
			t.Fatal(err)
		}
		if len(out.Findings) > 2*21+1 {
			t.Fatalf("%d findings", len(out.Findings))
		}
		for _, fd := range out.Findings {
			if fd.Rule != finding.PyTorchMemorySafety && fd.Rule != finding.PickleLimit {
				t.Fatalf("finding %s: %s", fd.Rule, fd.Message)
			}
		}
	})
}
