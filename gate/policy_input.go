package gate

import (
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// inputValue converts in to the Rego value the policy sees. It is what
// encoding/json would make of in (same field names, omitempty, nil as
// null), built directly: going through JSON costs more than evaluating
// the policy on a large scan.
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
		if len(terms) >= parallelMin && runtime.GOMAXPROCS(0) > 1 {
			c.parallelTerms(v, terms)
		} else {
			for i := range terms {
				terms[i] = c.term(v.Index(i))
			}
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

// parallelMin is the length from which an array is converted by several
// goroutines: a scan of tens of thousands of findings takes milliseconds.
const parallelMin = 2048

// parallelTerms converts the elements of v into terms, in chunks, one
// goroutine (and one string cache) per chunk.
func (c *converter) parallelTerms(v reflect.Value, terms []*ast.Term) {
	workers := min(runtime.GOMAXPROCS(0), 8)
	chunk := (len(terms) + workers - 1) / workers
	var wg sync.WaitGroup
	for start := 0; start < len(terms); start += chunk {
		end := min(start+chunk, len(terms))
		wg.Go(func() {
			w := converter{strings: map[string]*ast.Term{}}
			for i := start; i < end; i++ {
				terms[i] = w.term(v.Index(i))
			}
		})
	}
	wg.Wait()
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
