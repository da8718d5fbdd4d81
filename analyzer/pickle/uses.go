package pickle

import (
	"fmt"
	"sort"
	"strings"

	"github.com/violet-mlsecops/violet/finding"
)

// useKind is what a stream does with a global, from the weakest act to the
// strongest. The policy judges an unknown global by the strongest.
type useKind uint8

const (
	// useRef: imported, stored, or passed as data; never called here.
	useRef useKind = iota
	// useNew: instantiated without running its constructor: NEWOBJ,
	// NEWOBJ_EX, INST or OBJ without arguments, or a helper that calls
	// cls.__new__ (copyreg._reconstructor, Cython's __pyx_unpickle_*,
	// scikit-learn's newObj). Only a type can be instantiated so.
	useNew
	// useValue: called with one constant (str, number, bool, None): how an
	// Enum member is pickled, looked up by its value.
	useValue
	// useCall: called with arguments of the stream's choosing.
	useCall
	// useInstanceCall: an object it produced is called in turn (an
	// instance's __call__, or a function a helper returned).
	useInstanceCall
)

var useVerbs = [...]string{useRef: "references", useNew: "instantiates", useValue: "looks up an Enum value of",
	useCall: "calls", useInstanceCall: "calls an instance of"}

// argUse is what an allowed helper does with one of its arguments.
type argUse struct {
	index int
	kind  useKind
}

// helperArgs are the allowed helpers that call, or instantiate, a callable
// the stream passes them. They are safe exactly when that callable is: it
// is judged as used by the helper (a function handed to functools.partial
// is called; a class handed to copyreg._reconstructor is instantiated).
var helperArgs = map[string][]argUse{
	"copyreg._reconstructor":                    {{0, useNew}, {1, useNew}},
	"functools.partial":                         {{0, useCall}},
	"numpy.vectorize":                           {{0, useCall}},
	"fsspec.spec.make_instance":                 {{0, useCall}},
	"torch._tensor._rebuild_from_type":          {{0, useCall}, {1, useNew}},
	"torch._tensor._rebuild_from_type_v2":       {{0, useCall}, {1, useNew}},
	"torch._utils._rebuild_wrapper_subclass":    {{0, useNew}},
	"jax._src.array._reconstruct_array":         {{0, useCall}},
	"numpy.random._pickle.__generator_ctor":     {{0, useCall}, {1, useCall}},
	"numpy.random._pickle.__bit_generator_ctor": {{0, useCall}},
	"numpy.random._pickle.__randomstate_ctor":   {{0, useCall}, {1, useCall}},
	"sklearn.metrics._dist_metrics.newObj":      {{0, useNew}},
	"sklearn.neighbors._dist_metrics.newObj":    {{0, useNew}},
	"sklearn.neighbors._ball_tree.newObj":       {{0, useNew}},
	"sklearn.neighbors._kd_tree.newObj":         {{0, useNew}},
	"sklearn.neighbors._binary_tree.newObj":     {{0, useNew}},
}

// callsItsState are the allowed classes whose instances call a callable
// kept in their state: partial(f).__setstate__((g, args, kwds, dict))
// replaces f by g, and numpy.vectorize keeps it under 'pyfunc'. A global
// found in such an object's BUILD state is judged as called.
var callsItsState = map[string]bool{"functools.partial": true, "numpy.vectorize": true}

// cythonUnpickle is Cython's helper __pyx_unpickle_Name(cls, checksum,
// state): it instantiates cls without its constructor.
var cythonUnpickle = []argUse{{0, useNew}}

// argLimits are allowed callables that are safe only with few positional
// arguments: type(x) returns a type, type(name, bases, dict) creates one.
var argLimits = map[string]int{"builtins.type": 1}

func helperFor(resolved string) []argUse {
	if h, ok := helperArgs[resolved]; ok {
		return h
	}
	if i := strings.LastIndexByte(resolved, '.'); i >= 0 && strings.HasPrefix(resolved[i+1:], "__pyx_unpickle_") {
		return cythonUnpickle
	}
	return nil
}

// use is what a stream does with one global.
type use struct {
	module, name string
	importOff    int64
	kind         useKind
	call         *Call // the first call of the strongest kind, if any
	callArgs     value
	via          string // the helper through which the strongest use happens
	escaped      bool
	onlyConst    bool // every call is getattr with constant arguments
	maxArgs      int64
	method       *use // for a bound method: the class whose instance it is read from
	helper       []argUse
	helperKnown  bool // helper is set
}

// uses collects the uses of a stream's globals in the order of first use.
type uses struct {
	byKey map[string]*use
	order []string
	last  *use // the last one got: calls come in runs of the same callable
}

func (us *uses) get(module, name string, off int64) *use {
	if l := us.last; l != nil && l.module == module && l.name == name {
		return l
	}
	u := us.lookup(module, name, off)
	us.last = u
	return u
}

func (us *uses) lookup(module, name string, off int64) *use {
	key := module + "\x00" + name
	u, ok := us.byKey[key]
	if !ok {
		u = &use{module: module, name: name, importOff: off, onlyConst: true, maxArgs: -1}
		us.byKey[key] = u
		us.order = append(us.order, key)
	}
	return u
}

// mark records a use of kind k, with the call that makes it as evidence.
func (u *use) mark(k useKind, c *Call, args value, via string) {
	if k > u.kind || (k == u.kind && u.call == nil && c != nil) {
		u.kind, u.call, u.callArgs, u.via = k, c, args, via
	}
}

// callKind classifies a call of a global by its opcode and arguments.
func callKind(c *Call, args value) useKind {
	switch c.Kind {
	case "NEWOBJ", "NEWOBJ_EX":
		return useNew
	case "INST", "OBJ":
		if args.k == kTuple && args.p.count == 0 {
			return useNew // cls.__new__(cls), as CPython's _instantiate does
		}
	}
	if args.k == kTuple && args.p.count == 1 && len(args.p.items) == 1 && isConstant(args.p.items[0]) && classLike(c.name) {
		return useValue
	}
	return useCall
}

// isConstant reports whether v is a scalar the stream spells out.
func isConstant(v value) bool {
	switch v.k {
	case kNone, kBool, kInt, kBigInt, kFloat:
		return true
	case kStr, kBytes:
		return int64(len(v.s)) == v.n
	}
	return false
}

// origin is the global that produced an object: the callable of a call
// result, or the class a constructor helper instantiated.
func origin(o *object) (*object, bool) {
	for i := 0; o != nil && o.callee != nil && i < 4; i++ {
		f := o.fnv
		if f.k != kGlobal {
			if f.k == kObject {
				o = f.p
				continue
			}
			return nil, false
		}
		if h := helperFor(f.p.resolved); h != nil && h[0].kind == useNew && o.args.k == kTuple && len(o.args.p.items) > 0 {
			if a := o.args.p.items[0]; a.k == kGlobal {
				return a.p, true
			}
		}
		return f.p, true
	}
	return nil, false
}

// classLike reports whether a name reads as a class: its last part starts,
// after underscores, with an upper-case letter (PEP 8).
func classLike(name string) bool {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimLeft(name, "_")
	return name != "" && name[0] >= 'A' && name[0] <= 'Z'
}

// streamFindings judges one stream. scanned says that the stream's nested
// payloads are handed to the engine and scanned as files of their own.
func (a *Analyzer) streamFindings(st *Stream, loc finding.Location, scanned bool) []finding.Finding {
	us := &uses{byKey: map[string]*use{}}
	for _, im := range st.Imports {
		u := us.get(im.Module, im.Name, im.Offset)
		if im.obj != nil && im.obj.escaped {
			u.escaped = true
		}
	}
	var out []finding.Finding
	for i := range st.Calls {
		c, args := &st.Calls[i], st.callArgs[i]
		if !c.Global {
			if c.Kind == "BUILD" || c.Kind == "SETITEM" || c.Kind == "APPEND" || c.Kind == "ADDITEMS" {
				// The state of an instance: its class's __setstate__, judged
				// with the class, unless the instance calls what it holds.
				if g, ok := origin(c.fnObj); ok && c.Kind == "BUILD" && callsItsState[g.resolved] {
					for _, fn := range stateGlobals(args) {
						us.get(fn.p.module, fn.p.name, c.Offset).mark(useCall, c, args, g.resolved)
					}
				}
				continue
			}
			if g, ok := origin(c.fnObj); ok {
				us.get(g.module, g.name, c.Offset).mark(useInstanceCall, c, args, "")
			}
			continue
		}
		u := us.get(c.module, c.name, c.Offset)
		switch c.Kind {
		case "BUILD", "SETITEM", "APPEND", "ADDITEMS":
			out = append(out, finding.New(finding.PickleInternals, loc.At(c.Offset),
				fmt.Sprintf("The pickle overwrites the state of the global %s (%s): a later use of it runs what the attacker put there.", clip(c.Callable), mutationVerb(c.Kind)),
				mutationEvidence(c, args)))
			continue
		}
		if c.constAttr {
			if u.call == nil {
				u.call, u.callArgs = c, args
			}
			continue
		}
		if m, ok := a.boundMethod(us, c, args); ok {
			u.mark(useRef, nil, value{}, "")
			m.mark(useRef, nil, value{}, "")
			if u.call == nil {
				u.call, u.callArgs = c, args
			}
			continue
		}
		u.onlyConst = false
		if args.k == kTuple {
			u.maxArgs = max(u.maxArgs, args.p.count)
		}
		u.mark(callKind(c, args), c, args, "")
		if !u.helperKnown {
			u.helper, u.helperKnown = helperFor(c.Callable), true
		}
		for _, h := range u.helper {
			if args.k != kTuple || h.index >= len(args.p.items) {
				continue
			}
			switch arg := args.p.items[h.index]; arg.k {
			case kGlobal:
				us.get(arg.p.module, arg.p.name, c.Offset).mark(h.kind, c, args, c.Callable)
			case kObject:
				if g, ok := origin(arg.p); ok {
					us.get(g.module, g.name, c.Offset).mark(useInstanceCall, c, args, c.Callable)
				}
			}
		}
	}
	for _, key := range us.order {
		u := us.byKey[key]
		if u.call != nil && u.onlyConst && !u.escaped && u.kind == useRef && u.method == nil {
			continue // getattr(Class, 'NAME'): judged as Class.NAME, imported below
		}
		v, decided := a.judge(u)
		if !v.Allowed() && scanned && v.Name == nestedLoader && !u.escaped && u.via == "" && u.kind <= useCall {
			v, decided = Verdict{Name: v.Name, Why: "each call loads a bytes literal of the stream, scanned as a file of its own"}, "nested payloads scanned"
		}
		if a.policy.explain {
			out = append(out, explainFinding(u, v, decided, loc))
		}
		if v.Allowed() {
			continue
		}
		out = append(out, useFinding(u, v, loc))
	}
	for _, t := range st.Targets {
		tv := a.policy.JudgeTarget(t.Value)
		if tv.Rule == "" {
			continue
		}
		out = append(out, finding.New(tv.Rule, loc.At(t.Offset),
			fmt.Sprintf("The pickle stores a configuration whose %s is %s, which %s: a framework that builds the model from it (hydra.utils.instantiate, as NeMo and Lightning checkpoints are restored) imports and calls it.", t.Key, clip(tv.Name), tv.Why),
			clip(t.Value)))
	}
	if ev := st.Frames; ev != nil && ev.Mismatch {
		out = append(out, finding.New(finding.PickleFrameMismatch, loc.At(ev.Offset),
			ev.What+": CPython's unpicklers read what follows differently. Violet traced the stream as each of them reads it.", ""))
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
	if st.Reader != ReadMemory {
		for i := range out {
			out[i].Message += " Seen " + readerNames[st.Reader] + "."
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Location.Offset < out[j].Location.Offset })
	return out
}

// stateGlobals are the globals directly inside a BUILD's state: the items
// of a state tuple and the values of a state dict, one level down.
func stateGlobals(args value) []value {
	var out []value
	var walk func(v value, depth int)
	walk = func(v value, depth int) {
		switch v.k {
		case kGlobal:
			out = append(out, v)
		case kTuple, kList, kDict:
			if depth < 2 {
				for _, it := range v.p.items {
					walk(it, depth+1)
				}
			}
		}
	}
	if args.k == kTuple && len(args.p.items) == 1 {
		walk(args.p.items[0], 0)
	}
	return out
}

// boundMethod recognizes builtins.getattr(obj, 'name') with a constant name
// on an object that a global produced: how a bound method is pickled (a
// scipy frozen distribution's vectorized method, a model's
// prepare_inputs_for_generation). It is judged as the method name of that
// class, not as a dynamic import; the method is only read, and a later call
// of it is a call of an instance.
func (a *Analyzer) boundMethod(us *uses, c *Call, args value) (*use, bool) {
	if c.Callable != "builtins.getattr" || c.Kind != "REDUCE" || args.k != kTuple || args.p.count != 2 || len(args.p.items) != 2 {
		return nil, false
	}
	obj, attr := args.p.items[0], args.p.items[1]
	if obj.k != kObject || attr.k != kStr || int64(len(attr.s)) != attr.n || !isDottedName([]byte(attr.s)) || strings.Contains(attr.s, ".") {
		return nil, false
	}
	g, ok := origin(obj.p)
	if !ok {
		return nil, false
	}
	owner := us.get(g.module, g.name, c.Offset)
	m := us.get(g.module, capName(g.name+"."+attr.s), c.Offset)
	m.method = owner
	return m, true
}

// judge decides a use. decided names the entry or the reasoning that did.
func (a *Analyzer) judge(u *use) (Verdict, string) {
	v := a.policy.Judge(u.module, u.name)
	if v.Allowed() {
		if limit, ok := argLimits[v.Name]; ok && u.maxArgs > int64(limit) {
			return Verdict{Rule: finding.PickleUnknownCall, Name: v.Name,
				Why: fmt.Sprintf("is called with %d arguments, which builds a new class", u.maxArgs)}, "argument limit " + fmt.Sprint(limit)
		}
		return v, v.Entry
	}
	if v.Rule != finding.PickleUnknownCall {
		return v, v.Entry
	}
	if u.method != nil {
		// A bound method of a class the policy trusts: read, not called.
		if w, entry := a.judge(u.method); w.Allowed() {
			return Verdict{Name: v.Name, Why: "a method read from an object of an allowed class"}, "method of " + entry
		}
		return Verdict{Rule: finding.PickleUnknownRef, Name: v.Name, Why: "is a method of a class that is not on the allowlist"}, ""
	}
	why, inLibrary := a.policy.Library(u.module, u.name)
	root := u.module
	if i := strings.IndexByte(root, '.'); i >= 0 {
		root = root[:i]
	}
	switch {
	case u.kind >= useCall:
		v.Rule = finding.PickleUnknownCall
	case inLibrary && (u.kind == useNew || u.kind == useRef || u.kind == useValue && classLike(u.name)):
		return Verdict{Name: v.Name, Why: why}, "library " + root
	case u.kind == useNew || u.kind == useValue:
		v.Rule = finding.PickleUnknownCall
	default:
		v.Rule = finding.PickleUnknownRef
	}
	return v, ""
}

// useFinding is the finding of a global the policy does not allow.
func useFinding(u *use, v Verdict, loc finding.Location) finding.Finding {
	called := u.kind >= useNew && u.call != nil
	rule := v.Rule
	if rule == finding.PickleUnknownCall && !called {
		rule = finding.PickleUnknownRef
	}
	// A module or name may be as long as the VM keeps (keepBytes).
	off, evidence := u.importOff, clip(v.Name)
	what := "references"
	if called {
		off, what = u.call.Offset, useVerbs[u.kind]
		evidence = renderCall(v.Name, u.callArgs)
		if u.via != "" {
			evidence = renderCall(u.via, u.callArgs)
		}
	}
	msg := fmt.Sprintf("The pickle %s %s, which %s.", what, clip(v.Name), v.Why)
	if u.via != "" {
		msg = fmt.Sprintf("The pickle %s %s through %s, which %s.", what, clip(v.Name), u.via, v.Why)
	}
	if !called && rule != finding.PickleUnknownRef {
		msg += " It is not called in the stream itself, but a stored callable is a trap that fires when the object is used."
	}
	return finding.New(rule, loc.At(off), msg, evidence)
}

// explainFinding says how a global is used and what decided its verdict.
func explainFinding(u *use, v Verdict, decided string, loc finding.Location) finding.Finding {
	how := useVerbs[u.kind]
	if u.method != nil {
		how = "reads the method"
	}
	via := ""
	if u.via != "" {
		via = " (through " + u.via + ")"
	}
	verdict := "allowed"
	if !v.Allowed() {
		verdict = "reported as " + v.Rule
	}
	if decided == "" {
		decided = "no entry: unknown"
	}
	msg := fmt.Sprintf("The pickle %s %s%s: %s by %s (%s).", how, clip(v.Name), via, verdict, decided, v.Why)
	return finding.New(finding.PickleGlobal, loc.At(u.importOff), msg, decided)
}
