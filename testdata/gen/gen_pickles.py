#!/usr/bin/env python3
"""Writes pickles for the differential test of the Go pickle VM.

    gen_pickles.py --out DIR --n N --seed S

writes N files into DIR, deterministic for a seed (file i depends only on the
seed and i, so a smaller N gives a prefix of a larger one):

  fixed-*   a few dozen hand-written edge cases, always first;
  data-pK   pickle.dumps of random nested plain data at protocol K (0 to 5):
            ints of all sizes, floats, str, bytes, bytearray, tuples, lists,
            dicts, sets, frozensets, None/True/False, shared and recursive
            references (memo PUT/GET), PickleBuffer in band;
  asm       streams assembled opcode by opcode from a random program: globals
            (GLOBAL, STACK_GLOBAL with names from literals, the memo or earlier
            calls, EXT1/2/4 registered in the stream with copyreg.add_extension),
            calls (REDUCE, INST, OBJ, NEWOBJ, NEWOBJ_EX, BUILD), PERSID and
            BINPERSID, containers filled on real and opaque objects, every
            PUT/GET variant and MEMOIZE, DUP, POP_MARK, NEXT_BUFFER and
            READONLY_BUFFER, FRAMEs (sometimes with a wrong length);
  mut-*     the above mutated: byte and bit flips, truncations, duplicated,
            deleted, swapped or inserted opcodes;
  frames-*  (with --frames, only these) real protocol 4 and 5 pickles with
            calls of globals among their opcodes, grouped into small frames,
            then one frame length or one counted length changed by a little.

Nothing is unpickled here, and no real callable is pickled: the only objects
given to pickle.dumps are plain data; everything naming a global is assembled
from bytes. Python standard library only.
"""

import argparse
import math
import os
import pickle
import random
import struct
import sys

import _compat_pickle

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from recording_unpickler import lex  # noqa: E402  (a lexer only: it loads nothing)


# ---------------------------------------------------------------------------
# (a) random plain data, pickled by pickle.dumps.

_INT_EDGES = [0, 1, -1, 127, 128, 255, 256, -256, 32767, 65535, 65536, -65536, 2**31 - 1, -2**31, 2**31,
              -2**31 - 1, 2**32, 2**63 - 1, -2**63, 2**63, 2**64, -2**64, 10**20, -10**40]
_STR_CHARS = "abcxyz AZ09_.\n\r\t\\'\"\x00\x7f\x80é\u0100\u20ac\U0001f600"


def rand_int(rng):
    r = rng.random()
    if r < 0.4:
        return rng.choice(_INT_EDGES)
    if r < 0.7:
        return rng.randint(-300, 300)
    if r < 0.9:
        return rng.randint(-2**40, 2**40)
    return rng.getrandbits(rng.randint(64, 2000)) * rng.choice((1, -1))


def rand_float(rng):
    r = rng.random()
    if r < 0.2:
        return rng.choice([0.0, -0.0, math.inf, -math.inf, math.nan, 1e308, 5e-324, 0.1])
    return rng.uniform(-1e6, 1e6) * 10 ** rng.randint(-20, 20)


def rand_str(rng, maxlen=12):
    s = "".join(rng.choice(_STR_CHARS) for _ in range(rng.randint(0, maxlen)))
    if rng.random() < 0.03:
        s += "\ud800"  # a lone surrogate: raw-unicode-escape or utf-8 surrogatepass
    return s


def rand_bytes(rng, maxlen=12):
    if rng.random() < 0.02:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(256, 600)))
    return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, maxlen)))


def rand_hashable(rng, depth):
    r = rng.random()
    if r < 0.3:
        return rand_int(rng)
    if r < 0.6:
        return rand_str(rng)
    if r < 0.7:
        return rand_bytes(rng)
    if r < 0.75:
        return rng.choice([None, True, False])
    if r < 0.8:
        return rand_float(rng)
    if depth > 0 and r < 0.92:
        return tuple(rand_hashable(rng, depth - 1) for _ in range(rng.randint(0, 3)))
    if depth > 0:
        return frozenset(rand_hashable(rng, depth - 1) for _ in range(rng.randint(0, 3)))
    return rand_int(rng)


def rand_data(rng, depth, pool, proto):
    """Random plain data; pool holds earlier containers for shared references."""
    if pool and rng.random() < 0.08:
        return rng.choice(pool)
    r = rng.random()
    if depth <= 0 or r < 0.45:
        s = rng.random()
        if s < 0.25:
            return rand_int(rng)
        if s < 0.45:
            return rand_str(rng)
        if s < 0.6:
            return rand_bytes(rng)
        if s < 0.68:
            return bytearray(rand_bytes(rng))
        if s < 0.8:
            return rand_float(rng)
        if s < 0.85 and proto >= 5:
            return pickle.PickleBuffer(bytearray(rand_bytes(rng)))  # in band: BYTEARRAY8
        return rng.choice([None, True, False])
    k = rng.randint(0, 4)
    t = rng.random()
    if t < 0.25:
        v = [rand_data(rng, depth - 1, pool, proto) for _ in range(k)]
        if rng.random() < 0.1:
            v.append(v)  # recursive list
    elif t < 0.45:
        v = tuple(rand_data(rng, depth - 1, pool, proto) for _ in range(k))
        if rng.random() < 0.1:
            holder = [v]
            v = (holder,)
            holder.append(v)  # recursive tuple through a list
    elif t < 0.7:
        v = {rand_hashable(rng, 2): rand_data(rng, depth - 1, pool, proto) for _ in range(k)}
        if rng.random() < 0.1:
            v["self"] = v  # recursive dict
    elif t < 0.85:
        v = {rand_hashable(rng, 2) for _ in range(k)}
    else:
        v = frozenset(rand_hashable(rng, 2) for _ in range(k))
    if not isinstance(v, (int, str)):
        pool.append(v)
    return v


def gen_data(rng):
    proto = rng.randint(0, 5)
    if rng.random() < 0.03:
        v = []  # deep nesting
        for _ in range(rng.randint(50, 150)):
            v = [v]
    else:
        v = rand_data(rng, rng.randint(1, 5), [], proto)
    return "data-p%d" % proto, pickle.dumps(v, protocol=proto)


# ---------------------------------------------------------------------------
# (b) assembled streams.

_MODULES = ["os", "posix", "nt", "builtins", "__builtin__", "subprocess", "copyreg", "copy_reg", "collections",
            "torch._utils", "torch", "numpy.core.multiarray", "numpy", "functools", "operator", "sys", "pickle",
            "_codecs", "runpy", "bdb", "pydoc", "webbrowser", "a", "a.b.c", "UserDict", "exceptions", "urllib2",
            "cPickle", "StringIO", "m\u00f6dule", "__main__"]
_NAMES = ["system", "popen", "eval", "exec", "getattr", "apply", "OrderedDict", "_rebuild_tensor_v2",
          "_reconstruct", "partial", "attrgetter", "loads", "encode", "_run_code", "Bdb.run", "Bdb", "open",
          "xrange", "unicode", "reduce", "UserDict", "StandardError", "_reconstructor", "a.b", "x.y.z",
          "na\u00efve", "__reduce_ex__", "dict", "set"]
_NAME_PAIRS = sorted(_compat_pickle.NAME_MAPPING)
_MODULE_KEYS = sorted(_compat_pickle.IMPORT_MAPPING)


def enc(s):
    return s.encode("utf-8", "surrogatepass")


class Asm:
    """A random program assembled as a list of opcodes (one bytes chunk each)."""

    def __init__(self, rng):
        self.rng = rng
        self.ops = []
        self.memo = {}  # index -> kind of value ("str:<value>", "global", "result", ...)
        self.ext = {}  # registered code -> (module, name)
        self.proto = None

    def emit(self, *chunks):
        self.ops.extend(chunks)

    def chance(self, p):
        return self.rng.random() < p

    # names ---------------------------------------------------------------
    def pick_name(self):
        rng = self.rng
        r = rng.random()
        if r < 0.15:
            return rng.choice(_NAME_PAIRS)
        if r < 0.25:
            return rng.choice(_MODULE_KEYS), rng.choice(_NAMES)
        if r < 0.3:
            return rng.choice(["", "os", "x"]), rng.choice(["", "system", "y"])
        return rng.choice(_MODULES), rng.choice(_NAMES)

    # scalars ---------------------------------------------------------------
    def int_lit(self):
        rng = self.rng
        v = rand_int(rng)
        r = rng.random()
        if r < 0.2 and 0 <= v < 256:
            self.emit(b"K" + bytes([v]))
        elif r < 0.35 and 0 <= v < 65536:
            self.emit(b"M" + struct.pack("<H", v))
        elif r < 0.5 and -2**31 <= v < 2**31:
            self.emit(b"J" + struct.pack("<i", v))
        elif r < 0.6:
            self.emit(b"I" + str(v).encode() + b"\n")
        elif r < 0.7:
            self.emit(b"L" + str(v).encode() + b"L\n")
        elif r < 0.85:
            b = pickle.encode_long(v)
            if len(b) < 256:
                self.emit(b"\x8a" + bytes([len(b)]) + b)
            else:
                self.emit(b"\x8b" + struct.pack("<i", len(b)) + b)
        else:
            self.emit(b"\x8b" + struct.pack("<i", len(pickle.encode_long(v))) + pickle.encode_long(v))
        return "int"

    def str_lit(self, s=None):
        rng = self.rng
        if s is None:
            s = rand_str(rng, 8)
        b = enc(s)
        r = rng.random()
        if r < 0.3 and len(b) < 256:
            self.emit(b"\x8c" + bytes([len(b)]) + b)
        elif r < 0.55:
            self.emit(b"X" + struct.pack("<I", len(b)) + b)
        elif r < 0.65:
            self.emit(b"\x8d" + struct.pack("<Q", len(b)) + b)
        elif r < 0.8:
            self.emit(b"V" + s.encode("raw-unicode-escape") + b"\n")
        else:
            # Python 2 str: decoded with the unpickler's encoding (ASCII by default).
            a = s.encode("latin-1", "replace") if rng.random() < 0.3 else s.encode("ascii", "replace")
            q = rng.random()
            if q < 0.4:
                self.emit(b"S" + repr(a)[1:].encode() + b"\n")
            elif q < 0.7 and len(a) < 256:
                self.emit(b"U" + bytes([len(a)]) + a)
            else:
                self.emit(b"T" + struct.pack("<i", len(a)) + a)
        return "str:" + s

    def scalar(self):
        rng = self.rng
        r = rng.random()
        if r < 0.3:
            return self.int_lit()
        if r < 0.55:
            return self.str_lit()
        if r < 0.7:
            b = rand_bytes(rng)
            q = rng.random()
            if q < 0.4 and len(b) < 256:
                self.emit(b"C" + bytes([len(b)]) + b)
            elif q < 0.7:
                self.emit(b"B" + struct.pack("<I", len(b)) + b)
            elif q < 0.85:
                self.emit(b"\x8e" + struct.pack("<Q", len(b)) + b)
            else:
                self.emit(b"\x96" + struct.pack("<Q", len(b)) + b)
                return "bytearray"
            return "bytes"
        if r < 0.8:
            f = rand_float(rng)
            if rng.random() < 0.5:
                self.emit(b"G" + struct.pack(">d", f))
            else:
                self.emit(b"F" + repr(f).encode() + b"\n")
            return "float"
        self.emit(rng.choice([b"N", b"\x88", b"\x89", b"I01\n", b"I00\n"]))
        return "none"

    # memo ------------------------------------------------------------------
    def maybe_memoize(self, kind):
        if not self.chance(0.25):
            return
        rng = self.rng
        r = rng.random()
        if r < 0.25:
            self.emit(b"\x94")
            self.memo[len(self.memo)] = kind  # MEMOIZE stores at the number of filled slots
            return
        if r < 0.85 or not self.memo:
            idx = max(self.memo, default=-1) + 1
            if self.chance(0.1):
                idx = rng.choice([idx + 7, 255, 256, 1000, 65536, 99999])
        else:
            idx = rng.choice(sorted(self.memo))  # overwrite
        q = rng.random()
        if q < 0.35 and idx < 256:
            self.emit(b"q" + bytes([idx]))
        elif q < 0.6:
            self.emit(b"r" + struct.pack("<I", idx))
        else:
            self.emit(b"p" + str(idx).encode() + b"\n")
        self.memo[idx] = kind

    def fetch(self, idx):
        rng = self.rng
        q = rng.random()
        if q < 0.4 and idx < 256:
            self.emit(b"h" + bytes([idx]))
        elif q < 0.7:
            self.emit(b"j" + struct.pack("<I", idx))
        else:
            self.emit(b"g" + str(idx).encode() + b"\n")

    def memo_fetch(self, pred):
        cands = [i for i, k in sorted(self.memo.items()) if pred(k)]
        if not cands:
            return None
        i = self.rng.choice(cands)
        self.fetch(i)
        return self.memo[i]

    # globals ---------------------------------------------------------------
    def name_operand(self, s, depth):
        """Pushes a str operand for STACK_GLOBAL: a literal, from the memo, or (rarely) not a str."""
        if self.chance(0.25):
            k = self.memo_fetch(lambda k: k.startswith("str:"))
            if k is not None:
                return
        if self.chance(0.012) and depth > 0:
            self.expr(depth - 1, "callable_result")  # a name produced by a call: STACK_GLOBAL raises
            return
        if self.chance(0.008):
            self.int_lit()
            return
        self.maybe_memoize(self.str_lit(s))

    def register_ext(self, module, name, code):
        """copyreg.add_extension(module, name, code) in the stream, result popped."""
        rng = self.rng
        if rng.random() < 0.7:
            self.emit(b"ccopyreg\nadd_extension\n")
        elif rng.random() < 0.5:
            self.emit(b"ccopy_reg\nadd_extension\n")  # mapped to copyreg only below protocol 3
        else:
            self.emit(b"\x8c\x07copyreg", b"\x8c\x0dadd_extension", b"\x93")
        self.emit(b"(")
        self.str_lit(module)
        self.str_lit(name)
        if code < 2**31:
            self.emit(b"J" + struct.pack("<i", code))
        else:
            self.emit(b"\x8a\x05" + code.to_bytes(5, "little"))
        self.emit(b"t", b"R", b"0")
        if (module, name) not in self.ext.values() and code not in self.ext and 1 <= code < 2**31:
            self.ext[code] = (module, name)

    def ext_op(self, code):
        if code < 256 and self.chance(0.6):
            self.emit(b"\x82" + bytes([code]))
        elif code < 65536 and self.chance(0.6):
            self.emit(b"\x83" + struct.pack("<H", code))
        else:
            self.emit(b"\x84" + struct.pack("<I", code & 0xFFFFFFFF))

    def glob(self, depth):
        rng = self.rng
        module, name = self.pick_name()
        r = rng.random()
        if r < 0.35:
            self.emit(b"c" + enc(module) + b"\n" + enc(name) + b"\n")
        elif r < 0.8:
            self.name_operand(module, depth)
            self.name_operand(name, depth)
            self.emit(b"\x93")
        else:
            if self.ext and self.chance(0.6):
                code = rng.choice(sorted(self.ext))
            else:
                code = rng.choice([1, 2, 200, 255, 256, 300, 65535, 65536, 70000, 2**31 - 1])
                if self.chance(0.93):
                    self.register_ext(module, name, code)
            if self.chance(0.03):
                code = rng.choice([0, 2**32 - 1, 2**31])  # <= 0 once sign-extended
            self.ext_op(code)
        return "global"

    # containers ------------------------------------------------------------
    def items(self, depth, n, hashable=False):
        for _ in range(n):
            if hashable:
                self.key(depth)
            else:
                self.expr(depth)

    def key(self, depth):
        r = self.rng.random()
        if r < 0.7 or depth <= 0:
            self.scalar()
        elif r < 0.85:
            self.glob(depth)
        elif r < 0.97:
            self.tuple_(depth - 1, hashable=True)
        else:
            self.emit(b"]")  # unhashable: raises

    def tuple_(self, depth, hashable=False):
        rng = self.rng
        n = rng.randint(0, 3) if depth > 0 else 0
        if n == 0 and self.chance(0.6):
            self.emit(b")")
        elif self.chance(0.5) and n > 0:
            self.items(depth, n, hashable)
            self.emit(b"\x84\x85\x86\x87"[n:n + 1])
        else:
            self.emit(b"(")
            self.items(depth, n, hashable)
            self.emit(b"t")
        return "tuple"

    def dict_(self, depth, str_keys=False):
        rng = self.rng
        n = rng.randint(0, 3) if depth > 0 else 0
        r = rng.random()
        keyf = (lambda: self.str_lit()) if str_keys else (lambda: self.key(depth - 1))
        if r < 0.4:
            self.emit(b"}")
            if n:
                self.maybe_memoize("dict")
                if self.chance(0.5):
                    self.emit(b"(")
                    for _ in range(n):
                        keyf()
                        self.expr(depth - 1)
                    self.emit(b"u")
                else:
                    for _ in range(n):
                        keyf()
                        self.expr(depth - 1)
                        self.emit(b"s")
        else:
            self.emit(b"(")
            for _ in range(n):
                keyf()
                self.expr(depth - 1)
            self.emit(b"d")
        return "dict"

    def container(self, depth):
        rng = self.rng
        r = rng.random()
        n = rng.randint(0, 3)
        if r < 0.3:
            return self.tuple_(depth)
        if r < 0.55:
            if self.chance(0.5):
                self.emit(b"]")
                self.maybe_memoize("list")
                if n and self.chance(0.5):
                    self.emit(b"(")
                    self.items(depth - 1, n)
                    self.emit(b"e")
                else:
                    for _ in range(n):
                        self.expr(depth - 1)
                        self.emit(b"a")
            else:
                self.emit(b"(")
                self.items(depth - 1, n)
                self.emit(b"l")
            return "list"
        if r < 0.8:
            return self.dict_(depth)
        if r < 0.9:
            self.emit(b"\x8f")
            self.emit(b"(")
            self.items(depth - 1, n, hashable=True)
            self.emit(b"\x90")
            return "set"
        self.emit(b"(")
        self.items(depth - 1, n, hashable=True)
        self.emit(b"\x91")
        return "frozenset"

    # calls -----------------------------------------------------------------
    def callable_(self, depth):
        r = self.rng.random()
        if r < 0.75 or depth <= 0:
            return self.glob(depth)
        if r < 0.85:
            k = self.memo_fetch(lambda k: k in ("global", "result", "pers"))
            if k is not None:
                return k
            return self.glob(depth)
        if r < 0.97:
            return self.call(depth - 1)  # calling a result: "?"
        return self.scalar()  # not callable: raises

    def state(self, depth):
        r = self.rng.random()
        if r < 0.3:
            self.emit(b"N")
        elif r < 0.7:
            self.dict_(depth, str_keys=True)
        elif r < 0.85:
            if self.chance(0.5):
                self.emit(b"N")
            else:
                self.dict_(depth, str_keys=True)
            self.dict_(depth, str_keys=True)
            self.emit(b"\x86")  # (state, slotstate)
        else:
            self.expr(depth)

    def call(self, depth):
        rng = self.rng
        r = rng.random()
        if r < 0.4:
            self.callable_(depth)
            if self.chance(0.97):
                self.tuple_(depth)
            else:
                self.container(depth)  # args not a tuple: raises
            self.emit(b"R")
        elif r < 0.5:
            module, name = self.pick_name()
            self.emit(b"(")
            self.items(depth, rng.randint(0, 2))
            self.emit(b"i" + enc(module) + b"\n" + enc(name) + b"\n")
        elif r < 0.6:
            self.emit(b"(")
            self.callable_(depth)
            self.items(depth, rng.randint(0, 2))
            self.emit(b"o")
        elif r < 0.75:
            if self.chance(0.9):
                self.glob(depth)
            else:
                self.callable_(depth)  # a result is not a type: raises
            self.tuple_(depth)
            self.emit(b"\x81")
        elif r < 0.85:
            if self.chance(0.92):
                self.glob(depth)
            else:
                self.callable_(depth)
            self.tuple_(depth)
            if self.chance(0.95):
                self.dict_(depth, str_keys=True)
            else:
                self.tuple_(depth)
            self.emit(b"\x92")
        else:
            # BUILD on a result, a global, or (rarely) a real object.
            q = rng.random()
            if q < 0.6:
                self.call(depth - 1) if depth > 0 else self.glob(depth)
            elif q < 0.85:
                self.glob(depth)
            else:
                self.container(depth)
            self.state(depth)
            self.emit(b"b")
        return "result"

    def fill_opaque(self, depth):
        """A call result filled like an OrderedDict or a list subclass (SETITEM(S), APPEND(S), ADDITEMS)."""
        rng = self.rng
        self.call(depth)
        n = rng.randint(1, 3)
        r = rng.random()
        if r < 0.35:
            self.emit(b"(")
            for _ in range(n):
                self.key(depth - 1)
                self.expr(depth - 1)
            self.emit(b"u")
        elif r < 0.55:
            self.key(depth - 1)
            self.expr(depth - 1)
            self.emit(b"s")
        elif r < 0.75:
            self.emit(b"(")
            self.items(depth - 1, n)
            self.emit(b"e")
        elif r < 0.9:
            self.expr(depth - 1)
            self.emit(b"a")
        else:
            self.emit(b"(")
            self.items(depth - 1, n, hashable=True)
            self.emit(b"\x90")
        return "result"

    def persid(self, depth):
        if self.chance(0.5):
            pid = rand_str(self.rng, 6) if self.chance(0.1) else "".join(
                self.rng.choice("abc123_") for _ in range(self.rng.randint(0, 6)))
            self.emit(b"P" + enc(pid.replace("\n", "")) + b"\n")
        else:
            self.expr(depth - 1) if depth > 0 else self.scalar()
            self.emit(b"Q")
        return "pers"

    # expressions -----------------------------------------------------------
    def expr(self, depth, want=None):
        """Pushes one value."""
        rng = self.rng
        if want == "callable_result":
            kind = self.call(depth)
        else:
            r = rng.random()
            if depth <= 0 or r < 0.25:
                kind = self.scalar()
            elif r < 0.4:
                kind = self.glob(depth)
            elif r < 0.62:
                kind = self.call(depth - 1)
            elif r < 0.67:
                kind = self.fill_opaque(depth - 1)
            elif r < 0.82:
                kind = self.container(depth)
            elif r < 0.87:
                kind = self.persid(depth)
            elif r < 0.97:
                kind = self.memo_fetch(lambda k: True)
                if kind is None:
                    kind = self.scalar()
                elif self.chance(0.03):
                    self.fetch(max(self.memo) + 1 + rng.randint(0, 3))  # missing: raises
            elif r < 0.995:
                if self.chance(0.9):
                    self.emit(b"C\x02ab" if self.chance(0.5) else b"\x96\x01\x00\x00\x00\x00\x00\x00\x00a")
                    kind = "bytes"
                else:
                    kind = self.scalar()
                self.emit(b"\x98")  # READONLY_BUFFER: fine on bytes and bytearray, raises on others
            else:
                self.emit(b"\x97")  # NEXT_BUFFER: no out-of-band buffers given, raises
                kind = "buffer"
        self.maybe_memoize(kind)
        return kind

    def statement(self, depth):
        rng = self.rng
        r = rng.random()
        if r < 0.55:
            self.expr(depth)
            self.emit(b"0")
        elif r < 0.7:
            module, name = self.pick_name()
            code = rng.choice([1, 5, 200, 255, 256, 65535, 65536, 2**31 - 1])
            self.register_ext(module, name, code if self.chance(0.97) else rng.choice([0, 2**31]))
        elif r < 0.8:
            self.emit(b"(")
            self.items(depth, rng.randint(0, 3))
            self.emit(b"1")  # POP_MARK
        elif r < 0.9:
            self.expr(depth)
            self.emit(b"2", b"0", b"0")  # DUP
        else:
            self.fill_opaque(depth)
            self.emit(b"0")

    def program(self):
        rng = self.rng
        chunks = []
        r = rng.random()
        if r < 0.2:
            self.proto = None
        else:
            self.proto = rng.choice([0, 1, 2, 2, 3, 4, 4, 5, 5]) if rng.random() < 0.98 else 6
            chunks.append(b"\x80" + bytes([self.proto]))
        depth = rng.randint(1, 4)
        for _ in range(rng.randint(0, 5)):
            self.statement(depth)
        self.expr(depth)
        if self.chance(0.97):
            self.emit(b".")
        body = self.ops
        if self.proto is not None and self.proto >= 4 and self.chance(0.6):
            body = frame(rng, body)
        return b"".join(chunks + body)


def frame(rng, ops):
    """Groups opcodes into FRAMEs; a few get a wrong length."""
    out, cur = [], []
    target = rng.choice([4, 16, 64, 1 << 16])

    def flush():
        if not cur:
            return
        data = b"".join(cur)
        n = len(data)
        if rng.random() < 0.05:
            n = max(0, n + rng.choice([-3, -1, 1, 5, 1 << 20]))
        out.append(b"\x95" + struct.pack("<Q", n) + data)
        cur.clear()

    size = 0
    for op in ops:
        cur.append(op)
        size += len(op)
        if size >= target:
            flush()
            size = 0
    if rng.random() < 0.5:
        flush()  # else the tail stays unframed, as CPython writes it for short tails
    out.extend(cur)
    return out


def gen_asm(rng):
    return "asm", Asm(rng).program()


_CALLS = [(b"posix", b"system"), (b"collections", b"OrderedDict"), (b"builtins", b"eval"), (b"torch._utils", b"_rebuild_tensor_v2")]


def gen_frames(rng):
    """A protocol 4 or 5 pickle of random data with calls of globals among
    its opcodes, grouped into frames, then one frame length or one counted
    length changed by a little: where CPython's readers part ways (the C
    unpickler holding the stream, the C unpickler on a file, the pure-Python
    unpickler)."""
    proto = rng.choice([4, 5])
    body = pickle.dumps(rand_data(rng, rng.randint(2, 4), [], proto), protocol=proto)
    ops, chunks = lex(body), []
    bounds = [off for off, _, _ in ops] + [len(body)]
    for k, (off, name, _) in enumerate(ops):
        if name in ("PROTO", "FRAME", "STOP"):
            continue
        if rng.random() < 0.2:
            mod, attr = rng.choice(_CALLS)
            chunks.append(b"\x8c" + bytes([len(mod)]) + mod + b"\x8c" + bytes([len(attr)]) + attr + b"\x93)R0")
        chunks.append(body[off:bounds[k + 1]])
    mod, attr = rng.choice(_CALLS)
    chunks.append(b"\x8c" + bytes([len(mod)]) + mod + b"\x8c" + bytes([len(attr)]) + attr + b"\x93)R0.")
    out, cur, size, target = [], [], 0, rng.choice([4, 8, 16, 64])
    for c in chunks:
        cur.append(c)
        size += len(c)
        if size >= target:
            data = b"".join(cur)
            out.append(b"\x95" + struct.pack("<Q", len(data)) + data)
            cur, size = [], 0
    out.extend(cur)
    data = bytearray(b"\x80" + bytes([proto]) + b"".join(out))
    ops = lex(bytes(data))
    frames = [off for off, name, _ in ops if name == "FRAME"]
    counted = [(off, name) for off, name, _ in ops if name in ("BINUNICODE", "SHORT_BINUNICODE", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BINUNICODE8")]
    delta = rng.choice([-8, -4, -2, -1, 1, 2, 3, 5, 9, 17])
    if frames and (not counted or rng.random() < 0.5):
        off = rng.choice(frames)
        n = struct.unpack_from("<Q", data, off + 1)[0]
        struct.pack_into("<Q", data, off + 1, max(0, n + delta))
        return "frames-len", bytes(data)
    if counted:
        off, name = rng.choice(counted)
        width = {"SHORT_BINUNICODE": 1, "SHORT_BINBYTES": 1, "BINUNICODE": 4, "BINBYTES": 4}.get(name, 8)
        n = int.from_bytes(data[off + 1:off + 1 + width], "little")
        data[off + 1:off + 1 + width] = max(0, min(n + delta, (1 << (8 * width)) - 1)).to_bytes(width, "little")
        return "frames-arg", bytes(data)
    return "frames", bytes(data)


# ---------------------------------------------------------------------------
# (c) mutations.

_OPCODE_BYTES = b"(.012FIJKLMNPQRSTUVXabcd}eghijl]opqrst)uG\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x8bBC" \
                b"\x8c\x8d\x8e\x8f\x90\x91\x92\x93\x94\x95\x96\x97\x98"


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        if not data:
            break
        ops = lex(bytes(data))
        bounds = [off for off, _, _ in ops] + [len(data)]
        r = rng.random()
        if r < 0.25:
            data[rng.randrange(len(data))] = rng.getrandbits(8)
        elif r < 0.4:
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
        elif r < 0.5:
            del data[rng.randrange(len(data)):]
        elif len(bounds) >= 2 and r < 0.65:
            k = rng.randrange(len(bounds) - 1)
            op = data[bounds[k]:bounds[k + 1]]
            data[bounds[k]:bounds[k]] = op  # duplicated opcode
        elif len(bounds) >= 2 and r < 0.78:
            k = rng.randrange(len(bounds) - 1)
            del data[bounds[k]:bounds[k + 1]]  # deleted opcode
        elif len(bounds) >= 3 and r < 0.86:
            k = rng.randrange(len(bounds) - 2)
            a = bytes(data[bounds[k]:bounds[k + 1]])
            b = bytes(data[bounds[k + 1]:bounds[k + 2]])
            data[bounds[k]:bounds[k + 2]] = b + a  # swapped opcodes
        elif len(bounds) >= 2 and r < 0.93:
            k = rng.randrange(len(bounds) - 1)
            data[bounds[k]] = rng.choice(_OPCODE_BYTES)  # another opcode, same operand bytes
        else:
            i = rng.randrange(len(data) + 1)
            data[i:i] = bytes([rng.choice(_OPCODE_BYTES)])  # inserted opcode byte
    return bytes(data)


# ---------------------------------------------------------------------------
# Fixed edge cases, always written first.

def _fixed():
    C = b"ccopyreg\nadd_extension\n(X\x02\x00\x00\x00osX\x06\x00\x00\x00systemJ\x05\x00\x00\x00tR0"
    fr = lambda body, n=None: b"\x95" + struct.pack("<Q", len(body) if n is None else n) + body
    return [
        ("global-reduce", b"cos\nsystem\n(S'echo'\ntR."),
        ("inst-empty-args", b"(ios\nsystem\n."),  # cls.__new__(cls)
        ("inst-args", b"(S'x'\nios\nsystem\n."),
        ("inst-non-ascii", b"(im\xc3\xb6d\nx\n."),  # INST decodes ASCII: raises
        ("global-utf8", b"cm\xc3\xb6d\nx\n."),  # GLOBAL decodes UTF-8
        ("global-bad-utf8", b"cm\xff\nx\n."),
        ("obj-empty-args", b"(cos\nsystem\no."),
        ("obj-on-result", b"(cos\nsystem\n)RS'a'\no."),
        ("build-on-global", b"cos\nsystem\nNb."),
        ("build-dict-none", b"}Nb."),
        ("build-dict-slots-empty", b"}(N}t" + b"b."),
        ("build-dict-state", b"}}b."),  # dict has no __dict__: raises
        ("build-int-none", b"K\x01Nb."),
        ("newobj-on-result", b"cos\nsystem\n)R)\x81."),  # not a type: raises
        ("newobj-ex", b"\x80\x04\x8c\x02os\x8c\x06system\x93)}\x92."),
        ("newobj-ex-kwargs-not-dict", b"\x80\x04\x8c\x02os\x8c\x06system\x93))\x92."),
        ("reduce-args-list", b"cos\nsystem\n]R."),
        ("reduce-on-str", b"S'a'\n)R."),
        ("persid-call", b"Pabc\n)R."),
        ("persid-non-ascii", b"P\xc3\xa9\n."),
        ("binpersid-build", b"K\x01Q}b."),
        ("ordered-dict", b"\x80\x02ccollections\nOrderedDict\n)R(K\x01K\x02K\x03K\x04u."),
        ("append-on-result", b"\x80\x02cx\ny\n)R(K\x01K\x02eK\x03a."),
        ("additems-on-result", b"\x80\x04cx\ny\n)R(K\x01\x90."),
        ("ext-registered", b"\x80\x02" + C + b"\x82\x05)R."),
        ("ext-cached", b"\x80\x02" + C + b"\x82\x05\x83\x05\x00\x84\x05\x00\x00\x00t."),
        ("ext-copy_reg-p2", b"\x80\x02" + C.replace(b"copyreg", b"copy_reg", 1) + b"\x82\x05."),
        ("ext-copy_reg-p3", b"\x80\x03" + C.replace(b"copyreg", b"copy_reg", 1) + b"\x82\x05."),
        ("ext-unregistered", b"\x80\x02\x82\x05."),
        ("ext-negative", b"\x80\x02\x84\xff\xff\xff\xff."),
        ("ext-conflict", b"\x80\x02" + C +
         b"ccopyreg\nadd_extension\n(X\x02\x00\x00\x00osX\x05\x00\x00\x00popenJ\x05\x00\x00\x00tR0\x82\x05."),
        ("ext-out-of-range", b"\x80\x02ccopyreg\nadd_extension\n(X\x01\x00\x00\x00aX\x01\x00\x00\x00bK\x00tR0."),
        ("stack-global-dotted", b"\x80\x04\x8c\x03bdb\x8c\x07Bdb.run\x93."),
        ("stack-global-memo", b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94\x93\x94h\x00h\x01\x93."),
        ("stack-global-from-call", b"\x80\x04cx\ny\n)R\x8c\x01a\x93."),
        ("stack-global-empty", b"\x80\x04\x8c\x00\x8c\x00\x93."),
        ("stack-global-surrogate", b"\x80\x04X\x03\x00\x00\x00\xed\xa0\x80\x8c\x01a\x93."),
        ("stack-global-py2str", b"\x80\x02U\x02osU\x06system\x93."),
        ("fix-imports-p2", b"\x80\x02c__builtin__\nxrange\nc__builtin__\neval\ncUserDict\nUserDict\n\x87."),
        ("fix-imports-p3", b"\x80\x03c__builtin__\nxrange\n."),
        ("proto-6", b"\x80\x06N."),
        ("memoize-after-put", b"\x80\x04N\x94K\x01p5\nK\x02\x94h\x01h\x05\x86\x86."),
        ("get-missing", b"h\x03."),
        ("put-negative", b"Np-1\n."),
        ("frame-ok", b"\x80\x04" + fr(b"\x8c\x02os\x8c\x06system\x93") + fr(b")R.")),
        ("frame-straddle", b"\x80\x04" + fr(b"\x8c\x06system", 3) + b"."),
        ("frame-too-long", b"\x80\x04" + fr(b"cos\nsystem\n)R.", 100)),
        ("frame-huge", b"\x80\x04" + fr(b"N.", 1 << 62)),
        ("next-buffer", b"\x80\x05\x97."),
        ("readonly-buffer-bytes", b"\x80\x05C\x02ab\x98."),
        ("readonly-buffer-int", b"\x80\x05K\x01\x98."),
        ("bytearray8", b"\x80\x05\x96\x02\x00\x00\x00\x00\x00\x00\x00ab\x98."),
        ("no-stop", b"cos\nsystem\n)R"),
        ("two-streams", b"cos\nsystem\n)R.cposix\nsystem\n)R."),
        ("dict-unhashable-key", b"}]K\x01s."),
        ("setitems-odd", b"}(K\x01u."),
        ("setitem-on-list", b"](K\x01eK\x00K\x02s."),
        ("pop-mark", b"(cos\nsystem\n)R1N."),
        ("dup", b"cos\nsystem\n2)R0)R."),
        ("string-non-ascii", b"U\x02\xc3\xa9."),  # Python 2 str decoded as ASCII: raises
        ("unicode-escape", b"V\\u00e9\\n\n."),
        ("long-big-digits", b"L" + b"9" * 5000 + b"L\n."),  # more than sys.int_info.str_digits_check_threshold
        ("int-bool", b"I01\nI00\n\x86."),
        ("binbytes8-huge", b"\x80\x04\x8e" + struct.pack("<Q", 1 << 40) + b"."),
        ("long-binput-big", b"Nr\x00\x00\x00\x01."),  # memo index 2**24
        ("getattr-global", b"\x80\x02cbuiltins\ngetattr\ncos\npath\nX\x04\x00\x00\x00join\x86R)R."),
        ("getattr-result", b"\x80\x02cbuiltins\ngetattr\ncos\ngetcwd\n)RX\x01\x00\x00\x00x\x86R)R."),
        ("build-patches-global", b"cos\npath\n}S'join'\ncbuiltins\neval\nsb0cos.path\njoin\n(S'1'\ntR."),
        ("build-patches-prefix", b"cos\npath\n}S'x'\ncbuiltins\nvars\nsb0cos.path.x\nkeys\n)R."),
        ("build-patches-value", b"cos\npath\n(N}S'x'\nK\x01stb0cos.path\nx\n)R."),
        # Text arguments: C's strtol, PyLong_FromString and PyOS_string_to_double.
        ("int-octal", b"I010\n."),  # strtol base 0: 8
        ("long-leading-zero", b"L010L\n."),  # int("010", 0) raises
        ("int-hex", b"I0x1f\n."),
        ("int-spaces", b"I 5 \n."),
        ("int-underscore", b"I1_000\n."),
        ("int-nul", b"I12\x0034\n."),  # C stops at the NUL
        ("int-empty", b"I\n."),
        ("long-no-suffix", b"L12\n."),
        ("float-leading-space", b"F 1.5\n."),
        ("float-trailing-space", b"F1.5 \n."),
        ("float-hex", b"F0x1p3\n."),
        ("float-inf", b"F-iNF\n."),
        ("float-nul", b"F1.5\x00x\n."),
        ("float-underscore", b"F1_0\n."),
        ("put-underscore", b"Np1_0\ng10\n."),
        ("get-spaces", b"Np1\ng 1 \n."),
        ("string-bad-escape", b"S'\\x4'\n."),
        ("string-octal-escape", b"S'\\101'\n."),
        ("string-unbalanced", b"S'abc\n."),
        ("unicode-bad-escape", b"V\\u12\n."),
        ("binstring-negative", b"T\xff\xff\xff\xff."),
        ("global-cr", b"cos\r\nsystem\r\n)R."),
    ]


def generate(seed, i, frames_only=False):
    """Returns (tag, bytes) of file i."""
    fixed = _fixed()
    if i < len(fixed) and not frames_only:
        tag, data = fixed[i]
        return "fixed-" + tag, data
    rng = random.Random("%d:%d" % (seed, i))
    if frames_only:
        return gen_frames(rng)
    r = rng.random()
    if r < 0.3:
        return gen_data(rng)
    if r < 0.7:
        return gen_asm(rng)
    tag, base = gen_data(rng) if rng.random() < 0.4 else gen_asm(rng)
    return "mut-" + tag, mutate(rng, base)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="directory to write into (created)")
    ap.add_argument("--n", type=int, required=True, help="number of files")
    ap.add_argument("--seed", type=int, default=1, help="seed (default 1)")
    ap.add_argument("--frames", action="store_true", help="write only frames-* files: see gen_frames")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    sys.setrecursionlimit(20000)
    for i in range(args.n):
        tag, data = generate(args.seed, i, args.frames)
        with open(os.path.join(args.out, "%05d-%s.pkl" % (i, tag)), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
