package template

import (
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of the constant folder, which evaluates the expressions a template
// builds from constants only (string and number literals, and the names a
// {% set %} gives such a value) so that a name assembled at render time is
// judged like a literal one. An expression over a limit is reported as
// suspicious, not evaluated.
const (
	// MaxFoldLen is the largest value the folder builds, in bytes (a list
	// counts its items' sizes).
	MaxFoldLen = 1 << 16
	// MaxFoldSteps is the largest number of expressions the folder
	// evaluates in one template.
	MaxFoldSteps = 1 << 20
	// MaxFoldWork is the largest number of bytes the folder builds in one
	// template, all expressions together.
	MaxFoldWork = 32 << 20
	// maxFoldDepth bounds the recursion of the folder; the checker folds
	// operands before the expressions that use them, so only a chain the
	// pre-pass did not reach can come near it.
	maxFoldDepth = 10_000
)

// tuple is a folded tuple: Python's % operator spreads a tuple, not a list.
type tuple []any

// dict is a folded dictionary with string keys, in insertion order.
type dict struct {
	keys []string
	vals []any
}

func (d *dict) get(k string) (any, bool) {
	for i, x := range d.keys {
		if x == k {
			return d.vals[i], true
		}
	}
	return nil, false
}

func asList(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case tuple:
		return []any(x), true
	}
	return nil, false
}

// size is the number of bytes a folded value holds.
func size(v any) int {
	switch x := v.(type) {
	case string:
		return len(x)
	case []any, tuple:
		l, _ := asList(x)
		n := 2
		for _, e := range l {
			n += size(e) + 2
			if n > MaxFoldLen {
				return n
			}
		}
		return n
	case *dict:
		n := 2
		for i, k := range x.keys {
			n += len(k) + size(x.vals[i]) + 4
			if n > MaxFoldLen {
				return n
			}
		}
		return n
	}
	return 8
}

type folded struct {
	v  any
	ok bool
}

// foldAll folds every node of ns, or reports that one cannot be folded.
func (c *checker) foldAll(ns []*Node, depth int) ([]any, bool) {
	out := make([]any, 0, len(ns))
	for _, a := range ns {
		v, ok := c.fold(a, depth)
		if !ok {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

// foldKwargs folds keyword arguments into a dict (nil when there are none).
func (c *checker) foldKwargs(kws []Kwarg, depth int) (*dict, bool) {
	if len(kws) == 0 {
		return nil, true
	}
	d := &dict{}
	for _, kw := range kws {
		v, ok := c.fold(kw.Value, depth)
		if !ok {
			return nil, false
		}
		d.keys = append(d.keys, kw.Name)
		d.vals = append(d.vals, v)
	}
	return d, true
}

// prefold folds the expressions of nodes operands first, so that no fold
// recurses deeply.
func (c *checker) prefold(n *Node) {
	if n == nil {
		return
	}
	if _, done := c.memo[n]; done {
		return
	}
	for _, ch := range n.Children {
		c.prefold(ch)
	}
	for _, kw := range n.Kwargs {
		c.prefold(kw.Value)
	}
	if n.Kind != Data && n.Kind != Output && n.Kind != Stmt && n.Kind != Slice && n.Kind != Starred {
		c.fold(n, 0)
	}
}

func (c *checker) prefoldNodes(nodes []*Node) {
	for _, n := range nodes {
		if n == nil {
			continue
		}
		switch n.Kind {
		case Output:
			c.prefold(n.Children[0])
		case Stmt:
			for _, ch := range n.Children {
				c.prefold(ch)
			}
			for _, b := range n.Bodies {
				c.prefoldNodes(b)
			}
		}
	}
}

// fold evaluates n when it is built from constants only, to a string,
// int64, float64, bool, nil, []any, tuple or *dict. It reports (as
// suspicious) the expressions over the folder's limits.
func (c *checker) fold(n *Node, depth int) (any, bool) {
	if n == nil {
		return nil, false
	}
	if r, ok := c.memo[n]; ok {
		return r.v, r.ok
	}
	if depth > maxFoldDepth {
		c.report(Suspicious, n, "nests constant expressions deeper than %d; they were not evaluated", maxFoldDepth)
		c.memo[n] = folded{}
		return nil, false
	}
	if c.steps++; c.steps > MaxFoldSteps || c.work > MaxFoldWork {
		if !c.exhausted {
			c.exhausted = true
			c.report(Suspicious, n, "has more constant expressions than are evaluated (%d expressions, %d bytes); the rest were not", MaxFoldSteps, MaxFoldWork)
		}
		return nil, false
	}
	v, ok := c.fold1(n, depth)
	if ok {
		if sz := size(v); sz > MaxFoldLen {
			c.report(Suspicious, n, "builds a constant of more than %d bytes; it was not evaluated", MaxFoldLen)
			v, ok = nil, false
		} else if _, isStr := v.(string); isStr {
			c.work += sz
		}
	} else if c.tooLong {
		c.report(Suspicious, n, "builds a constant of more than %d bytes; it was not evaluated", MaxFoldLen)
	}
	c.tooLong = false
	c.memo[n] = folded{v, ok}
	return v, ok
}

// long records that an operation would exceed MaxFoldLen.
func (c *checker) long() (any, bool) {
	c.tooLong = true
	return nil, false
}

func (c *checker) fold1(n *Node, depth int) (any, bool) {
	d := depth + 1
	switch n.Kind {
	case Const:
		switch {
		case n.IsStr:
			return n.Value, true
		case n.Num != "":
			if i, err := strconv.ParseInt(n.Num, 10, 64); err == nil {
				return i, true
			}
			f, ok := number(n.Num)
			return f, ok
		case n.Name == "true" || n.Name == "True":
			return true, true
		case n.Name == "false" || n.Name == "False":
			return false, true
		}
		return nil, true
	case Name:
		if len(n.Ops) > 0 {
			return nil, false
		}
		if v, ok := c.consts[n.Name]; ok && !c.multi[n.Name] {
			return v, true
		}
	case List, Tuple:
		out, ok := c.foldAll(n.Children, d)
		if !ok {
			return nil, false
		}
		if n.Kind == Tuple {
			return tuple(out), true
		}
		return out, true
	case Dict:
		dd := &dict{}
		for i := 0; i+1 < len(n.Children); i += 2 {
			k, ok1 := c.fold(n.Children[i], d)
			v, ok2 := c.fold(n.Children[i+1], d)
			ks, isStr := k.(string)
			if !ok1 || !ok2 || !isStr {
				return nil, false
			}
			dd.keys = append(dd.keys, ks)
			dd.vals = append(dd.vals, v)
		}
		return dd, true
	case Unary:
		x, ok := c.fold(n.Children[0], d)
		if !ok {
			return nil, false
		}
		switch v := x.(type) {
		case int64:
			switch n.Name {
			case "-":
				return -v, true
			case "+":
				return v, true
			}
		case float64:
			switch n.Name {
			case "-":
				return -v, true
			case "+":
				return v, true
			}
		}
		return nil, false
	case BinOp:
		a, ok1 := c.fold(n.Children[0], d)
		b, ok2 := c.fold(n.Children[1], d)
		if !ok1 || !ok2 {
			return nil, false
		}
		return c.binop(n.Name, a, b)
	case CondExpr:
		// Either branch may render: only a condition that folds picks one.
		cond, ok := c.fold(n.Children[1], d)
		if !ok {
			return nil, false
		}
		if truthy(cond) {
			return c.fold(n.Children[0], d)
		}
		if n.Children[2] == nil {
			return nil, false
		}
		return c.fold(n.Children[2], d)
	case Getitem:
		x, ok := c.fold(n.Children[0], d)
		if !ok {
			return nil, false
		}
		arg := n.Children[1]
		if arg.Kind == Slice {
			var idx [3]any
			for i, p := range arg.Children {
				if p != nil {
					v, ok := c.fold(p, d)
					if !ok {
						return nil, false
					}
					idx[i] = v
				}
			}
			return slice(x, idx)
		}
		k, ok := c.fold(arg, d)
		if !ok {
			return nil, false
		}
		return index(x, k)
	case Filter:
		if n.Children[0] == nil {
			return nil, false
		}
		x, ok := c.fold(n.Children[0], d)
		if !ok {
			return nil, false
		}
		args, ok := c.foldAll(n.Children[1:], d)
		if !ok {
			return nil, false
		}
		kw, ok := c.foldKwargs(n.Kwargs, d)
		if !ok {
			return nil, false
		}
		return c.applyFilter(n.Name, x, args, kw)
	case Call:
		fn := n.Children[0]
		args, ok := c.foldAll(n.Children[1:], d)
		if !ok {
			return nil, false
		}
		kw, ok := c.foldKwargs(n.Kwargs, d)
		if !ok {
			return nil, false
		}
		if fn.Kind == Name && fn.Name == "dict" && !c.bound["dict"] && len(args) == 0 {
			if kw == nil {
				kw = &dict{}
			}
			return kw, true
		}
		recv, name, ok := c.method(fn, d)
		if !ok {
			return nil, false
		}
		return c.callMethod(recv, name, args, kw)
	}
	return nil, false
}

// method resolves a callee x.name, x['name'] or x|attr('name') whose
// receiver and name fold.
func (c *checker) method(fn *Node, d int) (any, string, bool) {
	var recv *Node
	var name string
	switch fn.Kind {
	case Getattr:
		recv, name = fn.Children[0], fn.Name
	case Getitem, Filter:
		if fn.Kind == Filter && (fn.Name != "attr" || len(fn.Children) != 2) {
			return nil, "", false
		}
		v, ok := c.fold(fn.Children[1], d)
		s, isStr := v.(string)
		if !ok || !isStr {
			return nil, "", false
		}
		recv, name = fn.Children[0], s
	default:
		return nil, "", false
	}
	x, ok := c.fold(recv, d)
	return x, name, ok
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case int64:
		return x != 0
	case float64:
		return x != 0
	case *dict:
		return len(x.keys) > 0
	}
	l, _ := asList(v)
	return len(l) > 0
}

// str is Python's str() of a folded value.
func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e16 {
			return strconv.FormatFloat(x, 'f', 1, 64)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case *dict:
		parts := make([]string, len(x.keys))
		for i, k := range x.keys {
			parts[i] = pyRepr(k) + ": " + repr(x.vals[i])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case []any, tuple:
		l, _ := asList(x)
		parts := make([]string, len(l))
		for i, e := range l {
			parts[i] = repr(e)
		}
		if _, isTuple := x.(tuple); isTuple {
			if len(l) == 1 {
				return "(" + parts[0] + ",)"
			}
			return "(" + strings.Join(parts, ", ") + ")"
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return "?"
}

// repr is Python's repr() of a folded value.
func repr(v any) string {
	if s, ok := v.(string); ok {
		return pyRepr(s)
	}
	return str(v)
}

// pyRepr quotes s as Python's repr() does.
func pyRepr(s string) string {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x` + strconv.FormatInt(int64(r)|0x100, 16)[1:])
		case r == utf8.RuneError || !unicode.IsPrint(r) && r > 0x7f:
			if r > 0xffff {
				b.WriteString(`\U` + strconv.FormatInt(int64(r)|0x100000000, 16)[1:])
			} else {
				b.WriteString(`\u` + strconv.FormatInt(int64(r)|0x10000, 16)[1:])
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

func (c *checker) binop(op string, a, b any) (any, bool) {
	as, aStr := a.(string)
	bs, bStr := b.(string)
	ai, aInt := a.(int64)
	bi, bInt := b.(int64)
	switch op {
	case "~":
		x, y := str(a), str(b)
		if len(x)+len(y) > MaxFoldLen {
			return c.long()
		}
		return x + y, true
	case "+":
		switch {
		case aStr && bStr:
			if len(as)+len(bs) > MaxFoldLen {
				return c.long()
			}
			return as + bs, true
		case aInt && bInt:
			return ai + bi, true
		}
		al, ok1 := asList(a)
		bl, ok2 := asList(b)
		if ok1 && ok2 {
			out := append(append([]any{}, al...), bl...)
			if _, isTuple := a.(tuple); isTuple {
				return tuple(out), true
			}
			return out, true
		}
	case "*":
		if aInt && !bInt {
			a = b // the int goes to bi
			as, aStr, bi, bInt = bs, bStr, ai, true
		}
		if !bInt {
			return nil, false
		}
		if aStr {
			if bi <= 0 {
				return "", true
			}
			if int64(len(as))*min(bi, MaxFoldLen+1) > MaxFoldLen {
				return c.long()
			}
			return strings.Repeat(as, int(bi)), true
		}
		if l, ok := asList(a); ok {
			if bi <= 0 {
				return []any{}, true
			}
			if int64(len(l)+1)*min(bi, MaxFoldLen+1) > MaxFoldLen {
				return c.long()
			}
			out := make([]any, 0, len(l)*int(bi))
			for range bi {
				out = append(out, l...)
			}
			return out, true
		}
		if x, ok := a.(int64); ok && x < math.MaxInt32 && bi < math.MaxInt32 && x > -math.MaxInt32 && bi > -math.MaxInt32 {
			return x * bi, true
		}
	case "-":
		if aInt && bInt {
			return ai - bi, true
		}
	case "//":
		if aInt && bInt && bi != 0 {
			q := ai / bi
			if (ai%bi != 0) && ((ai < 0) != (bi < 0)) {
				q--
			}
			return q, true
		}
	case "%":
		if aStr {
			return c.percentFormat(as, b)
		}
		if aInt && bInt && bi != 0 {
			m := ai % bi
			if m != 0 && (m < 0) != (bi < 0) {
				m += bi
			}
			return m, true
		}
	}
	return nil, false
}

// percentFormat applies Python's printf-style % formatting.
func (c *checker) percentFormat(f string, arg any) (any, bool) {
	var args []any
	mapping, _ := arg.(*dict)
	if t, ok := arg.(tuple); ok {
		args = t
	} else {
		args = []any{arg}
	}
	var b strings.Builder
	k := 0
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			b.WriteByte(f[i])
			continue
		}
		i++
		if i >= len(f) {
			return nil, false
		}
		if f[i] == '%' {
			b.WriteByte('%')
			continue
		}
		var a any
		haveArg := false
		if f[i] == '(' {
			j := strings.IndexByte(f[i:], ')')
			if j < 0 || mapping == nil {
				return nil, false
			}
			v, ok := mapping.get(f[i+1 : i+j])
			if !ok {
				return nil, false
			}
			a, haveArg = v, true
			i += j + 1
		}
		flags := ""
		for i < len(f) && strings.IndexByte("-+ #0", f[i]) >= 0 {
			flags += f[i : i+1]
			i++
		}
		width := 0
		for i < len(f) && f[i] >= '0' && f[i] <= '9' {
			width = width*10 + int(f[i]-'0')
			if width > MaxFoldLen {
				return c.long()
			}
			i++
		}
		prec := -1
		if i < len(f) && f[i] == '.' {
			i++
			prec = 0
			for i < len(f) && f[i] >= '0' && f[i] <= '9' {
				prec = prec*10 + int(f[i]-'0')
				if prec > MaxFoldLen {
					return c.long()
				}
				i++
			}
		}
		for i < len(f) && (f[i] == 'h' || f[i] == 'l' || f[i] == 'L') {
			i++
		}
		if i >= len(f) {
			return nil, false
		}
		if !haveArg {
			if k >= len(args) {
				return nil, false
			}
			a = args[k]
			k++
		}
		var s string
		numeric := false
		switch f[i] {
		case 's':
			s = str(a)
		case 'r', 'a':
			s = repr(a)
		case 'd', 'i', 'u', 'x', 'X', 'o':
			x, ok := toInt(a)
			if !ok {
				return nil, false
			}
			s = fmtInt(x, f[i], strings.Contains(flags, "#"))
			numeric = true
		case 'c':
			switch x := a.(type) {
			case int64:
				if x < 0 || x > unicode.MaxRune {
					return nil, false
				}
				s = string(rune(x))
			case string:
				if utf8.RuneCountInString(x) != 1 {
					return nil, false
				}
				s = x
			default:
				return nil, false
			}
		default:
			return nil, false
		}
		if prec >= 0 && !numeric {
			if r := []rune(s); len(r) > prec {
				s = string(r[:prec])
			}
		}
		if pad := width - utf8.RuneCountInString(s); pad > 0 {
			switch {
			case strings.Contains(flags, "-"):
				s += strings.Repeat(" ", pad)
			case numeric && strings.Contains(flags, "0"):
				s = strings.Repeat("0", pad) + s
			default:
				s = strings.Repeat(" ", pad) + s
			}
		}
		b.WriteString(s)
		if b.Len() > MaxFoldLen {
			return c.long()
		}
	}
	if k < len(args) && mapping == nil && len(args) > 0 {
		if _, isTuple := arg.(tuple); isTuple {
			return nil, false // not all arguments converted
		}
	}
	return b.String(), true
}

func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case float64:
		if math.Abs(x) < 1e18 {
			return int64(x), true
		}
	}
	return 0, false
}

func fmtInt(x int64, verb byte, alt bool) string {
	base, prefix := 10, ""
	switch verb {
	case 'x', 'X':
		base, prefix = 16, "0x"
	case 'o':
		base, prefix = 8, "0o"
	case 'b':
		base, prefix = 2, "0b"
	}
	neg := x < 0
	u := uint64(x)
	if neg {
		u = uint64(-x)
	}
	s := strconv.FormatUint(u, base)
	if alt && base != 10 {
		s = prefix + s
	}
	if verb == 'X' {
		s = strings.ToUpper(s)
	}
	if neg {
		s = "-" + s
	}
	return s
}

func index(x, k any) (any, bool) {
	switch v := x.(type) {
	case *dict:
		ks, ok := k.(string)
		if !ok {
			return nil, false
		}
		return v.get(ks)
	case string:
		i, ok := k.(int64)
		if !ok {
			return nil, false
		}
		r := []rune(v)
		if i < 0 {
			i += int64(len(r))
		}
		if i < 0 || i >= int64(len(r)) {
			return nil, false
		}
		return string(r[i]), true
	}
	if l, ok := asList(x); ok {
		i, ok := k.(int64)
		if !ok {
			return nil, false
		}
		if i < 0 {
			i += int64(len(l))
		}
		if i < 0 || i >= int64(len(l)) {
			return nil, false
		}
		return l[i], true
	}
	return nil, false
}

// slice applies Python's slicing to a string or a list.
func slice(x any, idx [3]any) (any, bool) {
	var items []any
	s, isStr := x.(string)
	var r []rune
	if isStr {
		r = []rune(s)
	} else {
		var ok bool
		if items, ok = asList(x); !ok {
			return nil, false
		}
	}
	n := int64(len(items))
	if isStr {
		n = int64(len(r))
	}
	get := func(v any, def int64) (int64, bool) {
		if v == nil {
			return def, true
		}
		i, ok := v.(int64)
		return i, ok
	}
	step, ok := get(idx[2], 1)
	if !ok || step == 0 {
		return nil, false
	}
	var start, stop int64
	if step > 0 {
		start, ok = get(idx[0], 0)
		if !ok {
			return nil, false
		}
		stop, ok = get(idx[1], n)
	} else {
		start, ok = get(idx[0], n-1)
		if !ok {
			return nil, false
		}
		stop, ok = get(idx[1], -n-1)
	}
	if !ok {
		return nil, false
	}
	norm := func(i int64, lo, hi int64) int64 {
		if i < 0 {
			i += n
		}
		return max(lo, min(i, hi))
	}
	var pick []int64
	if step > 0 {
		start, stop = norm(start, 0, n), norm(stop, 0, n)
		for i := start; i < stop; i += step {
			pick = append(pick, i)
		}
	} else {
		start, stop = norm(start, -1, n-1), norm(stop, -1, n-1)
		for i := start; i > stop; i += step {
			pick = append(pick, i)
		}
	}
	if isStr {
		out := make([]rune, len(pick))
		for j, i := range pick {
			out[j] = r[i]
		}
		return string(out), true
	}
	out := make([]any, len(pick))
	for j, i := range pick {
		out[j] = items[i]
	}
	if _, isTuple := x.(tuple); isTuple {
		return tuple(out), true
	}
	return out, true
}

// iterate lists the items of a folded iterable: the characters of a string,
// the keys of a dict.
func iterate(x any) ([]any, bool) {
	switch v := x.(type) {
	case string:
		out := make([]any, 0, len(v))
		for _, r := range v {
			out = append(out, string(r))
		}
		return out, true
	case *dict:
		out := make([]any, len(v.keys))
		for i, k := range v.keys {
			out[i] = k
		}
		return out, true
	}
	return asList(x)
}

func (c *checker) join(x any, sep string) (any, bool) {
	items, ok := iterate(x)
	if !ok {
		return nil, false
	}
	if len(items) > 1 && len(sep)*(len(items)-1) > MaxFoldLen {
		return c.long()
	}
	parts := make([]string, len(items))
	total := 0
	for i, e := range items {
		parts[i] = str(e)
		if total += len(parts[i]); total > MaxFoldLen {
			return c.long()
		}
	}
	return strings.Join(parts, sep), true
}

func (c *checker) replace(s string, args []any) (any, bool) {
	if len(args) < 2 || len(args) > 3 {
		return nil, false
	}
	old, ok1 := args[0].(string)
	nw, ok2 := args[1].(string)
	if !ok1 || !ok2 {
		return nil, false
	}
	count := -1
	if len(args) > 2 {
		n, ok := args[2].(int64)
		if !ok {
			return nil, false
		}
		if n >= 0 {
			count = int(min(n, MaxFoldLen+1))
		}
	}
	hits := strings.Count(s, old)
	if count >= 0 {
		hits = min(hits, count)
	}
	if len(s)+hits*len(nw) > MaxFoldLen {
		return c.long()
	}
	return strings.Replace(s, old, nw, count), true
}

func pad(s string, width int64, fill string, align byte) (string, bool) {
	n := int64(utf8.RuneCountInString(s))
	if width <= n {
		return s, true
	}
	if width > MaxFoldLen || utf8.RuneCountInString(fill) != 1 {
		return "", false
	}
	p := int(width - n)
	switch align {
	case '<':
		return s + strings.Repeat(fill, p), true
	case '>':
		return strings.Repeat(fill, p) + s, true
	}
	left := p / 2
	if align == 'c' && p%2 == 1 && width%2 == 1 { // as CPython's str.center
		left++
	}
	return strings.Repeat(fill, left) + s + strings.Repeat(fill, p-left), true
}

func argStr(args []any, i int, def string) (string, bool) {
	if i >= len(args) {
		return def, true
	}
	s, ok := args[i].(string)
	return s, ok
}

// callMethod applies a string method (or a list's pop) to a folded value.
func (c *checker) callMethod(x any, name string, args []any, kw *dict) (any, bool) {
	if l, ok := asList(x); ok && name == "pop" && kw == nil {
		i := int64(len(l) - 1)
		if len(args) == 1 {
			if i, ok = args[0].(int64); !ok {
				return nil, false
			}
		}
		return index(l, i)
	}
	s, isStr := x.(string)
	if !isStr {
		return nil, false
	}
	if kw != nil && name != "format" {
		return nil, false
	}
	switch name {
	case "format":
		return c.braceFormat(s, args, kw)
	case "format_map":
		if len(args) != 1 {
			return nil, false
		}
		m, ok := args[0].(*dict)
		if !ok {
			return nil, false
		}
		return c.braceFormat(s, nil, m)
	case "join":
		if len(args) != 1 {
			return nil, false
		}
		return c.join(args[0], s)
	case "replace":
		return c.replace(s, args)
	case "lower", "casefold":
		return strings.ToLower(s), len(args) == 0
	case "upper":
		return strings.ToUpper(s), len(args) == 0
	case "swapcase":
		return strings.Map(func(r rune) rune {
			if unicode.IsUpper(r) {
				return unicode.ToLower(r)
			}
			return unicode.ToUpper(r)
		}, s), len(args) == 0
	case "title":
		return title(s), len(args) == 0
	case "capitalize":
		return capitalize(s), len(args) == 0
	case "strip", "lstrip", "rstrip":
		cut, ok := argStr(args, 0, "")
		if !ok || len(args) > 1 {
			return nil, false
		}
		f := func(r rune) bool { return unicode.IsSpace(r) }
		if len(args) == 1 {
			f = func(r rune) bool { return strings.ContainsRune(cut, r) }
		}
		switch name {
		case "strip":
			return strings.TrimFunc(s, f), true
		case "lstrip":
			return strings.TrimLeftFunc(s, f), true
		}
		return strings.TrimRightFunc(s, f), true
	case "removeprefix":
		p, ok := argStr(args, 0, "")
		return strings.TrimPrefix(s, p), ok && len(args) == 1
	case "removesuffix":
		p, ok := argStr(args, 0, "")
		return strings.TrimSuffix(s, p), ok && len(args) == 1
	case "center", "ljust", "rjust":
		if len(args) < 1 || len(args) > 2 {
			return nil, false
		}
		w, ok := args[0].(int64)
		fill, ok2 := argStr(args, 1, " ")
		if !ok || !ok2 {
			return nil, false
		}
		if w > MaxFoldLen {
			return c.long()
		}
		align := map[string]byte{"center": 'c', "ljust": '<', "rjust": '>'}[name]
		return pad(s, w, fill, align)
	case "zfill":
		if len(args) != 1 {
			return nil, false
		}
		w, ok := args[0].(int64)
		if !ok {
			return nil, false
		}
		if w > MaxFoldLen {
			return c.long()
		}
		return pad(s, w, "0", '>')
	case "split", "rsplit":
		sep, ok := argStr(args, 0, "")
		if !ok || len(args) > 1 {
			return nil, false
		}
		var parts []string
		if len(args) == 0 {
			parts = strings.Fields(s)
		} else if sep == "" {
			return nil, false
		} else {
			parts = strings.Split(s, sep)
		}
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = p
		}
		return out, true
	}
	return nil, false
}

func title(s string) string {
	prev := false
	return strings.Map(func(r rune) rune {
		isL := unicode.IsLetter(r)
		defer func() { prev = isL }()
		if isL && !prev {
			return unicode.ToTitle(r)
		}
		if isL {
			return unicode.ToLower(r)
		}
		return r
	}, s)
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + strings.ToLower(s[n:])
}

// applyFilter applies a Jinja filter to folded values.
func (c *checker) applyFilter(name string, x any, args []any, kw *dict) (any, bool) {
	if kw != nil && name != "format" {
		return nil, false
	}
	s, isStr := x.(string)
	switch name {
	case "join":
		sep, ok := argStr(args, 0, "")
		if !ok || len(args) > 1 {
			return nil, false
		}
		return c.join(x, sep)
	case "replace":
		if !isStr {
			return nil, false
		}
		return c.replace(s, args)
	case "format":
		if !isStr || len(args) > 0 && kw != nil {
			return nil, false
		}
		if kw != nil {
			return c.percentFormat(s, kw)
		}
		return c.percentFormat(s, tuple(args))
	case "reverse":
		if isStr {
			r := []rune(s)
			for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
				r[i], r[j] = r[j], r[i]
			}
			return string(r), true
		}
		if l, ok := iterate(x); ok {
			out := make([]any, len(l))
			for i, e := range l {
				out[len(l)-1-i] = e
			}
			return out, true
		}
	case "list":
		return iterate(x)
	case "lower":
		return strings.ToLower(s), isStr
	case "upper":
		return strings.ToUpper(s), isStr
	case "title":
		return title(s), isStr
	case "capitalize":
		return capitalize(s), isStr
	case "trim":
		if !isStr || len(args) > 1 {
			return nil, false
		}
		return c.callMethod(s, "strip", args, nil)
	case "center":
		w := int64(80)
		if len(args) > 0 {
			var ok bool
			if w, ok = args[0].(int64); !ok {
				return nil, false
			}
		}
		if w > MaxFoldLen {
			return c.long()
		}
		if !isStr {
			s = str(x)
		}
		return pad(s, w, " ", 'c')
	case "string", "safe", "e", "escape", "forceescape":
		if name != "string" && name != "safe" && strings.ContainsAny(str(x), "<>&'\"") {
			return nil, false
		}
		return str(x), true
	case "first", "last":
		l, ok := iterate(x)
		if !ok || len(l) == 0 {
			return nil, false
		}
		if name == "first" {
			return l[0], true
		}
		return l[len(l)-1], true
	case "length", "count":
		if isStr {
			return int64(utf8.RuneCountInString(s)), true
		}
		if l, ok := iterate(x); ok {
			return int64(len(l)), true
		}
	case "int":
		switch v := x.(type) {
		case int64:
			return v, true
		case float64:
			return toInt(v)
		case string:
			i, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return i, err == nil
		}
	}
	return nil, false
}

// fmtSeg is a piece of a str.format string: literal text, or a field.
type fmtSeg struct {
	lit   string
	field *fmtField
}

// fmtField is a replacement field {arg.attr[key]!conv:spec}.
type fmtField struct {
	// src is the field as written, braces included.
	src  string
	arg  string
	path []fmtAccess
	conv byte
	spec []fmtSeg
}

// fmtAccess is one .attr or [key] of a field name.
type fmtAccess struct {
	attr bool
	name string
}

// parseFormat splits a str.format string into literal text and fields, as
// Python's string.Formatter does; ok is false for a malformed string (the
// segments parsed so far are returned).
func parseFormat(s string, depth int) (segs []fmtSeg, ok bool) {
	if depth > 2 {
		return nil, false
	}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			segs = append(segs, fmtSeg{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '{' && i+1 < len(s) && s[i+1] == '{', ch == '}' && i+1 < len(s) && s[i+1] == '}':
			lit.WriteByte(ch)
			i++
		case ch == '}':
			return segs, false
		case ch == '{':
			// The field ends at the matching }, nested braces counted.
			level, j := 1, i+1
			for ; j < len(s) && level > 0; j++ {
				switch s[j] {
				case '{':
					level++
				case '}':
					level--
				case '[':
					// A key runs to its ] whatever it holds, in the
					// field name; in the spec the bracket is plain text.
					if level == 1 && !strings.ContainsAny(s[i+1:j], ":!") {
						if k := strings.IndexByte(s[j:], ']'); k > 0 {
							j += k
						}
					}
				}
			}
			if level != 0 {
				return segs, false
			}
			f, fok := parseField(s[i:j], depth)
			flush()
			segs = append(segs, fmtSeg{field: f})
			if !fok {
				return segs, false
			}
			i = j - 1
		default:
			lit.WriteByte(ch)
		}
	}
	flush()
	return segs, true
}

// parseField parses one {field} (braces included).
func parseField(src string, depth int) (*fmtField, bool) {
	f := &fmtField{src: src}
	body := src[1 : len(src)-1]
	// The field name ends at the first ! or : outside a [key].
	end := len(body)
	for i := 0; i < len(body); i++ {
		if body[i] == '[' {
			if k := strings.IndexByte(body[i:], ']'); k > 0 {
				i += k
				continue
			}
			return f, false
		}
		if body[i] == '!' || body[i] == ':' {
			end = i
			break
		}
	}
	name, rest := body[:end], body[end:]
	i := 0
	for i < len(name) && name[i] != '.' && name[i] != '[' {
		i++
	}
	f.arg = name[:i]
	for i < len(name) {
		if name[i] == '.' {
			j := i + 1
			for j < len(name) && name[j] != '.' && name[j] != '[' {
				j++
			}
			f.path = append(f.path, fmtAccess{attr: true, name: name[i+1 : j]})
			if j == i+1 {
				return f, false
			}
			i = j
			continue
		}
		k := strings.IndexByte(name[i:], ']')
		if k < 0 {
			return f, false
		}
		f.path = append(f.path, fmtAccess{name: name[i+1 : i+k]})
		i += k + 1
		if i < len(name) && name[i] != '.' && name[i] != '[' {
			return f, false
		}
	}
	if strings.HasPrefix(rest, "!") {
		if len(rest) < 2 {
			return f, false
		}
		f.conv = rest[1]
		rest = rest[2:]
		if rest != "" && rest[0] != ':' {
			return f, false
		}
	}
	if strings.HasPrefix(rest, ":") {
		spec, ok := parseFormat(rest[1:], depth+1)
		f.spec = spec
		if !ok {
			return f, false
		}
	}
	return f, true
}

// fields lists the fields of segs, nested ones included.
func fields(segs []fmtSeg) []*fmtField {
	var out []*fmtField
	for _, s := range segs {
		if s.field != nil {
			out = append(out, s.field)
			out = append(out, fields(s.field.spec)...)
		}
	}
	return out
}

// braceFormat applies str.format; a field that reaches an attribute does
// not fold (it is judged, not evaluated).
func (c *checker) braceFormat(f string, args []any, kw *dict) (any, bool) {
	segs, ok := parseFormat(f, 0)
	if !ok {
		return nil, false
	}
	auto := 0
	var render func(segs []fmtSeg) (string, bool)
	render = func(segs []fmtSeg) (string, bool) {
		var b strings.Builder
		for _, sg := range segs {
			if sg.field == nil {
				b.WriteString(sg.lit)
				continue
			}
			fd := sg.field
			var v any
			switch {
			case fd.arg == "":
				if auto >= len(args) {
					return "", false
				}
				v = args[auto]
				auto++
			case fd.arg[0] >= '0' && fd.arg[0] <= '9':
				i, err := strconv.Atoi(fd.arg)
				if err != nil || i >= len(args) {
					return "", false
				}
				v = args[i]
			default:
				if kw == nil {
					return "", false
				}
				var ok bool
				if v, ok = kw.get(fd.arg); !ok {
					return "", false
				}
			}
			for _, a := range fd.path {
				if a.attr {
					return "", false
				}
				var k any = a.name
				if i, err := strconv.ParseInt(a.name, 10, 64); err == nil {
					k = i
				}
				var ok bool
				if v, ok = index(v, k); !ok {
					return "", false
				}
			}
			switch fd.conv {
			case 0, 's':
			case 'r', 'a':
				v = repr(v)
			default:
				return "", false
			}
			spec, ok := render(fd.spec)
			if !ok {
				return "", false
			}
			s, ok := formatSpec(v, spec)
			if !ok {
				return "", false
			}
			b.WriteString(s)
			if b.Len() > MaxFoldLen {
				return "", false
			}
		}
		return b.String(), true
	}
	s, ok := render(segs)
	if !ok {
		return nil, false
	}
	return s, true
}

// formatSpec applies a format spec [[fill]align][sign][#][0][width][.prec][type]
// to a string or an integer.
func formatSpec(v any, spec string) (string, bool) {
	if spec == "" {
		return str(v), true
	}
	rs := []rune(spec)
	i := 0
	fill, align := " ", byte(0)
	isAlign := func(r rune) bool { return r == '<' || r == '>' || r == '^' || r == '=' }
	if len(rs) > 1 && isAlign(rs[1]) {
		fill, align, i = string(rs[0]), byte(rs[1]), 2
	} else if len(rs) > 0 && isAlign(rs[0]) {
		align, i = byte(rs[0]), 1
	}
	sign := byte('-')
	if i < len(rs) && (rs[i] == '+' || rs[i] == '-' || rs[i] == ' ') {
		sign = byte(rs[i])
		i++
	}
	alt := false
	if i < len(rs) && rs[i] == '#' {
		alt = true
		i++
	}
	if i < len(rs) && rs[i] == '0' {
		if align == 0 {
			fill, align = "0", '='
		}
		i++
	}
	width := int64(0)
	for i < len(rs) && rs[i] >= '0' && rs[i] <= '9' {
		width = width*10 + int64(rs[i]-'0')
		if width > MaxFoldLen {
			return "", false
		}
		i++
	}
	prec := -1
	if i < len(rs) && rs[i] == '.' {
		i++
		prec = 0
		for i < len(rs) && rs[i] >= '0' && rs[i] <= '9' {
			prec = prec*10 + int(rs[i]-'0')
			if prec > MaxFoldLen {
				return "", false
			}
			i++
		}
	}
	typ := byte(0)
	if i < len(rs) {
		typ = byte(rs[i])
		i++
	}
	if i != len(rs) {
		return "", false
	}
	var s string
	switch x := v.(type) {
	case string:
		if typ != 0 && typ != 's' || sign != '-' || alt || align == '=' {
			return "", false
		}
		s = x
		if prec >= 0 {
			if r := []rune(s); len(r) > prec {
				s = string(r[:prec])
			}
		}
		if align == 0 {
			align = '<'
		}
	case int64, bool:
		n, _ := toInt(x)
		switch typ {
		case 0, 'd', 'n':
			s = fmtInt(n, 'd', false)
		case 'x', 'X', 'o', 'b':
			s = fmtInt(n, typ, alt)
		case 'c':
			if n < 0 || n > unicode.MaxRune {
				return "", false
			}
			s = string(rune(n))
		default:
			return "", false
		}
		if sign != '-' && n >= 0 && typ != 'c' {
			s = string(sign) + s
		}
		if align == 0 {
			align = '>'
		}
		if align == '=' {
			if neg := strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+"); neg {
				p, ok := pad(s[1:], width-1, fill, '>')
				return s[:1] + p, ok
			}
			align = '>'
		}
	default:
		return "", false
	}
	return pad(s, width, fill, align)
}
