"""Export a fitted tree ensemble and its DictVectorizer for the Go generator.

The export is the one contract between Python and Go; its format,
"rideduration-forest/v2", is documented in export/doc.go (package export
reads it). In short: JSON, keys sorted, no whitespace (Go compresses it
with zstd for the repository: cmd/packmodel):

    {"format": "rideduration-forest/v2",
     "metadata": {...},
     "feature_names": [DictVectorizer.feature_names_],
     "sparse": DictVectorizer.sparse,
     "ensemble": {"input", "split", "absent", "sum", "base", "scale", "divisor", ["link"]},
     "trees": [{"children_left", "children_right", "feature", "threshold",
                "value", ["missing_left"], ["n_node_samples"]}, ...],
     ["link_table": {"function", "numpy", "cpu", "sums", "values"}]}

(link_table: a link numpy computes, "numpy.exp" or "numpy.expm1", at each
sum the generated table holds: export.py's second pass, link_table()).

Floats are written by Python's repr (shortest round-trip), so Go parses the
exact float64 values. The same fitted model always gives the same bytes.

Model.of recognises what can be exported (SUPPORTED) and refuses anything
else before anything is written; Model.body builds the export's content;
Model.predict is the library's own prediction, which the export must
reproduce bit for bit (reference.py checks it).
"""

import hashlib
import json
import math
from fractions import Fraction

import numpy as np
import sklearn
from sklearn.compose import TransformedTargetRegressor
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import (ExtraTreesRegressor, GradientBoostingRegressor, HistGradientBoostingRegressor,
                              RandomForestRegressor)
from sklearn.feature_extraction import DictVectorizer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.tree import DecisionTreeRegressor

import features
import reference

FORMAT = "rideduration-forest/v2"
MODEL_NAME = "ride_duration_prediction_model"

# XGBoost's regression objectives, each with the link its prediction applies
# to the float32 margin (regression_obj.cu's PredTransform): the identity,
# or expf (reg:linear is reg:squarederror's old name; reg:quantileerror,
# xgboost 2+, with one quantile).
XGB_OBJECTIVES = {
    "reg:squarederror": None, "reg:linear": None, "reg:squaredlogerror": None, "reg:pseudohubererror": None,
    "reg:absoluteerror": None, "reg:quantileerror": None,
    "reg:gamma": "exp", "count:poisson": "exp", "reg:tweedie": "exp",
}

SUPPORTED = (
    "this generator compiles a fitted Pipeline(DictVectorizer, R) as make_pipeline(DictVectorizer(), R) makes, "
    "logged with mlflow.sklearn or pickled, R one of: DecisionTreeRegressor, RandomForestRegressor, "
    "ExtraTreesRegressor, GradientBoostingRegressor (any loss; init None or 'zero'), "
    "HistGradientBoostingRegressor (DictVectorizer(sparse=False); loss squared_error, absolute_error, quantile, "
    "poisson or gamma; no categorical features), xgboost.XGBRegressor (booster gbtree or dart; objective "
    f"{', '.join(XGB_OBJECTIVES)}; no categorical splits); or an XGBoost Booster or XGBRegressor logged with mlflow.xgboost, with its DictVectorizer pickled "
    "separately (--preprocessor, PREPROCESSOR_URI); or a TransformedTargetRegressor(regressor=Pipeline(DictVectorizer, "
    "R)), or Pipeline(DictVectorizer, TransformedTargetRegressor(regressor=R)), with func=np.log, inverse_func=np.exp "
    "or func=np.log1p, inverse_func=np.expm1. Each regresses one output"
)

# The links numpy computes: the value of each sum the generated table holds
# is the library's own function's, computed by the exporter (export.py's
# second pass). A TransformedTargetRegressor's (func, inverse_func) pairs,
# each with the link it applies to the regressor's prediction.
NUMPY_LINKS = ("numpy.exp", "numpy.expm1")
TTR_PAIRS = {(np.log, np.exp): "numpy.exp", (np.log1p, np.expm1): "numpy.expm1"}
TTR_COMPILED = ("a TransformedTargetRegressor is compiled with func=np.log, inverse_func=np.exp or func=np.log1p, "
                "inverse_func=np.expm1 (numpy's own functions, no kw_args), around a regressor without a link of "
                "its own")


def _ufunc_name(f):
    return f"np.{f.__name__}" if isinstance(f, np.ufunc) and getattr(np, f.__name__, None) is f else repr(f)


class Unsupported(ValueError):
    """The model is not something this exporter compiles, and why."""


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def dumps(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def _describe(obj):
    steps = getattr(obj, "steps", None)
    if steps is None:
        return type(obj).__name__
    return f"{type(obj).__name__}({', '.join(type(s).__name__ for _, s in steps)})"


def _scalar_params(params):
    out = {}
    for k, v in sorted(params.items()):
        if k == "n_jobs":  # how it was fitted, not what it is
            continue
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not math.isfinite(v):
            continue
        if isinstance(v, (int, float, str, bool, type(None))):
            out[k] = v
    return out


# ---- float32 from XGBoost's shortest decimals ----

def float32_values(decimals):
    """The float64 values of the float32s nearest the decimal strings
    (round half to even), exactly.

    decimal → float64 → float32 rounds twice; that can differ from rounding
    once only when the float64 lands exactly on a midpoint between two
    float32s (the midpoint of two adjacent float32s is a float64). Those are
    found and decided on the decimal itself, with fractions.
    """
    d64 = np.array([float(s) for s in decimals], dtype=np.float64)
    with np.errstate(over="ignore"):
        f32 = d64.astype(np.float32)
    if not np.all(np.isfinite(f32)):
        i = int(np.argmin(np.isfinite(f32)))
        raise Unsupported(f"XGBoost model value {decimals[i]} is not a finite float32")
    up = np.where(d64 > f32.astype(np.float64), np.float32(np.inf), np.float32(-np.inf)).astype(np.float32)
    other = np.nextafter(f32, up)
    mid = (f32.astype(np.float64) + other.astype(np.float64)) / 2  # exact
    for i in np.flatnonzero((d64 != f32.astype(np.float64)) & (d64 == mid)):
        exact = Fraction(decimals[i])
        lo, hi = Fraction(float(f32[i])), Fraction(float(other[i]))
        if exact != Fraction(float(mid[i])):
            f32[i] = f32[i] if abs(exact - lo) < abs(exact - hi) else other[i]
    return f32.astype(np.float64)


def float32_value(decimal):
    return float(float32_values([decimal])[0])


# ---- trees ----

def _sklearn_tree(estimator):
    """A scikit-learn tree_'s arrays, as format v1 wrote them.

    A tree fitted on data with missing values (scikit-learn 1.3+) may split
    with threshold +inf: every value left, missing values by
    missing_go_to_left. A ride's distance is finite, so the export writes
    the largest float64, which sends every finite value left as +inf does;
    missing_go_to_left matters only for NaN, which rides never carry."""
    t = estimator.tree_
    if t.n_outputs != 1 or t.value.shape[2] != 1:
        raise Unsupported("only single-output regression trees can be exported")
    split = t.children_left != -1
    bad = np.flatnonzero(split & (np.isnan(t.threshold) | (t.threshold == -np.inf)))
    if bad.size:
        raise Unsupported(f"a scikit-learn tree splits at threshold {float(t.threshold[bad[0]])}")
    threshold = np.where(split & (t.threshold == np.inf), _INF_THRESHOLD, t.threshold).tolist()
    return {
        "children_left": t.children_left.tolist(),
        "children_right": t.children_right.tolist(),
        "feature": t.feature.tolist(),
        "threshold": threshold,
        "value": t.value[:, 0, 0].tolist(),
        "n_node_samples": t.n_node_samples.tolist(),
    }


def _preorder(left, right):
    """Node ids reachable from the root (0), in depth-first preorder."""
    order, stack = [], [0]
    while stack:
        n = stack.pop()
        order.append(n)
        if left[n] != -1:
            stack.append(right[n])
            stack.append(left[n])
    return order


def _renumbered(order, left, right):
    new = {old: i for i, old in enumerate(order)}
    cl = [new[left[o]] if left[o] != -1 else -1 for o in order]
    cr = [new[right[o]] if left[o] != -1 else -1 for o in order]
    return cl, cr


# HistGradientBoosting writes +inf as the threshold of a split that sends
# every non-missing value left (a "split on NaNs"). JSON has no infinity: the
# export writes the largest float64 instead, which sends every finite value
# left as +inf does (rides carry finite values only).
_INF_THRESHOLD = 1.7976931348623157e308


def _hgb_tree(predictor):
    nodes = predictor.nodes
    left = nodes["left"].tolist()
    right = nodes["right"].tolist()
    leaf = nodes["is_leaf"].tolist()
    left = [-1 if leaf[i] else left[i] for i in range(len(nodes))]
    order = _preorder(left, right)
    cl, cr = _renumbered(order, left, right)
    thr = []
    for o in order:
        if leaf[o]:
            thr.append(-2.0)
        else:
            x = float(nodes["num_threshold"][o])
            if math.isnan(x) or x == -math.inf:
                raise Unsupported(f"HistGradientBoosting threshold {x}")
            thr.append(_INF_THRESHOLD if x == math.inf else x)
    return {
        "children_left": cl,
        "children_right": cr,
        "feature": [-2 if leaf[o] else int(nodes["feature_idx"][o]) for o in order],
        "threshold": thr,
        "value": [float(nodes["value"][o]) for o in order],
        "missing_left": [0 if leaf[o] else int(nodes["missing_go_to_left"][o]) for o in order],
        "n_node_samples": [int(nodes["count"][o]) for o in order],
    }


def _xgb_tree(tree, i):
    if any(tree.get("split_type", [])) or tree.get("categories"):
        raise Unsupported(f"XGBoost tree {i} has categorical splits: export trees with numeric splits only")
    left, right = tree["left_children"], tree["right_children"]
    order = _preorder(left, right)
    cl, cr = _renumbered(order, left, right)
    conds = float32_values([tree["split_conditions"][o] for o in order])
    is_leaf = [left[o] == -1 for o in order]
    return {
        "children_left": cl,
        "children_right": cr,
        "feature": [-2 if is_leaf[j] else int(tree["split_indices"][o]) for j, o in enumerate(order)],
        "threshold": [-2.0 if is_leaf[j] else float(conds[j]) for j in range(len(order))],
        "value": [float(conds[j]) if is_leaf[j] else 0.0 for j in range(len(order))],
        "missing_left": [0 if is_leaf[j] else int(tree["default_left"][o]) for j, o in enumerate(order)],
    }


def _dart_term(leaf, w, base, inplace):
    """What a dart tree's leaf adds to the float32 margin, as gbtree.cc's
    Dart computes it in float32: predict on a DMatrix (PredictBatchImpl)
    adds (0 + leaf) * w; inplace_predict (InplacePredict), whose tree
    predictions start at the base margin, adds ((base + leaf) - base) * w."""
    f = np.float32
    start = f(base) if inplace else f(0)
    p = f(start + f(leaf))
    if inplace:
        p = f(p - f(base))
    return float(f(p * f(w)))


def _xgb_base_score(text):
    """The model file's base_score: a decimal (XGBoost 1 and 2), or a vector
    of one per output, "[1.2E1]" (XGBoost 3)."""
    t = text.strip()
    if t.startswith("[") and t.endswith("]"):
        parts = [p.strip() for p in t[1:-1].split(",") if p.strip()]
        if len(parts) != 1:
            raise Unsupported(f"the XGBoost model's base_score {text!r} has {len(parts)} values: want one output")
        t = parts[0]
    return t


def _xgb_config(booster):
    return json.loads(booster.save_config())


def _xgb_model_json(booster):
    # Floats as their decimal strings: float32_values converts them.
    return json.loads(bytes(booster.save_raw("json")), parse_float=str)


def _xgb_check(booster, what):
    cfg = _xgb_config(booster)["learner"]
    name = cfg["gradient_booster"]["name"]
    if name not in ("gbtree", "dart"):
        raise Unsupported(f"{what} has booster {name!r}: only 'gbtree' and 'dart' (trees) are exported, not "
                          "gblinear (a linear model)")
    objective = cfg["objective"]["name"]
    if objective not in XGB_OBJECTIVES:
        raise Unsupported(f"{what} has objective {objective!r}: only the regression objectives "
                          f"{', '.join(XGB_OBJECTIVES)} are exported")
    if objective == "reg:quantileerror":
        alpha = str(cfg["objective"].get("quantile_loss_param", {}).get("quantile_alpha", ""))
        if len([a for a in alpha.strip("[]").split(",") if a.strip()]) != 1:
            raise Unsupported(f"{what} has objective reg:quantileerror with quantile_alpha {alpha}: only one "
                              "quantile (one output) is exported")
    mp = cfg["learner_model_param"]
    if int(mp.get("num_class", "0")) > 1 or int(mp.get("num_target", "1")) != 1:
        raise Unsupported(f"{what} predicts more than one output")
    return cfg


def _xgb_params(cfg):
    """A Booster's parameters that its model file keeps (a loaded Booster's
    training parameters are not in it: save_config shows defaults)."""
    out = {"booster": cfg["gradient_booster"]["name"], "objective": cfg["objective"]["name"]}
    merged = dict(cfg["gradient_booster"].get("gbtree_model_param", {}))
    merged.update(cfg["learner_model_param"])
    for k, v in merged.items():
        for conv in (int, float):
            try:
                v = conv(v)
                break
            except (TypeError, ValueError):
                pass
        if isinstance(v, float) and not math.isfinite(v):
            continue
        out[k] = v
    return dict(sorted(out.items()))


# ---- the model ----

class Model:
    """A fitted model this exporter compiles: a DictVectorizer and a tree
    ensemble (a scikit-learn estimator, an XGBRegressor or a Booster)."""

    def __init__(self, dv, estimator, pipeline=None, ttr=None):
        self.dv = dv
        self.estimator = estimator
        self.pipeline = pipeline  # predict through it when the model is one
        self.ttr = ttr  # the TransformedTargetRegressor whose regressor estimator is, if any
        self.kind = None
        self.link = None  # a link numpy computes (NUMPY_LINKS), set by _check
        self._check()
        if ttr is not None:
            self._check_ttr()
        self.forms = _forms(dv)

    @classmethod
    def of(cls, obj, preprocessor=None):
        """Recognises obj (a pipeline, or a bare estimator with the
        preprocessor, its DictVectorizer); Unsupported says why not."""
        if preprocessor is not None:
            if type(preprocessor) is not DictVectorizer:
                raise Unsupported(f"the preprocessor is a {_describe(preprocessor)}, not a DictVectorizer: {SUPPORTED}")
            if isinstance(obj, Pipeline):
                raise Unsupported(f"the model is a {_describe(obj)}, which has its own steps, and a preprocessor "
                                  f"was given too: {SUPPORTED}")
            return cls(preprocessor, obj)
        if isinstance(obj, TransformedTargetRegressor):
            inner = _ttr_regressor(obj)
            if not isinstance(inner, Pipeline):
                raise Unsupported(f"the TransformedTargetRegressor's regressor is {_describe(inner)}, without the "
                                  "DictVectorizer that turns a ride into its columns: " + SUPPORTED)
            steps = [s for _, s in inner.steps]
            if len(steps) != 2 or type(steps[0]) is not DictVectorizer:
                raise Unsupported(f"unsupported estimator TransformedTargetRegressor({_describe(inner)}): {SUPPORTED}")
            return cls(steps[0], steps[1], obj, ttr=obj)
        if not isinstance(obj, Pipeline):
            if _is_booster(obj) or type(obj).__name__ in ("XGBRegressor",) or hasattr(obj, "predict"):
                raise Unsupported(f"{_describe(obj)} is a bare estimator, without the DictVectorizer that turns a "
                                  f"ride into its columns: {SUPPORTED}")
            raise Unsupported(f"{_describe(obj)} is not a model: {SUPPORTED}")
        steps = [s for _, s in obj.steps]
        if len(steps) != 2 or type(steps[0]) is not DictVectorizer:
            raise Unsupported(f"unsupported estimator {_describe(obj)}: {SUPPORTED}")
        if isinstance(steps[1], TransformedTargetRegressor):
            return cls(steps[0], _ttr_regressor(steps[1]), obj, ttr=steps[1])
        return cls(steps[0], steps[1], obj)

    def _check(self):
        est = self.estimator
        t = type(est)
        what = _describe(est)
        if not hasattr(self.dv, "feature_names_"):
            raise Unsupported("the DictVectorizer is not fitted")
        if t in (DecisionTreeRegressor, RandomForestRegressor, ExtraTreesRegressor, GradientBoostingRegressor,
                 HistGradientBoostingRegressor):
            fitted = "_predictors" if t is HistGradientBoostingRegressor else \
                "tree_" if t is DecisionTreeRegressor else "estimators_"
            if not hasattr(est, fitted):
                raise Unsupported(f"the {what} is not fitted")
            n_out = getattr(est, "n_outputs_", 1)
            if t is HistGradientBoostingRegressor:
                n_out = est.n_trees_per_iteration_
            if n_out != 1:
                raise Unsupported(f"the {what} predicts {n_out} outputs: want one (a single-output regression)")
            self.kind = t.__name__
            if t is GradientBoostingRegressor:
                self._check_gb()
            elif t is HistGradientBoostingRegressor:
                self._check_hgb()
            return
        if _is_xgb_regressor(est):
            if not hasattr(est, "_Booster"):
                raise Unsupported(f"the {what} is not fitted")
            if est.booster not in (None, "gbtree", "dart"):
                raise Unsupported(f"the {what} has booster {est.booster!r}: only 'gbtree' and 'dart' (trees) are "
                                  "exported, not gblinear (a linear model)")
            if callable(est.objective) or (est.objective is not None and est.objective not in XGB_OBJECTIVES):
                raise Unsupported(f"the {what} has objective {est.objective!r}: only the regression objectives "
                                  f"{', '.join(XGB_OBJECTIVES)} are exported")
            if not (isinstance(est.missing, float) and math.isnan(est.missing)):
                raise Unsupported(f"the {what} has missing={est.missing!r}: only the default, NaN, is exported "
                                  "(a value equal to missing would be missing, which the export cannot say)")
            if getattr(est, "enable_categorical", False):
                raise Unsupported(f"the {what} has enable_categorical: categorical splits are not exported")
            _xgb_check(est.get_booster(), f"the {what}")
            self.kind = "XGBRegressor"
            return
        if _is_booster(est):
            _xgb_check(est, "the Booster")
            self.kind = "Booster"
            return
        raise Unsupported(f"unsupported estimator {_describe(self.pipeline or est)}: {SUPPORTED}")

    def _check_gb(self):
        est = self.estimator
        init = est.init_
        if not (isinstance(init, str) and init == "zero") and type(init) is not DummyRegressor:
            raise Unsupported(f"the GradientBoostingRegressor's init is {_describe(init)}: only init=None (its loss's "
                              "DummyRegressor) or init='zero' is exported, whose prediction is a constant")
        if est.estimators_.shape[1] != 1:
            raise Unsupported("the GradientBoostingRegressor has more than one tree per stage")

    def _check_ttr(self):
        """A TransformedTargetRegressor's prediction is its transformer_'s
        inverse_transform of its regressor's: compiled when that is numpy's
        exp or expm1 (TTR_PAIRS) of a regressor's prediction that has no
        link of its own."""
        ttr, est = self.ttr, self.estimator
        own, how = self.link, f"loss {est.loss!r}" if self.kind == "HistGradientBoostingRegressor" else ""
        if self.kind == "XGBRegressor":
            objective = _xgb_config(est.get_booster())["learner"]["objective"]["name"]
            own, how = XGB_OBJECTIVES.get(objective), f"objective {objective}"
        if own:
            raise Unsupported(f"the TransformedTargetRegressor's regressor {_describe(est)} has a link of its own "
                              f"({how}, {self._link_words(own)}): its prediction is not a sum of trees, and a "
                              f"transformed target over a link is not compiled: {TTR_COMPILED}. Fit the regressor "
                              "with an identity link (loss squared_error, objective reg:squarederror) inside the "
                              "TransformedTargetRegressor, or the log link without one")
        if getattr(ttr, "_training_dim", 1) != 1:
            raise Unsupported("the TransformedTargetRegressor was fitted on a 2-d target: want one output (a "
                              "single-output regression)")
        tr = ttr.transformer_
        if type(tr) is not FunctionTransformer:
            raise Unsupported(f"the TransformedTargetRegressor's transformer is a {_describe(tr)}, whose "
                              f"inverse_transform is not a numpy function of the prediction: {TTR_COMPILED}")
        link = next((v for (a, b), v in TTR_PAIRS.items() if a is tr.func and b is tr.inverse_func), None)
        if link is None:
            func, inv = _ufunc_name(tr.func), _ufunc_name(tr.inverse_func)
            if any(tr.inverse_func is b for _, b in TTR_PAIRS) and any(tr.func is a for a, _ in TTR_PAIRS):
                raise Unsupported(f"the TransformedTargetRegressor has func={func}, inverse_func={inv}, which are "
                                  f"not each other's inverse (its check_inverse warns at fit): {TTR_COMPILED}")
            raise Unsupported(f"the TransformedTargetRegressor has func={func}, inverse_func={inv}: {TTR_COMPILED}")
        if tr.kw_args or tr.inv_kw_args:
            raise Unsupported(f"the TransformedTargetRegressor's functions take arguments (kw_args={tr.kw_args!r}, "
                              f"inv_kw_args={tr.inv_kw_args!r}): {TTR_COMPILED}")
        self.link = link

    @staticmethod
    def _link_words(link):
        return {"exp": "XGBoost's expf of the margin", "numpy.exp": "the log link: numpy's exp of the trees' sum"
                }.get(link, link)

    def link_values(self, sums):
        """The library's own link of the divided sums, sums a 1-d contiguous
        array of the sum's type, as its predict computes it: HistGradientBoosting's
        _loss.link.inverse(raw.ravel()); TransformedTargetRegressor's
        transformer_.inverse_transform(pred.reshape(-1, 1)), squeezed."""
        if self.ttr is not None:
            out = self.ttr.transformer_.inverse_transform(sums.reshape(-1, 1))
            if self.ttr._training_dim == 1 and out.ndim == 2 and out.shape[1] == 1:
                out = out.squeeze(axis=1)
            return out
        return self.estimator._loss.link.inverse(sums)

    def link_how(self):
        """Which of the library's functions link_values calls."""
        if self.ttr is not None:
            return "TransformedTargetRegressor.transformer_.inverse_transform"
        return "HistGradientBoostingRegressor._loss.link.inverse"

    def _check_hgb(self):
        est = self.estimator
        if self.dv.sparse:
            raise Unsupported("HistGradientBoostingRegressor takes dense rows: its DictVectorizer must be "
                              "DictVectorizer(sparse=False)")
        # What the fitted model does, not its constructor's argument (whose
        # default is None up to 1.3, 'warn' in 1.4 and 1.5, 'from_dtype' since
        # 1.6): is_categorical_ is None, or all False, when no column is
        # treated as a category.
        cat = getattr(est, "is_categorical_", None)
        if cat is not None and np.any(cat):
            names = [self.dv.feature_names_[i] for i in np.flatnonzero(cat)]
            raise Unsupported(f"the HistGradientBoostingRegressor treats {len(names)} column(s) as categorical "
                              f"({', '.join(names[:5])}{', …' if len(names) > 5 else ''}; categorical_features="
                              f"{est.categorical_features!r}): only models without categorical features are "
                              "exported")
        loss = est.loss if isinstance(est.loss, str) else type(est.loss).__name__
        if loss not in ("squared_error", "absolute_error", "quantile", "poisson", "gamma"):
            raise Unsupported(f"the HistGradientBoostingRegressor has loss {loss!r}: only squared_error, "
                              "absolute_error and quantile (the identity link), poisson and gamma (the log link: "
                              "numpy's exp of the trees' sum) are exported")
        # predict: self._loss.link.inverse(raw), the fitted loss's link.
        fitted = getattr(getattr(est, "_loss", None), "link", None)  # scikit-learn 1.1+
        link = type(fitted).__name__
        want = "LogLink" if loss in ("poisson", "gamma") else "IdentityLink"
        if link != want and not (fitted is None and want == "IdentityLink"):
            raise Unsupported(f"the HistGradientBoostingRegressor's loss {loss!r} has link {link}: want {want}")
        if link == "LogLink":
            self.link = "numpy.exp"
        for it in est._predictors:
            for p in it:
                if np.any(p.nodes["is_categorical"]):
                    raise Unsupported("the HistGradientBoostingRegressor has categorical splits")

    # -- what the library predicts --

    def prepare(self):
        """One thread for forests: their trees are summed in estimator order,
        the order the export says. (With threads the order may vary.)"""
        if self.kind in ("RandomForestRegressor", "ExtraTreesRegressor"):
            self.estimator.set_params(n_jobs=1)

    def predict(self, rows):
        """The library's own predictions for dict rows, as it returns them."""
        if self.kind == "Booster":
            import xgboost as xgb
            return self.estimator.predict(xgb.DMatrix(self.dv.transform(rows)))
        if self.pipeline is not None:
            return self.pipeline.predict(rows)
        return self.estimator.predict(self.dv.transform(rows))

    def ride(self, pu, do, distance):
        return self.forms.ride(pu, do, distance)

    # -- the export --

    @property
    def library(self):
        if self.kind in ("XGBRegressor", "Booster"):
            import xgboost as xgb
            return "xgboost", xgb.__version__
        return "scikit-learn", sklearn.__version__

    def params(self):
        if self.kind == "Booster":
            return _xgb_params(_xgb_config(self.estimator)["learner"])
        return _scalar_params(self.estimator.get_params(deep=False))

    def body(self):
        """The export's content: {"ensemble", "feature_names", "sparse", "trees"}."""
        ensemble, trees = getattr(self, "_body_" + self.kind)()
        if self.link is not None:
            ensemble["link"] = self.link
        return {"ensemble": ensemble, "feature_names": list(self.dv.feature_names_), "sparse": bool(self.dv.sparse),
                "trees": trees}

    @staticmethod
    def _sklearn_ensemble(base, scale, divisor):
        return {"input": "float32", "split": "<=", "absent": "zero", "sum": "float64",
                "base": base, "scale": scale, "divisor": divisor}

    def _body_DecisionTreeRegressor(self):
        # predict returns the leaf's value: -0.0 + v is v, bit for bit.
        return self._sklearn_ensemble(-0.0, 1.0, 1), [_sklearn_tree(self.estimator)]

    def _body_forest(self):
        est = self.estimator.estimators_
        # ForestRegressor.predict: zeros, += each tree's prediction, /= len(estimators_)
        return self._sklearn_ensemble(0.0, 1.0, len(est)), [_sklearn_tree(e) for e in est]

    _body_RandomForestRegressor = _body_forest
    _body_ExtraTreesRegressor = _body_forest

    def _body_GradientBoostingRegressor(self):
        est = self.estimator
        # _raw_predict: _raw_predict_init (zeros for 'zero', else the init's
        # prediction as float64), then predict_stages adds
        # learning_rate * leaf value (a double product) tree by tree.
        x0 = np.zeros((1, est.n_features_in_), dtype=np.float32)
        init = est._raw_predict_init(x0)
        base = float(init[0, 0])
        if est.init_ != "zero":
            x1 = np.ones((1, est.n_features_in_), dtype=np.float32)
            if float(est._raw_predict_init(x1)[0, 0]) != base:
                raise Unsupported("the GradientBoostingRegressor's init does not predict a constant")
        return (self._sklearn_ensemble(base, float(est.learning_rate), 1),
                [_sklearn_tree(e) for e in est.estimators_[:, 0]])

    def _body_HistGradientBoostingRegressor(self):
        est = self.estimator
        # _raw_predict: zeros (of _baseline_prediction's dtype), += baseline,
        # then += each predictor's output (leaf values include the shrinkage).
        raw = np.zeros((1, 1), dtype=est._baseline_prediction.dtype, order="F")
        raw += est._baseline_prediction
        if raw.dtype != np.float64:
            raise Unsupported(f"HistGradientBoosting raw predictions of dtype {raw.dtype}")
        trees = [_hgb_tree(p) for it in est._predictors for p in it]
        ens = {"input": "float64", "split": "<=", "absent": "zero", "sum": "float64",
               "base": float(raw[0, 0]), "scale": 1.0, "divisor": 1}
        return ens, trees

    def _xgb_body(self, booster, tree_end, inplace):
        """inplace: the library's predict is inplace_predict's (XGBRegressor),
        not predict's on a DMatrix (Booster); their dart sums differ."""
        doc = _xgb_model_json(booster)
        learner = doc["learner"]
        base = float32_value(_xgb_base_score(learner["learner_model_param"]["base_score"]))
        link = XGB_OBJECTIVES[learner["objective"]["name"]]
        if link == "exp":
            # The model keeps base_score as a prediction; the margin starts at
            # ProbToMargin(base_score): std::log of a float, the C library's logf.
            base = float(reference.libm_logf(np.float32(base)))
        gb = learner["gradient_booster"]
        dart = gb["name"] == "dart"
        model = gb["gbtree"]["model"] if dart else gb["model"]
        if any(g != 0 for g in model["tree_info"]):
            raise Unsupported("the XGBoost model has more than one output group")
        trees = model["trees"]
        n = len(trees) if tree_end == 0 else tree_end
        if n > len(trees) or n == 0:
            raise Unsupported(f"the XGBoost model predicts with {n} trees, but has {len(trees)}")
        out = [_xgb_tree(trees[i], i) for i in range(n)]
        if dart:
            weights = float32_values(gb["weight_drop"])
            if len(weights) < n:
                raise Unsupported(f"the dart model has {len(weights)} tree weights for {n} trees")
            for t, w in zip(out, weights):
                t["value"] = [float(v) if t["children_left"][j] != -1 else _dart_term(v, w, base, inplace)
                              for j, v in enumerate(t["value"])]
        ens = {"input": "float32", "split": "<", "absent": "missing" if self.dv.sparse else "zero",
               "sum": "float32", "base": base, "scale": 1.0, "divisor": 1}
        if link:
            ens["link"] = link
        return ens, out

    def _tree_end(self, booster, iteration_range):
        """Trees [0, tree_end) of an iteration range, as gbtree's LayerToTree
        counts them (0: all)."""
        begin, end = iteration_range
        if begin != 0:
            raise Unsupported(f"XGBoost iteration range {iteration_range}: only ranges from 0 are exported")
        gb = _xgb_config(booster)["learner"]["gradient_booster"]
        mp = (gb["gbtree"] if gb["name"] == "dart" else gb)["gbtree_model_param"]
        return end * int(mp["num_parallel_tree"])

    def _body_XGBRegressor(self):
        est = self.estimator
        # XGBRegressor.predict: iteration range (0, best_iteration + 1) when
        # the booster has a best_iteration, else all trees.
        rng = est._get_iteration_range(None)
        return self._xgb_body(est.get_booster(), self._tree_end(est.get_booster(), rng), inplace=True)

    def _body_Booster(self):
        # Booster.predict: iteration_range (0, 0), all trees.
        return self._xgb_body(self.estimator, 0, inplace=False)

    def describe(self):
        if self.ttr is not None:
            tr = self.ttr.transformer_
            inner = f"{_describe(self.ttr.regressor_)}, func={_ufunc_name(tr.func)}, " \
                    f"inverse_func={_ufunc_name(tr.inverse_func)}"
            what = f"TransformedTargetRegressor({inner})"
            if self.pipeline is not self.ttr:
                what = f"Pipeline(DictVectorizer, {what})"
            return f"{what} (link {self.link}: the library computes each table cell's value)"
        what = _describe(self.pipeline) if self.pipeline is not None else \
            f"{type(self.estimator).__name__} with DictVectorizer"
        if self.link is not None:
            what += f" (loss {self.estimator.loss!r}, link {self.link}: the library computes each table cell's value)"
        return what


def _ttr_regressor(ttr):
    if not hasattr(ttr, "regressor_") or not hasattr(ttr, "transformer_"):
        raise Unsupported("the TransformedTargetRegressor is not fitted")
    return ttr.regressor_


def _forms(dv):
    try:
        return features.Forms.of(dv.feature_names_)
    except features.FeatureError as e:
        raise Unsupported(str(e))


def _is_booster(obj):
    try:
        import xgboost as xgb
    except ImportError:
        return False
    return type(obj) is xgb.Booster


def _is_xgb_regressor(obj):
    try:
        import xgboost as xgb
    except ImportError:
        return False
    return type(obj) in (xgb.XGBRegressor, xgb.XGBRFRegressor)


def dumps_parts(obj):
    """Each value of the dict obj as dumps writes it, by key: a big export's
    trees are serialized once for its version and its document."""
    return {k: dumps(v) for k, v in obj.items()}


def assemble(parts):
    """The pieces of the JSON object of the serialized values parts (key →
    bytes), in order, as dumps writes the dict: keys sorted, no spaces."""
    yield b"{"
    for i, k in enumerate(sorted(parts)):
        yield (b"," if i else b"") + dumps(k) + b":"
        yield parts[k]
    yield b"}"


def version_of(body, parts=None):
    """The model version id: the first 32 hex digits of the sha256 of the
    export's content, {"ensemble", "feature_names", "sparse", "trees"}
    (parts: its values serialized, dumps_parts)."""
    if parts is None:
        return hashlib.sha256(dumps(body)).hexdigest()[:32]
    h = hashlib.sha256()
    for piece in assemble(parts):
        h.update(piece)
    return h.hexdigest()[:32]


def document(model, body, metadata, parts=None):
    """The export document (metadata keys as export/doc.go lists them)."""
    library, library_version = model.library
    meta = {
        "model_name": MODEL_NAME,
        "version": version_of(body, parts),
        "estimator": type(model.estimator).__name__,
        "library": library,
        "library_version": library_version,
        "sklearn_version": sklearn.__version__,
        "n_estimators": len(body["trees"]),
        "params": model.params(),
        **metadata,
    }
    return {"format": FORMAT, "metadata": meta, **body}


def write(doc, path, parts=None):
    """Writes the document as JSON; returns its size. parts: the body's
    values serialized (dumps_parts), written as they are."""
    pieces = [dumps(doc)] if parts is None else \
        assemble({**parts, **dumps_parts({k: v for k, v in doc.items() if k not in parts})})
    size = 0
    with open(path, "wb") as f:
        for piece in pieces:
            size += f.write(piece)
    return size


def rmse(y, pred):
    """The root mean squared error, as scikit-learn's
    mean_squared_error(squared=False) computes it: the mean of the squared
    errors over a column, averaged over the one output, its square root."""
    y = np.asarray(y, dtype=np.float64).reshape(-1, 1)
    pred = np.asarray(pred, dtype=np.float64).reshape(-1, 1)
    return float(np.sqrt(np.average(np.average((y - pred) ** 2, axis=0))))


# ---- check and write ----

def synthetic_rides(model, with_nan=False):
    """Rides that exercise every one-hot column the model has (each category
    hot, and ids the model never saw), at a few distances including 0."""
    pairs, pus, dos = set(), set(), set()
    for kind, a, b in features.columns(model.dv.feature_names_):
        if kind == features.HOT_PU_DO:
            pairs.add((a, b))
            pus.add(a)
            dos.add(b)
        elif kind == features.HOT_PU:
            pus.add(a)
        elif kind == features.HOT_DO:
            dos.add(a)
    pus, dos = sorted(pus) or [1, 130, 265], sorted(dos) or [1, 205, 265]
    pairs |= {(p, dos[i % len(dos)]) for i, p in enumerate(pus)}
    pairs |= {(pus[i % len(pus)], d) for i, d in enumerate(dos)}
    pairs |= {(999_999, 999_999), (pus[0], 999_999), (999_999, dos[0])}  # unseen ids
    rides = [(p, d, dist) for p, d in sorted(pairs) for dist in (0.0, 0.5, 3.66, 30.0)]
    if with_nan:
        rides += [(p, d, float("nan")) for p, d in sorted(pairs)[:200]]
    return rides


def export(model, path, metadata, valid=None, golden=None, body=None):
    """Checks the model's export against the library, then writes it.

    valid: (rides, targets, raw ids, table path) of the validation month.
    The library's predictions of the validation rides (and golden, if
    given, gets them), of the test ride and of synthetic rides must be
    reproduced bit for bit by reference.py's evaluation of the export; a
    mismatch raises reference.Mismatch and nothing is written. The export
    and the golden file are written aside and renamed: a failure leaves
    the old pair. Returns a dict of what it found.
    """
    import os
    import time

    import reference
    import tables

    start = time.perf_counter()
    if body is None:
        body = model.body()
    model.prepare()
    meta = dict(metadata)
    link = model.link_values if model.link is not None else None

    test = model.predict([model.ride(*tables.TEST_RIDE)])
    meta["test_ride_prediction"] = float(test[0])
    result = {"test_ride_prediction": meta["test_ride_prediction"]}
    pred = None
    if valid is not None:
        v_rides, y, ids, table = valid
        pred = model.predict([model.ride(*r) for r in v_rides])
        meta["rmse"] = result["rmse"] = rmse(y, pred)
        meta["valid_rows"] = len(v_rides)
        meta["valid_table_sha256"] = sha256_file(table)
        reference.check(body, v_rides, pred, "validation ride", link)
    reference.check(body, [tables.TEST_RIDE], test, "test ride", link)
    # Libraries with missing values also get rides without a distance
    # (NaN): rides never lack one, but missing_left is checked too.
    nan = model.kind in ("HistGradientBoostingRegressor", "XGBRegressor", "Booster")
    synth = synthetic_rides(model, with_nan=nan)
    if nan and valid is not None:
        synth += [(p, d, float("nan")) for p, d, _ in valid[0][:1000]]
    reference.check(body, synth, model.predict([model.ride(*r) for r in synth]), "synthetic ride", link)
    result["checked"] = (0 if valid is None else len(valid[0]), len(synth))

    parts = dumps_parts(body)
    doc = document(model, body, meta, parts)
    result["version"] = doc["metadata"]["version"]
    result["json_bytes"] = write(doc, path + ".tmp", parts)
    if golden:
        tables.write_golden(golden + ".tmp", valid[2], pred)
        os.replace(golden + ".tmp", golden)
    os.replace(path + ".tmp", path)
    result["nodes"] = sum(len(t["children_left"]) for t in body["trees"])
    result["trees"] = len(body["trees"])
    result["ensemble"] = body["ensemble"]
    result["seconds"] = time.perf_counter() - start
    return result


# ---- the link table: export.py's second pass ----

_TYPES = {"float32": np.float32, "float64": np.float64}


def numpy_cpu():
    """The CPU features numpy dispatches on (its baseline and its dispatch
    targets) that this CPU has, sorted."""
    try:
        from numpy._core import _multiarray_umath as m  # numpy 2
    except ImportError:
        from numpy.core import _multiarray_umath as m
    have = m.__cpu_features__
    return sorted(f for f in set(m.__cpu_baseline__) | set(m.__cpu_dispatch__) if have.get(f))


def _order(v):
    """lookup.Order64's order of float64s: -0 before +0."""
    return (v, math.copysign(1.0, v) > 0)


def read_sums(path, dtype):
    """The sums a link table is asked for (a JSON array of numbers, as Go
    writes float64s: "-0" is -0), strictly ascending, each a finite value of
    dtype."""
    try:
        with open(path) as f:
            sums = json.load(f, parse_int=float)
    except (OSError, ValueError) as e:
        raise Unsupported(f"cannot read the link's sums {path}: {e}")
    if not isinstance(sums, list) or not sums or not all(type(v) is float for v in sums):
        raise Unsupported(f"{path}: want a non-empty JSON array of numbers (the sums the table holds)")
    for i, v in enumerate(sums):
        if not math.isfinite(v):
            raise Unsupported(f"{path}: sum {i} is {v!r}: want finite numbers")
        if float(dtype(v)) != v:
            raise Unsupported(f"{path}: sum {i}, {v!r}, is not a {np.dtype(dtype).name}: the ensemble sums in "
                              f"{np.dtype(dtype).name}")
        if i and _order(sums[i - 1]) >= _order(v):
            raise Unsupported(f"{path}: sum {i}, {v!r}, after {sums[i - 1]!r}: want them strictly ascending")
    return sums


def _same_bits(a, b):
    u = np.uint64 if a.dtype == np.float64 else np.uint32
    return np.flatnonzero(a.view(u) != b.view(u))


def link_table(model, doc, sums_path):
    """The export document doc (the first pass's, of model) with its
    link_table: the library's own link of each sum read from sums_path, as
    its predict computes it (Model.link_values on a contiguous array of the
    sum's type), once the function is seen to give each element the same
    bits wherever it sits in the batch. Returns (doc, what was checked)."""
    if model.link not in NUMPY_LINKS:
        raise Unsupported(f"the model ({model.describe()}) has no link numpy computes: the second pass is for "
                          f"{' and '.join(NUMPY_LINKS)} only; the first pass's export is whole")
    ens = doc.get("ensemble") if isinstance(doc, dict) else None
    link = ens.get("link") if isinstance(ens, dict) else None
    if link != model.link:
        raise Unsupported(f"the export's ensemble has link {link!r}, this model's is {model.link!r}: give the "
                          "first pass's export of this model")
    body = model.body()
    version = doc.get("metadata", {}).get("version")
    if version != version_of(body):
        raise Unsupported(f"the export is of model version {version}, this model is {version_of(body)}: give the "
                          "first pass's export of this model")
    dtype = _TYPES[body["ensemble"]["sum"]]
    sums = read_sums(sums_path, dtype)
    arr = np.array(sums, dtype=dtype)
    values = np.asarray(model.link_values(arr))
    if values.shape != arr.shape or values.dtype != arr.dtype:
        raise Unsupported(f"the library's link gives {values.dtype} {values.shape} of {arr.dtype} {arr.shape}")
    fn = model.link.split(".")[1]
    cpu = numpy_cpu()
    singles = sorted(set(np.linspace(0, len(arr) - 1, min(len(arr), 64)).astype(int).tolist()))
    elsewhere = {
        "the batch reversed": np.asarray(model.link_values(np.ascontiguousarray(arr[::-1])))[::-1],
        "the batch offset by one": np.asarray(model.link_values(np.concatenate([arr[:1], arr])))[1:],
    }

    def position_dependent(i, got, where):
        return Unsupported(
            f"numpy {np.__version__}'s {fn} on this CPU ({', '.join(cpu)}) gives the sum {sums[i]!r} the value "
            f"{float(values[i])!r} in the batch of the table's {len(sums)} sums and {float(got)!r} {where}: the "
            "kernel's result depends on the element's position in the batch, so no table can hold the library's "
            f"prediction: export the model on a machine whose numpy {fn} does not")

    for name, got in elsewhere.items():
        bad = _same_bits(values, got)
        if bad.size:
            i = int(bad[0])
            raise position_dependent(i, got[i], f"in {name} ({bad.size} sums differ)")
    for i in singles:
        one = np.asarray(model.link_values(arr[i:i + 1].copy()))
        if _same_bits(values[i:i + 1], one).size:
            raise position_dependent(i, one[0], "alone")
    out = [float(v) for v in values]
    for s_, v in zip(sums, out):
        if not math.isfinite(v):
            raise Unsupported(f"the library's prediction for the sum {s_!r} is {v!r}, not a finite number: the "
                              "model's trees can sum to a value whose link overflows")
    doc = dict(doc)
    doc["link_table"] = {"function": model.link, "numpy": np.__version__, "cpu": cpu, "sums": sums, "values": out}
    return doc, {"function": fn, "cpu": cpu, "n": len(sums), "singles": len(singles)}

