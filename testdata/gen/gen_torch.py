"""PyTorch fixtures: zip checkpoints, legacy stream and tar formats, TorchScript, tensors."""

import argparse
import builtins
import io
import linecache
import pickle
import shutil
import struct
import sys
import tarfile
import threading
import types
import warnings
from collections import OrderedDict

import numpy as np
import torch
import torch.serialization
from torch import nn

from common import (
    COMMAND,
    inject_prefix,
    out,
    pickle_ends,
    record,
    rewrite_zip,
    system_payload,
    zip_member_named,
    zip_read,
)

B = "benign/pytorch/"
M = "malicious/pytorch/"


def _seed():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    np.random.seed(0)


# ---------------------------------------------------------------------------
# Modules that TorchScript compiles. TorchScript records the source file name of
# a scripted class (in code/*.debug_pkl), so the source lives under a fixed
# pseudo file name rather than this file's absolute path, so that the output
# does not depend on where the repository is checked out.

_MODULE_NAME = "violet_fixture_modules"
_MODULE_FILE = "violet_fixture_modules.py"
_MODULE_SRC = '''\
import torch
from torch import nn


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.fc2 = nn.Linear(3, 2)
        self.scale = 2.0

    def forward(self, x):
        h = torch.relu(self.fc1(x))
        if bool(h.sum() > 100.0):
            h = h / 2.0
        return self.fc2(h) * self.scale


class TinyConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.bn = nn.BatchNorm2d(2)
        self.fc = nn.Linear(8, 2)

    def forward(self, x):
        h = torch.relu(self.bn(self.conv(x)))
        return self.fc(h.flatten(1))


def trace_and_save(path):
    torch.manual_seed(0)
    model = TinyConv().eval()
    torch.jit.trace(model, torch.randn(1, 1, 4, 4)).save(path)
'''


def _fixture_modules():
    if _MODULE_NAME in sys.modules:
        return sys.modules[_MODULE_NAME]
    lines = _MODULE_SRC.splitlines(True)
    linecache.cache[_MODULE_FILE] = (len(_MODULE_SRC), None, lines, _MODULE_FILE)
    mod = types.ModuleType(_MODULE_NAME)
    mod.__file__ = _MODULE_FILE
    sys.modules[_MODULE_NAME] = mod
    exec(compile(_MODULE_SRC, _MODULE_FILE, "exec"), mod.__dict__)  # our own generator source, not a fixture
    return mod


# ---------------------------------------------------------------------------
# Legacy (non-zip) torch.save with deterministic storage keys.
#
# torch's _legacy_save names each storage by its memory address
# (str(storage._cdata)) and writes storages in sorted(key) order. To make the
# bytes reproducible we hand torch a pickle_module whose Pickler renumbers the
# keys "0", "1", ... in order of first appearance, and make the sort keep that
# order. The file layout is otherwise exactly what torch writes.


class _RenumberingPickler(pickle._Pickler):
    def __init__(self, file, protocol=None, *, keymap):
        super().__init__(file, protocol)
        self._keymap = keymap

    def __setattr__(self, name, value):
        if name == "persistent_id" and callable(value):
            inner = value
            keymap = self._keymap

            def persistent_id(obj):
                pid = inner(obj)
                if isinstance(pid, tuple) and pid and pid[0] == "storage":
                    pid = list(pid)
                    pid[2] = keymap.setdefault(pid[2], str(len(keymap)))
                    pid = tuple(pid)
                return pid

            value = persistent_id
        super().__setattr__(name, value)


def _legacy_save(obj, path):
    keymap = {}

    def dump(o, f, protocol=None):
        if isinstance(o, list) and all(isinstance(k, str) and k in keymap for k in o):
            o = [keymap[k] for k in o]
        pickle.dump(o, f, protocol=protocol)

    mod = types.SimpleNamespace(
        __name__="pickle",
        Pickler=lambda f, protocol=None: _RenumberingPickler(f, protocol, keymap=keymap),
        dump=dump,
    )
    torch.serialization.sorted = lambda it: list(it)  # keep first-appearance order
    try:
        torch.save(obj, path, pickle_module=mod, _use_new_zipfile_serialization=False)
    finally:
        del torch.serialization.sorted


# ---------------------------------------------------------------------------
# Pre-1.0 tar layout, built by hand to match torch.serialization._legacy_load:
# members sys_info, pickle, storages, tensors (tar, PAX format).


class _TensorRef:
    def __init__(self, key):
        self.key = key


class _TarPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, _TensorRef):
            return str(obj.key)
        return None


def _tar_members(tensors, extra_pickle_items=None, sys_info_extra=None, storage_payload=None):
    """tensors: OrderedDict name -> float32 tensor. Returns [(member name, bytes)]."""
    sys_info = {
        "protocol_version": 1001,
        "little_endian": True,
        "type_sizes": {"short": 2, "int": 4, "long": 4},
    }
    if sys_info_extra:
        sys_info.update(sys_info_extra)

    storages = io.BytesIO()
    count = pickle.dumps(len(tensors), protocol=2)
    if storage_payload is not None:  # (module, name, argument) called before the storage count
        count = inject_prefix(count, *storage_payload)
    storages.write(count)
    tensors_f = io.BytesIO()
    pickle.dump(len(tensors), tensors_f, protocol=2)
    state = OrderedDict()
    for i, (name, t) in enumerate(tensors.items()):
        t = t.detach().contiguous().to(torch.float32)
        storage_key, tensor_key = 1000 + i, 2000 + i
        # (key, location, storage_type), then int64 element count and the raw little-endian data
        pickle.dump((storage_key, "cpu", torch.FloatStorage), storages, protocol=2)
        data = t.numpy().astype("<f4").tobytes()
        storages.write(struct.pack("<q", t.numel()))
        storages.write(data)
        # (key, storage_id, original_tensor_type), then ndim as int32 + 4 pad bytes, sizes, strides, offset
        pickle.dump((tensor_key, storage_key, torch.FloatTensor), tensors_f, protocol=2)
        tensors_f.write(struct.pack("<i", t.dim()) + b"\0\0\0\0")
        tensors_f.write(struct.pack(f"<{t.dim()}q", *t.shape))
        tensors_f.write(struct.pack(f"<{t.dim()}q", *t.stride()))
        tensors_f.write(struct.pack("<q", 0))
        state[name] = _TensorRef(tensor_key)
    pickle.dump([], storages, protocol=2)  # storage views

    if extra_pickle_items:
        state.update(extra_pickle_items)
    obj = io.BytesIO()
    _TarPickler(obj, protocol=2).dump(state)

    return [
        ("sys_info", pickle.dumps(sys_info, protocol=2)),
        ("pickle", obj.getvalue()),
        ("storages", storages.getvalue()),
        ("tensors", tensors_f.getvalue()),
    ]


def _write_tar(rel, members):
    with tarfile.open(out(rel), "w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 0
            ti.mode = 0o644
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = ""
            tar.addfile(ti, io.BytesIO(data))


# ---------------------------------------------------------------------------


def _standard_layers():
    return nn.Sequential(
        nn.Conv2d(1, 2, 3),
        nn.BatchNorm2d(2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(8, 4),
        nn.LayerNorm(4),
        nn.Dropout(0.1),
        nn.Embedding(6, 3),
        nn.LSTM(3, 2, batch_first=True),
        nn.GRU(2, 2),
        nn.GELU(),
        nn.Sigmoid(),
    )


def _checkpoint():
    _seed()
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)
    sgd = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.StepLR(adam, step_size=10, gamma=0.5)
    x = torch.randn(8, 4)
    y = torch.randint(0, 2, (8,))
    loss = None
    for opt in (adam, sgd, adam):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    sched.step()
    return {
        "epoch": 3,
        "global_step": 24,
        "model_state_dict": model.state_dict(),
        "optimizer_state_dict": adam.state_dict(),
        "sgd_optimizer_state_dict": sgd.state_dict(),
        "scheduler_state_dict": sched.state_dict(),
        "loss": float(loss.item()),
        "loss_tensor": loss.detach(),
        "input_shape": torch.Size([1, 4]),
        "dtype": torch.float32,
        "device": torch.device("cpu"),
        "rng_state": torch.get_rng_state(),
    }


def _tiny_state_dict():
    _seed()
    return nn.Linear(4, 2).state_dict()


def generate():
    warnings.filterwarnings("ignore")
    fm = _fixture_modules()

    # --- benign: zip format ------------------------------------------------
    _seed()
    sd = _tiny_state_dict()
    torch.save(sd, out(B + "state_dict.pt"))
    record(B + "state_dict.pt", "benign", "PyTorch zip (torch.save default) state_dict of nn.Linear(4,2)")

    _seed()
    model = _standard_layers()
    torch.save(model, out(B + "full_module.pt"))
    record(B + "full_module.pt", "benign",
           "PyTorch zip, whole nn.Sequential (Conv2d BatchNorm2d ReLU Flatten Linear LayerNorm Dropout Embedding LSTM GRU GELU Sigmoid) via torch.save(model)")

    ckpt = _checkpoint()
    torch.save(ckpt, out(B + "checkpoint.pt"))
    record(B + "checkpoint.pt", "benign",
           "PyTorch zip training checkpoint: model state, Adam and SGD-momentum optimizer state, StepLR state, epoch, loss float and tensor, torch.Size, torch.float32, torch.device, rng_state")

    _seed()
    extras = {
        "state_dict": _tiny_state_dict(),
        "args": argparse.Namespace(arch="tiny", lr=0.1, epochs=3, workers=0),
        "best_acc1": np.float64(0.75),
        "class_names": np.array(["cat", "dog"]),
        "history": np.array([0.9, 0.6, 0.4], dtype=np.float32),
    }
    torch.save(extras, out(B + "checkpoint_numpy_argparse.pt"))
    record(B + "checkpoint_numpy_argparse.pt", "benign",
           "PyTorch zip checkpoint with argparse.Namespace, numpy float64 scalar and numpy arrays (common in real checkpoints)")

    _seed()
    dtypes = OrderedDict(
        f32=torch.randn(2, 3),
        f64=torch.randn(3, dtype=torch.float64),
        f16=torch.randn(4).to(torch.float16),
        bf16=torch.randn(4).to(torch.bfloat16),
        i8=torch.tensor([-3, 0, 7], dtype=torch.int8),
        u8=torch.tensor([0, 255], dtype=torch.uint8),
        i64=torch.arange(5),
        b=torch.tensor([True, False, True]),
        c64=torch.complex(torch.randn(3), torch.randn(3)),
        view=torch.arange(10, dtype=torch.int32)[2:6],
        noncontig=torch.randn(3, 4).t(),
    )
    torch.save(dtypes, out(B + "tensors_dtypes.pt"))
    record(B + "tensors_dtypes.pt", "benign",
           "PyTorch zip dict of tensors: float32 float64 float16 bfloat16 int8 uint8 int64 bool complex64, a view and a transposed tensor")

    _seed()
    dense = torch.tensor([[0.0, 1.5, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 3.0]])
    torch.save({"coo": dense.to_sparse(), "csr": dense.to_sparse_csr()}, out(B + "tensors_sparse.pt"))
    record(B + "tensors_sparse.pt", "benign", "PyTorch zip sparse COO and CSR tensors (torch._utils._rebuild_sparse_tensor / _rebuild_sparse_csr_tensor)")

    _seed()
    q = {
        "per_tensor": torch.quantize_per_tensor(torch.randn(4), 0.1, 0, torch.qint8),
        "per_channel": torch.quantize_per_channel(torch.randn(2, 3), torch.tensor([0.1, 0.2]), torch.tensor([0, 1]), 0, torch.quint8),
    }
    torch.save(q, out(B + "tensors_quantized.pt"))
    record(B + "tensors_quantized.pt", "benign", "PyTorch zip quantized tensors, per-tensor qint8 and per-channel quint8 (torch._utils._rebuild_qtensor)")

    # --- benign: legacy formats --------------------------------------------
    _legacy_save(_tiny_state_dict(), out(B + "state_dict_legacy.pt"))
    record(B + "state_dict_legacy.pt", "benign",
           "PyTorch legacy non-zip stream (_use_new_zipfile_serialization=False): magic, version, sys_info, data pickle, storage keys, raw storages")
    _legacy_save(_checkpoint(), out(B + "checkpoint_legacy.pt"))
    record(B + "checkpoint_legacy.pt", "benign", "PyTorch legacy non-zip stream of the training checkpoint (optimizers, scheduler, Size, dtype, device)")

    _seed()
    lin = nn.Linear(4, 2)
    tar_tensors = OrderedDict(weight=lin.weight, bias=lin.bias)
    _write_tar(B + "legacy_tar.pt", _tar_members(tar_tensors))
    record(B + "legacy_tar.pt", "benign", "PyTorch pre-1.0 tar layout built by hand (members sys_info pickle storages tensors) holding a Linear(4,2) state_dict")

    # --- benign: TorchScript --------------------------------------------
    _seed()
    scripted = torch.jit.script(fm.TinyNet())
    scripted.save(out(B + "torchscript_scripted.pt"))
    record(B + "torchscript_scripted.pt", "benign", "TorchScript zip from torch.jit.script(...).save: code/, constants.pkl, data.pkl")
    # A trace records the whole Python call stack of every op. Running it in a
    # fresh thread from the pseudo file keeps this checkout's path out of the file.
    worker = threading.Thread(target=fm.trace_and_save, args=(out(B + "torchscript_traced.pt"),))
    worker.start()
    worker.join()
    record(B + "torchscript_traced.pt", "benign", "TorchScript zip from torch.jit.trace(...).save of Conv2d+BatchNorm2d+Linear")

    # --- malicious -------------------------------------------------------
    # 1. payload prepended to data.pkl of a real checkpoint; other members untouched
    src = out(B + "checkpoint.pt")
    name = zip_member_named(src, "/data.pkl")
    rewrite_zip(src, out(M + "data_pkl_injected.pt"),
                replace={name: inject_prefix(zip_read(src, name), "posix", "system", COMMAND)})
    record(M + "data_pkl_injected.pt", "malicious",
           "PyTorch zip checkpoint whose data.pkl has a hand-assembled call prepended after PROTO (GLOBAL REDUCE POP), rest intact; payload posix.system")

    # 2. payload in a second pickle member that torch never reads
    src = out(B + "state_dict.pt")
    name = zip_member_named(src, "/data.pkl")
    root = name.split("/")[0]
    extra = pickle.dumps({"note": "not loaded by torch", "hook": system_payload()}, protocol=2)
    rewrite_zip(src, out(M + "extra_member.pt"), add_after={name: [(root + "/extra.pkl", extra)]})
    record(M + "extra_member.pt", "malicious",
           "PyTorch zip state_dict, benign data.pkl plus an extra member <root>/extra.pkl that torch.load ignores; payload posix.system")

    # 3. bare reference to builtins.exec stored as a value (no call)
    torch.save({"state_dict": _tiny_state_dict(), "post_load_hook": builtins.exec}, out(M + "bare_exec_reference.pt"))
    record(M + "bare_exec_reference.pt", "malicious",
           "PyTorch zip state_dict with a dict value that is a bare reference to exec (GLOBAL, never called in the pickle); protocol 2 writes the Python 2 name; payload __builtin__.exec (= builtins.exec)")

    # 4. whole module with a payload in a submodule attribute
    _seed()
    m = _standard_layers()
    m[4].violet_hook = system_payload()
    torch.save(m, out(M + "full_module_attr_payload.pt"))
    record(M + "full_module_attr_payload.pt", "malicious",
           "PyTorch zip whole nn.Sequential whose Linear submodule has an attribute that reduces to a call; payload posix.system")

    # 5. legacy stream with the payload in the sys_info pickle (loaded and discarded by torch)
    src = out(B + "state_dict_legacy.pt")
    data = open(src, "rb").read()
    ends = pickle_ends(data, 3)
    sys_info = {
        "protocol_version": 1001,
        "little_endian": True,
        "type_sizes": {"short": 2, "int": 4, "long": 4},
        "build": system_payload(),
    }
    with open(out(M + "legacy_sys_info_payload.pt"), "wb") as f:
        f.write(data[: ends[1]] + pickle.dumps(sys_info, protocol=2) + data[ends[2]:])
    record(M + "legacy_sys_info_payload.pt", "malicious",
           "PyTorch legacy non-zip stream; the third pickle (sys_info) holds the payload, data pickle intact; payload posix.system")

    # 6. legacy stream with the payload prepended to the main data pickle
    with open(out(M + "legacy_data_payload.pt"), "wb") as f:
        f.write(data[: ends[2]] + inject_prefix(data[ends[2]:], "posix", "system", COMMAND))
    record(M + "legacy_data_payload.pt", "malicious",
           "PyTorch legacy non-zip stream; hand-assembled call prepended to the fourth pickle (the data); payload posix.system")

    # 7. pre-1.0 tar twins
    _write_tar(M + "legacy_tar_pickle_payload.pt", _tar_members(tar_tensors, extra_pickle_items={"_metadata_hook": system_payload()}))
    record(M + "legacy_tar_pickle_payload.pt", "malicious", "PyTorch pre-1.0 tar layout; payload in the 'pickle' member next to the tensors; payload posix.system")
    _write_tar(M + "legacy_tar_sys_info_payload.pt", _tar_members(tar_tensors, sys_info_extra={"build": system_payload()}))
    record(M + "legacy_tar_sys_info_payload.pt", "malicious", "PyTorch pre-1.0 tar layout; payload in the 'sys_info' member (never read by torch); payload posix.system")
    _write_tar(M + "legacy_tar_storages_payload.pt",
               _tar_members(tar_tensors, storage_payload=("builtins", "exec", "import os; os.system('echo violet-fixture')")))
    record(M + "legacy_tar_storages_payload.pt", "malicious",
           "PyTorch pre-1.0 tar layout; hand-assembled call prepended to the storage-count pickle at the start of the 'storages' member (torch unpickles it with plain pickle.load); payload builtins.exec")

    # 8. TorchScript with the payload in constants.pkl
    src = out(B + "torchscript_scripted.pt")
    name = zip_member_named(src, "/constants.pkl")
    rewrite_zip(src, out(M + "torchscript_constants_payload.pt"),
                replace={name: pickle.dumps((system_payload(),), protocol=2)})
    record(M + "torchscript_constants_payload.pt", "malicious",
           "TorchScript zip (scripted) whose constants.pkl is replaced by a tuple holding a call; payload posix.system")

    # 9. content decides the format: a torch zip named .safetensors
    shutil.copyfile(out(M + "data_pkl_injected.pt"), out("malicious/renamed/model.safetensors"))
    record("malicious/renamed/model.safetensors", "malicious",
           "copy of pytorch/data_pkl_injected.pt (PyTorch zip) renamed .safetensors; payload posix.system")
