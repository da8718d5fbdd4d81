package gate

import (
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// inputValue converts in to the Rego value the policy sees. It is what
// encoding/json would make of in (same field names, omitempty, nil as
// null), built directly: going through JSON costs more than evaluating
// the policy on a large scan. The lists that grow with the scan (findings,
// and positions in BySeverity) are converted without reflection: a scan
// of 10,000 findings takes about 5 ms, most of it in OPA's objects.
func inputValue(in *Input) ast.Value {
	c := converter{strings: map[string]*ast.Term{}}
	return c.value(reflect.ValueOf(in))
}

// converter converts one value. Strings are shared: a large scan repeats
// its severities, rules and paths thousands of times.
type converter struct {
	strings map[string]*ast.Term
}

// maxShared is the longest string converter shares.
const maxShared = 32

// value converts a Go value as encoding/json would.
func (c *converter) value(v reflect.Value) ast.Value {
	if v.Kind() == reflect.Slice && !v.IsNil() {
		switch v.Type() {
		case findingsType:
			return c.findings(v.Interface().([]Finding))
		case positionsType:
			return positions(v.Interface().([]int))
		}
	}
	if t := v.Type(); t.PkgPath() != "" && v.Kind() != reflect.Struct && marshals(t) {
		return fallbackValue(v)
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return ast.Null{}
		}
		return c.value(v.Elem())
	case reflect.Struct:
		fields := structFields(v.Type())
		if fields == nil {
			return fallbackValue(v)
		}
		var buf [16][2]*ast.Term // NewObject copies its arguments
		terms := buf[:0]
		for _, f := range fields {
			fv := v.Field(f.index)
			if f.omitEmpty && isEmptyValue(fv) {
				continue
			}
			terms = append(terms, [2]*ast.Term{f.key, c.term(fv)})
		}
		return ast.NewObject(terms...)
	case reflect.Slice:
		if v.IsNil() {
			return ast.Null{}
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return fallbackValue(v)
		}
		fallthrough
	case reflect.Array:
		terms := make([]*ast.Term, v.Len())
		for i := range terms {
			terms[i] = c.term(v.Index(i))
		}
		return ast.NewArray(terms...)
	case reflect.Map:
		if v.IsNil() {
			return ast.Null{}
		}
		if v.Type().Key().Kind() != reflect.String {
			return fallbackValue(v)
		}
		terms := make([][2]*ast.Term, 0, v.Len())
		it := v.MapRange()
		for it.Next() {
			terms = append(terms, [2]*ast.Term{c.stringTerm(it.Key().String()), c.term(it.Value())})
		}
		return ast.NewObject(terms...)
	case reflect.String:
		return ast.String(v.String())
	case reflect.Bool:
		return ast.Boolean(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return ast.Number(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return ast.Number(strconv.FormatUint(v.Uint(), 10))
	default:
		return fallbackValue(v)
	}
}

// The types of the lists that may hold tens of thousands of elements.
var (
	findingsType  = reflect.TypeFor[[]Finding]()
	positionsType = reflect.TypeFor[[]int]()
)

// The keys of a finding's object, as Finding's JSON tags name them.
var (
	keyRule       = ast.StringTerm("rule")
	keySeverity   = ast.StringTerm("severity")
	keyPath       = ast.StringTerm("path")
	keyMessage    = ast.StringTerm("message")
	keyEvidence   = ast.StringTerm("evidence")
	keyIncomplete = ast.StringTerm("incomplete")
)

// findings converts a list of findings. Rules, severities, paths and
// evidence repeat, mostly from one finding to the next, and are shared;
// messages rarely do and are not looked up. The terms of the findings'
// objects and messages are allocated in one block.
func (c *converter) findings(fs []Finding) ast.Value {
	block := make([]ast.Term, 2*len(fs))
	terms := make([]*ast.Term, len(fs))
	var rule, severity, path, evidence lastTerm
	for i := range fs {
		f := &fs[i]
		message := &block[2*i+1]
		message.Value = ast.String(f.Message)
		kv := [6][2]*ast.Term{
			{keyRule, c.lastOr(&rule, f.Rule)},
			{keySeverity, c.lastOr(&severity, f.Severity)},
			{keyPath, c.lastOr(&path, f.Path)},
			{keyMessage, message},
		}
		n := 4
		if f.Evidence != "" {
			kv[n] = [2]*ast.Term{keyEvidence, c.lastOr(&evidence, f.Evidence)}
			n++
		}
		if f.Incomplete {
			kv[n] = [2]*ast.Term{keyIncomplete, ast.InternedTerm(true)}
			n++
		}
		object := &block[2*i]
		object.Value = ast.NewObject(kv[:n]...)
		terms[i] = object
	}
	return ast.NewArray(terms...)
}

// lastTerm is the last string of a field converted, and its term.
type lastTerm struct {
	s string
	t *ast.Term
}

// lastOr returns the term of s: last's when s is the same string, else
// a shared one, which becomes last.
func (c *converter) lastOr(last *lastTerm, s string) *ast.Term {
	if last.t == nil || last.s != s {
		last.s, last.t = s, c.stringTerm(s)
	}
	return last.t
}

// positions converts a list of positions (in BySeverity), which may be as
// long as the list of findings. Their terms are allocated in one block.
func positions(xs []int) ast.Value {
	block := make([]ast.Term, len(xs))
	terms := make([]*ast.Term, len(xs))
	for i, x := range xs {
		block[i].Value = ast.Number(strconv.Itoa(x))
		terms[i] = &block[i]
	}
	return ast.NewArray(terms...)
}

// term converts a Go value to a term.
func (c *converter) term(v reflect.Value) *ast.Term {
	if v.Kind() == reflect.String && v.Type().PkgPath() == "" {
		return c.stringTerm(v.String())
	}
	return ast.NewTerm(c.value(v))
}

// stringTerm returns the term of s, shared when s is short.
func (c *converter) stringTerm(s string) *ast.Term {
	if len(s) > maxShared {
		return ast.StringTerm(s)
	}
	t, ok := c.strings[s]
	if !ok {
		t = ast.StringTerm(s)
		c.strings[s] = t
	}
	return t
}

// fallbackValue converts what toValue does not handle itself (floats,
// byte slices, embedded structs, custom marshalers) through JSON.
func fallbackValue(v reflect.Value) ast.Value {
	val, err := ast.InterfaceToValue(v.Interface())
	if err != nil {
		return ast.Null{}
	}
	return val
}

// field is a struct field as encoding/json sees it.
type field struct {
	index     int
	key       *ast.Term
	omitEmpty bool
}

// fieldCache maps a struct type to its fields; a nil slice means the
// type needs encoding/json (an embedded field, or a custom marshaler).
var fieldCache sync.Map

// structFields returns the JSON fields of t, nil when toValue must not
// convert it itself.
func structFields(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	fields := []field{}
	if marshals(t) {
		fields = nil
	}
	if t.NumField() > 16 {
		fields = nil
	}
	for i := 0; fields != nil && i < t.NumField(); i++ {
		sf := t.Field(i)
		if sf.Anonymous {
			fields = nil
			break
		}
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = sf.Name
		}
		f := field{index: i, key: ast.StringTerm(name)}
		for o := range strings.SplitSeq(opts, ",") {
			switch o {
			case "omitempty":
				f.omitEmpty = true
			case "string", "omitzero":
				fields = nil
			}
		}
		if fields != nil {
			fields = append(fields, f)
		}
	}
	fieldCache.Store(t, fields)
	return fields
}

var (
	jsonMarshaler = reflect.TypeFor[interface{ MarshalJSON() ([]byte, error) }]()
	textMarshaler = reflect.TypeFor[interface{ MarshalText() ([]byte, error) }]()
)

// marshals reports whether t (or *t) marshals itself to JSON or text.
func marshals(t reflect.Type) bool {
	return t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler) ||
		t.Implements(textMarshaler) || reflect.PointerTo(t).Implements(textMarshaler)
}

// isEmptyValue is encoding/json's omitempty test.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}
