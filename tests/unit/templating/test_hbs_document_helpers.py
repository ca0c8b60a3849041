"""Pressroom's document helpers (docs/templates.md lists each with an example)."""

from __future__ import annotations

from typing import Any

import pytest

from pressroom.templating.handlebars import TemplateRuntimeError, compile, render


def r(source: str, data: Any = None, **kw: Any) -> str:
    return render(source, data if data is not None else {}, **kw)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{eq 1 1}}{{eq 1 '1'}}{{ne 1 2}}{{eq 1 1.0}}", "truefalsetruetrue"),
        ("{{lt 1 2}}{{lte 2 2}}{{gt 1 2}}{{gte 'b' 'a'}}{{lt 'x' 1}}", "truetruefalsetruefalse"),
        (
            "{{and 1 'a' true}}{{and 1 0}}{{or 0 '' 'x'}}{{or 0 null}}{{not 0}}{{not 'x'}}",
            "truefalsetruefalsetruefalse",
        ),
        (
            "{{add 1 2}}|{{add 0.1 0.2}}|{{subtract 5 7}}|{{multiply 3 1.5}}|{{divide 7 2}}|{{divide 1 0}}",
            "3|0.30000000000000004|-2|4.5|3.5|Infinity",
        ),
        ("{{round 2.345 2}}|{{round 2.5}}|{{round -2.5}}|{{round 1.005 2}}", "2.35|3|-3|1.01"),
        ("{{uppercase 'abc'}}|{{lowercase 'ABC'}}|{{capitalize 'hello world'}}", "ABC|abc|Hello world"),
        (
            "{{truncate 'hello world' 8}}|{{truncate 'short' 10}}|{{truncate 'hello world' 8 '...'}}",
            "hello w…|short|hello...",
        ),
        ("{{default missing 'n/a'}}|{{default '' 'n/a'}}|{{default 0 'n/a'}}", "n/a|n/a|0"),
        ("{{pluralize 1 'item'}}|{{pluralize 3 'item'}}|{{pluralize 0 'child' 'children'}}", "item|items|children"),
    ],
)
def test_simple_helpers(source: str, expected: str) -> None:
    assert r(source) == expected


def test_sum_join_length_json() -> None:
    data = {
        "xs": [0.1, 0.2, None],
        "lines": [{"a": 1}, {"a": 2.5}, {}],
        "tags": ["a", None, 3],
        "o": {"b": [1, 2.0], "a": "<"},
    }
    assert r("{{sum xs}}|{{sum lines 'a'}}|{{sum nothing}}", data) == "0.3|3.5|0"
    assert (
        r("{{join tags ', '}}|{{join tags}}|{{length tags}}|{{length o}}|{{length 'héllo'}}", data)
        == "a, , 3|a,,3|3|2|5"
    )
    assert r("{{{json o}}}", data) == '{"b":[1,2],"a":"<"}'
    assert r("{{json o}}", data) == "{&quot;b&quot;:[1,2],&quot;a&quot;:&quot;&lt;&quot;}"
    assert r("{{{json o 2}}}", data) == '{\n  "b": [\n    1,\n    2\n  ],\n  "a": "<"\n}'


def test_format_number_and_currency_with_locales() -> None:
    data = {"v": 1234567.891}
    assert (
        r("{{formatNumber v 2}}|{{formatNumber v 0}}|{{formatNumber v}}", data)
        == "1,234,567.89|1,234,568|1,234,567.891"
    )
    assert r("{{formatNumber v 2 'de'}}", data) == "1.234.567,89"
    assert r("{{formatNumber v 2}}", data, locale="fr") == "1\u202f234\u202f567,89"
    assert r("{{formatCurrency v 'EUR'}}|{{formatCurrency v 'usd' 'en_US'}}", data) == "€1,234,567.89|$1,234,567.89"
    assert r("{{formatCurrency v 'EUR'}}", data, locale="de_DE") == "1.234.567,89\xa0€"


def test_format_date() -> None:
    data = {"d": "2024-03-05", "t": "2024-03-05T23:30:00Z", "epoch_s": 1709681400, "epoch_ms": 1709681400000}
    assert (
        r("{{formatDate d}}|{{formatDate d 'long'}}|{{formatDate d 'dd.MM.yyyy'}}", data)
        == "Mar 5, 2024|March 5, 2024|05.03.2024"
    )
    assert r("{{formatDate t 'yyyy-MM-dd HH:mm'}}", data) == "2024-03-05 23:30"
    assert r("{{formatDate t 'yyyy-MM-dd HH:mm' 'en' 'Europe/Berlin'}}", data) == "2024-03-06 00:30"
    assert r("{{formatDate t 'yyyy-MM-dd HH:mm'}}", data, timezone="Asia/Tokyo") == "2024-03-06 08:30"
    assert (
        r("{{formatDate epoch_s 'yyyy-MM-dd'}}|{{formatDate epoch_ms 'yyyy-MM-dd'}}", data) == "2024-03-05|2024-03-05"
    )
    assert r("{{formatDate d 'long'}}", data, locale="fr") == "5 mars 2024"
    assert r("{{formatDate d 'long' 'de'}}", data, locale="fr") == "5. März 2024"


def test_render_locale_does_not_leak_between_renders() -> None:
    tpl = compile("{{formatNumber v 1}}")
    assert tpl.render({"v": 1.5}, locale="de") == "1,5"
    assert tpl.render({"v": 1.5}) == "1.5"


@pytest.mark.parametrize(
    "source",
    [
        "{{formatCurrency 1 'EURO'}}",
        "{{formatNumber 1 2 'xx_nope'}}",
        "{{formatDate 'not a date'}}",
        "{{formatDate '2024-01-01T00:00:00Z' 'long' 'en' 'Mars/Olympus'}}",
        "{{barcode '123' 'ean13'}}",
        "{{barcode 'x' 'upc'}}",
        "{{qrcode ''}}",
        "{{qrcode 'x' 5}}",
        "{{truncate 'x'}}",
    ],
)
def test_bad_helper_input_is_a_runtime_error(source: str) -> None:
    with pytest.raises(TemplateRuntimeError, match="failed"):
        r(source)


def test_qrcode_and_barcode_are_inline_svg() -> None:
    qr = r("{{qrcode url 160}}", {"url": "https://example.com/i/42"})
    assert qr.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and 'width="160' in qr and qr.endswith("</svg>")
    code = r("{{barcode sku}}", {"sku": "ABC-123"})
    assert code.startswith("<svg") and code.rstrip().endswith("</svg>") and "<?xml" not in code
    ean = r("{{barcode '590123412345' 'ean13'}}")
    assert "<rect" in ean and "5901234123457" in ean  # check digit added


def test_raw_block_helper() -> None:
    # Pressroom ships `raw`; handlebars.js needs it registered (without it, raw blocks render nothing).
    assert r("{{{{raw}}}}{{not}} {{rendered}}{{{{/raw}}}}") == "{{not}} {{rendered}}"
