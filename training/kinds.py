"""Train a small model of each kind export.py compiles, as MLflow model directories.

    python3 training/kinds.py --train build/train.csv --out build/kinds [--kind NAME ...]

Each kind is written to OUT/NAME as MLflow 2.17 writes a model directory
(MLmodel, the model file, conda.yaml, python_env.yaml, requirements.txt
pinning MLflow and the libraries the model imports, at this environment's
versions), with a fixed run id; the course's XGBoost layout (booster) is OUT/booster/artifacts/
models_mlflow plus OUT/booster/artifacts/preprocessor/preprocessor.b.
It prints each kind, its run id and the export.py command that exports it.
The kinds use different features so that every form a ride feeds is
covered. rf-big (500 trees of depth 20, the committed forest's parameters
otherwise) and rf-deep (500 trees of depth 20, sklearn's other defaults:
leaves of one ride), rf-sqrt (30 unpruned trees, max_features='sqrt',
bootstrap=False), et-deep (10 ExtraTrees of unlimited depth) and xgb-big
(500 XGBoost rounds of depth 10) are made only when asked for. hgb-gamma
needs scikit-learn 1.3+: before, it is skipped, saying so.
"""

import argparse
import hashlib
import os
import pickle
import shutil
import sys
import time

import numpy as np
import sklearn
import yaml
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import (ExtraTreesRegressor, GradientBoostingRegressor, HistGradientBoostingRegressor,
                              RandomForestRegressor)
from sklearn.feature_extraction import DictVectorizer
from sklearn.pipeline import make_pipeline
from sklearn.tree import DecisionTreeRegressor

import features
import tables

MLFLOW_VERSION = "2.17.0"
CREATED = "2023-05-01 12:00:00.000000"


def run_id(kind):
    """A fixed run id per kind: 32 hex digits."""
    return hashlib.sha256(("rideduration/kinds/" + kind).encode()).hexdigest()[:32]


def _python_version():
    return ".".join(map(str, sys.version_info[:3]))


def _pins(*names):
    """name==version of each installed package, as MLflow infers a model's requirements."""
    from importlib.metadata import PackageNotFoundError, version
    out = [f"mlflow=={MLFLOW_VERSION}"]
    for name in names:
        try:
            out.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            pass
    return out


def _env_files(d, requirements):
    with open(os.path.join(d, "conda.yaml"), "w") as f:
        yaml.safe_dump({"channels": ["conda-forge"], "dependencies": [
            f"python={_python_version()}", "pip", {"pip": requirements}], "name": "mlflow-env"}, f,
            default_flow_style=False)
    with open(os.path.join(d, "python_env.yaml"), "w") as f:
        yaml.safe_dump({"python": _python_version(), "build_dependencies": ["pip"],
                        "dependencies": ["-r requirements.txt"]}, f, default_flow_style=False)
    with open(os.path.join(d, "requirements.txt"), "w") as f:
        f.write("\n".join(requirements) + "\n")


def _mlmodel(d, kind, flavors):
    doc = {"artifact_path": "model" if not kind.startswith("booster") else "models_mlflow", "flavors": flavors,
           "mlflow_version": MLFLOW_VERSION, "model_uuid": hashlib.md5(kind.encode()).hexdigest(),
           "run_id": run_id(kind), "utc_time_created": CREATED}
    with open(os.path.join(d, "MLmodel"), "w") as f:
        yaml.safe_dump(doc, f, default_flow_style=False)


def final(model):
    """The regressor that makes a pipeline's prediction, inside its
    TransformedTargetRegressor if it has one (fitted)."""
    while True:
        if isinstance(model, TransformedTargetRegressor):
            model = model.regressor_
        elif hasattr(model, "steps"):
            model = model.steps[-1][1]
        else:
            return model


def save_sklearn(d, kind, model):
    """As mlflow.sklearn.log_model(model, serialization_format="pickle") writes it."""
    os.makedirs(d)
    with open(os.path.join(d, "model.pkl"), "wb") as f:
        pickle.dump(model, f)
    env = {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
    _mlmodel(d, kind, {
        "python_function": {"env": env, "loader_module": "mlflow.sklearn", "model_path": "model.pkl",
                            "predict_fn": "predict", "python_version": _python_version()},
        "sklearn": {"code": None, "pickled_model": "model.pkl", "serialization_format": "pickle",
                    "sklearn_version": sklearn.__version__},
    })
    names = ["cloudpickle", "numpy", "scikit-learn", "scipy"]
    if "xgboost" in type(final(model)).__module__:
        names.append("xgboost")
    _env_files(d, _pins(*names))


def save_xgboost(d, kind, booster):
    """As mlflow.xgboost.log_model(booster) writes it: model.xgb by save_model."""
    import xgboost as xgb
    os.makedirs(d)
    booster.save_model(os.path.join(d, "model.xgb"))
    env = {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
    _mlmodel(d, kind, {
        "python_function": {"data": "model.xgb", "env": env, "loader_module": "mlflow.xgboost",
                            "python_version": _python_version()},
        "xgboost": {"code": None, "data": "model.xgb", "model_class": "xgboost.core.Booster",
                    "model_format": "xgb", "xgb_version": xgb.__version__},
    })
    _env_files(d, _pins("numpy", "scipy", "xgboost"))


# ---- the kinds: (features, fit) ----

def _split(X, y, frac=0.1, seed=0):
    idx = np.random.default_rng(seed).permutation(len(X))
    n = int(len(X) * frac)
    va, tr = idx[:n], idx[n:]
    return [X[i] for i in tr], y[tr], [X[i] for i in va], y[va]


def fit_dt(X, y):
    return make_pipeline(DictVectorizer(), DecisionTreeRegressor(max_depth=12, min_samples_leaf=5, random_state=0)).fit(X, y)


def fit_rf(X, y):
    return make_pipeline(DictVectorizer(), RandomForestRegressor(
        n_estimators=20, max_depth=10, min_samples_leaf=5, random_state=0, n_jobs=-1)).fit(X, y)


def fit_rf_big(X, y):
    import train
    return make_pipeline(DictVectorizer(), RandomForestRegressor(
        **dict(train.PARAMS, n_estimators=500), n_jobs=-1)).fit(X, y)


def fit_rf_deep(X, y):
    """500 trees of depth 20 grown as far as sklearn's defaults let them (min_samples_leaf=1)."""
    return make_pipeline(DictVectorizer(), RandomForestRegressor(
        n_estimators=500, max_depth=20, random_state=0, n_jobs=-1)).fit(X, y)


def fit_rf_sqrt(X, y):
    """30 unpruned trees, each split over a square root of the features, every ride in every tree."""
    return make_pipeline(DictVectorizer(), RandomForestRegressor(
        n_estimators=30, max_features="sqrt", bootstrap=False, random_state=0, n_jobs=-1)).fit(X, y)


def fit_et_deep(X, y):
    """10 extremely randomized trees grown without a depth limit."""
    return make_pipeline(DictVectorizer(), ExtraTreesRegressor(
        n_estimators=10, max_depth=None, random_state=0, n_jobs=-1)).fit(X, y)


def fit_xgb_big(X, y):
    """500 rounds of depth 10, no early stopping."""
    import xgboost as xgb
    return make_pipeline(DictVectorizer(), xgb.XGBRegressor(
        n_estimators=500, max_depth=10, learning_rate=0.1, random_state=0, n_jobs=2)).fit(X, y)


def fit_et(X, y):
    return make_pipeline(DictVectorizer(), ExtraTreesRegressor(
        n_estimators=20, max_depth=12, min_samples_leaf=5, random_state=0, n_jobs=-1)).fit(X, y)


def fit_gb(X, y):
    return make_pipeline(DictVectorizer(), GradientBoostingRegressor(
        n_estimators=40, max_depth=4, learning_rate=0.2, subsample=0.8, random_state=0)).fit(X, y)


def fit_gb_huber(X, y):
    # Early stopping: estimators_ holds fewer than n_estimators stages.
    return make_pipeline(DictVectorizer(), GradientBoostingRegressor(
        loss="huber", n_estimators=200, max_depth=3, learning_rate=0.5, max_features=0.3, n_iter_no_change=2,
        tol=1e-2, validation_fraction=0.1, random_state=0)).fit(X, y)


def fit_gb_quantile(X, y):
    return make_pipeline(DictVectorizer(), GradientBoostingRegressor(
        loss="quantile", alpha=0.9, n_estimators=30, max_depth=3, learning_rate=0.15, random_state=0)).fit(X, y)


def fit_gb_absolute(X, y):
    return make_pipeline(DictVectorizer(), GradientBoostingRegressor(
        loss="absolute_error", init="zero", n_estimators=30, max_depth=3, learning_rate=0.5, subsample=0.9,
        random_state=0)).fit(X, y)


def fit_hgb(X, y):
    # Some distances missing (NaN) in training: the splits learn where NaN goes.
    X = [dict(x, trip_distance=float("nan")) if i % 20 == 0 else x for i, x in enumerate(X)]
    return make_pipeline(DictVectorizer(sparse=False), HistGradientBoostingRegressor(
        max_iter=60, learning_rate=0.2, max_leaf_nodes=31, random_state=0)).fit(X, y)


def fit_xgb(X, y):
    import xgboost as xgb
    dv = DictVectorizer()
    X_tr, y_tr, X_va, y_va = _split(X, y)
    A_tr = dv.fit_transform(X_tr)
    reg = xgb.XGBRegressor(n_estimators=200, max_depth=6, learning_rate=0.5, num_parallel_tree=2, subsample=0.8,
                           gamma=2.0, early_stopping_rounds=3, random_state=0, n_jobs=2)
    reg.fit(A_tr, y_tr, eval_set=[(dv.transform(X_va), y_va)], verbose=False)
    pipe = make_pipeline(dv, reg)
    return pipe


def _xgb_pipeline(X, y, **params):
    import xgboost as xgb
    return make_pipeline(DictVectorizer(), xgb.XGBRegressor(
        n_estimators=12, max_depth=4, learning_rate=0.3, random_state=0, n_jobs=2, **params)).fit(X, y)


# dart recomputes every kept tree's predictions each round: xgboost 3 takes
# minutes over the whole month, so the dart kinds fit its first DART_ROWS rides.
DART_ROWS = 4000


def fit_xgb_gamma(X, y):
    """dart (every tree with its weight, inplace_predict's sum) and the log link."""
    return _xgb_pipeline(X[:DART_ROWS], y[:DART_ROWS], booster="dart", rate_drop=0.3, objective="reg:gamma")


def fit_booster_poisson(X, y):
    """The course's layout, dart (predict on a DMatrix) and the log link."""
    import xgboost as xgb
    dv = DictVectorizer()
    params = {"booster": "dart", "rate_drop": 0.3, "objective": "count:poisson", "learning_rate": 0.3,
              "max_depth": 5, "seed": 42, "nthread": 2}
    return dv, xgb.train(params, dtrain=xgb.DMatrix(dv.fit_transform(X[:DART_ROWS]), label=y[:DART_ROWS]),
                         num_boost_round=12)


def fit_rf_poisson(X, y):
    return make_pipeline(DictVectorizer(), RandomForestRegressor(
        criterion="poisson", n_estimators=8, max_depth=8, min_samples_leaf=5, random_state=0, n_jobs=-1)).fit(X, y)


def fit_hgb_poisson(X, y):
    """The log link: numpy's exp of the trees' sum."""
    return make_pipeline(DictVectorizer(sparse=False), HistGradientBoostingRegressor(
        loss="poisson", max_iter=30, learning_rate=0.2, max_leaf_nodes=15, random_state=0)).fit(X, y)


def fit_hgb_gamma(X, y):
    """scikit-learn 1.3+."""
    return make_pipeline(DictVectorizer(sparse=False), HistGradientBoostingRegressor(
        loss="gamma", max_iter=30, learning_rate=0.2, max_leaf_nodes=15, random_state=0)).fit(X, y)


def has_hgb_gamma():
    """Whether this scikit-learn's HistGradientBoostingRegressor has loss='gamma' (1.3+)."""
    constraints = getattr(HistGradientBoostingRegressor, "_parameter_constraints", {}).get("loss", [])
    return any("gamma" in getattr(c, "options", ()) for c in constraints)


def fit_ttr_log(X, y):
    """A TransformedTargetRegressor fitting log-durations: numpy's exp of a forest's prediction."""
    return TransformedTargetRegressor(regressor=make_pipeline(DictVectorizer(), RandomForestRegressor(
        n_estimators=8, max_depth=8, min_samples_leaf=5, random_state=0, n_jobs=-1)), func=np.log,
        inverse_func=np.exp).fit(X, y)


def fit_ttr_log1p(X, y):
    """numpy's expm1 of a histogram gradient boosting's prediction."""
    return TransformedTargetRegressor(regressor=make_pipeline(DictVectorizer(sparse=False),
                                                              HistGradientBoostingRegressor(
        max_iter=30, learning_rate=0.2, max_leaf_nodes=15, random_state=0)), func=np.log1p,
        inverse_func=np.expm1).fit(X, y)


def fit_ttr_xgb(X, y):
    """The transformed target inside the pipeline: numpy's float32 exp of XGBoost's float32 prediction."""
    import xgboost as xgb
    return make_pipeline(DictVectorizer(), TransformedTargetRegressor(regressor=xgb.XGBRegressor(
        n_estimators=12, max_depth=4, learning_rate=0.3, random_state=0, n_jobs=2), func=np.log,
        inverse_func=np.exp)).fit(X, y)


def _objective(objective, **params):
    return lambda X, y: _xgb_pipeline(X, y, objective=objective, **params)


def fit_booster(X, y):
    """The course's: xgb.train on the DMatrix of a sparse DictVectorizer,
    early stopping on a validation set; the vectorizer saved separately."""
    import xgboost as xgb
    dv = DictVectorizer()
    X_tr, y_tr, X_va, y_va = _split(X, y)
    train = xgb.DMatrix(dv.fit_transform(X_tr), label=y_tr)
    valid = xgb.DMatrix(dv.transform(X_va), label=y_va)
    params = {"learning_rate": 0.3, "max_depth": 12, "min_child_weight": 1.06, "objective": "reg:squarederror",
              "reg_alpha": 0.018, "reg_lambda": 0.0117, "seed": 42, "nthread": 2}
    booster = xgb.train(params, dtrain=train, num_boost_round=200, evals=[(valid, "validation")],
                        early_stopping_rounds=3, verbose_eval=False)
    return dv, booster


S = features.Forms.parse
KINDS = {
    # name: (forms, fit, in the default set)
    "dt": (S("PU_DO,distance"), fit_dt, True),
    "rf": (S("PU_DO,PU:int,DO:str,distance"), fit_rf, True),
    "et": (S("PU:str,DO:str,distance"), fit_et, True),
    "gb": (S("PU:int,DO:int,distance"), fit_gb, True),
    "gb-huber": (S("PU_DO,distance"), fit_gb_huber, True),
    "gb-quantile": (S("PU:str,DO:int,distance"), fit_gb_quantile, True),
    "gb-absolute": (S("PU:int,DO:str,distance"), fit_gb_absolute, True),
    "hgb": (S("PU:int,DO:int,distance"), fit_hgb, True),
    "xgb": (S("PU_DO,distance"), fit_xgb, True),
    "booster": (S("PU:str,DO:str,distance"), fit_booster, True),
    "xgb-gamma": (S("PU:int,DO:str,distance"), fit_xgb_gamma, True),
    "booster-poisson": (S("PU_DO,distance"), fit_booster_poisson, True),
    "rf-poisson": (S("PU:str,DO:int,distance"), fit_rf_poisson, True),
    # numpy's exp or expm1 of the trees' sum (tabled: the exporter computes
    # each sum's value with the library's own function); hgb-gamma needs
    # scikit-learn 1.3+: it is skipped, saying so, before.
    "hgb-poisson": (S("PU:int,DO:int,distance"), fit_hgb_poisson, True),
    "hgb-gamma": (S("PU:int,DO:int,distance"), fit_hgb_gamma, True),
    "ttr-log": (S("PU_DO,distance"), fit_ttr_log, True),
    "ttr-log1p": (S("PU:int,DO:int,distance"), fit_ttr_log1p, True),
    "ttr-xgb": (S("PU:str,DO:str,distance"), fit_ttr_xgb, True),
    # XGBoost's other objectives (objective_test.go's TestObjectives exports
    # them: the generated code does not differ for them); xgb-quantile needs
    # xgboost 2+.
    "xgb-tweedie": (S("PU_DO,distance"), _objective("reg:tweedie"), False),
    "xgb-poisson": (S("PU_DO,distance"), _objective("count:poisson"), False),
    "xgb-gamma-gbtree": (S("PU_DO,distance"), _objective("reg:gamma"), False),
    "xgb-squaredlog": (S("PU_DO,distance"), _objective("reg:squaredlogerror"), False),
    "xgb-pseudohuber": (S("PU_DO,distance"), _objective("reg:pseudohubererror"), False),
    "xgb-absolute": (S("PU_DO,distance"), _objective("reg:absoluteerror"), False),
    "xgb-quantile": (S("PU_DO,distance"), _objective("reg:quantileerror", quantile_alpha=0.8), False),
    "xgb-dart": (S("PU_DO,distance"), lambda X, y: _xgb_pipeline(X[:DART_ROWS], y[:DART_ROWS], booster="dart",
                                                                 rate_drop=0.5), False),
    "rf-big": (S("PU_DO,distance"), fit_rf_big, False),
    "rf-deep": (S("PU_DO,distance"), fit_rf_deep, False),
    "rf-sqrt": (S("PU_DO,distance"), fit_rf_sqrt, False),
    "et-deep": (S("PU_DO,distance"), fit_et_deep, False),
    "xgb-big": (S("PU_DO,distance"), fit_xgb_big, False),
}


def model_dir(out, kind):
    if kind.startswith("booster"):
        return os.path.join(out, kind, "artifacts", "models_mlflow")
    return os.path.join(out, kind)


def preprocessor_path(out, kind):
    return os.path.join(out, kind, "artifacts", "preprocessor", "preprocessor.b") if kind.startswith("booster") \
        else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", required=True, help="prep table to train on (make prep: build/train.csv)")
    ap.add_argument("--out", required=True, help="directory for the kinds' MLflow model directories")
    ap.add_argument("--kind", action="append", choices=sorted(KINDS),
                    help="a kind to make (repeatable); default: all but the big ones")
    args = ap.parse_args()
    kinds = args.kind or [k for k, v in KINDS.items() if v[2]]

    rides, y, _ = tables.read_table(args.train)
    total = time.perf_counter()
    for kind in kinds:
        forms, fit, _ = KINDS[kind]
        if kind == "hgb-gamma" and not has_hgb_gamma():
            print(f"{kind:12s} skipped: scikit-learn {sklearn.__version__}'s HistGradientBoostingRegressor has no "
                  "loss='gamma' (1.3+)", flush=True)
            continue
        X = [forms.ride(*r) for r in rides]
        start = time.perf_counter()
        top = os.path.join(args.out, kind)
        if os.path.exists(top):
            shutil.rmtree(top)
        if kind.startswith("booster"):
            dv, booster = fit(X, y)
            save_xgboost(model_dir(args.out, kind), kind, booster)
            os.makedirs(os.path.dirname(preprocessor_path(args.out, kind)))
            with open(preprocessor_path(args.out, kind), "wb") as f:
                pickle.dump(dv, f)
            about = f"{booster.num_boosted_rounds()} rounds, best_iteration {getattr(booster, 'best_iteration', None)}"
        else:
            model = fit(X, y)
            save_sklearn(model_dir(args.out, kind), kind, model)
            est = final(model)
            about = type(est).__name__
            if "TransformedTargetRegressor" in repr(model):
                about += " in a TransformedTargetRegressor"
            if hasattr(est, "n_estimators_") and est.n_estimators_ != est.n_estimators:
                about += f", {est.n_estimators_} of {est.n_estimators} stages (early stopping)"
            if hasattr(est, "best_iteration"):
                about += (f", {est.get_booster().num_boosted_rounds()} rounds, best_iteration {est.best_iteration}"
                          f", num_parallel_tree {est.num_parallel_tree}")
        pre = preprocessor_path(args.out, kind)
        print(f"{kind:12s} run {run_id(kind)}  {time.perf_counter() - start:5.1f} s  {about}; features "
              f"{forms.describe()}\n  python3 training/export.py --model {model_dir(args.out, kind)}"
              + (f" --preprocessor {pre}" if pre else "") + f" --run-id {run_id(kind)} --valid build/valid.csv "
              f"--export build/kinds/{kind}.json.zst --golden build/kinds/{kind}.golden.csv.zst", flush=True)
    print(f"{len(kinds)} kinds in {time.perf_counter() - total:.1f} s")


if __name__ == "__main__":
    main()
