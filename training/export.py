"""Export an already-trained pipeline for the Go generator.

    python3 training/export.py --model mlruns/1/<run id>/artifacts/model --export testdata/model.json.zst

--model is an MLflow sklearn model directory (its model.pkl is read) or a
pickle file of a fitted make_pipeline(DictVectorizer(), RandomForestRegressor()).
With --valid (a prep table), it also prints the RMSE and writes golden
predictions for the Go tests. Only unpickle files you trust.
"""

import argparse
import os
import pickle

from sklearn.metrics import mean_squared_error

import forestexport
import train


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="MLflow model directory or pickle file")
    ap.add_argument("--export", required=True)
    ap.add_argument("--valid", help="prep table of the validation month")
    ap.add_argument("--golden", help="golden predictions to write (needs --valid)")
    args = ap.parse_args()

    path = os.path.join(args.model, "model.pkl") if os.path.isdir(args.model) else args.model
    with open(path, "rb") as f:
        pipeline = pickle.load(f)
    forestexport.forest_parts(pipeline)  # fail early on anything else

    meta = {"test_ride_prediction": float(pipeline.predict([train.TEST_RIDE])[0])}
    pipeline.set_params(randomforestregressor__n_jobs=1)  # estimator-order sums
    if args.valid:
        X_valid, y_valid, valid_ids = train.read_table(args.valid)
        pred = pipeline.predict(X_valid)
        meta["rmse"] = float(mean_squared_error(y_valid, pred, squared=False))
        meta["valid_rows"] = len(X_valid)
        meta["valid_table_sha256"] = forestexport.sha256_file(args.valid)
        print(f"RMSE on {len(X_valid)} validation rides: {meta['rmse']:.3f}")
        if args.golden:
            train.write_golden(args.golden, valid_ids, pred)
    version = forestexport.export(pipeline, args.export, meta)
    print(f"exported model version {version} from {path} to {args.export}")


if __name__ == "__main__":
    main()
