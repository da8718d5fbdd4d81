package pickle

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"
)

// step executes the opcode op read at off. It reports whether the stream
// reached STOP.
func (m *vm) step(op byte, off int64) (bool, *Error) {
	switch op {
	case opMARK:
		if len(m.marks) >= m.opts.MaxStack {
			return false, limitFailure(off, "more than %d marks", m.opts.MaxStack)
		}
		if len(m.marks) >= m.opts.MaxDepth {
			// Each open mark is a container whose items are being written:
			// as many open marks as levels of nesting.
			return false, limitFailure(off, "containers nested deeper than %d (more than %d marks open)", m.opts.MaxDepth, m.opts.MaxDepth)
		}
		m.marks = append(m.marks, len(m.stack))
	case opSTOP:
		if _, e := m.pop(off); e != nil {
			return false, e
		}
		return true, nil
	case opPOP:
		if n := len(m.marks); n > 0 && m.marks[n-1] == len(m.stack) {
			m.marks = m.marks[:n-1]
			return false, nil
		}
		_, e := m.pop(off)
		return false, e
	case opPOP_MARK:
		i, e := m.popMark(off)
		if e != nil {
			return false, e
		}
		m.stack = m.stack[:i]
	case opDUP:
		t, e := m.top(off)
		if e != nil {
			return false, e
		}
		return false, m.push(off, *t)

	// Numbers and constants.
	case opNONE:
		return false, m.push(off, noneValue)
	case opNEWTRUE:
		return false, m.push(off, trueValue)
	case opNEWFALSE:
		return false, m.push(off, falseValue)
	case opBININT1:
		if s := m.src; s.i < s.n && m.pushFast(value{k: kInt, n: int64(s.buf[s.i])}) {
			s.i++
			return false, nil
		}
		b, e := m.fixed(off, 1)
		if e != nil {
			return false, e
		}
		return false, m.push(off, value{k: kInt, n: int64(b[0])})
	case opBININT2:
		if s := m.src; s.n-s.i >= 2 && m.pushFast(value{k: kInt, n: int64(binary.LittleEndian.Uint16(s.buf[s.i:]))}) {
			s.i += 2
			return false, nil
		}
		b, e := m.fixed(off, 2)
		if e != nil {
			return false, e
		}
		return false, m.push(off, value{k: kInt, n: int64(binary.LittleEndian.Uint16(b))})
	case opBININT:
		if s := m.src; s.n-s.i >= 4 && m.pushFast(value{k: kInt, n: int64(int32(binary.LittleEndian.Uint32(s.buf[s.i:])))}) {
			s.i += 4
			return false, nil
		}
		b, e := m.fixed(off, 4)
		if e != nil {
			return false, e
		}
		return false, m.push(off, value{k: kInt, n: int64(int32(binary.LittleEndian.Uint32(b)))})
	case opBINFLOAT:
		if s := m.src; s.n-s.i >= 8 && m.pushFast(value{k: kFloat, n: int64(binary.BigEndian.Uint64(s.buf[s.i:]))}) {
			s.i += 8
			return false, nil
		}
		b, e := m.fixed(off, 8)
		if e != nil {
			return false, e
		}
		return false, m.push(off, value{k: kFloat, n: int64(binary.BigEndian.Uint64(b))})
	case opINT:
		l, _, e := m.line(off)
		if e != nil {
			return false, e
		}
		if len(l) == 0 {
			return false, failure(off, "%v", errTruncated)
		}
		switch string(l) {
		case "00":
			return false, m.push(off, falseValue)
		case "01":
			return false, m.push(off, trueValue)
		}
		v, ok := parseINT(l)
		if !ok {
			return false, failure(off, "invalid literal for int(): %q", truncate(string(l), 40))
		}
		return false, m.push(off, v)
	case opLONG:
		l, _, e := m.line(off)
		if e != nil {
			return false, e
		}
		if len(l) == 0 {
			return false, failure(off, "%v", errTruncated)
		}
		if l[len(l)-1] == 'L' {
			l = l[:len(l)-1]
		}
		v, ok := pyLongFromString(cutNUL(l), 0)
		if !ok {
			return false, failure(off, "invalid literal for int(): %q", truncate(string(l), 40))
		}
		return false, m.push(off, v)
	case opLONG1, opLONG4:
		n, e := m.length(off, opTable[op].arg)
		if e != nil {
			return false, e
		}
		if op == opLONG4 && int32(uint32(n)) < 0 {
			return false, failure(off, "LONG pickle has negative byte count")
		}
		s, e := m.counted(off, n)
		if e != nil {
			return false, e
		}
		v := longValue([]byte(s))
		if int64(len(s)) < n {
			v = value{k: kBigInt, s: "<int of " + strconv.FormatInt(n, 10) + " bytes>"}
		}
		return false, m.push(off, v)
	case opFLOAT:
		l, _, e := m.line(off)
		if e != nil {
			return false, e
		}
		if len(l) == 0 {
			return false, failure(off, "%v", errTruncated)
		}
		f, ok := plainFloat(l)
		if !ok {
			f, ok = parseFLOAT(l)
		}
		if !ok {
			return false, failure(off, "could not convert string to float: %q", truncate(string(l), 40))
		}
		return false, m.push(off, value{k: kFloat, n: int64(math.Float64bits(f))})

	// Strings and bytes.
	case opSTRING:
		l, long, e := m.line(off)
		if e != nil {
			return false, e
		}
		n := len(l)
		if long {
			// Only a prefix is kept: check the opening quote, keep the text.
			if n < 1 || (l[0] != '\'' && l[0] != '"') {
				return false, failure(off, "the STRING opcode argument must be quoted")
			}
			return false, m.push(off, str(latin1(string(l[1:])), math.MaxInt64))
		}
		if n < 2 || l[0] != l[n-1] || (l[0] != '\'' && l[0] != '"') {
			return false, failure(off, "the STRING opcode argument must be quoted")
		}
		s, ok := unescapeString(l[1 : n-1])
		if !ok {
			return false, failure(off, "invalid \\x escape in STRING")
		}
		s = latin1(s)
		return false, m.push(off, str(s, int64(len(s))))
	case opBINSTRING, opSHORT_BINSTRING, opBINBYTES, opSHORT_BINBYTES, opBINBYTES8, opBYTEARRAY8:
		n, e := m.length(off, opTable[op].arg)
		if e != nil {
			return false, e
		}
		if op == opBINSTRING && int32(uint32(n)) < 0 {
			return false, failure(off, "BINSTRING pickle has negative byte count")
		}
		into := op != opBINSTRING && op != opSHORT_BINSTRING // read into place by the C unpickler
		m.src.into = into
		s, e := m.counted(off, n)
		m.src.into = false
		if e != nil {
			return false, e
		}
		switch op {
		case opBINSTRING, opSHORT_BINSTRING:
			// A Python 2 str, decoded as by the most permissive loader (latin-1).
			if t := latin1(s); t != s {
				if int64(len(s)) == n {
					n = int64(len(t))
				}
				s = t
			}
			return false, m.push(off, str(s, n))
		case opBYTEARRAY8:
			return false, m.push(off, bytesValue(kByteArray, s, n))
		}
		v := bytesValue(kBytes, s, n)
		if n > int64(len(s)) {
			// Where the whole payload is, for a nested file that a later
			// call deserializes (torch.storage._load_from_bytes).
			v.p = &object{count: m.src.pos() - n}
		}
		return false, m.push(off, v)
	case opBINUNICODE, opSHORT_BINUNICODE, opBINUNICODE8:
		if op != opBINUNICODE8 && m.shortStr(op) {
			return false, nil
		}
		n, e := m.length(off, opTable[op].arg)
		if e != nil {
			return false, e
		}
		s, e := m.counted(off, n)
		if e != nil {
			return false, e
		}
		if !validUTF8Surrogates(s) && int64(len(s)) == n {
			return false, failure(off, "'utf-8' codec can't decode the %s argument", opTable[op].name)
		}
		return false, m.push(off, str(s, n))
	case opUNICODE:
		l, long, e := m.line(off)
		if e != nil {
			return false, e
		}
		s, ok := decodeRawUnicodeEscape(l)
		if long {
			// The kept prefix may end inside an escape: keep what decodes.
			if !ok {
				s = string(l)
			}
			return false, m.push(off, str(s, math.MaxInt64))
		}
		if !ok {
			return false, failure(off, "'rawunicodeescape' codec can't decode the UNICODE argument")
		}
		return false, m.push(off, str(s, int64(len(s))))

	// Containers.
	case opEMPTY_TUPLE:
		return false, m.push(off, m.arena.container(kTuple, 0))
	case opTUPLE1, opTUPLE2, opTUPLE3:
		n := int(op-opTUPLE1) + 1
		if len(m.stack)-m.fence() < n {
			return false, m.underflow(off)
		}
		t := m.container(kTuple, m.popSince(len(m.stack)-n))
		if m.pushFast(t) {
			return false, nil
		}
		return false, m.push(off, t)
	case opTUPLE, opLIST, opFROZENSET:
		i, e := m.popMark(off)
		if e != nil {
			return false, e
		}
		items := m.popSince(i)
		k := kTuple
		switch op {
		case opLIST:
			k = kList
		case opFROZENSET:
			k = kFrozenSet
		}
		if k == kFrozenSet {
			for _, it := range items {
				if !it.hashable() {
					return false, failure(off, "unhashable type: '%s'", it.typeName())
				}
			}
		}
		return false, m.push(off, m.container(k, items))
	case opEMPTY_LIST, opEMPTY_DICT:
		k := kList
		if op == opEMPTY_DICT {
			k = kDict
		}
		if c := m.arena.container(k, 0); !m.pushFast(c) {
			return false, m.push(off, c)
		}
	case opEMPTY_SET:
		return false, m.push(off, m.arena.container(kSet, 0))
	case opDICT:
		i, e := m.popMark(off)
		if e != nil {
			return false, e
		}
		items := m.popSince(i)
		if len(items)%2 != 0 {
			return false, failure(off, "odd number of items for DICT")
		}
		m.noteTargets(off, items)
		d := m.arena.container(kDict, len(items))
		for j := 0; j < len(items); j += 2 {
			if !items[j].hashable() {
				return false, failure(off, "unhashable type: '%s'", items[j].typeName())
			}
			m.arena.addPair(d.p, items[j], items[j+1])
		}
		return false, m.push(off, d)
	case opAPPEND:
		if n := len(m.stack); n >= 2 && n-2 >= m.fence() && m.stack[n-2].k == kList {
			// pop and appendTo, for a list below the item.
			o := m.stack[n-2].p
			m.arena.reserve(o, 1)
			m.arena.addAll(o, m.stack[n-1:])
			m.stack = m.stack[:n-1]
			return false, nil
		}
		v, e := m.pop(off)
		if e != nil {
			return false, e
		}
		return false, m.appendTo(off, len(m.stack)-1, []value{v}, "APPEND")
	case opAPPENDS:
		i, e := m.popMark(off)
		if e != nil {
			return false, e
		}
		items := m.popSince(i)
		return false, m.appendTo(off, i-1, items, "APPEND")
	case opADDITEMS:
		i, e := m.popMark(off)
		if e != nil {
			return false, e
		}
		items := m.popSince(i)
		return false, m.addItems(off, i-1, items)
	case opSETITEM:
		if len(m.stack)-m.fence() < 2 {
			return false, m.underflow(off)
		}
		items := m.popSince(len(m.stack) - 2)
		return false, m.setItems(off, len(m.stack)-1, items)
	case opSETITEMS:
		i, e := m.popMark(off)
		if e != nil {
			return false, e
		}
		items := m.popSince(i)
		if len(items)%2 != 0 {
			return false, failure(off, "odd number of items for SETITEMS")
		}
		return false, m.setItems(off, i-1, items)

	// The memo.
	case opGET, opBINGET, opLONG_BINGET:
		if op != opGET && m.getFast(op) {
			return false, nil
		}
		idx, e := m.memoIndex(off, op)
		if e != nil {
			return false, e
		}
		v, e := m.memoGet(off, idx)
		if e != nil {
			return false, e
		}
		return false, m.push(off, v)
	case opPUT, opBINPUT, opLONG_BINPUT:
		if s := m.src; op != opPUT && len(m.stack) > m.fence() && s.n-s.i >= 4 {
			// The argument is buffered and the stack holds a value: no
			// error but the memo's own is possible.
			idx := int64(s.buf[s.i])
			if op == opLONG_BINPUT {
				idx = int64(binary.LittleEndian.Uint32(s.buf[s.i:]))
				s.i += 3
			}
			s.i++
			return false, m.memoPut(off, idx, m.stack[len(m.stack)-1])
		}
		idx, e := m.memoIndex(off, op)
		if e != nil {
			return false, e
		}
		t, e := m.top(off)
		if e != nil {
			return false, e
		}
		return false, m.memoPut(off, idx, *t)
	case opMEMOIZE:
		if m.memoizeFast() {
			return false, nil
		}
		t, e := m.top(off)
		if e != nil {
			return false, e
		}
		return false, m.memoPut(off, int64(m.memoLen), *t)

	// Framing and protocol.
	case opPROTO:
		b, e := m.fixed(off, 1)
		if e != nil {
			return false, e
		}
		if b[0] > 5 {
			return false, failure(off, "unsupported pickle protocol: %d", b[0])
		}
		m.proto = int(b[0])
	case opFRAME:
		b, e := m.fixed(off, 8)
		if e != nil {
			return false, e
		}
		n := binary.LittleEndian.Uint64(b)
		if n > math.MaxInt64 {
			return false, failure(off, "frame size %d exceeds the maximum size", n)
		}
		if f := m.src.frames; f != nil {
			q, err := f.frame(m.src.pos(), int64(n))
			if err != nil {
				return false, failure(off, "%v", err)
			}
			m.src.seek(q)
			return false, nil
		}
		truncated := m.src.size >= 0 && int64(n) > m.src.size-m.src.pos()
		m.frameEvent(off, int64(n), truncated)
		if truncated && !m.sniffing {
			return false, failure(off, "%v", errTruncated) // the C unpickler reads the whole frame first
		}

	// Imports.
	case opGLOBAL:
		mod, name, e := m.twoLines(off, true)
		if e != nil {
			return false, e
		}
		return false, m.push(off, m.importGlobal(off, mod, name, "GLOBAL"))
	case opSTACK_GLOBAL:
		name, e := m.pop(off)
		if e != nil {
			return false, e
		}
		mod, e := m.pop(off)
		if e != nil {
			return false, e
		}
		if mod.k != kStr || name.k != kStr {
			return false, failure(off, "STACK_GLOBAL requires str")
		}
		return false, m.push(off, m.importGlobal(off, mod.s, name.s, "STACK_GLOBAL"))
	case opEXT1, opEXT2, opEXT4:
		b, e := m.fixed(off, opTable[op].n)
		if e != nil {
			return false, e
		}
		var code int64
		switch op {
		case opEXT1:
			code = int64(b[0])
		case opEXT2:
			code = int64(binary.LittleEndian.Uint16(b))
		default:
			code = int64(int32(binary.LittleEndian.Uint32(b)))
		}
		if code <= 0 {
			return false, failure(off, "EXT specifies code <= 0")
		}
		if v, ok := m.extCache[code]; ok {
			return false, m.push(off, v)
		}
		key, ok := m.ext[code]
		if !ok {
			return false, failure(off, "unregistered extension code %d", code)
		}
		// CPython imports on the first use of a code and caches the object.
		g := m.importGlobal(off, key[0], key[1], opTable[op].name)
		if m.extCache == nil {
			m.extCache = make(map[int64]value)
		}
		m.extCache[code] = g
		return false, m.push(off, g)

	// Calls.
	case opREDUCE:
		args, e := m.pop(off)
		if e != nil {
			return false, e
		}
		fn, e := m.top(off)
		if e != nil {
			return false, e
		}
		if !maybeTuple(args) && !m.pythonArgs(args) {
			return false, failure(off, "argument list must be a tuple, not %s", args.typeName())
		}
		if !opaque(*fn) {
			return false, failure(off, "'%s' object is not callable", fn.typeName())
		}
		res, e := m.callChecked(off, "REDUCE", *fn, args)
		if e != nil {
			return false, e
		}
		*fn = res
	case opINST:
		i, e := m.popMark(off)
		if e != nil {
			return false, e
		}
		mod, name, e := m.twoLines(off, false)
		if e != nil {
			return false, e
		}
		cls := m.importGlobal(off, mod, name, "INST")
		args := m.container(kTuple, m.popSince(i))
		return false, m.push(off, m.call(off, "INST", cls, args))
	case opOBJ:
		i, e := m.popMark(off)
		if e != nil {
			return false, e
		}
		if len(m.stack)-i < 1 {
			return false, m.underflow(off)
		}
		items := m.popSince(i)
		if !opaque(items[0]) {
			return false, failure(off, "'%s' object is not callable", items[0].typeName())
		}
		args := m.container(kTuple, items[1:])
		return false, m.push(off, m.call(off, "OBJ", items[0], args))
	case opNEWOBJ:
		args, e := m.pop(off)
		if e != nil {
			return false, e
		}
		cls, e := m.pop(off)
		if e != nil {
			return false, e
		}
		if !maybeTuple(args) && !m.pythonArgs(args) {
			return false, failure(off, "NEWOBJ expected an arg tuple.")
		}
		if !maybeType(cls) {
			return false, failure(off, "NEWOBJ class argument isn't a type object")
		}
		return false, m.push(off, m.call(off, "NEWOBJ", cls, args))
	case opNEWOBJ_EX:
		kwargs, e := m.pop(off)
		if e != nil {
			return false, e
		}
		args, e := m.pop(off)
		if e != nil {
			return false, e
		}
		cls, e := m.pop(off)
		if e != nil {
			return false, e
		}
		if !maybeTuple(args) {
			return false, failure(off, "NEWOBJ_EX args argument must be a tuple, not %s", args.typeName())
		}
		if kwargs.k != kDict && !opaque(kwargs) {
			return false, failure(off, "NEWOBJ_EX kwargs argument must be a dict, not %s", kwargs.typeName())
		}
		if kwargs.k == kDict {
			for j := 0; j < len(kwargs.p.items); j += 2 {
				if k := kwargs.p.items[j]; k.k != kStr && !opaque(k) {
					return false, failure(off, "keywords must be strings")
				}
			}
		}
		if !maybeType(cls) {
			return false, failure(off, "NEWOBJ_EX class argument must be a type, not %s", cls.typeName())
		}
		all := m.container(kTuple, []value{args, kwargs})
		return false, m.push(off, m.call(off, "NEWOBJ_EX", cls, all))
	case opBUILD:
		state, e := m.pop(off)
		if e != nil {
			return false, e
		}
		inst, e := m.top(off)
		if e != nil {
			return false, e
		}
		return false, m.build(off, *inst, state)

	// Persistent ids and buffers.
	case opPERSID:
		l, _, e := m.line(off)
		if e != nil {
			return false, e
		}
		for _, c := range l {
			if c >= 0x80 {
				return false, failure(off, "persistent IDs in protocol 0 must be ASCII strings")
			}
		}
		pid := str(string(l), int64(len(l)))
		return false, m.push(off, m.persistent(off, pid))
	case opBINPERSID:
		pid, e := m.pop(off)
		if e != nil {
			return false, e
		}
		return false, m.push(off, m.persistent(off, pid))
	case opNEXT_BUFFER:
		return false, failure(off, "pickle stream refers to out-of-band data but no *buffers* argument was given")
	case opREADONLY_BUFFER:
		t, e := m.top(off)
		if e != nil {
			return false, e
		}
		switch t.k {
		case kBytes, kByteArray, kBuffer:
			*t = value{k: kBuffer}
		case kObject, kGlobal, kPersID:
		default:
			return false, failure(off, "a bytes-like object is required, not '%s'", t.typeName())
		}
	default:
		return false, failure(off, "invalid load key, '%s'.", loadKey(op))
	}
	return false, nil
}

// persistent is the object persistent_load(pid) returns.
func (m *vm) persistent(off int64, pid value) value {
	m.noteStorage(off, pid)
	o := &object{items: []value{pid}, count: 1, complete: true, hasRef: pid.refers()}
	m.arena.nest(o, pid)
	m.arena.kept(o, pid)
	return value{k: kPersID, p: o}
}

// shortStr is the fast path of SHORT_BINUNICODE and BINUNICODE: a string
// whose bytes are buffered, is valid UTF-8 and fits on the stack. It
// reports whether it pushed the string; if not, the opcode takes the
// general path, from the same position.
func (m *vm) shortStr(op byte) bool {
	s := m.src
	i, n := s.i, 0
	if op == opSHORT_BINUNICODE {
		if i >= s.n {
			return false
		}
		n, i = int(s.buf[i]), i+1
	} else {
		if s.n-i < 4 {
			return false
		}
		n, i = int(binary.LittleEndian.Uint32(s.buf[i:])), i+4
	}
	if n > keepBytes || s.n-i < n {
		return false
	}
	str := string(s.buf[i : i+n])
	if !validUTF8Surrogates(str) || !m.pushFast(value{k: kStr, s: str, n: int64(n)}) {
		return false
	}
	s.i = i + n
	return true
}

// getFast is the fast path of BINGET and LONG_BINGET: an index that is
// buffered and names a set slot of the dense memo, and room on the stack.
func (m *vm) getFast(op byte) bool {
	s := m.src
	var idx int
	switch {
	case op == opBINGET && s.i < s.n:
		idx = int(s.buf[s.i])
	case op == opLONG_BINGET && s.n-s.i >= 4:
		idx = int(binary.LittleEndian.Uint32(s.buf[s.i:]))
	default:
		return false
	}
	if idx >= m.memoN {
		return false
	}
	if v := m.memoSlot(int64(idx)); v.k == kMissing || !m.pushFast(*v) {
		return false
	}
	s.i += opTable[op].n
	return true
}

// memoizeFast is the fast path of MEMOIZE when the memo is dense, as the
// pickler writes it: the top of the stack goes to the next slot, which
// exists and is unset.
func (m *vm) memoizeFast() bool {
	n := len(m.stack)
	if n <= m.fence() || m.memoLen != m.memoN || m.memoLen >= m.opts.MaxMemo || !m.memoRoom() {
		return false
	}
	*m.memoSlot(int64(m.memoN)) = m.stack[n-1]
	m.memoN++
	m.memoLen++
	return true
}

func loadKey(op byte) string {
	if op >= 0x20 && op < 0x7f {
		return string(rune(op))
	}
	return `\x` + strconv.FormatUint(uint64(op)|0x100, 16)[1:]
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// opaque reports whether v stands for an object whose type the VM does not
// know: it may turn out to be of any type at run time.
func opaque(v value) bool { return v.k == kObject || v.k == kGlobal || v.k == kPersID }

func maybeTuple(v value) bool { return v.k == kTuple || opaque(v) }

func maybeType(v value) bool { return v.k == kGlobal || v.k == kObject || v.k == kPersID }

// twoLines reads the module and name lines of GLOBAL (UTF-8) and INST (ASCII).
func (m *vm) twoLines(off int64, utf bool) (string, string, *Error) {
	var out [2]string
	for i := range out {
		l, long, e := m.line(off)
		if e != nil {
			return "", "", e
		}
		if len(l) == 0 {
			return "", "", failure(off, "%v", errTruncated)
		}
		if long {
			// No module or attribute has such a name: keep it visibly cut,
			// so that no allowlist entry can match it.
			l = append(l[:len(l):len(l)], "…"...)
		}
		for _, c := range l {
			if c >= 0x80 {
				if !utf {
					return "", "", failure(off, "'ascii' codec can't decode the INST argument")
				}
				if !validUTF8Surrogates(string(l)) {
					return "", "", failure(off, "'utf-8' codec can't decode the GLOBAL argument")
				}
				break
			}
		}
		out[i] = string(l)
	}
	return out[0], out[1], nil
}

func (m *vm) memoIndex(off int64, op byte) (int64, *Error) {
	switch op {
	case opGET, opPUT:
		l, _, e := m.line(off)
		if e != nil {
			return 0, e
		}
		if len(l) == 0 {
			return 0, failure(off, "%v", errTruncated)
		}
		if n, ok := plainDecimal(l); ok {
			return n, nil
		}
		v, ok := pyLongFromString(cutNUL(l), 10)
		if !ok {
			return 0, failure(off, "invalid literal for int() with base 10: %q", truncate(string(l), 40))
		}
		if v.k != kInt {
			return math.MaxInt64, nil
		}
		return v.n, nil
	case opBINGET, opBINPUT:
		b, e := m.fixed(off, 1)
		if e != nil {
			return 0, e
		}
		return int64(b[0]), nil
	default:
		b, e := m.fixed(off, 4)
		if e != nil {
			return 0, e
		}
		return int64(binary.LittleEndian.Uint32(b)), nil
	}
}

// plainFloat parses a FLOAT argument made only of digits, signs, a point
// and exponents, as parseFLOAT would (without its checks for what such
// text cannot hold); it reports false for anything else.
func plainFloat(l []byte) (float64, bool) {
	if len(l) == 0 || len(l) > 64 {
		return 0, false
	}
	for _, c := range l {
		if (c < '0' || c > '9') && c != '.' && c != '-' && c != '+' && c != 'e' && c != 'E' {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(string(l), 64)
	if err != nil && !isRangeErr(err) {
		return 0, false
	}
	return f, true
}

// plainDecimal parses the memo index that the pickler writes, digits
// without a sign, spaces or a leading zero, as pyLongFromString would; it
// reports false for any other text, left to pyLongFromString.
func plainDecimal(l []byte) (int64, bool) {
	if len(l) == 0 || len(l) > 18 || (l[0] == '0' && len(l) > 1) {
		return 0, false
	}
	var n int64
	for _, c := range l {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// appendTo appends items to the list at stack index i (APPEND, APPENDS).
func (m *vm) appendTo(off int64, i int, items []value, kindName string) *Error {
	if i < m.fence() || i < 0 {
		return m.underflow(off)
	}
	target := m.stack[i]
	switch target.k {
	case kList:
		m.arena.reserve(target.p, len(items))
		m.arena.addAll(target.p, items)
	case kObject, kPersID:
		// An object of a class the stream constructed: its append or extend
		// method runs. The class itself was judged when it was called.
	case kGlobal:
		// A module-level list of some library, mutated in place.
		for _, it := range items {
			m.call(off, kindName, target, m.container(kTuple, []value{it}))
		}
	default:
		if len(items) == 0 {
			return nil
		}
		return failure(off, "'%s' object has no attribute 'append'", target.typeName())
	}
	return nil
}

// addItems adds items to the set at stack index i (ADDITEMS).
func (m *vm) addItems(off int64, i int, items []value) *Error {
	if i < m.fence() || i < 0 {
		return m.underflow(off)
	}
	target := m.stack[i]
	switch target.k {
	case kSet:
		m.arena.reserve(target.p, len(items))
		for _, it := range items {
			if !it.hashable() {
				return failure(off, "unhashable type: '%s'", it.typeName())
			}
			m.arena.add(target.p, it)
		}
	case kObject, kPersID:
	case kGlobal:
		for _, it := range items {
			m.call(off, "ADDITEMS", target, m.container(kTuple, []value{it}))
		}
	default:
		if len(items) == 0 {
			return nil
		}
		return failure(off, "'%s' object has no attribute 'add'", target.typeName())
	}
	return nil
}

// setItems stores key, value pairs in the dict at stack index i.
func (m *vm) setItems(off int64, i int, items []value) *Error {
	if i < m.fence() || i < 0 {
		return m.underflow(off)
	}
	target := m.stack[i]
	switch target.k {
	case kDict:
		m.arena.reserve(target.p, len(items))
		m.noteTargets(off, items)
		if m.arena.addPairs(target.p, items) {
			return nil
		}
		for j := 0; j < len(items); j += 2 {
			if target.p.countPair(&items[j], &items[j+1]) {
				continue // a plain scalar key is hashable
			}
			if !items[j].hashable() {
				return failure(off, "unhashable type: '%s'", items[j].typeName())
			}
			m.arena.addPair(target.p, items[j], items[j+1])
		}
	case kList:
		// list[i] = v, for an index in range.
		for j := 0; j < len(items); j += 2 {
			k := items[j]
			if k.k != kInt && k.k != kBool {
				return failure(off, "list indices must be integers or slices, not %s", k.typeName())
			}
			if k.n >= target.p.count || k.n < -target.p.count {
				return failure(off, "list assignment index out of range")
			}
		}
	case kObject, kPersID:
		m.noteTargets(off, items) // an OrderedDict, a DictConfig's content
	case kGlobal:
		// A module-level dict of some library (copyreg's registries...),
		// mutated in place.
		for j := 0; j < len(items); j += 2 {
			m.call(off, "SETITEM", target, m.container(kTuple, items[j:j+2]))
			m.setGlobalItem(target, items[j], items[j+1])
		}
	default:
		if len(items) == 0 {
			return nil
		}
		return failure(off, "'%s' object does not support item assignment", target.typeName())
	}
	return nil
}

// setGlobalItem follows writes into copyreg's extension tables.
func (m *vm) setGlobalItem(target, key, val value) {
	switch target.p.resolved {
	case "copyreg._extension_cache":
		if key.k == kInt {
			if m.extCache == nil {
				m.extCache = make(map[int64]value)
			}
			m.extCache[key.n] = val
		}
	case "copyreg._inverted_registry":
		if key.k == kInt && val.k == kTuple && len(val.p.items) == 2 && val.p.items[0].k == kStr && val.p.items[1].k == kStr {
			if m.ext == nil {
				m.ext = make(map[int64][2]string)
			}
			m.ext[key.n] = [2]string{val.p.items[0].s, val.p.items[1].s}
		}
	}
}

// build executes BUILD: inst.__setstate__(state), or an update of
// inst.__dict__ and setattr for the slot state.
func (m *vm) build(off int64, inst, state value) *Error {
	switch inst.k {
	case kObject, kPersID:
		m.call(off, "BUILD", inst, m.container(kTuple, []value{state}))
		m.noteNodeValue(inst, state)
		if inst.k == kObject && inst.p.fnv.k == kGlobal && joblibWrappers[inst.p.fnv.p.resolved] {
			return m.joblibArray(off, state)
		}
		return nil
	case kGlobal:
		// A module, class or function: its attributes are overwritten.
		m.call(off, "BUILD", inst, m.container(kTuple, []value{state}))
		dict, slots := state, value{k: kNone}
		if state.k == kTuple && state.p.count == 2 && len(state.p.items) == 2 {
			dict, slots = state.p.items[0], state.p.items[1]
		}
		for _, d := range []value{dict, slots} {
			if d.k != kDict {
				continue
			}
			for j := 0; j+1 < len(d.p.items); j += 2 {
				m.setAttr(inst, d.p.items[j], d.p.items[j+1])
			}
		}
		return nil
	}
	// A built-in value has no __setstate__ and no __dict__: only a state of
	// None, or (None, None) or (None, {}) for the slots, goes through.
	if state.k == kNone {
		return nil
	}
	if state.k == kTuple && state.p.count == 2 && len(state.p.items) == 2 && state.p.items[0].k == kNone {
		slots := state.p.items[1]
		if slots.k == kNone || slots.k == kDict && slots.p.count == 0 {
			return nil
		}
		if slots.k != kDict && !opaque(slots) {
			return failure(off, "slot state is not a dictionary")
		}
		return failure(off, "'%s' object has no attribute", inst.typeName())
	}
	return failure(off, "'%s' object has no attribute '__dict__'", inst.typeName())
}

// latin1 decodes s as Latin-1 into UTF-8.
func latin1(s string) string {
	i := 0
	for i < len(s) && s[i] < 0x80 {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		b.WriteRune(rune(s[i]))
	}
	return b.String()
}

// unescapeString decodes the body of a protocol-0 STRING argument the way
// Python's bytes escape decoder does. The result holds raw bytes.
func unescapeString(b []byte) (string, bool) {
	if !containsByte(b, '\\') {
		return string(b), true
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' || i+1 >= len(b) {
			out = append(out, c)
			continue
		}
		i++
		switch e := b[i]; e {
		case '\n':
		case '\\', '\'', '"':
			out = append(out, e)
		case 'a':
			out = append(out, 7)
		case 'b':
			out = append(out, 8)
		case 'f':
			out = append(out, 12)
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'v':
			out = append(out, 11)
		case 'x':
			if i+2 >= len(b)+0 && i+2 > len(b) {
				return "", false
			}
			if i+2 >= len(b)+1 {
				return "", false
			}
			h, err := strconv.ParseUint(string(b[i+1:i+3]), 16, 8)
			if err != nil {
				return "", false
			}
			out = append(out, byte(h))
			i += 2
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v, j := 0, i
			for ; j < len(b) && j < i+3 && b[j] >= '0' && b[j] <= '7'; j++ {
				v = v*8 + int(b[j]-'0')
			}
			out = append(out, byte(v))
			i = j - 1
		default:
			out = append(out, '\\', e)
		}
	}
	return string(out), true
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

// writeRuneWTF8 writes r as UTF-8, and a lone surrogate as the three bytes
// Python's "surrogatepass" writes, where Go would write U+FFFD.
func writeRuneWTF8(sb *strings.Builder, r rune) {
	if r >= 0xd800 && r <= 0xdfff {
		sb.WriteByte(byte(0xe0 | r>>12))
		sb.WriteByte(byte(0x80 | r>>6&0x3f))
		sb.WriteByte(byte(0x80 | r&0x3f))
		return
	}
	sb.WriteRune(r)
}

// decodeRawUnicodeEscape decodes Python's raw-unicode-escape: \uXXXX and
// \UXXXXXXXX escapes (after an odd run of backslashes), every other byte a
// Latin-1 character.
func decodeRawUnicodeEscape(b []byte) (string, bool) {
	plain := true
	for _, c := range b {
		if c == '\\' || c >= 0x80 {
			plain = false
			break
		}
	}
	if plain {
		return string(b), true // ASCII without escapes decodes to itself
	}
	var sb strings.Builder
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '\\' {
			run := 1
			for i+run < len(b) && b[i+run] == '\\' {
				run++
			}
			j := i + run
			if run%2 == 1 && j < len(b) && (b[j] == 'u' || b[j] == 'U') {
				n := 4
				if b[j] == 'U' {
					n = 8
				}
				if j+1+n > len(b) {
					return "", false
				}
				r, err := strconv.ParseUint(string(b[j+1:j+1+n]), 16, 32)
				if err != nil || r > 0x10ffff {
					return "", false
				}
				sb.WriteString(strings.Repeat("\\", run-1))
				writeRuneWTF8(&sb, rune(r))
				i = j + n
				continue
			}
			sb.WriteString(strings.Repeat("\\", run))
			i = j - 1
			continue
		}
		if c < 0x80 {
			sb.WriteByte(c)
		} else {
			sb.WriteRune(rune(c))
		}
	}
	return sb.String(), true
}
