"""NumPy, pandas and plain-pickle fixtures."""

import builtins
import pickle

import numpy as np
import pandas as pd
import scipy.sparse

from common import Reduce, frozen_time, out, record, system_payload

B = "benign/"
M = "malicious/"


def generate_numpy():
    rng = np.random.default_rng(0)
    f32 = rng.standard_normal((3, 4)).astype(np.float32)
    i64 = np.arange(10, dtype=np.int64).reshape(2, 5)
    f64_fortran = np.asfortranarray(rng.standard_normal((3, 2)))
    structured = np.array([(1, 2.5, b"ab"), (2, -1.0, b"cd")], dtype=[("id", "<i4"), ("score", "<f8"), ("tag", "S2")])
    strings = np.array(["alpha", "beta"])  # <U5, no pickle
    obj = np.empty(4, dtype=object)
    obj[:] = [[1, 2, 3], {"a": 1, "b": [2.5]}, "a string", (4, None)]

    np.save(out(B + "numpy/float32.npy"), f32)
    record(B + "numpy/float32.npy", "benign", "NumPy .npy float32 (3,4)")
    np.save(out(B + "numpy/int64.npy"), i64)
    record(B + "numpy/int64.npy", "benign", "NumPy .npy int64 (2,5)")
    np.save(out(B + "numpy/float64_fortran.npy"), f64_fortran)
    record(B + "numpy/float64_fortran.npy", "benign", "NumPy .npy float64 with fortran_order True")
    np.save(out(B + "numpy/structured.npy"), structured)
    record(B + "numpy/structured.npy", "benign", "NumPy .npy structured dtype (int32, float64, S2), no pickle")
    np.save(out(B + "numpy/object.npy"), obj, allow_pickle=True)
    record(B + "numpy/object.npy", "benign", "NumPy .npy object dtype (pickle protocol 3 after the header) holding a list, a dict, a str and a tuple")

    with frozen_time():  # zipfile stamps members with time.time()
        np.savez(out(B + "numpy/numeric.npz"), f32=f32, i64=i64, strings=strings)
        np.savez(out(B + "numpy/mixed.npz"), f32=f32, obj=obj)
        np.savez_compressed(out(B + "numpy/mixed_compressed.npz"), f32=f32, i64=i64, obj=obj)
        scipy.sparse.save_npz(out(B + "numpy/scipy_csr.npz"), scipy.sparse.csr_matrix(np.eye(4)))
    record(B + "numpy/numeric.npz", "benign", "NumPy .npz (stored zip) of float32, int64 and <U5 arrays, no pickle")
    record(B + "numpy/mixed.npz", "benign", "NumPy .npz (stored zip) of a float32 array and a benign object-dtype array")
    record(B + "numpy/mixed_compressed.npz", "benign", "NumPy savez_compressed (deflate zip) of numeric arrays and a benign object-dtype array")
    record(B + "numpy/scipy_csr.npz", "benign", "scipy.sparse.save_npz (compressed npz: data, indices, indptr, format, shape), no pickle")

    # --- malicious ---------------------------------------------------------
    bad = np.empty(3, dtype=object)
    bad[:] = ["label", system_payload(), 7]
    np.save(out(M + "numpy/object_payload.npy"), bad, allow_pickle=True)
    record(M + "numpy/object_payload.npy", "malicious", "NumPy .npy object dtype whose pickle builds an element by a call; payload posix.system")

    bad_eval = np.empty(2, dtype=object)
    bad_eval[:] = [Reduce(builtins.eval, "__import__('os').system('echo violet-fixture')"), 1]
    with frozen_time():
        np.savez(out(M + "numpy/poisoned_member.npz"), weights=f32, ids=i64, meta=bad_eval)
        np.savez_compressed(out(M + "numpy/poisoned_member_compressed.npz"), weights=f32, ids=i64, meta=bad)
    record(M + "numpy/poisoned_member.npz", "malicious",
           "NumPy .npz (stored zip) with two numeric members and one object member meta.npy carrying a call; payload builtins.eval")
    record(M + "numpy/poisoned_member_compressed.npz", "malicious",
           "NumPy savez_compressed (deflate zip) with one poisoned object member meta.npy; payload posix.system")


def _dataframe():
    idx = pd.MultiIndex.from_product([["a", "b"], [1, 2]], names=["group", "n"])
    return pd.DataFrame(
        {
            "f64": np.arange(4, dtype="float64") * 0.5,
            "i32": np.arange(4, dtype="int32"),
            "nullable_int": pd.array([1, None, 3, 4], dtype="Int64"),
            "nullable_bool": pd.array([True, False, None, True], dtype="boolean"),
            "category": pd.Categorical(["x", "y", "x", "z"]),
            "ts_utc": pd.date_range("2024-01-01", periods=4, freq="D", tz="UTC"),
            "ts_paris": pd.date_range("2024-03-30", periods=4, freq="12H", tz="Europe/Paris"),
            "timedelta": pd.to_timedelta([1, 2, 3, 4], unit="h"),
            "period": pd.period_range("2024-01", periods=4, freq="M"),
            "string": pd.array(["p", "q", None, "r"], dtype="string"),
            "obj": ["u", 1, 2.5, None],
        },
        index=idx,
    )


def generate_pandas():
    df = _dataframe()
    df.to_pickle(out(B + "pandas/dataframe.pkl"))
    record(B + "pandas/dataframe.pkl", "benign",
           "pandas DataFrame.to_pickle (protocol 5): MultiIndex, float, int32, Int64, boolean, categorical, datetime UTC and Europe/Paris (pytz), timedelta, period, string, object")
    for proto in (4, 5):
        rel = f"{B}pandas/dataframe_p{proto}.pkl"
        with open(out(rel), "wb") as f:
            f.write(pickle.dumps(df, protocol=proto))
        record(rel, "benign", f"the same pandas DataFrame via pickle.dumps protocol {proto}")
    df.to_pickle(out(B + "pandas/dataframe.pkl.gz"), compression={"method": "gzip", "mtime": 0})
    record(B + "pandas/dataframe.pkl.gz", "benign", "the same pandas DataFrame, to_pickle with gzip compression")
    s = pd.Series([1.0, 2.0, None], index=pd.Index(["a", "b", "c"], name="k"), name="s")
    s.to_pickle(out(B + "pandas/series.pkl"))
    record(B + "pandas/series.pkl", "benign", "pandas Series.to_pickle")

    bad = _dataframe()
    bad["obj"] = ["u", system_payload(), 2.5, None]
    bad.to_pickle(out(M + "pandas/dataframe_payload.pkl"))
    record(M + "pandas/dataframe_payload.pkl", "malicious", "pandas DataFrame.to_pickle with a payload in an object column; payload posix.system")
    bad.to_pickle(out(M + "pandas/dataframe_payload.pkl.gz"), compression={"method": "gzip", "mtime": 0})
    record(M + "pandas/dataframe_payload.pkl.gz", "malicious", "the same poisoned pandas DataFrame, to_pickle with gzip compression; payload posix.system")


def generate_pickle():
    plain = {"name": "tiny", "layers": [4, 2], "lr": 0.001, "tags": ("a", "b"), "ok": True, "blob": b"\x00\x01", "none": None}
    for proto in (0, 2, 5):
        rel = f"{B}pickle/plain_dict_p{proto}.pkl"
        with open(out(rel), "wb") as f:
            pickle.dump(plain, f, protocol=proto)
        record(rel, "benign", f"plain Python dict of builtins, pickle protocol {proto}")

    rel = M + "pickle/system_p0.pkl"
    with open(out(rel), "wb") as f:
        pickle.dump({"config": system_payload()}, f, protocol=0)
    record(rel, "malicious", "pickle protocol 0 (text opcodes, no PROTO header); payload posix.system")

    rel = M + "pickle/exec_p4.pkl"
    with open(out(rel), "wb") as f:
        pickle.dump([Reduce(builtins.exec, "import os; os.system('echo violet-fixture')")], f, protocol=4)
    record(rel, "malicious", "pickle protocol 4 list whose element is a call of exec on Python source; payload builtins.exec")

    rel = M + "pickle/bare_exec_reference_p4.pkl"
    with open(out(rel), "wb") as f:
        pickle.dump({"name": "tiny", "on_load": builtins.exec}, f, protocol=4)
    record(rel, "malicious", "pickle protocol 4 dict whose value is a bare reference to exec (STACK_GLOBAL, no REDUCE); payload builtins.exec")

    rel = "malicious/renamed/weights.txt"
    with open(out(rel), "wb") as f:
        pickle.dump({"weights": [0.1, 0.2], "hook": system_payload()}, f, protocol=2)
    record(rel, "malicious", "pickle protocol 2 named weights.txt; payload posix.system")


def generate():
    generate_numpy()
    generate_pandas()
    generate_pickle()
