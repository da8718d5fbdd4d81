"""scikit-learn, joblib, xgboost and scipy fixtures."""

import pickle
import subprocess
import warnings

import joblib
import numpy as np
import pandas as pd
import scipy.sparse
import xgboost as xgb
from joblib.compressor import _COMPRESSORS
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification
from sklearn.decomposition import PCA
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC

from common import Reduce, out, record, system_payload

B = "benign/"
M = "malicious/"

# every compressor joblib.dump knows in this version, with the level used
COMPRESSORS = [("zlib", 3), ("gzip", 3), ("bz2", 3), ("lzma", 3), ("xz", 3), ("lz4", 3)]


def _data():
    X, y = make_classification(n_samples=40, n_features=4, n_informative=3, n_redundant=0, random_state=0)
    return X, y


def _frame():
    rng = np.random.RandomState(0)
    df = pd.DataFrame({
        "color": rng.choice(["red", "green", "blue"], size=40),
        "size": rng.rand(40) * 10,
        "weight": rng.randn(40),
    })
    y = (df["size"] > 5).astype(int).to_numpy()
    return df, y


def _models():
    X, y = _data()
    df, dy = _frame()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = {
            "logistic_regression": (LogisticRegression(random_state=0).fit(X, y), "LogisticRegression"),
            "random_forest": (RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0, n_jobs=1).fit(X, y),
                              "RandomForestClassifier(n_estimators=3, max_depth=3)"),
            "pipeline_scaler_pca_svc": (
                Pipeline([("scale", StandardScaler()), ("pca", PCA(n_components=2, random_state=0)), ("svc", SVC(random_state=0))]).fit(X, y),
                "Pipeline(StandardScaler, PCA, SVC)"),
            "column_transformer_onehot": (
                Pipeline([
                    ("prep", ColumnTransformer([
                        ("cat", OneHotEncoder(handle_unknown="ignore"), ["color"]),
                        ("num", StandardScaler(), ["size", "weight"]),
                    ])),
                    ("clf", LogisticRegression(random_state=0)),
                ]).fit(df, dy),
                "Pipeline(ColumnTransformer(OneHotEncoder, StandardScaler), LogisticRegression) fitted on a DataFrame"),
            "gradient_boosting": (GradientBoostingClassifier(n_estimators=3, max_depth=2, random_state=0).fit(X, y),
                                  "GradientBoostingClassifier(n_estimators=3) (holds a numpy RandomState)"),
            "kmeans": (KMeans(n_clusters=2, n_init=1, random_state=0).fit(X), "KMeans(n_clusters=2)"),
            "mlp": (MLPClassifier(hidden_layer_sizes=(4,), max_iter=30, random_state=0).fit(X, y), "MLPClassifier(hidden_layer_sizes=(4,))"),
        }
    return models


def _nested_pipeline():
    df, dy = _frame()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = Pipeline([
            ("prep", ColumnTransformer([
                ("cat", OneHotEncoder(handle_unknown="ignore"), ["color"]),
                ("num", Pipeline([("scale", StandardScaler()), ("pca", PCA(n_components=1, random_state=0))]), ["size", "weight"]),
            ])),
            ("clf", LogisticRegression(random_state=0)),
        ]).fit(df, dy)
    return pipe


def generate_sklearn():
    models = _models()
    for name, (est, desc) in models.items():
        for proto in (2, 4, 5):
            rel = f"{B}sklearn/{name}_p{proto}.pkl"
            with open(out(rel), "wb") as f:
                pickle.dump(est, f, protocol=proto)
            record(rel, "benign", f"scikit-learn {desc}, pickle protocol {proto}")
        rel = f"{B}sklearn/{name}.joblib"
        joblib.dump(est, out(rel))
        record(rel, "benign", f"scikit-learn {desc}, joblib.dump uncompressed (numpy arrays inline after NumpyArrayWrapper)")

    assert set(_COMPRESSORS) == {c for c, _ in COMPRESSORS}, sorted(_COMPRESSORS)
    rf = models["random_forest"][0]
    for comp, level in COMPRESSORS:
        rel = f"{B}joblib/random_forest_{comp}.joblib"
        joblib.dump(rf, out(rel), compress=(comp, level))
        record(rel, "benign", f"joblib.dump(RandomForestClassifier, compress=('{comp}', {level}))")
    arrays = {"w": np.arange(12, dtype=np.float32).reshape(3, 4), "ids": np.arange(5, dtype=np.int64), "names": ["a", "b"]}
    rel = f"{B}joblib/arrays_dict.joblib"
    joblib.dump(arrays, out(rel))
    record(rel, "benign", "joblib.dump of a dict of numpy arrays and a list, uncompressed")

    # --- malicious ---------------------------------------------------------
    pipe = _nested_pipeline()
    scale = pipe.named_steps["prep"].named_transformers_["num"].named_steps["scale"]
    scale.violet_hook = system_payload()
    rel = f"{M}sklearn/pipeline_nested_payload_p4.pkl"
    with open(out(rel), "wb") as f:
        pickle.dump(pipe, f, protocol=4)
    record(rel, "malicious",
           "scikit-learn Pipeline > ColumnTransformer > Pipeline > StandardScaler whose attribute reduces to a call, pickle protocol 4; payload posix.system")
    rel = f"{M}sklearn/pipeline_nested_payload.joblib"
    joblib.dump(pipe, out(rel))
    record(rel, "malicious", "same nested Pipeline payload, joblib.dump uncompressed; payload posix.system")

    lr = LogisticRegression(random_state=0).fit(*_data())
    lr.violet_hook = Reduce(subprocess.check_output, ["echo", "violet-fixture"])
    rel = f"{M}sklearn/logistic_regression_payload_p2.pkl"
    with open(out(rel), "wb") as f:
        pickle.dump(lr, f, protocol=2)
    record(rel, "malicious", "scikit-learn LogisticRegression with an attribute that reduces to a call, pickle protocol 2 (GLOBAL opcodes, fix_imports writes the Python 2 module name); payload commands.check_output (= subprocess.check_output)")

    lr2 = LogisticRegression(random_state=0).fit(*_data())
    lr2.violet_hook = system_payload()
    rel = f"{M}sklearn/logistic_regression_payload_p5.pkl"
    with open(out(rel), "wb") as f:
        pickle.dump(lr2, f, protocol=5)
    record(rel, "malicious", "scikit-learn LogisticRegression with an attribute that reduces to a call, pickle protocol 5 (STACK_GLOBAL, BYTEARRAY8); payload posix.system")

    rf_bad = RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0, n_jobs=1).fit(*_data())
    rf_bad.violet_hook = system_payload()
    for comp, level in COMPRESSORS:
        rel = f"{M}joblib/random_forest_payload_{comp}.joblib"
        joblib.dump(rf_bad, out(rel), compress=(comp, level))
        record(rel, "malicious", f"joblib.dump(compress=('{comp}', {level})) of a RandomForestClassifier with an attribute that reduces to a call; payload posix.system")
    rel = f"{M}joblib/arrays_dict_payload.joblib"
    joblib.dump({"w": np.arange(12, dtype=np.float32).reshape(3, 4), "hook": system_payload()}, out(rel))
    record(rel, "malicious", "joblib.dump uncompressed dict of a numpy array (raw bytes inline) and a payload after it; payload posix.system")


def generate_xgboost():
    X, y = _data()
    clf = xgb.XGBClassifier(n_estimators=3, max_depth=2, tree_method="exact", n_jobs=1, random_state=0)
    clf.fit(X, y)
    booster = clf.get_booster()

    rel = f"{B}xgboost/xgb_classifier_p4.pkl"
    with open(out(rel), "wb") as f:
        pickle.dump(clf, f, protocol=4)
    record(rel, "benign", "xgboost XGBClassifier (3 trees), pickle protocol 4 (booster as raw bytes in the state)")
    rel = f"{B}xgboost/xgb_classifier.joblib"
    joblib.dump(clf, out(rel))
    record(rel, "benign", "xgboost XGBClassifier (3 trees), joblib.dump uncompressed")
    rel = f"{B}xgboost/booster_p4.pkl"
    with open(out(rel), "wb") as f:
        pickle.dump(booster, f, protocol=4)
    record(rel, "benign", "xgboost Booster (3 trees), pickle protocol 4")
    rel = f"{B}xgboost/booster.json"
    booster.save_model(out(rel))
    record(rel, "benign", "xgboost Booster native JSON model (not a pickle)")
    rel = f"{B}xgboost/booster.ubj"
    booster.save_model(out(rel))
    record(rel, "benign", "xgboost Booster native UBJSON model (not a pickle)")

    clf.violet_hook = system_payload()
    rel = f"{M}xgboost/xgb_classifier_payload_p4.pkl"
    with open(out(rel), "wb") as f:
        pickle.dump(clf, f, protocol=4)
    record(rel, "malicious", "xgboost XGBClassifier with an attribute that reduces to a call, pickle protocol 4; payload posix.system")


def generate_scipy():
    m = scipy.sparse.csr_matrix(np.array([[0, 1.5, 0], [2.0, 0, 0], [0, 0, 3.0]]))
    rel = f"{B}scipy/csr_matrix_p4.pkl"
    with open(out(rel), "wb") as f:
        pickle.dump(m, f, protocol=4)
    record(rel, "benign", "scipy.sparse.csr_matrix, pickle protocol 4")
    rel = f"{B}scipy/coo_matrix_p2.pkl"
    with open(out(rel), "wb") as f:
        pickle.dump(m.tocoo(), f, protocol=2)
    record(rel, "benign", "scipy.sparse.coo_matrix, pickle protocol 2")

    bad = scipy.sparse.csr_matrix(np.eye(3))
    bad.violet_hook = system_payload()
    rel = f"{M}scipy/csr_matrix_payload_p4.pkl"
    with open(out(rel), "wb") as f:
        pickle.dump(bad, f, protocol=4)
    record(rel, "malicious", "scipy.sparse.csr_matrix with an attribute that reduces to a call, pickle protocol 4; payload posix.system")


def generate():
    generate_sklearn()
    generate_xgboost()
    generate_scipy()
