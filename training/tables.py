"""The prep tables (go run ./cmd/prep) and the golden predictions file."""

import csv
import io

import numpy as np

# The original walkthrough's test ride: 130 → 205, 3.66 mi.
TEST_RIDE = (130, 205, 3.66)
GOLDEN_ZSTD_LEVEL = 19


def read_table(path):
    """Reads a prep table: rides (PULocationID, DOLocationID, trip_distance)
    as ints and a float, targets, and the raw fields (for the golden file)."""
    rides, y, ids = [], [], []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            # float() is correctly rounded: the same bits Go wrote.
            rides.append((int(r["PULocationID"]), int(r["DOLocationID"]), float(r["trip_distance"])))
            y.append(float(r["duration"]))
            ids.append((r["PULocationID"], r["DOLocationID"], r["trip_distance"]))
    return rides, np.array(y), ids


def write_golden(path, ids, pred):
    import zstandard  # here: importing kinds.py (its fit_* functions) needs no zstandard, which Debian 13 lacks

    out = io.StringIO()
    out.write("PULocationID,DOLocationID,trip_distance,prediction\n")
    for (pu, do, dist), p in zip(ids, pred):
        out.write(f"{pu},{do},{dist},{float(p)!r}\n")
    with open(path, "wb") as f:
        f.write(zstandard.ZstdCompressor(level=GOLDEN_ZSTD_LEVEL).compress(out.getvalue().encode()))
