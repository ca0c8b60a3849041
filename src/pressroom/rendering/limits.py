"""What a document may make an engine decode or draw, checked before the engine sees it.

* Images: a 389 KB PNG can declare 20000 x 20000 pixels - 1.6 GB once decoded; Chromium spent 11.6 s and
  3 GB on one. Every image a render loads (``data:`` URLs in the document, its header/footer and its
  stylesheets; uploaded assets; fetched files) has its width x height read from the header
  (:mod:`pressroom.core.images`, no decoding) and compared with ``render.max_image_pixels``.
* SVG ``<use>``: each ``<use>`` draws a copy of what it references, and a copy may itself hold ``<use>``
  elements - ten ``<use>`` per level over seven levels are 10^7 copies, which Chromium lays out until the
  render times out. The expansion is counted before rendering; beyond :data:`MAX_SVG_USE_COPIES` the
  nested ``<use>`` elements (those inside something another ``<use>`` copies) lose their reference, so the
  document renders - its first level of copies drawn - and the result says so in a warning.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from pressroom.core.errors import RenderResourceLimit
from pressroom.core.images import ImageSize, image_size

# Copies of SVG elements ``<use>`` may create in one document: generous for real drawings (icons reused
# hundreds of times), far below what stalls a layout.
MAX_SVG_USE_COPIES = 20_000
# How much of a data: URL is decoded to find the image's size: the header is at the start (PNG, GIF, WebP)
# or after the metadata segments of a JPEG, which rarely exceed a few KB.
_DATA_URL_HEAD_CHARS = 128 * 1024
_DATA_IMAGE = re.compile(r"data:image/[\w.+-]+;base64,", re.IGNORECASE)
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/=\s]*")
_USE_TAG = re.compile(r"<use\b", re.IGNORECASE)
_HREF_ATTR = re.compile(r"(\s)((?:xlink:)?href)(\s*=)", re.IGNORECASE)


# -- images ------------------------------------------------------------------------------------------------


def image_too_large(data: bytes, max_pixels: int) -> ImageSize | None:
    """The declared size of ``data`` when it is an image beyond ``max_pixels``; None otherwise."""
    size = image_size(data)
    return size if size is not None and size.pixels > max_pixels else None


def oversized_data_images(text: str, max_pixels: int) -> list[ImageSize]:
    """Images inside base64 ``data:`` URLs of ``text`` (HTML or CSS) beyond ``max_pixels``."""
    found = []
    for match in _DATA_IMAGE.finditer(text):
        run = _BASE64_RUN.match(text, match.end(), match.end() + _DATA_URL_HEAD_CHARS)
        if run is None:
            continue
        chars = "".join(run.group().split()).rstrip("=")
        chars = chars[: len(chars) - len(chars) % 4]
        try:
            head = base64.b64decode(chars)
        except (binascii.Error, ValueError):
            continue
        size = image_too_large(head, max_pixels)
        if size is not None:
            found.append(size)
    return found


def image_limit_error(size: ImageSize, max_pixels: int, where: str) -> RenderResourceLimit:
    return RenderResourceLimit(
        f"An image ({where}) is {size.width} x {size.height} pixels; a render may decode at most "
        f"{max_pixels} pixels per image",
        details={
            "limit": "image_pixels",
            "width": size.width,
            "height": size.height,
            "max_image_pixels": max_pixels,
        },
    )


def image_warning(size: ImageSize, max_pixels: int, where: str) -> str:
    return (
        f"An image ({where}, {size.width} x {size.height} pixels) was left out: a render decodes at most "
        f"{max_pixels} pixels per image"
    )


# -- SVG <use> ---------------------------------------------------------------------------------------------


@dataclass(eq=False)
class _Node:
    parent: _Node | None
    children: list[_Node] = field(default_factory=list)
    ref: str | None = None  # a <use>'s target id
    tag_at: tuple[int, int] | None = None  # a <use>'s start tag: (offset, length) in the source
    disabled: bool = False


class _SvgTree(HTMLParser):
    """The elements inside ``<svg>`` (ids, ``<use>`` references, nesting) with their source offsets.

    Python's parser is not the HTML5 parser Chromium uses, so this is a guard against the expansion, not
    a faithful copy of Chromium's tree; the render's time limit stays the backstop."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.line_starts = [0]
        for index, char in enumerate(source):
            if char == "\n":
                self.line_starts.append(index + 1)
        self.roots: list[_Node] = []
        self.ids: dict[str, _Node] = {}
        self.uses: list[_Node] = []
        self._stack: list[tuple[str, _Node]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs, closed=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs, closed=True)

    def _element(self, tag: str, attrs: list[tuple[str, str | None]], *, closed: bool) -> None:
        if not self._stack and tag != "svg":
            return
        parent = self._stack[-1][1] if self._stack else None
        node = _Node(parent)
        if parent is None:
            self.roots.append(node)
        else:
            parent.children.append(node)
        values = dict(attrs)
        if values.get("id"):
            self.ids.setdefault(str(values["id"]), node)
        if tag == "use":
            href = values.get("href") or values.get("xlink:href") or ""
            if href.startswith("#") and len(href) > 1:
                node.ref = href[1:]
                line, column = self.getpos()
                node.tag_at = (self.line_starts[line - 1] + column, len(self.get_starttag_text() or ""))
                self.uses.append(node)
        if not closed:
            self._stack.append((tag, node))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._stack) - 1, -1, -1):
            if self._stack[index][0] == tag:
                del self._stack[index:]
                return


def _copies(tree: _SvgTree, limit: int) -> int:
    """How many elements the SVGs draw once every enabled ``<use>`` is expanded (capped at ``limit + 1``)."""
    memo: dict[int, int] = {}
    visiting: set[int] = set()

    def cost(node: _Node) -> int:
        key = id(node)
        if key in memo:
            return memo[key]
        if key in visiting:  # a reference cycle: Chromium draws nothing for it
            return 0
        visiting.add(key)
        total = 1
        for child in node.children:
            total = min(total + cost(child), limit + 1)
        if node.ref is not None and not node.disabled:
            target = tree.ids.get(node.ref)
            if target is not None:
                total = min(total + cost(target), limit + 1)
        visiting.discard(key)
        memo[key] = total
        return total

    total = 0
    try:
        for root in tree.roots:
            # Descendants first (reversed pre-order), so that ``cost`` recurses along references only.
            order, pending = [], [root]
            while pending:
                node = pending.pop()
                order.append(node)
                pending.extend(node.children)
            for node in reversed(order):
                cost(node)
            total = min(total + memo[id(root)], limit + 1)
    except RecursionError:  # references chained thousands deep: treated as too many
        return limit + 1
    return total


def _subtree_size(node: _Node) -> int:
    size, pending = 0, [node]
    while pending:
        current = pending.pop()
        size += 1
        pending.extend(current.children)
    return size


def tame_svg_use(source: str, limit: int = MAX_SVG_USE_COPIES) -> tuple[str, int]:
    """``source`` with nested ``<use>`` references removed when the SVGs would expand beyond ``limit``
    element copies; returns the text and how many ``<use>`` elements were disabled (0: unchanged)."""
    if not _USE_TAG.search(source):
        return source, 0
    tree = _SvgTree(source)
    try:
        tree.feed(source)
        tree.close()
    except (AssertionError, ValueError):  # markup the parser gives up on: leave it to the time limit
        return source, 0
    if not tree.uses or _copies(tree, limit) <= limit:
        return source, 0
    # The expansion multiplies through <use> elements inside what other <use> elements copy: cut those.
    copied: set[int] = set()
    for use in tree.uses:
        target = tree.ids.get(use.ref or "")
        if target is not None:
            copied.add(id(target))
    for use in tree.uses:
        ancestor = use.parent
        while ancestor is not None and id(ancestor) not in copied:
            ancestor = ancestor.parent
        if ancestor is not None or id(use) in copied:
            use.disabled = True
    # Still too many (many first-level copies of a large drawing): the copies beyond the budget go too.
    # Now no copied subtree holds an enabled <use>, so each enabled one costs its target's size.
    budget = limit - sum(_subtree_size(root) for root in tree.roots)
    for use in tree.uses:
        if use.disabled:
            continue
        target = tree.ids.get(use.ref or "")
        size = _subtree_size(target) if target is not None else 0
        if size > budget:
            use.disabled = True
        else:
            budget -= size
    edits = sorted((use.tag_at for use in tree.uses if use.disabled and use.tag_at), reverse=True)
    text = source
    for offset, length in edits:
        tag = text[offset : offset + length]
        text = text[:offset] + _HREF_ATTR.sub(r"\1data-pressroom-removed\3", tag) + text[offset + length :]
    return text, len(edits)


def svg_use_warning(disabled: int, limit: int = MAX_SVG_USE_COPIES) -> str:
    return (
        f"{disabled} SVG <use> element(s) were not drawn: their nested copies would have drawn more than "
        f"{limit} elements"
    )
