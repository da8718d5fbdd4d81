"""HDF5 fixtures for internal/hdf5 (the attribute reader used by the Keras H5 analyzer).

Run from the repository root with Debian's interpreter (it needs python3-h5py and python3-numpy):

    /usr/bin/python3 testdata/gen/gen_hdf5.py

It rewrites the *.h5 files under internal/hdf5/testdata/ (4 to 80 KB each; the fuzz corpus under
internal/hdf5/testdata/fuzz is left alone). The files are written by the real HDF5 library through
h5py; object modification times are disabled (set_obj_track_times(False)) and every value is fixed,
so two runs give identical bytes for a given h5py/libhdf5 version (written with h5py 3.7.0, HDF5
1.10.8). The Go tests in internal/hdf5 check the exact attribute names and values set here; if you
change a value, change the tests too.

Files: keras_earliest.h5 / keras_latest.h5 (Keras-like attributes and groups; superblock 0 with v1
object headers and symbol tables / superblock 3 with v2 headers, link messages and dense attribute
storage), userblock.h5 (512-byte userblock), v18.h5 (superblock 2), track_order.h5 (creation order
tracked), dense_attrs.h5 and dense_many.h5 (dense attributes: fractal heap, v2 B-tree; the latter
with an indirect root block and a B-tree of depth 2), big_attr.h5 (a 70000-byte attribute: a huge
fractal heap object), many_groups_*.h5 and deep_btree.h5 (group B-trees, dense links), links_*.h5
(soft, external and cyclic hard links).
"""

import json
import os

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "internal", "hdf5", "testdata")

MODEL_CONFIG = json.dumps(
    {
        "class_name": "Sequential",
        "config": {
            "name": "sequential",
            "layers": [
                {"class_name": "Dense", "config": {"name": "dense", "units": 4, "activation": "relu"}},
                {"class_name": "Dense", "config": {"name": "dense_1", "units": 1, "activation": "linear"}},
            ],
        },
    },
    sort_keys=True,
)
TRAINING_CONFIG = json.dumps({"loss": "mse", "optimizer_config": {"class_name": "Adam"}}, sort_keys=True)


LIBVER = {"earliest": h5py.h5f.LIBVER_EARLIEST, "v108": h5py.h5f.LIBVER_V18, "latest": h5py.h5f.LIBVER_LATEST}
ORDER = h5py.h5p.CRT_ORDER_TRACKED | h5py.h5p.CRT_ORDER_INDEXED


def path(name):
    return os.path.join(OUT, name)


def new_file(name, low, high=None, userblock_size=0, track_order=False):
    """Creates a file like h5py.File(..., "w") but without object modification times (for stable bytes)."""
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_libver_bounds(LIBVER[low], LIBVER[high or "latest"])
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_obj_track_times(False)
    if userblock_size:
        fcpl.set_userblock(userblock_size)
    if track_order:
        fcpl.set_link_creation_order(ORDER)
        fcpl.set_attr_creation_order(ORDER)
    fid = h5py.h5f.create(path(name).encode(), h5py.h5f.ACC_TRUNC, fapl=fapl, fcpl=fcpl)
    return h5py.File(fid)


def new_group(parent, name, track_order=False):
    """Creates a group like parent.create_group(name) but without a modification time."""
    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    gcpl.set_obj_track_times(False)
    if track_order:
        gcpl.set_link_creation_order(ORDER)
        gcpl.set_attr_creation_order(ORDER)
    return h5py.Group(h5py.h5g.create(parent.id, name.encode(), gcpl=gcpl))


def keras_like(f, fixed):
    """Writes attributes and groups the way Keras 2 save_model (h5 format) does.

    h5py 3 stores a Python bytes value as a variable-length ASCII string and a str value as a
    variable-length UTF-8 string; h5py 2 stored bytes as a fixed-length string (np.bytes_ does that
    with h5py 3), so fixed=True gives the files older Keras/h5py versions wrote.
    """
    f.attrs["keras_version"] = "2.11.0"  # str: variable-length UTF-8 string
    f.attrs["backend"] = "tensorflow"
    conv = np.bytes_ if fixed else bytes
    f.attrs["model_config"] = conv(MODEL_CONFIG.encode("utf8"))
    f.attrs["training_config"] = conv(TRAINING_CONFIG.encode("utf8"))
    mw = new_group(f, "model_weights")
    mw.attrs["layer_names"] = np.array([b"dense", b"dense_1"])  # fixed-length string array (S7)
    mw.attrs["backend"] = "tensorflow".encode("utf8")
    mw.attrs["keras_version"] = "2.11.0".encode("utf8")
    for i, (name, shape) in enumerate([("dense", (3, 4)), ("dense_1", (4, 1))]):
        g = new_group(mw, name)
        g.attrs["weight_names"] = np.array([(name + "/kernel:0").encode(), (name + "/bias:0").encode()])
        inner = new_group(g, name)
        inner.create_dataset("kernel:0", data=np.arange(np.prod(shape), dtype=np.float32).reshape(shape), track_times=False)
        inner.create_dataset("bias:0", data=np.zeros(shape[1], dtype=np.float32), track_times=False)
    f.attrs["epochs"] = np.int64(7)
    f.attrs["shape"] = np.array([3, -4, 5], dtype=np.int32)
    f.attrs["lr"] = np.float64(0.25)
    f.attrs["lrs"] = np.array([0.5, 1.5], dtype=np.float32)
    f.attrs["flag"] = np.uint8(200)
    f.attrs["names_vlen"] = np.array(["alpha", "βeta"], dtype=h5py.string_dtype("utf-8"))
    f.attrs["space_padded"] = np.array(b"pad", dtype="S6")  # replaced below with a space-padded type
    f.attrs["empty"] = b""


def space_padded(f):
    """Replaces the attribute "space_padded" with a fixed-length, space-padded string."""
    del f.attrs["space_padded"]
    tid = h5py.h5t.C_S1.copy()
    tid.set_size(6)
    tid.set_strpad(h5py.h5t.STR_SPACEPAD)
    sid = h5py.h5s.create(h5py.h5s.SCALAR)
    aid = h5py.h5a.create(f.id, b"space_padded", tid, sid)
    aid.write(np.array(b"pad   ", dtype="S6"), mtype=tid)


def many_attrs(f, n):
    for i in range(n):
        f.attrs["attr_%02d" % i] = np.int64(i * 10)


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        if name.endswith(".h5"):
            os.remove(os.path.join(OUT, name))

    # Superblock v0, v1 object headers, old-style groups (symbol tables).
    with new_file("keras_earliest.h5", "earliest") as f:
        keras_like(f, fixed=True)
        space_padded(f)

    # Superblock v3, v2 object headers, link messages.
    with new_file("keras_latest.h5", "latest") as f:
        keras_like(f, fixed=False)
        space_padded(f)

    # 512-byte userblock (superblock found at offset 512).
    with new_file("userblock.h5", "earliest", userblock_size=512) as f:
        f.attrs["model_config"] = np.bytes_(MODEL_CONFIG.encode("utf8"))
        f.attrs["keras_version"] = "2.11.0"
        new_group(f, "model_weights").attrs["layer_names"] = np.array([b"dense"])
    with open(path("userblock.h5"), "r+b") as fh:
        fh.write(b"violet userblock fixture\n")

    # Track order: creation-order indexed groups and attributes (v2 object headers with link info).
    with new_file("track_order.h5", "earliest", track_order=True) as f:
        f.attrs["zeta"] = "last-name-first"
        f.attrs["alpha"] = np.int64(1)
        g = new_group(f, "b_group", track_order=True)
        g.attrs["inner"] = b"x"
        new_group(f, "a_group")

    # More than 8 attributes under libver latest: dense attribute storage (fractal heap + v2 B-tree).
    with new_file("dense_attrs.h5", "latest") as f:
        many_attrs(f, 20)
        f.attrs["model_config"] = MODEL_CONFIG.encode("utf8")
        g = new_group(f, "child")
        many_attrs(g, 12)

    # Attributes larger than 64 KiB: dense storage (libver earliest refuses them; v108 allows them and
    # keeps superblock v2).
    with new_file("big_attr.h5", "v108", "latest") as f:
        f.attrs["small"] = b"s"
        f.attrs["model_config"] = np.bytes_(("x" * 70000).encode("utf8"))  # fixed-length S70000

    # Many group members: dense links under latest, multi-node B-tree under earliest.
    with new_file("many_groups_latest.h5", "latest") as f:
        for i in range(20):
            new_group(f, "g%02d" % i).attrs["i"] = np.int64(i)
    with new_file("many_groups_earliest.h5", "earliest") as f:
        for i in range(20):
            new_group(f, "g%02d" % i).attrs["i"] = np.int64(i)

    # Superblock v2 (libver v108 / 1.8 format).
    with new_file("v18.h5", "v108", "v108") as f:
        f.attrs["keras_version"] = "2.3.1"
        new_group(f, "model_weights").attrs["layer_names"] = np.array([b"a", b"bb"])

    # Soft, external and cyclic hard links, old-style and new-style groups.
    for name, low in (("links_earliest.h5", "earliest"), ("links_latest.h5", "latest")):
        with new_file(name, low) as f:
            g = new_group(f, "g")
            g.attrs["a"] = np.int16(-2)
            g["up"] = f  # hard link back to the root group: a cycle
            f["soft"] = h5py.SoftLink("/g")
            f["ext"] = h5py.ExternalLink("other.h5", "/x")

    # An old-style group of 300 members (hard links to one group): more symbol table nodes than
    # one v1 B-tree node holds (2K = 32), so a B-tree of two levels.
    with new_file("deep_btree.h5", "earliest") as f:
        g = new_group(f, "target")
        g.attrs["t"] = b"target"
        for i in range(300):
            f["l%03d" % i] = g

    # 600 attributes in dense storage: a fractal heap with an indirect root block and a v2 B-tree
    # of depth 2.
    with new_file("dense_many.h5", "latest") as f:
        for i in range(600):
            f.attrs["a%03d" % i] = np.int16(i)


if __name__ == "__main__":
    main()
