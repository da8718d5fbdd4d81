package pickle

import "errors"

// Reader is how a loader reads a pickle's bytes. CPython's readers agree on
// everything a pickler writes, and disagree where an opcode runs past the
// end of its frame (protocol 4 and 5): an attacker can then show one
// reader, and a scanner that reads like it, a harmless stream, and another
// reader the payload.
type Reader uint8

const (
	// ReadMemory is pickle.loads, and the C unpickler on a file whose bytes
	// it holds whole: a frame only needs its bytes to be there, and reads
	// run on across its end.
	ReadMemory Reader = iota
	// ReadFile is the C unpickler on a file object that has no peek
	// (io.BytesIO: how torch.load reads a zip checkpoint's data.pkl). It
	// reads a frame with one read; a later read that does not fit in what it
	// holds drops the rest and reads again from where the file is, so the
	// tail of a frame is skipped. Byte strings (BINBYTES, BYTEARRAY8) are
	// read into place and run on across the end.
	ReadFile
	// ReadPython is the pure-Python unpickler (pickle._Unpickler, which
	// joblib's unpickler extends): a read that runs past the end of its
	// frame raises, a new frame inside one raises, and a frame that the end
	// of the file cuts short still runs up to there.
	ReadPython
)

// A buffered file (open(): pickle.load, torch.load of a legacy file) is read
// by the C unpickler through peek: it reads on across a frame's end as
// ReadMemory does, except after a frame longer than its buffer, which it
// reads as ReadFile does. Each of its behaviours is one of those two.

// readerNames say which loaders read as each Reader, for findings.
var readerNames = [...]string{
	ReadMemory: "",
	ReadFile:   "as the C unpickler reads a file object without peek (torch.load of a zip checkpoint)",
	ReadPython: "as the pure-Python unpickler reads it (pickle._Unpickler, joblib.load)",
}

// errFrameExhausted is the pure-Python unpickler's error for a read that
// runs past the end of its frame.
var errFrameExhausted = errors.New("pickle exhausted before end of frame")

// errNestedFrame is its error for a FRAME before the end of the current one.
var errNestedFrame = errors.New("beginning of a new frame before end of current frame")

// framer is the state of a reader other than ReadMemory.
type framer struct {
	reader Reader
	size   int64
	// ReadFile: the bytes the unpickler holds are [start, end); the file is
	// at end.
	start, end int64
	// ReadPython: the current frame ends at fend, when inFrame.
	inFrame bool
	fend    int64
}

// place returns where a read of n bytes at p really reads: p, or further on
// when the reader drops what it held. into is a read of a byte string's
// payload into place (the C unpickler's _Unpickler_ReadInto).
func (f *framer) place(p, n int64, into bool) (int64, error) {
	switch f.reader {
	case ReadPython:
		if !f.inFrame {
			return p, nil
		}
		switch {
		case p+n <= f.fend:
			return p, nil
		case p >= f.fend && n > 0:
			f.inFrame = false // the frame is used up: read from the file
			return p, nil
		}
		return p, errFrameExhausted
	case ReadFile:
		if p+n <= f.end {
			return p, nil
		}
		if into {
			// What is left of the buffer, then the file, which is right
			// after it: the payload runs on.
			if p+n > f.size {
				return p, errTruncated
			}
			f.start, f.end = p+n, p+n
			return p, nil
		}
		q := max(f.end, p) // the rest of the buffer is dropped
		if q+n > f.size {
			return q, errTruncated
		}
		f.start, f.end = q, q+n
		return q, nil
	}
	return p, nil
}

// line returns where a line that starts at p and whose newline is at nl
// (-1 for none) really starts for the reader, and the error it raises. next
// finds the newline from another start.
func (f *framer) line(p, nl int64, next func(int64) int64) (int64, error) {
	switch f.reader {
	case ReadPython:
		if !f.inFrame {
			return p, nil
		}
		if nl >= 0 && nl < f.fend {
			return p, nil
		}
		if p >= f.fend {
			f.inFrame = false
			return p, nil
		}
		return p, errFrameExhausted
	case ReadFile:
		if nl >= 0 && nl < f.end {
			return p, nil
		}
		q := max(f.end, p)
		e := next(q)
		if e < 0 {
			return q, errTruncated
		}
		f.start, f.end = q, e+1
		return q, nil
	}
	return p, nil
}

// frame handles a FRAME of n bytes whose first byte is at p: it returns
// where the reader goes on (the frame's first byte, wherever it read it).
func (f *framer) frame(p, n int64) (int64, error) {
	switch f.reader {
	case ReadPython:
		if f.inFrame && p < f.fend {
			return p, errNestedFrame
		}
		f.inFrame, f.fend = true, min(p+n, f.size)
		return p, nil
	case ReadFile:
		q, err := f.place(p, n, false)
		if err == nil && n == 0 {
			f.start, f.end = q, q
		}
		return q, err
	}
	return p, nil
}

// pythonArgs reports whether the pure-Python unpickler takes args as the
// arguments of a call: it unpacks any iterable (func(*args)), where the C
// unpickler wants a tuple.
func (m *vm) pythonArgs(args value) bool {
	if m.src.frames == nil || m.src.frames.reader != ReadPython {
		return false
	}
	switch args.k {
	case kList, kStr, kBytes, kByteArray, kDict, kSet, kFrozenSet:
		return true
	}
	return false
}
