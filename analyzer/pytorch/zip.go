package pytorch

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/bits"
	"path"
	"strings"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/archive"
	"github.com/violet-mlsecops/violet/analyzer/archive/zipreader"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/finding"
)

// Classes of the storage layouts that corrupt the memory of torch.load.
const (
	// ClassStorageSize: a storage declares more bytes (its element count
	// times its element size) than its record holds.
	ClassStorageSize = "storage-size"
	// ClassTensorExtent: a tensor's storage offset, sizes and strides
	// reach past the bytes of its storage's record.
	ClassTensorExtent = "tensor-extent"
)

const ghsa = "https://github.com/pytorch/pytorch/security/advisories/GHSA-63cw-57p8-fm3p"

// Advisories lists, for each class, the loader and the advisory, as
// gguf.Advisories does.
var Advisories = []analyzer.Advisory{
	{Class: ClassStorageSize, Loader: "torch.load before PyTorch 2.10.0 (weights_only=True included)", ID: "CVE-2026-24747 (GHSA-63cw-57p8-fm3p)",
		Summary: "the storage gets its declared size over the shorter record's buffer, and is read and written past it", URL: ghsa},
	{Class: ClassTensorExtent, Loader: "torch.load before PyTorch 2.10.0 (weights_only=True included)", ID: "CVE-2026-24747 (GHSA-63cw-57p8-fm3p)",
		Summary: "the tensor reads and writes past its record's buffer wherever its storage is declared larger than the record", URL: ghsa},
}

// Zip checks the storages of PyTorch zip checkpoints (torch.save's format)
// against the records that hold their bytes: each storage's declared size,
// and the elements that each tensor built on it reaches. The archive
// analyzer hands data.pkl to the engine as a member of its own, whose
// pickle analysis judges what it imports and calls; this analyzer runs on
// the same zip, beside it.
type Zip struct{}

// ZipName is the name of the Zip analyzer (violet scan --analyzers, the report's tool.analyzers).
const ZipName = "pytorch-zip"

// Name is ZipName.
func (Zip) Name() string { return ZipName }

// Version is the analyzer's version.
func (Zip) Version() string { return "1" }

// Sniff claims what the zip analyzer claims: Analyze looks for data.pkl.
func (Zip) Sniff(in *analyzer.Input) bool { return archive.Zip{}.Sniff(in) }

// maxReports bounds the findings of each class per checkpoint; one more
// counts the rest.
const maxReports = 20

// Analyze traces each data.pkl of the zip and checks its storages and
// tensors against the sizes of the records data/<key> beside it. A zip
// without data.pkl, or that cannot be read, is left to the zip analyzer.
func (Zip) Analyze(ctx context.Context, in *analyzer.Input, out analyzer.Output) error {
	ra, size, err := in.ReaderAt()
	if err != nil {
		return err
	}
	a, err := zipreader.Open(ra, size, zipreader.Options{MaxEntries: in.Limits.MaxMembers})
	if err != nil {
		return nil
	}
	records := make(map[string]*zipreader.Entry, len(a.Entries))
	for _, e := range a.Entries {
		if _, dup := records[e.Name]; !dup { // miniz finds the first of a name
			records[e.Name] = e
		}
	}
	for _, e := range a.Entries {
		if path.Base(e.Name) != "data.pkl" || records[e.Name] != e {
			continue
		}
		tr, err := trace(ctx, a, e, in.Limits)
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			continue // the pickle analysis of the member reports what it cannot read
		}
		c := checker{rep: out, loc: in.Location.Child(e.Name), prefix: path.Dir(e.Name), records: records}
		c.check(tr)
	}
	return nil
}

// trace runs data.pkl through the pickle VM, reading at most the total
// bytes the limits allow.
func trace(ctx context.Context, a *zipreader.Archive, e *zipreader.Entry, l *analyzer.Limits) (*pickle.Trace, error) {
	rc, err := a.Open(e)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return pickle.RunReader(ctx, io.LimitReader(rc, l.MaxTotalBytes), pickle.LimitOptions(l))
}

// checker checks the storages and tensors of one data.pkl.
type checker struct {
	rep     analyzer.Output
	loc     finding.Location
	prefix  string // the folder of data.pkl, where data/ is
	records map[string]*zipreader.Entry
	counts  map[string]int // findings per class
}

// storage is a storage as torch.load allocates it.
type storage struct {
	pickle.Storage
	itemSize int64 // 0 when the storage type is unknown
	record   string
	have     int64 // the record's size, -1 when unknown
}

func (c *checker) check(tr *pickle.Trace) {
	storages := map[string]*storage{}
	dropped := 0
	for _, st := range tr.Streams {
		dropped += st.TensorsDropped
		for _, s := range st.Storages {
			if storages[s.Key] != nil {
				continue // the first declaration of a key is the one loaded
			}
			rs := &storage{Storage: s, itemSize: storageItemSize(s.Type), record: c.prefix + "/data/" + s.Key, have: -1}
			if c.prefix == "." {
				rs.record = "data/" + s.Key
			}
			if e := c.records[rs.record]; e != nil {
				rs.have = e.UncompressedSize
			}
			storages[s.Key] = rs
			c.checkStorage(rs)
		}
	}
	for _, st := range tr.Streams {
		for _, t := range st.Tensors {
			c.checkTensor(t, storages[t.Key])
		}
	}
	for class, n := range c.counts {
		if n > maxReports {
			c.rep.Report(finding.New(finding.PyTorchMemorySafety, c.loc, fmt.Sprintf("%d more problems like these (%s).", n-maxReports, class), ""))
		}
	}
	if dropped > 0 {
		c.rep.Report(finding.New(finding.PickleLimit, c.loc,
			fmt.Sprintf("The checkpoint declares more than %d storages or tensors; %d were not checked against their records.", pickle.MaxTensors, dropped), ""))
	}
}

// checkStorage reports a storage declared larger than its record.
func (c *checker) checkStorage(s *storage) {
	if s.itemSize == 0 || s.have < 0 {
		return // an unknown type, or no record: torch.load fails on it
	}
	want := product(s.Numel, s.itemSize)
	if want <= s.have {
		return
	}
	c.report(ClassStorageSize, s.Offset, fmt.Sprintf("storage %q declares %d elements of %s (%s), but its record %s holds %d bytes",
		s.Key, s.Numel, s.Type, bytesText(want), s.record, s.have))
}

// checkTensor reports a tensor that reaches past its storage's record.
func (c *checker) checkTensor(t pickle.Tensor, s *storage) {
	if s == nil || s.have < 0 {
		return
	}
	itemSize := s.itemSize
	if t.DType != "" {
		itemSize = dtypeSize[strings.TrimPrefix(t.DType, "torch.")]
	}
	if itemSize == 0 {
		return
	}
	need := product(t.Extent, itemSize)
	if need <= s.have {
		return
	}
	c.report(ClassTensorExtent, t.Offset, fmt.Sprintf("a tensor on storage %q reaches %s of it (storage offset, sizes and strides), but its record %s holds %d bytes",
		t.Key, bytesText(need), s.record, s.have))
}

func (c *checker) report(class string, off int64, detail string) {
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	if c.counts[class]++; c.counts[class] > maxReports {
		return
	}
	msg := "The checkpoint's storages corrupt the memory of torch.load: " +
		analyzer.HazardMessage(Advisories, "torch.load", class, detail) + "."
	c.rep.Report(finding.New(finding.PyTorchMemorySafety, c.loc.At(off), msg, detail))
}

// product is a×b, or math.MaxInt64 when it overflows or a is negative.
func product(a, b int64) int64 {
	if a < 0 || b < 0 {
		return math.MaxInt64
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi != 0 || lo > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(lo)
}

func bytesText(n int64) string {
	if n == math.MaxInt64 {
		return "more bytes than 2^63"
	}
	return fmt.Sprintf("%d bytes", n)
}

// storageItemSize is the element size of a storage type of torch
// (torch.FloatStorage, torch.cuda.HalfStorage, torch.storage.UntypedStorage,
// whose elements are bytes), or 0 for a type it does not know.
func storageItemSize(typ string) int64 {
	if !strings.HasPrefix(typ, "torch.") {
		return 0
	}
	return storageSize[typ[strings.LastIndexByte(typ, '.')+1:]]
}

// storageSize is the element size of each storage class of torch.
var storageSize = map[string]int64{
	"UntypedStorage": 1, "ByteStorage": 1, "CharStorage": 1, "BoolStorage": 1,
	"ShortStorage": 2, "HalfStorage": 2, "BFloat16Storage": 2,
	"IntStorage": 4, "FloatStorage": 4, "LongStorage": 8, "DoubleStorage": 8,
	"ComplexFloatStorage": 8, "ComplexDoubleStorage": 16,
	"QInt8Storage": 1, "QUInt8Storage": 1, "QInt32Storage": 4, "QUInt4x2Storage": 1, "QUInt2x4Storage": 1,
}

// dtypeSize is the element size of each dtype of torch, by its name, as
// _rebuild_tensor_v3 receives it for a tensor on an untyped storage.
var dtypeSize = map[string]int64{
	"bool": 1, "uint8": 1, "int8": 1, "quint8": 1, "qint8": 1, "quint4x2": 1, "quint2x4": 1,
	"float8_e4m3fn": 1, "float8_e5m2": 1, "float8_e4m3fnuz": 1, "float8_e5m2fnuz": 1, "float8_e8m0fnu": 1,
	"float4_e2m1fn_x2": 1, "bits8": 1, "bits1x8": 1, "bits2x4": 1, "bits4x2": 1,
	"int16": 2, "short": 2, "uint16": 2, "float16": 2, "half": 2, "bfloat16": 2, "bits16": 2,
	"int32": 4, "int": 4, "uint32": 4, "float32": 4, "float": 4, "qint32": 4, "complex32": 4, "chalf": 4,
	"int64": 8, "long": 8, "uint64": 8, "float64": 8, "double": 8, "complex64": 8, "cfloat": 8,
	"complex128": 16, "cdouble": 16,
}
