package pickle

import (
	"math"
	"math/bits"

	"github.com/violet-mlsecops/violet/analyzer"
)

// Storage is a storage that a torch.save pickle loads through
// persistent_load(('storage', storage_type, key, location, numel)): torch.load
// reads it from the record data/<key> of the checkpoint, for numel elements
// of the storage type (bytes, for torch.storage.UntypedStorage).
type Storage struct {
	// Key names the record.
	Key string
	// Type is the storage type's dotted name (torch.FloatStorage).
	Type string
	// Numel is the declared number of elements.
	Numel int64
	// Offset is the byte offset of the BINPERSID (or PERSID) opcode.
	Offset int64
}

// Tensor is a tensor that torch's _rebuild_tensor_v2 (v1, v3, or
// _rebuild_qtensor) builds on a storage: offset elements into it, with its
// sizes and strides.
type Tensor struct {
	// Key is the key of its storage.
	Key string
	// Extent is how many elements of the storage the tensor reaches: the
	// storage offset plus the largest index its sizes and strides reach,
	// plus one; 0 for a tensor without elements; math.MaxInt64 for one
	// whose values are negative or overflow.
	Extent int64
	// DType is the dotted name of the dtype argument of
	// _rebuild_tensor_v3 (torch.float8_e4m3fn), which gives the element
	// size of a tensor on an untyped storage; "" otherwise.
	DType string
	// Offset is the byte offset of the REDUCE opcode that builds it.
	Offset int64
}

// MaxTensors bounds the storages and the tensors recorded per stream: past
// it, Stream.TensorsDropped counts them.
const MaxTensors = 1 << 20

// rebuilders are the functions of torch that build a tensor from
// (storage, storage_offset, size, stride, ...).
var rebuilders = map[string]bool{
	"torch._utils._rebuild_tensor":    true,
	"torch._utils._rebuild_tensor_v2": true,
	"torch._utils._rebuild_tensor_v3": true,
	"torch._utils._rebuild_qtensor":   true,
}

// LimitOptions are the VM options of a scan under the limits l: the
// stack, the memo, the opcodes, and the values kept nested in others,
// bounded at half of the memo's limit (raising max_pickle_memo for a large
// data pickle raises both).
func LimitOptions(l *analyzer.Limits) Options {
	return Options{MaxStack: l.MaxPickleStack, MaxMemo: l.MaxPickleMemo, MaxOps: l.MaxPickleOps,
		MaxNested: int64(l.MaxPickleMemo / 2)}
}

// noteStorage records the storage that persistent_load(pid) loads, the
// first time its key is declared: torch.load keeps the storage it loads
// first for a key, and any later declaration gets that one.
func (m *vm) noteStorage(off int64, pid value) {
	if pid.k != kTuple || pid.p.count != 5 || len(pid.p.items) != 5 {
		return
	}
	it := pid.p.items
	if it[0].k != kStr || it[0].s != "storage" || it[1].k != kGlobal || it[2].k != kStr || it[4].k != kInt {
		return
	}
	st := m.st
	if st.storageKeys[it[2].s] {
		return
	}
	if len(st.Storages) >= MaxTensors {
		st.TensorsDropped++
		return
	}
	if st.storageKeys == nil {
		st.storageKeys = map[string]bool{}
	}
	st.storageKeys[it[2].s] = true
	st.Storages = append(st.Storages, Storage{Key: it[2].s, Type: it[1].p.resolved, Numel: it[4].n, Offset: off})
}

// noteTensor records the tensor that a rebuilder builds from args.
func (m *vm) noteTensor(off int64, fn string, args value) {
	if args.k != kTuple || len(args.p.items) < 4 {
		return
	}
	it := args.p.items
	storage := it[0]
	if storage.k != kPersID || len(storage.p.items) == 0 {
		return
	}
	pid := storage.p.items[0]
	if pid.k != kTuple || len(pid.p.items) < 3 || pid.p.items[2].k != kStr {
		return
	}
	extent, ok := tensorExtent(it[1], it[2], it[3])
	if !ok {
		return
	}
	t := Tensor{Key: pid.p.items[2].s, Extent: extent, Offset: off}
	if fn == "torch._utils._rebuild_tensor_v3" && len(it) >= 7 && it[6].k == kGlobal {
		t.DType = it[6].p.resolved
	}
	if len(m.st.Tensors) >= MaxTensors {
		m.st.TensorsDropped++
		return
	}
	m.st.Tensors = append(m.st.Tensors, t)
}

// tensorExtent is the number of elements of its storage that a tensor of
// the storage offset, sizes and strides reaches; ok is false when they
// are not integers the VM kept whole (a tensor of more than sampleItems
// dimensions).
func tensorExtent(offset, size, stride value) (int64, bool) {
	if offset.k != kInt || size.k != kTuple || stride.k != kTuple ||
		size.p.count != int64(len(size.p.items)) || stride.p.count != size.p.count {
		return 0, false
	}
	if offset.n < 0 {
		return math.MaxInt64, true
	}
	last := uint64(offset.n) // the largest index reached
	for i, s := range size.p.items {
		st := stride.p.items[i]
		if s.k != kInt || st.k != kInt {
			return 0, false
		}
		switch {
		case s.n < 0 || st.n < 0:
			return math.MaxInt64, true
		case s.n == 0:
			return 0, true // no element: nothing is read
		}
		hi, lo := bits.Mul64(uint64(s.n-1), uint64(st.n))
		sum, carry := bits.Add64(last, lo, 0)
		if hi != 0 || carry != 0 || sum >= math.MaxInt64 {
			return math.MaxInt64, true
		}
		last = sum
	}
	return int64(last) + 1, true
}
