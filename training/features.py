"""What a ride carries, as a model's DictVectorizer sees it.

A ride carries PULocationID and DOLocationID (positive integers) and
trip_distance (a float). A model's DictVectorizer.feature_names_ may hold any
mix of these columns (package feature in Go reads the same names):

    "PU_DO=<PU>_<DO>"     one-hot: the string '%s_%s' % (PU, DO)
    "PULocationID=<id>"   one-hot: str(PULocationID); likewise DOLocationID
    "PULocationID"        the id as a number; likewise DOLocationID
    "trip_distance"       the distance as a number

Forms.of(feature_names) says which keys, and in which form, the vectorizer
was given; Forms.ride(pu, do, distance) is the one mapping from a ride to
the dict the vectorizer is given, used for the golden predictions, the test
ride and the RMSE. Forms.column_values() says, per column, how the export's
reader computes the column from a ride (the reference evaluator uses it).
"""

import re

PU_DO, PU, DO, DISTANCE = "PU_DO", "PULocationID", "DOLocationID", "trip_distance"
MAX_ID = 2**31 - 1  # Go keeps location ids in int32

SUPPORTED = ('a ride event carries PULocationID and DOLocationID (positive integers) and trip_distance; '
             'a model feature must be one of "PU_DO=<PU>_<DO>", "PULocationID=<id>", "DOLocationID=<id>" '
             '(one-hot categories, ids as str(int) writes them: "130", not "130.0"), "PULocationID", '
             '"DOLocationID", "trip_distance" (numbers)')

_ID = r"([1-9][0-9]{0,9})"
_PATTERNS = [
    (re.compile(r"PU_DO=" + _ID + "_" + _ID), PU_DO),
    (re.compile(r"PULocationID=" + _ID), PU),
    (re.compile(r"DOLocationID=" + _ID), DO),
]

# Column kinds, as the reference evaluator computes them.
HOT_PU_DO, HOT_PU, HOT_DO, NUM_PU, NUM_DO, NUM_DISTANCE = range(6)


class FeatureError(ValueError):
    pass


def _id(s, name):
    v = int(s)
    if v > MAX_ID:
        raise FeatureError(f"the model's feature {name!r} is not something a ride event carries: "
                           f"location id {s} is larger than {MAX_ID}; {SUPPORTED}")
    return v


def parse(name):
    """Returns (kind, a, b) of one feature name, or raises FeatureError."""
    if name == PU:
        return NUM_PU, 0, 0
    if name == DO:
        return NUM_DO, 0, 0
    if name == DISTANCE:
        return NUM_DISTANCE, 0, 0
    for pattern, key in _PATTERNS:
        m = pattern.fullmatch(name)
        if m:
            ids = [_id(g, name) for g in m.groups()]
            kind = {PU_DO: HOT_PU_DO, PU: HOT_PU, DO: HOT_DO}[key]
            return kind, ids[0], ids[1] if len(ids) > 1 else 0
    raise FeatureError(f"the model's feature {name!r} is not something a ride event carries: {SUPPORTED}")


class Forms:
    """Which ride values a vectorizer was given, and as what."""

    def __init__(self, pu_do=False, pu=None, do=None, distance=False):
        self.pu_do = pu_do        # PU_DO given, as '%s_%s' % (PU, DO)
        self.pu = pu              # None, "str" (a category) or "int" (a number)
        self.do = do
        self.distance = distance  # trip_distance given, as a float

    @classmethod
    def of(cls, feature_names):
        """The forms a fitted vectorizer's feature_names_ show; FeatureError
        names the first feature a ride cannot feed."""
        f = cls()
        seen = set()
        for name in feature_names:
            if name in seen:
                raise FeatureError(f"the model's feature {name!r} appears twice")
            seen.add(name)
            kind, _, _ = parse(name)
            if kind == HOT_PU_DO:
                f.pu_do = True
            elif kind == NUM_DISTANCE:
                f.distance = True
            else:
                attr = "pu" if kind in (HOT_PU, NUM_PU) else "do"
                form = "str" if kind in (HOT_PU, HOT_DO) else "int"
                if getattr(f, attr) not in (None, form):
                    key = PU if attr == "pu" else DO
                    raise FeatureError(f"the model has both {key} categories and a {key} number "
                                       f"(feature {name!r}): a ride's dict gives {key} as one or the other")
                setattr(f, attr, form)
        if not seen:
            raise FeatureError("the model has no features")
        return f

    def ride(self, pu, do, distance):
        """The dict the vectorizer is given for a ride: only the keys the
        model has columns for, each in the form the model saw it."""
        d = {}
        if self.pu_do:
            d[PU_DO] = "%s_%s" % (pu, do)
        if self.pu == "str":
            d[PU] = str(pu)
        elif self.pu == "int":
            d[PU] = int(pu)
        if self.do == "str":
            d[DO] = str(do)
        elif self.do == "int":
            d[DO] = int(do)
        if self.distance:
            d[DISTANCE] = float(distance)
        return d

    def describe(self):
        parts = []
        if self.pu_do:
            parts.append("PU_DO (category)")
        for key, form in ((PU, self.pu), (DO, self.do)):
            if form:
                parts.append(f"{key} ({'category' if form == 'str' else 'number'})")
        if self.distance:
            parts.append("trip_distance")
        return ", ".join(parts)

    @classmethod
    def parse(cls, spec):
        """Forms from "PU_DO,PU:str,DO:int,distance" (kinds.py)."""
        f = cls()
        for part in spec.split(","):
            if part == "PU_DO":
                f.pu_do = True
            elif part == "distance":
                f.distance = True
            else:
                key, form = part.split(":")
                setattr(f, key.lower(), form)
        return f


def columns(feature_names):
    """Per column (kind, a, b): what the export's reader computes from a ride."""
    return [parse(n) for n in feature_names]
