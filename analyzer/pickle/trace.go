package pickle

// Trace is what loading a pickle file would do: every stream in it, with
// every import and every call, in the order CPython's unpickler would
// perform them.
type Trace struct {
	// Streams are the pickle streams found in the file, in order.
	Streams []Stream
}

// Stream is one pickle stream: from its first opcode to its STOP, or to the
// point where CPython's unpickler would raise.
type Stream struct {
	// Start is the byte offset of the stream's first opcode.
	Start int64
	// End is the byte offset just after its last opcode.
	End int64
	// Protocol is the protocol of the PROTO opcode, or 0 without one.
	Protocol int
	// Ops is the number of opcodes executed.
	Ops int64
	// Imports lists every global the stream imports (GLOBAL, STACK_GLOBAL,
	// INST, EXT1/2/4), in order.
	Imports []Import
	// Calls lists every call the stream makes, in order.
	Calls []Call
	// Err is why the stream stopped before STOP, or nil.
	Err *Error
	// Nested is true for a stream that another stream's loader reads in the
	// middle of it (a joblib object array).
	Nested bool
	// Reader is how the stream was read: ReadMemory, or, for a stream whose
	// frames CPython's readers read differently, one more trace per reader.
	Reader Reader
	// Frames is set when the stream's frames are read differently by
	// CPython's readers (read as ReadMemory).
	Frames *FrameEvent
	// Payloads are the byte strings that the stream hands to a loader of
	// nested files (torch.storage._load_from_bytes: a whole torch.save file
	// per storage, as plain pickle.dump writes tensors). The analyzer scans
	// each as a file of its own.
	Payloads []Payload
	// PayloadsDropped counts the payloads past MaxPayloads.
	PayloadsDropped int
	// Targets are the `_target_` strings of the dicts the stream builds,
	// which a framework may instantiate after loading.
	Targets []Target
	// OpaqueLoads counts the calls of a nested loader whose argument is not
	// a bytes literal: what they load cannot be scanned.
	OpaqueLoads int
	// Storages are the storages the stream loads as torch.save writes
	// them, the first declaration of each key (at most MaxTensors).
	Storages []Storage
	// Tensors are the tensors the stream builds on those storages (at most
	// MaxTensors).
	Tensors []Tensor
	// TensorsDropped counts the storages and tensors past MaxTensors.
	TensorsDropped int

	callArgs    []value         // the arguments of Calls, rendered on demand
	storageKeys map[string]bool // the keys of Storages
}

// Import is one global a pickle imports, as CPython's find_class would
// receive it.
type Import struct {
	// Module and Name are the operands as written in the stream (Name may be
	// dotted: protocol 4 resolves "a.b" by a chain of getattr).
	Module, Name string
	// Resolved is the name judged by the policy: Module.Name after the
	// Python 2 compatibility mapping of protocols 0 to 2.
	Resolved string
	// Offset is the byte offset of the opcode that imported it.
	Offset int64
	// Opcode is the opcode's name ("STACK_GLOBAL"), or "getattr" for an
	// attribute that builtins.getattr reads with constant arguments.
	Opcode string

	obj *object
}

// Call is one call a pickle makes when it is loaded.
type Call struct {
	// Kind is the opcode that calls: REDUCE, INST, OBJ, NEWOBJ, NEWOBJ_EX or
	// BUILD (a __setstate__ call or a __dict__ update).
	Kind string
	// Callable is the dotted name of the global called, or a description of
	// the value when the callable is not a global ("<result of os.popen>").
	Callable string
	// Global is true when Callable names a global imported by the stream.
	Global bool
	// Args renders the reconstructed arguments as Python source, shortened.
	Args string
	// Offset is the byte offset of the calling opcode.
	Offset int64

	module, name string  // of the global called
	constAttr    bool    // getattr(global, 'constant'): judged as the attribute's name
	fnObj        *object // of an object called (not a global): what produced it
}

// FrameEvent is where CPython's readers part ways on a stream's frames.
type FrameEvent struct {
	// Offset is the byte offset of the opcode.
	Offset int64
	// What happens there.
	What string
	// Mismatch is true for what a pickler never writes (a read across a
	// frame's end, a frame inside a frame), false for a frame that the end of
	// the input cuts short.
	Mismatch bool
}

// Payload is a byte string that the stream hands to a loader of nested
// files.
type Payload struct {
	// Loader is the callable that receives it.
	Loader string
	// Offset is where the payload's bytes are in the input, or -1 when only
	// Data holds them.
	Offset int64
	// Size is the payload's length.
	Size int64
	// Data holds the payload when it is short enough to be kept whole.
	Data string
	// Call is the offset of the calling opcode.
	Call int64
}

// nestedLoader is the callable whose one bytes argument is a whole file
// that Violet scans as a member of the pickle, instead of judging the call
// as a nested deserialization it cannot see into: how a torch storage
// pickles itself outside torch.save.
const nestedLoader = "torch.storage._load_from_bytes"

// MaxPayloads bounds the payloads kept per stream.
const MaxPayloads = 100_000

// Error is a malformed stream: what went wrong and where.
type Error struct {
	// Offset is the byte offset of the opcode that failed.
	Offset int64
	// Msg says what went wrong.
	Msg string
	// Limit is true when the stream broke a limit of the VM rather than the
	// format.
	Limit bool
}

func (e *Error) Error() string { return "at offset " + itoa(e.Offset) + ": " + e.Msg }

func itoa(n int64) string {
	const digits = "0123456789"
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = digits[n%10]
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
