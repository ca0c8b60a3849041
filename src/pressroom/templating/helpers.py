"""Pressroom's built-in document helpers (comparison, logic, arithmetic, formatting, codes).

Every helper takes its positional arguments, then the handlebars ``options`` object last
(:class:`pressroom.templating.handlebars.HelperOptions`). They are marked as *document helpers*: they only
act when called with at least one argument or a hash, so a bare ``{{length}}`` or ``{{#default}}`` still
reads the data field of that name exactly as handlebars.js (where these helpers do not exist) would.

Values follow JavaScript semantics where a template could observe them (truthiness, number printing).
Formatting uses Babel with the locale/timezone given as arguments, else the render-level defaults
(``Template.render(data, locale=..., timezone=...)``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pressroom.templating.handlebars.jsvalues import (
    SafeString,
    js_keys,
    js_number_to_string,
    js_to_string,
    js_truthy,
    lookup_property,
)
from pressroom.templating.handlebars.runtime import DOC_HELPER, HelperOptions

__all__ = ["DOCUMENT_HELPERS", "HelperInputError", "js_stringify", "to_number"]

Helper = Callable[..., Any]


class HelperInputError(ValueError):
    """A document helper got an argument it cannot use (reported as a TemplateRuntimeError)."""


DOCUMENT_HELPERS: dict[str, Helper] = {}


def _helper(name: str) -> Callable[[Helper], Helper]:
    def register(fn: Helper) -> Helper:
        setattr(fn, DOC_HELPER, True)
        DOCUMENT_HELPERS[name] = fn
        return fn

    return register


def _split(args: tuple[Any, ...]) -> tuple[list[Any], HelperOptions | None]:
    if args and isinstance(args[-1], HelperOptions):
        return list(args[:-1]), args[-1]
    return list(args), None


# -- value helpers -----------------------------------------------------------------------------------------


def to_number(value: Any) -> float | int:
    """JavaScript ``Number(value)`` for JSON-like values (NaN when not numeric)."""
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, int | float):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if value is None:
        return 0  # Number(null) === 0 (undefined would be NaN; both are None here)
    if isinstance(value, str):
        s = value.strip()
        if s == "":
            return 0
        if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", s):
            f = float(s)
            return int(f) if f.is_integer() and abs(f) < 2**53 and "e" not in s.lower() and "." not in s else f
        if s in ("Infinity", "+Infinity"):
            return math.inf
        if s == "-Infinity":
            return -math.inf
        return math.nan
    if isinstance(value, list | tuple):
        if not value:
            return 0
        if len(value) == 1:
            return to_number(js_to_string(value))
    return math.nan


def _num_result(x: float | int) -> float | int:
    if isinstance(x, float) and x.is_integer() and abs(x) < 2**53:
        return int(x)
    return x


def _strict_eq(a: Any, b: Any) -> bool:
    """JavaScript ``===`` for JSON-like values (objects by identity)."""
    if a is b:
        return True
    num = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, num) and isinstance(b, num):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return str(a) == str(b)
    return False


def _compare(a: Any, b: Any) -> tuple[Any, Any] | None:
    """Operands for a JavaScript relational comparison (None when it is false either way, i.e. NaN)."""
    if isinstance(a, str) and isinstance(b, str):
        return str(a), str(b)
    x, y = (
        to_number(a if not isinstance(a, list | dict) else js_to_string(a)),
        to_number(b if not isinstance(b, list | dict) else js_to_string(b)),
    )
    if x != x or y != y:
        return None
    return x, y


# -- comparison & logic --------------------------------------------------------------------------------------


@_helper("eq")
def eq(a: Any = None, b: Any = None, *rest: Any) -> bool:
    """``{{#if (eq status "paid")}}`` -- strict equality (``===``)."""
    return _strict_eq(a, b)


@_helper("ne")
def ne(a: Any = None, b: Any = None, *rest: Any) -> bool:
    """``{{#if (ne a b)}}`` -- strict inequality (``!==``)."""
    return not _strict_eq(a, b)


def _relational(op: Callable[[Any, Any], bool]) -> Helper:
    def helper(a: Any = None, b: Any = None, *rest: Any) -> bool:
        pair = _compare(a, b)
        return pair is not None and op(*pair)

    return helper


DOCUMENT_HELPERS["lt"] = _helper("lt")(_relational(lambda x, y: x < y))
DOCUMENT_HELPERS["lte"] = _helper("lte")(_relational(lambda x, y: x <= y))
DOCUMENT_HELPERS["gt"] = _helper("gt")(_relational(lambda x, y: x > y))
DOCUMENT_HELPERS["gte"] = _helper("gte")(_relational(lambda x, y: x >= y))


@_helper("and")
def and_(*args: Any) -> bool:
    """``{{#if (and a b c)}}`` -- true when every argument is truthy (JavaScript truthiness)."""
    values, _ = _split(args)
    return all(js_truthy(v) for v in values)


@_helper("or")
def or_(*args: Any) -> bool:
    """``{{#if (or a b)}}`` -- true when any argument is truthy."""
    values, _ = _split(args)
    return any(js_truthy(v) for v in values)


@_helper("not")
def not_(value: Any = None, *rest: Any) -> bool:
    """``{{#if (not paid)}}``."""
    return not js_truthy(value)


# -- arithmetic ----------------------------------------------------------------------------------------------


def _binary(op: Callable[[Any, Any], Any]) -> Helper:
    def helper(a: Any = None, b: Any = None, *rest: Any) -> float | int:
        x, y = to_number(a), to_number(b)
        try:
            return _num_result(op(x, y))
        except ZeroDivisionError:
            if x != x or x == 0:
                return math.nan
            return math.inf if (x > 0) == (math.copysign(1.0, float(y)) > 0) else -math.inf
        except OverflowError:
            return math.inf

    return helper


DOCUMENT_HELPERS["add"] = _helper("add")(_binary(lambda x, y: x + y))
DOCUMENT_HELPERS["subtract"] = _helper("subtract")(_binary(lambda x, y: x - y))
DOCUMENT_HELPERS["multiply"] = _helper("multiply")(_binary(lambda x, y: x * y))
DOCUMENT_HELPERS["divide"] = _helper("divide")(_binary(lambda x, y: x / y))


def _decimal(value: Any) -> Decimal:
    n = to_number(value)
    if isinstance(n, float) and not math.isfinite(n):
        raise HelperInputError(f"not a finite number: {js_to_string(value)}")
    return Decimal(repr(n)) if isinstance(n, float) else Decimal(n)


@_helper("round")
def round_(value: Any = None, decimals: Any = 0, *rest: Any) -> float | int:
    """``{{round 2.345 2}}`` -> ``2.35`` (half away from zero on the decimal value)."""
    places = int(to_number(decimals)) if not isinstance(decimals, HelperOptions) else 0
    if not 0 <= places <= 20:
        raise HelperInputError("round: decimals must be between 0 and 20")
    d = _decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return _num_result(float(d)) if places else int(d)


@_helper("sum")
def sum_(items: Any = None, field: Any = None, *rest: Any) -> float | int:
    """``{{sum prices}}`` or ``{{sum lines "amount"}}`` -- adds numbers (null/missing count as 0)."""
    if isinstance(field, HelperOptions):
        field = None
    if isinstance(items, Mapping):
        items = [items.get(k) for k in js_keys(items)]
    if not isinstance(items, list | tuple):
        return 0
    total: Decimal = Decimal(0)
    use_float = False
    for item in items:
        value = lookup_property(item, field) if field is not None else item
        if value is None:
            continue
        n = to_number(value)
        if isinstance(n, float):
            if not math.isfinite(n):
                return n
            use_float = True
            total += Decimal(repr(n))
        else:
            total += n
    return _num_result(float(total)) if use_float else int(total)


# -- formatting ------------------------------------------------------------------------------------------------


def _locale(arg: Any, options: HelperOptions | None) -> str:
    if isinstance(arg, str) and arg:
        return arg.replace("-", "_")
    return (options.locale if options else "en").replace("-", "_")


def _babel_locale(name: str) -> Any:
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(name)
    except (UnknownLocaleError, ValueError) as exc:
        raise HelperInputError(f"unknown locale {name!r}") from exc


@_helper("formatNumber")
def format_number(*args: Any) -> str:
    """``{{formatNumber 1234.5 2}}`` -> ``1,234.50``; ``{{formatNumber x 0 "de"}}`` -> ``1.235``."""
    from babel.numbers import format_decimal

    values, options = _split(args)
    value = values[0] if values else None
    decimals = values[1] if len(values) > 1 else None
    locale = _locale(values[2] if len(values) > 2 else None, options)
    number = _decimal(value)
    loc = _babel_locale(locale)
    if decimals is None:
        return str(format_decimal(number, locale=loc))
    places = int(to_number(decimals))
    if not 0 <= places <= 20:
        raise HelperInputError("formatNumber: decimals must be between 0 and 20")
    number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return str(format_decimal(number, format=pattern, locale=loc, decimal_quantization=False))


@_helper("formatCurrency")
def format_currency(*args: Any) -> str:
    """``{{formatCurrency total "EUR"}}`` -> ``€1,234.50``; ``{{formatCurrency total "EUR" "fr"}}``."""
    from babel.numbers import UnknownCurrencyError
    from babel.numbers import format_currency as babel_format_currency

    values, options = _split(args)
    value = values[0] if values else None
    currency = values[1] if len(values) > 1 else None
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Za-z]{3}", currency):
        raise HelperInputError("formatCurrency needs a 3-letter ISO 4217 currency code")
    locale = _babel_locale(_locale(values[2] if len(values) > 2 else None, options))
    try:
        return str(babel_format_currency(_decimal(value), currency.upper(), locale=locale))
    except UnknownCurrencyError as exc:  # pragma: no cover - babel formats unknown codes verbatim
        raise HelperInputError(f"unknown currency {currency!r}") from exc


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _parse_datetime(value: Any) -> dt.datetime | dt.date:
    if isinstance(value, dt.datetime | dt.date):
        return value
    if isinstance(value, bool):
        raise HelperInputError("formatDate: a boolean is not a date")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise HelperInputError("formatDate: not a finite timestamp")
        seconds = value / 1000 if abs(value) >= 1e11 else value
        try:
            return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise HelperInputError("formatDate: timestamp out of range") from exc
    if isinstance(value, str):
        s = value.strip()
        if _ISO_DATE.fullmatch(s):
            try:
                return dt.date.fromisoformat(s)
            except ValueError as exc:
                raise HelperInputError(f"formatDate: invalid date {value!r}") from exc
        try:
            return dt.datetime.fromisoformat(s.replace("z", "Z"))
        except ValueError as exc:
            raise HelperInputError(f"formatDate: cannot parse {value!r} as an ISO 8601 date") from exc
    raise HelperInputError("formatDate: expected an ISO 8601 string, an epoch number or a date")


def _zone(name: str) -> dt.tzinfo:
    if name.upper() == "UTC":
        return dt.UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise HelperInputError(f"unknown timezone {name!r}") from exc


@_helper("formatDate")
def format_date(*args: Any) -> str:
    """``{{formatDate issued}}`` (medium), ``{{formatDate issued "long"}}``, ``{{formatDate t "yyyy-MM-dd HH:mm"
    "de" "Europe/Berlin"}}``. Patterns are CLDR (``short``/``medium``/``long``/``full`` or e.g. ``d MMM y``)."""
    from babel.dates import format_date as babel_format_date
    from babel.dates import format_datetime

    values, options = _split(args)
    value = values[0] if values else None
    if value is None or value == "":
        return ""
    pattern = values[1] if len(values) > 1 and isinstance(values[1], str) and values[1] else "medium"
    locale = _babel_locale(_locale(values[2] if len(values) > 2 else None, options))
    tz_arg = values[3] if len(values) > 3 and isinstance(values[3], str) and values[3] else None
    tz_name = tz_arg or (options.timezone if options else "UTC")
    when = _parse_datetime(value)
    try:
        if not isinstance(when, dt.datetime):
            if pattern in ("short", "medium", "long", "full"):
                return str(babel_format_date(when, format=pattern, locale=locale))
            return str(format_datetime(dt.datetime.combine(when, dt.time()), format=pattern, locale=locale))
        zone = _zone(tz_name)
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return str(format_datetime(when, format=pattern, tzinfo=zone, locale=locale))
    except (ValueError, KeyError, AttributeError) as exc:
        raise HelperInputError(f"formatDate: bad pattern {pattern!r}: {exc}") from exc


# -- strings -------------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None or isinstance(value, HelperOptions):
        return ""
    return js_to_string(value)


@_helper("uppercase")
def uppercase(value: Any = None, *rest: Any) -> str:
    """``{{uppercase name}}``."""
    return _text(value).upper()


@_helper("lowercase")
def lowercase(value: Any = None, *rest: Any) -> str:
    """``{{lowercase code}}``."""
    return _text(value).lower()


@_helper("capitalize")
def capitalize(value: Any = None, *rest: Any) -> str:
    """``{{capitalize "hello world"}}`` -> ``Hello world`` (first letter only)."""
    s = _text(value)
    return s[:1].upper() + s[1:]


@_helper("truncate")
def truncate(value: Any = None, length: Any = None, suffix: Any = "…", *rest: Any) -> str:
    """``{{truncate description 40}}`` -> at most 40 characters, ending with ``…`` when cut."""
    s = _text(value)
    if isinstance(suffix, HelperOptions) or suffix is None:
        suffix = "…"
    suffix_text: str = js_to_string(suffix)
    if length is None or isinstance(length, HelperOptions):
        raise HelperInputError("truncate needs a length")
    n = int(to_number(length))
    if n < 0:
        raise HelperInputError("truncate: length must be >= 0")
    if len(s) <= n:
        return s
    keep = max(0, n - len(suffix_text))
    return s[:keep].rstrip() + suffix_text if keep else suffix_text[:n]


@_helper("default")
def default(value: Any = None, fallback: Any = None, *rest: Any) -> Any:
    """``{{default nickname "n/a"}}`` -- the fallback when the value is null, missing or ``""``."""
    if isinstance(fallback, HelperOptions):
        fallback = None
    return fallback if value is None or value == "" else value


def js_stringify(value: Any, indent: int = 0) -> str | None:
    """``JSON.stringify`` for JSON-like values (JS number printing and key order)."""
    seen: set[int] = set()

    def wrap(open_: str, close: str, items: list[str], level: int) -> str:
        if not items:
            return open_ + close
        if not indent:
            return open_ + ",".join(items) + close
        pad = "\n" + " " * (indent * (level + 1))
        return open_ + pad + ("," + pad).join(items) + "\n" + " " * (indent * level) + close

    def enc(v: Any, level: int) -> str | None:
        if v is None:
            return "null"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            if isinstance(v, float) and not math.isfinite(v):
                return "null"
            return js_number_to_string(v)
        if isinstance(v, str):
            return _json_quote(str(v))
        if isinstance(v, Decimal | dt.date | dt.time):
            return _json_quote(js_to_string(v)) if not isinstance(v, Decimal) else js_to_string(v)
        if isinstance(v, list | tuple | Mapping):
            if id(v) in seen:
                raise HelperInputError("json: cyclic data")
            seen.add(id(v))
            try:
                if isinstance(v, Mapping):
                    items = []
                    for k in js_keys(v):
                        if k[:2] == "__":
                            continue
                        ev = enc(v.get(k), level + 1)
                        if ev is not None:
                            items.append(_json_quote(k) + (": " if indent else ":") + ev)
                    return wrap("{", "}", items, level)
                return wrap("[", "]", [enc(x, level + 1) or "null" for x in v], level)
            finally:
                seen.discard(id(v))
        return None

    return enc(value, 0)


_JSON_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _json_quote(s: str) -> str:
    out = []
    for ch in s:
        if ch in _JSON_ESCAPES:
            out.append(_JSON_ESCAPES[ch])
        elif ord(ch) < 0x20 or 0xD800 <= ord(ch) <= 0xDFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


@_helper("json")
def json_(value: Any = None, indent: Any = None, *rest: Any) -> str:
    """``{{json order}}`` -- JSON text (HTML-escaped by ``{{ }}``; use ``{{{json x}}}`` inside ``<script>``)."""
    spaces = 0 if indent is None or isinstance(indent, HelperOptions) else int(to_number(indent))
    result = js_stringify(value, max(0, min(spaces, 10)))
    return "" if result is None else result


@_helper("join")
def join(items: Any = None, separator: Any = None, *rest: Any) -> str:
    """``{{join tags ", "}}`` -- like ``Array.prototype.join`` (default separator ``,``)."""
    if not isinstance(items, list | tuple):
        return ""
    sep = separator if isinstance(separator, str) else ","
    return sep.join("" if v is None else js_to_string(v) for v in items)


@_helper("length")
def length(value: Any = None, *rest: Any) -> int:
    """``{{length items}}`` -- items in a list, keys in an object, characters in a string (else 0)."""
    if isinstance(value, str | list | tuple):
        return len(value)
    if isinstance(value, Mapping):
        return len(value)
    return 0


@_helper("pluralize")
def pluralize(count: Any = None, singular: Any = None, plural: Any = None, *rest: Any) -> str:
    """``{{count}} {{pluralize count "item"}}`` -> ``1 item`` / ``3 items``; a third argument gives the plural."""
    if not isinstance(singular, str):
        raise HelperInputError("pluralize needs the singular word")
    if not isinstance(plural, str):
        plural = singular + "s"
    return singular if to_number(count) == 1 else plural


@_helper("raw")
def raw(*args: Any) -> str:
    """``{{{{raw}}}} {{not rendered}} {{{{/raw}}}}`` -- the raw block's text, untouched."""
    _, options = _split(args)
    if options is None or options.fn is None:
        return ""
    return options.fn(options.context)


# -- codes -----------------------------------------------------------------------------------------------------

_MAX_CODE_SIZE = 2000


@_helper("qrcode")
def qrcode(value: Any = None, size: Any = None, *rest: Any) -> SafeString:
    """``{{qrcode url 160}}`` -- an inline ``<svg>`` QR code, ``size`` pixels wide (default 128)."""
    import segno

    text = _text(value)
    if not text:
        raise HelperInputError("qrcode needs a value")
    px = 128 if size is None or isinstance(size, HelperOptions) else to_number(size)
    if not (isinstance(px, int | float) and 16 <= px <= _MAX_CODE_SIZE):
        raise HelperInputError(f"qrcode: size must be between 16 and {_MAX_CODE_SIZE}")
    try:
        qr = segno.make(text, error="m")
    except Exception as exc:
        raise HelperInputError(f"qrcode: {exc}") from exc
    width = qr.symbol_size(border=2)[0]
    svg = qr.svg_inline(scale=px / width, border=2, omitsize=False)
    return SafeString(svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" role="img" ', 1))


_BARCODE_TYPES = {"code128": "code128", "ean13": "ean13"}


@_helper("barcode")
def barcode(value: Any = None, kind: Any = None, *rest: Any) -> SafeString:
    """``{{barcode sku}}`` (Code 128) or ``{{barcode ean "ean13"}}`` -- an inline ``<svg>`` barcode."""
    import barcode as python_barcode
    from barcode.writer import SVGWriter

    text = _text(value)
    if not text:
        raise HelperInputError("barcode needs a value")
    name = "code128" if kind is None or isinstance(kind, HelperOptions) else js_to_string(kind).lower()
    if name not in _BARCODE_TYPES:
        raise HelperInputError("barcode: type must be code128 or ean13")
    if name == "ean13" and not re.fullmatch(r"\d{12,13}", text):
        raise HelperInputError("barcode: ean13 needs 12 or 13 digits")
    try:
        code = python_barcode.get(_BARCODE_TYPES[name], text, writer=SVGWriter())
        svg = code.render({"module_height": 12.0, "font_size": 8, "text_distance": 4.0, "quiet_zone": 2.0})
    except Exception as exc:
        raise HelperInputError(f"barcode: {exc}") from exc
    text_svg = svg.decode("utf-8") if isinstance(svg, bytes) else str(svg)
    start = text_svg.find("<svg")
    text_svg = re.sub(r"<!--.*?-->", "", text_svg[start:], flags=re.S)
    return SafeString(text_svg.strip())
