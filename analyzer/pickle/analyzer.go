package pickle

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/finding"
)

// Version is the version of the pickle analyzer and its policy: it changes
// whenever a verdict may change.
const Version = "3"

// Analyzer scans raw pickle files. Formats built on pickle (PyTorch, joblib,
// NumPy) reuse Scan for the pickles they hold.
type Analyzer struct {
	policy *Policy
}

// New returns a pickle analyzer that judges globals with policy.
func New(policy *Policy) *Analyzer { return &Analyzer{policy: policy} }

// Name is the analyzer's name (violet scan --analyzers, the report's tool.analyzers).
const Name = "pickle"

// Name is Name.
func (a *Analyzer) Name() string { return Name }

// Version is the analyzer's version.
func (a *Analyzer) Version() string { return Version }

// ConfigDigest is the digest of the policy (analyzer.Configured).
func (a *Analyzer) ConfigDigest() string { return a.policy.Digest() }

// Sniff reports whether the input starts with a pickle stream.
func (a *Analyzer) Sniff(in *analyzer.Input) bool {
	return Sniff(in.Head, in.Size < 0 || int64(len(in.Head)) < in.Size)
}

// Analyze traces every stream of the input and reports what the policy
// does not allow.
func (a *Analyzer) Analyze(ctx context.Context, in *analyzer.Input, out analyzer.Output) error {
	return a.Scan(ctx, in, out)
}

// Scan traces the input as pickle streams and reports the findings at the
// input's location. It is the entry point for analyzers of formats that hold
// pickles.
func (a *Analyzer) Scan(ctx context.Context, in *analyzer.Input, out analyzer.Output) error {
	return a.ScanWith(ctx, in, out, ScanOptions{})
}

// ScanOptions say where pickles are inside an input of another format.
type ScanOptions struct {
	// Base is the offset at which the pickle data starts; finding offsets
	// are offsets in the input.
	Base int64
	// MaxStreams stops after that many streams (0: all of them), for
	// formats that load a known number of pickles and then raw data.
	MaxStreams int
}

// ScanWith is Scan of the pickle data at so.Base in the input.
func (a *Analyzer) ScanWith(ctx context.Context, in *analyzer.Input, out analyzer.Output, so ScanOptions) error {
	opts := LimitOptions(in.Limits)
	opts.MaxStreams = so.MaxStreams
	var tr *Trace
	var err error
	if in.HasReaderAt() {
		ra, size, _ := in.ReaderAt()
		tr, err = run(ctx, newSource(io.NewSectionReader(ra, so.Base, size-so.Base), size-so.Base, nil), opts)
	} else {
		rc, oerr := in.Open()
		if oerr != nil {
			return oerr
		}
		defer rc.Close()
		if _, oerr := io.CopyN(io.Discard, rc, so.Base); oerr != nil {
			return oerr
		}
		tr, err = run(ctx, newSource(nil, -1, rc), opts)
	}
	if err == nil && !executedAnything(tr) && !(startsWithProto(in, so.Base) && tr.Streams[0].Ops >= minMalformedOps) {
		// Not a pickle after all (text that reads as a few opcodes): the
		// stream failed before importing anything, so nothing could run.
		return nil
	}
	out.Format("pickle")
	var (
		members []analyzer.Member
		fs      []finding.Finding
		seen    = map[string]bool{}
	)
	for i := range tr.Streams {
		st := &tr.Streams[i]
		ms, ok := payloadMembers(st, in, so.Base)
		fs = append(fs, a.streamFindings(st, in.Location, ok)...)
		for _, m := range ms {
			if ok && !seen[m.Name] {
				seen[m.Name] = true
				members = append(members, m)
			}
		}
	}
	for _, f := range dedupe(fs) {
		if f.Location.Offset >= 0 {
			f.Location.Offset += so.Base
		}
		out.Report(f)
	}
	for _, m := range members {
		if merr := out.Member(ctx, m); merr != nil {
			return merr
		}
	}
	return err
}

// payloadMembers are the members that hand a stream's nested payloads to
// the engine. ok is false when some payload cannot be read again (a stream
// input without random access, a payload past the limit): then the loader
// is judged as a nested deserialization this scan cannot see into.
func payloadMembers(st *Stream, in *analyzer.Input, base int64) ([]analyzer.Member, bool) {
	if len(st.Payloads) == 0 || st.PayloadsDropped > 0 || st.OpaqueLoads > 0 {
		return nil, false
	}
	ra, size, _ := in.ReaderAt()
	var out []analyzer.Member
	for _, p := range st.Payloads {
		m := analyzer.Member{Name: fmt.Sprintf("%s payload at byte %d", p.Loader, base+p.Call), Size: p.Size, CompressedSize: -1}
		switch {
		case p.Offset < 0:
			m.ReaderAt = strings.NewReader(p.Data)
		case ra != nil && base+p.Offset+p.Size <= size:
			m.ReaderAt = io.NewSectionReader(ra, base+p.Offset, p.Size)
		default:
			return nil, false
		}
		out = append(out, m)
	}
	return out, true
}

// minMalformedOps is how far a stream that starts with PROTO, and fails
// without importing or calling anything, must get to be reported as a
// malformed pickle rather than dropped as data that merely starts like one
// (one float tensor in ten thousand does).
const minMalformedOps = 3

// executedAnything reports whether some stream of tr imported or called
// anything, or ended cleanly.
func executedAnything(tr *Trace) bool {
	for _, st := range tr.Streams {
		if st.Err == nil || len(st.Imports) > 0 || len(st.Calls) > 0 {
			return true
		}
	}
	return false
}

// startsWithProto reports whether the pickle data at base starts with a
// PROTO opcode: then it is a pickle, even a broken one.
func startsWithProto(in *analyzer.Input, base int64) bool {
	if base+1 < int64(len(in.Head)) {
		return in.Head[base] == opPROTO && in.Head[base+1] <= 5
	}
	return false
}

// Findings judges a trace: one finding per global the policy does not
// allow (with the first call of it as evidence), one per global whose
// attributes or items the stream overwrites, and one per malformed stream.
func (a *Analyzer) Findings(tr *Trace, loc finding.Location) []finding.Finding {
	var out []finding.Finding
	for i := range tr.Streams {
		out = append(out, a.streamFindings(&tr.Streams[i], loc, false)...)
	}
	return dedupe(out)
}

// dedupe drops the findings that another reader's trace of the same stream
// already made (same rule, place and evidence).
func dedupe(fs []finding.Finding) []finding.Finding {
	seen := make(map[string]bool, len(fs))
	out := fs[:0]
	for _, f := range fs {
		key := f.Rule + "\x00" + f.Location.String() + "\x00" + f.Evidence
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, f)
	}
	return out
}

func mutationVerb(kind string) string {
	switch kind {
	case "BUILD":
		return "BUILD sets its attributes"
	case "SETITEM":
		return "SETITEM writes into it"
	}
	return kind + " adds to it"
}

func mutationEvidence(c *Call, args value) string {
	var b strings.Builder
	b.WriteString(c.Kind)
	b.WriteString(" on ")
	b.WriteString(clip(c.Callable))
	b.WriteString(": ")
	if args.k == kTuple && len(args.p.items) > 0 {
		b.WriteString(render(args.p.items[0]))
	}
	return b.String()
}

// renderCall renders name(args) as Python source.
func renderCall(name string, args value) string {
	var b strings.Builder
	b.WriteString(name)
	renderArgs(&b, args, 3)
	return clip(b.String())
}
