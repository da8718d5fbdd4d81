"""Shared helpers for the fixture generators.

Nothing here loads or executes a fixture. Payloads are built with Reduce, whose
__reduce__ makes pickle write "call fn(*args)" into the stream; building a
Reduce object calls nothing, and neither does pickling it.
"""

import contextlib
import io
import os
import pickle
import random
import struct
import time
import zipfile

GEN_DIR = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.normpath(os.path.join(GEN_DIR, "..", "models"))

# 1980-01-01T00:00:00Z, the earliest date a zip header can hold.
EPOCH = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))

COMMAND = "echo violet-fixture"

_manifest = []


class Reduce:
    """Pickles as the call fn(*args). Constructing or pickling it calls nothing."""

    def __init__(self, fn, *args):
        self.fn = fn
        self.args = args

    def __reduce__(self):
        return (self.fn, self.args)

    @property
    def callable_name(self):
        return f"{self.fn.__module__}.{self.fn.__qualname__}"


def system_payload():
    return Reduce(os.system, COMMAND)


def out(rel):
    """Absolute path of a fixture given relative to testdata/models; creates the folder."""
    path = os.path.join(MODELS, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def record(rel, label, note):
    assert label in ("benign", "malicious"), label
    assert "\t" not in note and "\n" not in note, note
    assert os.path.isfile(os.path.join(MODELS, rel)), rel
    _manifest.append((rel, label, note))


def manifest():
    return list(_manifest)


def write_bytes(rel, data):
    with open(out(rel), "wb") as f:
        f.write(data)


def seed_everything(seed=0):
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:
        pass


@contextlib.contextmanager
def frozen_time():
    """Makes time.time() return EPOCH, for writers (zipfile via numpy.savez) that stamp the clock."""
    real = time.time
    time.time = lambda: float(EPOCH)
    try:
        yield
    finally:
        time.time = real


# ---------------------------------------------------------------------------
# Hand-assembled pickle opcodes (protocol 2 subset)


def op_global(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def op_unicode(s):
    b = s.encode("utf-8")
    return b"X" + struct.pack("<I", len(b)) + b


def call_prefix(module, name, arg):
    """Opcodes that call module.name(arg) and drop the result: GLOBAL, BINUNICODE, TUPLE1, REDUCE, POP."""
    return op_global(module, name) + op_unicode(arg) + b"\x85" + b"R" + b"0"


def inject_prefix(pkl, module, name, arg):
    """Returns pkl with a call of module.name(arg) placed right after its PROTO opcode.

    The original object is still built and returned by the pickle: the classic
    "prepend" injection (as fickling does it). The injected opcodes use no memo.
    """
    assert pkl[:1] == b"\x80", "expected a PROTO opcode"
    return pkl[:2] + call_prefix(module, name, arg) + pkl[2:]


def pickle_ends(data, count):
    """Byte offsets just past the STOP of each of the first `count` pickles in data (disassembly only)."""
    import pickletools

    ends = []
    pos = 0
    for _ in range(count):
        stream = io.BytesIO(data)
        stream.seek(pos)
        for opcode, _arg, at in pickletools.genops(stream):
            if opcode.name == "STOP":
                pos = at + 1
                break
        ends.append(pos)
    return ends


# ---------------------------------------------------------------------------
# Zip rewriting


def rewrite_zip(src, dst, replace=None, add_after=None):
    """Copies the zip src to dst member by member, in order.

    replace: {member name: new bytes}. add_after: {existing member name: [(new name, bytes)]}.
    Members keep their name, timestamp and compression method.
    """
    replace = dict(replace or {})
    add_after = dict(add_after or {})
    with zipfile.ZipFile(src) as zin:
        infos = zin.infolist()
        names = {i.filename for i in infos}
        for n in list(replace) + list(add_after):
            assert n in names, f"{n} not in {src}: {sorted(names)}"
        with zipfile.ZipFile(dst, "w") as zout:
            for info in infos:
                data = replace.pop(info.filename, None)
                if data is None:
                    data = zin.read(info.filename)
                _write_member(zout, info.filename, data, info.date_time, info.compress_type)
                for name, extra in add_after.pop(info.filename, []):
                    _write_member(zout, name, extra, info.date_time, zipfile.ZIP_STORED)


def _write_member(zout, name, data, date_time, compress_type):
    zi = zipfile.ZipInfo(name, date_time=tuple(date_time))
    zi.compress_type = compress_type
    zi.external_attr = 0o644 << 16
    zi.create_system = 3
    zout.writestr(zi, data)


def zip_member_named(path, suffix):
    """Name of the single member of the zip at path that ends with suffix."""
    with zipfile.ZipFile(path) as z:
        hits = [n for n in z.namelist() if n.endswith(suffix)]
    assert len(hits) == 1, (path, suffix, hits)
    return hits[0]


def zip_read(path, name):
    with zipfile.ZipFile(path) as z:
        return z.read(name)


def dumps(obj, protocol):
    return pickle.dumps(obj, protocol=protocol)
