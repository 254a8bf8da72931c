"""Time sklearn on the rides the Go benchmarks use, for `make bench`.

    python3 training/bench_sklearn.py --model build/model.pkl --valid build/valid.csv

Prints the batch predict time per row (all February rows in one call,
n_jobs=1, as the golden predictions were made) and one single-ride predict.
"""

import argparse
import pickle
import time

import train


def best_of(n, fn):
    best = float("inf")
    for _ in range(n):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--valid", required=True)
    args = ap.parse_args()
    with open(args.model, "rb") as f:
        pipeline = pickle.load(f)
    pipeline.set_params(randomforestregressor__n_jobs=1)
    X, _, _ = train.read_table(args.valid)
    batch = best_of(3, lambda: pipeline.predict(X))
    one = best_of(20, lambda: pipeline.predict(X[:1]))
    print(f"sklearn batch predict, {len(X)} rows: {batch * 1e9 / len(X):.0f} ns/row ({batch:.2f} s)")
    print(f"sklearn single-ride predict: {one * 1e6:.0f} µs")


if __name__ == "__main__":
    main()
