// Package analyzer defines what every format analyzer implements and what
// the scan engine hands it: an Input to read, and an Output to report
// findings and container members to.
//
// Analyzers live in one package per format below this one. They never
// recurse into containers themselves: a container analyzer hands each member
// back to the engine through Output.Member, so that nesting depth, total
// decompressed bytes, compression ratio and member counts are limited in one
// place.
package analyzer

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/violet-mlsecops/violet/finding"
)

// Analyzer finds problems in files of one format.
type Analyzer interface {
	// Name is the analyzer's short name ("pickle"); reports and the summary use it.
	Name() string
	// Version changes whenever the analyzer's verdicts may change.
	Version() string
	// Sniff reports whether in is this analyzer's format, judged from its
	// content (in.Head, and in.ReaderAt where it needs more); the name only
	// breaks ties.
	Sniff(in *Input) bool
	// Analyze reads in and reports findings and members to out. It returns an
	// error only when it could not finish; the engine turns that error into a
	// finding that marks the input as not fully analyzed.
	Analyze(ctx context.Context, in *Input, out Output) error
}

// Covering is implemented by an analyzer whose analysis includes what other
// analyzers would find in the same input (the PyTorch legacy analyzer traces
// the same pickles as the pickle analyzer, and knows where they end). When
// both claim an input, the engine runs only the covering one. Every other
// analyzer that claims an input runs: a file may be two formats at once (a
// polyglot), and each loader sees its own.
type Covering interface {
	// Covers lists the names of the analyzers this one covers.
	Covers() []string
}

// SniffVersioner is implemented by an analyzer whose Sniff (what it
// claims) changes less often than its Version (how it judges what it
// claims). A scan's content cache (scan.Options.Cache) reuses the result of
// a file this analyzer did not claim as long as the SniffVersion is the
// same, and re-analyzes only the files it claimed when only the Version
// changed. Without it, the sniff version is the Version (conservative).
type SniffVersioner interface {
	// SniffVersion changes whenever Sniff may claim other inputs.
	SniffVersion() string
}

// SniffVersion returns a's SniffVersion, or its Version when it has none.
func SniffVersion(a Analyzer) string {
	if s, ok := a.(SniffVersioner); ok {
		return s.SniffVersion()
	}
	return a.Version()
}

// Configured is implemented by an analyzer whose verdicts depend on a
// configuration beside its Version (the pickle allowlist of .violet.yaml and
// --allow): ConfigDigest changes with every configuration that may change a
// verdict, and is part of the key of a scan's content cache.
type Configured interface {
	// ConfigDigest identifies the configuration, the same for equal ones.
	ConfigDigest() string
}

// Delegating is implemented by an analyzer that judges with the code of
// another (the numpy analyzer runs the pickle analyzer on object arrays,
// the Hydra analyzer judges targets with the pickle policy): its verdicts
// change with that analyzer's Version too. A scan's content cache reuses a
// result this analyzer gave only while those versions are the same.
type Delegating interface {
	// DelegateVersions lists "name/version" of the analyzers it judges with.
	DelegateVersions() []string
}

// ReadsBeside is implemented by an analyzer that reads, for an input that
// is a file on disk, other files of its folder (ONNX external data, the
// Python files a configuration names): its verdict on the file depends on
// more than the file's bytes, so a scan's content cache keeps no result of
// a file this analyzer claimed.
type ReadsBeside interface {
	// ReadsBeside reports whether the analyzer may read other files.
	ReadsBeside() bool
}

// Output receives what an analyzer finds.
type Output interface {
	// Report records a finding.
	Report(f finding.Finding)
	// Member hands a member of a container to the engine, which checks the
	// limits, sniffs it and analyzes it before Member returns. A non-nil error
	// means the engine stops this container (a limit was reached and already
	// reported, or the context ended): the analyzer returns it unchanged.
	Member(ctx context.Context, m Member) error
	// Format names the format the analyzer recognized ("pytorch-zip"), for
	// the summary of formats found.
	Format(name string)
}

// Member is one member of a container.
type Member struct {
	// Name is the member's path inside the container.
	Name string
	// Size is the member's uncompressed size, or -1 when unknown.
	Size int64
	// CompressedSize is the number of bytes the member occupies in the
	// container, or -1 when unknown; the engine uses it for the ratio limit.
	CompressedSize int64
	// ReaderAt, when not nil, reads the member's bytes directly (a stored,
	// uncompressed member): the engine then never copies them.
	ReaderAt io.ReaderAt
	// Open returns a stream of the member's uncompressed bytes. It is used
	// when ReaderAt is nil.
	Open func() (io.ReadCloser, error)
}

// ErrStopped is returned by Output.Member when the engine stopped the
// container: a limit was reached (and reported) or the context ended.
var ErrStopped = errors.New("analysis stopped by the engine")

// Reporter is a convenience for analyzers: it builds findings of catalogued
// rules at locations inside in.
type Reporter struct {
	Out Output
	In  *Input
}

// Report reports a finding of rule id at byte offset off of the input (-1
// for the whole input).
func (r Reporter) Report(id string, off int64, message, evidence string) {
	r.Out.Report(finding.New(id, r.In.Location.At(off), message, evidence))
}

// ReportEach reports one finding of rule id per problem, each message the
// prefix followed by the problem, at most max of them, then one finding
// that counts the rest.
func (r Reporter) ReportEach(id, prefix string, problems []string, max int) {
	for i, p := range problems {
		if i == max {
			r.Report(id, -1, fmt.Sprintf("%d more problems like these.", len(problems)-max), "")
			return
		}
		r.Report(id, -1, prefix+p+".", "")
	}
}

// Unclaimed is the member that hands the n bytes at offset off of an
// input, which no part of its format claims, back to the engine: content
// hidden there is scanned as a file of its own.
func Unclaimed(ra io.ReaderAt, off, n int64) Member {
	return Member{
		Name:           fmt.Sprintf("unclaimed bytes %d-%d", off, off+n),
		Size:           n,
		CompressedSize: -1,
		ReaderAt:       io.NewSectionReader(ra, off, n),
	}
}
