"""The request gate: how a page's requests are answered.

Network: every request a page makes is intercepted (``context.route``). ``data:``/``blob:`` never reach
the network; Pressroom's own assets (``asset_prefix``) are served by ``asset_resolver``; anything else is
fetched *by Pressroom* through :class:`~pressroom.net.SafeHttpClient` (the network gate, IP pinning,
redirects re-checked, size cap) and handed to the page with ``route.fulfill`` - Chromium itself never
opens a connection. As defence in depth Chromium is launched with a dead proxy and a resolver that
resolves nothing, so traffic that escapes interception (WebSockets from workers, preconnects, WebRTC)
cannot reach anything either.

Images beyond ``max_image_pixels`` (and stylesheets carrying one in a data: URL) are refused here, before
Chromium decodes them; SVG files get the same bound on ``<use>`` expansion as the document.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mimetypes
from collections.abc import Callable

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Route, WebSocketRoute

from pressroom.core.errors import PressroomError
from pressroom.net.client import SafeHttpClient
from pressroom.rendering.base import ASSET_PREFIX, StaticAsset
from pressroom.rendering.chromium.handles import _Scope
from pressroom.rendering.frameworks import builtin_asset
from pressroom.rendering.limits import (
    image_limit_error,
    image_too_large,
    oversized_data_images,
    svg_use_warning,
    tame_svg_use,
)

# One logger for the whole engine, as before it was split into modules.
log = logging.getLogger("pressroom.rendering.chromium")

AssetResolver = Callable[[str], bytes | None]

# Runs before any page script: APIs whose traffic request interception cannot see are removed.
INIT_SCRIPT = """(() => {
  for (const name of ["RTCPeerConnection", "webkitRTCPeerConnection", "RTCDataChannel", "WebTransport"]) {
    try { Object.defineProperty(globalThis, name, {value: undefined, writable: false, configurable: false}); }
    catch (e) {}
  }
})();"""

# Response headers that describe the wire, not the body we hand over (httpx already decoded it).
_HOP_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive"})


class _RequestGate:
    """The request-routing part of ChromiumRenderer (its state is set in ChromiumRenderer.__init__)."""

    http: SafeHttpClient
    asset_prefix: str | None
    asset_resolver: AssetResolver | None
    max_image_pixels: int

    async def _route(self, route: Route, scope: _Scope) -> None:
        """Every request of every page: answered by us, never by Chromium's own network stack."""
        request = route.request
        url = request.url
        try:
            if url.startswith(("data:", "blob:")):
                await route.fallback()
            elif self.asset_prefix and url.startswith(self.asset_prefix):
                await self._fulfill_asset(route, url, scope)
            else:
                await self._fulfill_remote(route, url, scope)
        except PlaywrightError:
            pass  # the context closed under us (render finished or timed out)

    async def _fulfill_asset(self, route: Route, url: str, scope: _Scope) -> None:
        """This render's own assets, then the built-in frameworks, then the global resolver hook."""
        key = url.split("#", 1)[0].split("?", 1)[0]  # a query string never selects another file
        asset = scope.assets.get(key) or builtin_asset(key, self.asset_prefix or ASSET_PREFIX)
        if asset is None and self.asset_resolver is not None:
            body = await asyncio.to_thread(self.asset_resolver, key)
            if body is not None:
                guessed = mimetypes.guess_type(key.split("?", 1)[0])[0] or "application/octet-stream"
                asset = StaticAsset(content_type=guessed, data=body)
        if asset is None:
            await route.fulfill(status=404, body=b"")
            return
        if not await self._within_limits(route, scope, asset.data, asset.content_type, f"asset {key}"):
            return
        headers = {"content-type": asset.content_type, "access-control-allow-origin": "*"}
        body = await _tamed_svg(asset.data, asset.content_type, scope)
        await route.fulfill(status=200, body=body, headers=headers)

    async def _within_limits(self, route: Route, scope: _Scope, body: bytes, content_type: str, where: str) -> bool:
        """An image beyond ``max_image_pixels`` (or a stylesheet carrying one in a data: URL) is not handed
        to Chromium: the request is aborted and the render fails with the limit (see _render_once)."""
        size = image_too_large(body, self.max_image_pixels)
        if size is None and "css" in content_type.lower():
            found = oversized_data_images(body.decode("utf-8", "replace"), self.max_image_pixels)
            size = found[0] if found else None
        if size is None:
            return True
        scope.violation = scope.violation or image_limit_error(size, self.max_image_pixels, where)
        await route.abort("blockedbyclient")
        return False

    async def _fulfill_remote(self, route: Route, url: str, scope: _Scope) -> None:
        request = route.request
        try:
            result = await self.http.fetch(
                url,
                purpose="render",
                method=request.method,
                headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
                content=request.post_data_buffer,
            )
        except PressroomError as exc:
            log.info("render request refused: %s", exc.message)
            await route.abort("blockedbyclient")
            return
        content_type = result.headers.get("content-type", "")
        if not await self._within_limits(route, scope, result.body, content_type, url[:200]):
            return
        headers = {k: v for k, v in result.headers.items() if k.lower() not in _HOP_HEADERS}
        body = await _tamed_svg(result.body, content_type, scope)
        await route.fulfill(status=result.status, headers=headers, body=body)


async def _refuse_websocket(ws: WebSocketRoute) -> None:
    # Not connecting to the server and closing: the page sees a failed socket, nothing leaves the machine.
    with contextlib.suppress(PlaywrightError):
        await ws.close(code=1008, reason="blocked by Pressroom")


async def _tamed_svg(body: bytes, content_type: str, scope: _Scope) -> bytes:
    """An SVG file the page loads gets the same bound on <use> expansion as the document (limits.py)."""
    if "svg" not in content_type.lower() or b"<use" not in body:
        return body
    text, disabled = await asyncio.to_thread(tame_svg_use, body.decode("utf-8", "replace"))
    if not disabled:
        return body
    scope.warnings.append(svg_use_warning(disabled))
    return text.encode("utf-8")
