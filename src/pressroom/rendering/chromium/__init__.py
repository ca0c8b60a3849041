"""The Chromium renderer: Playwright (async API) driving the OS Chromium.

One browser is launched once and kept warm; it is recycled after ``restart_after`` renders and relaunched
when it dies (a render that failed because the browser died is retried once). Every render gets its own
browser context - nothing (cookies, storage, cache) is shared between tenants - taken from a pool of
contexts created ahead of time (and warmed by a print of our own) so isolation does not cost a cold start.

Resources (docs/rendering.md, "Resource limits"): images whose header declares more than
``max_image_pixels`` fail the render (422 ``RENDER_RESOURCE_LIMIT``) before Chromium decodes them -
``data:`` URLs are read from the document, everything else in the route handler; a page's JS heap is
capped (``--js-flags=--max-old-space-size``) and a watchdog kills a renderer process whose resident size
passes ``max_memory_mb`` (typed arrays, canvases and DOM live outside the JS heap). A page whose renderer
died that way fails with the same code, and the browser it ran in is replaced. SVG ``<use>`` expansion is
bounded before rendering (rendering/limits.py). A sync request's ``deadline`` covers its queue wait and
the render (rendering/deadline.py).

The engine is one class, :class:`ChromiumRenderer`, assembled from one part per job (each a mixin whose
methods use the state ``ChromiumRenderer.__init__`` sets up):

- ``renderer.py``: ``ChromiumRenderer`` itself - construction, ``render_pdf``, the slot queue (429s), one
  render attempt (deadline, error mapping) and its retry on a new browser;
- ``browser.py``: the launch flags and the browser's lifecycle - launch, restart after ``restart_after``
  renders, relaunch after a crash, close, the kill switch;
- ``watchdog.py``: the memory watchdog that kills a renderer process beyond ``max_memory_mb``;
- ``pool.py``: the pool of never-used contexts (refill, warm-up) and closing a context after its render;
- ``request_gate.py``: every request a page makes, answered from the asset map or through the network gate;
- ``printing.py``: PageOptions -> ``page.pdf`` arguments, header/footer bands, loading the document and its
  waits, the print itself;
- ``handles.py``: the small objects passed between them (a browser, a leased context and its scope).
"""

from pressroom.rendering.base import ASSET_PREFIX, to_inches
from pressroom.rendering.chromium.browser import LAUNCH_ARGS
from pressroom.rendering.chromium.printing import pdf_params
from pressroom.rendering.chromium.renderer import ChromiumRenderer

__all__ = ["ASSET_PREFIX", "LAUNCH_ARGS", "ChromiumRenderer", "pdf_params", "to_inches"]
