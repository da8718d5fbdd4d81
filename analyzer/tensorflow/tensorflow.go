// Package tensorflow checks TensorFlow SavedModels (saved_model.pb) and
// frozen GraphDefs (.pb) without loading them: it walks the protobuf of the
// graph and of every function of its library, and reports the operations
// that run Python or touch files, and the operations that are not in its
// table of core TensorFlow operations. It also reads keras_metadata.pb, the
// Keras layer configs beside a SavedModel, for Lambda layers.
package tensorflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/internal/protowalk"
)

// Limits of the walk.
const (
	maxModel = 2 << 30 // a protobuf message is at most 2 GiB
	maxDepth = 32      // functions nested in attribute values
	maxNames = 3       // node names quoted in a finding
)

// Kinds of graph files.
const (
	KindSavedModel = "savedmodel"
	KindGraphDef   = "graphdef"
)

// Use is one operation used by a graph, with where it is first used.
type Use struct {
	// Op is the operation's name.
	Op string
	// Count is how many nodes (or func attributes) use it.
	Count int
	// Nodes holds the names of the first few nodes that use it.
	Nodes []string
	// Function names the library function holding the first use, or is ""
	// for the main graph.
	Function string
	// Offset is the byte offset of the first use's NodeDef.
	Offset int64
	// Reason says why the use is unsafe (for Model.Unsafe).
	Reason string
}

// Model is what the walk found.
type Model struct {
	// Kind is KindSavedModel or KindGraphDef.
	Kind string
	// SchemaVersion is the SavedModel's saved_model_schema_version.
	SchemaVersion int64
	// Functions lists the names of the functions of the libraries.
	Functions []string
	// Ops lists every operation used, by name.
	Ops []Use
	// Unsafe lists the operations that run Python or touch files, by name.
	Unsafe []Use
	// Unknown lists the operations that are neither core operations nor
	// library functions, by name.
	Unknown []Use
}

// Parse walks a SavedModel (kind KindSavedModel) or a GraphDef (kind
// KindGraphDef).
func Parse(data []byte, kind string) (*Model, error) {
	w := &walker{data: data, ops: map[string]*Use{}, unsafe: map[string]*Use{}, funcs: map[string]bool{}}
	m := &Model{Kind: kind}
	var err error
	switch kind {
	case KindSavedModel:
		err = fields(data, func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error {
			switch {
			case num == 1 && typ == protowire.VarintType:
				m.SchemaVersion = int64(n)
			case num == 2 && typ == protowire.BytesType: // meta_graphs
				return fields(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
					if num == 2 && typ == protowire.BytesType { // graph_def
						return w.graph(v)
					}
					return nil
				})
			}
			return nil
		})
	case KindGraphDef:
		err = w.graph(data)
	default:
		return nil, fmt.Errorf("unknown kind %q", kind)
	}
	if err != nil {
		return nil, err
	}
	for f := range w.funcs {
		m.Functions = append(m.Functions, f)
	}
	sort.Strings(m.Functions)
	m.Ops = sorted(w.ops)
	m.Unsafe = sorted(w.unsafe)
	for _, u := range m.Ops {
		if !coreOps[u.Op] && !w.funcs[u.Op] && !pythonOps[u.Op] && !fileOps[u.Op] {
			m.Unknown = append(m.Unknown, u)
		}
	}
	return m, nil
}

func sorted(m map[string]*Use) []Use {
	var s []Use
	for _, u := range m {
		s = append(s, *u)
	}
	sort.Slice(s, func(i, j int) bool { return s[i].Op < s[j].Op || s[i].Op == s[j].Op && s[i].Reason < s[j].Reason })
	return s
}

// fields walks the fields of a message (protowalk.Fields).
var fields = protowalk.Fields

type walker struct {
	data   []byte
	ops    map[string]*Use
	unsafe map[string]*Use
	funcs  map[string]bool
}

// offset returns the offset of v, a slice of w.data.
func (w *walker) offset(v []byte) int64 {
	return int64(cap(w.data) - cap(v))
}

// node is what the walk keeps of a NodeDef.
type node struct {
	name, op, function string
	offset             int64
	debugURLs          []string
	outputStream       string
	descriptorSource   string
}

func (w *walker) graph(b []byte) error {
	return fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1: // node
			return w.node(v, "")
		case 2: // library
			return fields(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				if num == 1 && typ == protowire.BytesType {
					return w.function(v)
				}
				return nil
			})
		}
		return nil
	})
}

func (w *walker) function(b []byte) error {
	// The name comes from the signature, which need not come first.
	name := ""
	var nodes, attrs [][]byte
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1: // signature
			return fields(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				if num == 1 && typ == protowire.BytesType {
					name = string(v)
				}
				return nil
			})
		case 3: // node_def
			nodes = append(nodes, v)
		case 5: // attr
			attrs = append(attrs, v)
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.funcs[name] = true
	for _, v := range nodes {
		if err := w.node(v, name); err != nil {
			return err
		}
	}
	// The function's own attributes may name other functions.
	fn := &node{name: "", function: name, offset: -1}
	for _, v := range attrs {
		if err := w.attrEntry(v, fn, 0); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) node(b []byte, function string) error {
	n := &node{function: function, offset: w.offset(b)}
	var attrs [][]byte
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1:
			n.name = string(v)
		case 2:
			n.op = string(v)
		case 5:
			attrs = append(attrs, v)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, v := range attrs {
		if err := w.attrEntry(v, n, 0); err != nil {
			return err
		}
	}
	w.use(n.op, n)
	return nil
}

// attrEntry walks one entry of a map<string, AttrValue>.
func (w *walker) attrEntry(b []byte, n *node, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("attribute values nested deeper than %d", maxDepth)
	}
	key := ""
	var value []byte
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			key = string(v)
		case num == 2 && typ == protowire.BytesType:
			value = v
		}
		return nil
	})
	if err != nil {
		return err
	}
	return w.attrValue(value, key, n, depth)
}

func (w *walker) attrValue(b []byte, key string, n *node, depth int) error {
	return fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1: // list
			return fields(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				switch {
				case num == 2 && typ == protowire.BytesType && key == "debug_urls" && depth == 0:
					n.debugURLs = append(n.debugURLs, string(v))
				case num == 9 && typ == protowire.BytesType: // func
					return w.nameAttrList(v, n, depth)
				}
				return nil
			})
		case 2: // s
			if depth == 0 {
				switch key {
				case "output_stream":
					n.outputStream = string(v)
				case "descriptor_source":
					n.descriptorSource = string(v)
				}
			}
		case 10: // func
			return w.nameAttrList(v, n, depth)
		}
		return nil
	})
}

// nameAttrList walks a function named by an attribute: the name is
// recorded as a use (an operation may stand for a function), and its
// attributes are walked.
func (w *walker) nameAttrList(b []byte, n *node, depth int) error {
	name := ""
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			name = string(v)
		case num == 2 && typ == protowire.BytesType:
			return w.attrEntry(v, n, depth+1)
		}
		return nil
	})
	if err != nil || name == "" {
		return err
	}
	w.use(name, &node{name: n.name, function: n.function, offset: n.offset})
	return nil
}

// use records that node n uses op, and whether that is unsafe.
func (w *walker) use(op string, n *node) {
	record(w.ops, op, op, "", n)
	if reason := unsafeOp(op, n); reason != "" {
		record(w.unsafe, op+"\x00"+reason, op, reason, n)
	}
}

func record(m map[string]*Use, key, op, reason string, n *node) {
	u := m[key]
	if u == nil {
		u = &Use{Op: op, Function: n.function, Offset: n.offset, Reason: reason}
		m[key] = u
	}
	u.Count++
	if len(u.Nodes) < maxNames && n.name != "" {
		u.Nodes = append(u.Nodes, n.name)
	}
}

// saverFunctions are the name prefixes of the functions that save and
// restore a SavedModel's variables.
var saverFunctions = []string{"__inference_save", "__inference__traced_save", "__inference__traced_restore"}

// unsafeOp says why node n's use of op is unsafe, or returns "".
func unsafeOp(op string, n *node) string {
	switch {
	case pythonOps[op] || strings.Contains(op, "PyFunc"):
		return "it runs a Python function of the process that loads the graph"
	case fileOps[op]:
		return "it reads, writes or lists files"
	case saverOps[op]:
		if strings.HasPrefix(strings.ToLower(n.name), "save") {
			return ""
		}
		for _, p := range saverFunctions {
			if strings.HasPrefix(n.function, p) {
				return ""
			}
		}
		return "it reads or writes checkpoint files outside the saver"
	case debugOps[op] && len(n.debugURLs) > 0:
		return "it sends tensors to " + strings.Join(n.debugURLs, ", ")
	case op == "PrintV2" && strings.HasPrefix(n.outputStream, "file://"):
		return "it writes to " + n.outputStream
	case protoOps[op] && n.descriptorSource != "" && n.descriptorSource != "local://":
		return "it reads a descriptor set from " + n.descriptorSource
	}
	return ""
}

// Analyzer checks TensorFlow SavedModels and GraphDefs.
type Analyzer struct{}

// Name is the analyzer's name (violet scan --analyzers, the report's tool.analyzers).
const Name = "tensorflow"

// Name is Name.
func (Analyzer) Name() string { return Name }

// Version is the analyzer's version.
func (Analyzer) Version() string { return "1" }

// kind tells a graph file from its name and head, or returns "".
func kind(in *analyzer.Input) string {
	name := strings.ToLower(path.Base(in.Name))
	switch {
	case name == "keras_metadata.pb":
		if validHead(in.Head, map[protowire.Number]protowire.Type{1: protowire.BytesType}) {
			return kindKeras
		}
		return ""
	case name == "fingerprint.pb" || path.Ext(name) != ".pb":
		return ""
	}
	if sniffSavedModel(in.Head) {
		return KindSavedModel
	}
	if sniffGraphDef(in.Head) {
		return KindGraphDef
	}
	return ""
}

const kindKeras = "keras-metadata"

// validHead reports whether the fields of h, as far as it goes, have the
// numbers and wire types of known, and how many there are.
func validHead(h []byte, known map[protowire.Number]protowire.Type) bool {
	seen := 0
	for len(h) > 0 {
		num, typ, k := protowire.ConsumeTag(h)
		if k < 0 {
			return false
		}
		if want, ok := known[num]; !ok || want != typ {
			return false
		}
		seen++
		k2 := protowire.ConsumeFieldValue(num, typ, h[k:])
		if k2 < 0 {
			break // the field runs past the head
		}
		h = h[k+k2:]
	}
	return seen > 0
}

// prefix returns the bytes of the length-delimited field that starts h
// (after its tag), cut at the end of h when it runs past it.
func prefix(h []byte) []byte {
	_, _, k := protowire.ConsumeTag(h)
	if k < 0 {
		return nil
	}
	n, k2 := protowire.ConsumeVarint(h[k:])
	if k2 < 0 {
		return nil
	}
	h = h[k+k2:]
	if uint64(len(h)) > n {
		h = h[:n]
	}
	return h
}

// sniffSavedModel accepts saved_model_schema_version (field 1, a small
// varint) then meta_graphs (field 2) whose head holds MetaGraphDef fields.
func sniffSavedModel(h []byte) bool {
	if len(h) < 4 || h[0] != 0x08 || h[1] == 0 || h[1] > 8 || h[2] != 0x12 {
		return false
	}
	if !validHead(h, map[protowire.Number]protowire.Type{1: protowire.VarintType, 2: protowire.BytesType}) {
		return false
	}
	meta := prefix(h[2:])
	bytesFields := map[protowire.Number]protowire.Type{}
	for i := protowire.Number(1); i <= 7; i++ {
		bytesFields[i] = protowire.BytesType
	}
	return validHead(meta, bytesFields)
}

// sniffGraphDef accepts a GraphDef that starts with a NodeDef holding a
// name and an operation, or with its versions.
func sniffGraphDef(h []byte) bool {
	if !validHead(h, map[protowire.Number]protowire.Type{1: protowire.BytesType, 2: protowire.BytesType,
		3: protowire.VarintType, 4: protowire.BytesType, 5: protowire.BytesType}) {
		return false
	}
	switch h[0] {
	case 0x0a: // node
		n := prefix(h)
		var name, op string
		if !validHead(n, map[protowire.Number]protowire.Type{1: protowire.BytesType, 2: protowire.BytesType,
			3: protowire.BytesType, 4: protowire.BytesType, 5: protowire.BytesType, 6: protowire.BytesType}) {
			return false
		}
		_ = fields(n, func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) error {
			switch num {
			case 1:
				name = string(v)
			case 2:
				op = string(v)
			}
			return nil
		})
		return name != "" && opName.MatchString(op)
	case 0x22: // versions: producer, min_consumer, bad_consumers
		v := prefix(h)
		return len(v) > 0 && validHead(v, map[protowire.Number]protowire.Type{1: protowire.VarintType,
			2: protowire.VarintType, 3: protowire.VarintType})
	}
	return false
}

var opName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_>.]*$`)

// Sniff accepts files named *.pb (but not fingerprint.pb) whose head is a
// SavedModel or a GraphDef, and keras_metadata.pb.
func (Analyzer) Sniff(in *analyzer.Input) bool {
	return kind(in) != ""
}

// Analyze walks the graph and reports unsafe and unknown operations.
func (Analyzer) Analyze(ctx context.Context, in *analyzer.Input, out analyzer.Output) error {
	k := kind(in)
	if k == "" {
		k = KindGraphDef
		if strings.EqualFold(path.Base(in.Name), "saved_model.pb") {
			k = KindSavedModel
		}
	}
	rep := analyzer.Reporter{Out: out, In: in}
	ra, size, err := in.ReaderAt()
	if err != nil {
		return err
	}
	what := map[string]string{KindSavedModel: "SavedModel", KindGraphDef: "GraphDef", kindKeras: "Keras metadata"}[k]
	if size > maxModel {
		rep.Report(finding.FormatMalformed, -1, fmt.Sprintf("The TensorFlow %s is %d bytes, more than a protobuf message can be.", what, size), "")
		return nil
	}
	data := make([]byte, size)
	if _, err := ra.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if k == kindKeras {
		out.Format("keras-metadata")
		return analyzeKeras(data, rep)
	}
	out.Format("tensorflow-" + k)
	m, err := Parse(data, k)
	if err != nil {
		rep.Report(finding.FormatMalformed, -1, fmt.Sprintf("The TensorFlow %s could not be parsed: %v.", what, err), "")
		return nil
	}
	for _, u := range m.Unsafe {
		rep.Report(finding.TFUnsafeOp, u.Offset, fmt.Sprintf("The graph uses %s %s: %s.", u.Op, where(u), u.Reason), evidence(u))
	}
	for _, u := range m.Unknown {
		rep.Report(finding.TFUnknownOp, u.Offset, fmt.Sprintf("The graph uses %s %s, which is not a core TensorFlow operation: a custom op library (native code) must provide it.", u.Op, where(u)), evidence(u))
	}
	return nil
}

// where says where u is used, in words.
func where(u Use) string {
	s := "once"
	if u.Count > 1 {
		s = fmt.Sprintf("%d times", u.Count)
	}
	if len(u.Nodes) > 0 {
		s += fmt.Sprintf(" (node %q", u.Nodes[0])
	} else {
		s += " ("
	}
	if u.Function != "" {
		if len(u.Nodes) > 0 {
			s += " "
		}
		s += fmt.Sprintf("in function %q", u.Function)
	}
	return s + ")"
}

func evidence(u Use) string {
	if len(u.Nodes) == 0 {
		return u.Op
	}
	return u.Op + ": " + strings.Join(u.Nodes, ", ")
}

// lambda matches a Lambda layer, or a function serialized as bytecode, in
// the JSON configs of keras_metadata.pb.
var lambda = regexp.MustCompile(`"class_name":\s*"Lambda"|"__lambda__"`)

// analyzeKeras checks keras_metadata.pb: SavedMetadata{nodes=1
// (SavedObject{metadata=5, a JSON string})}.
func analyzeKeras(data []byte, rep analyzer.Reporter) error {
	found := 0
	first := int64(-1)
	err := fields(data, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != 1 || typ != protowire.BytesType {
			return nil
		}
		return fields(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
			if num == 5 && typ == protowire.BytesType && lambda.Match(v) {
				if found == 0 {
					first = int64(cap(data) - cap(v))
				}
				found++
			}
			return nil
		})
	})
	if err != nil {
		rep.Report(finding.FormatMalformed, -1, fmt.Sprintf("The Keras metadata could not be parsed: %v.", err), "")
		return nil
	}
	if found > 0 {
		objects := "1 object"
		if found > 1 {
			objects = fmt.Sprintf("%d objects", found)
		}
		rep.Report(finding.KerasLambda, first, fmt.Sprintf("keras_metadata.pb describes %s with a Lambda layer or a serialized Python function.", objects), "Lambda")
	}
	return nil
}
