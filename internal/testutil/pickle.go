// Package testutil builds test inputs byte by byte: pickles written opcode
// by opcode, so that tests never need to pickle (or unpickle) anything real.
package testutil

import "encoding/binary"

// Pickle assembles a pickle stream opcode by opcode.
type Pickle struct {
	b []byte
}

// NewPickle starts a stream; protocol 2 and above begin with PROTO.
func NewPickle(protocol int) *Pickle {
	p := &Pickle{}
	if protocol >= 2 {
		p.b = append(p.b, 0x80, byte(protocol))
	}
	return p
}

// Raw appends bytes as they are.
func (p *Pickle) Raw(b ...byte) *Pickle { p.b = append(p.b, b...); return p }

// Global appends GLOBAL module name (protocol 0 text lines).
func (p *Pickle) Global(module, name string) *Pickle {
	p.b = append(p.b, 'c')
	p.b = append(p.b, module+"\n"+name+"\n"...)
	return p
}

// Str appends a str: SHORT_BINUNICODE or BINUNICODE.
func (p *Pickle) Str(s string) *Pickle {
	if len(s) < 256 {
		p.b = append(p.b, 0x8c, byte(len(s)))
	} else {
		p.b = append(p.b, 'X')
		p.b = binary.LittleEndian.AppendUint32(p.b, uint32(len(s)))
	}
	p.b = append(p.b, s...)
	return p
}

// StackGlobal appends the module and name strings and STACK_GLOBAL.
func (p *Pickle) StackGlobal(module, name string) *Pickle {
	return p.Str(module).Str(name).Raw(0x93)
}

// Int appends BININT.
func (p *Pickle) Int(n int32) *Pickle {
	p.b = append(p.b, 'J')
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(n))
	return p
}

// Mark appends MARK.
func (p *Pickle) Mark() *Pickle { return p.Raw('(') }

// Tuple appends TUPLE (closing a MARK).
func (p *Pickle) Tuple() *Pickle { return p.Raw('t') }

// Tuple1 appends TUPLE1.
func (p *Pickle) Tuple1() *Pickle { return p.Raw(0x85) }

// EmptyTuple appends EMPTY_TUPLE.
func (p *Pickle) EmptyTuple() *Pickle { return p.Raw(')') }

// EmptyDict appends EMPTY_DICT.
func (p *Pickle) EmptyDict() *Pickle { return p.Raw('}') }

// SetItem appends SETITEM.
func (p *Pickle) SetItem() *Pickle { return p.Raw('s') }

// Reduce appends REDUCE.
func (p *Pickle) Reduce() *Pickle { return p.Raw('R') }

// NewObj appends NEWOBJ.
func (p *Pickle) NewObj() *Pickle { return p.Raw(0x81) }

// Build appends BUILD.
func (p *Pickle) Build() *Pickle { return p.Raw('b') }

// Pop appends POP.
func (p *Pickle) Pop() *Pickle { return p.Raw('0') }

// Memoize appends MEMOIZE.
func (p *Pickle) Memoize() *Pickle { return p.Raw(0x94) }

// Get appends BINGET i.
func (p *Pickle) Get(i byte) *Pickle { return p.Raw('h', i) }

// Put appends BINPUT i.
func (p *Pickle) Put(i byte) *Pickle { return p.Raw('q', i) }

// Stop appends STOP.
func (p *Pickle) Stop() *Pickle { return p.Raw('.') }

// Call appends the call of a GLOBAL with string arguments: module.name(args...).
func (p *Pickle) Call(module, name string, args ...string) *Pickle {
	p.Global(module, name).Mark()
	for _, a := range args {
		p.Str(a)
	}
	return p.Tuple().Reduce()
}

// Bytes returns the stream.
func (p *Pickle) Bytes() []byte { return append([]byte(nil), p.b...) }
