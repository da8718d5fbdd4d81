"""Writes keras_weights.h5, the model.weights.h5 member of the generated .keras fixtures.

Run once from the repository root with Debian's interpreter (python3-h5py, python3-numpy):

    /usr/bin/python3 testdata/gen/formats/make_weights_h5.py

The generator (main.go) embeds the result: `go run ./testdata/gen/formats` needs no Python. The layout is the one
Keras 3's H5IOStore writes for a Sequential of Dense(8, relu) and Dense(1) on 4 inputs: a "vars" group per
saved object, holding datasets "0", "1"... in the order of the object's variables. Object modification times are
off so that the bytes are stable (h5py 3.7.0, HDF5 1.10.8).
"""

import os

import h5py
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_weights.h5")

fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
fcpl.set_obj_track_times(False)
fid = h5py.h5f.create(OUT.encode(), h5py.h5f.ACC_TRUNC, fcpl=fcpl)
rng = np.random.default_rng(0)
with h5py.File(fid) as f:
    f.create_group("vars")
    for name, shape in (("dense", (4, 8)), ("dense_1", (8, 1))):
        g = f.create_group("layers/" + name + "/vars")
        g.create_dataset("0", data=rng.standard_normal(shape).astype(np.float32), track_times=False)
        g.create_dataset("1", data=np.zeros(shape[1:], np.float32), track_times=False)
    f.create_group("optimizer/vars")
