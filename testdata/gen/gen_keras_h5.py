"""Writes the Keras H5 fixtures of testdata/formats/*/keras-h5/ with h5py.

It also writes three files whose model_config Keras cannot read into
analyzer/kerash5/testdata/, for the analyzer's own tests.

Run from the repository root with Debian's interpreter (apt-get install
python3-h5py):

    /usr/bin/python3 testdata/gen/gen_keras_h5.py

Debian ships no Keras, so the files are laid out the way Keras writes a
whole model to HDF5 (keras.saving.legacy.hdf5_format.save_model_to_hdf5 in
Keras 2, keras.src.legacy.saving.legacy_h5_format in Keras 3): root
attributes keras_version, backend, model_config and training_config (JSON),
a model_weights group with layer_names and weight_names attributes and one
dataset per weight. Keras 2 writes the JSON as bytes (a fixed-length
string); h5py writes a str as a variable-length string in the global heap:
both are here.

The Lambda payload is marshal.dumps of a lambda's __code__, base64-encoded
as Keras' func_dump does. Compiling a lambda does not run it; nothing here
calls it, and nothing loads any file.
"""

import base64
import json
import marshal
import os
import types

import h5py
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "formats")


def dense(name, units, activation="relu", input_dim=None):
    config = {
        "name": name, "trainable": True, "dtype": "float32", "units": units,
        "activation": activation, "use_bias": True,
        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}},
        "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
        "kernel_constraint": None, "bias_constraint": None,
    }
    if input_dim is not None:
        config["batch_input_shape"] = [None, input_dim]
    return {"class_name": "Dense", "config": config}


def sequential(*layers):
    return {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32",
                                                 "sparse": False, "ragged": False, "name": "dense_input"}},
        *layers]}}


def lambda_code(source):
    """The code object of the lambda in source, compiled as if in train.py,
    so that the bytes do not depend on where the repository is. Compiling
    does not run it."""
    module = compile(source, "train.py", "eval")
    return next(c for c in module.co_consts if isinstance(c, types.CodeType))


def func_dump(code):
    """Keras 2's generic_utils.func_dump: base64 with a newline every 76 characters."""
    return base64.encodebytes(marshal.dumps(code)).decode("ascii"), None, None


def lambda_layer(name, code):
    code, defaults, closure = func_dump(code)
    return {"class_name": "Lambda", "config": {
        "name": name, "trainable": True, "dtype": "float32",
        "function": [code, defaults, closure], "function_type": "lambda", "module": "__main__",
        "output_shape": None, "output_shape_type": "raw", "output_shape_module": None, "arguments": {}}}


TRAINING = {"loss": "mse", "metrics": None, "weighted_metrics": None, "loss_weights": None,
            "optimizer_config": {"class_name": "Adam", "config": {
                "name": "Adam", "learning_rate": 0.001, "decay": 0.0, "beta_1": 0.9,
                "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False}}}


def write_model(path, config, weights, as_bytes=True, libver="earliest", extra_attrs=0):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    enc = (lambda s: s.encode("utf8")) if as_bytes else (lambda s: s)
    with create(path, libver, track_order=extra_attrs > 0) as f:
        for i in range(extra_attrs):  # more attributes than compact storage holds
            f.attrs["note_%02d" % i] = enc("padding attribute %d" % i)
        f.attrs["keras_version"] = enc("2.15.0")
        f.attrs["backend"] = enc("tensorflow")
        f.attrs["model_config"] = enc(json.dumps(config))
        f.attrs["training_config"] = enc(json.dumps(TRAINING))
        write_weights(group(f, "model_weights"), weights)


def create(path, libver="earliest", track_order=False):
    """h5py.File(path, "w", libver=...), without object modification times
    (HDF5 stores them in version 2 object headers), so that the bytes are
    the same at every run."""
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_libver_bounds(*{"earliest": (h5py.h5f.LIBVER_EARLIEST, h5py.h5f.LIBVER_LATEST),
                             "latest": (h5py.h5f.LIBVER_LATEST, h5py.h5f.LIBVER_LATEST)}[libver])
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_obj_track_times(False)
    if track_order:
        fcpl.set_link_creation_order(h5py.h5p.CRT_ORDER_TRACKED | h5py.h5p.CRT_ORDER_INDEXED)
        fcpl.set_attr_creation_order(h5py.h5p.CRT_ORDER_TRACKED | h5py.h5p.CRT_ORDER_INDEXED)
    return h5py.File(h5py.h5f.create(path.encode(), h5py.h5f.ACC_TRUNC, fcpl=fcpl, fapl=fapl))


def group(parent, name):
    """parent.create_group(name), without modification times."""
    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    gcpl.set_obj_track_times(False)
    return h5py.Group(h5py.h5g.create(parent.id, name.encode(), gcpl=gcpl))


def write_weights(g, weights):
    g.attrs["backend"] = b"tensorflow"
    g.attrs["keras_version"] = b"2.15.0"
    g.attrs["layer_names"] = np.array([name.encode() for name, _ in weights])
    rng = np.random.default_rng(0)
    for name, shapes in weights:
        lg = group(g, name)
        names = []
        for wname, shape in shapes:
            full = "%s/%s:0" % (name, wname)
            lg.create_dataset(full, data=rng.standard_normal(shape).astype("float32"), track_times=False)
            names.append(full.encode())
        lg.attrs["weight_names"] = np.array(names)


WEIGHTS = [("dense", [("kernel", (4, 8)), ("bias", (8,))]), ("dense_1", [("kernel", (8, 1)), ("bias", (1,))])]
BENIGN = sequential(dense("dense", 8, input_dim=4), dense("dense_1", 1, activation="linear"))


def main():
    b = os.path.join(ROOT, "benign", "keras-h5")
    m = os.path.join(ROOT, "malicious", "keras-h5")
    write_model(os.path.join(b, "dense.h5"), BENIGN, WEIGHTS)
    write_model(os.path.join(b, "dense_str_latest.h5"), BENIGN, WEIGHTS, as_bytes=False, libver="latest")
    write_model(os.path.join(b, "dense_many_attrs.h5"), BENIGN, WEIGHTS, libver="latest", extra_attrs=12)
    with create(os.path.join(b, "dense.weights.h5")) as f:  # model.save_weights: no config
        write_weights(f, WEIGHTS)

    evil = lambda_code("lambda x: __import__('os').system('id') or x")
    lam = sequential(dense("dense", 8, input_dim=4), lambda_layer("lambda", evil))
    write_model(os.path.join(m, "lambda.h5"), lam, WEIGHTS[:1])
    write_model(os.path.join(m, "lambda_dense_attrs.h5"), lam, WEIGHTS[:1], libver="latest", extra_attrs=12)
    unsafe = sequential(dense("dense", 8, input_dim=4),
                        {"module": "builtins", "class_name": "exec", "registered_name": None,
                         "config": {"name": "import os; os.system('id')"}})
    write_model(os.path.join(m, "os_module.h5"), unsafe, WEIGHTS[:1], as_bytes=False)


def write_odd(path, config):
    """A file whose model_config Keras cannot read: for the analyzer's own tests."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with create(path) as f:
        f.attrs["keras_version"] = b"2.15.0"
        f.attrs["model_config"] = config


def odd_files():
    out = os.path.join(ROOT, "..", "..", "analyzer", "kerash5", "testdata")
    write_odd(os.path.join(out, "int_config.h5"), np.int64(7))
    write_odd(os.path.join(out, "bad_json.h5"), b'{"class_name": "Sequential", "config": {')
    write_odd(os.path.join(out, "two_strings.h5"), np.array([b'{"a": 1}', b'{"b": 2}']))


if __name__ == "__main__":
    odd_files()
    main()
