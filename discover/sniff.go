package discover

import (
	"bytes"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/archive/zipreader"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/scan"
)

// containerFormats are the analyzers of archives and compressors: a file
// they claim is ML only when its name or its members say so.
var containerFormats = map[string]bool{
	"zip": true, "tar": true, "7z": true, "gzip": true, "bzip2": true, "xz": true, "lzma": true, "lz4": true, "zlib": true,
}

// configFormats are analyzers of JSON and template files that sit next to
// models: they are not model files by themselves.
var configFormats = map[string]bool{"hf-remote-code": true, "chat-template": true}

// companionAnalyzers run beside a container analyzer on the same bytes and
// claim whatever it claims (pytorch-zip checks the storages of any zip
// that holds a data.pkl): their claim names no format of its own, the
// container's members decide.
var companionAnalyzers = map[string]bool{"pytorch-zip": true}

// modelExts are the extensions of model files; an archive or compressed
// file named with one (or holding members named with one) holds a model.
var modelExts = map[string]bool{
	".pt": true, ".pth": true, ".bin": true, ".ckpt": true, ".keras": true, ".npz": true, ".npy": true,
	".joblib": true, ".pkl": true, ".pickle": true, ".safetensors": true, ".gguf": true, ".onnx": true,
	".h5": true, ".hdf5": true, ".tflite": true, ".msgpack": true, ".mar": true, ".nemo": true,
	".mlmodel": true, ".pb": true, ".ggml": true, ".llamafile": true, ".pdparams": true,
}

// modelWords in an archive's name say it packs a model ("model.tar.gz",
// SageMaker's layout).
var modelWords = []string{"model", "checkpoint", "ckpt", "weights", "lora", "adapter"}

// zipMemberFormats name the format of a zip from one of its members'
// base names.
var zipMemberFormats = map[string]string{
	"data.pkl": "pytorch-zip", "constants.pkl": "torchscript", "saved_model.pb": "saved-model",
}

// maxZipEntries bounds the members listed to recognize a zip.
const maxZipEntries = 2000

// sniffer recognizes model files by content with the scanner's analyzers.
type sniffer struct {
	analyzers []analyzer.Analyzer
}

func newSniffer() *sniffer {
	return &sniffer{analyzers: scan.Analyzers(pickle.DefaultPolicy())}
}

// classify returns the kind and formats of a file from its first bytes
// (buf, at least analyzer.HeadSize of them unless the file is shorter);
// ra reads the whole file. The kind is "" when the file is not a model.
func (s *sniffer) classify(name string, buf []byte, size int64, ra io.ReaderAt) (Kind, []string) {
	head := buf[:min(len(buf), analyzer.HeadSize)]
	if int64(len(buf)) == size {
		ra = bytes.NewReader(buf)
	}
	in := analyzer.NewInput(locationOf(name), name, size, head, 0, defaultLimits, ra, nil, nil)
	var models, containers []string
	for _, a := range s.analyzers {
		n := a.Name()
		if configFormats[n] || companionAnalyzers[n] || !safeSniff(a, in) {
			continue
		}
		if containerFormats[n] {
			containers = append(containers, n)
		} else {
			models = append(models, n)
		}
	}
	if len(models) > 0 {
		return KindModelFile, sortedUnique(append(uncovered(s.analyzers, models), containers...))
	}
	if len(containers) == 0 {
		return "", nil
	}
	if containers[0] == "zip" {
		if f, ok := zipFormat(ra, size); ok {
			kind := KindArchive
			if f == "pytorch-zip" || f == "torchscript" {
				kind = KindModelFile
			}
			return kind, sortedUnique(append(containers, f))
		}
	}
	if nameSuggestsModel(name) {
		return KindArchive, sortedUnique(containers)
	}
	return "", nil
}

// safeSniff runs a sniffer; a panic in one (on bytes no fuzzer tried) means
// "not this format" rather than the end of the walk.
func safeSniff(a analyzer.Analyzer, in *analyzer.Input) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return a.Sniff(in)
}

// zipFormat lists a zip's members (at most maxZipEntries) and names its
// model format, if a member says it holds one.
func zipFormat(ra io.ReaderAt, size int64) (string, bool) {
	z, err := zipreader.Open(ra, size, zipreader.Options{MaxEntries: maxZipEntries})
	if err != nil || z == nil {
		return "", false
	}
	format := ""
	for _, e := range z.Entries {
		base := strings.ToLower(path.Base(e.Name))
		if f, ok := zipMemberFormats[base]; ok {
			if format == "" || f == "torchscript" {
				format = f
			}
			continue
		}
		if format == "" && modelExts[path.Ext(base)] {
			format = "model-archive"
		}
	}
	return format, format != ""
}

// nameSuggestsModel reports whether an archive's name says it holds a
// model: a model extension anywhere in it (model.pt, frame.pkl.gz) or a
// model word.
func nameSuggestsModel(name string) bool {
	lower := strings.ToLower(name)
	for i := strings.IndexByte(lower, '.'); i >= 0; {
		j := strings.IndexByte(lower[i+1:], '.')
		ext := lower[i:]
		if j >= 0 {
			ext = lower[i : i+1+j]
		}
		if modelExts[ext] {
			return true
		}
		if j < 0 {
			break
		}
		i += 1 + j
	}
	for _, w := range modelWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}

func sortedUnique(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// defaultLimits are the limits the sniffers see (they read only heads).
var defaultLimits = func() *analyzer.Limits { l := analyzer.DefaultLimits(); return &l }()

func locationOf(name string) finding.Location { return finding.Location{Path: name, Offset: -1} }

// uncovered drops the formats that a matched covering analyzer includes
// (a legacy PyTorch file is also a pickle).
func uncovered(all []analyzer.Analyzer, names []string) []string {
	matched := map[string]bool{}
	for _, n := range names {
		matched[n] = true
	}
	covered := map[string]bool{}
	for _, a := range all {
		if c, ok := a.(analyzer.Covering); ok && matched[a.Name()] {
			for _, n := range c.Covers() {
				covered[n] = true
			}
		}
	}
	out := names[:0:0]
	for _, n := range names {
		if !covered[n] {
			out = append(out, n)
		}
	}
	return out
}
