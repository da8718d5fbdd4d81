package scan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/archive"
	"github.com/violet-mlsecops/violet/analyzer/gguf"
	"github.com/violet-mlsecops/violet/analyzer/hfrepo"
	"github.com/violet-mlsecops/violet/analyzer/hydra"
	"github.com/violet-mlsecops/violet/analyzer/keras"
	"github.com/violet-mlsecops/violet/analyzer/kerash5"
	"github.com/violet-mlsecops/violet/analyzer/msgpack"
	"github.com/violet-mlsecops/violet/analyzer/numpy"
	"github.com/violet-mlsecops/violet/analyzer/onnx"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/analyzer/pytorch"
	"github.com/violet-mlsecops/violet/analyzer/safetensors"
	"github.com/violet-mlsecops/violet/analyzer/template"
	"github.com/violet-mlsecops/violet/analyzer/tensorflow"
	"github.com/violet-mlsecops/violet/analyzer/tflite"
)

// Analyzers returns every analyzer, in the order the engine tries them on
// an input: containers first, then the formats that hold pickles, then raw
// pickle. The order matters only where two formats could claim the same
// bytes (a legacy PyTorch file is also a pickle); content decides, never
// the file name.
func Analyzers(policy *pickle.Policy) []analyzer.Analyzer {
	pk := pickle.New(policy)
	list := []analyzer.Analyzer{archive.Zip{}, archive.Tar{}, archive.SevenZip{}}
	for _, s := range archive.Streams() {
		list = append(list, s)
	}
	return append(list, safetensors.Analyzer{}, gguf.Analyzer{}, onnx.Analyzer{}, template.Analyzer{}, tensorflow.Analyzer{}, keras.Analyzer{}, kerash5.Analyzer{}, hfrepo.Analyzer{}, hydra.New(policy), tflite.Analyzer{}, msgpack.Analyzer{}, numpy.New(pk), pytorch.NewLegacy(pk), pytorch.Zip{}, pk)
}

// Names returns the names of the analyzers of list, in order.
func Names(list []analyzer.Analyzer) []string {
	names := make([]string, len(list))
	for i, a := range list {
		names[i] = a.Name()
	}
	return names
}

// Select returns the analyzers of list named in only (all of them when
// only is empty) and not in skip, in the order of list. A name no analyzer
// of list has is an error listing the names there are, and so is a
// selection that leaves no analyzer.
func Select(list []analyzer.Analyzer, only, skip []string) ([]analyzer.Analyzer, error) {
	names := Names(list)
	for _, n := range slices.Concat(only, skip) {
		if !slices.Contains(names, n) {
			return nil, fmt.Errorf("unknown analyzer %q: the analyzers are %s", n, strings.Join(names, ", "))
		}
	}
	var out []analyzer.Analyzer
	for _, a := range list {
		if (len(only) == 0 || slices.Contains(only, a.Name())) && !slices.Contains(skip, a.Name()) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no analyzer left to run: the analyzers are %s", strings.Join(names, ", "))
	}
	return out, nil
}
