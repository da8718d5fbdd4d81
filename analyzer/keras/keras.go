// Package keras checks Keras v3 model files (.keras) without loading them:
// it reads the model's config.json from the zip and walks every serialized
// object in it, looking for Lambda layers (Python bytecode), objects that
// Keras would import from modules outside Keras and TensorFlow, custom
// registered objects, Keras' own functions that download, load files or
// turn safe_mode off, values that name files and URLs that layers read
// while the model loads (vocabularies, external SavedModels, downloads),
// and serialized objects encoded in the config, which it decodes and hands
// to the engine to scan as members. The zip analyzer, which claims the same file, hands
// the weights and assets to the engine.
package keras

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/archive/zipreader"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/internal/pymarshal"
)

// Limits of the config walk.
const (
	// MaxConfig is the largest config.json read, in bytes.
	MaxConfig = 64 << 20
	// MaxDepth is how deeply the JSON of config.json may nest.
	MaxDepth = 256
	// MaxReferences is how many external references of one config are
	// reported one by one; the rest are counted in one more issue.
	MaxReferences = 100
	// codePreview is how many characters of a lambda's code the evidence shows.
	codePreview = 60
)

// kerasFamily are the top-level modules whose objects Keras deserializes
// from its own code.
var kerasFamily = []string{"keras", "keras_hub", "keras_nlp", "keras_cv", "tensorflow", "tf_keras"}

// inFamily reports whether module is one of kerasFamily or below one.
func inFamily(module string) bool {
	for _, p := range kerasFamily {
		if module == p || strings.HasPrefix(module, p+".") {
			return true
		}
	}
	return false
}

// Kind is the kind of a problem found in a config.
type Kind int

// Kinds of problems.
const (
	// Lambda is a Lambda layer or a function serialized as bytecode.
	Lambda Kind = iota
	// UnsafeModule is an object whose module is outside Keras and TensorFlow.
	UnsafeModule
	// CustomObject is a custom registered object.
	CustomObject
	// ExternalReference is a config value that names a file, a path or a
	// URL that Keras reads, loads or writes while it loads the model.
	ExternalReference
	// EmbeddedObject is a serialized object (a pickle, a torch.save
	// archive...) that the config carries encoded as text and that a layer
	// deserializes.
	EmbeddedObject
	// UnsafeFunction is a function of Keras itself that the config hands to
	// a layer as a callable and that downloads or loads files, or turns
	// safe_mode off.
	UnsafeFunction
	// BlobLimit says that the config holds more encoded data than the walk
	// decodes: the rest was not scanned.
	BlobLimit
)

// Rule returns the finding rule of the kind.
func (k Kind) Rule() string {
	switch k {
	case Lambda:
		return finding.KerasLambda
	case UnsafeModule:
		return finding.KerasUnsafeModule
	case ExternalReference:
		return finding.KerasExternalReference
	case EmbeddedObject:
		return finding.KerasEmbeddedObject
	case UnsafeFunction:
		return finding.KerasUnsafeFunction
	case BlobLimit:
		return finding.LimitSize
	default:
		return finding.KerasCustomObject
	}
}

// Issue is one problem found in a config.
type Issue struct {
	// Kind says what was found.
	Kind Kind
	// Path is where in the config, as a JSON path ("config.layers[2]").
	Path string
	// Message describes the problem.
	Message string
	// Evidence is the short text that shows it.
	Evidence string
}

// CheckDepth reports an error when the JSON in data nests deeper than
// maxDepth, or is not one valid JSON value.
func CheckDepth(data []byte, maxDepth int) error {
	d := json.NewDecoder(bytes.NewReader(data))
	depth := 0
	for {
		t, err := d.Token()
		if errors.Is(err, io.EOF) {
			if depth != 0 {
				return io.ErrUnexpectedEOF
			}
			return nil
		}
		if err != nil {
			return err
		}
		if delim, ok := t.(json.Delim); ok {
			switch delim {
			case '{', '[':
				depth++
				if depth > maxDepth {
					return fmt.Errorf("JSON nested deeper than %d", maxDepth)
				}
			default:
				depth--
			}
		}
	}
}

// Result is what a walk of a config found.
type Result struct {
	// Issues are the problems found, in the order of the walk.
	Issues []Issue
	// Blobs are the encoded values decoded, for the engine to scan as
	// members of the file.
	Blobs []Blob
}

// Walk decodes a config.json and returns the problems found in it. It
// returns an error when the config is not valid JSON or nests too deeply.
func Walk(data []byte) ([]Issue, error) {
	r, err := Scan(data)
	if err != nil {
		return nil, err
	}
	return r.Issues, nil
}

// Scan decodes a config.json and returns the problems found in it and the
// encoded values it decoded (at most MaxBlobs of them, MaxBlobBytes in
// all). It returns an error when the config is not valid JSON or nests too
// deeply.
func Scan(data []byte) (*Result, error) {
	if err := CheckDepth(data, MaxDepth); err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	w := &walker{}
	w.value(v, "$", "")
	if n := w.nrefs - MaxReferences; n > 0 {
		w.issues = append(w.issues, Issue{Kind: ExternalReference, Path: "$",
			Message: fmt.Sprintf("%d more values that name files or URLs, not listed.", n)})
	}
	return &Result{Issues: w.issues, Blobs: w.blobs}, nil
}

type walker struct {
	issues []Issue
	blobs  []Blob
	// blobBytes counts the decoded bytes of blobs.
	blobBytes int
	// limited is set once the blob limit was reported.
	limited bool
	// nrefs counts the external references found.
	nrefs int
	// layer is the name of the innermost serialized object being walked.
	layer string
	// inArray is above zero while the walk is in the items of a list,
	// and is reset in each object.
	inArray int
	// inLambda is above zero while the walk is inside the function of a
	// Lambda layer, whose code is decoded and reported with the layer.
	inLambda int
}

func (w *walker) add(k Kind, path, msg, evidence string) {
	if k == ExternalReference {
		w.nrefs++
		if w.nrefs > MaxReferences {
			return
		}
	}
	w.issues = append(w.issues, Issue{Kind: k, Path: path, Message: msg, Evidence: evidence})
}

// value walks any JSON value; key is the member name that holds it (the
// key of the nearest object for an array item).
func (w *walker) value(v any, path, key string) {
	switch x := v.(type) {
	case map[string]any:
		w.object(x, path)
	case []any:
		w.inArray++
		for i, e := range x {
			w.value(e, fmt.Sprintf("%s[%d]", path, i), key)
		}
		w.inArray--
	case string:
		w.text(x, path, key)
	}
}

// lambdaValue walks the function of a Lambda layer: its bytecode is not
// handed on as a blob.
func (w *walker) lambdaValue(v any, path, key string) {
	w.inLambda++
	w.value(v, path, key)
	w.inLambda--
}

// str returns m[key] when it is a string.
func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// layerName is the name of the layer or object m, or "".
func layerName(m map[string]any) string {
	if c, ok := m["config"].(map[string]any); ok {
		if n := str(c, "name"); n != "" {
			return n
		}
	}
	return str(m, "name")
}

// object checks one JSON object and walks its members.
func (w *walker) object(m map[string]any, path string) {
	savedArray, savedLayer := w.inArray, w.layer
	w.inArray = 0
	if _, ok := m["class_name"]; ok {
		w.layer = layerName(m)
	}
	defer func() { w.inArray, w.layer = savedArray, savedLayer }()
	className := str(m, "class_name")
	module := str(m, "module")
	registered := str(m, "registered_name")
	_, hasClass := m["class_name"]
	_, hasRegistered := m["registered_name"]
	skip := "" // a member already reported as part of this object

	w.references(m, path, className)
	w.function(m, path, className, module)
	w.wrapper(m, path, className)

	switch {
	case className == "Lambda":
		name := layerName(m)
		fn, key := lambdaFunction(m)
		if l, ok := fn.(map[string]any); ok && str(l, "class_name") == "__lambda__" {
			skip = key
		}
		w.add(Lambda, path, fmt.Sprintf("Lambda layer %q: loading the model runs its Python function%s.", name, codeSummary(fn)),
			lambdaEvidence(name, fn))
	case className == "__lambda__":
		name := layerName(m)
		w.add(Lambda, path, fmt.Sprintf("A Python lambda serialized as bytecode%s.", codeSummary(m)), lambdaEvidence(name, m))
	}

	if module != "" && (hasClass || hasRegistered) && !inFamily(module) {
		target := className
		if className == "function" || className == "" {
			if c := str(m, "config"); c != "" {
				target = c
			} else if target == "" {
				target = registered
			}
		}
		ref := module + "." + target
		custom := registered != "" && strings.Contains(registered, ">")
		if module == "__main__" && custom {
			w.add(CustomObject, path, fmt.Sprintf("The model needs the custom object %q (class %q), defined by the script that saved it.", registered, className), registered)
		} else {
			w.add(UnsafeModule, path, fmt.Sprintf("The config asks Keras to import %q and use %q from it: loading the model imports and calls it.", module, target), ref)
			if custom {
				w.add(CustomObject, path, fmt.Sprintf("The model needs the custom object %q from module %q.", registered, module), registered)
			}
		}
	} else if isCustom(className, registered) {
		name := registered
		if name == "" {
			name = className
		}
		w.add(CustomObject, path, fmt.Sprintf("The model needs the custom object %q (class %q), whose code is not in the file.", name, className), name)
	}

	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	_, fnKey := lambdaFunction(m)
	for _, k := range keys {
		child := path + "." + k
		if k == skip {
			// The lambda itself was reported with its layer: walk what it holds.
			if l, ok := m[k].(map[string]any); ok {
				w.inLambda++
				w.children(l, child)
				w.inLambda--
				continue
			}
		}
		if k == "config" && className == "Lambda" && strings.HasPrefix(fnKey, "config.") {
			if c, ok := m[k].(map[string]any); ok {
				w.lambdaConfig(c, child, strings.TrimPrefix(fnKey, "config."), skip == fnKey)
				continue
			}
		}
		if className == "TorchModuleWrapper" && k == "config" {
			// The module was decoded and reported with the layer.
			if c, ok := m[k].(map[string]any); ok {
				w.childrenExcept(c, child, "module")
				continue
			}
		}
		if className == "__lambda__" && (k == "code" || k == "config") || className == "Lambda" && k == fnKey {
			w.lambdaValue(m[k], child, k)
			continue
		}
		w.value(m[k], child, k)
	}
}

// lambdaConfig walks the config object c of a Lambda layer, whose member
// key holds the function. When reported is set, the function (a
// __lambda__ object) was reported with the layer and only what it holds is
// walked. The function's code is never handed on as a blob.
func (w *walker) lambdaConfig(c map[string]any, path, key string, reported bool) {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k != key {
			w.value(c[k], path+"."+k, k)
			continue
		}
		if l, ok := c[k].(map[string]any); ok && reported {
			w.inLambda++
			w.children(l, path+"."+k)
			w.inLambda--
			continue
		}
		w.lambdaValue(c[k], path+"."+k, k)
	}
}

// children walks the members of m without checking m itself.
func (w *walker) children(m map[string]any, path string) {
	w.childrenExcept(m, path, "")
}

// childrenExcept walks the members of m but skip without checking m itself.
func (w *walker) childrenExcept(m map[string]any, path, skip string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != skip || skip == "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		w.value(m[k], path+"."+k, k)
	}
}

// isCustom reports whether an object of the Keras family (or without a
// module) is a custom registered object: a registered name of the form
// "package>Name" outside the Keras packages, or a Keras 2 style class name
// of that form.
func isCustom(className, registered string) bool {
	for _, n := range []string{registered, className} {
		pkg, _, ok := strings.Cut(n, ">")
		if ok && !inFamily(pkg) {
			return true
		}
	}
	return false
}

// lambdaFunction returns the function of a Lambda layer and the path of the
// member that holds it, relative to the layer.
func lambdaFunction(m map[string]any) (any, string) {
	if c, ok := m["config"].(map[string]any); ok {
		if f, ok := c["function"]; ok {
			return f, "config.function"
		}
	}
	if f, ok := m["function"]; ok {
		return f, "function"
	}
	return nil, ""
}

// lambdaCode returns the base64 bytecode of a serialized lambda: the
// "code" member of a __lambda__ object (Keras 3), or of its config, or the
// first item of its config's "value", or the first item of a Keras 2
// function list.
func lambdaCode(fn any) string {
	switch x := fn.(type) {
	case string:
		return x
	case []any:
		if len(x) > 0 {
			s, _ := x[0].(string)
			return s
		}
	case map[string]any:
		if s := str(x, "code"); s != "" {
			return s
		}
		if c, ok := x["config"]; ok {
			if cm, ok := c.(map[string]any); ok {
				if s := str(cm, "code"); s != "" {
					return s
				}
				return lambdaCode(cm["value"])
			}
		}
	}
	return ""
}

// bytecode decodes base64 code: its length (or -1 when it is not base64)
// and, when the bytes are a marshaled code object, what it uses. The bytes
// are read by internal/pymarshal, never by Python.
func bytecode(code string) (int, *pymarshal.Code) {
	code = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' {
			return -1
		}
		return r
	}, code)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(code); err == nil {
			c, err := pymarshal.Decode(b, pymarshal.DefaultLimits())
			if err != nil {
				c = nil
			}
			return len(b), c
		}
	}
	return -1, nil
}

// codeSummary says what the lambda's code holds, for the message.
func codeSummary(fn any) string {
	code := lambdaCode(fn)
	if code == "" {
		return ""
	}
	switch n, c := bytecode(code); {
	case c != nil:
		return fmt.Sprintf(" (%d bytes of marshaled Python %s bytecode: %s)", n, c.Layout, c)
	case n >= 0:
		return fmt.Sprintf(" (%d bytes that are not a marshaled code object)", n)
	}
	return " (code that is not valid base64)"
}

// lambdaEvidence shows the layer name and the decoded function, or the
// start of the code when it does not decode.
func lambdaEvidence(name string, fn any) string {
	code := lambdaCode(fn)
	if _, c := bytecode(code); c != nil {
		code = c.String()
	} else if code != "" {
		if len(code) > codePreview {
			code = code[:codePreview]
		}
		code = "code=" + code
	}
	switch {
	case name == "" && code == "":
		return "Lambda"
	case code == "":
		return name
	case name == "":
		return code
	}
	return name + " " + code
}

// Analyzer checks Keras v3 model files.
type Analyzer struct{}

// Name is the analyzer's name (violet scan --analyzers, the report's tool.analyzers).
const Name = "keras"

// Name is Name.
func (Analyzer) Name() string { return Name }

// Version is the analyzer's version.
func (Analyzer) Version() string { return "1" }

// Sniff accepts a zip (a local file header at offset 0) that holds
// config.json and metadata.json at its root. With random access, the zip's
// entries are listed; a stream is judged from the names in its head.
func (Analyzer) Sniff(in *analyzer.Input) bool {
	if !bytes.HasPrefix(in.Head, []byte("PK\x03\x04")) {
		return false
	}
	if !in.HasReaderAt() {
		return bytes.Contains(in.Head, []byte("config.json")) && bytes.Contains(in.Head, []byte("metadata.json"))
	}
	ra, size, err := in.ReaderAt()
	if err != nil {
		return false
	}
	a, err := zipreader.Open(ra, size, zipreader.Options{MaxEntries: maxEntries(in)})
	if err != nil {
		return false
	}
	var config, metadata bool
	for _, e := range a.Entries {
		switch e.Name {
		case "config.json":
			config = true
		case "metadata.json":
			metadata = true
		}
	}
	return config && metadata
}

func maxEntries(in *analyzer.Input) int {
	if in.Limits != nil && in.Limits.MaxMembers > 0 {
		return in.Limits.MaxMembers
	}
	return 0
}

// Analyze reads config.json and reports what its objects would make Keras
// import, run or read, and hands the encoded objects it carries (the
// torch.save archive of a TorchModuleWrapper, a base64 pickle) to the
// engine as members. The weights and assets are members of the zip: the zip
// analyzer, which claims the same file, hands them to the engine.
func (Analyzer) Analyze(ctx context.Context, in *analyzer.Input, out analyzer.Output) error {
	out.Format("keras")
	rep := analyzer.Reporter{Out: out, In: in}
	ra, size, err := in.ReaderAt()
	if err != nil {
		return err
	}
	a, err := zipreader.Open(ra, size, zipreader.Options{MaxEntries: maxEntries(in)})
	if err != nil {
		rep.Report(finding.FormatMalformed, -1, "The Keras file is not a readable zip archive: "+err.Error()+".", "")
		return nil
	}
	configs := 0
	for _, e := range a.Entries {
		if e.Name != "config.json" {
			continue
		}
		configs++
		if err := ctx.Err(); err != nil {
			return err
		}
		data, msg := readConfig(a, e)
		if msg != "" {
			rep.Report(finding.FormatMalformed, -1, "The Keras config.json "+msg+".", "config.json")
			continue
		}
		r, err := Scan(data)
		if err != nil {
			rep.Report(finding.FormatMalformed, -1, "The Keras config.json is not valid: "+err.Error()+".", "config.json")
			continue
		}
		if err := Report(ctx, rep, "config.json", r); err != nil {
			return err
		}
	}
	if configs == 0 {
		rep.Report(finding.FormatMalformed, -1, "The Keras file holds no config.json.", "")
	}
	return nil
}

// Report reports the issues of a config named config (config.json, or an
// H5 root attribute) and hands its decoded blobs to the engine as members.
// It returns the error of Output.Member, which stops the container.
func Report(ctx context.Context, rep analyzer.Reporter, config string, r *Result) error {
	for _, is := range r.Issues {
		rep.Report(is.Kind.Rule(), -1, config+" "+is.Path+": "+is.Message, is.Evidence)
	}
	for _, b := range r.Blobs {
		m := analyzer.Member{
			Name:           b.MemberName(config),
			Size:           int64(len(b.Data)),
			CompressedSize: -1,
			ReaderAt:       bytes.NewReader(b.Data),
		}
		if err := rep.Out.Member(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// readConfig reads a config.json entry, at most MaxConfig bytes; it
// returns what is wrong with it when it cannot.
func readConfig(a *zipreader.Archive, e *zipreader.Entry) ([]byte, string) {
	if e.Encrypted {
		return nil, "is encrypted"
	}
	if e.UncompressedSize > MaxConfig {
		return nil, fmt.Sprintf("is %d bytes, more than %d", e.UncompressedSize, MaxConfig)
	}
	rc, err := a.Open(e)
	if err != nil {
		return nil, "could not be read: " + err.Error()
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, MaxConfig+1))
	if err != nil {
		return nil, "could not be read: " + err.Error()
	}
	if len(data) > MaxConfig {
		return nil, fmt.Sprintf("is more than %d bytes", MaxConfig)
	}
	return data, ""
}
