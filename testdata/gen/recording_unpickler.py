#!/usr/bin/env python3
"""Records what CPython's own unpickler does with a pickle, without running it.

This is the reference side of the differential test of the Go pickle VM
(analyzer/pickle/differential_test.go); see testdata/gen/README.md.

NOTHING NAMED BY A PICKLE IS EVER IMPORTED OR CALLED. The recorder subclasses
CPython's C unpickler (_pickle.Unpickler) and overrides find_class and
persistent_load. Everything else is CPython's own code: opcode decoding,
stack, marks, memo, EXT lookup and its cache, BUILD on real objects.

Stand-ins (the model the Go VM mirrors):
  - find_class(module, name) records the pair as received, then returns the
    stand-in class of the global: one class per resolved name, made with a
    metaclass that records calls. CPython's C unpickler calls an overriding
    find_class with the raw operands: the Python 2 name mapping of protocols
    0-2 (fix_imports) and the dotted lookup of protocol 4 happen inside the
    default find_class only. "resolved" applies that mapping here, with the
    protocol in force at the importing opcode.
  - Calling a stand-in class (REDUCE, INST and OBJ with arguments) records
    the call and returns an _Opaque instance; NEWOBJ/NEWOBJ_EX (and INST/OBJ
    with no arguments, which CPython turns into cls.__new__(cls)) record
    through __new__. Calling an _Opaque records "?". _Opaque is not a type
    and not a tuple: NEWOBJ on it, or it as REDUCE arguments, raise.
  - BUILD on a stand-in records through __setstate__. On a global with a
    dict state (or a (state, slotstate) pair) it also stores the str keys as
    attributes, as CPython's default BUILD does on a module or function: a
    later import of global.key returns the stored value.
  - builtins.getattr(global, "identifier") called by REDUCE returns the
    stand-in of global.identifier, as on a real module or class.
  - copyreg.add_extension(str, str, int) really registers the code (a dict
    update, no import; it raises on conflicts as in CPython) so that a later
    EXT1/EXT2/EXT4 resolves through find_class; the first EXT of a code caches
    its object in copyreg._extension_cache and later ones do not call
    find_class. Registrations and the cache are undone after each file.
  - persistent_load returns an _Opaque. Stand-ins accept and ignore
    APPEND(S), SETITEM(S) and ADDITEMS (extend, append, __setitem__, add).
  - encoding "latin1": every Python 2 str decodes, as the VM assumes (it
    models the most permissive loader, so that it never stops where a real
    loader such as torch.load(encoding=...) goes on); no out-of-band buffers
    (NEXT_BUFFER raises).
  - The stream is given as a file whose first read returns everything, so
    the C unpickler holds it in one buffer as pickle.loads does (no frame
    boundary effects of a file object).

Usage:
    recording_unpickler.py PATH...        files, or directories (their regular files, sorted)
    recording_unpickler.py --stdin        one path per line on stdin (one process for many files)

Output: one JSON line per file, in input order, for the first pickle stream
of the file (one Unpickler(f).load()):

    {"file": path,
     "imports": [[module, name], ...],    # exactly as find_class received them (raw)
     "calls": [[kind, callable], ...],    # kind: REDUCE INST OBJ NEWOBJ NEWOBJ_EX BUILD
     "error": bool, "error_msg": str,     # load() raised; what was recorded before stays
     "error_type": str,                   # exception class; "Timeout" for the time limit
     "resolved": [str, ...],              # per import: module.name after fix_imports
     "import_ops": [[offset, opcode], ...],
     "call_offsets": [offset, ...],
     "diag": [str, ...]}                  # recorder self-checks that failed (should be empty)

callable is "module.name" when the called object is the stand-in of a global,
after the fix_imports mapping (the object CPython would have imported:
"__builtin__.eval" at protocol 2 is builtins.eval), and "?" for anything else
(the result of a call, of NEWOBJ, a persistent id). Offsets are those of the
opcodes that made the import or the call (a small lexer attributes each event
to its opcode; "diag" reports an event it could not attribute). Strings are
written as UTF-8 with surrogatepass (BINUNICODE may carry lone surrogates):
such bytes are invalid UTF-8, which a Go JSON decoder turns into one U+FFFD
per byte.

Python standard library only.
"""

import argparse
import io
import copyreg
import json
import os
import pickle
import resource
import signal
import sys

import _compat_pickle

# ---------------------------------------------------------------------------
# Opcode lexer. It mirrors how CPython's C unpickler (Modules/_pickle.c) splits
# a stream into opcodes when the whole stream is in memory (pickle.loads). It
# never interprets a value: it only tells which opcode sits at which offset, so
# that each find_class call and each call of a stand-in can be attributed to
# the opcode that caused it (the C unpickler does not expose its position).

_NONE, _FIXED, _LINE, _LINES, _COUNTED = range(5)

# name, argument kind, size (fixed size, or width of the length field), signed length
_OPS = {
    b"(": ("MARK", _NONE, 0), b".": ("STOP", _NONE, 0), b"0": ("POP", _NONE, 0),
    b"1": ("POP_MARK", _NONE, 0), b"2": ("DUP", _NONE, 0), b"F": ("FLOAT", _LINE, 0),
    b"I": ("INT", _LINE, 0), b"J": ("BININT", _FIXED, 4), b"K": ("BININT1", _FIXED, 1),
    b"L": ("LONG", _LINE, 0), b"M": ("BININT2", _FIXED, 2), b"N": ("NONE", _NONE, 0),
    b"P": ("PERSID", _LINE, 0), b"Q": ("BINPERSID", _NONE, 0), b"R": ("REDUCE", _NONE, 0),
    b"S": ("STRING", _LINE, 0), b"T": ("BINSTRING", _COUNTED, -4),
    b"U": ("SHORT_BINSTRING", _COUNTED, 1), b"V": ("UNICODE", _LINE, 0),
    b"X": ("BINUNICODE", _COUNTED, 4), b"a": ("APPEND", _NONE, 0), b"b": ("BUILD", _NONE, 0),
    b"c": ("GLOBAL", _LINES, 0), b"d": ("DICT", _NONE, 0), b"}": ("EMPTY_DICT", _NONE, 0),
    b"e": ("APPENDS", _NONE, 0), b"g": ("GET", _LINE, 0), b"h": ("BINGET", _FIXED, 1),
    b"i": ("INST", _LINES, 0), b"j": ("LONG_BINGET", _FIXED, 4), b"l": ("LIST", _NONE, 0),
    b"]": ("EMPTY_LIST", _NONE, 0), b"o": ("OBJ", _NONE, 0), b"p": ("PUT", _LINE, 0),
    b"q": ("BINPUT", _FIXED, 1), b"r": ("LONG_BINPUT", _FIXED, 4), b"s": ("SETITEM", _NONE, 0),
    b"t": ("TUPLE", _NONE, 0), b")": ("EMPTY_TUPLE", _NONE, 0), b"u": ("SETITEMS", _NONE, 0),
    b"G": ("BINFLOAT", _FIXED, 8),
    b"\x80": ("PROTO", _FIXED, 1), b"\x81": ("NEWOBJ", _NONE, 0), b"\x82": ("EXT1", _FIXED, 1),
    b"\x83": ("EXT2", _FIXED, 2), b"\x84": ("EXT4", _FIXED, 4), b"\x85": ("TUPLE1", _NONE, 0),
    b"\x86": ("TUPLE2", _NONE, 0), b"\x87": ("TUPLE3", _NONE, 0), b"\x88": ("NEWTRUE", _NONE, 0),
    b"\x89": ("NEWFALSE", _NONE, 0), b"\x8a": ("LONG1", _COUNTED, 1), b"\x8b": ("LONG4", _COUNTED, -4),
    b"B": ("BINBYTES", _COUNTED, 4), b"C": ("SHORT_BINBYTES", _COUNTED, 1),
    b"\x8c": ("SHORT_BINUNICODE", _COUNTED, 1), b"\x8d": ("BINUNICODE8", _COUNTED, 8),
    b"\x8e": ("BINBYTES8", _COUNTED, 8), b"\x8f": ("EMPTY_SET", _NONE, 0),
    b"\x90": ("ADDITEMS", _NONE, 0), b"\x91": ("FROZENSET", _NONE, 0),
    b"\x92": ("NEWOBJ_EX", _NONE, 0), b"\x93": ("STACK_GLOBAL", _NONE, 0),
    b"\x94": ("MEMOIZE", _NONE, 0), b"\x95": ("FRAME", _FIXED, 8),
    b"\x96": ("BYTEARRAY8", _COUNTED, 8), b"\x97": ("NEXT_BUFFER", _NONE, 0),
    b"\x98": ("READONLY_BUFFER", _NONE, 0),
}
_OPS = {k[0]: v for k, v in _OPS.items()}

IMPORT_OPS = ("GLOBAL", "STACK_GLOBAL", "INST", "EXT1", "EXT2", "EXT4")
CALL_OPS = ("REDUCE", "INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "BUILD")
# Which opcodes can cause each kind of stand-in invocation.
_COMPATIBLE = {
    "call": ("REDUCE", "INST", "OBJ"),  # cls(*args) or instance(*args)
    "new": ("NEWOBJ", "NEWOBJ_EX", "INST", "OBJ"),  # cls.__new__(cls, ...); INST/OBJ with no args
    "setstate": ("BUILD",),
}


def lex(data):
    """Returns [(offset, name, arg)] up to STOP or the first opcode that cannot be read.

    arg is the EXT code for EXT1/2/4, the protocol for PROTO, None otherwise.
    An opcode that cannot be read (unknown, truncated, negative length) is
    where CPython stops with an error too, so nothing after it matters.
    """
    ops = []
    i, n = 0, len(data)
    while i < n:
        start = i
        info = _OPS.get(data[i])
        if info is None:
            break
        name, kind, size = info
        i += 1
        arg = None
        if kind == _FIXED:
            if i + size > n:
                break
            raw = data[i:i + size]
            i += size
            if name in ("EXT1", "EXT2", "EXT4"):
                arg = int.from_bytes(raw, "little", signed=(name == "EXT4"))
            elif name == "PROTO":
                arg = raw[0]
        elif kind == _LINE:
            j = data.find(b"\n", i)
            if j < 0:
                break
            i = j + 1
        elif kind == _LINES:
            j = data.find(b"\n", i)
            if j < 0:
                break
            j = data.find(b"\n", j + 1)
            if j < 0:
                break
            i = j + 1
        elif kind == _COUNTED:
            width = abs(size)
            if i + width > n:
                break
            length = int.from_bytes(data[i:i + width], "little", signed=(size < 0))
            i += width
            if length < 0 or i + length > n:
                break
            i += length
        ops.append((start, name, arg))
        if name == "STOP":
            break
    return ops


def resolve(module, name, proto):
    """module.name after the fix_imports mapping the default find_class applies (protocol < 3)."""
    if proto < 3:
        key = (module, name)
        if key in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[key]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
    return module + "." + name


# ---------------------------------------------------------------------------
# Recording state of the file being loaded.

class _Recording:
    def __init__(self, data):
        self.ops = lex(data)
        self.import_ops = [k for k, op in enumerate(self.ops) if op[1] in IMPORT_OPS]
        self.call_ops = [k for k, op in enumerate(self.ops) if op[1] in CALL_OPS]
        self.protos = [(off, arg) for off, name, arg in self.ops if name == "PROTO" and arg <= pickle.HIGHEST_PROTOCOL]
        self.ip = 0  # next import-capable opcode not yet attributed
        self.cp = 0  # next calling opcode not yet attributed
        self.imports = []
        self.resolved = []
        self.import_ops_out = []
        self.calls = []
        self.call_offsets = []
        self.diag = []
        self.classes = {}  # resolved name -> stand-in class
        self.patches = {}  # resolved name -> what a BUILD on a global stored there

    def proto_at(self, offset):
        proto = 0
        for off, p in self.protos:
            if off >= offset:
                break
            proto = p
        return proto

    def on_import(self, module, name):
        """Attributes a find_class call to its opcode; returns the resolved name."""
        # An EXT whose code is already in copyreg's cache pushed the cached
        # object without calling find_class: skip it. The EXT being executed
        # now is not cached yet (the C unpickler caches after find_class).
        while self.ip < len(self.import_ops):
            off, op, code = self.ops[self.import_ops[self.ip]]
            if op.startswith("EXT") and code in copyreg._extension_cache:
                self.ip += 1
                continue
            break
        if self.ip < len(self.import_ops):
            off, op, _ = self.ops[self.import_ops[self.ip]]
            self.ip += 1
        else:
            off, op = -1, "?"
            self.diag.append("find_class(%r, %r) matches no opcode" % (module, name))
        resolved = resolve(module, name, self.proto_at(off) if off >= 0 else 0)
        self.imports.append([module, name])
        self.resolved.append(resolved)
        self.import_ops_out.append([off, op])
        return resolved

    def on_call(self, how, desc):
        """Records one call of a stand-in; how is "call", "new" or "setstate"."""
        # A BUILD on a real object (dict, list...) calls no stand-in: skip it.
        # Every other calling opcode either calls a stand-in or raises.
        if how != "setstate":
            while self.cp < len(self.call_ops) and self.ops[self.call_ops[self.cp]][1] == "BUILD":
                self.cp += 1
        if self.cp < len(self.call_ops):
            off, op, _ = self.ops[self.call_ops[self.cp]]
            self.cp += 1
            if op not in _COMPATIBLE[how]:
                self.diag.append("%s of %s attributed to %s at %d" % (how, desc, op, off))
        else:
            off, op = -1, "UNKNOWN"
            self.diag.append("%s of %s matches no opcode" % (how, desc))
        self.calls.append([op, desc])
        self.call_offsets.append(off)
        return op


_REC = None  # the _Recording of the file being loaded


# ---------------------------------------------------------------------------
# Stand-ins. A global is a class (NEWOBJ requires a type) whose metaclass
# records calls; everything else opaque is an _Opaque instance. Both accept
# the container protocol the unpickler may use on an object (APPEND(S) via
# extend/append, SETITEM(S) via __setitem__, ADDITEMS via add) and ignore it:
# a real object in their place (an OrderedDict, a list subclass) would accept it.

def _global(resolved):
    """The stand-in class of a global (one per resolved name and file)."""
    cls = _REC.classes.get(resolved)
    if cls is None:
        cls = _Meta("StandIn", (), {"__slots__": (), "__new__": _stand_in_new, "_violet_resolved": resolved})
        _REC.classes[resolved] = cls
    return cls


def _lookup(resolved):
    """What importing resolved yields: the value an earlier BUILD stored at
    that name (or an attribute of a global stored at a prefix of it), else
    the global's stand-in."""
    patches = _REC.patches
    p = resolved
    while patches:
        if p in patches:
            v = patches[p]
            if p == resolved:
                return v
            if isinstance(v, _Meta):
                return _global(v._violet_resolved + resolved[len(p):])
            break
        i = p.rfind(".")
        if i < 0:
            break
        p = p[:i]
    return _global(resolved)


class _Meta(type):
    def __call__(cls, *args, **kwargs):  # REDUCE, INST and OBJ with arguments
        op = _REC.on_call("call", cls._violet_resolved)
        if (cls._violet_resolved == "copyreg.add_extension" and not kwargs and len(args) == 3
                and type(args[0]) is str and type(args[1]) is str and isinstance(args[2], int)):
            # The one real call: a registry update, as CPython would do it
            # (it raises ValueError on a conflicting or out-of-range code).
            copyreg.add_extension(args[0], args[1], int(args[2]))
        elif (cls._violet_resolved == "builtins.getattr" and op == "REDUCE" and not kwargs and len(args) == 2
              and isinstance(args[0], _Meta) and type(args[1]) is str and args[1].isidentifier()):
            # getattr(global, "name") is the global global.name, as on a real
            # module or class (Python 3.12 pickles enum members this way).
            return _lookup(args[0]._violet_resolved + "." + args[1])
        return _Opaque()

    def __setstate__(cls, state):  # BUILD on a global
        _REC.on_call("setstate", cls._violet_resolved)
        # CPython's default BUILD on a module or a function updates its
        # __dict__ (and setattr()s a slot state): later imports of those
        # names find the new values.
        parts = state if type(state) is tuple and len(state) == 2 else (state,)
        for d in parts:
            if type(d) is dict:
                for k, v in d.items():
                    if type(k) is str:
                        _REC.patches[cls._violet_resolved + "." + k] = v

    def __setitem__(cls, key, value):
        pass

    def append(cls, item):
        pass

    def extend(cls, items):
        pass

    def add(cls, item):
        pass


def _stand_in_new(cls, *args, **kwargs):  # NEWOBJ, NEWOBJ_EX; INST and OBJ without arguments
    _REC.on_call("new", cls._violet_resolved)
    return _Opaque()


class _Opaque:
    __slots__ = ()

    def __call__(self, *args, **kwargs):
        _REC.on_call("call", "?")
        return _Opaque()

    def __setstate__(self, state):
        _REC.on_call("setstate", "?")

    def __setitem__(self, key, value):
        pass

    def append(self, item):
        pass

    def extend(self, items):
        pass

    def add(self, item):
        pass


class RecordingUnpickler(pickle.Unpickler):
    """CPython's C Unpickler with find_class and persistent_load replaced by recorders.

    The C unpickler calls this find_class with the operands as read (for
    GLOBAL, INST, STACK_GLOBAL) or as registered (EXT*): the Python 2 name
    mapping of protocols 0 to 2 (fix_imports) and the dotted-name lookup of
    protocol 4 happen inside the default find_class, which is not called.
    """

    def find_class(self, module, name):
        return _lookup(_REC.on_import(module, name))

    def persistent_load(self, pid):
        return _Opaque()


class PyRecordingUnpickler(pickle._Unpickler):
    """The pure-Python unpickler (pickle._Unpickler, which joblib's extends)
    with the same recorders: it reads frames strictly."""

    def find_class(self, module, name):
        return _lookup(_REC.on_import(module, name))

    def persistent_load(self, pid):
        return _Opaque()


# The readers --reader selects: how the stream reaches the unpickler.
READERS = {
    # The C unpickler holding the whole stream, as pickle.loads does.
    "whole": lambda data: RecordingUnpickler(_WholeReader(data), encoding="latin1"),
    # The C unpickler on io.BytesIO (no peek: torch.load of a zip checkpoint).
    "bytesio": lambda data: RecordingUnpickler(io.BytesIO(data), encoding="latin1"),
    # The pure-Python unpickler.
    "python": lambda data: PyRecordingUnpickler(io.BytesIO(data), encoding="latin1"),
}


class _WholeReader:
    """A file whose first read returns the whole stream.

    The C unpickler then holds the whole stream in its buffer, exactly as
    pickle.loads does. (With a file whose read(n) returns n bytes, such as
    io.BytesIO, the C unpickler reads a FRAME in one block and silently drops
    the rest of the frame when an opcode straddles its end: a quirk of the
    file object, not of the format.) It has no peek and no readinto on purpose.
    """

    def __init__(self, data):
        self._data = data
        self._pos = 0

    def read(self, n=-1):
        out = self._data[self._pos:]
        self._pos = len(self._data)
        return out

    def readline(self):
        return self.read()


class _Timeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise _Timeout("time limit exceeded")


def record_file(path, timeout, reader="whole"):
    global _REC
    with open(path, "rb") as f:
        data = f.read()
    rec = _REC = _Recording(data)
    registry = dict(copyreg._extension_registry)
    inverted = dict(copyreg._inverted_registry)
    cache = dict(copyreg._extension_cache)
    error, error_msg, error_type = False, "", ""
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            READERS[reader](data).load()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _Timeout as e:
        error, error_msg, error_type = True, str(e), "Timeout"
    except (Exception, RecursionError, MemoryError) as e:
        error, error_type = True, type(e).__name__
        try:
            error_msg = str(e)[:300]
        except Exception:
            error_msg = "(unprintable)"
    finally:
        _REC = None
        # The C unpickler holds references to these very dicts: restore in place.
        for d, saved in ((copyreg._extension_registry, registry),
                         (copyreg._inverted_registry, inverted),
                         (copyreg._extension_cache, cache)):
            d.clear()
            d.update(saved)
    if reader != "whole":
        # The lexer attributes events to opcodes as the whole stream reads;
        # the other readers may skip bytes, so only the events are compared.
        rec.diag = []
    return {
        "file": path,
        "imports": rec.imports,
        "calls": rec.calls,
        "error": error,
        "error_msg": error_msg,
        "error_type": error_type,
        "resolved": rec.resolved,
        "import_ops": rec.import_ops_out,
        "call_offsets": rec.call_offsets,
        "diag": rec.diag,
    }


def _paths(args):
    for a in args:
        if os.path.isdir(a):
            for name in sorted(os.listdir(a)):
                p = os.path.join(a, name)
                if os.path.isfile(p):
                    yield p
        else:
            yield a


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="*", help="pickle files or directories")
    ap.add_argument("--stdin", action="store_true", help="read the paths from stdin, one per line")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per file (default 10)")
    ap.add_argument("--reader", choices=sorted(READERS), default="whole",
                    help="how the stream reaches the unpickler (default whole: as pickle.loads)")
    ap.add_argument("--mem-mb", type=int, default=2048, help="address-space limit in MiB (default 2048, 0: none)")
    args = ap.parse_args()
    if not args.stdin and not args.paths:
        ap.error("give paths or --stdin")

    # Guards: a hostile or mutated pickle must not hang or exhaust the machine.
    # Memory: the C unpickler allocates what a length field asks for (a
    # BINBYTES8 of 2**40 bytes, a memo index of 2**31), which then fails with
    # MemoryError. Time: a timer interrupts Python-level code; the caller
    # (the Go test) also kills a process that stops answering.
    if args.mem_mb > 0:
        limit = args.mem_mb << 20
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    sys.setrecursionlimit(10000)
    signal.signal(signal.SIGALRM, _on_alarm)

    paths = (line.rstrip("\n") for line in sys.stdin) if args.stdin else _paths(args.paths)
    out = sys.stdout.buffer
    for path in paths:
        if not path:
            continue
        try:
            result = record_file(path, args.timeout, args.reader)
        except OSError as e:
            result = {"file": path, "imports": [], "calls": [], "error": True,
                      "error_msg": "cannot read: %s" % e, "error_type": "OSError",
                      "resolved": [], "import_ops": [], "call_offsets": [], "diag": ["unreadable"]}
        line = json.dumps(result, ensure_ascii=False) + "\n"
        out.write(line.encode("utf-8", "surrogatepass"))
        out.flush()


if __name__ == "__main__":
    main()
