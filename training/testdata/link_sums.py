"""The divided sums of an export's validation rides, as the table's link is asked for them.

    python3 training/testdata/link_sums.py EXPORT.json VALID.csv SUMS.json [RIDES.json]

EXPORT.json is export.py's first pass, VALID.csv the prep table it was
checked on; SUMS.json gets the reference evaluator's (reference.py) divided
sums of those rides, each distinct one once, ascending (-0 before +0), as a
JSON array of float64s (a float32 sum widened), as Go writes the sums of a
table; RIDES.json, if given, each ride's sum, in the table's order.
TestLinkTable gives SUMS.json to export.py's second pass and finds each
ride's golden prediction in the link table at its sum.
"""

import json
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

import reference  # noqa: E402
import tables  # noqa: E402


def main(export, valid, out, rides_out=None):
    with open(export) as f:
        body = json.load(f)
    rides, _, _ = tables.read_table(valid)
    # The sums need no link: any function stands in for the model's.
    ev = reference.Evaluator(body, link=lambda s: s)
    pu, do, dist = (np.array(c) for c in zip(*rides))
    each = [float(s) for s in ev.sums(pu, do, dist)]
    # With its sign, so that -0 and +0 are each their own.
    unique = {(s, math.copysign(1.0, s)) for s in each}
    ordered = sorted((s for s, _ in unique), key=lambda v: (v, math.copysign(1.0, v) > 0))
    with open(out, "w") as f:
        json.dump(ordered, f)
    if rides_out:
        with open(rides_out, "w") as f:
            json.dump(each, f)


if __name__ == "__main__":
    main(*sys.argv[1:])
