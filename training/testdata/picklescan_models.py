"""Every kind of model, small, pickled as runs pickle it; then loaded through picklescan.

    python3 training/testdata/picklescan_models.py write DIR
    python3 training/testdata/picklescan_models.py load DIR

write trains each kind (training/kinds.py's fit_*: its default kinds, hgb-gamma
with scikit-learn 1.3+; and HistGradientBoostingRegressor with its other
exported losses and with early stopping) on 300 synthetic
rides and pickles it with pickle protocols 2, 4 (the default) and 5, and
with cloudpickle (joblib's, at its default protocol 5), as DIR/<case>.pkl;
DIR/<case>.X.json holds the rides as the model takes them (the
vectorizer's dicts) and DIR/<case>.before.json the model's predictions of
them before pickling. The course's layout pickles only the DictVectorizer (booster-dv):
its booster is saved with save_model beside it, and its predictions are the
booster's of the vectorizer's columns.

load loads each pickle with picklescan.load, in a process that imports
nothing of the model's before, and prints one JSON line a case: its protocol, the
globals picklescan found and the predictions of the same rides. The Go test
TestPickleScanLoadsEveryKind compares them with the .before.json, bit for bit.
"""

import json
import os
import pickle
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import picklescan  # noqa: E402

PROTOCOLS = (2, 4, 5)
HGB_MORE = {
    # name: (forms, HistGradientBoostingRegressor's parameters)
    "hgb-absolute": ("PU:int,DO:int,distance", {"loss": "absolute_error", "max_iter": 20}),
    "hgb-quantile": ("PU:int,DO:int,distance", {"loss": "quantile", "quantile": 0.8, "max_iter": 20}),
    "hgb-early": ("PU:int,DO:int,distance", {"max_iter": 200, "early_stopping": True, "n_iter_no_change": 3,
                                               "validation_fraction": 0.2}),
}


def rides(n=300):
    """(PULocationID, DOLocationID, trip_distance), and the durations: fixed, no library's random numbers."""
    out, y = [], []
    for i in range(n):
        pu, do = 1 + (i * 7) % 23, 1 + (i * 11) % 19
        distance = round(0.3 + ((i * 37) % 101) / 10.0, 2)
        out.append((pu, do, distance))
        y.append(2.0 + 3.1 * distance + (pu % 5) - (do % 3) + ((i * 13) % 7) / 3.0)
    return out, y


def cases():
    """{case: forms}, every pickle write makes."""
    import features
    import kinds

    out = {}
    for kind, (forms, _, default) in kinds.KINDS.items():
        if kind == "hgb-gamma" and not kinds.has_hgb_gamma():  # scikit-learn 1.3+
            continue
        if default and kind != "booster-poisson":  # its pickle is a DictVectorizer, as booster's
            out["booster-dv" if kind == "booster" else kind] = forms
    for name, (spec, _) in HGB_MORE.items():
        out[name] = features.Forms.parse(spec)
    return out


def predict(model, X, booster=None):
    """The model's predictions of X; a forest's with n_jobs=1, as export.py's (its threads add up the trees in
    any order)."""
    if booster is None:
        import kinds
        if type(kinds.final(model)).__name__ in ("RandomForestRegressor", "ExtraTreesRegressor"):
            kinds.final(model).set_params(n_jobs=1)
        return [float(p) for p in model.predict(X)]
    import xgboost as xgb
    return [float(p) for p in booster.predict(xgb.DMatrix(model.transform(X)))]


def write(d):
    import numpy as np
    from joblib.externals import cloudpickle
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.pipeline import make_pipeline

    import kinds

    raw, y = rides()
    y = np.array(y)
    for case, forms in cases().items():
        X = [forms.ride(*r) for r in raw]
        booster = None
        if case == "booster-dv":
            model, booster = kinds.fit_booster(X, y)
            booster.save_model(os.path.join(d, case + ".ubj"))
        elif case in HGB_MORE:
            model = make_pipeline(DictVectorizer(sparse=False),
                                  HistGradientBoostingRegressor(random_state=0, **HGB_MORE[case][1])).fit(X, y)
        else:
            model = kinds.KINDS[case][1](X, y)
        for proto in PROTOCOLS:
            with open(os.path.join(d, f"{case}.p{proto}.pkl"), "wb") as f:
                pickle.dump(model, f, protocol=proto)
        with open(os.path.join(d, f"{case}.cloudpickle.pkl"), "wb") as f:
            cloudpickle.dump(model, f)
        with open(os.path.join(d, case + ".X.json"), "w") as f:
            json.dump(X, f)
        with open(os.path.join(d, case + ".before.json"), "w") as f:
            json.dump(predict(model, X, booster), f)


def load(d):
    booster = None
    for name in sorted(os.listdir(d)):
        if not name.endswith(".pkl"):
            continue
        case = name.split(".")[0]
        with open(os.path.join(d, case + ".X.json")) as f:
            X = json.load(f)
        path = os.path.join(d, name)
        s = picklescan.check(path)
        model = picklescan.load(path)
        if case == "booster-dv" and booster is None:
            import xgboost as xgb
            booster = xgb.Booster()
            booster.load_model(os.path.join(d, case + ".ubj"))
        print(json.dumps({"case": case, "file": name, "protocol": s.protocol,
                          "globals": [f"{m}.{n}" for m, n in s.globals],
                          "predictions": predict(model, X, booster if case == "booster-dv" else None)}), flush=True)


if __name__ == "__main__":
    {"write": write, "load": load}[sys.argv[1]](sys.argv[2])
