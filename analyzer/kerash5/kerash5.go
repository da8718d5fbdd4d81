// Package kerash5 checks Keras models saved to HDF5 (.h5, .hdf5, .keras of
// Keras 2) without loading them. Keras keeps the whole architecture in the
// root group's model_config attribute, a JSON string, and the compile
// settings in training_config; keras.models.load_model rebuilds every object
// they name, runs the bytecode of Lambda layers and imports what a layer's
// module names. The analyzer reads those attributes with a minimal HDF5
// reader (internal/hdf5) and walks them as the .keras analyzer walks
// config.json. An HDF5 file without them (weights only, or data) is reported
// as plain hdf5.
//
// Every HDF5 file, weights only or not (a .weights.h5, the model.weights.h5
// of a .keras archive), is then walked object by object for what makes the
// HDF5 library read other files of the host while Keras loads the weights
// (CVE-2026-1669): external storage, external links and virtual datasets
// whose sources are other files.
package kerash5

import (
	"context"
	"fmt"
	"io"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/keras"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/internal/hdf5"
)

// configAttributes are the root attributes that Keras deserializes objects
// from when it loads a model.
var configAttributes = []string{"model_config", "training_config"}

// signature starts the HDF5 superblock, at offset 0 or after a userblock of
// 512, 1024, 2048... bytes.
const signature = "\x89HDF\r\n\x1a\n"

// Analyzer checks Keras HDF5 models.
type Analyzer struct{}

// Name is the analyzer's name (violet scan --analyzers, the report's tool.analyzers).
const Name = "keras-h5"

// Name is Name.
func (Analyzer) Name() string { return Name }

// Version is the analyzer's version.
func (Analyzer) Version() string { return "2" }

// Sniff accepts a file with the HDF5 signature where the HDF5 library
// looks for it: at offset 0 and at every power of two from 512 on (a file
// may start with a userblock of any such size, and h5py opens it). Beyond
// the head, only an input with random access is searched: a stream is
// never copied to be sniffed.
func (Analyzer) Sniff(in *analyzer.Input) bool {
	var ra io.ReaderAt
	if in.HasReaderAt() {
		ra, _, _ = in.ReaderAt()
	}
	n := int64(len(signature))
	for off := int64(0); ; off = max(512, 2*off) {
		switch {
		case off+n <= int64(len(in.Head)):
			if string(in.Head[off:off+n]) == signature {
				return true
			}
		case ra != nil && off+n <= in.Size:
			b := make([]byte, n)
			if _, err := ra.ReadAt(b, off); err == nil && string(b) == signature {
				return true
			}
		default:
			return false
		}
	}
}

// limits are the reader's limits for an input.
func limits() hdf5.Limits {
	lim := hdf5.DefaultLimits()
	lim.MaxAttributeBytes = keras.MaxConfig
	return lim
}

// Analyze reads the root group's attributes and reports what model_config
// and training_config would make Keras import, run or read (the encoded
// objects they carry are handed to the engine as members), then what the
// objects of the file make the HDF5 library read from other files.
func (Analyzer) Analyze(ctx context.Context, in *analyzer.Input, out analyzer.Output) error {
	rep := analyzer.Reporter{Out: out, In: in}
	ra, size, err := in.ReaderAt()
	if err != nil {
		return err
	}
	f, err := hdf5.Open(ra, size, limits())
	if err != nil {
		out.Format("hdf5")
		rep.Report(finding.FormatMalformed, -1, "The HDF5 file could not be read: "+err.Error()+".", "")
		return nil
	}
	root, err := f.Root()
	if err != nil {
		out.Format("hdf5")
		rep.Report(finding.FormatMalformed, -1, "The root group of the HDF5 file could not be read: "+err.Error()+".", "")
		return nil
	}
	attrs, err := root.Attributes()
	if err != nil {
		out.Format("hdf5")
		rep.Report(finding.FormatMalformed, -1, "The attributes of the HDF5 root group could not be read: "+err.Error()+".", "")
		return checkExternal(ctx, rep, f)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	keras := false
	for _, a := range attrs {
		if !isConfig(a.Name) {
			continue
		}
		keras = true
		if err := checkConfig(ctx, rep, a); err != nil {
			return err
		}
	}
	if keras {
		out.Format("keras-h5")
	} else {
		out.Format("hdf5")
	}
	return checkExternal(ctx, rep, f)
}

func isConfig(name string) bool {
	for _, c := range configAttributes {
		if name == c {
			return true
		}
	}
	return false
}

// checkConfig walks one config attribute. Keras reads a string, either a
// fixed-length one (Keras 2 writes bytes) or a variable-length one.
// The encoded objects it carries are handed to the engine as members; the
// error is that of Output.Member.
func checkConfig(ctx context.Context, rep analyzer.Reporter, a hdf5.Attribute) error {
	if a.Class != "string" || len(a.Strings) != 1 {
		rep.Report(finding.FormatMalformed, -1, fmt.Sprintf("The root attribute %s is not one string (class %s, %d strings): Keras cannot load it, and Violet cannot check it.", a.Name, a.Class, len(a.Strings)), a.Name)
		return nil
	}
	r, err := keras.Scan([]byte(a.Strings[0]))
	if err != nil {
		rep.Report(finding.FormatMalformed, -1, "The root attribute "+a.Name+" is not valid JSON: "+err.Error()+".", a.Name)
		return nil
	}
	return keras.Report(ctx, rep, a.Name, r)
}
