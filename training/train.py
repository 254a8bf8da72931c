"""Train the ride duration model and export it for the Go generator.

    python3 training/train.py --train build/train.csv --valid build/valid.csv \
        --train-source testdata/green_tripdata_2022-01.parquet \
        --export testdata/model.json.zst --golden testdata/golden_predictions.csv.zst

The tables come from `go run ./cmd/prep` (features are defined once, in Go).
Prints the RMSE on the validation month (6.101 for February 2022). Logs to
MLflow when mlflow is importable; it is not required.
"""

import argparse
import csv
import io
import os
import pickle
import time

import numpy as np
import zstandard
from sklearn.ensemble import RandomForestRegressor
from sklearn.feature_extraction import DictVectorizer
from sklearn.metrics import mean_squared_error
from sklearn.pipeline import make_pipeline

import forestexport

PARAMS = dict(n_estimators=100, max_depth=20, min_samples_leaf=10, random_state=0)

# The original walkthrough's test ride and its prediction.
TEST_RIDE = {"PU_DO": "130_205", "trip_distance": 3.66}


def read_table(path):
    """Reads a prep table: dict rows as the original built them, targets, raw ids."""
    rows, y, ids = [], [], []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            # float() is correctly rounded: the same bits Go wrote.
            rows.append({"PU_DO": r["PU_DO"], "trip_distance": float(r["trip_distance"])})
            y.append(float(r["duration"]))
            ids.append((r["PULocationID"], r["DOLocationID"], r["trip_distance"]))
    return rows, np.array(y), ids


def write_golden(path, ids, pred):
    out = io.StringIO()
    out.write("PULocationID,DOLocationID,trip_distance,prediction\n")
    for (pu, do, dist), p in zip(ids, pred):
        out.write(f"{pu},{do},{dist},{float(p)!r}\n")
    with open(path, "wb") as f:
        f.write(zstandard.ZstdCompressor(level=forestexport.ZSTD_LEVEL).compress(out.getvalue().encode()))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", required=True)
    ap.add_argument("--valid", required=True)
    ap.add_argument("--train-source", required=True, help="the raw training data file, hashed into the metadata")
    ap.add_argument("--export", required=True)
    ap.add_argument("--golden", required=True)
    ap.add_argument("--pickle", help="also save the fitted pipeline here (export.py reads it)")
    args = ap.parse_args()

    X_train, y_train, _ = read_table(args.train)
    X_valid, y_valid, valid_ids = read_table(args.valid)

    start = time.perf_counter()
    pipeline = make_pipeline(DictVectorizer(), RandomForestRegressor(**PARAMS, n_jobs=-1))
    pipeline.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start

    # One thread: the trees' outputs are summed in estimator order, the order
    # the Go code reproduces bit for bit. (With threads the order may vary.)
    pipeline.set_params(randomforestregressor__n_jobs=1)
    pred = pipeline.predict(X_valid)
    rmse = mean_squared_error(y_valid, pred, squared=False)
    test_ride = float(pipeline.predict([TEST_RIDE])[0])
    print(f"trained on {len(X_train)} rides in {fit_seconds:.1f} s")
    print(f"RMSE on {len(X_valid)} validation rides: {rmse:.3f} ({rmse!r})")
    print(f"test ride {TEST_RIDE}: {test_ride!r} min")

    version = forestexport.export(pipeline, args.export, {
        "rmse": float(rmse),
        "train_rows": len(X_train),
        "valid_rows": len(X_valid),
        "train_data": os.path.basename(args.train_source),
        "train_data_sha256": forestexport.sha256_file(args.train_source),
        "train_table_sha256": forestexport.sha256_file(args.train),
        "valid_table_sha256": forestexport.sha256_file(args.valid),
        "test_ride_prediction": test_ride,
    })
    write_golden(args.golden, valid_ids, pred)
    if args.pickle:
        with open(args.pickle, "wb") as f:
            pickle.dump(pipeline, f)
    print(f"exported model version {version} to {args.export}; golden predictions to {args.golden}")

    try:
        import mlflow
    except ImportError:
        return
    with mlflow.start_run():
        mlflow.log_params(PARAMS)
        mlflow.log_metric("rmse", rmse)
        mlflow.set_tag("export_version", version)
        mlflow.sklearn.log_model(pipeline, artifact_path="model")
        mlflow.log_artifact(args.export)


if __name__ == "__main__":
    main()
