"""Engine-agnostic HTML helpers."""

from __future__ import annotations

import re

_DOCUMENT = re.compile(r"^\s*(?:<!--.*?-->\s*)*(?:<!doctype\b|<html\b)", re.IGNORECASE | re.DOTALL)
_HEAD_OPEN = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
_HEAD_CLOSE = re.compile(r"</head\s*>", re.IGNORECASE)
_HTML_OPEN = re.compile(r"<html\b[^>]*>", re.IGNORECASE)


def _style(css: str) -> str:
    # "</style" inside the CSS would end the element early and let the rest be parsed as HTML.
    safe = re.sub(r"</(style)", r"<\\/\1", css, flags=re.IGNORECASE)
    return f"<style>{safe}</style>" if safe.strip() else ""


def wrap_document(body_html: str, css: str = "", head_start: str = "") -> str:
    """A full HTML document from a body fragment and CSS.

    When ``body_html`` already is a full document (starts with a doctype or ``<html>``), the CSS is
    injected at the end of its ``<head>`` (after the template's own styles, so it wins ties), a head is
    created when there is none, and the document is otherwise left untouched. ``head_start`` (trusted
    markup: a CSS framework's tag, @font-face rules) goes first in the head, so everything else wins ties.
    """
    style = _style(css)
    document = _DOCUMENT.match(body_html)
    if document is None:
        return (
            f'<!doctype html><html><head><meta charset="utf-8">{head_start}{style}</head>'
            f"<body>{body_html}</body></html>"
        )
    if head_start:
        body_html = _insert_head_start(body_html, head_start, document.end())
    if not style:
        return body_html
    head_close = _HEAD_CLOSE.search(body_html)
    if head_close:
        return body_html[: head_close.start()] + style + body_html[head_close.start() :]
    head_open = _HEAD_OPEN.search(body_html)
    if head_open:
        return body_html[: head_open.end()] + style + body_html[head_open.end() :]
    html_open = _HTML_OPEN.search(body_html)
    if html_open:
        return body_html[: html_open.end()] + f"<head>{style}</head>" + body_html[html_open.end() :]
    # A doctype with no <html>: the parser creates html/head implicitly, so a leading <style> lands in head.
    end = body_html.find(">", document.end()) + 1 or len(body_html)
    return body_html[:end] + style + body_html[end:]


def _insert_head_start(html: str, markup: str, doctype_end: int) -> str:
    head_open = _HEAD_OPEN.search(html)
    if head_open:
        return html[: head_open.end()] + markup + html[head_open.end() :]
    html_open = _HTML_OPEN.search(html)
    if html_open:
        return html[: html_open.end()] + f"<head>{markup}</head>" + html[html_open.end() :]
    end = html.find(">", doctype_end) + 1 or len(html)
    return html[:end] + markup + html[end:]
