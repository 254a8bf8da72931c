"""Read a run's pickle before it is loaded: refuse one that imports anything
a model of this exporter is not made of.

    python3 training/picklescan.py [--load] FILE...

Unpickling calls whatever the pickle names: GLOBAL, STACK_GLOBAL and INST
import a module and take a global of it, REDUCE, NEWOBJ and OBJ call it, so
a pickle that names os.system runs a command. scan() reads the opcodes with
pickletools, without running any (pickletools only parses), and lists every
global the pickle would import, as the unpickler resolves it:

- GLOBAL and INST spell the module and name out: read as the unpickler
  reads them (two lines, UTF-8), and mapped as it maps them for a protocol
  0-2 pickle (Python 2 names, _compat_pickle, as pickle.Unpickler.find_class
  does with fix_imports);
- STACK_GLOBAL takes them from the stack: the stack and the memo are
  emulated (MARK, PUT/BINPUT/LONG_BINPUT/MEMOIZE, GET/BINGET/LONG_BINGET, each
  opcode's stack effect from pickletools' table) and both must be strings
  the pickle spells out;
- the callable REDUCE, NEWOBJ, NEWOBJ_EX and OBJ call must be such a global,
  and what BUILD, APPEND(S), SETITEM(S) and ADDITEMS change must not be one
  (pickle.dump never writes a class's or a function's attributes or items);
- the extension registry (EXT1/2/4: copyreg's codes, which name no global),
  persistent ids and out-of-band buffers are refused: no model pickle uses
  them; so is a PROTO anywhere but first, and a protocol above this
  Python's pickle.HIGHEST_PROTOCOL.

check() then refuses the first global not in ALLOWED, and load() unpickles
the very bytes it checked, so nothing in the file runs before the check,
and nothing runs at all if it fails.

ALLOWED is exact (module, name) pairs, no module prefixes: the classes and
the few functions (numpy's array and scalar reconstructors and
numpy.random's constructors, the ufuncs np.log, np.exp, np.log1p and
np.expm1 that a TransformedTargetRegressor's FunctionTransformer holds,
Cython's unpicklers of scikit-learn's loss types, _codecs.encode) that the
pickles of the models export.py compiles use, gathered by pickling each
kind (training/kinds.py's fit_*, and HistGradientBoostingRegressor's other
exported losses and early stopping)
with pickle protocols 2, 4 and 5 and with cloudpickle on Debian 12 (Python
3.11, scikit-learn 1.2.1, xgboost 1.7.4, numpy 1.24) and Debian 13 (Python
3.13, scikit-learn 1.4.2, xgboost 3.0.0, numpy 2.2); picklescan_test.go does
it again with every kind. scikit-learn's Cython types (sklearn.tree._tree.
Tree, sklearn._loss._loss.Cy*) are listed one by one too, and numpy's under
both its 1.x and its 2.x module names. cloudpickle (MLflow's
serialization_format cloudpickle; the test uses the copy joblib vendors)
pickles an importable class by reference, so a Pipeline of scikit-learn
estimators pickles to the same globals as pickle at protocol 5;
cloudpickle's own globals (cloudpickle.cloudpickle._make_function and the
like) rebuild functions and classes from their code, and are refused.

The anchors: picklescan (github.com/mmaitre314/picklescan, scanner.py:
_unsafe_globals, the dangerous globals it flags: builtins eval, exec, compile,
getattr, open, breakpoint; os, posix, nt, subprocess, sys, socket, shutil,
runpy, pickle, pip, pydoc, webbrowser, numpy.testing._private.utils,
functools.partial, operator.attrgetter/itemgetter/methodcaller, ...) is a
denylist over the same opcodes; this module is an allowlist, as its
_safe_globals is for numpy (numpy.dtype, numpy.ndarray,
numpy[._]core.multiarray._reconstruct), so none of those, nor any global
neither list knows (a module of the user's own, __main__.MyTransformer),
passes. skops (github.com/skops-dev/skops, skops/io/_trusted_types.py and
_sklearn.py; skops.io.get_untrusted_types lists a file's types that are not
trusted by default) trusts by default builtins' primitives, scikit-learn's
estimators (sklearn.utils.all_estimators), numpy's dtypes and ufuncs,
sklearn.tree._tree.Tree and the Cython loss classes: ALLOWED is the part of
that a model here uses, plus what plain pickle needs to rebuild it that
skops' own format does not (copyreg._reconstructor is not among them: only
protocols 0 and 1 use it, which no model writer here uses).

Standard library only; Python 3.9 to 3.13.
"""

import _compat_pickle
import pickle
import pickletools
import sys
from typing import List, NamedTuple, Tuple

_NUMPY = [
    # numpy 1's module names ...
    ("numpy.core.multiarray", "_reconstruct"),   # an ndarray (ndarray.__reduce__)
    ("numpy.core.multiarray", "scalar"),         # a numpy scalar (np.float64(1.5))
    ("numpy.core.numeric", "_frombuffer"),       # an ndarray at protocol 5 (ndarray.__reduce_ex__)
    # ... and numpy 2's
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),                          # with fields: the trees' node records
    ("numpy", "float64"),                        # DictVectorizer(dtype=np.float64)
    # random number generators the estimators keep (GradientBoostingRegressor's _rng,
    # HistGradientBoostingRegressor's feature subsampling's from scikit-learn 1.4)
    ("numpy.random._pickle", "__randomstate_ctor"),
    ("numpy.random._pickle", "__generator_ctor"),
    ("numpy.random._pickle", "__bit_generator_ctor"),
    ("numpy.random._mt19937", "MT19937"),
    ("numpy.random._pcg64", "PCG64"),
    ("numpy.random.bit_generator", "SeedSequence"),
    # Cython's unpickler of SeedSequence: SeedSequence.__new__(cls), then its state
    ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
    # the ufuncs a TransformedTargetRegressor's FunctionTransformer may hold (func=np.log,
    # inverse_func=np.exp; np.log1p, np.expm1), pickled by name: numpy 1 by the module
    # that defines them, numpy 2 as numpy's own
    ("numpy.core._multiarray_umath", "exp"),
    ("numpy.core._multiarray_umath", "expm1"),
    ("numpy.core._multiarray_umath", "log"),
    ("numpy.core._multiarray_umath", "log1p"),
    ("numpy", "exp"),
    ("numpy", "expm1"),
    ("numpy", "log"),
    ("numpy", "log1p"),
]

_SKLEARN = [
    ("sklearn.pipeline", "Pipeline"),
    ("sklearn.compose._target", "TransformedTargetRegressor"),
    ("sklearn.preprocessing._function_transformer", "FunctionTransformer"),  # its transformer_
    ("sklearn.feature_extraction._dict_vectorizer", "DictVectorizer"),
    ("sklearn.tree._classes", "DecisionTreeRegressor"),
    ("sklearn.tree._classes", "ExtraTreeRegressor"),
    ("sklearn.tree._tree", "Tree"),
    ("sklearn.ensemble._forest", "RandomForestRegressor"),
    ("sklearn.ensemble._forest", "ExtraTreesRegressor"),
    ("sklearn.ensemble._gb", "GradientBoostingRegressor"),
    ("sklearn.dummy", "DummyRegressor"),          # GradientBoostingRegressor(init=None).init_
    # GradientBoostingRegressor's losses before scikit-learn 1.4 ...
    ("sklearn.ensemble._gb_losses", "LeastSquaresError"),
    ("sklearn.ensemble._gb_losses", "HuberLossFunction"),
    ("sklearn.ensemble._gb_losses", "QuantileLossFunction"),
    ("sklearn.ensemble._gb_losses", "LeastAbsoluteError"),
    ("sklearn.ensemble._hist_gradient_boosting.gradient_boosting", "HistGradientBoostingRegressor"),
    ("sklearn.ensemble._hist_gradient_boosting.predictor", "TreePredictor"),
    ("sklearn.ensemble._hist_gradient_boosting.binning", "_BinMapper"),
    # ... and the common ones: HistGradientBoostingRegressor's, and GradientBoostingRegressor's from 1.4
    ("sklearn._loss.loss", "HalfSquaredError"),
    ("sklearn._loss.loss", "AbsoluteError"),
    ("sklearn._loss.loss", "PinballLoss"),
    ("sklearn._loss.loss", "HuberLoss"),
    ("sklearn._loss._loss", "CyHalfSquaredError"),
    ("sklearn._loss._loss", "CyAbsoluteError"),
    ("sklearn._loss._loss", "CyPinballLoss"),
    ("sklearn._loss._loss", "CyHuberLoss"),
    # Cython's unpicklers of those: Cy*.__new__(cls), which refuses a cls not a subclass, then its state
    ("sklearn._loss._loss", "__pyx_unpickle_CyHalfSquaredError"),
    ("sklearn._loss._loss", "__pyx_unpickle_CyAbsoluteError"),
    ("sklearn._loss._loss", "__pyx_unpickle_CyPinballLoss"),
    ("sklearn._loss._loss", "__pyx_unpickle_CyHuberLoss"),
    # HistGradientBoostingRegressor's log-link losses: poisson, gamma (scikit-learn 1.3+)
    ("sklearn._loss.loss", "HalfPoissonLoss"),
    ("sklearn._loss.loss", "HalfGammaLoss"),
    ("sklearn._loss._loss", "CyHalfPoissonLoss"),
    ("sklearn._loss._loss", "CyHalfGammaLoss"),
    ("sklearn._loss._loss", "__pyx_unpickle_CyHalfPoissonLoss"),
    ("sklearn._loss._loss", "__pyx_unpickle_CyHalfGammaLoss"),
    ("sklearn._loss.link", "IdentityLink"),
    ("sklearn._loss.link", "LogLink"),
    ("sklearn._loss.link", "Interval"),
]

_XGBOOST = [
    ("xgboost.sklearn", "XGBRegressor"),
    ("xgboost.core", "Booster"),
    ("collections", "OrderedDict"),              # XGBRegressor's evals_result_
    ("builtins", "bytearray"),                   # the Booster's model (Booster.__getstate__)
]

_PYTHON = [
    # protocol 2 writes bytes as _codecs.encode(str, "latin1"), b"" as bytes(): encode looks a
    # codec up only among the standard library's encodings package
    ("_codecs", "encode"),
    ("builtins", "bytes"),
]

ALLOWED = frozenset(_NUMPY + _SKLEARN + _XGBOOST + _PYTHON)

RAN_NOTHING = "refused before loading (nothing in it ran)"


class Refused(Exception):
    """A pickle not to load, and why: str() names the file and the global.
    global_ is the (module, name) refused for not being allowed, else None."""

    def __init__(self, message, global_=None):
        super().__init__(message)
        self.global_ = global_


class Scan(NamedTuple):
    protocol: int                     # PROTO's argument; a protocol 0-1 pickle's implied one
    globals: List[Tuple[str, str]]    # (module, name) as the unpickler resolves them, in opcode order, once each


class _Global(tuple):
    """A value on the emulated stack that is a global: (module, name)."""


_ANY = object()  # any other value on the emulated stack
_STR_OPS = {"UNICODE", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8"}
_ASCII_STR_OPS = {"STRING", "BINSTRING", "SHORT_BINSTRING"}  # str as the unpickler decodes them: ASCII
_CALLS = {"REDUCE", "NEWOBJ", "NEWOBJ_EX"}  # call the first value they pop
_CHANGES = {"BUILD", "APPEND", "APPENDS", "SETITEM", "SETITEMS", "ADDITEMS"}  # change the first value they pop
_FORBIDDEN = {
    "EXT1": "the extension registry (copyreg's codes, which name no global)",
    "EXT2": "the extension registry (copyreg's codes, which name no global)",
    "EXT4": "the extension registry (copyreg's codes, which name no global)",
    "PERSID": "a persistent id",
    "BINPERSID": "a persistent id",
    "NEXT_BUFFER": "an out-of-band buffer",
}


def _name(g):
    return f"{g[0]}.{g[1]}"


def _resolve(module, name, proto):
    """(module, name) as pickle.Unpickler.find_class takes it (fix_imports)."""
    if proto < 3:
        if (module, name) in _compat_pickle.NAME_MAPPING:
            return _compat_pickle.NAME_MAPPING[(module, name)]
        if module in _compat_pickle.IMPORT_MAPPING:
            return _compat_pickle.IMPORT_MAPPING[module], name
    return module, name


def _lines(data, pos):
    """GLOBAL's and INST's argument as the unpickler reads it: two UTF-8 lines."""
    rest = data[pos + 1:]
    parts = rest.split(b"\n", 2)
    if len(parts) < 3:
        raise ValueError("a GLOBAL without its two lines")
    return parts[0].decode("utf-8"), parts[1].decode("utf-8")


def _scan(data, path, allowed=None):
    def refuse(why, g=None):
        raise Refused(f"{path}: {why}", g)

    def malformed(pos, why):
        at = f" at byte {pos}" if pos is not None else ""
        refuse(f"not a whole pickle: {why}{at}: the file is truncated, corrupted or crafted: " + RAN_NOTHING)

    protocol = None  # the PROTO opcode's
    implied = 0
    seen = {}
    stack, metastack, memo = [], [], {}

    def pop(n, pos, name):
        if len(stack) < n:
            malformed(pos, f"{name} pops {n} values from a stack of {len(stack)}")
        if n == 0:
            return []
        out = stack[-n:]
        del stack[-n:]
        return out

    def note(g, pos):
        if g not in seen:
            seen[g] = pos
            if allowed is not None and g not in allowed:
                refuse(f"the pickle imports {_name(g)}, which a model never needs: " + RAN_NOTHING, g)
        return _Global(g)

    ops = pickletools.genops(data)
    while True:
        try:
            op, arg, pos = next(ops)
        except StopIteration:
            break
        except Exception as e:  # pickletools: truncated, an unknown opcode, a bad argument
            malformed(None, f"{e}")
        name = op.name
        implied = max(implied, op.proto)
        proto = protocol or 0
        if name == "PROTO":
            if pos != 0:
                malformed(pos, "a second PROTO")
            protocol = arg
            if arg > pickle.HIGHEST_PROTOCOL:
                refuse(f"written with pickle protocol {arg}; this Python ({sys.version_info[0]}.{sys.version_info[1]}) "
                       f"reads up to {pickle.HIGHEST_PROTOCOL}: use the run's Python")
            continue
        if name in _FORBIDDEN:
            refuse(f"the pickle uses {_FORBIDDEN[name]} ({name} at byte {pos}), which a model never needs: "
                   + RAN_NOTHING)

        if name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"):  # the stack stays as it is
            if not stack:
                malformed(pos, f"{name} with an empty stack")
            idx = len(memo) if name == "MEMOIZE" else arg
            if idx < 0:
                malformed(pos, f"{name} {idx}")
            memo[idx] = stack[-1]
            continue
        before, after = op.stack_before, op.stack_after
        if name == "MARK":
            metastack.append(stack)
            stack = []
            continue
        if pickletools.markobject in before or (name == "POP" and not stack):
            if not metastack:
                malformed(pos, f"{name} without a MARK")
            marked, stack = stack, metastack.pop()
            popped = pop(before.index(pickletools.markobject) if pickletools.markobject in before else 0, pos, name)
        else:
            marked = None
            popped = pop(len(before), pos, name)

        if name in ("GLOBAL", "INST"):
            try:
                module, gname = _lines(data, pos)
            except ValueError as e:
                malformed(pos, f"{name}: {e}")
            result = note(_resolve(module, gname, proto), pos)
            if name == "INST":
                result = _ANY
        elif name == "STACK_GLOBAL":
            module, gname = popped
            if not (isinstance(module, str) and isinstance(gname, str)):
                refuse(f"the pickle imports a global whose name it computes (STACK_GLOBAL at byte {pos} on values "
                       f"that are not strings it spells out): " + RAN_NOTHING)
            result = note(_resolve(module, gname, proto), pos)
        elif name in _STR_OPS:
            result = arg
        elif name in _ASCII_STR_OPS:
            result = arg if isinstance(arg, str) and arg.isascii() else _ANY
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            if arg not in memo:
                malformed(pos, f"{name} {arg}, never stored")
            result = memo[arg]
        elif name == "DUP":
            stack.extend(popped * 2)
            continue
        else:
            if (name in _CALLS and not isinstance(popped[0], _Global)) or \
                    (name == "OBJ" and not (marked and isinstance(marked[0], _Global))):
                refuse(f"the pickle calls a value that is not a global it names ({name} at byte {pos}): " + RAN_NOTHING)
            if name in _CHANGES and isinstance(popped[0], _Global):
                refuse(f"the pickle changes {_name(popped[0])} itself ({name} at byte {pos}), which a model never "
                       "needs: " + RAN_NOTHING)
            result = _ANY
        stack.extend(result for a in after if a is not pickletools.markobject)
    return Scan(protocol if protocol is not None else implied, list(seen))


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def scan(path):
    """The pickle's protocol and the globals it imports; Refused if it is
    malformed or imports a global whose name it does not spell out."""
    return _scan(_read(path), path)


def check(path):
    """scan(path), refusing the first global not in ALLOWED."""
    return _scan(_read(path), path, ALLOWED)


def load(path):
    """Unpickles path once check() passes it: the bytes checked are the
    bytes loaded."""
    data = _read(path)
    _scan(data, path, ALLOWED)
    return pickle.loads(data)


def main(argv):
    loading = argv[:1] == ["--load"]
    paths = argv[1:] if loading else argv
    if not paths:
        print(__doc__.splitlines()[2].strip(), file=sys.stderr)
        return 2
    for path in paths:
        try:
            s = check(path)
            if loading:
                obj = load(path)
                print(f"{path}: loaded {type(obj).__module__}.{type(obj).__qualname__}")
        except Refused as e:
            print(e, file=sys.stderr)
            return 1
        print(f"{path}: protocol {s.protocol}, {len(s.globals)} globals: " + ", ".join(_name(g) for g in s.globals))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
