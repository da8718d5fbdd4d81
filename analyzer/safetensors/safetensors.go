// Package safetensors checks safetensors files. The format cannot run code,
// but it is only safe while its header is honest: Violet checks the header
// the way the reference implementation (huggingface/safetensors) validates
// it, reports what loaders that are more lenient would accept, and hands
// every byte range that no tensor claims (gaps, trailing data) back to the
// engine, so that a pickle or an archive hidden there is scanned.
package safetensors

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/finding"
)

// MaxHeader is the largest header the reference implementation reads.
const MaxHeader = 100_000_000

// maxTensors bounds the tensors of one header (a 100 MB header could list
// millions).
const maxTensors = 1_000_000

// dtypeBits is the size in bits of an element of each dtype the
// reference implementation knows.
var dtypeBits = map[string]uint64{
	"BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8,
	"I16": 16, "U16": 16, "F16": 16, "BF16": 16,
	"I32": 32, "U32": 32, "F32": 32,
	"I64": 64, "U64": 64, "F64": 64, "C64": 64,
	"F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}

// Analyzer checks safetensors files.
type Analyzer struct{}

// Name is "safetensors".
func (Analyzer) Name() string { return "safetensors" }

// Version is the analyzer's version.
func (Analyzer) Version() string { return "1" }

// Sniff accepts an 8-byte little-endian header length followed by a JSON
// object: "{" after optional white space.
func (Analyzer) Sniff(in *analyzer.Input) bool {
	h := in.Head
	if len(h) < 10 {
		return false
	}
	n := binary.LittleEndian.Uint64(h[:8])
	if n < 2 || n > MaxHeader || (in.Size >= 0 && n > uint64(in.Size)-8) {
		return false
	}
	rest := bytes.TrimLeft(h[8:], " \t\r\n")
	return len(rest) > 0 && rest[0] == '{'
}

// Tensor is one entry of the header.
type Tensor struct {
	// Name is the tensor's name.
	Name string
	// Dtype is its element type ("F32").
	Dtype string
	// Shape is its shape.
	Shape []uint64
	// Begin and End are its byte range in the data section.
	Begin, End uint64
}

// Header is a parsed header.
type Header struct {
	// Size is the length of the JSON header in bytes.
	Size uint64
	// Tensors are the tensors, sorted by offset.
	Tensors []Tensor
	// Metadata is the __metadata__ map.
	Metadata map[string]string
	// Problems are what the reference implementation would refuse but a
	// lenient reader could accept.
	Problems []string
}

// ParseHeader reads the header of a file of size bytes through r. A
// non-nil error means that no reader can make sense of the header.
func ParseHeader(r io.ReaderAt, size int64) (*Header, error) {
	if size < 8 {
		return nil, errors.New("file is shorter than the 8-byte header length")
	}
	var lenBuf [8]byte
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > MaxHeader {
		return nil, fmt.Errorf("header of %d bytes is larger than the %d that loaders read", n, MaxHeader)
	}
	if n > uint64(size-8) {
		return nil, fmt.Errorf("header of %d bytes runs past the end of the %d-byte file", n, size)
	}
	raw := make([]byte, n)
	if _, err := r.ReadAt(raw, 8); err != nil {
		return nil, err
	}
	if !utf8.Valid(raw) {
		return nil, errors.New("header is not UTF-8")
	}
	h := &Header{Size: n}
	if err := h.parseJSON(raw); err != nil {
		return nil, err
	}
	sort.SliceStable(h.Tensors, func(i, j int) bool {
		a, b := h.Tensors[i], h.Tensors[j]
		return a.Begin < b.Begin || a.Begin == b.Begin && a.End < b.End
	})
	return h, nil
}

// parseJSON reads the header object token by token, so that duplicate
// names (which parsers resolve differently) are seen.
func (h *Header) parseJSON(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return errors.New("header is not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return fmt.Errorf("header is not valid JSON: %v", err)
		}
		name := t.(string)
		if seen[name] {
			h.Problems = append(h.Problems, fmt.Sprintf("the name %q appears twice: readers keep one or the other", name))
		}
		seen[name] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("header is not valid JSON: %v", err)
		}
		if name == "__metadata__" {
			if err := h.parseMetadata(v); err != nil {
				return err
			}
			continue
		}
		if len(h.Tensors) >= maxTensors {
			return fmt.Errorf("header lists more than %d tensors", maxTensors)
		}
		t2, err := parseTensor(name, v)
		if err != nil {
			return err
		}
		h.Tensors = append(h.Tensors, t2)
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("header is not valid JSON: %v", err)
	}
	rest, _ := io.ReadAll(dec.Buffered())
	if strings.TrimRight(string(rest), " \t\r\n") != "" {
		return errors.New("header has data after its JSON object")
	}
	return nil
}

func (h *Header) parseMetadata(v json.RawMessage) error {
	var m map[string]any
	if err := json.Unmarshal(v, &m); err != nil {
		return errors.New("__metadata__ is not an object")
	}
	h.Metadata = map[string]string{}
	for k, x := range m {
		s, ok := x.(string)
		if !ok {
			h.Problems = append(h.Problems, fmt.Sprintf("__metadata__ value %q is not a string (the reference reader refuses it)", k))
			continue
		}
		h.Metadata[k] = s
	}
	return nil
}

// parseTensor reads {"dtype": ..., "shape": [...], "data_offsets": [b, e]}.
func parseTensor(name string, v json.RawMessage) (Tensor, error) {
	var raw struct {
		Dtype       *string  `json:"dtype"`
		Shape       []uint64 `json:"shape"`
		DataOffsets []uint64 `json:"data_offsets"`
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return Tensor{}, fmt.Errorf("tensor %q: %v", name, err)
	}
	if raw.Dtype == nil || raw.Shape == nil || len(raw.DataOffsets) != 2 {
		return Tensor{}, fmt.Errorf("tensor %q needs dtype, shape and two data_offsets", name)
	}
	return Tensor{Name: name, Dtype: *raw.Dtype, Shape: raw.Shape, Begin: raw.DataOffsets[0], End: raw.DataOffsets[1]}, nil
}

// nbytes is the data size of a tensor, or false when it overflows or is
// not a whole number of bytes.
func (t Tensor) nbytes() (uint64, bool) {
	elements := uint64(1)
	for _, d := range t.Shape {
		hi, lo := bits.Mul64(elements, d)
		if hi != 0 {
			return 0, false
		}
		elements = lo
	}
	hi, nbits := bits.Mul64(elements, dtypeBits[t.Dtype])
	if hi != 0 || nbits%8 != 0 {
		return 0, false
	}
	return nbits / 8, true
}

// span is a byte range of the data section that no tensor claims.
type span struct{ begin, end uint64 }

// Check returns what is wrong with the layout of the tensors in a data
// section of dataSize bytes, and the ranges no tensor claims.
func (h *Header) Check(dataSize uint64) (problems []string, unclaimed []span) {
	problems = append(problems, h.Problems...)
	pos := uint64(0)
	for _, t := range h.Tensors {
		if _, ok := dtypeBits[t.Dtype]; !ok {
			problems = append(problems, fmt.Sprintf("tensor %q has the unknown dtype %q", t.Name, t.Dtype))
		} else if n, ok := t.nbytes(); !ok {
			problems = append(problems, fmt.Sprintf("tensor %q: its shape overflows or is not a whole number of bytes", t.Name))
		} else if t.End < t.Begin || t.End-t.Begin != n {
			problems = append(problems, fmt.Sprintf("tensor %q: data_offsets [%d, %d] do not hold the %d bytes its dtype and shape need", t.Name, t.Begin, t.End, n))
		}
		switch {
		case t.Begin < pos:
			problems = append(problems, fmt.Sprintf("tensor %q overlaps the tensor before it (bytes %d to %d)", t.Name, t.Begin, pos))
		case t.Begin > pos:
			problems = append(problems, fmt.Sprintf("%d bytes before tensor %q belong to no tensor", t.Begin-pos, t.Name))
			unclaimed = append(unclaimed, span{pos, min(t.Begin, dataSize)})
		}
		if t.End > dataSize {
			problems = append(problems, fmt.Sprintf("tensor %q ends at byte %d of a %d-byte data section", t.Name, t.End, dataSize))
		}
		pos = max(pos, t.End)
	}
	if pos < dataSize {
		problems = append(problems, fmt.Sprintf("%d bytes after the last tensor belong to no tensor", dataSize-pos))
		unclaimed = append(unclaimed, span{pos, dataSize})
	}
	return problems, unclaimed
}

// maxProblems bounds the layout findings of one file.
const maxProblems = 20

// Analyze checks the header and the layout, and hands unclaimed bytes to
// the engine.
func (Analyzer) Analyze(ctx context.Context, in *analyzer.Input, out analyzer.Output) error {
	out.Format("safetensors")
	rep := analyzer.Reporter{Out: out, In: in}
	ra, size, err := in.ReaderAt()
	if err != nil {
		return err
	}
	h, err := ParseHeader(ra, size)
	if err != nil {
		rep.Report(finding.FormatMalformed, 0, "The safetensors header is malformed: "+err.Error()+".", "")
		return nil
	}
	base := int64(8 + h.Size)
	problems, unclaimed := h.Check(uint64(size - base))
	rep.ReportEach(finding.SafetensorsLayout, "The safetensors header does not describe the data honestly: ", problems, maxProblems)
	for _, s := range unclaimed {
		if s.end <= s.begin {
			continue
		}
		if err := out.Member(ctx, analyzer.Unclaimed(ra, base+int64(s.begin), int64(s.end-s.begin))); err != nil {
			return err
		}
	}
	return nil
}
