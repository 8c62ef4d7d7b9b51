"""Values as plain data: how inputs go into the grading sandbox and outputs come back out.

Both directions use one JSON document whose arrays are ``.npy`` bytes (``np.save`` with
``allow_pickle=False``, base64). Only exact types are encoded as themselves: ``None``, ``bool``,
``int``, ``float``, ``str``, numpy scalars, a real ``np.ndarray`` (not a subclass, no object dtype), a
real ``torch.Tensor``, ``tuple``, ``list``, ``dict`` with ``str`` keys and a :class:`SwinConfig`. Anything
else (an ndarray subclass with a fake ``__array_function__``, an object whose ``__eq__`` is always true)
crosses as the name of its type only, and decodes to a :class:`Foreign` placeholder that equals
nothing. :func:`decode` checks everything it reads (kinds, depth, sizes, dtypes): what comes back from
the sandbox is data written by the student's process, never code.

This module runs inside the sandbox too (next to ``child.py``): it imports only the standard library
and numpy (torch and the package only when a value needs them).
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
import sys
from typing import Any

import numpy as np

__all__ = ["encode", "decode", "dumps", "loads", "Foreign", "DecodeError"]

MAX_DEPTH = 32
MAX_ITEMS = 1_000_000
MAX_STR = 100_000
_ARRAY_KINDS = "biufc"  # bool, int, uint, float, complex: no objects, no strings, no structured dtypes
_TORCH_DTYPES = (
    "float64",
    "float32",
    "float16",
    "bfloat16",
    "int64",
    "int32",
    "int16",
    "int8",
    "uint8",
    "bool",
)


class DecodeError(ValueError):
    """What came back is not plain data of the accepted kinds."""


class Foreign:
    """A value of a type the grader does not accept (only its type's name crossed)."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __eq__(self, other: Any) -> bool:
        return False

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"(a value of a type the grader does not accept: {self.type_name})"


def _foreign_class(type_name: str) -> type:
    """A placeholder class named like the student's type (its last dotted part), for the messages."""
    name = re.sub(r"\W", "_", type_name.rsplit(".", 1)[-1])[:60] or "object"
    if name[0].isdigit():
        name = "_" + name
    return type(name, (Foreign,), {})


# --------------------------------------------------------------------------------------- encode
def _npy(arr: np.ndarray) -> str:
    buf = io.BytesIO()
    np.save(buf, arr if arr.flags.c_contiguous else np.ascontiguousarray(arr), allow_pickle=False)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _type_name(value: Any) -> str:
    t = type(value)
    return f"{getattr(t, '__module__', '?')}.{getattr(t, '__qualname__', getattr(t, '__name__', '?'))}"[:200]


def encode(value: Any, _depth: int = 0) -> dict:
    """``value`` as a JSON-able tree (exact types only; see the module docstring)."""
    if _depth > MAX_DEPTH:
        return {"t": "other", "type": "a structure nested too deeply"}
    t = type(value)
    if value is None:
        return {"t": "none"}
    if t is bool:
        return {"t": "bool", "v": value}
    if t is int:
        return {"t": "int", "v": value if abs(value) < 2**4096 else str(value)}
    if t is float:
        return {"t": "float", "v": _float(value)}
    if t is str:
        return {"t": "str", "v": value[:MAX_STR]}
    if isinstance(value, np.generic) and t.__module__ == "numpy":
        if value.dtype.kind not in _ARRAY_KINDS:
            return {"t": "other", "type": _type_name(value)}
        return {"t": "npscalar", "npy": _npy(np.asarray(value))}
    if t is np.ndarray:
        if value.dtype.kind not in _ARRAY_KINDS or value.dtype.fields is not None:
            return {"t": "other", "type": f"numpy array of dtype {value.dtype}"}
        return {"t": "ndarray", "npy": _npy(value)}
    if t in (tuple, list):
        return {"t": t.__name__, "v": [encode(v, _depth + 1) for v in value]}
    if t is dict:
        if not all(type(k) is str for k in value):
            return {"t": "other", "type": "dict with keys that are not str"}
        return {"t": "dict", "v": [[k, encode(v, _depth + 1)] for k, v in value.items()]}
    torch = sys.modules.get("torch")
    if torch is not None and t is torch.Tensor:
        dtype = str(value.dtype).replace("torch.", "")
        if dtype not in _TORCH_DTYPES:
            return {"t": "other", "type": f"torch.Tensor of dtype {dtype}"}
        cpu = value.detach().cpu()
        if dtype in ("float16", "bfloat16"):
            cpu = cpu.float()
        return {"t": "tensor", "dtype": dtype, "npy": _npy(cpu.numpy())}
    if t.__name__ == "SwinConfig" and t.__module__ == "swin_edu.config":
        import dataclasses

        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return {"t": "swinconfig", "v": encode(fields, _depth + 1)}
    return {"t": "other", "type": _type_name(value)}


def _float(x: float):
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def dumps(value: Any) -> str:
    """One line of JSON holding ``encode(value)``."""
    return json.dumps(encode(value), separators=(",", ":"))


# --------------------------------------------------------------------------------------- decode
class _Budget:
    def __init__(self):
        self.items = 0

    def tick(self):
        self.items += 1
        if self.items > MAX_ITEMS:
            raise DecodeError("too many items")


def _load_npy(text: Any) -> np.ndarray:
    if not isinstance(text, str):
        raise DecodeError("an array must be base64 text")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
        arr = np.load(io.BytesIO(raw), allow_pickle=False)
    except (ValueError, OSError, EOFError, UnicodeEncodeError) as e:
        raise DecodeError(f"not a valid .npy array: {e}") from None
    if type(arr) is not np.ndarray or arr.dtype.kind not in _ARRAY_KINDS or arr.dtype.fields is not None:
        raise DecodeError(f"array of an unaccepted dtype {getattr(arr, 'dtype', '?')}")
    return arr


def _plain_float(v: Any) -> float:
    if v in ("nan", "inf", "-inf"):
        return float(v)
    if type(v) not in (int, float):
        raise DecodeError("a float must be a number")
    return float(v)


def decode(tree: Any, _depth: int = 0, _budget: _Budget | None = None) -> Any:
    """The value that ``tree`` (from :func:`encode`) describes, checked kind by kind."""
    budget = _budget or _Budget()
    budget.tick()
    if _depth > MAX_DEPTH + 1:
        raise DecodeError("nested too deeply")
    if type(tree) is not dict or type(tree.get("t")) is not str:
        raise DecodeError("every value must be an object with a kind 't'")
    kind, v = tree["t"], tree.get("v")
    if kind == "none":
        return None
    if kind == "bool":
        if type(v) is not bool:
            raise DecodeError("bad bool")
        return v
    if kind == "int":
        if type(v) is str and re.fullmatch(r"-?\d{1,1300}", v):
            return int(v)
        if type(v) is not int:
            raise DecodeError("bad int")
        return v
    if kind == "float":
        return _plain_float(v)
    if kind == "str":
        if type(v) is not str or len(v) > MAX_STR:
            raise DecodeError("bad str")
        return v
    if kind == "npscalar":
        arr = _load_npy(tree.get("npy"))
        if arr.ndim != 0:
            raise DecodeError("a numpy scalar must have 0 dimensions")
        return arr[()]
    if kind == "ndarray":
        return _load_npy(tree.get("npy"))
    if kind in ("tuple", "list"):
        if type(v) is not list:
            raise DecodeError(f"bad {kind}")
        items = [decode(x, _depth + 1, budget) for x in v]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict":
        if type(v) is not list or not all(type(p) is list and len(p) == 2 and type(p[0]) is str for p in v):
            raise DecodeError("bad dict")
        return {k: decode(x, _depth + 1, budget) for k, x in v}
    if kind == "tensor":
        dtype = tree.get("dtype")
        if dtype not in _TORCH_DTYPES:
            raise DecodeError(f"unaccepted tensor dtype {dtype!r}")
        import torch

        return torch.from_numpy(_load_npy(tree.get("npy")).copy()).to(getattr(torch, dtype))
    if kind == "swinconfig":
        from swin_edu.config import SwinConfig

        fields = decode(v, _depth + 1, budget)
        if type(fields) is not dict:
            raise DecodeError("bad SwinConfig")
        try:
            return SwinConfig(**fields)
        except (TypeError, ValueError) as e:
            raise DecodeError(f"bad SwinConfig: {e}") from None
    if kind == "other":
        name = tree.get("type")
        return _foreign_class(name if type(name) is str else "object")(str(name)[:200])
    raise DecodeError(f"unknown kind {kind!r}")


def loads(text: str | bytes) -> Any:
    """Decode one JSON document written by :func:`dumps`."""
    try:
        tree = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise DecodeError(f"not JSON: {e}") from None
    return decode(tree)
