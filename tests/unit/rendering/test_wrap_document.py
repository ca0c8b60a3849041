"""wrap_document: fragments become full documents; full documents get the CSS in their head."""

from __future__ import annotations

from pressroom.rendering.html import wrap_document


def test_fragment_is_wrapped() -> None:
    assert wrap_document("<p>Hi</p>", "p { color: red }") == (
        '<!doctype html><html><head><meta charset="utf-8"><style>p { color: red }</style></head>'
        "<body><p>Hi</p></body></html>"
    )


def test_fragment_without_css() -> None:
    assert wrap_document("<p>Hi</p>") == (
        '<!doctype html><html><head><meta charset="utf-8"></head><body><p>Hi</p></body></html>'
    )


def test_full_document_gets_css_at_end_of_head() -> None:
    doc = "<!DOCTYPE html>\n<html><head><title>T</title><style>a{}</style></head><body>x</body></html>"
    out = wrap_document(doc, "b{}")
    assert out == doc.replace("<style>a{}</style></head>", "<style>a{}</style><style>b{}</style></head>")


def test_full_document_without_css_is_untouched() -> None:
    doc = "<html><body>x</body></html>"
    assert wrap_document(doc, "  ") == doc


def test_document_without_head() -> None:
    assert wrap_document('<html lang="fr"><body>x</body></html>', "b{}") == (
        '<html lang="fr"><head><style>b{}</style></head><body>x</body></html>'
    )


def test_doctype_only() -> None:
    assert wrap_document("<!doctype html><p>x</p>", "b{}") == "<!doctype html><style>b{}</style><p>x</p>"


def test_leading_comment_and_case() -> None:
    doc = "<!-- generated -->\n<HTML><HEAD></HEAD><BODY>x</BODY></HTML>"
    assert "<HEAD><style>b{}</style></HEAD>" in wrap_document(doc, "b{}")


def test_css_cannot_close_the_style_element() -> None:
    out = wrap_document("<p>x</p>", "a{}</style><script>alert(1)</script>")
    assert "</style><script>" not in out
    assert out.count("</style>") == 1


def test_html_word_in_body_is_a_fragment() -> None:
    assert wrap_document("<p>about <html> tags</p>", "").startswith("<!doctype html><html><head>")
