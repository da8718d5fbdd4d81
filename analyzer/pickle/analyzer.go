package pickle

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/finding"
)

// Version is the version of the pickle analyzer and its policy: it changes
// whenever a verdict may change.
const Version = "1"

// Analyzer scans raw pickle files. Formats built on pickle (PyTorch, joblib,
// NumPy) reuse Scan for the pickles they hold.
type Analyzer struct {
	policy *Policy
}

// New returns a pickle analyzer that judges globals with policy.
func New(policy *Policy) *Analyzer { return &Analyzer{policy: policy} }

// Name is "pickle".
func (a *Analyzer) Name() string { return "pickle" }

// Version is the analyzer's version.
func (a *Analyzer) Version() string { return Version }

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
	opts := Options{MaxStack: in.Limits.MaxPickleStack, MaxMemo: in.Limits.MaxPickleMemo,
		MaxOps: in.Limits.MaxPickleOps, MaxStreams: so.MaxStreams}
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
	for _, f := range a.Findings(tr, in.Location) {
		if f.Location.Offset >= 0 {
			f.Location.Offset += so.Base
		}
		out.Report(f)
	}
	return err
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
		out = append(out, a.streamFindings(&tr.Streams[i], loc)...)
	}
	return out
}

// use is what a stream does with one global.
type use struct {
	module, name string
	importOff    int64
	call         *Call // first call, if any
	callArgs     value
	escaped      bool
	onlyConst    bool // every call is getattr with constant arguments
}

func (a *Analyzer) streamFindings(st *Stream, loc finding.Location) []finding.Finding {
	uses := map[string]*use{}
	var order []string
	get := func(module, name string, off int64) *use {
		key := module + "\x00" + name
		u, ok := uses[key]
		if !ok {
			u = &use{module: module, name: name, importOff: off, onlyConst: true}
			uses[key] = u
			order = append(order, key)
		}
		return u
	}
	for _, im := range st.Imports {
		u := get(im.Module, im.Name, im.Offset)
		if im.obj != nil && im.obj.escaped {
			u.escaped = true
		}
	}
	var out []finding.Finding
	for i := range st.Calls {
		c := &st.Calls[i]
		if !c.Global {
			continue
		}
		u := get(c.module, c.name, c.Offset)
		switch c.Kind {
		case "BUILD", "SETITEM", "APPEND", "ADDITEMS":
			out = append(out, finding.New(finding.PickleInternals, loc.At(c.Offset),
				fmt.Sprintf("The pickle overwrites the state of the global %s (%s): a later use of it runs what the attacker put there.", clip(c.Callable), mutationVerb(c.Kind)),
				mutationEvidence(c, st.callArgs[i])))
			continue
		}
		if !c.constAttr {
			u.onlyConst = false
		}
		if u.call == nil || (u.call.constAttr && !c.constAttr) {
			u.call, u.callArgs = c, st.callArgs[i]
		}
	}
	for _, key := range order {
		u := uses[key]
		if u.call != nil && u.onlyConst && !u.escaped {
			continue // getattr(Class, 'NAME'): judged as Class.NAME, imported below
		}
		v := a.policy.Judge(u.module, u.name)
		if v.Allowed() {
			continue
		}
		called := u.call != nil
		rule := v.Rule
		if rule == finding.PickleUnknownCall && !called {
			rule = finding.PickleUnknownRef
		}
		// A module or name may be as long as the VM keeps (keepBytes).
		off, evidence := u.importOff, clip(v.Name)
		what := "references"
		if called {
			off, evidence, what = u.call.Offset, renderCall(v.Name, u.callArgs), "calls"
		}
		msg := fmt.Sprintf("The pickle %s %s, which %s.", what, clip(v.Name), v.Why)
		if !called && rule != finding.PickleUnknownRef {
			msg += " It is not called in the stream itself, but a stored callable is a trap that fires when the object is used."
		}
		out = append(out, finding.New(rule, loc.At(off), msg, evidence))
	}
	if e := st.Err; e != nil {
		if e.Limit {
			out = append(out, finding.New(finding.PickleLimit, loc.At(e.Offset),
				"The pickle stream breaks an analysis limit: "+e.Msg+". The rest of the file was not analyzed.", ""))
		} else {
			out = append(out, finding.New(finding.PickleMalformed, loc.At(e.Offset),
				"The pickle stream is malformed: "+e.Msg+". CPython's unpickler stops here; everything before it was analyzed.", ""))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Location.Offset < out[j].Location.Offset })
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
