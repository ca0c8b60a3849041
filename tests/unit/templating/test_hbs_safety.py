"""Safety corpus: no attribute access, no dunder names, no calls into data, bounded time and memory."""

from __future__ import annotations

import time
from typing import Any

import pytest

from pressroom.templating.handlebars import Limits, TemplateRuntimeError, TemplateSyntaxError, compile, render


class Spy(dict[str, Any]):
    """A dict that also has attributes and methods: none of them may ever be reached."""

    secret = "ATTRIBUTE"

    def method(self) -> str:  # pragma: no cover - must never run
        raise AssertionError("method called")


def _boom() -> str:  # pragma: no cover - must never run
    raise AssertionError("callable from data was called")


@pytest.mark.parametrize(
    "source",
    [
        "{{constructor}}",
        "{{__class__}}",
        "{{this.__init__}}",
        "{{__proto__}}",
        "{{lookup this '__class__'}}",
        "{{lookup this '__dict__'}}",
        "{{x.__class__.__name__}}",
        "{{#with __class__}}{{__name__}}{{/with}}",
        "{{#each __dict__}}{{@key}}{{/each}}",
        "{{s.upper}}|{{s.__len__}}|{{xs.append}}|{{xs.__len__}}",
        "{{secret}}|{{method}}|{{this.secret}}|{{lookup this 'secret'}}",
        "{{@root.__class__}}|{{@root.secret}}",
        "{{[__class__]}}|{{x.[__class__]}}",
    ],
)
def test_no_attribute_or_dunder_access(source: str) -> None:
    data = Spy(x={"y": 1}, s="str", xs=[1])
    assert render(source, data).replace("|", "") == ""


def test_dunder_keys_in_data_are_not_resolved() -> None:
    assert render("[{{__secret}}][{{a.__b}}][{{lookup this '__secret'}}]", {"__secret": 1, "a": {"__b": 2}}) == "[][][]"


def test_callables_in_data_are_never_called() -> None:
    data = {"f": _boom, "o": {"g": _boom}}
    assert render("{{#if f}}truthy{{/if}}|{{f}}|{{o.g}}", data) == "truthy|[object Object]|[object Object]"
    with pytest.raises(TemplateRuntimeError):
        render("{{f 1}}", data)  # a helper call on a data value is an error, not a call


def test_no_code_execution_through_literals() -> None:
    payloads = ["{{lookup this \"__import__('os').system('x')\"}}", "{{x.[__import__('os')]}}", "{{'); import os; ('}}"]
    for source in payloads:
        assert render(source, {"x": {}}) == ""


def test_partial_recursion_is_bounded() -> None:
    with pytest.raises(TemplateRuntimeError, match="Partial nesting is deeper than 64"):
        render("{{> loop}}", {}, {"loop": "x{{> loop}}"})
    with pytest.raises(TemplateRuntimeError, match="deeper than 5"):
        compile("{{> loop}}", partials={"loop": "{{> loop}}"}, limits=Limits(max_partial_depth=5)).render({})


def test_deep_template_nesting_is_refused() -> None:
    deep = "{{#if x}}" * 150 + "{{/if}}" * 150
    with pytest.raises(TemplateSyntaxError, match="nesting"):
        compile(deep)
    sexpr = "{{lookup " + "(lookup " * 150 + "x" + ")" * 150 + " 'a'}}"
    with pytest.raises(TemplateSyntaxError, match="nesting"):
        compile(sexpr)


def test_deeply_nested_data_renders() -> None:
    data: dict[str, Any] = {"v": "leaf"}
    for _ in range(5000):
        data = {"a": data}
    assert render("{{#with a}}{{a.a.a.v}}{{/with}}", data) == ""


def test_output_size_limit() -> None:
    tpl = compile("{{#each xs}}{{#each ../xs}}{{../../s}}{{/each}}{{/each}}", limits=Limits(max_output_chars=100_000))
    with pytest.raises(TemplateRuntimeError, match="Output size limit exceeded"):
        tpl.render({"xs": list(range(1000)), "s": "x" * 100})


def test_output_size_limit_default_is_20_mib() -> None:
    assert Limits().max_output_chars == 20 * 1024 * 1024
    with pytest.raises(TemplateRuntimeError, match="Output size limit"):
        render("{{#each xs}}{{../big}}{{/each}}", {"xs": list(range(30)), "big": "y" * 1_000_000})


def test_output_size_limit_through_partial_fanout() -> None:
    partials = {f"p{i}": f"{{{{> p{i + 1}}}}}{{{{> p{i + 1}}}}}" for i in range(30)}
    partials["p30"] = "xxxxxxxxxx"
    tpl = compile("{{> p0}}", partials=partials, limits=Limits(max_output_chars=50_000))
    with pytest.raises(TemplateRuntimeError, match="Output size limit"):
        tpl.render({})


def test_time_budget() -> None:
    tpl = compile(
        "{{#each xs}}{{#each ../xs}}{{#each ../../xs}}{{/each}}{{/each}}{{/each}}", limits=Limits(time_budget=0.05)
    )
    start = time.monotonic()
    with pytest.raises(TemplateRuntimeError, match="time budget"):
        tpl.render({"xs": list(range(300))})
    assert time.monotonic() - start < 2


def test_step_limit_bounds_silent_huge_each() -> None:
    tpl = compile("{{#each xs}}{{#each ../xs}}{{/each}}{{/each}}", limits=Limits(max_steps=10_000))
    with pytest.raises(TemplateRuntimeError, match="step limit"):
        tpl.render({"xs": list(range(1000))})


def test_render_level_limits_override() -> None:
    tpl = compile("{{#each xs}}{{this}}{{/each}}")
    assert tpl.render({"xs": list(range(10))}) == "0123456789"
    with pytest.raises(TemplateRuntimeError):
        tpl.render({"xs": list(range(10))}, limits=Limits(max_output_chars=5))


def test_huge_each_within_limits_is_fast() -> None:
    start = time.monotonic()
    out = render("{{#each xs}}{{this}},{{/each}}", {"xs": list(range(100_000))})
    assert out.count(",") == 100_000
    assert time.monotonic() - start < 5
