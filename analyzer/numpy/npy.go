// Package numpy analyzes NumPy .npy files. An array of dtype object is a
// pickle behind the header: numpy.load(allow_pickle=True) unpickles it.
// (.npz files are zip archives of .npy members: the archive analyzer hands
// each member to the engine, which sends it here.)
package numpy

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/bits"
	"regexp"
	"strconv"
	"strings"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/finding"
)

var magic = []byte("\x93NUMPY")

// maxHeader bounds the header: NumPy itself refuses headers above 10,000
// bytes unless max_header_size is raised.
const maxHeader = 1 << 20

// Npy analyzes .npy files.
type Npy struct {
	pickle *pickle.Analyzer
}

// New returns the analyzer; object arrays are judged by p.
func New(p *pickle.Analyzer) *Npy { return &Npy{pickle: p} }

// Name is the analyzer's name (violet scan --analyzers, the report's tool.analyzers).
const Name = "numpy"

// Name is Name.
func (*Npy) Name() string { return Name }

// Version is the analyzer's version.
func (*Npy) Version() string { return "1" }

// ConfigDigest is that of the pickle analyzer it judges with
// (analyzer.Configured).
func (n *Npy) ConfigDigest() string { return n.pickle.ConfigDigest() }

// DelegateVersions names the pickle analyzer, which judges object arrays
// (analyzer.Delegating).
func (n *Npy) DelegateVersions() []string {
	return []string{n.pickle.Name() + "/" + n.pickle.Version()}
}

// Sniff checks the magic string.
func (*Npy) Sniff(in *analyzer.Input) bool { return bytes.HasPrefix(in.Head, magic) }

// Header is the parsed header of a .npy file.
type Header struct {
	// Descr is the dtype, as a string ("<f8") or a structured list.
	Descr any
	// Fortran is the fortran_order flag.
	Fortran bool
	// Shape is the array's shape.
	Shape []int64
	// DataOffset is where the array data starts.
	DataOffset int64
}

// ParseHeader parses the header at the start of head.
func ParseHeader(head []byte) (*Header, error) {
	if !bytes.HasPrefix(head, magic) || len(head) < 10 {
		return nil, fmt.Errorf("not a .npy file")
	}
	major := head[6]
	var hlen, start int
	switch major {
	case 1:
		hlen, start = int(binary.LittleEndian.Uint16(head[8:10])), 10
	case 2, 3:
		if len(head) < 12 {
			return nil, fmt.Errorf("truncated header")
		}
		n := binary.LittleEndian.Uint32(head[8:12])
		if n > maxHeader {
			return nil, fmt.Errorf("header of %d bytes is larger than %d", n, maxHeader)
		}
		hlen, start = int(n), 12
	default:
		return nil, fmt.Errorf("unknown format version %d.%d", major, head[7])
	}
	if start+hlen > len(head) {
		return nil, fmt.Errorf("header of %d bytes runs past the data read", hlen)
	}
	v, err := parseLiteral(head[start : start+hlen])
	if err != nil {
		return nil, fmt.Errorf("header is not a Python literal: %w", err)
	}
	d, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("header is not a dict")
	}
	h := &Header{DataOffset: int64(start + hlen)}
	var okDescr, okShape, okOrder bool
	h.Descr, okDescr = d["descr"]
	h.Fortran, okOrder = d["fortran_order"].(bool)
	shape, okShape := d["shape"].([]any)
	if !okDescr || !okOrder || !okShape || len(d) != 3 {
		return nil, fmt.Errorf("header must have exactly the keys descr, fortran_order and shape")
	}
	for _, x := range shape {
		n, ok := x.(int64)
		if !ok || n < 0 {
			return nil, fmt.Errorf("shape holds %v, not a dimension", x)
		}
		h.Shape = append(h.Shape, n)
	}
	return h, nil
}

// objectDescr matches a dtype string of kind object: "|O", "O8", "object".
var objectDescr = regexp.MustCompile(`^[<>|=]?(O\d*|object0?_?)$`)

// isObjectDescr reports whether numpy.dtype(s) holds objects: s is an
// object dtype, or a comma-separated list of dtypes ("i4,O") or a subarray
// ("(2,3)O") with one.
func isObjectDescr(s string) bool {
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part[strings.LastIndexByte(part, ')')+1:])
		if objectDescr.MatchString(part) {
			return true
		}
	}
	return false
}

// HasObject reports whether the dtype holds Python objects anywhere.
func (h *Header) HasObject() bool { return hasObject(h.Descr) }

func hasObject(d any) bool {
	switch d := d.(type) {
	case string:
		return isObjectDescr(d)
	case []any:
		for _, x := range d {
			if hasObject(x) {
				return true
			}
		}
	}
	return false
}

// DataSize is the size in bytes of a plain array's data, or false when the
// dtype is not a simple one.
func (h *Header) DataSize() (int64, bool) {
	s, ok := h.Descr.(string)
	if !ok || len(s) < 2 {
		return 0, false
	}
	kind, digits := s[1], s[2:]
	if s[0] != '<' && s[0] != '>' && s[0] != '|' && s[0] != '=' {
		kind, digits = s[0], s[1:]
	}
	if i := bytes.IndexByte([]byte(digits), '['); i >= 0 {
		digits = digits[:i] // datetime units: "<M8[ns]"
	}
	size, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, false
	}
	if kind == 'U' {
		size *= 4
	}
	count := uint64(1)
	for _, d := range h.Shape {
		hi, lo := bits.Mul64(count, uint64(d))
		if hi != 0 {
			return 0, false
		}
		count = lo
	}
	hi, n := bits.Mul64(count, uint64(size))
	if hi != 0 || n > 1<<62 {
		return 0, false
	}
	return int64(n), true
}

// Analyze parses the header; for an object array it traces the pickle that
// follows, and for a plain array it checks that the data is all there.
func (n *Npy) Analyze(ctx context.Context, in *analyzer.Input, out analyzer.Output) error {
	out.Format("numpy")
	rep := analyzer.Reporter{Out: out, In: in}
	head := in.Head
	var end int64 // where the header ends
	switch {
	case len(head) >= 12 && head[6] >= 2:
		end = int64(binary.LittleEndian.Uint32(head[8:12])) + 12
	case len(head) >= 10 && head[6] == 1:
		end = int64(binary.LittleEndian.Uint16(head[8:10])) + 10
	}
	if end > int64(len(head)) && end <= maxHeader+12 {
		// The header is longer than the head (NumPy writes version 1.0
		// headers of up to 65535 bytes).
		if ra, size, err := in.ReaderAt(); err == nil {
			buf := make([]byte, min(end, size))
			if _, err := ra.ReadAt(buf, 0); err == nil {
				head = buf
			}
		}
	}
	h, err := ParseHeader(head)
	if err != nil {
		rep.Report(finding.FormatMalformed, 0, "The .npy header is malformed: "+err.Error()+".", "")
		return nil
	}
	if h.HasObject() {
		rep.Report(finding.NumpyObjectArray, h.DataOffset, "The array has dtype object: numpy.load needs allow_pickle=True and unpickles the data.", fmt.Sprint(h.Descr))
		return n.pickle.ScanWith(ctx, in, out, pickle.ScanOptions{Base: h.DataOffset, MaxStreams: 1})
	}
	if size, ok := h.DataSize(); ok && in.Size >= 0 && h.DataOffset+size > in.Size {
		rep.Report(finding.FormatMalformed, h.DataOffset, fmt.Sprintf("The array needs %d bytes of data but the file holds %d.", size, in.Size-h.DataOffset), "")
	}
	return nil
}
