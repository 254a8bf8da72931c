"""Export a fitted DictVectorizer + RandomForestRegressor pipeline.

The export is the one contract between Python and Go; its format is
documented in export/doc.go (package export reads it). In short: zstd-compressed
JSON, keys sorted, no whitespace:

    {"format": "rideduration-forest/v1",
     "metadata": {...},
     "feature_names": [DictVectorizer.feature_names_],
     "trees": [{"children_left": [...], "children_right": [...],
                "feature": [...], "threshold": [...], "value": [...],
                "n_node_samples": [...]}, ...]}

Floats are written by Python's repr (shortest round-trip), so Go parses the
exact float64 values. The same fitted model always gives the same bytes.
"""

import hashlib
import json

import sklearn
import zstandard
from sklearn.ensemble import RandomForestRegressor
from sklearn.feature_extraction import DictVectorizer

FORMAT = "rideduration-forest/v1"
MODEL_NAME = "ride_duration_prediction_model"
ZSTD_LEVEL = 19


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _tree(estimator):
    t = estimator.tree_
    if t.n_outputs != 1 or t.value.shape[2] != 1:
        raise ValueError("only single-output regression trees can be exported")
    return {
        "children_left": t.children_left.tolist(),
        "children_right": t.children_right.tolist(),
        "feature": t.feature.tolist(),
        "threshold": t.threshold.tolist(),
        "value": t.value[:, 0, 0].tolist(),
        "n_node_samples": t.n_node_samples.tolist(),
    }


def _dumps(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def forest_parts(pipeline):
    """Returns (DictVectorizer, RandomForestRegressor) of a fitted pipeline."""
    steps = [s for _, s in getattr(pipeline, "steps", [])]
    if len(steps) != 2 or not isinstance(steps[0], DictVectorizer) or not isinstance(steps[1], RandomForestRegressor):
        raise ValueError("this generator compiles a fitted Pipeline(DictVectorizer, RandomForestRegressor), "
                         "as make_pipeline(DictVectorizer(), RandomForestRegressor()) makes")
    if not hasattr(steps[1], "estimators_"):
        raise ValueError("the RandomForestRegressor is not fitted")
    if steps[1].n_outputs_ != 1:
        raise ValueError(f"the forest predicts {steps[1].n_outputs_} outputs: want one (a single-output regression)")
    return steps[0], steps[1]


def export(pipeline, path, metadata):
    """Writes the export of a fitted pipeline to path; returns the model version id.

    The version id is derived from the model content (features and trees), so
    retraining on the same data with the same sklearn gives the same id.
    """
    dv, rf = forest_parts(pipeline)
    body = {"feature_names": list(dv.feature_names_), "trees": [_tree(e) for e in rf.estimators_]}
    version = hashlib.sha256(_dumps(body)).hexdigest()[:32]
    params = rf.get_params()
    params.pop("n_jobs", None)  # how it was fitted, not what it is
    meta = {
        "model_name": MODEL_NAME,
        "version": version,
        "sklearn_version": sklearn.__version__,
        "n_estimators": len(rf.estimators_),
        "params": {k: v for k, v in sorted(params.items()) if isinstance(v, (int, float, str, bool, type(None)))},
        **metadata,
    }
    doc = {"format": FORMAT, "metadata": meta, **body}
    data = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(_dumps(doc))
    with open(path, "wb") as f:
        f.write(data)
    return version
