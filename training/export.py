"""Check and export an already-trained pipeline for the Go generator.

    python3 training/export.py --model build/mlflow/<run id> --run-id <run id> \\
        --export testdata/model.json.zst --valid build/valid.csv --golden testdata/golden_predictions.csv.zst

--model is an MLflow model directory (an MLflow run's artifacts/model: its
MLmodel file names the pickle) or a pickle file of a fitted
make_pipeline(DictVectorizer(), RandomForestRegressor()). With --valid (a
prep table), it also prints the RMSE and, with --golden, writes sklearn's
predictions (n_jobs=1) for the Go golden tests. With --run-id, or when the
MLmodel names its run, the run id goes into the export's metadata, and the
generated package's Version is the run id.

Checks, before anything is written, each failing with "check: <cause>":
an MLflow directory must have the sklearn flavour, pickled with pickle or
cloudpickle; the model's scikit-learn version (the MLmodel's, and the one
each pickled estimator records) must be this machine's, unless
--allow-sklearn-mismatch; the pickle must load; it must be a pipeline this
generator compiles. Only unpickle files you trust.
"""

import argparse
import os
import pickle
import re
import sys
import warnings

import sklearn
from sklearn.metrics import mean_squared_error

import forestexport
import train


class Failure(Exception):
    """Why the model cannot go on, in the user's words."""


def mismatch(declared, where, allowed):
    local = sklearn.__version__
    if allowed:
        return (f"the model was saved with scikit-learn {declared} ({where}); this machine has {local}: going on "
                f"(ALLOW_SKLEARN_MISMATCH): the golden predictions, and so the generated code, are exact to "
                f"scikit-learn {local}'s predictions of what unpickled, not necessarily to what the run predicted")
    return (
        f"version mismatch: the model was saved with scikit-learn {declared} ({where}); this machine has {local}. "
        "scikit-learn does not support unpickling across versions: loading may fail, or give trees that predict "
        f"differently from the run's. The golden predictions are made here, so the generated code would be exact "
        f"to scikit-learn {local}'s predictions of what unpickled, not necessarily to what the run predicted. "
        f"Use scikit-learn {declared} here, or accept that with ALLOW_SKLEARN_MISMATCH=1 (--allow-sklearn-mismatch)"
    )


def read_mlmodel(model_dir):
    """Returns (the sklearn flavour, the MLmodel document) of an MLflow model directory."""
    path = os.path.join(model_dir, "MLmodel")
    if not os.path.isfile(path):
        raise Failure(f"{model_dir} has no MLmodel file: not an MLflow model directory")
    try:
        import yaml
    except ImportError:
        raise Failure("reading MLmodel needs PyYAML: apt-get install python3-yaml (make deps)")
    with open(path) as f:
        try:
            doc = yaml.safe_load(f)
        except yaml.YAMLError as e:
            raise Failure(f"{path} is not YAML: {e}")
    flavors = doc.get("flavors") if isinstance(doc, dict) else None
    if not isinstance(flavors, dict) or not flavors:
        raise Failure(f"{path} lists no flavors: not an MLflow model")
    flavor = flavors.get("sklearn")
    if not isinstance(flavor, dict):
        raise Failure(f"not a scikit-learn model: {path} has the flavors {', '.join(sorted(flavors))}, "
                      "not sklearn (make model takes models logged with mlflow.sklearn)")
    fmt = flavor.get("serialization_format", "pickle")  # MLflow before 1.2 wrote none: pickle
    if fmt not in ("pickle", "cloudpickle"):
        raise Failure(f"{path}: serialization_format {fmt!r} is not supported: want pickle or cloudpickle")
    pickled = flavor.get("pickled_model")
    if not isinstance(pickled, str) or not pickled or os.path.basename(pickled) != pickled:
        raise Failure(f"{path}: the sklearn flavor's pickled_model {pickled!r} is not a file name")
    return flavor, doc


def describe(model):
    steps = getattr(model, "steps", None)
    if steps is None:
        return type(model).__name__
    return f"{type(model).__name__}({', '.join(type(s).__name__ for _, s in steps)})"


def load(path, allow_mismatch):
    """Unpickles path; a scikit-learn version recorded in the pickle that is
    not this machine's is a mismatch."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with open(path, "rb") as f:
                model = pickle.load(f)
        except Exception as e:  # a truncated or foreign file raises anything
            hint = " (the model pickles code by value: apt-get install python3-cloudpickle)" \
                if isinstance(e, ModuleNotFoundError) and "cloudpickle" in str(e) else ""
            raise Failure(f"cannot unpickle {path}: {type(e).__name__}: {e}{hint}: "
                          "the file is corrupted, truncated or not a pickle")
    for w in caught:
        # scikit-learn 1.2: UserWarning; 1.3+: InconsistentVersionWarning. Same text.
        m = re.search(r"unpickle estimator \w+ from version (\S+) when using version", str(w.message))
        if m:
            msg = mismatch(m.group(1), f"recorded in {os.path.basename(path)}", allow_mismatch)
            if not allow_mismatch:
                raise Failure(msg)
            print(f"check: warning: {msg}", file=sys.stderr)
            break
    try:
        forestexport.forest_parts(model)
    except ValueError as e:
        raise Failure(f"unsupported estimator {describe(model)}: {e}")
    return model


def check(args):
    """Returns the fitted pipeline and the metadata the checks found."""
    meta = {}
    path = args.model
    if os.path.isdir(args.model):
        flavor, doc = read_mlmodel(args.model)
        declared = str(flavor.get("sklearn_version", ""))
        if declared and declared != sklearn.__version__:
            msg = mismatch(declared, "its MLmodel", args.allow_sklearn_mismatch)
            if not args.allow_sklearn_mismatch:
                raise Failure(msg)
            print(f"check: warning: {msg}", file=sys.stderr)
        run_id = doc.get("run_id")
        if args.run_id and run_id and run_id != args.run_id:
            raise Failure(f"{args.model}/MLmodel is the model of run {run_id}, not of RUN_ID {args.run_id}: check MODEL_URI")
        args.run_id = args.run_id or run_id
        path = os.path.join(args.model, flavor["pickled_model"])
        print(f"check: MLmodel: flavors {', '.join(sorted(doc['flavors']))}; scikit-learn {declared or '?'} "
              f"(here: {sklearn.__version__}); {flavor.get('serialization_format', 'pickle')}; "
              f"mlflow {doc.get('mlflow_version', '?')}; created {doc.get('utc_time_created', '?')}; run {run_id or '?'}")
    elif not os.path.isfile(path):
        raise Failure(f"{path} does not exist")
    pipeline = load(path, args.allow_sklearn_mismatch)
    _, rf = forestexport.forest_parts(pipeline)
    print(f"check: {os.path.basename(path)}: {describe(pipeline)} of {len(rf.estimators_)} trees")
    if args.run_id:
        meta["run_id"] = args.run_id
    return pipeline, meta


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="MLflow model directory or pickle file")
    ap.add_argument("--export", required=True)
    ap.add_argument("--run-id", help="the MLflow run the model came from: the generated Version")
    ap.add_argument("--allow-sklearn-mismatch", action="store_true",
                    help="go on when the model was saved by another scikit-learn version")
    ap.add_argument("--valid", help="prep table of the validation month")
    ap.add_argument("--golden", help="golden predictions to write (needs --valid)")
    args = ap.parse_args()
    if args.golden and not args.valid:
        ap.error("--golden needs --valid")

    try:
        pipeline, meta = check(args)
    except Failure as e:
        print(f"check: {e}", file=sys.stderr)
        sys.exit(1)

    forestexport.forest_parts(pipeline)[1].set_params(n_jobs=1)  # estimator-order sums
    meta["test_ride_prediction"] = float(pipeline.predict([train.TEST_RIDE])[0])
    pred = valid_ids = None
    if args.valid:
        X_valid, y_valid, valid_ids = train.read_table(args.valid)
        pred = pipeline.predict(X_valid)
        meta["rmse"] = float(mean_squared_error(y_valid, pred, squared=False))
        meta["valid_rows"] = len(X_valid)
        meta["valid_table_sha256"] = forestexport.sha256_file(args.valid)
        print(f"RMSE on {len(X_valid)} validation rides: {meta['rmse']:.3f}")
    # Both files are written aside and then renamed: a failure leaves the old pair.
    version = forestexport.export(pipeline, args.export + ".tmp", meta)
    if args.golden:
        train.write_golden(args.golden + ".tmp", valid_ids, pred)
        os.replace(args.golden + ".tmp", args.golden)
    os.replace(args.export + ".tmp", args.export)
    print(f"exported model version {version}" + (f" (run {args.run_id})" if args.run_id else "") +
          f" to {args.export}; test ride: {meta['test_ride_prediction']!r} min")
    if args.golden:
        print(f"golden predictions (scikit-learn {sklearn.__version__}, n_jobs=1) to {args.golden}")


if __name__ == "__main__":
    main()
