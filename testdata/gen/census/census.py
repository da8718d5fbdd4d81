#!/usr/bin/env python3
"""The census: one file for every public class, estimator, dtype and common
object that the ML libraries installed here can write, as those libraries
write it (pickle, joblib.dump, torch.save, to_pickle).

    census.py OUTDIR [--budget SECONDS] [--only FAMILY,...]

Writes OUTDIR/<family>/<name>.<ext> and OUTDIR/manifest.tsv (family, name,
file, writer, status, detail) and OUTDIR/versions.json. A library that is not
installed is skipped; an object that cannot be built or pickled is recorded
as "error" with the reason, never silently dropped. Every file written is
benign: it holds what the library itself puts in a pickle of that object.

NOTHING IS EVER LOADED: no pickle.load, torch.load, joblib.load, read_pickle.
Models are built from tiny configurations (no download); the tensors of whole
torch modules are emptied before saving so that the files stay small while
their classes, and so their pickle globals, stay what the library writes.

Runs on Debian's packages (testdata/census/debian) and on current releases
(testdata/census/modern); see testdata/census/README.md.
"""

import argparse
import importlib
import inspect
import io
import json
import os
import pickle
import re
import sys
import time
import traceback
import warnings

warnings.filterwarnings("ignore")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

OUT = None
ROWS = []
MAX_FILE = 1 << 20  # a census file is small: larger ones are recorded, not kept
START = time.time()
BUDGET = 600.0
FAMILY_BUDGET = {}


def elapsed():
    return time.time() - START


def safe(name):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:120]


def row(family, name, path, writer, status, detail=""):
    detail = detail.replace("\t", " ").replace("\n", " ")[:300]
    ROWS.append((family, name, path, writer, status, detail))


def dump_bytes(obj, writer):
    buf = io.BytesIO()
    if writer == "pickle":
        pickle.dump(obj, buf, protocol=pickle.DEFAULT_PROTOCOL)
    elif writer == "pickle2":
        pickle.dump(obj, buf, protocol=2)
    elif writer == "pickle5":
        pickle.dump(obj, buf, protocol=5)
    elif writer == "torch":
        import torch
        torch.save(obj, buf)
    elif writer == "joblib":
        import joblib
        joblib.dump(obj, buf)
    else:
        raise ValueError(writer)
    return buf.getvalue()


EXT = {"pickle": ".pkl", "pickle2": ".pkl", "pickle5": ".pkl", "torch": ".pt", "joblib": ".joblib"}


def save(family, name, build, writer="pickle"):
    """Builds the object (build is a value or a function) and writes it."""
    rel = os.path.join(family, safe(name) + EXT[writer])
    try:
        obj = build() if callable(build) and not isinstance(build, type) and getattr(build, "_census_thunk", False) else build
        data = dump_bytes(obj, writer)
    except Exception as e:  # noqa: BLE001 - every failure is recorded
        row(family, name, "", writer, "error", "%s: %s" % (type(e).__name__, e))
        return False
    if len(data) > MAX_FILE:
        row(family, name, "", writer, "too-large", "%d bytes" % len(data))
        return False
    os.makedirs(os.path.join(OUT, family), exist_ok=True)
    with open(os.path.join(OUT, rel), "wb") as f:
        f.write(data)
    row(family, name, rel, writer, "ok")
    return True


def thunk(f):
    f._census_thunk = True
    return f


def lazy(f, *a, **k):
    return thunk(lambda: f(*a, **k))


def try_build(family, name, fn):
    try:
        return fn()
    except Exception as e:  # noqa: BLE001
        row(family, name, "", "-", "error", "%s: %s" % (type(e).__name__, e))
        return None


def public_classes(module, base=None):
    out = []
    for n in sorted(dir(module)):
        if n.startswith("_"):
            continue
        c = getattr(module, n, None)
        if inspect.isclass(c) and (base is None or (issubclass(c, base) and c is not base)):
            out.append((n, c))
    return out


def instantiate(cls, trials):
    """cls(*args) for the first argument tuple that works."""
    last = None
    for args in trials:
        try:
            if isinstance(args, dict):
                return cls(**args)
            return cls(*args)
        except Exception as e:  # noqa: BLE001
            last = e
    raise last if last else RuntimeError("no trial")


# ---------------------------------------------------------------- families

FAMILIES = []


def family(name, budget):
    def deco(f):
        FAMILIES.append((name, f))
        FAMILY_BUDGET[name] = budget
        return f
    return deco


class Deadline:
    def __init__(self, fam):
        self.end = time.time() + FAMILY_BUDGET[fam]
        self.fam = fam

    def over(self):
        if time.time() > self.end or elapsed() > BUDGET:
            return True
        return False


@family("numpy", 30)
def fam_numpy(fam):
    import numpy as np
    seen = set()
    for t in sorted(set(np.sctypeDict.values()), key=lambda t: t.__name__):
        if t in seen:
            continue
        seen.add(t)
        n = t.__name__
        save(fam, "array_" + n, lazy(np.zeros, 2, dtype=t))
        save(fam, "scalar_" + n, lazy(lambda t=t: np.zeros(1, dtype=t)[0]))
        save(fam, "dtype_" + n, lazy(np.dtype, t))
    save(fam, "array_datetime64_ns", lazy(np.array, ["2024-01-01"], dtype="datetime64[ns]"))
    save(fam, "array_timedelta64_s", lazy(np.array, [1, 2], dtype="timedelta64[s]"))
    save(fam, "array_structured", lazy(np.zeros, 2, dtype=[("a", "<i4"), ("b", "<f8", (2,)), ("c", "U3")]))
    save(fam, "array_object", lazy(np.array, ["a", None, 1.5, (1, 2)], dtype=object))
    save(fam, "array_fortran", lazy(lambda: np.asfortranarray(np.arange(6.0).reshape(2, 3))))
    save(fam, "array_bigendian", lazy(np.arange, 4, dtype=">i8"))
    save(fam, "array_proto2", np.arange(3.0), "pickle2")
    save(fam, "array_proto5", np.arange(3.0), "pickle5")
    if hasattr(np, "dtypes") and hasattr(np.dtypes, "StringDType"):
        save(fam, "array_StringDType", lazy(np.array, ["a", "bc"], dtype=np.dtypes.StringDType()))
        save(fam, "array_StringDType_na", lazy(np.array, ["a", None], dtype=np.dtypes.StringDType(na_object=None)))
    if hasattr(np, "dtypes"):
        for n, c in public_classes(np.dtypes):
            save(fam, "dtypes_" + n, lazy(lambda c=c: c()))
    for n in ["MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64"]:
        bg = getattr(np.random, n, None)
        if bg is None:
            continue
        save(fam, "bitgen_" + n, lazy(bg, 0))
        save(fam, "generator_" + n, lazy(lambda bg=bg: np.random.Generator(bg(0))))
    save(fam, "default_rng", lazy(np.random.default_rng, 0))
    save(fam, "RandomState", lazy(np.random.RandomState, 0))
    save(fam, "SeedSequence", lazy(np.random.SeedSequence, 0))
    save(fam, "global_rng_state", lazy(np.random.get_state))
    import numpy.polynomial as P
    for n in ["Polynomial", "Chebyshev", "Legendre", "Laguerre", "Hermite", "HermiteE"]:
        save(fam, "polynomial_" + n, lazy(getattr(P, n), [1.0, 2.0, 3.0]))
    save(fam, "recarray", lazy(lambda: np.rec.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")])))
    save(fam, "record", lazy(lambda: np.rec.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")])[0]))
    save(fam, "masked_array", lazy(lambda: np.ma.array([1, 2, 3], mask=[0, 1, 0])))
    save(fam, "masked_constant", lazy(lambda: np.ma.masked))
    save(fam, "matrix", lazy(lambda: np.matrix([[1, 2], [3, 4]])))
    save(fam, "finfo", lazy(np.finfo, np.float32))
    save(fam, "iinfo", lazy(np.iinfo, np.int32))
    for u in ["add", "log1p", "sqrt", "exp", "maximum", "isnan"]:
        save(fam, "ufunc_" + u, getattr(np, u))
    save(fam, "vectorize_free_ufunc", lazy(lambda: [np.sin, np.cos, np.arctan2]))
    save(fam, "datetime_scalars", lazy(lambda: [np.datetime64("2024-01-01"), np.timedelta64(3, "D"), np.datetime64("NaT")]))
    save(fam, "errstate_dict", lazy(np.geterr))


@family("pandas", 40)
def fam_pandas(fam):
    import numpy as np
    import pandas as pd
    dl = Deadline(fam)
    frames = {
        "int": lambda: pd.DataFrame({"a": [1, 2]}),
        "float": lambda: pd.DataFrame({"a": [1.5, None]}),
        "bool": lambda: pd.DataFrame({"a": [True, False]}),
        "object": lambda: pd.DataFrame({"a": ["x", None]}, dtype=object),
        "str_default": lambda: pd.DataFrame({"a": ["x", "y"]}),
        "string_python": lambda: pd.DataFrame({"a": pd.array(["x", None], dtype="string[python]")}),
        "string_pyarrow": lambda: pd.DataFrame({"a": pd.array(["x", None], dtype="string[pyarrow]")}),
        "category": lambda: pd.DataFrame({"a": pd.Categorical(["x", "y", "x"])}),
        "datetime": lambda: pd.DataFrame({"a": pd.date_range("2024-01-01", periods=2)}),
        "datetime_tz": lambda: pd.DataFrame({"a": pd.date_range("2024-01-01", periods=2, tz="UTC")}),
        "datetime_tz_named": lambda: pd.DataFrame({"a": pd.date_range("2024-01-01", periods=2, tz="Europe/Paris")}),
        "timedelta": lambda: pd.DataFrame({"a": pd.to_timedelta([1, 2], unit="s")}),
        "period": lambda: pd.DataFrame({"a": pd.period_range("2024-01", periods=2, freq="M")}),
        "interval": lambda: pd.DataFrame({"a": pd.interval_range(0, 2)}),
        "sparse": lambda: pd.DataFrame({"a": pd.arrays.SparseArray([0, 1, 0])}),
        "Int64": lambda: pd.DataFrame({"a": pd.array([1, None], dtype="Int64")}),
        "Float64": lambda: pd.DataFrame({"a": pd.array([1.0, None], dtype="Float64")}),
        "boolean": lambda: pd.DataFrame({"a": pd.array([True, None], dtype="boolean")}),
        "UInt8": lambda: pd.DataFrame({"a": pd.array([1, None], dtype="UInt8")}),
        "complex": lambda: pd.DataFrame({"a": [1 + 2j]}),
        "multiindex_cols": lambda: pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", 1), ("b", 2)])),
        "attrs": lambda: _with_attrs(pd.DataFrame({"a": [1]})),
    }
    try:
        import pyarrow as pa
        frames.update({
            "arrow_int64": lambda: pd.DataFrame({"a": pd.array([1, None], dtype=pd.ArrowDtype(pa.int64()))}),
            "arrow_string": lambda: pd.DataFrame({"a": pd.array(["x", None], dtype=pd.ArrowDtype(pa.string()))}),
            "arrow_large_string": lambda: pd.DataFrame({"a": pd.array(["x"], dtype=pd.ArrowDtype(pa.large_string()))}),
            "arrow_list": lambda: pd.DataFrame({"a": pd.array([[1, 2], None], dtype=pd.ArrowDtype(pa.list_(pa.int64())))}),
            "arrow_struct": lambda: pd.DataFrame({"a": pd.array([{"x": 1}], dtype=pd.ArrowDtype(pa.struct([("x", pa.int64())])))}),
            "arrow_timestamp": lambda: pd.DataFrame({"a": pd.array([pd.Timestamp("2024-01-01", tz="UTC")], dtype=pd.ArrowDtype(pa.timestamp("ns", tz="UTC")))}),
            "arrow_dictionary": lambda: pd.DataFrame({"a": pd.array(["x", "y"], dtype=pd.ArrowDtype(pa.dictionary(pa.int32(), pa.string())))}),
            "arrow_bool": lambda: pd.DataFrame({"a": pd.array([True, None], dtype=pd.ArrowDtype(pa.bool_()))}),
            "arrow_decimal": lambda: pd.DataFrame({"a": pd.array([1], dtype=pd.ArrowDtype(pa.decimal128(5, 2)))}),
            "arrow_binary": lambda: pd.DataFrame({"a": pd.array([b"x"], dtype=pd.ArrowDtype(pa.binary()))}),
            "arrow_date32": lambda: pd.DataFrame({"a": pd.array([None], dtype=pd.ArrowDtype(pa.date32()))}),
            "arrow_duration": lambda: pd.DataFrame({"a": pd.array([None], dtype=pd.ArrowDtype(pa.duration("s")))}),
        })
    except ImportError:
        pass
    for n, f in frames.items():
        if dl.over():
            break
        save(fam, "frame_" + n, thunk(f))
        save(fam, "series_" + n, thunk(lambda f=f: f().iloc[:, 0]))
    save(fam, "frame_to_pickle_proto5", thunk(frames["str_default"]), "pickle5")
    indexes = {
        "RangeIndex": lambda: pd.RangeIndex(3),
        "Index_int": lambda: pd.Index([1, 2]),
        "Index_str": lambda: pd.Index(["a", "b"]),
        "MultiIndex": lambda: pd.MultiIndex.from_product([["a", "b"], [1, 2]]),
        "DatetimeIndex": lambda: pd.date_range("2024-01-01", periods=2, freq="h"),
        "PeriodIndex": lambda: pd.period_range("2024-01", periods=2, freq="M"),
        "TimedeltaIndex": lambda: pd.timedelta_range("1 day", periods=2),
        "IntervalIndex": lambda: pd.interval_range(0, 3),
        "CategoricalIndex": lambda: pd.CategoricalIndex(["a", "b"]),
    }
    for n, f in indexes.items():
        save(fam, "index_" + n, thunk(f))
    scalars = {
        "Timestamp": lambda: pd.Timestamp("2024-01-01 12:00"),
        "Timestamp_tz": lambda: pd.Timestamp("2024-01-01", tz="US/Eastern"),
        "Timedelta": lambda: pd.Timedelta("1h"),
        "Period": lambda: pd.Period("2024-01", freq="M"),
        "Interval": lambda: pd.Interval(0, 1),
        "NaT": lambda: pd.NaT,
        "NA": lambda: pd.NA,
        "Categorical": lambda: pd.Categorical(["a", "b"], ordered=True),
        "CategoricalDtype": lambda: pd.CategoricalDtype(["a", "b"]),
        "DatetimeTZDtype": lambda: pd.DatetimeTZDtype(tz="UTC"),
        "PeriodDtype": lambda: pd.PeriodDtype("M"),
        "IntervalDtype": lambda: pd.IntervalDtype("int64"),
        "SparseDtype": lambda: pd.SparseDtype("float64"),
        "StringDtype": lambda: pd.StringDtype(),
    }
    for n, f in scalars.items():
        save(fam, "scalar_" + n, thunk(f))
    for n, c in public_classes(pd.offsets):
        if dl.over():
            break
        obj = try_build(fam, "offset_" + n, lambda c=c: instantiate(c, [(), (1,), ("M",)]))
        if obj is not None:
            save(fam, "offset_" + n, obj)
    for n in ["Int8Dtype", "Int16Dtype", "Int32Dtype", "Int64Dtype", "UInt8Dtype", "UInt16Dtype", "UInt32Dtype",
              "UInt64Dtype", "Float32Dtype", "Float64Dtype", "BooleanDtype"]:
        if hasattr(pd, n):
            save(fam, "dtype_" + n, lazy(getattr(pd, n)))
    save(fam, "groupby_result", lazy(lambda: pd.DataFrame({"k": ["a", "b", "a"], "v": [1, 2, 3]}).groupby("k").sum()))
    save(fam, "pivot", lazy(lambda: pd.DataFrame({"k": ["a", "b"], "c": ["x", "y"], "v": [1, 2]}).pivot(index="k", columns="c", values="v")))


def _with_attrs(df):
    df.attrs["source"] = "census"
    return df


@family("pyarrow", 15)
def fam_pyarrow(fam):
    import pyarrow as pa
    objs = {
        "array_int": lambda: pa.array([1, 2, None]),
        "array_str": lambda: pa.array(["a", None]),
        "array_large_string": lambda: pa.array(["a"], type=pa.large_string()),
        "array_list": lambda: pa.array([[1], [2, 3]]),
        "array_struct": lambda: pa.array([{"a": 1}]),
        "array_dictionary": lambda: pa.array(["a", "b", "a"]).dictionary_encode(),
        "array_timestamp": lambda: pa.array([0], type=pa.timestamp("ms", tz="UTC")),
        "array_decimal": lambda: pa.array([1], type=pa.decimal128(5, 2)),
        "chunked": lambda: pa.chunked_array([[1, 2], [3]]),
        "table": lambda: pa.table({"a": [1, 2], "b": ["x", "y"]}),
        "record_batch": lambda: pa.record_batch([pa.array([1])], names=["a"]),
        "schema": lambda: pa.schema([("a", pa.int64()), ("b", pa.string())]),
        "field": lambda: pa.field("a", pa.float32()),
        "type_int": lambda: pa.int64(),
        "type_map": lambda: pa.map_(pa.string(), pa.int32()),
        "scalar": lambda: pa.scalar(3),
        "buffer": lambda: pa.py_buffer(b"abc"),
        "tensor": lambda: pa.Tensor.from_numpy(__import__("numpy").arange(4)),
    }
    for n, f in objs.items():
        save(fam, n, thunk(f))


@family("scipy", 45)
def fam_scipy(fam):
    import numpy as np
    import scipy
    import scipy.sparse as sp
    dl = Deadline(fam)
    dense = np.array([[1.0, 0.0], [0.0, 2.0]])
    for f in ["csr", "csc", "coo", "bsr", "dia", "dok", "lil"]:
        for kind in ["matrix", "array"]:
            c = getattr(sp, "%s_%s" % (f, kind), None)
            if c is not None:
                save(fam, "sparse_%s_%s" % (f, kind), lazy(c, dense))
    from scipy import stats
    try:
        from scipy.stats._distr_params import distcont, distdiscrete
    except ImportError:
        distcont, distdiscrete = [], []
    for name, shapes in list(distcont) + list(distdiscrete):
        if dl.over():
            break
        d = getattr(stats, name, None)
        if d is None:
            continue
        save(fam, "frozen_" + name, lazy(lambda d=d, shapes=shapes: d(*shapes)))
    save(fam, "multivariate_normal", lazy(stats.multivariate_normal, [0.0, 0.0]))
    save(fam, "gaussian_kde", lazy(stats.gaussian_kde, np.array([0.0, 1.0, 2.0, 4.0])))
    save(fam, "rv_histogram", lazy(lambda: stats.rv_histogram(np.histogram([1, 2, 2, 3]))))
    save(fam, "rv_discrete_custom", lazy(lambda: stats.rv_discrete(values=([0, 1], [0.3, 0.7]))))
    save(fam, "ttest_result", lazy(stats.ttest_ind, [1.0, 2.0, 3.0], [2.0, 3.0, 5.0]))
    from scipy import interpolate as ip
    x = np.linspace(0, 3, 6)
    y = x ** 2
    interps = {
        "interp1d": lambda: ip.interp1d(x, y),
        "CubicSpline": lambda: ip.CubicSpline(x, y),
        "PchipInterpolator": lambda: ip.PchipInterpolator(x, y),
        "Akima1DInterpolator": lambda: ip.Akima1DInterpolator(x, y),
        "make_interp_spline": lambda: ip.make_interp_spline(x, y),
        "UnivariateSpline": lambda: ip.UnivariateSpline(x, y),
        "InterpolatedUnivariateSpline": lambda: ip.InterpolatedUnivariateSpline(x, y),
        "RegularGridInterpolator": lambda: ip.RegularGridInterpolator((x,), y),
        "RBFInterpolator": lambda: ip.RBFInterpolator(x[:, None], y),
        "Rbf": lambda: ip.Rbf(x, y),
        "NearestNDInterpolator": lambda: ip.NearestNDInterpolator(np.c_[x, y], y),
        "LinearNDInterpolator": lambda: ip.LinearNDInterpolator(np.array([[0, 0], [1, 0], [0, 1], [1, 1.0]]), np.arange(4.0)),
        "CloughTocher2DInterpolator": lambda: ip.CloughTocher2DInterpolator(np.array([[0, 0], [1, 0], [0, 1], [1, 1.0]]), np.arange(4.0)),
        "BPoly": lambda: ip.BPoly([[1.0], [2.0]], [0, 1]),
        "PPoly": lambda: ip.PPoly([[1.0], [2.0]], [0, 1]),
        "BSpline": lambda: ip.BSpline(np.arange(7.0), np.ones(3), 3),
        "splrep_tuple": lambda: ip.splrep(x, y),
    }
    for n, f in interps.items():
        save(fam, "interpolate_" + n, thunk(f))
    from scipy import spatial
    pts = np.array([[0, 0], [1, 0], [0, 1], [1, 1], [0.5, 0.3]])
    spat = {
        "cKDTree": lambda: spatial.cKDTree(pts),
        "KDTree": lambda: spatial.KDTree(pts),
        "Delaunay": lambda: spatial.Delaunay(pts),
        "ConvexHull": lambda: spatial.ConvexHull(pts),
        "Voronoi": lambda: spatial.Voronoi(pts),
        "Rotation": lambda: spatial.transform.Rotation.from_euler("xyz", [10, 20, 30], degrees=True),
        "Slerp": lambda: spatial.transform.Slerp([0, 1], spatial.transform.Rotation.from_euler("x", [0, 90], degrees=True)),
    }
    for n, f in spat.items():
        save(fam, "spatial_" + n, thunk(f))
    from scipy import signal, optimize
    sig = {
        "lti": lambda: signal.lti([1], [1, 1]),
        "dlti": lambda: signal.dlti([1], [1, 0.5]),
        "TransferFunction": lambda: signal.TransferFunction([1], [1, 2]),
        "ZerosPolesGain": lambda: signal.ZerosPolesGain([], [-1], 1),
        "StateSpace": lambda: signal.StateSpace([[0]], [[1]], [[1]], [[0]]),
        "butter_sos": lambda: signal.butter(2, 0.3, output="sos"),
    }
    for n, f in sig.items():
        save(fam, "signal_" + n, thunk(f))
    save(fam, "optimize_result", lazy(optimize.minimize, lambda v: float((v ** 2).sum()), np.ones(2)))
    save(fam, "optimize_result_plain", lazy(lambda: optimize.OptimizeResult(x=np.ones(2), success=True)))
    save(fam, "linprog_result", lazy(optimize.linprog, [1, 1], A_ub=[[-1, -1]], b_ub=[-1]))


def _sk_data():
    import numpy as np
    rng = np.random.RandomState(0)
    X = rng.rand(30, 4)
    yc = np.array([0, 1, 2] * 10)
    yb = np.array([0, 1] * 15)
    yr = X @ np.array([1.0, 2.0, 0.5, -1.0]) + 0.1 * rng.rand(30)
    return X, yc, yb, yr


DOCS = ["the cat sat", "the dog ran", "a cat and a dog", "dogs and cats"] * 5


def _sk_fit(est):
    import numpy as np
    X, yc, yb, yr = _sk_data()
    from sklearn.base import is_classifier, is_regressor
    attempts = []
    if is_classifier(est):
        attempts += [(X, yc), (X, yb)]
    elif is_regressor(est):
        attempts += [(X, yr), (X, np.c_[yr, yr])]
    attempts += [(X,), (X, yc), (np.abs(X), yc), (X, yr), (X * 10 + 1,), (DOCS,), (DOCS, yb[:20]),
                 ([{"a": 1, "b": 2}, {"a": 3}],), (["a", "b", "a"],), ([["a", "b"], ["b"]],), (np.c_[yb, yb],),
                 (X[:, :2], yc), (X.astype(int) + np.arange(4),), (X, np.c_[yb, yb]), (X[:, 0], yr), (X[:4],), (X, yc[::-1])]
    last = None
    for a in attempts:
        try:
            est.fit(*a)
            return est
        except Exception as e:  # noqa: BLE001
            last = e
    raise last


def _sk_instances(cls):
    try:
        from sklearn.utils._test_common.instance_generator import _construct_instances
        got = list(_construct_instances(cls))
        if got:
            return got
    except Exception:  # noqa: BLE001
        pass
    try:
        from sklearn.utils.estimator_checks import _construct_instance
        return [_construct_instance(cls)]
    except Exception:  # noqa: BLE001
        pass
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.tree import DecisionTreeClassifier
    params = inspect.signature(cls).parameters
    kw = {}
    if "estimator" in params or "base_estimator" in params:
        key = "estimator" if "estimator" in params else "base_estimator"
        kw[key] = Ridge() if "Regress" in cls.__name__ else LogisticRegression()
    if "estimators" in params:
        kw["estimators"] = [("a", Ridge()), ("b", Ridge())] if "Regress" in cls.__name__ else [
            ("a", LogisticRegression()), ("b", DecisionTreeClassifier())]
    if "param_grid" in params:
        kw["param_grid"] = {"C": [1.0, 2.0]}
    if "param_distributions" in params:
        kw["param_distributions"] = {"C": [1.0, 2.0]}
    if "steps" in params:
        kw["steps"] = [("m", LogisticRegression())]
    if "transformers" in params:
        kw["transformers"] = [("p", "passthrough", [0, 1])]
    if "transformer_list" in params:
        from sklearn.decomposition import PCA
        kw["transformer_list"] = [("p", PCA(1))]
    return [cls(**kw)]


@family("sklearn", 120)
def fam_sklearn(fam):
    from sklearn.utils import all_estimators
    dl = Deadline(fam)
    for name, cls in all_estimators():
        if dl.over():
            row(fam, name, "", "-", "error", "family time budget spent")
            continue
        insts = try_build(fam, name, lambda cls=cls: _sk_instances(cls))
        if not insts:
            continue
        for i, est in enumerate(insts[:2]):
            label = name if i == 0 else "%s_%d" % (name, i)
            fitted = try_build(fam, label, lambda est=est: _sk_fit(est))
            if fitted is not None:
                save(fam, label, fitted, "joblib")
    # objects around estimators that users keep in the same file
    from sklearn import metrics
    save(fam, "scorer_accuracy", lazy(metrics.get_scorer, "accuracy"), "joblib")
    save(fam, "scorer_make_f1", lazy(metrics.make_scorer, metrics.f1_score, average="macro"), "joblib")
    save(fam, "scorer_neg_log_loss", lazy(metrics.get_scorer, "neg_log_loss"), "joblib")
    try:
        from sklearn.gaussian_process import kernels
        for n, c in public_classes(kernels, kernels.Kernel):
            k = try_build(fam, "kernel_" + n, lambda c=c: instantiate(c, [(), (kernels.RBF(), kernels.RBF()), (kernels.RBF(),), (kernels.RBF(), 2)]))
            if k is not None:
                save(fam, "kernel_" + n, k, "joblib")
    except ImportError:
        pass
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler
    from sklearn.linear_model import LogisticRegression
    import numpy as np
    X, yc, yb, yr = _sk_data()
    save(fam, "pipeline_function_transformer", lazy(lambda: make_pipeline(FunctionTransformer(np.log1p), StandardScaler(), LogisticRegression()).fit(X, yb)), "joblib")
    save(fam, "pipeline_pickle_proto4", lazy(lambda: make_pipeline(StandardScaler(), LogisticRegression()).fit(X, yb)), "pickle")
    from sklearn.neighbors import KNeighborsClassifier, BallTree, KDTree
    for metric in ["euclidean", "manhattan", "chebyshev", "minkowski", "haversine", "cosine"]:
        save(fam, "knn_" + metric, lazy(lambda metric=metric: KNeighborsClassifier(3, metric=metric, algorithm="brute" if metric == "cosine" else "auto").fit(X[:, :2] if metric == "haversine" else X, yb)), "joblib")
    save(fam, "BallTree", lazy(BallTree, X), "joblib")
    save(fam, "KDTree", lazy(KDTree, X), "joblib")


@family("joblib", 10)
def fam_joblib(fam):
    import joblib
    import numpy as np
    for comp in [0, ("zlib", 3), ("gzip", 3), ("bz2", 3), ("lzma", 3), ("xz", 3)]:
        buf = io.BytesIO()
        try:
            joblib.dump({"a": np.arange(10), "b": [np.zeros(3, dtype=np.float32)]}, buf, compress=comp)
        except Exception as e:  # noqa: BLE001
            row(fam, "compress_%s" % (comp,), "", "joblib", "error", str(e))
            continue
        rel = os.path.join(fam, "compress_%s.joblib" % (comp[0] if comp else "none"))
        os.makedirs(os.path.join(OUT, fam), exist_ok=True)
        with open(os.path.join(OUT, rel), "wb") as f:
            f.write(buf.getvalue())
        row(fam, "compress_%s" % (comp[0] if comp else "none"), rel, "joblib", "ok")


# ---------------------------------------------------------------- torch

def shrink(model):
    """Empties every parameter and buffer: the classes stay, the bytes go."""
    import torch
    with torch.no_grad():
        for mod in model.modules():
            for n, p in list(mod._parameters.items()):
                if p is not None:
                    try:
                        mod._parameters[n] = torch.nn.Parameter(p.detach().new_empty(0), requires_grad=p.requires_grad)
                    except Exception:  # noqa: BLE001
                        pass
            for n, b in list(mod._buffers.items()):
                if b is not None:
                    try:
                        mod._buffers[n] = b.new_empty(0)
                    except Exception:  # noqa: BLE001
                        pass
    return model


NN_TRIALS = [(), (4,), (4, 4), (4, 4, 3), (2, 4), (4, 2, 4), ((2, 2),), (1.0,), (4, 4, 4), ([4],), (0.5,), (2, 2, 2)]


@family("torch", 60)
def fam_torch(fam):
    import torch
    import torch.nn as nn
    torch.manual_seed(0)
    dl = Deadline(fam)
    for n, c in public_classes(nn, nn.Module):
        if dl.over():
            break
        if n in ("Module", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict", "Sequential", "Container"):
            continue
        trials = NN_TRIALS
        if n.startswith("Transformer") or n == "MultiheadAttention":
            trials = [dict(d_model=4, nhead=2, dim_feedforward=8), (4, 2), dict(d_model=4, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=8)]
            if n == "TransformerEncoder":
                trials = [lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, 8), 1)]
            if n == "TransformerDecoder":
                trials = [lambda: nn.TransformerDecoder(nn.TransformerDecoderLayer(4, 2, 8), 1)]
        if trials and callable(trials[0]) and not isinstance(trials[0], (tuple, dict)):
            m = try_build(fam, "nn_" + n, trials[0])
        else:
            m = try_build(fam, "nn_" + n, lambda c=c, t=trials: instantiate(c, t))
        if m is not None:
            save(fam, "nn_" + n, shrink(m), "torch")
    containers = {
        "Sequential": lambda: nn.Sequential(nn.Linear(2, 2), nn.ReLU()),
        "ModuleList": lambda: nn.ModuleList([nn.Linear(2, 2)]),
        "ModuleDict": lambda: nn.ModuleDict({"a": nn.Linear(2, 2)}),
        "ParameterList": lambda: nn.ParameterList([nn.Parameter(torch.zeros(1))]),
        "ParameterDict": lambda: nn.ParameterDict({"a": nn.Parameter(torch.zeros(1))}),
    }
    for n, f in containers.items():
        save(fam, "nn_" + n, thunk(f), "torch")
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    for n, c in public_classes(torch.optim, torch.optim.Optimizer):
        if n in ("Optimizer",):
            continue
        opt = try_build(fam, "optim_" + n, lambda c=c: instantiate(c, [(model.parameters(),), (model.parameters(), 0.01)]))
        if opt is None:
            continue
        try:
            loss = model(torch.ones(1, 4)).sum()
            loss.backward()
            if n == "LBFGS":
                opt.step(lambda: model(torch.ones(1, 4)).sum())
            else:
                opt.step()
        except Exception:  # noqa: BLE001
            pass
        save(fam, "optim_state_" + n, lazy(opt.state_dict), "torch")
        save(fam, "optim_object_" + n, opt, "torch")
    sched = torch.optim.lr_scheduler
    base_opt = torch.optim.SGD(model.parameters(), lr=0.1)
    trials = {
        "LambdaLR": None, "MultiplicativeLR": None, "SequentialLR": None, "ChainedScheduler": None,
    }
    for n, c in public_classes(sched):
        if not hasattr(c, "step") or n in ("LRScheduler", "_LRScheduler") or n in trials:
            continue
        s = try_build(fam, "sched_" + n, lambda c=c: instantiate(c, [
            (base_opt,), (base_opt, 10), (base_opt, [5, 8]), (base_opt, 0.9), (base_opt, 0.01, 0.1), (base_opt, 0.1, 10),
            dict(optimizer=base_opt, max_lr=0.1, total_steps=10)]))
        if s is not None:
            save(fam, "sched_state_" + n, lazy(s.state_dict), "torch")
            save(fam, "sched_object_" + n, s, "torch")
    # utilities around modules
    import torch.nn.utils.prune as prune
    for n in ["l1_unstructured", "random_unstructured", "ln_structured", "random_structured", "identity"]:
        def pruned(n=n):
            m = nn.Linear(4, 4)
            f = getattr(prune, n)
            if n == "identity":
                f(m, "weight")
            elif n == "ln_structured":
                f(m, "weight", amount=0.5, n=2, dim=0)
            elif n == "random_structured":
                f(m, "weight", amount=0.5, dim=0)
            else:
                f(m, "weight", amount=0.5)
            return m
        save(fam, "prune_" + n, thunk(pruned), "torch")
    from torch.nn.utils import parametrizations as P
    for n in ["orthogonal", "spectral_norm", "weight_norm"]:
        if hasattr(P, n):
            save(fam, "parametrization_" + n, lazy(lambda n=n: getattr(P, n)(nn.Linear(4, 4))), "torch")
    if hasattr(nn.utils, "weight_norm"):
        save(fam, "old_weight_norm", lazy(lambda: nn.utils.weight_norm(nn.Linear(4, 4))), "torch")
        save(fam, "old_spectral_norm", lazy(lambda: nn.utils.spectral_norm(nn.Linear(4, 4))), "torch")
    qd = getattr(torch, "ao", None)
    qd = qd.quantization if qd else torch.quantization
    save(fam, "quantized_dynamic", lazy(lambda: qd.quantize_dynamic(nn.Sequential(nn.Linear(4, 4), nn.LSTM(4, 4)), {nn.Linear, nn.LSTM}, dtype=torch.qint8)), "torch")
    save(fam, "quantized_dynamic_state", lazy(lambda: qd.quantize_dynamic(nn.Sequential(nn.Linear(4, 4)), {nn.Linear}, dtype=torch.qint8).state_dict()), "torch")
    save(fam, "quantized_dynamic_fp16", lazy(lambda: qd.quantize_dynamic(nn.Sequential(nn.Linear(4, 4)), {nn.Linear}, dtype=torch.float16)), "torch")

    def static_quant():
        m = nn.Sequential(qd.QuantStub(), nn.Conv2d(1, 1, 1), nn.ReLU(), qd.DeQuantStub())
        m.qconfig = qd.get_default_qconfig("fbgemm")
        qd.prepare(m, inplace=True)
        m(torch.rand(1, 1, 4, 4))
        return qd.convert(m)
    save(fam, "quantized_static", thunk(static_quant), "torch")
    save(fam, "quantized_static_state", lazy(lambda: static_quant().state_dict()), "torch")
    if hasattr(qd, "prepare_qat"):
        def qat():
            m = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
            m.train()
            m.qconfig = qd.get_default_qat_qconfig("fbgemm")
            return qd.prepare_qat(m)
        save(fam, "qat_prepared", thunk(qat), "torch")
    import torch.distributions as D
    dists = {
        "Normal": lambda: D.Normal(0.0, 1.0), "Categorical": lambda: D.Categorical(torch.tensor([0.5, 0.5])),
        "Bernoulli": lambda: D.Bernoulli(0.3), "MultivariateNormal": lambda: D.MultivariateNormal(torch.zeros(2), torch.eye(2)),
        "Beta": lambda: D.Beta(1.0, 2.0), "Dirichlet": lambda: D.Dirichlet(torch.ones(3)), "Uniform": lambda: D.Uniform(0.0, 1.0),
        "Independent": lambda: D.Independent(D.Normal(torch.zeros(2), torch.ones(2)), 1),
        "TransformedDistribution": lambda: D.TransformedDistribution(D.Normal(0.0, 1.0), [D.transforms.ExpTransform()]),
        "MixtureSameFamily": lambda: D.MixtureSameFamily(D.Categorical(torch.ones(2)), D.Normal(torch.zeros(2), torch.ones(2))),
    }
    for n, f in dists.items():
        save(fam, "dist_" + n, thunk(f), "torch")
    from torch.utils import data as tud
    save(fam, "TensorDataset", lazy(tud.TensorDataset, torch.zeros(2, 2), torch.zeros(2)), "torch")
    save(fam, "Subset", lazy(lambda: tud.Subset(tud.TensorDataset(torch.zeros(3, 1)), [0, 2])), "torch")
    save(fam, "ConcatDataset", lazy(lambda: tud.ConcatDataset([tud.TensorDataset(torch.zeros(2, 1))] * 2)), "torch")
    save(fam, "random_split", lazy(lambda: tud.random_split(tud.TensorDataset(torch.zeros(4, 1)), [2, 2], generator=torch.Generator().manual_seed(0))), "torch")
    save(fam, "rng_state", lazy(torch.get_rng_state), "torch")
    save(fam, "generator_state", lazy(lambda: torch.Generator().manual_seed(0).get_state()), "torch")
    save(fam, "generator_object", lazy(lambda: torch.Generator().manual_seed(0)), "torch")
    misc = {
        "Size": lambda: torch.Size([2, 3]), "device": lambda: torch.device("cpu"), "dtypes": lambda: [getattr(torch, d) for d in
            ["float32", "float16", "bfloat16", "int8", "uint8", "int64", "bool", "complex64", "float64", "int16", "int32"]],
        "finfo": lambda: torch.finfo(torch.float32), "iinfo": lambda: torch.iinfo(torch.int32),
        "layouts": lambda: [torch.strided, torch.sparse_coo, torch.sparse_csr],
        "memory_formats": lambda: [torch.channels_last, torch.contiguous_format, torch.preserve_format],
        "sparse_coo": lambda: torch.eye(3).to_sparse(), "sparse_csr": lambda: torch.eye(3).to_sparse_csr(),
        "sparse_csc": lambda: torch.eye(3).to_sparse_csc(), "sparse_bsr": lambda: torch.eye(4).to_sparse_bsr((2, 2)),
        "quantized_tensor": lambda: torch.quantize_per_tensor(torch.ones(2), 0.1, 0, torch.quint8),
        "quantized_per_channel": lambda: torch.quantize_per_channel(torch.ones(2, 2), torch.tensor([0.1, 0.2]), torch.tensor([0, 0]), 0, torch.qint8),
        "nested_tensor": lambda: torch.nested.nested_tensor([torch.zeros(2), torch.zeros(3)]),
        "nested_jagged": lambda: torch.nested.nested_tensor([torch.zeros(2, 4), torch.zeros(3, 4)], layout=torch.jagged),
        "complex_tensor": lambda: torch.zeros(2, dtype=torch.complex64),
        "float8": lambda: torch.zeros(2, dtype=torch.float8_e4m3fn),
        "uint16": lambda: torch.zeros(2, dtype=torch.uint16),
        "parameter": lambda: nn.Parameter(torch.zeros(2)),
        "buffer": lambda: nn.Buffer(torch.zeros(2)),
        "uninitialized_parameter": lambda: nn.parameter.UninitializedParameter(),
        "packed_sequence": lambda: nn.utils.rnn.pack_sequence([torch.ones(3), torch.ones(2)]),
        "torch_version": lambda: torch.__version__,
        "named_tuple_return": lambda: torch.max(torch.ones(2, 2), 0),
        "grad_scaler_state": lambda: torch.amp.GradScaler("cpu").state_dict(),
        "grad_scaler_object": lambda: torch.amp.GradScaler("cpu"),
        "swa_averaged_model": lambda: shrink(torch.optim.swa_utils.AveragedModel(nn.Linear(2, 2))),
        "swa_lr": lambda: torch.optim.swa_utils.SWALR(torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1), swa_lr=0.05),
        "ema_model": lambda: shrink(torch.optim.swa_utils.AveragedModel(nn.Linear(2, 2), multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(0.99))),
        "tensor_subclass_masked": lambda: torch.masked.masked_tensor(torch.ones(2), torch.tensor([True, False])),
    }
    for n, f in misc.items():
        save(fam, "misc_" + n, thunk(f), "torch")
    save(fam, "state_dict_proto_pickle", lazy(lambda: nn.Linear(2, 2).state_dict()), "pickle")


@family("torchvision", 90)
def fam_torchvision(fam):
    import torch
    import torchvision
    from torchvision import models
    dl = Deadline(fam)
    names = models.list_models() if hasattr(models, "list_models") else []
    small_first = sorted(names, key=lambda n: (("vit_h" in n) or ("regnet_y_128" in n), n))
    for n in small_first:
        if dl.over():
            row(fam, "model_" + n, "", "-", "error", "family time budget spent")
            continue
        m = try_build(fam, "model_" + n, lambda n=n: models.get_model(n, weights=None))
        if m is not None:
            save(fam, "model_" + n, shrink(m), "torch")
    from torchvision import transforms as T
    tr = []
    for n, c in public_classes(T):
        if n in ("Compose",):
            continue
        t = try_build(fam, "transform_" + n, lambda c=c: instantiate(c, [(), (4,), ((4, 4),), ([0.5], [0.5]), (0.5,), ([lambda x: x],), (10,), (0.1, 0.1)]))
        if t is not None and save(fam, "transform_" + n, t, "torch"):
            tr.append(t)
    save(fam, "transforms_Compose", lazy(lambda: T.Compose([T.Resize(8), T.CenterCrop(4), T.ToTensor(), T.Normalize([0.5], [0.5])])), "torch")
    try:
        from torchvision.transforms import v2
        for n, c in public_classes(v2):
            t = try_build(fam, "v2_" + n, lambda c=c: instantiate(c, [(), (4,), ((4, 4),), ([0.5], [0.5]), (0.5,), (10,), (0.1, 0.1), ([v2.Identity()],), (torch.float32,)]))
            if t is not None:
                save(fam, "v2_" + n, t, "torch")
        from torchvision import tv_tensors
        tvt = {
            "Image": lambda: tv_tensors.Image(torch.zeros(3, 2, 2)),
            "Mask": lambda: tv_tensors.Mask(torch.zeros(2, 2)),
            "BoundingBoxes": lambda: tv_tensors.BoundingBoxes([[0, 0, 1, 1]], format="XYXY", canvas_size=(2, 2)),
            "Video": lambda: tv_tensors.Video(torch.zeros(1, 3, 2, 2)),
        }
        for n, f in tvt.items():
            save(fam, "tv_tensor_" + n, thunk(f), "torch")
    except ImportError:
        pass
    from torchvision import ops
    for n, c in public_classes(ops, torch.nn.Module):
        m = try_build(fam, "ops_" + n, lambda c=c: instantiate(c, [(), (4,), (4, 4), ([4, 4], 4), ((2, 2), 1.0), (0.5,), (4, 4, 3)]))
        if m is not None:
            save(fam, "ops_" + n, shrink(m), "torch")


@family("torchaudio", 30)
def fam_torchaudio(fam):
    import torch
    import torchaudio
    from torchaudio import transforms as T
    for n, c in public_classes(T, torch.nn.Module):
        t = try_build(fam, "transform_" + n, lambda c=c: instantiate(c, [(), (16000,), (4,), (16000, 8000), (2,), (0.5,), (4, 4)]))
        if t is not None:
            save(fam, "transform_" + n, shrink(t), "torch")
    from torchaudio import models as M
    builders = {
        "wav2vec2_model": lambda: M.wav2vec2_model(extractor_mode="group_norm", extractor_conv_layer_config=[(4, 3, 2)], extractor_conv_bias=False,
                                                   encoder_embed_dim=8, encoder_projection_dropout=0.0, encoder_pos_conv_kernel=3, encoder_pos_conv_groups=1,
                                                   encoder_num_layers=1, encoder_num_heads=2, encoder_attention_dropout=0.0, encoder_ff_interm_features=8,
                                                   encoder_ff_interm_dropout=0.0, encoder_dropout=0.0, encoder_layer_norm_first=False, encoder_layer_drop=0.0, aux_num_out=4),
        "ConvTasNet": lambda: M.ConvTasNet(num_sources=2, enc_kernel_size=4, enc_num_feats=4, msk_kernel_size=3, msk_num_feats=4, msk_num_hidden_feats=4, msk_num_layers=1, msk_num_stacks=1),
        "DeepSpeech": lambda: M.DeepSpeech(4, n_hidden=8),
        "Wav2Letter": lambda: M.Wav2Letter(num_classes=4, num_features=4),
        "WaveRNN": lambda: M.WaveRNN([2, 2], 4, 8, 4, 4, 4, 4, 4, 4),
        "Conformer": lambda: M.Conformer(input_dim=4, num_heads=2, ffn_dim=8, num_layers=1, depthwise_conv_kernel_size=3),
        "Emformer": lambda: M.Emformer(4, 2, 8, 1, 2),
    }
    for n, f in builders.items():
        m = try_build(fam, "model_" + n, f)
        if m is not None:
            save(fam, "model_" + n, shrink(m), "torch")


@family("timm", 120)
def fam_timm(fam):
    import timm
    dl = Deadline(fam)
    mods = timm.list_modules() if hasattr(timm, "list_modules") else []
    for mod in mods:
        if dl.over():
            row(fam, "model_" + mod, "", "-", "error", "family time budget spent")
            continue
        names = timm.list_models(module=mod)
        if not names:
            continue
        pref = [n for n in names if n.startswith("test_")] or [n for n in names if any(k in n for k in ("tiny", "small", "nano", "pico", "atto", "femto", "mobile", "_s", "lite"))] or names
        n = sorted(pref, key=len)[0]
        m = try_build(fam, "model_" + n, lambda n=n: timm.create_model(n, pretrained=False))
        if m is not None:
            save(fam, "model_" + n, shrink(m), "torch")
    import torch
    m = torch.nn.Linear(2, 2)
    try:
        from timm.optim import create_optimizer_v2
        for o in ["adamw", "lamb", "lars", "adabelief", "sgdp", "adafactor", "lion", "madgrad", "nadamw", "adan", "rmsproptf", "novograd", "adopt", "laprop", "kron", "muon"]:
            opt = try_build(fam, "optim_" + o, lambda o=o: create_optimizer_v2(m, o, lr=0.01))
            if opt is not None:
                save(fam, "optim_object_" + o, opt, "torch")
                save(fam, "optim_state_" + o, lazy(opt.state_dict), "torch")
    except ImportError:
        pass
    try:
        from timm.scheduler import create_scheduler_v2
        for s in ["cosine", "tanh", "step", "multistep", "plateau", "poly"]:
            opt = torch.optim.SGD(m.parameters(), lr=0.1)
            sch = try_build(fam, "sched_" + s, lambda s=s, opt=opt: create_scheduler_v2(opt, s, num_epochs=5)[0])
            if sch is not None:
                save(fam, "sched_object_" + s, sch, "torch")
                save(fam, "sched_state_" + s, lazy(sch.state_dict), "torch")
    except ImportError:
        pass
    try:
        from timm.data import create_transform, resolve_data_config
        save(fam, "transform_train", lazy(create_transform, 32, is_training=True), "torch")
        save(fam, "transform_eval", lazy(create_transform, 32), "torch")
        save(fam, "data_config", lazy(resolve_data_config, {}, model=timm.create_model("resnet18", pretrained=False)), "torch")
    except Exception as e:  # noqa: BLE001
        row(fam, "transforms", "", "-", "error", str(e))
    try:
        from timm.utils import ModelEmaV3
        save(fam, "model_ema_v3", lazy(lambda: shrink(ModelEmaV3(torch.nn.Linear(2, 2)))), "torch")
    except ImportError:
        pass


@family("torch_geometric", 40)
def fam_pyg(fam):
    import torch
    import torch_geometric
    from torch_geometric.data import Data, HeteroData, Batch, TemporalData
    ei = torch.tensor([[0, 1], [1, 0]])
    save(fam, "Data", lazy(Data, x=torch.zeros(2, 3), edge_index=ei, y=torch.tensor([0, 1])), "torch")

    def hetero():
        h = HeteroData()
        h["paper"].x = torch.zeros(2, 3)
        h["author"].x = torch.zeros(1, 3)
        h["author", "writes", "paper"].edge_index = torch.tensor([[0, 0], [0, 1]])
        return h
    save(fam, "HeteroData", thunk(hetero), "torch")
    save(fam, "Batch", lazy(lambda: Batch.from_data_list([Data(x=torch.zeros(2, 3), edge_index=ei)] * 2)), "torch")
    save(fam, "TemporalData", lazy(TemporalData, src=torch.tensor([0]), dst=torch.tensor([1]), t=torch.tensor([0]), msg=torch.zeros(1, 2)), "torch")
    from torch_geometric import nn as gnn
    dl = Deadline(fam)
    for n, c in public_classes(gnn.conv, torch.nn.Module):
        if dl.over():
            break
        m = try_build(fam, "conv_" + n, lambda c=c: instantiate(c, [(4, 4), (4, 4, 2), (4,), ((4, 4), 4), (4, 4, 1), dict(in_channels=4, out_channels=4)]))
        if m is not None:
            save(fam, "conv_" + n, shrink(m), "torch")
    for n in ["GCN", "GAT", "GraphSAGE", "GIN", "PNA", "EdgeCNN", "MLP"]:
        c = getattr(gnn.models, n, None)
        if c is None:
            continue
        args = dict(in_channels=4, hidden_channels=8, num_layers=2, out_channels=2)
        if n == "PNA":
            args.update(aggregators=["mean"], scalers=["identity"], deg=torch.tensor([0, 2, 1]))
        if n == "MLP":
            args = dict(channel_list=[4, 8, 2])
        m = try_build(fam, "model_" + n, lambda c=c, a=args: c(**a))
        if m is not None:
            save(fam, "model_" + n, shrink(m), "torch")
    for n, c in public_classes(gnn.aggr, torch.nn.Module):
        if dl.over():
            break
        m = try_build(fam, "aggr_" + n, lambda c=c: instantiate(c, [(), (4,), (4, 4), (["mean", "max"],)]))
        if m is not None:
            save(fam, "aggr_" + n, shrink(m), "torch")
    import torch_geometric.transforms as T
    for n, c in public_classes(T):
        if dl.over():
            break
        t = try_build(fam, "transform_" + n, lambda c=c: instantiate(c, [(), (2,), (0.5,), ([T.NormalizeFeatures()],), ("x",)]))
        if t is not None:
            save(fam, "transform_" + n, t, "torch")


@family("torchmetrics", 25)
def fam_torchmetrics(fam):
    import torchmetrics
    dl = Deadline(fam)
    for n, c in public_classes(torchmetrics, torchmetrics.Metric):
        if dl.over():
            break
        m = try_build(fam, "metric_" + n, lambda c=c: instantiate(c, [dict(task="multiclass", num_classes=3), dict(task="binary"), (), dict(num_classes=3), dict(num_outputs=1)]))
        if m is not None:
            save(fam, "metric_" + n, m, "torch")
    save(fam, "MetricCollection", lazy(lambda: torchmetrics.MetricCollection([torchmetrics.Accuracy(task="binary"), torchmetrics.F1Score(task="binary")])), "torch")


TINY = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2, vocab_size=128,
            max_position_embeddings=64, n_embd=16, n_layer=1, n_head=2, n_positions=64, d_model=16, encoder_layers=1, decoder_layers=1,
            encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, num_layers=1, num_heads=2, d_ff=32,
            d_kv=8, image_size=32, patch_size=8, num_channels=3, dim=16, hidden_dim=32, n_heads=2, n_layers=1, head_dim=8, num_mel_bins=16,
            max_source_positions=32, max_target_positions=32, projection_dim=16, embed_dim=16, ffn_dim=32, num_decoder_layers=1)


@family("transformers", 240)
def fam_transformers(fam):
    import torch
    import transformers as tf
    dl = Deadline(fam)
    import tempfile
    tmp = tempfile.mkdtemp()
    args = try_build(fam, "TrainingArguments", lambda: tf.TrainingArguments(output_dir=tmp, report_to=[], use_cpu=True))
    if args is not None:
        save(fam, "TrainingArguments", args, "torch")
    sargs = try_build(fam, "Seq2SeqTrainingArguments", lambda: tf.Seq2SeqTrainingArguments(output_dir=tmp, report_to=[], use_cpu=True, predict_with_generate=True))
    if sargs is not None:
        save(fam, "Seq2SeqTrainingArguments", sargs, "torch")
    save(fam, "GenerationConfig", lazy(tf.GenerationConfig, max_new_tokens=4, do_sample=True, top_p=0.9), "torch")
    for n in ["TrainerState", "TrainerControl"]:
        if hasattr(tf, n):
            save(fam, n, lazy(getattr(tf, n)), "torch")
    for n in ["EarlyStoppingCallback", "PrinterCallback", "ProgressCallback", "DefaultFlowCallback"]:
        if hasattr(tf, n):
            save(fam, "callback_" + n, lazy(getattr(tf, n)), "torch")
    for n in ["BitsAndBytesConfig", "GPTQConfig", "AwqConfig", "QuantoConfig", "HqqConfig", "TorchAoConfig", "CompressedTensorsConfig", "FbgemmFp8Config"]:
        c = getattr(tf, n, None)
        if c is not None:
            obj = try_build(fam, "quant_" + n, lambda c=c: instantiate(c, [(), dict(bits=4), dict(bits=4, tokenizer=None)]))
            if obj is not None:
                save(fam, "quant_" + n, obj, "torch")
    save(fam, "BatchEncoding", lazy(lambda: tf.BatchEncoding({"input_ids": torch.tensor([[1, 2]]), "attention_mask": torch.tensor([[1, 1]])})), "torch")
    archs = ["LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM", "GemmaForCausalLM", "Gemma2ForCausalLM",
             "PhiForCausalLM", "Phi3ForCausalLM", "GPT2LMHeadModel", "GPTNeoXForCausalLM", "OPTForCausalLM", "FalconForCausalLM",
             "BertForSequenceClassification", "BertModel", "RobertaForMaskedLM", "DistilBertForSequenceClassification", "DebertaV2Model",
             "ElectraModel", "AlbertModel", "XLMRobertaModel", "ModernBertModel", "T5ForConditionalGeneration", "BartForConditionalGeneration",
             "MarianMTModel", "ViTForImageClassification", "CLIPModel", "WhisperForConditionalGeneration", "Wav2Vec2ForCTC",
             "MixtralForCausalLM", "Qwen2MoeForCausalLM", "BloomForCausalLM", "GPTJForCausalLM", "MPNetModel", "SwinModel", "ConvNextModel", "DetrForObjectDetection"]
    for a in archs:
        if dl.over():
            row(fam, "model_" + a, "", "-", "error", "family time budget spent")
            continue
        cls = getattr(tf, a, None)
        if cls is None:
            continue

        def build(cls=cls):
            cfg = cls.config_class()
            for k, v in TINY.items():
                if hasattr(cfg, k):
                    setattr(cfg, k, v)
            if hasattr(cfg, "text_config") and hasattr(cfg, "vision_config"):
                cfg = cls.config_class(text_config=dict((k, v) for k, v in TINY.items()), vision_config=dict((k, v) for k, v in TINY.items()))
            if hasattr(cfg, "num_local_experts"):
                cfg.num_local_experts, cfg.num_experts_per_tok = 2, 1
            if hasattr(cfg, "num_experts"):
                cfg.num_experts, cfg.num_experts_per_tok = 2, 1
            if a == "DetrForObjectDetection":
                cfg.use_pretrained_backbone = False
                cfg.use_timm_backbone = False
            return cls(cfg)
        m = try_build(fam, "model_" + a, build)
        if m is not None:
            save(fam, "model_" + a, shrink(m), "torch")
            save(fam, "config_" + a, m.config, "torch")
    try:
        from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES
        from transformers.models.auto.modeling_auto import MODEL_MAPPING_NAMES
    except ImportError:
        CONFIG_MAPPING_NAMES, MODEL_MAPPING_NAMES = {}, {}
    for mt, cname in sorted(CONFIG_MAPPING_NAMES.items()):
        if dl.over():
            break
        c = getattr(tf, cname, None)
        if c is not None:
            obj = try_build(fam, "config_all_" + mt, lambda c=c: c())
            if obj is not None:
                save(fam, "config_all_" + mt, obj, "torch")
    done = set(archs)
    for mt, mname in sorted(MODEL_MAPPING_NAMES.items()):
        if dl.over():
            row(fam, "model_all_" + mt, "", "-", "error", "family time budget spent")
            continue
        if isinstance(mname, (tuple, list)):
            mname = mname[0]
        cls = getattr(tf, mname, None)
        if cls is None or mname in done:
            continue
        done.add(mname)

        def build_any(cls=cls):
            cfg = cls.config_class()
            for k, v in TINY.items():
                if hasattr(cfg, k) and isinstance(getattr(cfg, k), int) and not isinstance(getattr(cfg, k), bool):
                    try:
                        setattr(cfg, k, v)
                    except Exception:  # noqa: BLE001
                        pass
            return cls(cfg)
        t0 = time.time()
        m = try_build(fam, "model_all_" + mt, build_any)
        if m is not None:
            save(fam, "model_all_" + mt, shrink(m), "torch")
        if time.time() - t0 > 20:
            row(fam, "model_all_" + mt, "", "-", "slow", "%.0fs" % (time.time() - t0))
    try:
        from tokenizers import Tokenizer, models as tm, pre_tokenizers
        tok = Tokenizer(tm.WordLevel({"[UNK]": 0, "a": 1, "b": 2}, unk_token="[UNK]"))
        tok.pre_tokenizer = pre_tokenizers.Whitespace()
        save(fam, "tokenizers_Tokenizer", tok, "pickle")
        fast = try_build(fam, "PreTrainedTokenizerFast", lambda: tf.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]"))
        if fast is not None:
            save(fam, "PreTrainedTokenizerFast", fast, "pickle")
    except ImportError:
        pass
    try:
        from transformers.trainer_utils import SchedulerType, IntervalStrategy, EvalPrediction, PredictionOutput, TrainOutput
        save(fam, "enums", [SchedulerType("cosine"), IntervalStrategy("epoch")], "torch")
        save(fam, "TrainOutput", TrainOutput(2, 0.5, {"train_runtime": 1.0}), "torch")
    except Exception as e:  # noqa: BLE001
        row(fam, "trainer_utils", "", "-", "error", str(e))


@family("peft", 30)
def fam_peft(fam):
    import peft
    import torch
    dl = Deadline(fam)
    for n, c in public_classes(peft, peft.config.PeftConfig if hasattr(peft, "config") else object):
        if dl.over():
            break
        if not n.endswith("Config"):
            continue
        cfg_ = try_build(fam, "config_" + n, lambda c=c: instantiate(c, [dict(task_type="CAUSAL_LM"), (), dict(target_modules=["q"]), dict(total_step=10)]))
        if cfg_ is not None:
            save(fam, "config_" + n, cfg_, "torch")
    import transformers as tf
    cfg = tf.LlamaConfig(**{k: v for k, v in TINY.items() if k in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "vocab_size", "max_position_embeddings")})
    base = tf.LlamaForCausalLM(cfg)
    for n, mk in [("ia3", lambda: peft.IA3Config(task_type="CAUSAL_LM", target_modules=["k_proj", "v_proj", "down_proj"], feedforward_modules=["down_proj"])),
                  ("loha", lambda: peft.LoHaConfig(r=2, target_modules=["q_proj"])), ("lokr", lambda: peft.LoKrConfig(r=2, target_modules=["q_proj"])),
                  ("prefix", lambda: peft.PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=2)),
                  ("prompt", lambda: peft.PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=2)),
                  ("adalora", lambda: peft.AdaLoraConfig(r=2, target_modules=["q_proj"], total_step=10))]:
        m2 = try_build(fam, "PeftModel_" + n, lambda mk=mk: peft.get_peft_model(tf.LlamaForCausalLM(cfg), mk()))
        if m2 is not None:
            save(fam, "PeftModel_" + n, shrink(m2), "torch")
    pm = try_build(fam, "PeftModel_lora", lambda: peft.get_peft_model(base, peft.LoraConfig(task_type="CAUSAL_LM", r=2, target_modules=["q_proj", "v_proj"])))
    if pm is not None:
        save(fam, "PeftModel_lora", shrink(pm), "torch")
        save(fam, "lora_state_dict", lazy(peft.get_peft_model_state_dict, pm), "torch")


@family("accelerate", 30)
def fam_accelerate(fam):
    import accelerate
    import torch
    from accelerate import Accelerator
    from accelerate import utils as au
    import tempfile
    d = tempfile.mkdtemp()
    acc = Accelerator(cpu=True)
    m = torch.nn.Linear(2, 2)
    opt = torch.optim.AdamW(m.parameters())
    sch = torch.optim.lr_scheduler.StepLR(opt, 2)
    m, opt, sch = acc.prepare(m, opt, sch)
    try:
        acc.save_state(d, safe_serialization=False)
    except Exception as e:  # noqa: BLE001
        row(fam, "save_state", "", "-", "error", str(e))
    for root, _, files in os.walk(d):
        for f in sorted(files):
            src = os.path.join(root, f)
            with open(src, "rb") as fh:
                data = fh.read()
            rel = os.path.join(fam, "state_" + safe(os.path.relpath(src, d)))
            os.makedirs(os.path.join(OUT, fam), exist_ok=True)
            with open(os.path.join(OUT, rel), "wb") as fh:
                fh.write(data)
            row(fam, "state_" + f, rel, "accelerate.save_state", "ok")
    for n in ["DataLoaderConfiguration", "ProjectConfiguration", "GradientAccumulationPlugin", "DistributedDataParallelKwargs",
              "GradScalerKwargs", "InitProcessGroupKwargs", "AutocastKwargs", "FullyShardedDataParallelPlugin", "DeepSpeedPlugin"]:
        c = getattr(au, n, None) or getattr(accelerate, n, None)
        if c is not None:
            obj = try_build(fam, "dataclass_" + n, lambda c=c: c())
            if obj is not None:
                save(fam, "dataclass_" + n, obj, "torch")


@family("lightning", 60)
def fam_lightning(fam):
    import torch
    import tempfile
    for pkg in ["lightning.pytorch", "pytorch_lightning"]:
        try:
            L = importlib.import_module(pkg)
        except ImportError:
            continue
        tag = pkg.split(".")[0]
        ckdir = tempfile.mkdtemp()

        class Tiny(L.LightningModule):
            def __init__(self, lr=0.01, hidden=4, name="tiny"):
                super().__init__()
                self.save_hyperparameters()
                self.layer = torch.nn.Linear(2, 1)

            def training_step(self, batch, i):
                x, y = batch
                loss = torch.nn.functional.mse_loss(self.layer(x), y)
                self.log("train_loss", loss)
                return loss

            def configure_optimizers(self):
                opt = torch.optim.Adam(self.parameters(), lr=self.hparams.lr)
                return {"optimizer": opt, "lr_scheduler": torch.optim.lr_scheduler.StepLR(opt, 1)}
        Tiny.__module__ = "census_models"
        cbs = [L.callbacks.ModelCheckpoint(dirpath=ckdir, save_last=True), L.callbacks.EarlyStopping(monitor="train_loss", patience=3),
               L.callbacks.LearningRateMonitor()]
        data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(4, 2), torch.zeros(4, 1)), batch_size=2)
        tr = L.Trainer(max_steps=2, accelerator="cpu", logger=L.loggers.CSVLogger(ckdir), callbacks=cbs, enable_progress_bar=False,
                       enable_model_summary=False, default_root_dir=ckdir)
        try:
            tr.fit(Tiny(), data)
            path = os.path.join(ckdir, tag + ".ckpt")
            tr.save_checkpoint(path)
            with open(path, "rb") as fh:
                blob = fh.read()
            rel = os.path.join(fam, tag + "_trainer.ckpt")
            os.makedirs(os.path.join(OUT, fam), exist_ok=True)
            with open(os.path.join(OUT, rel), "wb") as fh:
                fh.write(blob)
            row(fam, tag + "_trainer", rel, "Trainer.save_checkpoint", "ok")
        except Exception as e:  # noqa: BLE001
            row(fam, tag + "_trainer", "", "-", "error", "%s: %s" % (type(e).__name__, e))
        from lightning_utilities.core.apply_func import apply_to_collection  # noqa: F401  (presence check)
        try:
            AD = importlib.import_module(pkg + ".utilities.parsing").AttributeDict
            save(fam, tag + "_AttributeDict", AD(lr=0.1, name="x"), "torch")
        except Exception as e:  # noqa: BLE001
            row(fam, tag + "_AttributeDict", "", "-", "error", str(e))
        for c in cbs:
            save(fam, tag + "_callback_state_" + type(c).__name__, lazy(c.state_dict), "torch")
        for n, c in public_classes(L.callbacks, L.callbacks.Callback):
            cb = try_build(fam, tag + "_callback_" + n, lambda c=c: instantiate(c, [(), dict(monitor="train_loss"), (0.01,), (1,), ({0: 1},)]))
            if cb is not None:
                save(fam, tag + "_callback_" + n, cb, "torch")


@family("sentence_transformers", 20)
def fam_st(fam):
    import sentence_transformers as st
    from sentence_transformers import models
    try:
        emb = models.StaticEmbedding.from_distillation if False else None  # noqa: F841
    except Exception:  # noqa: BLE001
        pass
    from tokenizers import Tokenizer, models as tm, pre_tokenizers
    tok = Tokenizer(tm.WordLevel({"[UNK]": 0, "a": 1, "b": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    m = try_build(fam, "StaticEmbedding", lambda: st.SentenceTransformer(modules=[models.StaticEmbedding(tok, embedding_dim=4)], device="cpu"))
    if m is not None:
        save(fam, "SentenceTransformer_static", shrink(m), "torch")
    for n in ["Pooling", "Normalize", "Dense", "Dropout", "LayerNorm"]:
        c = getattr(models, n, None)
        if c is not None:
            mm = try_build(fam, "module_" + n, lambda c=c: instantiate(c, [(4,), (), (4, 4), (0.1,)]))
            if mm is not None:
                save(fam, "module_" + n, shrink(mm), "torch")


@family("xgboost", 20)
def fam_xgboost(fam):
    import xgboost as xgb
    X, yc, yb, yr = _sk_data()
    est = {
        "XGBClassifier": lambda: xgb.XGBClassifier(n_estimators=2, max_depth=2).fit(X, yb),
        "XGBRegressor": lambda: xgb.XGBRegressor(n_estimators=2, max_depth=2).fit(X, yr),
        "XGBRFClassifier": lambda: xgb.XGBRFClassifier(n_estimators=2, max_depth=2).fit(X, yb),
        "XGBRanker": lambda: xgb.XGBRanker(n_estimators=2, max_depth=2).fit(X, yr.argsort().argsort() % 3, qid=[0] * 15 + [1] * 15),
        "Booster": lambda: xgb.train({"max_depth": 2}, xgb.DMatrix(X, label=yr), 2),
    }
    for n, f in est.items():
        save(fam, n, thunk(f), "joblib")
        save(fam, n + "_pickle", thunk(f), "pickle")


@family("omegaconf", 10)
def fam_omegaconf(fam):
    from omegaconf import OmegaConf
    cfg = lambda: OmegaConf.create({"model": {"lr": 0.1, "layers": [4, 8], "name": "${oc.env:USER,x}"}, "seed": 0})
    save(fam, "DictConfig", thunk(cfg))
    save(fam, "ListConfig", lazy(lambda: OmegaConf.create([1, {"a": 2}])))
    save(fam, "DictConfig_torch", thunk(cfg), "torch")
    save(fam, "hparams_with_DictConfig", lazy(lambda: {"hyper_parameters": cfg(), "epoch": 1}), "torch")


@family("jax", 30)
def fam_jax(fam):
    import jax
    import jax.numpy as jnp
    import numpy as np
    save(fam, "array_f32", lazy(jnp.arange, 4.0))
    save(fam, "array_bf16", lazy(lambda: jnp.ones(2, dtype=jnp.bfloat16)))
    save(fam, "array_int8", lazy(lambda: jnp.ones(2, dtype=jnp.int8)))
    save(fam, "prng_key_raw", lazy(jax.random.PRNGKey, 0))
    save(fam, "prng_key_typed", lazy(jax.random.key, 0))
    save(fam, "pytree_params", lazy(lambda: {"w": jnp.zeros((2, 2)), "b": [jnp.zeros(2)]}))
    save(fam, "device_get_numpy", lazy(lambda: jax.device_get({"w": jnp.zeros(2)})))
    try:
        import ml_dtypes
        for n in ["bfloat16", "float8_e4m3fn", "float8_e5m2", "int4"]:
            if hasattr(ml_dtypes, n):
                save(fam, "ml_dtypes_" + n, lazy(lambda n=n: np.zeros(2, dtype=getattr(ml_dtypes, n))))
    except ImportError:
        pass
    try:
        import flax
        from flax.core import FrozenDict, freeze
        save(fam, "flax_FrozenDict", lazy(lambda: freeze({"params": {"w": jnp.zeros(2)}})))
        import flax.linen as nn

        class MLP(nn.Module):
            @nn.compact
            def __call__(self, x):
                return nn.Dense(2)(x)
        save(fam, "flax_linen_params", lazy(lambda: MLP().init(jax.random.PRNGKey(0), jnp.ones((1, 2)))))
        try:
            from flax import nnx
            save(fam, "flax_nnx_state", lazy(lambda: nnx.state(nnx.Linear(2, 2, rngs=nnx.Rngs(0)))))
            save(fam, "flax_nnx_module", lazy(lambda: nnx.Linear(2, 2, rngs=nnx.Rngs(0))))
        except Exception as e:  # noqa: BLE001
            row(fam, "flax_nnx", "", "-", "error", str(e))
    except ImportError:
        pass
    try:
        import optax
        params = {"w": jnp.zeros(2)}
        for n in ["adam", "adamw", "sgd", "lion", "adafactor", "lamb", "rmsprop"]:
            save(fam, "optax_state_" + n, lazy(lambda n=n: getattr(optax, n)(1e-3).init(params)))
        save(fam, "optax_chain_state", lazy(lambda: optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(1e-3)).init(params)))
    except ImportError:
        pass
    try:
        import equinox as eqx
        save(fam, "equinox_Linear", lazy(lambda: eqx.nn.Linear(2, 2, key=jax.random.PRNGKey(0))))
        save(fam, "equinox_MLP", lazy(lambda: eqx.nn.MLP(2, 2, 4, 1, key=jax.random.PRNGKey(0))))
    except ImportError:
        pass


@family("statsmodels", 20)
def fam_statsmodels(fam):
    import numpy as np
    import statsmodels.api as sm
    X, yc, yb, yr = _sk_data()
    Xc = sm.add_constant(X)
    mods = {
        "OLS": lambda: sm.OLS(yr, Xc).fit(),
        "WLS": lambda: sm.WLS(yr, Xc).fit(),
        "GLM": lambda: sm.GLM(yb, Xc, family=sm.families.Binomial()).fit(),
        "Logit": lambda: sm.Logit(yb, Xc).fit(disp=0),
        "RLM": lambda: sm.RLM(yr, Xc).fit(),
        "ARIMA": lambda: sm.tsa.ARIMA(np.sin(np.arange(30.0)), order=(1, 0, 0)).fit(),
        "ExponentialSmoothing": lambda: sm.tsa.ExponentialSmoothing(np.arange(1, 31.0)).fit(),
    }
    for n, f in mods.items():
        save(fam, "results_" + n, thunk(f))


@family("xarray", 10)
def fam_xarray(fam):
    import numpy as np
    import xarray as xr
    da = xr.DataArray(np.zeros((2, 3)), dims=("x", "y"), coords={"x": [1, 2]}, name="v")
    save(fam, "DataArray", da)
    save(fam, "Dataset", lazy(lambda: xr.Dataset({"v": da, "t": ("x", np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[ns]"))})))


@family("networkx", 10)
def fam_networkx(fam):
    import networkx as nx
    save(fam, "Graph", lazy(nx.karate_club_graph))
    save(fam, "DiGraph", lazy(lambda: nx.DiGraph([(0, 1), (1, 2)])))
    save(fam, "MultiGraph", lazy(lambda: nx.MultiGraph([(0, 1), (0, 1)])))


# The order families run in: the most common writers first, so that a short
# time budget still covers them.
PRIORITY = ["numpy", "pandas", "pyarrow", "scipy", "joblib", "sklearn", "torch", "transformers", "lightning", "accelerate",
            "peft", "omegaconf", "xgboost", "jax", "torch_geometric", "sentence_transformers", "torchvision", "timm", "torchaudio", "torchmetrics",
            "statsmodels", "xarray", "networkx"]


def versions():
    out = {"python": sys.version.split()[0]}
    for mod in ["numpy", "pandas", "pyarrow", "scipy", "sklearn", "joblib", "torch", "torchvision", "torchaudio", "timm",
                "torch_geometric", "torchmetrics", "transformers", "tokenizers", "peft", "accelerate", "lightning",
                "pytorch_lightning", "sentence_transformers", "jax", "flax", "optax", "equinox", "ml_dtypes", "statsmodels",
                "xarray", "networkx", "xgboost", "omegaconf"]:
        try:
            out[mod] = importlib.import_module(mod).__version__
        except Exception:  # noqa: BLE001
            pass
    return out


def main():
    global OUT, BUDGET
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--budget", type=float, default=600.0, help="seconds for the whole census")
    ap.add_argument("--only", default="", help="comma-separated families")
    a = ap.parse_args()
    OUT, BUDGET = a.out, a.budget
    os.makedirs(OUT, exist_ok=True)
    only = set(filter(None, a.only.split(",")))
    order = {n: i for i, n in enumerate(PRIORITY)}
    for name, f in sorted(FAMILIES, key=lambda nf: order.get(nf[0], len(order))):
        if only and name not in only:
            continue
        if elapsed() > BUDGET:
            row(name, "*", "", "-", "skipped", "census time budget spent")
            continue
        t0 = time.time()
        try:
            f(name)
        except ImportError as e:
            row(name, "*", "", "-", "absent", str(e))
        except Exception as e:  # noqa: BLE001
            row(name, "*", "", "-", "error", "%s: %s | %s" % (type(e).__name__, e, traceback.format_exc(limit=3)))
        ok = sum(1 for r in ROWS if r[0] == name and r[4] == "ok")
        print("%-22s %4d files  %5.1fs" % (name, ok, time.time() - t0), flush=True)
    with open(os.path.join(OUT, "manifest.tsv"), "w") as f:
        f.write("family\tname\tfile\twriter\tstatus\tdetail\n")
        for r in ROWS:
            f.write("\t".join(r) + "\n")
    with open(os.path.join(OUT, "versions.json"), "w") as f:
        json.dump(versions(), f, indent=1, sort_keys=True)
    print("total %d files, %d errors, %.0fs" % (sum(1 for r in ROWS if r[4] == "ok"), sum(1 for r in ROWS if r[4] != "ok"), elapsed()))


if __name__ == "__main__":
    main()
