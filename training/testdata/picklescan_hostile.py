"""Pickles that would run code, one file a case, into the directory given.

    python3 training/testdata/picklescan_hostile.py DIR MARKER

Each live case, unpickled, creates the file MARKER (a command, a Python
statement, a process); the others would import a module of no model. They
are written as bytes assembled opcode by opcode, or by pickle.dumps of an
object whose __reduce__ names the payload: writing them runs none of it.
The Go test TestPickleScanRefusesHostile checks that picklescan refuses each,
naming the global, and that MARKER is never created; then that plain
pickle.load does run each live case.
"""

import os
import pickle
import struct
import subprocess
import sys

import numpy as np
from sklearn.feature_extraction import DictVectorizer
from sklearn.pipeline import make_pipeline
from sklearn.tree import DecisionTreeRegressor

d, marker = sys.argv[1], sys.argv[2]
touch = f"touch {marker}"


def unicode(s):
    """SHORT_BINUNICODE s."""
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b


def stack_global(module, name):
    """STACK_GLOBAL of module and name, each pushed and memoized."""
    return unicode(module) + b"\x94" + unicode(name) + b"\x94" + b"\x93"


class Reduce:
    """Pickles as func(*args): what a hostile __reduce__ returns."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


class MyTransformer:
    """A class of the user's own: pickled by reference, as __main__.MyTransformer."""


PROTO4 = b"\x80\x04"
call_touch = unicode(touch) + b"\x85" + b"R"  # ('touch MARKER',) TUPLE1, REDUCE

rows = [{"PU_DO": f"{i % 7 + 1}_{i % 5 + 1}", "trip_distance": float(i % 11)} for i in range(100)]
nested = make_pipeline(DictVectorizer(), DecisionTreeRegressor(max_depth=3, random_state=0)).fit(
    rows, np.array([r["trip_distance"] * 2 + 1 for r in rows]))
nested.steps[0][1].hostile = Reduce(os.system, touch)  # os.system is posix.system: pickle names it so

cases = {
    # name: the pickle's bytes
    "os-system": b"cos\nsystem\n(S'" + touch.encode() + b"'\ntR.",
    "exec": pickle.dumps(Reduce(exec, f"open({marker!r}, 'w').close()"), protocol=4),
    "eval": pickle.dumps(Reduce(eval, f"__import__('os').system({touch!r})"), protocol=2),
    "import": pickle.dumps(Reduce(__import__, "os"), protocol=4),
    # getattr(sklearn.os, "system")("touch MARKER"): the os module through an importable path
    "getattr-chain": PROTO4 + stack_global("builtins", "getattr") + stack_global("sklearn", "os")
                     + unicode("system") + b"\x86" + b"R" + call_touch + b".",
    # protocol 4 resolves a dotted name attribute by attribute: sklearn.os.system is os.system
    "dotted-name": PROTO4 + stack_global("sklearn", "os.system") + call_touch + b".",
    "unknown-module": b"cevil\nthing\n)R.",
    "posix-system": pickle.dumps(Reduce(os.system, touch), protocol=4),
    "subprocess-popen": pickle.dumps(Reduce(subprocess.Popen, ["touch", marker]), protocol=4),
    "nested-in-pipeline": pickle.dumps(nested, protocol=4),
    # the names pushed and memoized early, popped, then fetched from the memo for STACK_GLOBAL
    "stack-global-memo": PROTO4 + unicode("posix") + b"\x94" + unicode("system") + b"\x94" + b"00"
                         + unicode("numpy") + unicode("dtype") + b"00"
                         + b"h\x00" + b"h\x01" + b"\x93" + call_touch + b".",
    # LONG_BINPUT/LONG_BINGET and BINPUT/BINGET at explicit indexes
    "stack-global-binput": PROTO4 + unicode("posix") + b"r" + struct.pack("<I", 7) + unicode("system")
                           + b"q\x03" + b"00" + b"j" + struct.pack("<I", 7) + b"h\x03" + b"\x93" + call_touch + b".",
    "inst": b"(S'" + touch.encode() + b"'\nios\nsystem\n.",
    "obj": b"(cos\nsystem\nS'" + touch.encode() + b"'\no.",
    "user-class": pickle.dumps(MyTransformer(), protocol=4),
    "numpy-load": PROTO4 + stack_global("numpy", "load") + unicode(os.path.join(d, "x.npy")) + b"\x85R.",
    "numpy-testing": PROTO4 + stack_global("numpy.testing._private.utils", "runstring")
                     + unicode(f"open({marker!r}, 'w').close()") + b"}\x86R.",
    "extension-registry": b"\x80\x02\x82\x01.",
    # STACK_GLOBAL on a module name the pickle computes (bytes.decode of allowed-looking bytes)
    "computed-name": PROTO4 + stack_global("_codecs", "encode") + unicode("posix") + unicode("ascii") + b"\x86R"
                     + unicode("system") + b"\x93" + call_touch + b".",
    # BUILD with a state (None, {"predict": None}) sets an attribute of the class Interval itself
    "class-attribute": PROTO4 + stack_global("sklearn._loss.link", "Interval") + b"N}" + unicode("predict") + b"Ns"
                       + b"\x86b.",
    # REDUCE on what a call returned, not on a global the pickle names
    "computed-callable": PROTO4 + stack_global("numpy", "dtype") + unicode("f8") + b"\x85R)R.",
    "protocol-6": b"\x80\x06N.",
    "truncated": pickle.dumps(nested, protocol=4)[:200],
}
for name, data in cases.items():
    with open(os.path.join(d, name + ".pkl"), "wb") as f:
        f.write(data)
