#!/usr/bin/env python3
"""Differential PackStream v1 oracle backed by the official Neo4j Python driver.

The Rust test suite runs this script (with a venv's python that has the PyPI
package ``neo4j`` installed, 5.28.x or 6.x) as a subprocess and compares its
output with boltward's own PackStream codec.  Only the driver's raw,
low-level PackStream v1 ``Packer``/``Unpacker`` and its raw ``Structure`` are
used: no hydration of structures into driver types (Node, Date, ...) and no
dehydration of driver types.

Modes
-----
``gen --seed S --count N [--max-depth D]``
    Deterministically (``random.Random(S)``) generate N values, pack each with
    the driver's Packer and print ``<packed hex> <canon>`` per value.  The
    first values of every run are a fixed corpus of edge cases (size-class
    boundaries, special floats, one value of every structure shape), so even a
    small N covers them whatever the seed.

``check``
    Read all of stdin first (so a caller that writes every line before reading
    cannot deadlock on full pipes), then for each line -- lowercase hex of one
    packed value -- unpack it with the driver's Unpacker, re-pack it and print
    ``<repacked hex> <canon>``, or ``ERR <message>`` when the driver rejects
    it (including truncated input and trailing bytes, which the driver's
    Unpacker itself does not notice; this script checks the read position).
    Exactly one output line per input line, in order.

``selftest [--seed S] [--count N]``
    In-process: gen, then every gen line through check (must reproduce the
    line exactly), plus an independent stdlib reference encoder that must
    produce the same bytes as the driver (smallest markers everywhere), plus
    a few malformed inputs that must give ERR.  Exit status 1 on any mismatch.

``info``
    Print the driver version and the module paths in use.

Canonical text form (no spaces anywhere)
----------------------------------------
null ``N``, true ``T``, false ``F``, integer ``I<decimal>``, float ``D<16 hex
digits of the IEEE-754 bits>``, string ``S<hex of UTF-8>``, bytes ``B<hex>``,
list ``L[a,b]``, map ``M{<key hex>:<v>,...}`` in wire order, structure
``X<tag 2 hex>(<f>,...)``.  All hex is lowercase.

What the driver does in ``check`` (not bugs of this script)
----------------------------------------------------------
* Decoding is PackStream-level only: known structure tags with the wrong
  arity or field types (e.g. ``b14e01``) are accepted and echoed back.
* Non-minimal encodings are accepted and re-packed minimally
  (``cb0000000000000001`` -> ``01``, ``d000`` -> ``80``).
* A map with a repeated key keeps one entry: the last value at the first
  key's position (``a2816101816102`` -> ``a1816102 M{61:I2}``).
* A non-string map key unpacks, then fails here with ``ERR TypeError``.
* Markers outside PackStream v1 (``c4``-``c7``, ``cf``, ``d3``, ``d7``,
  ``db``-``ef`` incl. ``dc``/``dd`` and ``e0`` UUID) give ``ERR ValueError``.
* With neo4j-rust-ext installed, truncated strings/bytes make the extension
  panic (a traceback on stderr); that is still reported as ``ERR``.

Only the standard library and ``neo4j`` are used.
"""

import argparse
import importlib
import random
import struct
import sys
import time

# --------------------------------------------------------------------------
# Locating the driver's PackStream v1 implementation
# --------------------------------------------------------------------------

# (module with Packer/Unpacker, package that exports Structure)
_CANDIDATES = (
    # neo4j 5.x (5.0 .. 5.28) and 6.x: neo4j/_codec/packstream/v1/__init__.py
    ("neo4j._codec.packstream.v1", "neo4j._codec.packstream"),
    # neo4j 4.x
    ("neo4j.packstream", "neo4j.packstream"),
)


class _FallbackPackableBuffer:
    def __init__(self):
        self.data = bytearray()
        self.write = self.data.extend


class _FallbackUnpackableBuffer:
    def __init__(self, data):
        self.data = bytearray(data)
        self.used = len(self.data)
        self.p = 0

    def reset(self):
        self.used = 0
        self.p = 0

    def read(self, n=1):
        view = memoryview(self.data)
        q = self.p + n
        sub = view[self.p:q]
        self.p = q
        return sub

    def read_u8(self):
        if self.used - self.p >= 1:
            value = self.data[self.p]
            self.p += 1
            return value
        return -1


def _load_driver():
    errors = []
    for mod_name, pkg_name in _CANDIDATES:
        try:
            mod = importlib.import_module(mod_name)
        except Exception as e:  # noqa: BLE001 - any import failure: try the next
            errors.append(f"{mod_name}: {type(e).__name__}: {e}")
            continue
        packer = getattr(mod, "Packer", None)
        unpacker = getattr(mod, "Unpacker", None)
        if packer is None or unpacker is None:
            errors.append(f"{mod_name}: no Packer/Unpacker")
            continue
        structure = getattr(mod, "Structure", None)
        if structure is None:
            try:
                structure = getattr(importlib.import_module(pkg_name), "Structure")
            except Exception as e:  # noqa: BLE001
                errors.append(f"{pkg_name}.Structure: {type(e).__name__}: {e}")
                continue
        pkg = sys.modules.get(pkg_name)
        common = sys.modules.get(pkg_name + "._common")

        def find(name):
            for m in (mod, common, pkg):
                if m is not None and hasattr(m, name):
                    return getattr(m, name)
            return None

        pbuf = find("PackableBuffer") or _FallbackPackableBuffer
        ubuf = find("UnpackableBuffer") or _FallbackUnpackableBuffer
        rust = None
        for m in (pkg, common, mod):
            if m is not None and hasattr(m, "RUST_AVAILABLE"):
                rust = bool(getattr(m, "RUST_AVAILABLE"))
                break
        return {
            "module": mod_name,
            "Packer": packer,
            "Unpacker": unpacker,
            "Structure": structure,
            "PackableBuffer": pbuf,
            "UnpackableBuffer": ubuf,
            "rust": rust,
        }
    sys.stderr.write(
        "packstream_diff: cannot find the neo4j driver's PackStream v1 "
        "Packer/Unpacker:\n  " + "\n  ".join(errors) + "\n"
    )
    sys.exit(3)


_D = _load_driver()
Packer = _D["Packer"]
Unpacker = _D["Unpacker"]
Structure = _D["Structure"]
PackableBuffer = _D["PackableBuffer"]
UnpackableBuffer = _D["UnpackableBuffer"]


def make_struct(tag, *fields):
    return Structure(bytes((tag,)), *fields)


def pack(value):
    """The driver's raw packing of one value, as bytes."""
    buf = PackableBuffer()
    Packer(buf).pack(value)
    return bytes(buf.data)


def unpack(data):
    """The driver's raw unpacking of one value filling `data` exactly."""
    buf = UnpackableBuffer(data)
    value = Unpacker(buf).unpack()  # no hydration hooks: raw Structures
    end = buf.p
    if end > len(data):
        # The driver's buffer hands out short reads silently for strings and
        # bytes; a read position past the end means the input was truncated.
        raise ValueError(f"truncated: value needs {end} bytes, got {len(data)}")
    if end < len(data):
        raise ValueError(f"{len(data) - end} trailing bytes after the value at byte {end}")
    return value


# --------------------------------------------------------------------------
# Canonical text form
# --------------------------------------------------------------------------

_pack_d = struct.Struct(">d").pack


def _canon(v, out):
    if v is None:
        out.append("N")
    elif v is True:
        out.append("T")
    elif v is False:
        out.append("F")
    elif type(v) is int:
        out.append("I%d" % v)
    elif type(v) is float:
        out.append("D" + _pack_d(v).hex())
    elif type(v) is str:
        out.append("S" + v.encode("utf-8").hex())
    elif isinstance(v, (bytes, bytearray)):
        out.append("B" + bytes(v).hex())
    elif type(v) is list:
        out.append("L[")
        first = True
        for item in v:
            if not first:
                out.append(",")
            first = False
            _canon(item, out)
        out.append("]")
    elif type(v) is dict:
        out.append("M{")
        first = True
        for k, item in v.items():
            if type(k) is not str:
                raise TypeError(f"map key of type {type(k).__name__}, not str")
            if not first:
                out.append(",")
            first = False
            out.append(k.encode("utf-8").hex())
            out.append(":")
            _canon(item, out)
        out.append("}")
    elif isinstance(v, Structure) or (hasattr(v, "tag") and hasattr(v, "fields")):
        tag = bytes(v.tag)
        if len(tag) != 1:
            raise ValueError(f"structure tag {tag!r} is not one byte")
        out.append("X%02x(" % tag[0])
        first = True
        for item in v.fields:
            if not first:
                out.append(",")
            first = False
            _canon(item, out)
        out.append(")")
    else:
        raise TypeError(f"no canonical form for {type(v).__name__}")


def canon(v):
    out = []
    _canon(v, out)
    return "".join(out)


# --------------------------------------------------------------------------
# Random value generation
# --------------------------------------------------------------------------

INT_BOUNDARIES = [
    -(2**63), -(2**63) + 1, -(2**32), -(2**31) - 1, -(2**31), -(2**31) + 1,
    -32769, -32768, -32767, -129, -128, -127, -17, -16, -15, -1, 0, 1,
    15, 16, 127, 128, 255, 256, 32767, 32768, 65535, 65536,
    2**31 - 1, 2**31, 2**32, 2**63 - 2, 2**63 - 1,
]

FLOAT_SPECIAL_BITS = [
    0x7FF8000000000000,  # quiet NaN (Python's float('nan'))
    0xFFF8000000000000,  # negative quiet NaN
    0x7FF0000000000001,  # signalling NaN
    0x7FF8DEADBEEF0001,  # NaN with payload
    0xFFFFFFFFFFFFFFFF,  # all-ones NaN
    0x7FF0000000000000,  # +inf
    0xFFF0000000000000,  # -inf
    0x0000000000000000,  # 0.0
    0x8000000000000000,  # -0.0
    0x0000000000000001,  # smallest subnormal
    0x8000000000000001,  # -smallest subnormal
    0x000FFFFFFFFFFFFF,  # largest subnormal
    0x800FFFFFFFFFFFFF,
    0x0010000000000000,  # smallest normal
    0x7FEFFFFFFFFFFFFF,  # largest finite
    0xFFEFFFFFFFFFFFFF,  # most negative finite
    0x3FF0000000000000,  # 1.0
    0xBFF0000000000000,  # -1.0
    0x3FB999999999999A,  # 0.1
    0x3CB0000000000000,  # 2^-52
    0x4340000000000000,  # 2^53
]

_unpack_d = struct.Struct(">d").unpack


def f64_from_bits(bits):
    return _unpack_d(bits.to_bytes(8, "big"))[0]


TZ_IDS = [
    "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe",
    "UTC", "Etc/GMT+12", "America/Argentina/Buenos_Aires", "Pacific/Chatham",
    "Asia/Kathmandu", "Africa/Abidjan", "Z", "+05:30",
]

# Vector element type marker -> element size in bytes (Bolt 6.0)
VECTOR_TYPES = [(0xC8, 1), (0xC9, 2), (0xCA, 4), (0xCB, 8), (0xC6, 4), (0xC1, 8)]

# Structure tags with a defined shape in Bolt 5.x / 6.0; "unknown" structures
# get a tag from 0x01..0x30, none of which is among these.
KNOWN_TAGS = {0x4E, 0x52, 0x72, 0x50, 0x44, 0x54, 0x74, 0x49, 0x69, 0x64,
              0x45, 0x58, 0x59, 0x56, 0x3F}
UNKNOWN_TAGS = [t for t in range(0x01, 0x31) if t not in KNOWN_TAGS]

_ASCII = "".join(chr(c) for c in range(0x20, 0x7F))
_CTRL = "".join(chr(c) for c in range(0x00, 0x20)) + "\x7f"
_TWO = "éßΩжאعߒ\u0080\u07ff"
_THREE = "€中文日本語한ह\u0800\ufeff\uffff\ufffd\ue000"
_FOUR = "😀🎉👍🦀𝄞𐍈\U00010000\U0010ffff\U0001f9d1"
# (characters, UTF-8 width of each)
_P_ASCII = (_ASCII, 1)
_P_CTRL = (_CTRL, 1)
_P_TWO = (_TWO, 2)
_P_THREE = (_THREE, 3)
_P_FOUR = (_FOUR, 4)
for _pool, _w in (_P_ASCII, _P_CTRL, _P_TWO, _P_THREE, _P_FOUR):
    assert all(len(c.encode("utf-8")) == _w for c in _pool), _pool


class Gen:
    NODE_BUDGET = 50  # values per top-level value, beyond which only scalars

    def __init__(self, seed, count, max_depth):
        self.rng = random.Random(seed)
        self.max_depth = max_depth
        self.nodes = 0
        # Run-wide allowances for the expensive cases, so output stays small.
        self.huge_left = 1 + count // 1000  # strings/bytes of ~64 KiB
        self.big_left = 2 + count // 40  # collections of 256+ entries

    # ---- scalars --------------------------------------------------------

    def int_(self, kind=None):
        r = self.rng
        k = kind if kind is not None else r.randrange(6)
        if k == 0:
            return r.choice(INT_BOUNDARIES)
        if k == 1:
            return r.randint(-16, 127)
        if k == 2:
            return r.randint(-128, -17)
        if k == 3:
            return r.choice((r.randint(-32768, -129), r.randint(128, 32767)))
        if k == 4:
            return r.choice((r.randint(-(2**31), -32769), r.randint(32768, 2**31 - 1)))
        return r.choice((r.randint(-(2**63), -(2**31) - 1), r.randint(2**31, 2**63 - 1)))

    def float_(self):
        r = self.rng
        k = r.randrange(10)
        if k < 3:
            return f64_from_bits(r.choice(FLOAT_SPECIAL_BITS))
        if k < 6:
            while True:  # random bits, never NaN
                bits = r.getrandbits(64)
                if (bits >> 52) & 0x7FF != 0x7FF:
                    return f64_from_bits(bits)
        if k == 6:  # subnormal
            return f64_from_bits(r.getrandbits(52) | (r.getrandbits(1) << 63))
        if k == 7:
            return float(r.randint(-(2**53), 2**53))
        return r.uniform(-1e6, 1e6)

    def _fill_str(self, nbytes, pools):
        """A string of exactly `nbytes` UTF-8 bytes drawn from `pools`."""
        r = self.rng
        parts = []
        left = nbytes
        while left > 0:
            pool, width = r.choice(pools)
            if width > left:
                pool, width = _P_ASCII
            k = min(left // width, r.randint(1, 12))
            parts.extend(r.choices(pool, k=k))
            left -= k * width
        return "".join(parts)

    def str_of_len(self, nbytes):
        r = self.rng
        flavor = r.randrange(5)
        if flavor == 0:
            pools = [_P_ASCII]
        elif flavor == 1:
            pools = [_P_ASCII, _P_ASCII, _P_CTRL, _P_TWO]
        elif flavor == 2:
            pools = [_P_FOUR]
        else:
            pools = [_P_ASCII, _P_TWO, _P_THREE, _P_FOUR]
        if nbytes <= 1024:
            return self._fill_str(nbytes, pools)
        # Long strings: repeat a random piece, then fill to the exact length.
        piece = self._fill_str(r.randint(200, 600), pools)
        plen = len(piece.encode("utf-8"))
        reps = (nbytes - 16) // plen
        head = piece * reps
        return head + self._fill_str(nbytes - reps * plen, pools)

    def str_len(self):
        r = self.rng
        k = r.randrange(100)
        if k < 70:
            return r.randint(0, 15)
        if k < 82:
            return r.choice((0, 1, 14, 15, 16, 17))
        if k < 95:
            return r.randint(16, 60)
        if k < 97:
            return r.choice((254, 255, 256, 257))
        if k < 99:
            return r.randint(61, 300)
        if self.huge_left > 0 and r.random() < 0.25:
            self.huge_left -= 1
            return r.choice((65535, 65536, 65537))
        return r.randint(300, 1200)

    def str_(self):
        return self.str_of_len(self.str_len())

    def bytes_(self):
        r = self.rng
        k = r.randrange(100)
        if k < 60:
            n = r.randint(0, 16)
        elif k < 85:
            n = r.choice((0, 1, 15, 16, 17))
        elif k < 93:
            n = r.randint(17, 100)
        elif k < 97:
            n = r.choice((255, 256, 257))
        elif k < 99:
            n = r.randint(101, 600)
        elif self.huge_left > 0 and r.random() < 0.25:
            self.huge_left -= 1
            n = r.choice((65535, 65536, 65537))
        else:
            n = r.randint(300, 1200)
        b = r.randbytes(n)
        return bytearray(b) if r.random() < 0.1 else b  # the driver takes both

    def key(self):
        r = self.rng
        k = r.randrange(10)
        if k < 5:
            return self.str_of_len(r.randint(1, 8))
        if k < 8:
            return "".join(r.choices("abcdefghijklmnopqrstuvwxyz_", k=r.randint(1, 12)))
        if k < 9:
            return self.str_of_len(r.randint(0, 40))
        return ""

    def scalar(self):
        r = self.rng
        k = r.randrange(100)
        if k < 4:
            return None
        if k < 9:
            return r.random() < 0.5
        if k < 40:
            return self.int_()
        if k < 60:
            return self.float_()
        if k < 88:
            return self.str_()
        return self.bytes_()

    # ---- collections ----------------------------------------------------

    def coll_len(self):
        r = self.rng
        k = r.randrange(100)
        if k < 86:
            return r.randint(0, 15) if r.random() < 0.7 else r.choice((0, 1, 15))
        if k < 98:
            return r.choice((16, 17, r.randint(16, 40)))
        if self.big_left > 0:
            self.big_left -= 1
            return r.choice((255, 256, 257, r.randint(256, 400)))
        return r.randint(0, 15)

    def elems(self, n, d):
        if n > 64:  # large collections: mostly scalars
            return [self.value(d) if self.rng.random() < 0.05 else self.scalar() for _ in range(n)]
        return [self.value(d) for _ in range(n)]

    def list_(self, d):
        return self.elems(self.coll_len(), d - 1)

    def map_(self, d, n=None, valfn=None):
        if n is None:
            n = self.coll_len()
        keys = []
        seen = set()
        i = 0
        while len(keys) < n:
            k = self.key() if i < 4 * n + 8 else f"k{i}"
            i += 1
            if k not in seen:
                seen.add(k)
                keys.append(k)
        if valfn is None:
            vals = self.elems(n, d - 1)
        else:
            vals = [valfn(d - 1) for _ in range(n)]
        return dict(zip(keys, vals))

    # ---- structures -----------------------------------------------------

    def element_id(self):
        r = self.rng
        k = r.randrange(4)
        if k == 0:
            return "4:%08x-%04x-%04x-%04x-%012x:%d" % (
                r.getrandbits(32), r.getrandbits(16), r.getrandbits(16),
                r.getrandbits(16), r.getrandbits(48), r.randint(0, 10**6))
        if k == 1:
            return str(r.randint(0, 2**40))
        if k == 2:
            return ""
        return self.str_of_len(r.randint(1, 40))

    def prop_value(self, d):
        """Property-like values: no graph entities inside graph entities."""
        r = self.rng
        k = r.randrange(10)
        if k < 6 or d < 1:
            return self.scalar()
        if k < 8:
            return self.temporal_or_spatial()
        return [self.scalar() for _ in range(r.randint(0, 5))]

    def props(self, d):
        r = self.rng
        n = r.randint(0, 4) if r.random() < 0.85 else self.coll_len()
        return self.map_(d, n=n, valfn=self.prop_value)

    def node(self, d):  # needs d >= 2
        r = self.rng
        labels = [self.key() if r.random() < 0.8 else self.str_() for _ in range(
            r.randint(0, 3) if r.random() < 0.9 else r.randint(15, 17))]
        return make_struct(0x4E, self.int_(), labels, self.props(d - 1), self.element_id())

    def relationship(self, d):  # needs d >= 2
        return make_struct(0x52, self.int_(), self.int_(), self.int_(), self.key(),
                           self.props(d - 1), self.element_id(), self.element_id(),
                           self.element_id())

    def unbound_rel(self, d):  # needs d >= 2
        return make_struct(0x72, self.int_(), self.key(), self.props(d - 1), self.element_id())

    def path(self, d):  # needs d >= 4
        r = self.rng
        nn = r.randint(1, 4)
        nr = r.randint(0, 3)
        segs = r.randint(0, 4) if nr else 0
        ids = []
        for _ in range(segs):
            ids.append(r.choice((1, -1)) * r.randint(1, nr))
            ids.append(r.randint(0, nn - 1))
        return make_struct(0x50, [self.node(d - 2) for _ in range(nn)],
                           [self.unbound_rel(d - 2) for _ in range(nr)], ids)

    def nanos(self):
        return self.rng.choice((0, 1, 999_999_999, self.rng.randint(0, 999_999_999)))

    def offset(self):
        return self.rng.choice((0, 3600, -3600, 19800, -64800, 64800,
                                self.rng.randint(-64800, 64800)))

    def secs(self):
        r = self.rng
        return r.choice((0, -1, r.randint(-(2**31), 2**31), r.randint(-(10**15), 10**15),
                         r.randint(-100, 100)))

    def temporal_or_spatial(self):
        r = self.rng
        k = r.randrange(10)
        if k == 0:
            return make_struct(0x44, r.choice((0, -1, 19000, r.randint(-(10**9), 10**9))))
        if k == 1:
            return make_struct(0x54, r.randint(0, 86_400 * 10**9 - 1), self.offset())
        if k == 2:
            return make_struct(0x74, r.choice((0, 86_400 * 10**9 - 1,
                                               r.randint(0, 86_400 * 10**9 - 1))))
        if k == 3:
            return make_struct(0x49, self.secs(), self.nanos(), self.offset())
        if k == 4:
            return make_struct(0x69, self.secs(), self.nanos(), r.choice(TZ_IDS))
        if k == 5:
            return make_struct(0x64, self.secs(), self.nanos())
        if k == 6:
            return make_struct(0x45, r.randint(-10**6, 10**6), r.randint(-10**9, 10**9),
                               self.secs(), self.nanos())
        if k == 7:
            return make_struct(0x45, self.int_(), self.int_(), self.int_(), self.int_())
        if k == 8:
            return make_struct(0x58, r.choice((4326, 7203, 0)), self.float_(), self.float_())
        return make_struct(0x59, r.choice((4979, 9157, 0)), self.float_(), self.float_(),
                           self.float_())

    def vector(self):
        r = self.rng
        marker, size = r.choice(VECTOR_TYPES)
        k = r.randrange(100)
        if k < 10:
            n = 0
        elif k < 90:
            n = r.randint(1, 16)
        elif k < 99:
            n = r.randint(17, 64)
        else:
            n = r.randint(256, 600)
        return make_struct(0x56, bytes((marker,)), r.randbytes(n * size))

    def unsupported(self, d):  # needs d >= 2
        r = self.rng
        name = r.choice(("LIST<INTEGER NOT NULL>", "ZONED TIME", "UUID", "")) \
            if r.random() < 0.6 else self.str_()
        if r.random() < 0.5:
            extra = {"message": self.str_()} if r.random() < 0.7 else {}
        else:
            extra = self.map_(d - 1)
        return make_struct(0x3F, name, r.choice((6, 5, r.randint(0, 255))),
                           r.choice((0, 1, r.randint(0, 255))), extra)

    def unknown_struct(self, d):  # needs d >= 1
        r = self.rng
        n = r.randint(0, 15) if r.random() < 0.7 else r.choice((0, 1, 15))
        return make_struct(r.choice(UNKNOWN_TAGS), *self.elems(n, d - 1))

    def structure(self, d):
        r = self.rng
        choices = [self.temporal_or_spatial, self.temporal_or_spatial, self.vector]
        if d >= 2:
            choices += [self.node, self.relationship, self.unbound_rel, self.unsupported]
        if d >= 4:
            choices += [self.path]
        if r.random() < 0.15:
            return self.unknown_struct(d)
        f = r.choice(choices)
        if f in (self.temporal_or_spatial, self.vector):
            return f()
        return f(d)

    # ---- any value ------------------------------------------------------

    def value(self, d):
        self.nodes += 1
        if d < 1 or self.nodes > self.NODE_BUDGET:
            return self.scalar()
        r = self.rng
        if r.random() < (0.35 if d >= self.max_depth else 0.62):
            return self.scalar()
        k = r.randrange(100)
        if k < 33:
            return self.list_(d)
        if k < 66:
            return self.map_(d)
        return self.structure(d)

    def top(self):
        self.nodes = 0
        return self.value(self.max_depth)

    # ---- fixed edge-case corpus ----------------------------------------

    def fixed(self):
        r = self.rng
        out = [None, True, False]
        out += INT_BOUNDARIES
        out += [f64_from_bits(b) for b in FLOAT_SPECIAL_BITS]
        for n in (0, 1, 15, 16, 17, 255, 256, 65535, 65536):
            out.append(self.str_of_len(n))
        out += ["é", "😀", "a😀b€", "\x00", "\ufeff", "\U0010ffff"]
        for n in (0, 1, 15, 16, 255, 256, 65536):
            out.append(r.randbytes(n))
        out.append(bytearray(b"\x00\xff"))
        for n in (0, 1, 15, 16, 255, 256):
            out.append([self.int_() for _ in range(n)])
            out.append({f"k{i}": self.int_() for i in range(n)})
        nested_list, nested_map = [], {}
        for i in range(max(self.max_depth - 1, 0)):
            nested_list, nested_map = [nested_list], {"abc"[i % 3]: nested_map}
        out += [nested_list, nested_map]
        # one of every structure shape
        out += [self.node(2), self.relationship(2), self.unbound_rel(2), self.path(4),
                make_struct(0x44, 19000), make_struct(0x54, 3_600_000_000_000, 3600),
                make_struct(0x74, 0), make_struct(0x49, 1_700_000_000, 123, -18000),
                make_struct(0x69, 1_700_000_000, 999_999_999, "Europe/Berlin"),
                make_struct(0x64, -1, 0), make_struct(0x45, 14, 16, 12, 0),
                make_struct(0x58, 4326, 1.5, -0.0), make_struct(0x59, 9157, 1.0, 2.0, float("nan")),
                make_struct(0x3F, "ZONED TIME", 6, 1, {"message": "needs Bolt 6.1"}),
                make_struct(0x01), make_struct(0x30, *range(15))]
        for marker, size in VECTOR_TYPES:
            out.append(make_struct(0x56, bytes((marker,)), r.randbytes(3 * size)))
            out.append(make_struct(0x56, bytes((marker,)), b""))
        out.append([make_struct(0x44, 1), {"p": make_struct(0x58, 7203, 0.0, 0.0)},
                    make_struct(0x2A, [], {}, None)])
        # LIST_32 and MAP_32 (65536 entries; kept small per entry)
        out.append([i % 100 for i in range(65536)])
        a = [chr(c) for c in range(0x21, 0x7F)]
        out.append({a[i // 8836] + a[i // 94 % 94] + a[i % 94]: i % 100 for i in range(65536)})
        return [v for v in out if depth(v) <= self.max_depth]


def depth(v):
    """Nesting depth: 0 for a scalar, 1 + the deepest child for a container."""
    if isinstance(v, list):
        children = v
    elif isinstance(v, dict):
        children = v.values()
    elif isinstance(v, Structure):
        children = v.fields
    else:
        return 0
    return 1 + max((depth(c) for c in children), default=0)


def generate(seed, count, max_depth):
    g = Gen(seed, count, max_depth)
    fixed = g.fixed()
    for i in range(count):
        yield fixed[i] if i < len(fixed) else g.top()


def gen_lines(seed, count, max_depth):
    for v in generate(seed, count, max_depth):
        yield pack(v).hex() + " " + canon(v)


# --------------------------------------------------------------------------
# check
# --------------------------------------------------------------------------

def check_line(line):
    try:
        data = bytes.fromhex(line.strip())
        value = unpack(data)
        c = canon(value)
        return pack(value).hex() + " " + c
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # noqa: BLE001 - every rejection is reported
        # BaseException: neo4j-rust-ext, when installed, raises
        # pyo3_runtime.PanicException (not an Exception) on some bad input.
        msg = f"{type(e).__name__}: {e}".replace("\r", " ").replace("\n", " ")
        return "ERR " + msg


def run_check():
    text = sys.stdin.buffer.read().decode("ascii", "replace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # final newline
    out = [check_line(line.rstrip("\r")) for line in lines]
    if out:
        sys.stdout.write("\n".join(out) + "\n")
    sys.stdout.flush()


# --------------------------------------------------------------------------
# selftest: independent reference encoder + gen/check round trip
# --------------------------------------------------------------------------

def _ref_size(out, size, tiny, m8, m16, m32):
    if tiny is not None and size < 16:
        out.append(bytes((tiny | size,)))
    elif size < 0x100:
        out.append(bytes((m8, size)))
    elif size < 0x10000:
        out.append(bytes((m16,)) + size.to_bytes(2, "big"))
    else:
        out.append(bytes((m32,)) + size.to_bytes(4, "big"))


def ref_encode(v, out):
    """PackStream v1 per the spec, smallest marker everywhere (stdlib only)."""
    if v is None:
        out.append(b"\xc0")
    elif v is True:
        out.append(b"\xc3")
    elif v is False:
        out.append(b"\xc2")
    elif type(v) is int:
        if -16 <= v <= 127:
            out.append((v & 0xFF).to_bytes(1, "big"))
        elif -128 <= v <= 127:
            out.append(b"\xc8" + v.to_bytes(1, "big", signed=True))
        elif -32768 <= v <= 32767:
            out.append(b"\xc9" + v.to_bytes(2, "big", signed=True))
        elif -(2**31) <= v < 2**31:
            out.append(b"\xca" + v.to_bytes(4, "big", signed=True))
        else:
            out.append(b"\xcb" + v.to_bytes(8, "big", signed=True))
    elif type(v) is float:
        out.append(b"\xc1" + _pack_d(v))
    elif type(v) is str:
        b = v.encode("utf-8")
        _ref_size(out, len(b), 0x80, 0xD0, 0xD1, 0xD2)
        out.append(b)
    elif isinstance(v, (bytes, bytearray)):
        _ref_size(out, len(v), None, 0xCC, 0xCD, 0xCE)
        out.append(bytes(v))
    elif type(v) is list:
        _ref_size(out, len(v), 0x90, 0xD4, 0xD5, 0xD6)
        for x in v:
            ref_encode(x, out)
    elif type(v) is dict:
        _ref_size(out, len(v), 0xA0, 0xD8, 0xD9, 0xDA)
        for k, x in v.items():
            ref_encode(k, out)
            ref_encode(x, out)
    else:
        assert len(v.fields) <= 15
        out.append(bytes((0xB0 | len(v.fields),)) + bytes(v.tag))
        for x in v.fields:
            ref_encode(x, out)


def run_selftest(seed, count, max_depth):
    passed = failed = 0

    def fail(what):
        nonlocal failed
        failed += 1
        if failed <= 20:
            sys.stdout.write("FAIL " + what[:600] + "\n")

    t0 = time.monotonic()
    deepest = 0
    for i, v in enumerate(generate(seed, count, max_depth)):
        dv = depth(v)
        deepest = max(deepest, dv)
        if dv > max_depth:
            fail(f"value {i}: depth {dv} > --max-depth {max_depth}")
            continue
        data = pack(v)
        line = data.hex() + " " + canon(v)
        ok = True
        ref = []
        ref_encode(v, ref)
        if b"".join(ref) != data:
            fail(f"value {i}: driver bytes differ from reference encoder: {data.hex()[:200]}")
            ok = False
        back = check_line(data.hex())
        if back != line:
            fail(f"value {i}: gen {line[:200]} != check {back[:200]}")
            ok = False
        if ok:
            passed += 1
        else:
            continue
    # Malformed input must be rejected, not silently accepted.
    bad = [
        "",  # nothing
        "c1000000",  # truncated float
        "d00568656c6c",  # truncated string (driver reads short silently)
        "cc0501",  # truncated bytes
        "9201",  # truncated list
        "0101",  # trailing byte
        "c4",  # reserved marker
        "dc0100",  # STRUCT_8 is not PackStream v1 in Bolt 5/6
        "e0" + "00" * 16,  # UUID is PackStream v2 (Bolt 6.1) only
        "82ffff",  # invalid UTF-8
        "82c0af",  # overlong UTF-8
        "83eda080",  # UTF-8-encoded surrogate
        "a10101",  # non-string map key (driver unpacks it; re-pack refuses)
        "zz",  # not hex
    ]
    for h in bad:
        out = check_line(h)
        if out.startswith("ERR "):
            passed += 1
        else:
            fail(f"malformed {h!r} accepted: {out[:200]}")
    dt = time.monotonic() - t0
    sys.stdout.write(
        f"selftest: neo4j {driver_version()} ({_D['module']}, rust_ext={_D['rust']}), "
        f"seed {seed}, {count} values (deepest {deepest}), {dt:.2f}s\n"
        f"{passed} passed, {failed} failed\n"
    )
    return 1 if failed else 0


def driver_version():
    try:
        import neo4j
        return getattr(neo4j, "__version__", "?")
    except Exception:  # noqa: BLE001
        return "?"


def run_info():
    sys.stdout.write(
        f"neo4j {driver_version()}\n"
        f"packer {Packer.__module__}.{Packer.__qualname__}\n"
        f"unpacker {Unpacker.__module__}.{Unpacker.__qualname__}\n"
        f"structure {Structure.__module__}.{Structure.__qualname__}\n"
        f"packable_buffer {PackableBuffer.__module__}.{PackableBuffer.__qualname__}\n"
        f"unpackable_buffer {UnpackableBuffer.__module__}.{UnpackableBuffer.__qualname__}\n"
        f"rust_ext {_D['rust']}\n"
        f"python {sys.version.split()[0]}\n"
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    g = sub.add_parser("gen", help="generate and pack random values")
    g.add_argument("--seed", type=int, required=True)
    g.add_argument("--count", type=int, required=True)
    g.add_argument("--max-depth", type=int, default=5,
                   help="maximum nesting of lists/maps/structures (default 5)")
    sub.add_parser("check", help="unpack+repack hex lines from stdin")
    s = sub.add_parser("selftest", help="gen -> check round trip in-process")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--count", type=int, default=2000)
    s.add_argument("--max-depth", type=int, default=5)
    sub.add_parser("info", help="driver version and module paths")
    args = ap.parse_args(argv)

    if args.mode == "gen":
        if args.count < 0 or args.max_depth < 0:
            ap.error("--count and --max-depth must be >= 0")
        w = sys.stdout.write
        batch = []
        for line in gen_lines(args.seed, args.count, args.max_depth):
            batch.append(line)
            if len(batch) >= 256:
                w("\n".join(batch) + "\n")
                batch.clear()
        if batch:
            w("\n".join(batch) + "\n")
        sys.stdout.flush()
        return 0
    if args.mode == "check":
        run_check()
        return 0
    if args.mode == "selftest":
        return run_selftest(args.seed, args.count, args.max_depth)
    run_info()
    return 0


if __name__ == "__main__":
    sys.exit(main())
