"""The second pass with a link whose last bit depends on an element's position in the batch.

    python3 training/testdata/link_position.py MODEL EXPORT.json SUMS.json

Loads MODEL as export.py does and has its link_values give the element at
an odd position one ulp more than np.exp does, as a SIMD kernel whose
result depends on the element's alignment might: forestexport.link_table
must refuse it. Prints the refusal (the exit status is 0 only then).
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

import export  # noqa: E402
import forestexport  # noqa: E402


def main(model_path, export_path, sums):
    model, _ = export.load_model(model_path, log=lambda *a: None)
    own = model.link_values

    def shifted(a):
        out = np.array(own(a))
        odd = np.arange(len(out)) % 2 == 1
        out[odd] = np.nextafter(out[odd], np.inf)
        return out

    model.link_values = shifted
    with open(export_path) as f:
        doc = json.load(f)
    try:
        forestexport.link_table(model, doc, sums)
    except forestexport.Unsupported as e:
        print(f"check: {e}")
        return 0
    print("link_table took a position-dependent link")
    return 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
