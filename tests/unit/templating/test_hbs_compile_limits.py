"""Compiling is bounded before and while it runs: tag count first, nesting as soon as reached, a deadline."""

from __future__ import annotations

import pytest

from pressroom.core.errors import TemplateTooLarge
from pressroom.templating.handlebars import (
    CompileBudgetExceeded,
    Limits,
    TemplateLimitExceeded,
    TemplateSyntaxError,
    compile,
)
from pressroom.templating.handlebars.lexer import iter_tokens, tokenize


def test_too_many_tags_is_refused_before_parsing() -> None:
    # The lone "{{" at the end would be a syntax error if anything were parsed: the tag count comes first.
    source = "{{a}}" * 11 + "{{"
    with pytest.raises(TemplateLimitExceeded) as caught:
        compile(source, limits=Limits(max_tags=10))
    assert caught.value.code == "TEMPLATE_TOO_LARGE" and caught.value.status == 422
    assert caught.value.details == {"limit": "tags", "tags": 12, "max_tags": 10}
    assert isinstance(caught.value, TemplateTooLarge)


def test_tags_of_partials_count_too() -> None:
    with pytest.raises(TemplateLimitExceeded):
        compile("{{> p}}", partials={"p": "{{x}}" * 10}, limits=Limits(max_tags=10))
    assert compile("{{> p}}", partials={"p": "{{x}}" * 9}, limits=Limits(max_tags=10)).render({"x": 1}) == "1" * 9


def test_at_the_limit_compiles() -> None:
    assert compile("{{a}}" * 10, limits=Limits(max_tags=10)).render({"a": "z"}) == "z" * 10


def test_deep_nesting_fails_where_it_is_reached_not_after_lexing_everything() -> None:
    # 1e5 nested blocks, then a character the lexer refuses: had the whole source been lexed first, the
    # lexical error would win. The parser pulls tokens lazily, so the nesting error at block 101 is raised.
    source = "{{#if a}}" * 100_000 + "{{/if}}" * 100_000 + "{{!-- never closed"
    with pytest.raises(TemplateSyntaxError, match="nesting is deeper than 100 levels"):
        compile(source, limits=Limits(max_tags=1_000_000))


def test_compile_stops_at_its_deadline() -> None:
    # A zero budget: the lexer reads the clock every 256 tokens, so it stops at the first check.
    with pytest.raises(CompileBudgetExceeded) as caught:
        compile("{{a}}" * 1000, limits=Limits(time_budget=0.0))
    error = caught.value
    assert error.code == "TEMPLATE_TOO_LARGE"
    assert error.details["limit"] == "compile_time"
    assert error.details["line"] == 1 and error.details["column"] < 1000 * 5
    assert "time budget of 0 s" in error.message


def test_partials_compile_under_the_same_deadline() -> None:
    with pytest.raises(CompileBudgetExceeded) as caught:
        compile("x", partials={"p": "{{a}}" * 1000}, limits=Limits(time_budget=0.0))
    assert caught.value.details["partial"] == "p"


def test_lazy_lexer_yields_the_same_tokens() -> None:
    source = "a {{#each xs as |x i|}}{{x}} {{! c }}{{else}}none{{/each}} {{{{raw}}}}{{y}}{{{{/raw}}}} {{> (p) k=1}}"
    assert [(t.kind, t.text, t.pos) for t in iter_tokens(source)] == [(t.kind, t.text, t.pos) for t in tokenize(source)]
    assert tokenize(source)[-1].kind == "EOF"


def test_an_ordinary_template_is_unaffected() -> None:
    tpl = compile("{{#each items}}{{name}}: {{#if ok}}yes{{else}}no{{/if}}\n{{/each}}", limits=Limits())
    assert tpl.render({"items": [{"name": "a", "ok": True}, {"name": "b"}]}) == "a: yes\nb: no\n"
