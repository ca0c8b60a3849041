"""JavaScript value semantics for JSON-like Python data.

Handlebars.js templates observe JavaScript behaviour: how numbers print (``1.0`` -> ``1``, ``1e21``),
what is truthy (``0``, ``""``, ``null`` are falsy, ``{}`` is truthy), how arrays print (``1,2,3``),
the order ``Object.keys`` returns keys in, and which characters HTML-escaping replaces. This module
reproduces those rules for the values ``json.loads`` produces (dict, list, str, int, float, bool, None)
plus :class:`SafeString`. It never reads attributes of, nor calls, any other object.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

__all__ = [
    "JS_WS",
    "NULL_CONTEXT",
    "SafeString",
    "escape_expression",
    "is_empty",
    "js_keys",
    "js_loose_eq",
    "js_number_to_string",
    "js_to_string",
    "js_truthy",
    "lookup_property",
]

#: The characters JavaScript's ``\s`` matches (used to translate handlebars.js' regular expressions).
JS_WS = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


class SafeString(str):
    """A string that is already HTML and is never escaped again (``Handlebars.SafeString``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"SafeString({str.__repr__(self)})"


class _NullContext(dict[str, Any]):
    """handlebars.js' ``container.nullContext``: the sealed ``{}`` helpers see as ``this`` for null."""

    __slots__ = ()

    def __setitem__(self, key: str, value: Any) -> None:  # pragma: no cover - defensive
        raise TypeError("the null context is read-only")


NULL_CONTEXT: dict[str, Any] = _NullContext()

_MAX_SAFE_INT = 2**53


def js_number_to_string(value: float | int) -> str:
    """``Number.prototype.toString()`` for a double (ints beyond 2**53 are rounded like JSON.parse)."""
    if type(value) is int:
        if -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
            return str(value)
        try:
            value = float(value)
        except OverflowError:
            return "Infinity" if value > 0 else "-Infinity"
    x = float(value)
    if x != x:
        return "NaN"
    if x == 0:
        return "0"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x.is_integer() and abs(x) < _MAX_SAFE_INT:
        return str(int(x))
    sign = "-" if x < 0 else ""
    r = repr(abs(x))
    mantissa, _, exp_s = r.partition("e")
    exp = int(exp_s) if exp_s else 0
    int_part, _, frac_part = mantissa.partition(".")
    if frac_part == "0":
        frac_part = ""
    digits = (int_part + frac_part).lstrip("0")
    # position of the decimal point relative to the start of `digits` (JS' n)
    n = len(int_part) + exp
    if int_part == "0":
        n = exp - (len(frac_part) - len(frac_part.lstrip("0")))
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    if k <= n <= 21:
        s = digits + "0" * (n - k)
    elif 0 < n <= 21:
        s = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        s = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        es = ("+" if e >= 0 else "-") + str(abs(e))
        s = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + es
    return sign + s


def _decimal_to_string(value: Decimal) -> str:
    if not value.is_finite():
        return "NaN" if value.is_nan() else ("Infinity" if value > 0 else "-Infinity")
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def js_to_string(value: Any, _seen: set[int] | None = None) -> str:
    """JavaScript ``String(value)`` (``'' + value``) for JSON-like data."""
    t = type(value)
    if t is str or t is SafeString:
        return value  # type: ignore[no-any-return]
    if t is bool:
        return "true" if value else "false"
    if t is int or t is float:
        return js_number_to_string(value)
    if value is None:
        return "undefined"
    if t is list or t is tuple:
        seen = _seen if _seen is not None else set()
        if id(value) in seen:
            return ""
        seen.add(id(value))
        try:
            return ",".join("" if v is None else js_to_string(v, seen) for v in value)
        finally:
            seen.discard(id(value))
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return js_number_to_string(value)
    if isinstance(value, Decimal):
        return _decimal_to_string(value)
    if isinstance(value, _dt.date | _dt.time):
        return value.isoformat()
    return "[object Object]"


_ESCAPE_RE = re.compile("[&<>\"'`=]")
_ESCAPES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#x27;",
    "`": "&#x60;",
    "=": "&#x3D;",
}


def _escape_str(s: str) -> str:
    if _ESCAPE_RE.search(s) is None:
        return s
    return (
        s.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#x27;")
        .replace("`", "&#x60;")
        .replace("=", "&#x3D;")
    )


def escape_expression(value: Any) -> str:
    """``Handlebars.Utils.escapeExpression``: null/undefined -> '', SafeString untouched, else escaped."""
    t = type(value)
    if t is str:
        return _escape_str(value)
    if t is SafeString:
        return value  # type: ignore[no-any-return]
    if value is None:
        return ""
    return _escape_str(js_to_string(value))


def js_truthy(value: Any) -> bool:
    """JavaScript truthiness: false, 0, -0, NaN, '' and null/undefined are falsy; [] and {} are truthy."""
    t = type(value)
    if t is str:
        return bool(value != "")
    if value is None:
        return False
    if t is bool:
        return bool(value)
    if t is int:
        return bool(value != 0)
    if t is float:
        return bool(value == value and value != 0.0)
    if t is SafeString:
        return True  # a SafeString is an object in JS
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        return value != ""
    if isinstance(value, int | float):
        return value == value and value != 0
    if isinstance(value, Decimal):
        return not value.is_nan() and value != 0
    return True


def is_empty(value: Any) -> bool:
    """``Handlebars.Utils.isEmpty``: falsy but not 0, or an empty array."""
    if not js_truthy(value):
        return not (type(value) in (int, float) and value == 0)
    t = type(value)
    return (t is list or t is tuple) and len(value) == 0


def _is_array_index(key: str) -> bool:
    if not key.isdigit() or not key.isascii():
        return False
    if len(key) > 1 and key[0] == "0":
        return False
    return int(key) < 4294967295


def js_keys(obj: Mapping[str, Any]) -> list[str]:
    """``Object.keys`` order: integer-like keys ascending, then the other keys in insertion order."""
    keys = [k if type(k) is str else js_to_string(k) for k in obj]
    indexes = [k for k in keys if k[:1].isdigit() and _is_array_index(k)]
    if not indexes:
        return keys
    index_set = set(indexes)
    indexes.sort(key=int)
    return indexes + [k for k in keys if k not in index_set]


def _js_number(value: Any) -> float | None:
    """ToNumber for primitives used by loose equality (None when not a primitive)."""
    t = type(value)
    if t is bool:
        return 1.0 if value else 0.0
    if t is int or t is float:
        return float(value)
    if t is str:
        s = value.strip(" \t\n\v\f\r\u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff")
        if s == "":
            return 0.0
        try:
            if s[:2].lower() in ("0x", "0o", "0b"):
                return float(int(s, 0))
            if s in ("Infinity", "+Infinity"):
                return math.inf
            if s == "-Infinity":
                return -math.inf
            if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", s):
                return math.nan
            return float(s)
        except (ValueError, OverflowError):
            return math.nan
    return None


def js_loose_eq(a: Any, b: Any) -> bool:
    """JavaScript ``a == b`` for JSON-like values (objects compare by identity)."""
    if a is b:
        return True
    if a is None or b is None:
        return False
    ta, tb = type(a), type(b)
    a_obj = not (ta in (str, int, float, bool) or ta is SafeString)
    b_obj = not (tb in (str, int, float, bool) or tb is SafeString)
    if a_obj and b_obj:
        return False
    if a_obj:
        a = js_to_string(a)
        ta = str
    if b_obj:
        b = js_to_string(b)
        tb = str
    if ta in (str, SafeString) and tb in (str, SafeString):
        return str(a) == str(b)
    na, nb = _js_number(a), _js_number(b)
    return na is not None and nb is not None and na == nb


def _utf16_units(s: str) -> int:
    if s.isascii():
        return len(s)
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


def lookup_property(obj: Any, key: Any) -> Any:
    """handlebars.js' ``lookupProperty`` restricted to data: dict keys, list indexes, ``length``.

    Never reads a Python attribute; keys starting with ``__`` are never resolved.
    """
    if type(key) is not str:
        key = js_to_string(key)
    if key[:2] == "__":
        return None
    t = type(obj)
    if t is dict:
        return obj.get(key)
    if obj is None:
        return None
    if t is list or t is tuple:
        if key == "length":
            return len(obj)
        if key[:1].isdigit() and _is_array_index(key):
            i = int(key)
            return obj[i] if i < len(obj) else None
        return None
    if t is str or t is SafeString:
        if key == "length":
            return _utf16_units(obj)
        if key[:1].isdigit() and _is_array_index(key):
            i = int(key)
            if obj.isascii() or _utf16_units(obj) == len(obj):
                return obj[i] if i < len(obj) else None
            units = obj.encode("utf-16-le", "surrogatepass")
            if 2 * i + 2 > len(units):
                return None
            return units[2 * i : 2 * i + 2].decode("utf-16-le", "surrogatepass")
        return None
    if isinstance(obj, Mapping):
        try:
            return obj.get(key)
        except Exception:  # a hostile Mapping: treat as missing
            return None
    return None
