"""Check and export an already-trained model for the Go generator.

    python3 training/export.py --model build/mlflow/<run id> --run-id <run id> \\
        --export build/export/<run id>/model.json --valid build/valid.csv --golden build/export/<run id>/golden.csv
    python3 training/export.py --model build/mlflow/<run id> --run-id <run id> \\
        --export build/export/<run id>/model.json --link-sums SUMS.json

--model is an MLflow model directory (an MLflow run's artifacts/model: its
MLmodel file names the model file) or a pickle file. What it may hold
(forestexport.SUPPORTED): a fitted Pipeline(DictVectorizer, R), R a
scikit-learn tree, forest, gradient boosting or histogram gradient boosting
regressor or an XGBRegressor, logged with mlflow.sklearn or pickled; or an
XGBoost model logged with mlflow.xgboost (a Booster, as the course's
xgb.train makes, or an XGBRegressor) whose DictVectorizer was pickled
separately: give that with --preprocessor (the course's
artifacts/preprocessor/preprocessor.b).

It runs in the run's own environment (make model picks the interpreter:
docs/model.md) and needs only what such an environment has: the standard
library, numpy, scikit-learn, and xgboost for an XGBoost model. The MLmodel
file is YAML: make model hands it over as JSON (--mlmodel-json); without
that flag, reading it needs PyYAML. The export and the golden predictions
are written as plain JSON and CSV; Go compresses them for the repository
(cmd/packmodel).

With --valid (a prep table), it prints the RMSE and, with --golden, writes
the library's predictions (n_jobs=1) for the Go golden tests. With --run-id,
or when the MLmodel names its run, the run id goes into the export's
metadata, and the generated package's Version is the run id.

Checks, before anything is written, each failing with "check: <cause>": an
MLflow directory must have the sklearn flavour (pickled with pickle or
cloudpickle) or the xgboost flavour (with --preprocessor); every pickle is
scanned before it is loaded and refused if it would import anything but
the classes and functions these libraries' models are made of
(picklescan.py): nothing in a refused pickle runs; the model's
scikit-learn version (the MLmodel's, and the one each pickled estimator
records) must be this environment's, unless --allow-sklearn-mismatch; a
pickle that numpy 2 wrote needs numpy 2; the pickle must load; it must be
a model this exporter compiles, over features a ride carries; and the
export, evaluated as export/doc.go says (reference.py), must reproduce the
library's own predictions bit for bit on every validation ride, the test
ride and synthetic rides.

A model whose prediction numpy's exp or expm1 makes of the trees' sum
(HistGradientBoostingRegressor's poisson and gamma losses, a
TransformedTargetRegressor of np.log and np.exp or np.log1p and np.expm1)
is exported with ensemble.link "numpy.exp" or "numpy.expm1" and self-checked
with the model's own function. The generated table then holds the link's
value at every sum it can give, computed here: the second pass (--link-sums,
with the first pass's model flags and --export) loads the model as the first
does, reads the sums (a JSON array, ascending, -0 before +0, each a value of
the ensemble's sum type), computes each one's value with the library's own
function on one contiguous array, as its predict does, checks that the
function gives each element the same bits reversed, offset by one and alone
(else the kernel on this CPU depends on an element's position, and no table
can hold it: refused), and rewrites --export with its link_table:
{"function", "numpy" (its version), "cpu" (the features numpy dispatches on
that this CPU has), "sums", "values"}; the rest of the file is unchanged.
"""

import argparse
import contextlib
import io
import os
import pickle
import re
import sys
import time
import warnings

import sklearn

import forestexport
import picklescan
import reference
import tables

# What to do when this environment is not the run's: docs/model.md, "The run's environment".
WAYS = ("run it in the run's environment: make model PYTHON=<its python3> (the virtual environment it was "
        "trained in, say), or make model ENV_MANAGER=virtualenv (one built from its requirements.txt; docs/model.md)")


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
        f"Use scikit-learn {declared}: {WAYS}; or accept that with ALLOW_SKLEARN_MISMATCH=1 (--allow-sklearn-mismatch)"
    )


def read_mlmodel(model_dir, mlmodel_json=None):
    """Returns (the flavour's name, its section, the MLmodel document) of an
    MLflow model directory: sklearn, or else xgboost. mlmodel_json is the
    MLmodel document as JSON, as make model converts it."""
    path = os.path.join(model_dir, "MLmodel")
    if not os.path.isfile(path):
        raise Failure(f"{model_dir} has no MLmodel file: not an MLflow model directory")
    if mlmodel_json:
        import json
        with open(mlmodel_json) as f:
            doc = json.load(f)
    else:
        try:
            import yaml
        except ImportError:
            raise Failure(f"reading {path} needs PyYAML (make model reads it itself): pip install pyyaml, or give "
                          "it as JSON with --mlmodel-json")
        with open(path) as f:
            try:
                doc = yaml.safe_load(f)
            except yaml.YAMLError as e:
                raise Failure(f"{path} is not YAML: {e}")
    flavors = doc.get("flavors") if isinstance(doc, dict) else None
    if not isinstance(flavors, dict) or not flavors:
        raise Failure(f"{path} lists no flavors: not an MLflow model")
    for name, key in (("sklearn", "pickled_model"), ("xgboost", "data")):
        flavor = flavors.get(name)
        if not isinstance(flavor, dict):
            continue
        if name == "sklearn":
            fmt = flavor.get("serialization_format", "pickle")  # MLflow before 1.2 wrote none: pickle
            if fmt not in ("pickle", "cloudpickle"):
                raise Failure(f"{path}: serialization_format {fmt!r} is not supported: want pickle or cloudpickle")
        else:
            fmt = flavor.get("model_format", "xgb")
            if fmt not in ("xgb", "json", "ubj"):
                raise Failure(f"{path}: the xgboost flavor's model_format {fmt!r} is not supported: want xgb, json "
                              "or ubj")
        file = flavor.get(key)
        if not isinstance(file, str) or not file or os.path.basename(file) != file:
            raise Failure(f"{path}: the {name} flavor's {key} {file!r} is not a file name")
        return name, flavor, doc
    raise Failure(f"not a model this exporter compiles: {path} has the flavors {', '.join(sorted(flavors))}, "
                  "not sklearn or xgboost (make model takes models logged with mlflow.sklearn, or with "
                  "mlflow.xgboost and their DictVectorizer)")


def numpy_major():
    import numpy
    return int(numpy.__version__.split(".")[0])


def load(path, allow_mismatch):
    """Scans path's pickle (picklescan: nothing it names runs unless every
    global is allowed), then unpickles it; a scikit-learn version recorded
    in the pickle that is not this environment's is a mismatch."""
    try:
        scan = picklescan.check(path)
    except picklescan.Refused as e:
        why = refusal(path, e.global_, _globals(path)) if e.global_ else None
        raise Failure(why or str(e))
    if numpy_major() < 2 and any(m == "numpy._core" or m.startswith("numpy._core.") for m, _ in scan.globals):
        import numpy
        raise Failure(f"{path} was pickled with numpy 2 (it names numpy._core); this environment has numpy "
                      f"{numpy.__version__}, which cannot read it: {WAYS}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with open(path, "rb") as f, xgboost_log():
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
    return model


# Losses whose link is not one this exporter computes: refused by the scan,
# with the losses and links that are.
REFUSED_LOSSES = {
    "HalfTweedieLoss": "the HistGradientBoostingRegressor has a Tweedie loss",
    "HalfTweedieLossIdentity": "the HistGradientBoostingRegressor has a Tweedie loss",
}
REFUSED_LOSS = ("only squared_error, absolute_error and quantile (the identity link), poisson and gamma (the log "
                "link: numpy's exp of the trees' sum) are exported; use loss='poisson' or 'gamma', or XGBoost's "
                "reg:tweedie, whose expf is compiled exactly")


def _globals(path):
    """Every global the pickle names (nothing runs), or none if it is refused for something else too."""
    try:
        return picklescan.scan(path).globals
    except picklescan.Refused:
        return []


def refusal(path, g, scan_all):
    """The message for a pickle whose global g the scan refused; scan_all:
    every global the pickle names (none ran)."""
    names = {n for _, n in scan_all}
    if g[1] in REFUSED_LOSSES:
        return f"{REFUSED_LOSSES[g[1]]} (in {path}; refused before loading, nothing in it ran): {REFUSED_LOSS}"
    if "TransformedTargetRegressor" in names and not (g[0].split(".")[0] == "sklearn" and
                                                     g[1].endswith(("Regressor", "Regression"))):
        # Not a regressor: the transformer's class, or a function it applies.
        what = "a class no compiled model is made of" if g[1][:1].isupper() else \
            "a function no compiled model applies (a function of the user's is never run)"
        return (f"the model is a TransformedTargetRegressor whose pickle names {g[0]}.{g[1]} (in {path}; "
                f"refused before loading, nothing in it ran), {what}: {forestexport.TTR_COMPILED}")
    if g[0].split(".")[0] in ("sklearn", "xgboost"):
        # A class of the libraries, but not one of the models compiled.
        return (f"unsupported estimator {g[0]}.{g[1]} (in {path}; refused before loading, nothing in it ran): "
                f"{forestexport.SUPPORTED}")
    return None


# xgboost's warning, on each load of a model whose objective is reg:linear (the course's).
OLD_OBJECTIVE_WARNING = re.compile(r"WARNING: \S+: reg:linear is now deprecated in favor of reg:squarederror\.$")
OLD_OBJECTIVE = ("check: the model's objective reg:linear is the old name of reg:squarederror, the same squared "
                 "error: it is exported as reg:squarederror")
_old_objective_said = False


@contextlib.contextmanager
def xgboost_log():
    """While a model loads: xgboost's own log lines (its log callback prints
    them on stdout) are passed on, all but its warning that reg:linear is
    deprecated, which is said once, in OLD_OBJECTIVE, however many times the
    model is loaded."""
    global _old_objective_said
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            yield
    finally:
        for line in buf.getvalue().splitlines(keepends=True):
            if not OLD_OBJECTIVE_WARNING.search(line.rstrip("\n")):
                sys.stdout.write(line)
            elif not _old_objective_said:
                _old_objective_said = True
                print(OLD_OBJECTIVE)


XGB_CLASSES = {"xgboost.core.Booster": "Booster", "xgboost.sklearn.XGBRegressor": "XGBRegressor"}


def _version(text):
    """A version's leading numbers, for comparing: "3.0.0rc1" → (3, 0, 0)."""
    out = []
    for part in str(text).split("."):
        digits = re.match(r"\d+", part)
        if not digits:
            break
        out.append(int(digits.group()))
    return tuple(out)


def load_xgboost(path, model_class, declared=""):
    try:
        import xgboost as xgb
    except ImportError:
        raise Failure(f"an MLflow xgboost model needs XGBoost, which this environment lacks: {WAYS}")
    if model_class not in XGB_CLASSES:
        raise Failure(f"the xgboost flavor's model_class is {model_class!r}: {forestexport.SUPPORTED}")
    model = xgb.Booster() if XGB_CLASSES[model_class] == "Booster" else xgb.XGBRegressor()
    try:
        with xgboost_log():
            model.load_model(path)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        if declared and _version(declared) > _version(xgb.__version__):
            raise Failure(f"cannot load {path}: it was written by xgboost {declared}, newer than this "
                          f"environment's xgboost {xgb.__version__}, which cannot read it ({type(e).__name__}: "
                          f"{first}): {WAYS}")
        raise Failure(f"cannot load {path} as an XGBoost model: {type(e).__name__}: {first}: "
                      "the file is corrupted, truncated or not an XGBoost model")
    return model


def load_model(model_path, preprocessor=None, run_id=None, allow_mismatch=False, log=print, mlmodel_json=None):
    """Loads what --model names (and --preprocessor); returns
    (forestexport.Model, the run id the MLmodel names or run_id)."""
    path = model_path
    dv = None
    if os.path.isdir(model_path):
        flavor_name, flavor, doc = read_mlmodel(model_path, mlmodel_json)
        mlrun = doc.get("run_id")
        if run_id and mlrun and mlrun != run_id:
            raise Failure(f"{model_path}/MLmodel is the model of run {mlrun}, not of RUN_ID {run_id}: check MODEL_URI")
        run_id = run_id or mlrun
        about = (f"mlflow {doc.get('mlflow_version', '?')}; created {doc.get('utc_time_created', '?')}; "
                 f"run {mlrun or '?'}")
        if flavor_name == "sklearn":
            declared = str(flavor.get("sklearn_version", ""))
            if declared and declared != sklearn.__version__:
                msg = mismatch(declared, "its MLmodel", allow_mismatch)
                if not allow_mismatch:
                    raise Failure(msg)
                print(f"check: warning: {msg}", file=sys.stderr)
            path = os.path.join(model_path, flavor["pickled_model"])
            log(f"check: MLmodel: flavors {', '.join(sorted(doc['flavors']))}; scikit-learn {declared or '?'} "
                f"(here: {sklearn.__version__}); {flavor.get('serialization_format', 'pickle')}; {about}")
            obj = load(path, allow_mismatch)
        else:
            if not preprocessor:
                raise Failure(f"{model_path} is an MLflow xgboost model, which holds the trees but not the "
                              "DictVectorizer that turns a ride into their columns: give the vectorizer the run "
                              "pickled (the course's artifacts/preprocessor/preprocessor.b) with --preprocessor PATH "
                              "(make model: PREPROCESSOR_URI=s3://…/preprocessor.b)")
            import xgboost as xgb
            declared = str(flavor.get("xgb_version", ""))
            path = os.path.join(model_path, flavor["data"])
            log(f"check: MLmodel: flavors {', '.join(sorted(doc['flavors']))}; xgboost {declared or '?'} "
                f"(here: {xgb.__version__}); {flavor.get('model_class', '?')}; {about}")
            obj = load_xgboost(path, flavor.get("model_class", "xgboost.core.Booster"), declared)
    elif not os.path.isfile(model_path):
        raise Failure(f"{model_path} does not exist")
    else:
        obj = load(model_path, allow_mismatch)
    if preprocessor:
        if not os.path.isfile(preprocessor):
            raise Failure(f"--preprocessor {preprocessor} does not exist")
        dv = load(preprocessor, allow_mismatch)
    try:
        model = forestexport.Model.of(obj, dv)
    except forestexport.Unsupported as e:
        raise Failure(str(e))
    return model, run_id


def second_pass(args):
    """Adds the link table to the first pass's export (forestexport.link_table);
    the rest of the file stays as it was. Returns the exit code."""
    import json
    try:
        model, _ = load_model(args.model, args.preprocessor, args.run_id, args.allow_sklearn_mismatch,
                              log=lambda *a: None, mlmodel_json=args.mlmodel_json)
        try:
            with open(args.export, "rb") as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            raise Failure(f"cannot read the first pass's export {args.export}: {e}")
        doc, what = forestexport.link_table(model, doc, args.link_sums)
    except (forestexport.Unsupported, Failure) as e:
        print(f"check: {e}", file=sys.stderr)
        return 1
    forestexport.write(doc, args.export + ".tmp")
    os.replace(args.export + ".tmp", args.export)
    import numpy
    library, version = "scikit-learn", sklearn.__version__
    n = what["n"]
    print(f"link: numpy {numpy.__version__}'s {what['function']} (CPU: {', '.join(what['cpu'])}) of the table's "
          f"{n} sum{'s' if n != 1 else ''}, computed by {library} {version}'s own {model.link_how()}; "
          f"position-independent (the same bits reversed, offset by one and {what['singles']} alone)")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="MLflow model directory or pickle file")
    ap.add_argument("--preprocessor", help="the DictVectorizer, pickled, of an MLflow xgboost model")
    ap.add_argument("--mlmodel-json", help="the model directory's MLmodel document, as JSON (make model writes it)")
    ap.add_argument("--export", required=True)
    ap.add_argument("--run-id", help="the MLflow run the model came from: the generated Version")
    ap.add_argument("--allow-sklearn-mismatch", action="store_true",
                    help="go on when the model was saved by another scikit-learn version")
    ap.add_argument("--valid", help="prep table of the validation month")
    ap.add_argument("--golden", help="golden predictions to write (needs --valid)")
    ap.add_argument("--link-sums", metavar="SUMS.json",
                    help="the second pass, for a link numpy computes: add to the first pass's --export the "
                         "library's link of each of these sums (a JSON array, ascending) as its link_table")
    args = ap.parse_args()
    if args.golden and not args.valid:
        ap.error("--golden needs --valid")
    if args.link_sums:
        if args.valid or args.golden:
            ap.error("--link-sums is the second pass: it takes the model's flags and --export, not --valid or --golden")
        sys.exit(second_pass(args))

    start = time.perf_counter()
    try:
        model, run_id = load_model(args.model, args.preprocessor, args.run_id, args.allow_sklearn_mismatch,
                                   mlmodel_json=args.mlmodel_json)
        body = model.body()  # also refuses what cannot be exported
        ntrees = len(body["trees"])
        print(f"check: {os.path.basename(os.path.normpath(args.model))}: {model.describe()} of {ntrees} trees "
              f"over {model.forms.describe()}")
        meta = {"run_id": run_id} if run_id else {}
        valid = (*tables.read_table(args.valid), args.valid) if args.valid else None
        res = forestexport.export(model, args.export, meta, valid=valid, golden=args.golden, body=body)
    except forestexport.Unsupported as e:
        print(f"check: {e}", file=sys.stderr)
        sys.exit(1)
    except reference.Mismatch as e:
        print(f"check: self-check failed: {e}", file=sys.stderr)
        sys.exit(1)
    except Failure as e:
        print(f"check: {e}", file=sys.stderr)
        sys.exit(1)
    library, version = model.library
    if valid:
        print(f"RMSE on {len(valid[0])} validation rides: {res['rmse']:.3f}")
    print(f"self-check: the export reproduces {library} {version}'s predictions bit for bit "
          f"({res['checked'][0]} validation rides, the test ride, {res['checked'][1]} synthetic rides)")
    print(f"exported model version {res['version']}" + (f" (run {run_id})" if run_id else "") +
          f" to {args.export}; test ride: {res['test_ride_prediction']!r} min")
    e = res["ensemble"]
    print(f"export: {res['trees']} trees, {res['nodes']} nodes, {res['json_bytes']} bytes of JSON; ensemble input {e['input']}, split {e['split']}, absent {e['absent']}, "
          f"sum {e['sum']}, base {e['base']!r}, scale {e['scale']!r}, divisor {e['divisor']!r}"
          + (f", link {e['link']}" if e.get("link") else "") + "; "
          f"{time.perf_counter() - start:.1f} s")
    if args.golden:
        print(f"golden predictions ({library} {version}" + (", n_jobs=1" if model.kind.endswith("ForestRegressor")
              or model.kind == "ExtraTreesRegressor" else "") + f") to {args.golden}")


if __name__ == "__main__":
    main()
