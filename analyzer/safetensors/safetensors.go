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
	"math"
	"math/bits"
	"sort"
	"strconv"
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

// Name is the analyzer's name (violet scan --analyzers, the report's tool.analyzers).
const Name = "safetensors"

// Name is Name.
func (Analyzer) Name() string { return Name }

// Version is the analyzer's version.
func (Analyzer) Version() string { return "1" }

// Sniff accepts an 8-byte little-endian header length followed by a JSON
// object: "{" after optional white space. A length past the file or past
// MaxHeader is accepted only when the object names a dtype or
// data_offsets, so that the header length that corrupts lenient loaders is
// reported rather than left unrecognized.
func (Analyzer) Sniff(in *analyzer.Input) bool {
	h := in.Head
	if len(h) < 10 {
		return false
	}
	rest := bytes.TrimLeft(h[8:], " \t\r\n")
	if len(rest) == 0 || rest[0] != '{' {
		return false
	}
	n := binary.LittleEndian.Uint64(h[:8])
	if n < 2 {
		return false
	}
	if n <= MaxHeader && (in.Size < 8 || n <= uint64(in.Size)-8) {
		return true
	}
	return bytes.Contains(rest, []byte(`"data_offsets"`)) || bytes.Contains(rest, []byte(`"dtype"`))
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
	// Hazards are memory-safety triggers found while parsing (a name
	// given twice); Check adds those of the tensors.
	Hazards []Hazard
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
	if n > uint64(size-8) {
		return nil, hazardf(ClassHeaderLength, "the header length %d runs past the end of the %d-byte file%s", n, size, lengthWraps(n))
	}
	if n > MaxHeader {
		return nil, hazardf(ClassHeaderLength, "the header length %d is larger than the %d bytes the reference implementation reads", n, MaxHeader)
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

// lengthWraps notes a header length that wraps past 2^64 when a loader adds
// the few bytes of a terminator or of the length field to it.
func lengthWraps(n uint64) string {
	if n > math.MaxUint64-16 {
		return " (adding the 8 bytes of the length field to it wraps past 2^64)"
	}
	return ""
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
			h.Hazards = append(h.Hazards, Hazard{ClassDuplicateName, fmt.Sprintf("the name %q appears twice: readers keep one or the other", name)})
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
		Dtype       *string       `json:"dtype"`
		Shape       []json.Number `json:"shape"`
		DataOffsets []json.Number `json:"data_offsets"`
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return Tensor{}, fmt.Errorf("tensor %q: %v", name, err)
	}
	if raw.Dtype == nil || raw.Shape == nil || len(raw.DataOffsets) != 2 {
		return Tensor{}, fmt.Errorf("tensor %q needs dtype, shape and two data_offsets", name)
	}
	t := Tensor{Name: name, Dtype: *raw.Dtype, Shape: make([]uint64, len(raw.Shape))}
	for i, d := range raw.Shape {
		var err error
		if t.Shape[i], err = parseUint(name, "shape", d); err != nil {
			return Tensor{}, err
		}
	}
	var err error
	if t.Begin, err = parseUint(name, "data_offsets", raw.DataOffsets[0]); err != nil {
		return Tensor{}, err
	}
	if t.End, err = parseUint(name, "data_offsets", raw.DataOffsets[1]); err != nil {
		return Tensor{}, err
	}
	return t, nil
}

// parseUint reads a shape or data_offsets value: a non-negative integer
// below 2^64. A negative or larger integer is a trigger; anything else
// (a fraction, an exponent) is malformed.
func parseUint(name, field string, n json.Number) (uint64, error) {
	u, err := strconv.ParseUint(n.String(), 10, 64)
	if err == nil {
		return u, nil
	}
	digits := strings.TrimPrefix(n.String(), "-")
	if digits != "" && strings.Trim(digits, "0123456789") == "" {
		if strings.HasPrefix(n.String(), "-") {
			return 0, hazardf(ClassNumber, "tensor %q: the %s value %s is negative", name, field, n)
		}
		return 0, hazardf(ClassNumber, "tensor %q: the %s value %s is past 2^64", name, field, n)
	}
	return 0, fmt.Errorf("tensor %q: the %s value %s is not an integer", name, field, n)
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

// elements is the tensor's element count, or false when it wraps past
// 2^64.
func (t Tensor) elements() (uint64, bool) {
	n := uint64(1)
	for _, d := range t.Shape {
		hi, lo := bits.Mul64(n, d)
		if hi != 0 {
			return 0, false
		}
		n = lo
	}
	return n, true
}

// Check returns what is wrong with the tensors in a data section of
// dataSize bytes, the data starting base bytes into the file: the
// memory-safety triggers (hazards), the other layout problems, and the
// ranges no tensor claims. Every size is computed with checked arithmetic.
func (h *Header) Check(base, dataSize uint64) (hazards []Hazard, problems []string, unclaimed []span) {
	hazards = append(hazards, h.Hazards...)
	problems = append(problems, h.Problems...)
	pos := uint64(0)
	for _, t := range h.Tensors {
		hazards, problems = t.check(base, dataSize, hazards, problems)
		switch {
		case t.Begin < pos:
			problems = append(problems, fmt.Sprintf("tensor %q overlaps the tensor before it (bytes %d to %d)", t.Name, t.Begin, pos))
		case t.Begin > pos:
			problems = append(problems, fmt.Sprintf("%d bytes before tensor %q belong to no tensor", t.Begin-pos, t.Name))
			unclaimed = append(unclaimed, span{pos, min(t.Begin, dataSize)})
		}
		pos = max(pos, t.End)
	}
	if pos < dataSize {
		problems = append(problems, fmt.Sprintf("%d bytes after the last tensor belong to no tensor", dataSize-pos))
		unclaimed = append(unclaimed, span{pos, dataSize})
	}
	return hazards, problems, unclaimed
}

// check adds the hazards and problems of one tensor.
func (t Tensor) check(base, dataSize uint64, hazards []Hazard, problems []string) ([]Hazard, []string) {
	reversed := t.End < t.Begin
	switch {
	case reversed:
		hazards = append(hazards, Hazard{ClassReversedOffsets, fmt.Sprintf("tensor %q: data_offsets [%d, %d] end before they begin, so end minus begin wraps to %d", t.Name, t.Begin, t.End, t.End-t.Begin)})
	case t.End > dataSize:
		wraps := ""
		if _, carry := bits.Add64(base, t.End, 0); carry != 0 {
			wraps = " (the start of the data plus the end offset wraps past 2^64)"
		}
		hazards = append(hazards, Hazard{ClassPastEnd, fmt.Sprintf("tensor %q: data_offsets [%d, %d] end past the %d-byte data section%s", t.Name, t.Begin, t.End, dataSize, wraps)})
	}
	span := t.End - t.Begin // only read when !reversed
	if _, known := dtypeBits[t.Dtype]; !known {
		n, ok := t.elements()
		huge := !ok
		if ok && !reversed {
			hi, bitsAvail := bits.Mul64(span, 8)
			huge = hi == 0 && n > bitsAvail
		}
		if huge {
			hazards = append(hazards, Hazard{ClassUnknownDtype, fmt.Sprintf("tensor %q has the unknown dtype %q and a shape %v that its bytes cannot hold at any element width", t.Name, t.Dtype, t.Shape)})
		} else {
			problems = append(problems, fmt.Sprintf("tensor %q has the unknown dtype %q", t.Name, t.Dtype))
		}
		return hazards, problems
	}
	n, ok := t.nbytes()
	switch {
	case !ok && !t.fits():
		hazards = append(hazards, Hazard{ClassShapeOverflow, fmt.Sprintf("tensor %q: the size of its shape %v in %s wraps past 2^64", t.Name, t.Shape, t.Dtype)})
	case !ok:
		problems = append(problems, fmt.Sprintf("tensor %q: its shape is not a whole number of bytes", t.Name))
	case reversed:
	case n > span:
		hazards = append(hazards, Hazard{ClassShortOffsets, fmt.Sprintf("tensor %q: its shape %v in %s needs %d bytes, but data_offsets [%d, %d] give it %d", t.Name, t.Shape, t.Dtype, n, t.Begin, t.End, span)})
	case n < span:
		problems = append(problems, fmt.Sprintf("tensor %q: data_offsets [%d, %d] hold more than the %d bytes its dtype and shape need", t.Name, t.Begin, t.End, n))
	}
	return hazards, problems
}

// fits is true when the size in bits of the tensor does not wrap.
func (t Tensor) fits() bool {
	n, ok := t.elements()
	if !ok {
		return false
	}
	hi, _ := bits.Mul64(n, dtypeBits[t.Dtype])
	return hi == 0
}

// maxProblems bounds the layout findings of one file, and the
// memory-safety findings.
const maxProblems = 20

// reportHazards reports one SAFETENSORS-MEMORY-SAFETY finding per trigger,
// each naming the loader and the report that documents its class.
func reportHazards(rep analyzer.Reporter, hazards []Hazard) {
	msgs := make([]string, len(hazards))
	for i, h := range hazards {
		msgs[i] = h.Message()
	}
	rep.ReportEach(finding.SafetensorsMemorySafety, "The safetensors header corrupts the memory of lenient loaders: ", msgs, maxProblems)
}

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
		var hz *HazardError
		if errors.As(err, &hz) {
			reportHazards(rep, []Hazard{hz.Hazard})
			rep.Report(finding.FormatMalformed, 0, "The safetensors header was not read past a field that corrupts the memory of lenient loaders: "+err.Error()+".", "")
			return nil
		}
		rep.Report(finding.FormatMalformed, 0, "The safetensors header is malformed: "+err.Error()+".", "")
		return nil
	}
	base := int64(8 + h.Size)
	hazards, problems, unclaimed := h.Check(uint64(base), uint64(size-base))
	reportHazards(rep, hazards)
	rep.ReportEach(finding.SafetensorsLayout, "The safetensors header does not describe the data honestly: ", problems, maxProblems)
	for _, s := range unclaimed {
		if s.end <= s.begin {
			continue
		}
		if err := out.Member(ctx, analyzer.Unclaimed(ra, base+int64(s.begin), int64(s.end-s.begin))); err != nil {
			return err
		}
	}
	for _, m := range metadataConfigs(h.Metadata) {
		if err := out.Member(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// metadataConfigs hands the engine the configurations that __metadata__
// carries, so that their `_target_` entries are judged as any config's:
// a framework that passes the metadata (or a value of it, parsed) to
// hydra.utils.instantiate imports and calls them. The map itself is one
// JSON member, __metadata__.json, with the values that parse as JSON
// objects or arrays inlined; a value holding a YAML document with a
// target is a member of its own, __metadata__/KEY.yaml.
func metadataConfigs(md map[string]string) []analyzer.Member {
	mentions := false
	for k, v := range md {
		if strings.Contains(k, "_target") || strings.Contains(v, "_target") {
			mentions = true
			break
		}
	}
	if !mentions {
		return nil
	}
	doc := make(map[string]any, len(md))
	var out []analyzer.Member
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := md[k]
		doc[k] = v
		if t := strings.TrimSpace(v); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
			var parsed any
			if json.Unmarshal([]byte(t), &parsed) == nil {
				doc[k] = parsed
				continue
			}
		}
		if strings.Contains(v, "_target") && strings.Contains(v, ":") {
			out = append(out, bytesMember("__metadata__/"+k+".yaml", []byte(v)))
		}
	}
	data, err := json.Marshal(doc)
	if err != nil {
		return out
	}
	return append([]analyzer.Member{bytesMember("__metadata__.json", data)}, out...)
}

// bytesMember is a member held in memory.
func bytesMember(name string, data []byte) analyzer.Member {
	return analyzer.Member{Name: name, Size: int64(len(data)), CompressedSize: -1, ReaderAt: bytes.NewReader(data)}
}
