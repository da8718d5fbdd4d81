// Package onnx checks ONNX models without loading them: it walks the
// protobuf of the model (the main graph, every subgraph in node attributes,
// training graphs and functions) and checks where tensors keep their
// external data, and which operator domains the model needs.
package onnx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/internal/protowalk"
)

// Limits of the walk.
const (
	maxModel   = 2 << 30 // a protobuf message is at most 2 GiB
	maxDepth   = 32      // graphs nested in node attributes
	maxTensors = 1 << 20
)

// standardDomains are the operator domains of ONNX and of ONNX Runtime's
// built-in kernels; any other domain needs a custom operator library.
var standardDomains = map[string]bool{
	"": true, "ai.onnx": true, "ai.onnx.ml": true, "ai.onnx.training": true, "ai.onnx.preview.training": true,
	"com.microsoft": true, "com.microsoft.nchwc": true, "com.microsoft.experimental": true,
	"com.ms.internal.nhwc": true, "com.microsoft.dml": true, "org.pytorch.aten": true,
}

// External is a tensor whose data lives in another file.
type External struct {
	// Tensor is the tensor's name.
	Tensor string
	// Location, Offset and Length are the external_data entries (Offset
	// and Length are -1 when absent).
	Location       string
	Offset, Length int64
}

// Model is what the walk found.
type Model struct {
	// IRVersion is the model's ir_version.
	IRVersion int64
	// Domains are the operator set domains imported or used by nodes.
	Domains []string
	// External lists the tensors with external data.
	External []External
}

// Parse walks an ONNX model.
func Parse(data []byte) (*Model, error) {
	m := &Model{}
	domains := map[string]bool{}
	w := &walker{m: m, domains: domains}
	if err := w.model(data); err != nil {
		return nil, err
	}
	for d := range domains {
		m.Domains = append(m.Domains, d)
	}
	sort.Strings(m.Domains)
	return m, nil
}

type walker struct {
	m       *Model
	domains map[string]bool
	tensors int
}

// fields walks the fields of a message (protowalk.Fields).
var fields = protowalk.Fields

func (w *walker) model(b []byte) error {
	return fields(b, func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error {
		switch {
		case num == 1 && typ == protowire.VarintType:
			w.m.IRVersion = int64(n)
		case num == 8 && typ == protowire.BytesType: // opset_import
			return w.opset(v)
		case num == 7 && typ == protowire.BytesType: // graph
			return w.graph(v, 0)
		case num == 20 && typ == protowire.BytesType: // training_info
			return fields(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				if (num == 1 || num == 2) && typ == protowire.BytesType {
					return w.graph(v, 1)
				}
				return nil
			})
		case num == 25 && typ == protowire.BytesType: // functions
			return w.function(v, 1)
		}
		return nil
	})
}

func (w *walker) opset(b []byte) error {
	return fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num == 1 && typ == protowire.BytesType {
			w.domains[string(v)] = true
		}
		return nil
	})
}

func (w *walker) function(b []byte, depth int) error {
	return fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch {
		case num == 7 && typ == protowire.BytesType:
			return w.node(v, depth)
		case num == 9 && typ == protowire.BytesType:
			return w.opset(v)
		}
		return nil
	})
}

func (w *walker) graph(b []byte, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("graphs nested deeper than %d", maxDepth)
	}
	return fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1: // node
			return w.node(v, depth)
		case 5: // initializer
			return w.tensor(v)
		case 15: // sparse_initializer: values and indices are tensors
			return fields(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				if (num == 1 || num == 2) && typ == protowire.BytesType {
					return w.tensor(v)
				}
				return nil
			})
		}
		return nil
	})
}

func (w *walker) node(b []byte, depth int) error {
	return fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch {
		case num == 7 && typ == protowire.BytesType: // domain
			w.domains[string(v)] = true
		case num == 5 && typ == protowire.BytesType: // attribute
			return w.attribute(v, depth)
		}
		return nil
	})
}

func (w *walker) attribute(b []byte, depth int) error {
	return fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 5, 10: // t, tensors
			return w.tensor(v)
		case 6, 11: // g, graphs
			return w.graph(v, depth+1)
		}
		return nil
	})
}

func (w *walker) tensor(b []byte) error {
	w.tensors++
	if w.tensors > maxTensors {
		return fmt.Errorf("more than %d tensors", maxTensors)
	}
	var name string
	ext := External{Offset: -1, Length: -1}
	external := false
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error {
		switch {
		case num == 8 && typ == protowire.BytesType:
			name = string(v)
		case num == 14 && typ == protowire.VarintType:
			external = external || n == 1
		case num == 13 && typ == protowire.BytesType:
			var key, value string
			if err := fields(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				switch {
				case num == 1 && typ == protowire.BytesType:
					key = string(v)
				case num == 2 && typ == protowire.BytesType:
					value = string(v)
				}
				return nil
			}); err != nil {
				return err
			}
			external = true
			switch key {
			case "location":
				ext.Location = value
			case "offset", "length":
				x, err := strconv.ParseInt(value, 10, 64)
				if err != nil || x < 0 {
					return fmt.Errorf("tensor %q: external_data %s %q is not a size", name, key, value)
				}
				if key == "offset" {
					ext.Offset = x
				} else {
					ext.Length = x
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if external {
		ext.Tensor = name
		w.m.External = append(w.m.External, ext)
	}
	return nil
}

// Analyzer checks ONNX models.
type Analyzer struct{}

// Name is the analyzer's name (violet scan --analyzers, the report's tool.analyzers).
const Name = "onnx"

// Name is Name.
func (Analyzer) Name() string { return Name }

// Version is the analyzer's version.
func (Analyzer) Version() string { return "1" }

// ReadsBeside is true: the external data files of a model on disk are
// checked (analyzer.ReadsBeside).
func (Analyzer) ReadsBeside() bool { return true }

// Sniff accepts a ModelProto: ir_version (field 1, a small varint) first,
// then fields of ModelProto with valid wire types, as far as the head goes.
func (Analyzer) Sniff(in *analyzer.Input) bool {
	h := in.Head
	if len(h) < 4 || h[0] != 0x08 || h[1] == 0 || h[1] > 30 {
		return false
	}
	known := map[protowire.Number]protowire.Type{1: protowire.VarintType, 2: protowire.BytesType,
		3: protowire.BytesType, 4: protowire.BytesType, 5: protowire.VarintType, 6: protowire.BytesType,
		7: protowire.BytesType, 8: protowire.BytesType, 14: protowire.BytesType, 20: protowire.BytesType,
		25: protowire.BytesType}
	named := strings.EqualFold(path.Ext(in.Name), ".onnx")
	b := h
	seen := 0
	for len(b) > 0 {
		num, typ, k := protowire.ConsumeTag(b)
		if k < 0 {
			break
		}
		if want, ok := known[num]; !ok || want != typ {
			return false
		}
		seen++
		k2 := protowire.ConsumeFieldValue(num, typ, b[k:])
		if k2 < 0 {
			if stringFields[num] {
				return named // a name longer than the head: a message, not ONNX's
			}
			break // the field runs past the head
		}
		if stringFields[num] {
			s, _ := protowire.ConsumeBytes(b[k:])
			if !printable(s) {
				return named // a TensorFlow SavedModel starts 08 01 12, its field 2 a message
			}
		}
		b = b[k+k2:]
	}
	return seen >= 2 || named
}

// stringFields are the ModelProto fields that hold short text
// (producer_name, producer_version, domain): in the head of another
// protobuf with the same numbers they hold messages.
var stringFields = map[protowire.Number]bool{2: true, 3: true, 4: true}

// printable reports whether b is UTF-8 text without control characters.
func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// Analyze walks the model and checks its external data and domains.
func (Analyzer) Analyze(ctx context.Context, in *analyzer.Input, out analyzer.Output) error {
	out.Format("onnx")
	rep := analyzer.Reporter{Out: out, In: in}
	ra, size, err := in.ReaderAt()
	if err != nil {
		return err
	}
	if size > maxModel {
		rep.Report(finding.FormatMalformed, -1, fmt.Sprintf("The ONNX model is %d bytes, more than a protobuf message can be.", size), "")
		return nil
	}
	data := make([]byte, size)
	if _, err := ra.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	m, err := Parse(data)
	if err != nil {
		rep.Report(finding.FormatMalformed, -1, "The ONNX model could not be parsed: "+err.Error()+".", "")
		return nil
	}
	for _, d := range m.Domains {
		if !standardDomains[d] {
			rep.Report(finding.ONNXCustomDomain, -1, fmt.Sprintf("The model needs operators of the domain %q, which no standard runtime implements.", d), d)
		}
	}
	// External data is checked on disk only for a file on disk: inside an
	// archive, the names are checked as written.
	dir := ""
	if len(in.Location.Member) == 0 {
		dir = filepath.Dir(in.Location.Path)
	}
	seen := map[External]bool{}
	for _, e := range m.External {
		if seen[e] {
			continue // the same tensor in the then and else branches
		}
		seen[e] = true
		if msg := checkExternal(dir, e); msg != "" {
			rep.Report(finding.ONNXExternalData, -1, fmt.Sprintf("Tensor %q keeps its data in %q: %s.", e.Tensor, e.Location, msg), e.Location)
		}
	}
	return nil
}

// checkExternal says what is wrong with where a tensor keeps its data, or
// returns "".
func checkExternal(dir string, e External) string {
	loc := e.Location
	switch {
	case loc == "":
		return "the location is missing"
	case strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, `\`) || len(loc) > 1 && loc[1] == ':':
		return "the location is an absolute path"
	case strings.Contains(loc, "\x00"):
		return "the location holds a NUL byte"
	}
	for _, part := range strings.FieldsFunc(loc, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return "the location climbs out of the model folder"
		}
	}
	if dir == "" {
		return ""
	}
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return ""
	}
	target := filepath.Join(dir, filepath.FromSlash(loc))
	real, err := filepath.EvalSymlinks(target)
	if err != nil {
		return "" // a missing file: the loader fails on it
	}
	if rel, err := filepath.Rel(root, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "the location goes through a symbolic link to " + real + ", outside the model folder"
	}
	info, err := os.Stat(real)
	if err != nil {
		return ""
	}
	if e.Offset > info.Size() || e.Length >= 0 && e.Offset+max(e.Length, 0) > info.Size() || e.Offset < 0 && e.Length > info.Size() {
		return fmt.Sprintf("the declared range (offset %d, length %d) runs past the end of the %d-byte file", e.Offset, e.Length, info.Size())
	}
	return ""
}
