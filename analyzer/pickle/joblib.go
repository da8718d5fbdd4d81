package pickle

import (
	"math"
	"math/bits"
	"strconv"
)

// joblibWrappers are the classes after whose BUILD joblib's unpickler reads
// an array's bytes straight from the file (joblib.numpy_pickle.NumpyUnpickler).
var joblibWrappers = map[string]bool{
	"joblib.numpy_pickle.NumpyArrayWrapper":                   true,
	"sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper": true,
}

// maxNesting bounds streams read in the middle of streams.
const maxNesting = 8

// joblibArray does what NumpyArrayWrapper.read_array does after BUILD: an
// object array is a whole pickle stream read there (traced as a nested
// stream); any other array is raw bytes, optionally after alignment
// padding, which are skipped.
func (m *vm) joblibArray(off int64, state value) *Error {
	// joblib reads the array from its file handle, not through the
	// unpickler: the bytes come from after the current frame, which joblib
	// ends before it writes an array.
	if m.src.frames == nil && m.frameEnd != noFrame {
		if m.src.pos() < m.frameEnd && m.st.Frames == nil {
			m.st.Frames = &FrameEvent{Offset: off, What: "A joblib array's data starts inside a frame, where joblib does not read it", Mismatch: true}
		}
		m.frameEnd = noFrame
	}
	if m.src.frames != nil {
		m.src.raw = true
		defer func() { m.src.raw = false; m.src.hide() }()
	}
	fields := dictFields(state)
	if fields == nil {
		return failure(off, "joblib array header is not a dict of known keys")
	}
	dtype, shape := fields["dtype"], fields["shape"]
	code, ok := dtypeCode(dtype)
	if !ok {
		return failure(off, "joblib array has no readable dtype")
	}
	if code[0] == 'O' || code[0] == '|' && len(code) > 1 && code[1] == 'O' {
		return m.nestedStream(off)
	}
	itemsize, ok := dtypeItemsize(code)
	if !ok {
		return failure(off, "joblib array dtype %q is not understood", code)
	}
	count := int64(1)
	if shape.k != kTuple || int64(len(shape.p.items)) != shape.p.count {
		return failure(off, "joblib array shape is not a tuple of integers")
	}
	for _, d := range shape.p.items {
		if d.k != kInt || d.n < 0 {
			return failure(off, "joblib array shape is not a tuple of integers")
		}
		hi, lo := bits.Mul64(uint64(count), uint64(d.n))
		if hi != 0 || lo > math.MaxInt64 {
			return failure(off, "joblib array is larger than any file")
		}
		count = int64(lo)
	}
	hi, n := bits.Mul64(uint64(count), uint64(itemsize))
	if hi != 0 || n > math.MaxInt64 {
		return failure(off, "joblib array is larger than any file")
	}
	if align, ok := fields["numpy_array_alignment_bytes"]; ok && align.k != kNone {
		b, err := m.src.readByte()
		if err != nil {
			return failure(off, "joblib array padding: %v", err)
		}
		if err := m.src.skip(int64(b)); err != nil {
			return failure(off, "joblib array padding: %v", err)
		}
	}
	if err := m.src.skip(int64(n)); err != nil {
		return failure(off, "joblib array data of %d bytes: %v", n, err)
	}
	return nil
}

// nestedStream traces the pickle stream that starts at the current position
// as a separate stream, then resumes the current one after it.
func (m *vm) nestedStream(off int64) *Error {
	if m.depth >= maxNesting {
		return limitFailure(off, "pickle streams nested deeper than %d", maxNesting)
	}
	saved := *m
	m.stack, m.marks, m.memo = nil, nil, nil
	m.depth++
	st := m.runStream(m.src.pos())
	st.Nested = true
	end, err := st.End, st.Err
	nested := append(saved.nested, m.nested...)
	ext, extCache, patches := m.ext, m.extCache, m.patches
	*m = saved
	m.ext, m.extCache, m.patches = ext, extCache, patches
	m.nested = append(nested, *st)
	if err != nil {
		return failure(off, "the joblib object array's pickle is malformed")
	}
	m.src.seek(end)
	return nil
}

// dictFields returns the string-keyed items of a fully retained dict.
func dictFields(v value) map[string]value {
	if v.k != kDict || !v.p.complete {
		return nil
	}
	out := make(map[string]value, len(v.p.items)/2)
	for i := 0; i+1 < len(v.p.items); i += 2 {
		if v.p.items[i].k == kStr {
			out[v.p.items[i].s] = v.p.items[i+1]
		}
	}
	return out
}

// dtypeCode returns the type string of numpy.dtype('f8', ...).
func dtypeCode(v value) (string, bool) {
	if v.k != kObject || v.p.fnv.k != kGlobal || v.p.args.k != kTuple || len(v.p.args.p.items) == 0 {
		return "", false
	}
	switch v.p.fnv.p.resolved {
	case "numpy.dtype", "numpy.core.multiarray.dtype", "numpy._core.multiarray.dtype":
	default:
		return "", false
	}
	code := v.p.args.p.items[0]
	if code.k != kStr || code.s == "" {
		return "", false
	}
	return code.s, true
}

// dtypeItemsize is the item size of a simple dtype code such as "f8",
// "<i4", "U10" or "V16".
func dtypeItemsize(code string) (int64, bool) {
	if code[0] == '<' || code[0] == '>' || code[0] == '=' || code[0] == '|' {
		code = code[1:]
	}
	if code == "" {
		return 0, false
	}
	kindChar, digits := code[0], code[1:]
	if digits == "" {
		switch kindChar {
		case 'b', '?', 'B':
			return 1, true
		}
		return 0, false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	switch kindChar {
	case 'U':
		return 4 * n, true
	case 'b', 'i', 'u', 'f', 'c', 'S', 'V', 'M', 'm', 'a':
		return n, true
	}
	return 0, false
}
