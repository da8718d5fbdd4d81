package template

import (
	"fmt"
	"strconv"
)

// Kind is the kind of a syntax tree node.
type Kind int

// Node kinds.
const (
	// Data is template text outside tags.
	Data Kind = iota
	// Output is {{ ... }}: Children holds the expression.
	Output
	// Stmt is {% ... %}: Name is the tag, Children its expressions, Bodies its blocks.
	Stmt
	// Name is a variable: Name.
	Name
	// Const is a literal: Value (string), Num (number text), or Name (true, false, none).
	Const
	// List is [a, b]: Children.
	List
	// Tuple is (a, b) or a, b: Children.
	Tuple
	// Dict is {k: v}: Children holds keys and values alternately.
	Dict
	// Getattr is x.name: Children[0] and Name.
	Getattr
	// Getitem is x[arg]: Children[0] and Children[1].
	Getitem
	// Slice is a:b:c inside a subscript: Children (nil where omitted).
	Slice
	// Call is f(args): Children[0] the callee, then the positional arguments; Kwargs.
	Call
	// Filter is x|name(args): Children[0] the operand (nil in filter blocks), then the arguments; Kwargs.
	Filter
	// Test is x is name(args): Children[0] the operand, then the arguments.
	Test
	// BinOp is a op b: Name is the operator (+ - ~ * / // % ** and or).
	BinOp
	// Unary is op a: Name is - + or not.
	Unary
	// Compare is a op b op c...: Children and Ops.
	Compare
	// CondExpr is a if b else c: Children[0] a, [1] b, [2] c (may be nil).
	CondExpr
	// Starred is *a or **a in a call: Name is * or **.
	Starred
)

// Node is one node of the syntax tree.
type Node struct {
	// Kind is the node's kind; it says which of the fields below are used.
	Kind Kind
	// Pos and End are the byte offsets of the node's source.
	Pos, End int
	// Name is a variable, attribute, filter, test, operator or tag name.
	Name string
	// Value is a string constant, decoded.
	Value string
	// IsStr tells a string constant from other constants.
	IsStr bool
	// Escaped tells that the string constant used backslash escapes.
	Escaped bool
	// Num is the text of a number constant.
	Num string
	// Children are the node's operands, arguments or statement expressions.
	Children []*Node
	// Kwargs are the keyword arguments of a call, filter or test.
	Kwargs []Kwarg
	// Ops are the comparison operators of a Compare, "not" for a negated
	// Test, and for names a statement binds: "store", "param" or "import".
	Ops []string
	// Bodies are the blocks of a statement (if: one per branch; for: the
	// loop and its else).
	Bodies [][]*Node
}

// Kwarg is a keyword argument.
type Kwarg struct {
	// Name is the keyword.
	Name string
	// Value is the argument.
	Value *Node
}

// Tree is a parsed template.
type Tree struct {
	// Src is the template source.
	Src string
	// Nodes are the top-level nodes.
	Nodes []*Node
}

type parser struct {
	src   string
	toks  []token
	i     int
	depth int
}

type parseError struct{ err error }

// Parse parses a Jinja template. It returns an error for a malformed
// template or one over the limits (MaxSize, MaxDepth, MaxTokens).
func Parse(src string) (tree *Tree, err error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks}
	defer func() {
		if r := recover(); r != nil {
			pe, ok := r.(parseError)
			if !ok {
				panic(r)
			}
			tree, err = nil, pe.err
		}
	}()
	nodes, end := p.body(nil)
	if end != "" {
		p.fail("unexpected end tag %q", end)
	}
	return &Tree{Src: src, Nodes: nodes}, nil
}

func (p *parser) fail(format string, args ...any) {
	t := p.toks[p.i]
	panic(parseError{fmt.Errorf("template: offset %d: %s", t.pos, fmt.Sprintf(format, args...))})
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) lastEnd() int {
	if p.i == 0 {
		return 0
	}
	return p.toks[p.i-1].end
}

func (p *parser) isOp(v string) bool {
	t := p.peek()
	return t.kind == tOp && t.val == v
}

func (p *parser) isName(v string) bool {
	t := p.peek()
	return t.kind == tName && t.val == v
}

func (p *parser) expectOp(v string) {
	if !p.isOp(v) {
		p.fail("expected %q", v)
	}
	p.next()
}

func (p *parser) expectName(v string) {
	if !p.isName(v) {
		p.fail("expected %q", v)
	}
	p.next()
}

func (p *parser) ident() string {
	t := p.peek()
	if t.kind != tName {
		p.fail("expected a name")
	}
	p.next()
	return t.val
}

func (p *parser) enter() {
	p.depth++
	if p.depth > MaxDepth {
		p.fail("nesting deeper than %d", MaxDepth)
	}
}

func (p *parser) leave() { p.depth-- }

func (p *parser) blockEnd() {
	if p.peek().kind != tBlockEnd {
		p.fail("expected the end of the tag")
	}
	p.next()
}

// body parses nodes until one of the end tags, returning the tag that ended
// it (its tag token is consumed, not the rest of the tag) or "" at EOF.
func (p *parser) body(ends []string) ([]*Node, string) {
	p.enter()
	defer p.leave()
	var nodes []*Node
	for {
		t := p.peek()
		switch t.kind {
		case tEOF:
			if ends != nil {
				p.fail("unexpected end of template, expected %v", ends)
			}
			return nodes, ""
		case tData:
			p.next()
			nodes = append(nodes, &Node{Kind: Data, Pos: t.pos, End: t.end})
		case tVarBegin:
			p.next()
			e := p.tuple(true, nil)
			if p.peek().kind != tVarEnd {
				p.fail("expected }}")
			}
			p.next()
			nodes = append(nodes, &Node{Kind: Output, Pos: t.pos, End: p.lastEnd(), Children: []*Node{e}})
		case tBlockBegin:
			p.next()
			name := p.peek()
			if name.kind != tName {
				p.fail("expected a tag name")
			}
			for _, e := range ends {
				if name.val == e {
					p.next()
					return nodes, e
				}
			}
			nodes = append(nodes, p.stmt(t.pos))
		default:
			p.fail("unexpected token")
		}
	}
}

// endTag consumes the rest of an end tag (endfor %} and the like).
func (p *parser) endTag() {
	for p.peek().kind == tName { // {% endblock name %}
		p.next()
	}
	p.blockEnd()
}

func (p *parser) stmt(pos int) *Node {
	tag := p.ident()
	n := &Node{Kind: Stmt, Pos: pos, Name: tag}
	add := func(e *Node) {
		if e != nil {
			n.Children = append(n.Children, e)
		}
	}
	switch tag {
	case "for":
		add(p.assignTarget())
		p.expectName("in")
		add(p.tuple(false, []string{"if", "recursive"}))
		if p.isName("if") {
			p.next()
			add(p.expr(true))
		}
		if p.isName("recursive") {
			p.next()
		}
		p.blockEnd()
		b, end := p.body([]string{"else", "endfor"})
		n.Bodies = append(n.Bodies, b)
		if end == "else" {
			p.blockEnd()
			b, _ = p.body([]string{"endfor"})
			n.Bodies = append(n.Bodies, b)
		}
		p.endTag()
	case "if":
		add(p.tuple(false, nil))
		p.blockEnd()
		for {
			b, end := p.body([]string{"elif", "else", "endif"})
			n.Bodies = append(n.Bodies, b)
			if end == "elif" {
				add(p.tuple(false, nil))
				p.blockEnd()
				continue
			}
			if end == "else" {
				p.blockEnd()
				b, _ = p.body([]string{"endif"})
				n.Bodies = append(n.Bodies, b)
			}
			p.endTag()
			break
		}
	case "set":
		add(p.assignTarget())
		if p.isOp("=") {
			p.next()
			add(p.tuple(true, nil))
			p.blockEnd()
			break
		}
		for p.isOp("|") {
			add(p.filterChain(nil))
		}
		p.blockEnd()
		b, _ := p.body([]string{"endset"})
		n.Bodies = append(n.Bodies, b)
		p.endTag()
	case "with":
		for p.peek().kind != tBlockEnd {
			if len(n.Children) > 0 {
				p.expectOp(",")
			}
			add(p.assignTarget())
			p.expectOp("=")
			add(p.expr(true))
		}
		p.blockEnd()
		b, _ := p.body([]string{"endwith"})
		n.Bodies = append(n.Bodies, b)
		p.endTag()
	case "macro", "call":
		if tag == "macro" {
			t := p.peek()
			add(&Node{Kind: Name, Pos: t.pos, End: t.end, Name: p.ident()})
		}
		if p.isOp("(") {
			if tag == "macro" || p.callerParams() {
				p.next()
				for !p.isOp(")") {
					if len(n.Children) > 1 || (tag == "call" && len(n.Children) > 0) {
						p.expectOp(",")
						if p.isOp(")") {
							break
						}
					}
					t := p.peek()
					add(&Node{Kind: Name, Pos: t.pos, End: t.end, Name: p.ident(), Ops: []string{"param"}})
					if p.isOp("=") {
						p.next()
						add(p.expr(true))
					}
				}
				p.next()
			}
		}
		if tag == "call" {
			add(p.expr(true))
		}
		p.blockEnd()
		b, _ := p.body([]string{"end" + tag})
		n.Bodies = append(n.Bodies, b)
		p.endTag()
	case "filter":
		add(p.filterChain(nil))
		for p.isOp("|") {
			add(p.filterChain(nil))
		}
		p.blockEnd()
		b, _ := p.body([]string{"endfilter"})
		n.Bodies = append(n.Bodies, b)
		p.endTag()
	case "autoescape", "generation":
		if tag == "autoescape" {
			add(p.expr(true))
		}
		p.blockEnd()
		b, _ := p.body([]string{"end" + tag})
		n.Bodies = append(n.Bodies, b)
		p.endTag()
	case "block":
		p.ident()
		for p.isName("scoped") || p.isName("required") {
			p.next()
		}
		p.blockEnd()
		b, _ := p.body([]string{"endblock"})
		n.Bodies = append(n.Bodies, b)
		p.endTag()
	case "extends", "do":
		add(p.tuple(true, nil))
		p.blockEnd()
	case "include":
		add(p.expr(true))
		if p.isName("ignore") {
			p.next()
			p.expectName("missing")
		}
		p.contextMod()
		p.blockEnd()
	case "import":
		add(p.expr(true))
		p.expectName("as")
		t := p.peek()
		add(&Node{Kind: Name, Pos: t.pos, End: t.end, Name: p.ident(), Ops: []string{"param"}})
		p.contextMod()
		p.blockEnd()
	case "from":
		add(p.expr(true))
		p.expectName("import")
		for {
			if p.isName("with") || p.isName("without") || p.peek().kind == tBlockEnd {
				break
			}
			t := p.peek()
			nm := &Node{Kind: Name, Pos: t.pos, End: t.end, Name: p.ident(), Ops: []string{"import"}}
			add(nm)
			if p.isName("as") {
				p.next()
				t = p.peek()
				add(&Node{Kind: Name, Pos: t.pos, End: t.end, Name: p.ident(), Ops: []string{"param"}})
			}
			if !p.isOp(",") {
				break
			}
			p.next()
		}
		p.contextMod()
		p.blockEnd()
	case "break", "continue":
		p.blockEnd()
	default:
		p.i--
		p.fail("unknown tag %q", tag)
	}
	n.End = p.lastEnd()
	return n
}

// callerParams reports whether {% call ( starts caller parameters rather
// than the call expression: the parameters are followed by a name.
func (p *parser) callerParams() bool {
	depth := 0
	for j := p.i; j < len(p.toks); j++ {
		t := p.toks[j]
		if t.kind == tOp && t.val == "(" {
			depth++
		}
		if t.kind == tOp && t.val == ")" {
			depth--
			if depth == 0 {
				return j+1 < len(p.toks) && p.toks[j+1].kind == tName
			}
		}
		if t.kind == tBlockEnd || t.kind == tEOF {
			return false
		}
	}
	return false
}

func (p *parser) contextMod() {
	if p.isName("with") || p.isName("without") {
		p.next()
		p.expectName("context")
	}
}

// assignTarget parses a name, a tuple of names, or ns.attr.
func (p *parser) assignTarget() *Node {
	t := p.peek()
	var items []*Node
	for {
		it := p.peek()
		var n *Node
		if p.isOp("(") {
			p.next()
			n = p.assignTarget()
			p.expectOp(")")
		} else {
			n = &Node{Kind: Name, Pos: it.pos, End: it.end, Name: p.ident(), Ops: []string{"store"}}
			if p.isOp(".") {
				p.next()
				a := p.peek()
				n = &Node{Kind: Getattr, Pos: it.pos, End: a.end, Name: p.ident(), Children: []*Node{{Kind: Name, Pos: it.pos, End: it.end, Name: n.Name}}}
			}
		}
		items = append(items, n)
		if !p.isOp(",") {
			break
		}
		p.next()
		if p.isName("in") || p.isOp("=") {
			break
		}
	}
	if len(items) == 1 {
		return items[0]
	}
	return &Node{Kind: Tuple, Pos: t.pos, End: p.lastEnd(), Children: items}
}

// tuple parses an expression or a tuple without parentheses.
func (p *parser) tuple(condexpr bool, stop []string) *Node {
	start := p.peek().pos
	var items []*Node
	trailing := false
	for {
		if len(items) > 0 {
			if !p.isOp(",") {
				break
			}
			p.next()
			trailing = true
		}
		t := p.peek()
		if t.kind == tVarEnd || t.kind == tBlockEnd || p.isOp(")") {
			break
		}
		stopped := false
		for _, s := range stop {
			if p.isName(s) {
				stopped = true
			}
		}
		if stopped {
			break
		}
		items = append(items, p.expr(condexpr))
		trailing = false
	}
	if len(items) == 0 {
		p.fail("expected an expression")
	}
	if len(items) == 1 && !trailing {
		return items[0]
	}
	return &Node{Kind: Tuple, Pos: start, End: p.lastEnd(), Children: items}
}

func (p *parser) expr(condexpr bool) *Node {
	p.enter()
	defer p.leave()
	pos := p.peek().pos
	n := p.or()
	if !condexpr {
		return n
	}
	for p.isName("if") {
		p.next()
		test := p.or()
		var els *Node
		if p.isName("else") {
			p.next()
			els = p.expr(true)
		}
		n = &Node{Kind: CondExpr, Pos: pos, End: p.lastEnd(), Children: []*Node{n, test, els}}
	}
	return n
}

func (p *parser) binary(sub func() *Node, ops ...string) *Node {
	pos := p.peek().pos
	n := sub()
	for {
		t := p.peek()
		match := ""
		for _, o := range ops {
			if (t.kind == tOp || t.kind == tName) && t.val == o {
				match = o
			}
		}
		if match == "" {
			return n
		}
		p.next()
		p.enter()
		r := sub()
		p.leave()
		n = &Node{Kind: BinOp, Pos: pos, End: p.lastEnd(), Name: match, Children: []*Node{n, r}}
	}
}

func (p *parser) or() *Node  { return p.binary(p.and, "or") }
func (p *parser) and() *Node { return p.binary(p.not, "and") }

func (p *parser) not() *Node {
	if p.isName("not") {
		t := p.next()
		p.enter()
		defer p.leave()
		x := p.not()
		return &Node{Kind: Unary, Pos: t.pos, End: p.lastEnd(), Name: "not", Children: []*Node{x}}
	}
	return p.compare()
}

func (p *parser) compare() *Node {
	pos := p.peek().pos
	n := p.math1()
	c := &Node{Kind: Compare, Pos: pos, Children: []*Node{n}}
	for {
		t := p.peek()
		switch {
		case t.kind == tOp && (t.val == "==" || t.val == "!=" || t.val == "<" || t.val == ">" || t.val == "<=" || t.val == ">="):
			p.next()
			c.Ops = append(c.Ops, t.val)
		case t.kind == tName && t.val == "in":
			p.next()
			c.Ops = append(c.Ops, "in")
		case t.kind == tName && t.val == "not" && p.toks[p.i+1].kind == tName && p.toks[p.i+1].val == "in":
			p.next()
			p.next()
			c.Ops = append(c.Ops, "not in")
		default:
			if len(c.Ops) == 0 {
				return n
			}
			c.End = p.lastEnd()
			return c
		}
		c.Children = append(c.Children, p.math1())
	}
}

func (p *parser) math1() *Node  { return p.binary(p.concat, "+", "-") }
func (p *parser) concat() *Node { return p.binary(p.math2, "~") }
func (p *parser) math2() *Node  { return p.binary(p.pow, "*", "/", "//", "%") }
func (p *parser) pow() *Node    { return p.binary(p.unary, "**") }

func (p *parser) unary() *Node {
	p.enter()
	defer p.leave()
	t := p.peek()
	if p.isOp("-") || p.isOp("+") {
		p.next()
		x := p.unary()
		return &Node{Kind: Unary, Pos: t.pos, End: p.lastEnd(), Name: t.val, Children: []*Node{x}}
	}
	n := p.postfix(p.primary())
	for {
		switch {
		case p.isOp("|"):
			n = p.filterChain(n)
		case p.isName("is"):
			n = p.test(n)
		case p.isOp("("):
			n = p.call(n)
		default:
			return n
		}
	}
}

func (p *parser) primary() *Node {
	t := p.next()
	switch t.kind {
	case tName:
		switch t.val {
		case "true", "false", "none", "True", "False", "None":
			return &Node{Kind: Const, Pos: t.pos, End: t.end, Name: t.val}
		}
		return &Node{Kind: Name, Pos: t.pos, End: t.end, Name: t.val}
	case tString:
		n := &Node{Kind: Const, Pos: t.pos, End: t.end, IsStr: true, Value: t.val, Escaped: t.escaped}
		for p.peek().kind == tString { // adjacent literals concatenate
			u := p.next()
			n.Value += u.val
			n.Escaped = n.Escaped || u.escaped
			n.End = u.end
		}
		return n
	case tNumber:
		return &Node{Kind: Const, Pos: t.pos, End: t.end, Num: t.val}
	case tOp:
		switch t.val {
		case "(":
			if p.isOp(")") {
				p.next()
				return &Node{Kind: Tuple, Pos: t.pos, End: p.lastEnd()}
			}
			n := p.tuple(true, nil)
			p.expectOp(")")
			if n.Kind == Tuple {
				n.Pos, n.End = t.pos, p.lastEnd()
			}
			return n
		case "[", "{":
			closer := "]"
			kind := List
			if t.val == "{" {
				closer, kind = "}", Dict
			}
			n := &Node{Kind: kind, Pos: t.pos}
			for !p.isOp(closer) {
				if len(n.Children) > 0 {
					p.expectOp(",")
					if p.isOp(closer) {
						break
					}
				}
				n.Children = append(n.Children, p.expr(true))
				if kind == Dict {
					p.expectOp(":")
					n.Children = append(n.Children, p.expr(true))
				}
			}
			p.next()
			n.End = p.lastEnd()
			return n
		}
	}
	p.i--
	p.fail("unexpected token %q", p.src[t.pos:t.end])
	return nil
}

func (p *parser) postfix(n *Node) *Node {
	for {
		switch {
		case p.isOp("."):
			p.next()
			t := p.next()
			if t.kind != tName && t.kind != tNumber {
				p.i--
				p.fail("expected an attribute name")
			}
			if t.kind == tNumber {
				n = &Node{Kind: Getitem, Pos: n.Pos, End: t.end, Children: []*Node{n, {Kind: Const, Pos: t.pos, End: t.end, Num: t.val}}}
			} else {
				n = &Node{Kind: Getattr, Pos: n.Pos, End: t.end, Name: t.val, Children: []*Node{n}}
			}
		case p.isOp("["):
			p.next()
			p.enter()
			var args []*Node
			for !p.isOp("]") {
				if len(args) > 0 {
					p.expectOp(",")
				}
				args = append(args, p.subscriptArg())
			}
			p.leave()
			p.next()
			// x[] is x[()] to Jinja, which parses it.
			var arg *Node
			if len(args) == 1 {
				arg = args[0]
			} else {
				arg = &Node{Kind: Tuple, Pos: n.End, End: p.lastEnd(), Children: args}
			}
			n = &Node{Kind: Getitem, Pos: n.Pos, End: p.lastEnd(), Children: []*Node{n, arg}}
		case p.isOp("("):
			n = p.call(n)
		default:
			return n
		}
	}
}

func (p *parser) subscriptArg() *Node {
	pos := p.peek().pos
	var parts [3]*Node
	k := 0
	if !p.isOp(":") {
		parts[0] = p.expr(true)
		if !p.isOp(":") {
			return parts[0]
		}
	}
	for p.isOp(":") && k < 2 {
		p.next()
		k++
		if !p.isOp(":") && !p.isOp("]") && !p.isOp(",") {
			parts[k] = p.expr(true)
		}
	}
	return &Node{Kind: Slice, Pos: pos, End: p.lastEnd(), Children: parts[:]}
}

func (p *parser) call(fn *Node) *Node {
	p.expectOp("(")
	p.enter()
	defer p.leave()
	n := &Node{Kind: Call, Pos: fn.Pos, Children: []*Node{fn}}
	p.args(n)
	n.End = p.lastEnd()
	return n
}

// args parses call arguments up to and including ")".
func (p *parser) args(n *Node) {
	first := true
	for !p.isOp(")") {
		if !first {
			p.expectOp(",")
			if p.isOp(")") {
				break
			}
		}
		first = false
		t := p.peek()
		if p.isOp("*") || p.isOp("**") {
			p.next()
			x := p.expr(true)
			n.Children = append(n.Children, &Node{Kind: Starred, Pos: t.pos, End: p.lastEnd(), Name: t.val, Children: []*Node{x}})
			continue
		}
		if t.kind == tName && p.toks[p.i+1].kind == tOp && p.toks[p.i+1].val == "=" {
			p.next()
			p.next()
			n.Kwargs = append(n.Kwargs, Kwarg{Name: t.val, Value: p.expr(true)})
			continue
		}
		n.Children = append(n.Children, p.expr(true))
	}
	p.next()
}

// filterChain parses one |name(args) applied to x (nil in filter blocks).
func (p *parser) filterChain(x *Node) *Node {
	t := p.peek()
	if x == nil && p.isOp("|") {
		p.next()
	} else if x != nil {
		p.expectOp("|")
	}
	p.enter()
	defer p.leave()
	name := p.ident()
	for p.isOp(".") {
		p.next()
		name += "." + p.ident()
	}
	pos := t.pos
	if x != nil {
		pos = x.Pos
	}
	n := &Node{Kind: Filter, Pos: pos, Name: name, Children: []*Node{x}}
	if p.isOp("(") {
		p.next()
		p.args(n)
	}
	n.End = p.lastEnd()
	return n
}

func (p *parser) test(x *Node) *Node {
	p.expectName("is")
	p.enter()
	defer p.leave()
	neg := false
	if p.isName("not") {
		p.next()
		neg = true
	}
	name := p.ident()
	for p.isOp(".") {
		p.next()
		name += "." + p.ident()
	}
	n := &Node{Kind: Test, Pos: x.Pos, Name: name, Children: []*Node{x}}
	if neg {
		n.Ops = []string{"not"}
	}
	t := p.peek()
	switch {
	case p.isOp("("):
		p.next()
		p.args(n)
	case t.kind == tString || t.kind == tNumber || p.isOp("[") || p.isOp("{") ||
		t.kind == tName && t.val != "else" && t.val != "or" && t.val != "and" && t.val != "if" && t.val != "in" && t.val != "not" && t.val != "is" && t.val != "recursive":
		n.Children = append(n.Children, p.postfix(p.primary()))
	}
	n.End = p.lastEnd()
	return n
}

// number parses a number constant's text.
func number(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}
