"""A reference evaluator of the export: export/doc.go's formula, literally.

    s := base
    for each tree, in order: s = s + round(scale × leaf)   (in sum's type)
    return link(s / divisor)

(link: none; "exp", the C library's expf of the float32 sum, called
through ctypes: the libm XGBoost calls; or "numpy.exp", "numpy.expm1":
the model's own function, given as link, which the library's predict
applies to the whole array of sums, here to the array of the rides'
divided sums) with each column's value computed from the ride as the spec says (a one-hot
column is 1 when hot; when not, 0, or absent in a sparse row, and an absent
entry is 0 or missing as ensemble.absent says), converted to ensemble.input
before it is compared with the threshold by ensemble.split, a missing value
(absent-as-missing, or NaN) sent where missing_left says.

predict_one does it for one ride with numpy float32/float64 scalars;
predict does the same operations on numpy arrays of those types, a row per
element (elementwise IEEE arithmetic: the same bits), for the thousands of
validation rows. check() compares the export's predictions with the
library's, bit for bit.
"""

import numpy as np

import features

_TYPES = {"float32": np.float32, "float64": np.float64}

_libm = None


def _lib():
    global _libm
    if _libm is None:
        import ctypes
        import ctypes.util
        name = ctypes.util.find_library("m") or "libm.so.6"
        try:
            lib = ctypes.CDLL(name)
        except OSError as e:
            raise Mismatch(f"the C library's math functions ({name}) cannot be loaded: {e}")
        for f in ("expf", "logf"):
            getattr(lib, f).restype = ctypes.c_float
            getattr(lib, f).argtypes = [ctypes.c_float]
        _libm = lib
    return _libm


def libm_expf(x):
    """The C library's expf of each float32 in x (numpy's own np.exp on
    float32 is another algorithm: its results differ in the last bit)."""
    f = _lib().expf
    a = np.asarray(x, dtype=np.float32)
    return np.array([f(float(v)) for v in a.ravel()], dtype=np.float32).reshape(a.shape)


def libm_logf(x):
    """The C library's logf of the float32 x."""
    return np.float32(_lib().logf(float(np.float32(x))))


class Mismatch(Exception):
    pass


class _Tree:
    def __init__(self, t, kind):
        self.cl = np.asarray(t["children_left"], dtype=np.int64)
        self.cr = np.asarray(t["children_right"], dtype=np.int64)
        self.feature = np.asarray(t["feature"], dtype=np.int64)
        self.threshold = np.asarray(t["threshold"], dtype=np.float64)
        self.value = np.asarray(t["value"], dtype=np.float64)
        ml = t.get("missing_left")
        self.missing_left = None if ml is None else np.asarray(ml, dtype=bool)
        # Per node: the column it tests (0 for a leaf), whether that column is
        # one-hot, and which of the ride's numbers it is otherwise (_NUMBER).
        f = np.where(self.cl == -1, 0, self.feature)
        self.column = f
        self.cat = kind[f] <= features.HOT_DO
        self.number = _NUMBER[kind[f]]


# The ride's numbers as predict stacks them: PULocationID, DOLocationID,
# trip_distance; a one-hot kind's entry is never read.
_NUMBER = np.zeros(6, dtype=np.int64)
_NUMBER[features.NUM_DO], _NUMBER[features.NUM_DISTANCE] = 1, 2


class Evaluator:
    def __init__(self, body, link=None):
        """link: for a numpy link, the model's own function of a 1-d array
        of divided sums of the sum's type (forestexport.Model.link_values)."""
        ens = body["ensemble"]
        self.input = _TYPES[ens["input"]]
        self.sum = _TYPES[ens["sum"]]
        if ens["split"] not in ("<=", "<"):
            raise ValueError(f"split {ens['split']!r}")
        self.le = ens["split"] == "<="
        if ens["absent"] not in ("zero", "missing"):
            raise ValueError(f"absent {ens['absent']!r}")
        self.sparse = bool(body["sparse"])
        self.absent_missing = self.sparse and ens["absent"] == "missing"
        self.base = self.sum(ens["base"])
        self.scale = np.float64(ens["scale"])
        self.divisor = self.sum(ens["divisor"])
        self.link = ens.get("link")
        if self.link not in (None, "exp", "numpy.exp", "numpy.expm1") or \
                (self.link == "exp" and self.sum is not np.float32):
            raise ValueError(f"link {self.link!r} of a {ens['sum']} sum")
        if self.link in ("numpy.exp", "numpy.expm1") and link is None:
            raise ValueError(f"link {self.link!r}: the model's own function is needed")
        self.numpy_link = link
        if self.sum(ens["base"]) != ens["base"] or self.sum(ens["divisor"]) != ens["divisor"]:
            raise ValueError("base or divisor is not a value of the sum's type")
        cols = features.columns(body["feature_names"])
        kind = np.array([c[0] for c in cols], dtype=np.int64)
        self.trees = [_Tree(t, kind) for t in body["trees"]]
        self._raw_trees = body["trees"]
        self._cols = cols

    def _term(self, leaf):
        """round(scale × leaf) in the sum's type. The product of two float64s
        rounded to float64 is exact rounding; to float32, it rounds the exact
        product only when it is a float64 (scale 1, or a product that fits)."""
        p = self.scale * leaf
        if self.sum is np.float32:
            if self.scale != 1:
                raise ValueError("a float32 sum with a scale other than 1")
            return p.astype(np.float32) if isinstance(p, np.ndarray) else np.float32(p)
        return p

    def _link(self, s):
        if self.link == "exp":
            return libm_expf(s) if isinstance(s, np.ndarray) else libm_expf(s)[()]
        if self.numpy_link is not None:
            if isinstance(s, np.ndarray):
                return self.numpy_link(np.ascontiguousarray(s, dtype=self.sum))
            return self.numpy_link(np.array([s], dtype=self.sum))[0]
        return s

    # -- one ride, scalars --

    def column(self, f, pu, do, distance):
        """(value, present) of column f for the ride, as the spec says."""
        kind, a, b = self._cols[f]
        if kind <= features.HOT_DO:
            hot = (kind == features.HOT_PU_DO and pu == a and do == b) or \
                  (kind == features.HOT_PU and pu == a) or (kind == features.HOT_DO and do == a)
            if hot:
                return 1.0, True
            if self.absent_missing:
                return None, False  # absent from the sparse row, and absent is missing
            return 0.0, True
        if kind == features.NUM_PU:
            return float(pu), True
        if kind == features.NUM_DO:
            return float(do), True
        return float(distance), True

    def predict_one(self, pu, do, distance):
        s = self.base
        # Each column's value for the ride in the input type (as a float,
        # which compares as the float64 it is), or None when it is absent
        # and absent is missing: computed once for the ride.
        inputs = {}
        for t in self._raw_trees:
            cl, cr, feature, threshold = t["children_left"], t["children_right"], t["feature"], t["threshold"]
            n = 0
            while cl[n] != -1:
                f = feature[n]
                if f in inputs:
                    x = inputs[f]
                else:
                    v, present = self.column(f, pu, do, distance)
                    x = inputs[f] = float(self.input(v)) if present else None
                if x is None or x != x:  # missing, or NaN
                    left = bool(t["missing_left"][n])
                else:
                    thr = float(threshold[n])
                    left = x <= thr if self.le else x < thr
                n = cl[n] if left else cr[n]
            s = self.sum(s + self._term(np.float64(t["value"][n])))
        return np.float64(self._link(self.sum(s / self.divisor)))

    # -- many rides, arrays --

    def predict(self, pu, do, distance):
        return self._link(self.sums(pu, do, distance)).astype(np.float64)

    def sums(self, pu, do, distance):
        """The divided sums, s / divisor in the sum's type, before the link."""
        pu = np.asarray(pu, dtype=np.int64)
        do = np.asarray(do, dtype=np.int64)
        distance = np.asarray(distance, dtype=np.float64)
        n = len(pu)
        s = np.full(n, self.base, dtype=self.sum)
        nan_rows = bool(np.isnan(distance).any())
        # Each ride's numbers in the input type, widened back (what a numeric
        # split compares), stacked: numbers[k * n + i] is ride i's number k
        # (_NUMBER).
        numbers = np.concatenate([pu.astype(np.float64), do.astype(np.float64), distance]) \
            .astype(self.input).astype(np.float64)
        # Each ride's hot columns: the PU_DO, PULocationID and DOLocationID
        # columns of its ids (-1 for none; a layer more for a category that
        # two columns hold): a one-hot column is hot exactly when it is one
        # of them.
        layers = []  # (kind, {category: column})
        for f, (kind, a, b) in enumerate(self._cols):
            if kind <= features.HOT_DO:
                category = (a, b) if kind == features.HOT_PU_DO else a
                by = next((by for k, by in layers if k == kind and category not in by), None)
                if by is None:
                    by = {}
                    layers.append((kind, by))
                by[category] = f
        hots = []
        for kind, by in layers:
            ids = zip(pu.tolist(), do.tolist()) if kind == features.HOT_PU_DO else \
                (pu if kind == features.HOT_PU else do).tolist()
            hots.append(np.array([by.get(k, -1) for k in ids], dtype=np.int64))
        for t in self.trees:
            node = np.zeros(n, dtype=np.int64)
            idx = np.arange(n)
            while True:
                cur = node[idx]
                inner = t.cl[cur] != -1
                if not inner.all():
                    idx, cur = idx[inner], cur[inner]
                if idx.size == 0:
                    break
                col, cat = t.column[cur], t.cat[cur]
                hot = np.zeros(idx.size, dtype=bool)
                for h in hots:
                    hot |= col == h[idx]
                x = np.where(cat, hot.astype(np.float64), numbers[t.number[cur] * n + idx])
                go_left = (x <= t.threshold[cur]) if self.le else (x < t.threshold[cur])
                if nan_rows or self.absent_missing:
                    missing = np.isnan(x)
                    if self.absent_missing:
                        missing |= cat & ~hot
                    if missing.any():
                        if t.missing_left is None:
                            raise ValueError("a missing value, but the tree has no missing_left")
                        go_left = np.where(missing, t.missing_left[cur], go_left)
                node[idx] = np.where(go_left, t.cl[cur], t.cr[cur])
            s = (s + self._term(t.value[node])).astype(self.sum, copy=False)
        return (s / self.divisor).astype(self.sum)


def check(body, rides, library, what="row", link=None):
    """Checks that the export predicts each ride (pu, do, distance) as the
    library did (library: its predictions, any float dtype), comparing
    float64 bits; Mismatch names the first ride that differs. link: the
    model's own function, for a numpy link (Evaluator)."""
    ev = Evaluator(body, link)
    # Each distinct ride is evaluated once (NaN distances are never equal:
    # each is its own).
    first = {}
    inverse = np.array([first.setdefault(r, len(first)) for r in rides], dtype=np.int64)
    unique = list(first)
    pu, do, dist = (np.array(c) for c in zip(*unique)) if unique else ([], [], [])
    got = ev.predict(pu, do, dist)[inverse] if unique else np.zeros(0)
    want = np.asarray(library).astype(np.float64)
    bad = np.flatnonzero(got.view(np.uint64) != want.view(np.uint64))
    if bad.size:
        i = int(bad[0])
        raise Mismatch(f"the export does not reproduce the library's prediction of {what} {i} "
                       f"(PULocationID {rides[i][0]}, DOLocationID {rides[i][1]}, trip_distance {rides[i][2]!r}): "
                       f"library {want[i]!r}, export {got[i]!r} ({bad.size} of {len(rides)} differ)")
    # The array evaluation is the scalar one, row by row: spot-check it on
    # the first and last rides (fewer for big models).
    k = max(10, min(200, 50_000 // max(1, len(body["trees"]))))
    for i in sorted(set(range(min(k, len(rides)))) | set(range(max(0, len(rides) - k // 4), len(rides)))):
        one = ev.predict_one(*rides[i])
        if np.float64(one).view(np.uint64) != got[i].view(np.uint64):
            raise Mismatch(f"reference evaluator: the scalar walk gives {one!r} for {what} {i}, the array walk "
                           f"{got[i]!r}")
    return got
