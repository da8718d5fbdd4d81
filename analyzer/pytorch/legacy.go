// Package pytorch analyzes what is particular to PyTorch's formats: the
// legacy format of torch.save(_use_new_zipfile_serialization=False), a
// sequence of pickles followed by raw storage bytes (Legacy), and the
// storages of the zip format, checked against the records that hold them
// (Zip). (The zip format and TorchScript archives are zip files: the
// archive analyzer hands their members, each sniffed, to the engine, and
// data.pkl is judged by the pickle analyzer; the old tar layout is a tar
// file.)
package pytorch

import (
	"bytes"
	"context"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
)

// legacyMagic is what torch.save writes first in the legacy format: the
// magic number 0x1950a86a20f9469cfc6c pickled at protocol 2 and above
// (PROTO n, LONG1 of 10 bytes).
var legacyMagic = []byte{0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e}

// legacyPickles is how many pickles torch.load reads in the legacy format:
// the magic number, the protocol version, the system info, the object, and
// the list of storage keys. Raw storage bytes follow.
const legacyPickles = 5

// Legacy analyzes PyTorch's legacy (non-zip) checkpoints.
type Legacy struct {
	pickle *pickle.Analyzer
}

// NewLegacy returns the analyzer, judging the pickles with p.
func NewLegacy(p *pickle.Analyzer) *Legacy { return &Legacy{pickle: p} }

// LegacyName is the name of the Legacy analyzer (violet scan --analyzers, the report's tool.analyzers).
const LegacyName = "pytorch-legacy"

// Name is LegacyName.
func (*Legacy) Name() string { return LegacyName }

// Version is the analyzer's version.
func (*Legacy) Version() string { return "1" }

// ConfigDigest is that of the pickle analyzer it judges with
// (analyzer.Configured).
func (l *Legacy) ConfigDigest() string { return l.pickle.ConfigDigest() }

// DelegateVersions names the pickle analyzer, which traces the pickles
// (analyzer.Delegating).
func (l *Legacy) DelegateVersions() []string {
	return []string{l.pickle.Name() + "/" + l.pickle.Version()}
}

// Covers names the pickle analyzer: the legacy analyzer traces the same
// pickles and stops where the raw storage bytes begin.
func (*Legacy) Covers() []string { return []string{"pickle"} }

// Sniff recognizes the pickled magic number at the start of the file.
func (*Legacy) Sniff(in *analyzer.Input) bool {
	h := in.Head
	return len(h) > 2+len(legacyMagic) && h[0] == 0x80 && h[1] >= 2 && h[1] <= 5 && bytes.HasPrefix(h[2:], legacyMagic)
}

// Analyze traces the five pickles torch.load executes; the storage bytes
// after them are data that no unpickler reads.
func (l *Legacy) Analyze(ctx context.Context, in *analyzer.Input, out analyzer.Output) error {
	out.Format("pytorch-legacy")
	return l.pickle.ScanWith(ctx, in, out, pickle.ScanOptions{MaxStreams: legacyPickles})
}
