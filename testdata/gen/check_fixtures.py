"""Static self-check of testdata/models against expected.tsv. Reads bytes only.

For every fixture it finds the pickle streams (zip members, npy bodies, tar
members, legacy torch streams, compressed joblib and pandas files) and lists the
globals they import with pickletools.genops, a disassembler: nothing is
unpickled, imported or executed. A malicious row must import the callable its
note names ("payload module.name"); a benign row must import none of DENY.
"""

import bz2
import gzip
import io
import lzma
import os
import pickletools
import re
import struct
import sys
import tarfile
import zipfile
import zlib

MODELS = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
DENY_MODULES = {"os", "posix", "nt", "subprocess", "runpy", "socket", "shutil", "pty", "webbrowser"}
DENY_NAMES = {("builtins", n) for n in ("exec", "eval", "compile", "__import__", "open", "getattr", "breakpoint")}
LEGACY_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19."
STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINSTRING", "BINSTRING", "STRING"}


def globals_of(data, start=0):
    """(globals, end offset or None if the disassembly stopped early)."""
    found, memo, strings = [], {}, []
    last = None
    stream = io.BytesIO(data)
    stream.seek(start)
    try:
        for op, arg, pos in pickletools.genops(stream):
            name = op.name
            if name in STRING_OPS:
                last = arg
                strings.append(arg)
            elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
                memo[arg] = last
            elif name == "MEMOIZE":
                memo[len(memo)] = last
            elif name in ("BINGET", "LONG_BINGET", "GET"):
                last = memo.get(arg)
                strings.append(last)
            elif name == "GLOBAL" or name == "INST":
                found.append(tuple(arg.split(" ", 1)))
                last = None
            elif name == "STACK_GLOBAL":
                if len(strings) >= 2:
                    found.append((strings[-2], strings[-1]))
                last = None
            else:
                last = None
            if name == "STOP":
                return found, pos + 1
    except Exception:
        return found, None
    return found, None


def streams(data, label):
    """Yields (where, bytes, start offset) for each pickle stream found in data."""
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for n in z.namelist():
                body = z.read(n)
                if n.endswith(".pkl"):
                    yield n, body, 0
                elif n.endswith(".npy"):
                    yield from npy(body, n)
        return
    if len(data) > 262 and data[257:262] == b"ustar":
        with tarfile.open(fileobj=io.BytesIO(data)) as t:
            for m in t.getmembers():
                body = t.extractfile(m).read()
                if m.name in ("storages", "tensors"):
                    yield from torch_tar_member(m.name, body)
                else:
                    yield m.name, body, 0
        return
    if data.startswith(LEGACY_MAGIC):
        pos = 0
        for i in range(5):
            yield f"legacy pickle {i}", data, pos
            _, pos = globals_of(data, pos)
        return
    if data[:6] == b"\x93NUMPY":
        yield from npy(data, "npy")
        return
    for magic, fn in ((b"\x1f\x8b", gzip.decompress), (b"BZh", bz2.decompress), (b"\xfd7zXZ", lzma.decompress),
                      (b"\x5d\x00\x00", lzma.decompress), (b"\x04\x22\x4d\x18", lz4), (b"\x78", zlib.decompress)):
        if data.startswith(magic):
            yield from streams(fn(data), label)
            return
    if data[:1] == b"\x80" or data[:1] in b"(}]cl":
        yield "pickle", data, 0


def lz4(data):
    import lz4.frame

    return lz4.frame.decompress(data)


def npy(data, where):
    major = data[6]
    hlen_size = 2 if major == 1 else 4
    hlen = int.from_bytes(data[8:8 + hlen_size], "little")
    header = data[8 + hlen_size:8 + hlen_size + hlen].decode("latin1")
    if "'O'" in header or "|O" in header:
        yield where, data, 8 + hlen_size + hlen


def torch_tar_member(name, body):
    # storages: count pickle, then per storage: header pickle, int64 numel, numel*4 bytes (float32 only here)
    # tensors: count pickle, then per tensor: header pickle, int32 ndim + pad, sizes, strides, offset
    yield name + "[count]", body, 0
    _, pos = globals_of(body, 0)
    i = 0
    while pos is not None and pos < len(body):
        yield f"{name}[{i}]", body, pos
        _, pos = globals_of(body, pos)
        if pos is None:
            return
        if name == "storages":
            numel, = struct.unpack_from("<q", body, pos)
            pos += 8 + 4 * numel
        else:
            ndim, = struct.unpack_from("<i", body, pos)
            pos += 8 + 16 * ndim + 8
        i += 1
        if name == "storages" and pos < len(body) and body[pos:pos + 3] == b"\x80\x02]":
            yield name + "[views]", body, pos
            return


def main():
    rows = []
    with open(os.path.join(MODELS, "expected.tsv")) as f:
        next(f)
        for line in f:
            rows.append(line.rstrip("\n").split("\t"))
    bad = 0
    for rel, label, note in rows:
        data = open(os.path.join(MODELS, rel), "rb").read()
        allg = set()
        partial = False
        raw = b""
        for where, body, start in streams(data, label):
            g, end = globals_of(body, start)
            allg.update(g)
            if end is None or ("joblib.numpy_pickle", "NumpyArrayWrapper") in g:
                # joblib writes raw array bytes inside the stream: the disassembly cannot go past them
                partial = True
                raw += body
        py3 = {({"__builtin__": "builtins", "commands": "subprocess"}.get(m, m), n) for m, n in allg}
        denied = sorted(g for g in py3 if g[0] in DENY_MODULES or g in DENY_NAMES)
        if label == "malicious":
            m = re.search(r"payload ([\w.]+)\.(\w+)", note)
            want = (m.group(1), m.group(2))
            ok = want in allg or (partial and want[0].encode() in raw and want[1].encode() in raw)
            if not ok:
                bad += 1
                print(f"FAIL {rel}: {want} not found; globals {sorted(allg)}")
        else:
            if denied:
                bad += 1
                print(f"FAIL {rel}: benign but imports {denied}")
        if os.environ.get("VERBOSE"):
            print(f"{label:9} {rel}: {'(partial) ' if partial else ''}{sorted(allg)}")
    print(f"checked {len(rows)} fixtures, {bad} failures", file=sys.stderr)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
