"""Unit tests of the Handlebars engine: API, every language construct, errors with positions.

Expected strings were checked against handlebars.js 4.7.8 (the differential suite covers far more cases).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from pressroom.core.errors import TemplateRenderFailed, TemplateSyntaxFailed
from pressroom.templating import handlebars as hb
from pressroom.templating.handlebars import (
    HelperOptions,
    SafeString,
    Template,
    TemplateRuntimeError,
    TemplateSyntaxError,
    compile,
    render,
)


def r(source: str, data: Any = None, partials: dict[str, str] | None = None, helpers: Any = None) -> str:
    return render(source, data, partials, helpers)


# -- API --------------------------------------------------------------------------------------------------------


def test_public_api() -> None:
    tpl = compile("Hi {{name}}", partials=None, helpers=None)
    assert isinstance(tpl, Template)
    assert tpl.render({"name": "Ada"}) == "Hi Ada"
    assert tpl.render({"name": "Bob"}) == "Hi Bob"
    assert render("{{a}}", {"a": 1}, None, None) == "1"
    assert {"compile", "render", "TemplateSyntaxError", "TemplateRuntimeError", "SafeString"} <= set(hb.__all__)


def test_templating_package_reexports() -> None:
    from pressroom import templating

    assert templating.compile is compile and templating.render is render


def test_user_helpers_add_and_override() -> None:
    def shout(value: Any, options: HelperOptions) -> str:
        return str(value).upper() + str(options.hash.get("end", "!"))

    def eq(a: Any, b: Any, options: HelperOptions) -> str:
        return "custom-eq"

    tpl = compile("{{shout name end='?'}} {{eq 1 1}}", helpers={"shout": shout, "eq": eq})
    assert tpl.render({"name": "hi"}) == "HI? custom-eq"


def test_block_helper_options() -> None:
    seen: dict[str, Any] = {}

    def wrap(tag: str, options: HelperOptions) -> SafeString:
        seen["this"] = options.context
        seen["index"] = options.data.get("index")
        inner = options.fn(options.context) if options.fn else ""
        return SafeString(f"<{tag}>{inner}</{tag}>")

    def each_pair(items: list[Any], options: HelperOptions) -> str:
        assert options.fn is not None and options.inverse is not None
        if not items:
            return options.inverse(options.context)
        return "".join(options.fn(item, block_params=[item, i]) for i, item in enumerate(items))

    out = render(
        "{{#each xs}}{{#wrap 'b'}}{{this}}{{/wrap}}{{/each}}|"
        "{{#each_pair ys as |y i|}}{{i}}{{y}}{{else}}none{{/each_pair}}",
        {"xs": ["<x>"], "ys": ["a", "b"]},
        helpers={"wrap": wrap, "each_pair": each_pair},
    )
    assert out == "<b>&lt;x&gt;</b>|0a1b"
    assert seen == {"this": "<x>", "index": 0}
    assert (
        render("{{#each_pair ys}}x{{else}}none{{/each_pair}}", {"ys": []}, helpers={"each_pair": each_pair}) == "none"
    )


def test_helper_result_escaping() -> None:
    helpers = {"h": lambda options: "<i>", "s": lambda options: SafeString("<i>")}
    assert render("{{h}}{{{h}}}{{s}}", {}, helpers=helpers) == "&lt;i&gt;<i><i>"


def test_helper_exception_becomes_runtime_error() -> None:
    def boom(value: Any, options: HelperOptions) -> str:
        raise ValueError("bad input")

    with pytest.raises(TemplateRuntimeError, match="Helper 'boom' failed: ValueError: bad input") as info:
        render("ok\n  {{boom 1}}", {}, helpers={"boom": boom})
    assert (info.value.line, info.value.column) == (2, 3)


def test_non_callable_helper_rejected() -> None:
    with pytest.raises(TypeError):
        compile("x", helpers={"h": "nope"})  # type: ignore[dict-item]


# -- interpolation & escaping ---------------------------------------------------------------------------------


def test_escaping_matches_handlebars() -> None:
    assert r("{{s}}", {"s": "&<>\"'`="}) == "&amp;&lt;&gt;&quot;&#x27;&#x60;&#x3D;"
    assert r("{{{s}}}|{{& s}}", {"s": "<b>"}) == "<b>|<b>"
    assert r("\\{{s}} {{s}}", {"s": 1}) == "{{s}} 1"
    assert r("\\\\{{s}}", {"s": 1}) == "\\1"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.0, "1"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (0.1 + 0.2, "0.30000000000000004"),
        (-0.0, "0"),
        (12345678901234567890, "12345678901234567000"),
        (1e-7, "1e-7"),
        (0.000001, "0.000001"),
        ([1, [2, 3], None, "x"], "1,2,3,,x"),
        ({"a": 1}, "[object Object]"),
        (None, ""),
        (True, "true"),
        (False, "false"),
        (0, "0"),
    ],
)
def test_javascript_value_printing(value: Any, expected: str) -> None:
    assert r("{{v}}", {"v": value}) == expected


def test_comments_and_raw_blocks() -> None:
    assert r("a{{! c }}b{{!-- {{x}} --}}c") == "abc"
    assert r("{{{{raw}}}} {{x}} {{{{/raw}}}}", {"x": 1}) == " {{x}} "
    assert r("{{{{raw}}}}{{{{inner}}}}{{x}}{{{{/inner}}}}{{{{/raw}}}}") == "{{{{inner}}}}{{x}}{{{{/inner}}}}"


# -- paths ------------------------------------------------------------------------------------------------------


def test_paths() -> None:
    data = {"a": {"b": {"c": "deep"}}, "xs": [10, 20], "s": "héllo", "a b": "sp", "t": "root"}
    assert r("{{a.b.c}}|{{a/b/c}}|{{this.a.b.c}}|{{./a.b.c}}", data) == "deep|deep|deep|deep"
    assert r("{{xs.[1]}}|{{xs.length}}|{{s.length}}|{{[a b]}}", data) == "20|2|5|sp"
    assert (
        r("{{#with a}}{{#with b}}{{c}}{{../b.c}}{{../../t}}{{@root.t}}{{/with}}{{/with}}", data) == "deepdeeprootroot"
    )
    assert r("[{{missing.deeper}}][{{../up}}]", data) == "[][]"


def test_parent_paths_skip_same_context_blocks() -> None:
    # `#if` keeps the same context, so `../` jumps over it (like handlebars.js)
    data = {"x": "root", "a": {"t": 1, "x": "a"}}
    assert r("{{#with a}}{{#if t}}{{../x}}{{/if}}{{/with}}", data) == "root"


def test_data_variables() -> None:
    out = r(
        "{{#each o}}{{@index}}{{@key}}{{@first}}{{@last}};{{/each}}|"
        "{{#each a}}{{#each b}}{{@../index}}.{{@index}} {{/each}}{{/each}}",
        {"o": {"x": 1, "y": 2}, "a": [{"b": [1, 2]}, {"b": [3]}]},
    )
    assert out == "0xtruefalse;1yfalsetrue;|0.0 0.1 1.0 "


def test_object_key_order_is_javascript() -> None:
    assert r("{{#each o}}{{@key}}{{/each}}", {"o": {"b": 1, "2": 1, "a": 1, "1": 1, "01": 1}}) == "12ba01"


# -- blocks -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, "F"), ("", "F"), ([], "F"), (None, "F"), (False, "F"), ({}, "T"), ([0], "T"), ("0", "T"), (-1, "T")],
)
def test_if_javascript_truthiness(value: Any, expected: str) -> None:
    assert r("{{#if v}}T{{else}}F{{/if}}", {"v": value}) == expected
    assert r("{{#unless v}}F{{else}}T{{/unless}}", {"v": value}) == expected


def test_if_include_zero_and_chains() -> None:
    assert r("{{#if z includeZero=true}}T{{else}}F{{/if}}", {"z": 0}) == "T"
    tpl = compile("{{#if a}}A{{else if b}}B{{else unless c}}notC{{else}}C{{/if}}")
    assert [tpl.render(d) for d in ({"a": 1}, {"b": 1}, {}, {"c": 1})] == ["A", "B", "notC", "C"]
    assert r("{{#if a}}A{{^}}not{{/if}}", {}) == "not"


def test_each_forms() -> None:
    assert r("{{#each xs as |x i|}}{{i}}={{x}} {{/each}}", {"xs": ["a", "b"]}) == "0=a 1=b "
    assert r("{{#each o as |v k|}}{{k}}={{v}} {{/each}}", {"o": {"a": 1}}) == "a=1 "
    assert r("{{#each xs}}x{{else}}empty{{/each}}", {"xs": []}) == "empty"
    assert r("{{#each xs}}{{../title}}{{this}}{{/each}}", {"xs": [1], "title": "T"}) == "T1"


def test_with_lookup_log() -> None:
    assert r("{{#with a as |x|}}{{x.b}}{{b}}{{/with}}{{#with nope}}-{{else}}none{{/with}}", {"a": {"b": 1}}) == "11none"
    assert (
        r(
            "{{lookup o k}}|{{lookup xs 1}}|{{#with (lookup o k)}}{{.}}{{/with}}",
            {"o": {"k": "v"}, "k": "k", "xs": [0, 9]},
        )
        == "v|9|v"
    )
    assert r("a{{log 'hello' level='error'}}b") == "ab"


def test_mustache_sections() -> None:
    data = {"list": [1, 2], "obj": {"a": "A"}, "yes": True, "no": False, "zero": 0}
    assert (
        r("{{#list}}[{{.}}]{{/list}}{{#obj}}{{a}}{{/obj}}{{#yes}}Y{{/yes}}{{#no}}N{{/no}}{{#zero}}Z{{/zero}}", data)
        == "[1][2]AYZ"
    )
    assert r("{{^no}}not{{/no}}{{^list}}x{{/list}}{{^empty}}E{{/empty}}", data | {"empty": []}) == "notE"


def test_subexpressions_and_literals() -> None:
    helpers = {"cat": lambda *a: "".join("null" if x is None else str(x) for x in a[:-1])}
    out = r("{{cat 'a' \"b\" 1 2.5 true null undefined (cat 'x' (cat 'y'))}}", {}, helpers=helpers)
    assert out == "ab12.5TrueNoneNonexy".replace("None", "null")


# -- partials ---------------------------------------------------------------------------------------------------


def test_partials() -> None:
    partials = {"p": "{{x}}{{y}}", "layout": "<{{> @partial-block}}>", "dyn": "D"}
    assert r("{{> p}}|{{> p a}}|{{> p a y=2}}", {"x": 1, "a": {"x": 3}}, partials) == "1|3|32"
    assert r("{{> (lookup . 'name')}}", {"name": "dyn"}, partials) == "D"
    assert r("{{#> layout}}in {{x}}{{/layout}}", {"x": 1}, partials) == "<in 1>"
    assert r("{{#> nope}}fallback{{/nope}}", {}, partials) == "fallback"
    assert r("{{#*inline 'i'}}I{{x}}{{/inline}}{{> i}}", {"x": 1}) == "I1"


def test_standalone_partial_indentation() -> None:
    assert r("a\n  {{> p}}\nb", {"t": "x\ny"}, {"p": "{{t}}\nend\n"}) == "a\n  x\n  y\n  end\nb"


def test_whitespace_control_and_standalone() -> None:
    assert r("a  {{~x~}}  b", {"x": 1}) == "a1b"
    assert (
        r("<ul>\n  {{#each xs}}\n  <li>{{.}}</li>\n  {{/each}}\n</ul>", {"xs": [1, 2]})
        == "<ul>\n  <li>1</li>\n  <li>2</li>\n</ul>"
    )
    assert r("{{#if t}}\r\nyes\r\n{{/if}}\r\n", {"t": 1}) == "yes\r\n"


def test_partial_syntax_error_is_deferred_like_handlebars_js() -> None:
    tpl = compile("ok", partials={"bad": "{{#if x}}"})
    assert tpl.render({}) == "ok"
    with pytest.raises(TemplateSyntaxError) as info:
        compile("{{> bad}}", partials={"bad": "x\n{{#if x}}"}).render({})
    assert info.value.template == "bad" and info.value.line == 2
    with pytest.raises(TemplateSyntaxError):
        compile("ok", partials={"bad": "{{#if x}}"}, strict_partials=True)


def test_document_helpers_do_not_shadow_data_fields() -> None:
    data = {"length": 3, "default": True, "json": "j", "sum": {"total": 9}}
    assert r("{{length}}|{{#default}}D{{/default}}|{{json}}|{{sum.total}}", data) == "3|D|j|9"
    assert r("{{length xs}}", {"xs": [1, 2]}) == "2"


# -- errors -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "line", "column", "fragment"),
    [
        ("{{#if x}}\n  open", 1, 1, "Unclosed block"),
        ("a\n{{#if x}}b{{/each}}", 2, 4, "if doesn't match each"),
        ("x{{/if}}", 1, 2, "no open block"),
        ("line1\n  {{foo;}}", 2, 5, "Parse error"),
        ("{{x", 1, 3, "Parse error"),
        ("{{{x}}", 1, 5, "Parse error"),
        ("{{!-- never closed", 1, 1, "Lexical error"),
        ("{{a/../b}}", 1, 3, "Invalid path"),
        ("{{else}}", 1, 1, "{{else}} outside"),
    ],
)
def test_syntax_errors_have_positions(source: str, line: int, column: int, fragment: str) -> None:
    with pytest.raises(TemplateSyntaxError) as info:
        compile(source)
    err = info.value
    assert isinstance(err, TemplateSyntaxFailed)
    assert err.code == "TEMPLATE_SYNTAX_ERROR" and err.status == 422
    assert (err.line, err.column) == (line, column)
    assert err.details == {"line": line, "column": column}
    assert fragment in err.message and f"line {line}, column {column}" in err.message


@pytest.mark.parametrize(
    ("source", "partials", "line", "column", "fragment"),
    [
        ("a\n {{> nope}}", {}, 2, 2, "The partial nope could not be found"),
        ("{{foo 1}}", {}, 1, 1, 'Missing helper: "foo"'),
        ("x\n\n   {{#bar a}}{{/bar}}", {}, 3, 4, 'Missing helper: "bar"'),
        ("{{> p}}", {"p": "\n{{> @partial-block}}"}, 2, 1, "@partial-block could not be found"),
        ("{{#each}}{{/each}}", {}, 1, 1, "Must pass iterator"),
    ],
)
def test_runtime_errors_have_positions(
    source: str, partials: dict[str, str], line: int, column: int, fragment: str
) -> None:
    with pytest.raises(TemplateRuntimeError) as info:
        render(source, {}, partials)
    err = info.value
    assert isinstance(err, TemplateRenderFailed)
    assert err.code == "TEMPLATE_RENDER_ERROR" and err.status == 422
    assert (err.line, err.column) == (line, column)
    assert err.details == {"line": line, "column": column}
    assert fragment in err.message


# -- thread safety ----------------------------------------------------------------------------------------------


def test_one_template_many_threads() -> None:
    tpl = compile(
        "{{#each xs}}{{> row}}{{/each}}",
        partials={"row": "{{#*inline 'cell'}}[{{.}}]{{/inline}}{{@index}}{{> cell}}"},
    )
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for _ in range(50):
                xs = list(range(n))
                assert tpl.render({"xs": xs}) == "".join(f"{i}[{i}]" for i in xs)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
