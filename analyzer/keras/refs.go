package keras

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// Limits of the decoding of encoded values.
const (
	// MaxBlobBytes is the most bytes that the encoded values of one config
	// decode to, in all: the rest is reported, not decoded.
	MaxBlobBytes = 64 << 20
	// MaxBlobs is the most encoded values decoded in one config.
	MaxBlobs = 256
	// minBase64 is the shortest base64 string, outside the wrappers that
	// always hold one, that is decoded: shorter ones are names and hashes.
	minBase64 = 64
	// minHex is the shortest hex string decoded.
	minHex = 128
	// maxReference is the longest string checked as a path or a URL.
	maxReference = 4096
	// valuePreview is how many characters of a value the evidence shows.
	valuePreview = 120
)

// Blob is an encoded value of a config, decoded: the engine scans it as a
// member of the file.
type Blob struct {
	// Path is where in the config, as a JSON path ("$.config.layers[2].config.module").
	Path string
	// Encoding is "base64" or "hex".
	Encoding string
	// Data are the decoded bytes.
	Data []byte
}

// MemberName is the name under which the blob is handed to the engine,
// below the config that holds it ("config.json#config.layers[1].config.module (base64)").
func (b Blob) MemberName(config string) string {
	return config + "#" + strings.TrimPrefix(strings.TrimPrefix(b.Path, "$"), ".") + " (" + b.Encoding + ")"
}

// lookupLayers read their vocabulary (and TextVectorization its IDF
// weights) from a file when the config gives a string instead of a list
// (CVE-2025-12058).
var lookupLayers = map[string][]string{
	"StringLookup":      {"vocabulary"},
	"IntegerLookup":     {"vocabulary"},
	"TextVectorization": {"vocabulary", "idf_weights"},
	"IndexLookup":       {"vocabulary"},
}

// loaderLayers load what a key of their config names when they are built
// from the config: an external SavedModel (TFSMLayer, CVE-2026-1462), a
// TensorFlow Hub module, a file of weights.
var loaderLayers = map[string][]string{
	"TFSMLayer":  {"filepath"},
	"KerasLayer": {"handle"},
}

// gadgetFunctions are functions of Keras itself that a config can hand to
// a layer as a callable (a Lambda's function, an activation) and that
// download, load or write files, or turn safe_mode off (CVE-2025-8747,
// CVE-2025-9906).
var gadgetFunctions = map[string]string{
	"get_file":                      "downloads a file (and extracts an archive) from a URL",
	"load_model":                    "loads another model, with the arguments the config gives (safe_mode=False)",
	"load_weights":                  "reads weights from a path the config gives",
	"save_model":                    "writes a model to a path the config gives",
	"save_weights":                  "writes weights to a path the config gives",
	"enable_unsafe_deserialization": "turns safe_mode off for the rest of the load",
	"set_global_attribute":          "changes Keras' global state (safe_mode among it)",
	"TFSMLayer":                     "loads an external TensorFlow SavedModel",
}

// fileKeys are config keys whose string value is a file, a folder or a
// download location that a layer or function opens (keras.utils.get_file's
// origin, fname and cache_dir among them): any value is reported.
var fileKeys = map[string]bool{
	"filepath": true, "file_path": true, "path": true, "filename": true, "fname": true, "file": true,
	"vocabulary_file": true, "vocab_file": true, "model_path": true, "saved_model_dir": true,
	"export_dir": true, "handle": true, "origin": true, "url": true, "uri": true, "cache_dir": true,
	"cache_subdir": true, "weights_path": true, "checkpoint": true,
}

// urlSchemes are the schemes of the URLs that tf.io.gfile, urllib and the
// model hubs open.
var urlSchemes = []string{"http://", "https://", "ftp://", "file://", "gs://", "s3://", "hdfs://", "ram://", "kaggle://", "hf://"}

// preview cuts s for the evidence.
func preview(s string) string {
	if len(s) > valuePreview {
		return s[:valuePreview] + "..."
	}
	return s
}

// references reports the keys of the object m (a serialized object with a
// class_name, or a layer's config) that name files or URLs a layer loads.
func (w *walker) references(m map[string]any, path, className string) {
	cfg, _ := m["config"].(map[string]any)
	if cfg == nil {
		return
	}
	name := layerName(m)
	for _, key := range lookupLayers[className] {
		if v, ok := cfg[key].(string); ok && v != "" {
			w.add(ExternalReference, path+".config."+key,
				fmt.Sprintf("%s layer %q: its %s is the file %q, which Keras reads while it loads the model, safe_mode or not (CVE-2025-12058: local file read, and SSRF through tf.io.gfile).", className, name, key, preview(v)),
				fmt.Sprintf("%s %s=%s", name, key, preview(v)))
		}
	}
	for _, key := range loaderLayers[className] {
		if v, ok := cfg[key].(string); ok && v != "" {
			what := "an external TensorFlow SavedModel, whose graph runs in the model (CVE-2026-1462: TFSMLayer loads it in safe_mode)"
			if className == "KerasLayer" {
				what = "a TensorFlow Hub module, downloaded and loaded as a SavedModel"
			}
			w.add(ExternalReference, path+".config."+key,
				fmt.Sprintf("%s layer %q: its %s %q names %s.", className, name, key, preview(v), what),
				fmt.Sprintf("%s %s=%s", name, key, preview(v)))
		}
	}
}

// knownReference reports whether the walk already reported the string at
// key of the object at path as a reference of its layer.
func (w *walker) knownReference(path string) bool {
	for i := len(w.issues) - 1; i >= 0 && i >= len(w.issues)-4; i-- {
		if w.issues[i].Kind == ExternalReference && w.issues[i].Path == path {
			return true
		}
	}
	return false
}

// function reports an object that hands a Keras function that loads files
// or turns safe_mode off to the layer that holds it.
func (w *walker) function(m map[string]any, path, className, module string) {
	if !inFamily(module) && module != "" {
		return // reported as an object from outside Keras
	}
	target := className
	if className == "function" {
		target = str(m, "config")
	}
	if className == "TFSMLayer" {
		return // a layer, not a callable: its filepath is reported
	}
	what, ok := gadgetFunctions[target]
	if !ok {
		return
	}
	ref := target
	if module != "" {
		ref = module + "." + target
	}
	w.add(UnsafeFunction, path,
		fmt.Sprintf("The config hands the Keras function %q to a layer, which calls it with arguments from the config while the model loads or runs: it %s. This is how CVE-2025-8747 and CVE-2025-9906 bypass safe_mode.", ref, what),
		ref)
}

// wrapper decodes the module of a TorchModuleWrapper layer, which Keras
// hands to torch.load(weights_only=False) when it builds the layer.
func (w *walker) wrapper(m map[string]any, path, className string) {
	if className != "TorchModuleWrapper" {
		return
	}
	cfg, _ := m["config"].(map[string]any)
	mod, ok := cfg["module"].(string)
	if !ok {
		return
	}
	name := layerName(m)
	p := path + ".config.module"
	data, _ := w.decode(mod, p, true)
	what := "is not valid base64"
	if data != nil {
		what = fmt.Sprintf("holds %d bytes (%s) encoded as base64, scanned as a member", len(data), serialKind(data))
	}
	w.add(EmbeddedObject, p,
		fmt.Sprintf("TorchModuleWrapper layer %q: its module, a torch.save archive, %s; loading the model hands it to torch.load(weights_only=False), which unpickles it (code execution even with safe_mode=True in Keras 3.11.0 to 3.11.2, CVE-2025-49655, and always with safe_mode=False).", name, what),
		fmt.Sprintf("%s module=%s", name, preview(mod)))
}

// text checks a string value of the config: a path or a URL, or an
// encoded blob.
func (w *walker) text(s, path, key string) {
	// Items of a list are data (vocabulary tokens, layer names of Keras 2
	// nodes) unless the key names files.
	if (w.inArray == 0 || fileKeys[strings.ToLower(key)]) && !w.knownReference(path) {
		if why := referenceKind(s, key); why != "" {
			w.add(ExternalReference, path,
				fmt.Sprintf("Layer %q: the config value %s is %s %q: a layer or function that opens it while the model loads or runs reaches outside the model file.", w.layer, key, why, preview(s)),
				fmt.Sprintf("%s %s=%s", w.layer, key, preview(s)))
		}
	}
	if w.inLambda > 0 {
		return
	}
	data, enc := w.decode(s, path, false)
	if data == nil {
		return
	}
	if kind := serialKind(data); kind != "data" {
		w.add(EmbeddedObject, path,
			fmt.Sprintf("The config value %s holds %d bytes of %s encoded as %s: a layer that deserializes it runs what it holds. It was scanned as a member.", key, len(data), kind, enc),
			fmt.Sprintf("%s=%s", key, preview(s)))
	}
}

// referenceKind says what kind of outside reference s is ("an absolute
// path"), or "" when it is none. A layer's name is a path only when it
// climbs out of a folder (CVE-2026-12479: layer names become paths when
// Keras stores assets on disk).
func referenceKind(s, key string) string {
	if len(s) > maxReference || len(s) < 2 || strings.ContainsAny(s, " \t\r\n") && !hasScheme(s) {
		return ""
	}
	if hasScheme(s) {
		return "the URL"
	}
	if traverses(s) {
		return "a path that climbs out of its folder with .."
	}
	if key == "name" {
		return ""
	}
	switch {
	case strings.HasPrefix(s, "/"),
		strings.HasPrefix(s, "~/"),
		strings.HasPrefix(s, `\\`),
		len(s) > 2 && s[1] == ':' && (s[2] == '\\' || s[2] == '/') && isLetter(s[0]):
		return "the absolute path"
	case fileKeys[strings.ToLower(key)]:
		return "the file name"
	}
	return ""
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// hasScheme reports whether s starts with a URL scheme that loaders open.
func hasScheme(s string) bool {
	l := strings.ToLower(s)
	for _, p := range urlSchemes {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

// traverses reports whether the path s has a ".." component.
func traverses(s string) bool {
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return strings.ContainsAny(s, `/\`)
		}
	}
	return false
}

// decode decodes s when it is base64 (any of the four alphabets) or hex of
// at least the minimum length (any length when always is set), within the
// walk's limits, and records it as a blob. It returns the bytes and the
// encoding, or nil.
func (w *walker) decode(s, path string, always bool) ([]byte, string) {
	if !always && len(s) < minBase64 {
		return nil, ""
	}
	enc := ""
	switch {
	case len(s) >= minHex && len(s)%2 == 0 && isHex(s):
		enc = "hex"
	case isBase64(s):
		enc = "base64"
	default:
		return nil, ""
	}
	size := len(s) / 2
	if enc == "base64" {
		size = base64.StdEncoding.DecodedLen(len(s))
	}
	if len(w.blobs) >= MaxBlobs || w.blobBytes+size > MaxBlobBytes {
		if !w.limited {
			w.limited = true
			w.add(BlobLimit, path, fmt.Sprintf("The config holds more encoded data than Violet decodes (%d values, %d bytes): this value and the rest were not scanned.", MaxBlobs, MaxBlobBytes), "")
		}
		return nil, ""
	}
	var data []byte
	if enc == "hex" {
		b, err := hex.DecodeString(s)
		if err != nil {
			return nil, ""
		}
		data = b
	} else {
		data = decodeBase64(s)
		if data == nil {
			return nil, ""
		}
	}
	w.blobBytes += len(data)
	w.blobs = append(w.blobs, Blob{Path: path, Encoding: enc, Data: data})
	return data, enc
}

// isHex reports whether s is all hex digits.
func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// isBase64 reports whether s holds only base64 characters (of either
// alphabet, with padding and line breaks).
func isBase64(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' ||
			c == '+' || c == '/' || c == '-' || c == '_' || c == '=' || c == '\n' || c == '\r') {
			return false
		}
	}
	return len(s) > 0
}

// decodeBase64 decodes s with the first base64 alphabet that accepts it.
func decodeBase64(s string) []byte {
	s = strings.NewReplacer("\n", "", "\r", "").Replace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b
		}
	}
	return nil
}

// serialKind names the serialization format that data starts with, or
// "data" when it is none that runs code or holds more files.
func serialKind(data []byte) string {
	switch {
	case len(data) >= 2 && data[0] == 0x80 && data[1] >= 2 && data[1] <= 5:
		return "a pickle"
	case len(data) >= 4 && string(data[:4]) == "PK\x03\x04":
		return "a zip archive (torch.save)"
	case len(data) >= 8 && string(data[:8]) == "\x89HDF\r\n\x1a\n":
		return "an HDF5 file"
	case len(data) >= 6 && string(data[:6]) == "\x93NUMPY":
		return "a NumPy array"
	case len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b:
		return "a gzip stream"
	case len(data) >= 17 && (data[0] == 0xe3 || data[0] == 0x63 && data[1] < 0x20):
		return "marshaled Python code"
	case protocol0(data):
		return "a protocol 0 pickle"
	}
	return "data"
}

// protocol0 reports whether data looks like a protocol 0 or 1 pickle that
// imports a global: it starts with a mark, a dict, a list or a GLOBAL
// opcode, ends with STOP, and holds a GLOBAL ("c" module "\n" name "\n").
func protocol0(data []byte) bool {
	if len(data) < 8 || data[len(data)-1] != '.' || !strings.ContainsRune("(c}]", rune(data[0])) {
		return false
	}
	head := data[:min(len(data), 4096)]
	for i := 0; i < len(head); i++ {
		if head[i] == 'c' && (i == 0 || head[i-1] == '\n' || head[i-1] == '(') && global(head[i+1:]) {
			return true
		}
	}
	return false
}

// global reports whether b starts with "module\nname\n".
func global(b []byte) bool {
	lines := 0
	for i := 0; i < len(b) && i < 256; i++ {
		c := b[i]
		switch {
		case c == '\n':
			if i == 0 || b[i-1] == '\n' {
				return false
			}
			lines++
			if lines == 2 {
				return true
			}
		case c == '.' || c == '_' || c >= '0' && c <= '9' || isLetter(c):
		default:
			return false
		}
	}
	return false
}
