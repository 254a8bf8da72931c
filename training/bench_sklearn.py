"""Time the library's own prediction, for `make bench` and comparisons.

    python3 training/bench_sklearn.py --model build/model.pkl --valid build/valid.csv
    python3 training/bench_sklearn.py --model build/kinds/booster/artifacts/models_mlflow \\
        --preprocessor build/kinds/booster/artifacts/preprocessor/preprocessor.b --valid build/valid.csv

--model is anything export.py accepts (an MLflow model directory or a
pickle; --preprocessor for an MLflow xgboost model), loaded as export.py
loads it. The prediction timed is the one the golden predictions come from
(forestexport.Model.predict: DictVectorizer.transform included, forests with
n_jobs=1): one ride per call (the median over the validation month's first
rides) and the whole validation month in one call (best of 3), per row.
Each figure is one line, with the machine's CPU.
"""

import argparse
import os
import platform
import statistics
import time

import export
import tables


def cpu():
    name = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") or line.startswith("Model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{name or platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"


def best_of(n, fn):
    best = float("inf")
    for _ in range(n):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="MLflow model directory or pickle file (as export.py takes)")
    ap.add_argument("--preprocessor", help="the DictVectorizer, pickled, of an MLflow xgboost model")
    ap.add_argument("--allow-sklearn-mismatch", action="store_true")
    ap.add_argument("--valid", required=True, help="prep table of the validation month")
    ap.add_argument("--singles", type=int, default=200, help="single-ride predictions to take the median of")
    args = ap.parse_args()
    try:
        model, _ = export.load_model(args.model, args.preprocessor, allow_mismatch=args.allow_sklearn_mismatch,
                                     log=lambda *a: None)
    except export.Failure as e:
        raise SystemExit(f"check: {e}")
    model.prepare()
    library, version = model.library
    rides, _, _ = tables.read_table(args.valid)
    rows = [model.ride(*r) for r in rides]
    what = f"{args.model}: {library} {version} {model.describe()}"
    on = f"on {cpu()}"

    for r in rows[:20]:  # warm up
        model.predict([r])
    times = []
    for i in range(args.singles):
        r = [rows[i % len(rows)]]
        start = time.perf_counter()
        model.predict(r)
        times.append(time.perf_counter() - start)
    one = statistics.median(times)
    print(f"{what}: single-ride predict: {one * 1e6:.0f} µs/row (median of {args.singles} calls) {on}", flush=True)

    batch = best_of(3, lambda: model.predict(rows))
    print(f"{what}: batch predict of {len(rows)} rides: {batch * 1e9 / len(rows):.0f} ns/row "
          f"({batch:.2f} s per call, best of 3) {on}")


if __name__ == "__main__":
    main()
