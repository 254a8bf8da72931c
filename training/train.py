"""Train the ride duration model and export it for the Go generator.

    python3 training/train.py --train build/train.csv --valid build/valid.csv \
        --train-source testdata/green_tripdata_2022-01.parquet \
        --export testdata/model.json.zst --golden testdata/golden_predictions.csv.zst

The tables come from `go run ./cmd/prep` (features are defined once, in Go).
Prints the RMSE on the validation month (6.101 for February 2022). The export
(format rideduration-forest/v2, export/doc.go) is written only once its
self-check passes (forestexport.export). Logs to MLflow when mlflow is
importable; it is not required.
"""

import argparse
import os
import pickle
import time

from sklearn.ensemble import RandomForestRegressor
from sklearn.feature_extraction import DictVectorizer
from sklearn.pipeline import make_pipeline

import features
import forestexport
import tables

PARAMS = dict(n_estimators=100, max_depth=20, min_samples_leaf=10, random_state=0)

# The original's features: PU_DO ('%s_%s' % (PU, DO)) and trip_distance.
FORMS = features.Forms(pu_do=True, distance=True)

# Kept for callers of the v1 scripts.
TEST_RIDE = FORMS.ride(*tables.TEST_RIDE)
read_table = tables.read_table
write_golden = tables.write_golden


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", required=True)
    ap.add_argument("--valid", required=True)
    ap.add_argument("--train-source", required=True, help="the raw training data file, hashed into the metadata")
    ap.add_argument("--export", required=True)
    ap.add_argument("--golden", required=True)
    ap.add_argument("--pickle", help="also save the fitted pipeline here (export.py reads it)")
    args = ap.parse_args()

    train_rides, y_train, _ = tables.read_table(args.train)
    valid = tables.read_table(args.valid)
    X_train = [FORMS.ride(*r) for r in train_rides]

    start = time.perf_counter()
    pipeline = make_pipeline(DictVectorizer(), RandomForestRegressor(**PARAMS, n_jobs=-1))
    pipeline.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    print(f"trained on {len(X_train)} rides in {fit_seconds:.1f} s")

    # export sets n_jobs=1: the trees' outputs are summed in estimator
    # order, the order the Go code reproduces bit for bit.
    model = forestexport.Model.of(pipeline)
    res = forestexport.export(model, args.export, {
        "train_rows": len(X_train),
        "train_data": os.path.basename(args.train_source),
        "train_data_sha256": forestexport.sha256_file(args.train_source),
        "train_table_sha256": forestexport.sha256_file(args.train),
    }, valid=(*valid, args.valid), golden=args.golden)
    rmse = res["rmse"]
    print(f"RMSE on {len(valid[0])} validation rides: {rmse:.3f} ({rmse!r})")
    print(f"test ride {TEST_RIDE}: {res['test_ride_prediction']!r} min")
    print(f"self-check: the export reproduces scikit-learn's predictions bit for bit "
          f"({res['checked'][0]} validation rides, the test ride, {res['checked'][1]} synthetic rides)")
    if args.pickle:
        with open(args.pickle, "wb") as f:
            pickle.dump(pipeline, f)
    print(f"exported model version {res['version']} to {args.export}; golden predictions to {args.golden}")

    try:
        import mlflow
    except ImportError:
        return
    with mlflow.start_run():
        mlflow.log_params(PARAMS)
        mlflow.log_metric("rmse", rmse)
        mlflow.set_tag("export_version", res["version"])
        mlflow.sklearn.log_model(pipeline, artifact_path="model")
        mlflow.log_artifact(args.export)


if __name__ == "__main__":
    main()
