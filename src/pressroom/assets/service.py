"""Assets: upload, list, delete; and, for renders, turning ``asset:NAME`` references into files the engine
may load - tenant-scoped, so a template can only ever load its own account's assets.

A render gets an *asset map* (URL under the asset prefix -> bytes) built here from the references found in
the template; the engines serve nothing else under that prefix (besides the built-in CSS frameworks), so
writing another tenant's asset URL by hand yields a 404, not their file. Chromium's header/footer bands
load nothing at all, so references there become ``data:`` URLs.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from pressroom.config import AssetSettings
from pressroom.core.errors import (
    AssetLimitExceeded,
    AssetNotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from pressroom.core.ids import new_id
from pressroom.core.images import image_size
from pressroom.db.models_assets import Asset
from pressroom.db.session import Database
from pressroom.rendering.base import ASSET_PREFIX, StaticAsset
from pressroom.rendering.fonts import DEFAULT_MAX_FONT_BYTES, data_url, font_face, inspect_font
from pressroom.storage.base import BlobStore
from pressroom.storage.keys import asset_key

from .repository import AssetRepository

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
# ``asset:logo.png`` in an attribute, url(...) or srcset; not when part of a longer word or a path.
REFERENCE = re.compile(r"(?<![\w/:.-])asset:([A-Za-z0-9][A-Za-z0-9._-]{0,199})")
_IMAGES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
DEFAULT_MAX_IMAGE_PIXELS = 89_478_485  # assets.max_image_pixels: PIL's decompression-bomb threshold
_SVG = re.compile(rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*(<!doctype svg[^>]*>\s*)?<svg\b", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Sniffed:
    kind: str
    content_type: str
    font_family: str | None = None
    font_weight: int | None = None
    font_style: str | None = None


def sniff(
    data: bytes,
    filename: str,
    declared_type: str | None,
    *,
    max_font_bytes: int = DEFAULT_MAX_FONT_BYTES,
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
) -> Sniffed:
    """What the bytes really are (the declared type is only trusted for CSS, which has no signature).

    Nothing is decoded here beyond headers: an image's width x height and a font's declared sizes are
    checked against the limits (413 ``ASSET_LIMIT_EXCEEDED``) before anything - this process, fontTools,
    or later a renderer - inflates them."""
    for magic, content_type in _IMAGES:
        if data.startswith(magic):
            return _checked_image(data, content_type, max_image_pixels)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _checked_image(data, "image/webp", max_image_pixels)
    if _SVG.match(data[:4096]):
        return Sniffed("image", "image/svg+xml")
    font = inspect_font(data, max_font_bytes)
    if font is not None:
        return Sniffed("font", font.content_type, font.family, font.weight, font.style)
    is_css = (declared_type or "").split(";")[0].strip().lower() == "text/css" or filename.lower().endswith(".css")
    if is_css and b"\x00" not in data:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return Sniffed("css", "text/css")
    raise UnsupportedMediaType(
        "Assets must be PNG, JPEG, GIF, WebP or SVG images, TTF/OTF/WOFF/WOFF2 fonts, or UTF-8 CSS",
        details={"filename": filename, "declared_type": declared_type},
    )


def _checked_image(data: bytes, content_type: str, max_pixels: int) -> Sniffed:
    size = image_size(data)
    if size is not None and size.pixels > max_pixels:
        raise AssetLimitExceeded(
            f"The image is {size.width}x{size.height} pixels; the limit is {max_pixels} pixels",
            details={"limit": "pixels", "width": size.width, "height": size.height, "max_pixels": max_pixels},
        )
    return Sniffed("image", content_type)


def references(*texts: str | None) -> set[str]:
    return {match.group(1) for text in texts if text for match in REFERENCE.finditer(text)}


@dataclass
class RenderAssets:
    """What one render needs: references rewritten, the files to serve, @font-face rules for its fonts."""

    urls: dict[str, str] = field(default_factory=dict)  # name -> URL under the asset prefix
    files: dict[str, StaticAsset] = field(default_factory=dict)  # URL -> file (the engine's asset map)
    fonts: list[tuple[str, str, str, int, str]] = field(default_factory=list)  # family, url, format, weight, style

    @property
    def font_css(self) -> str:
        return "".join(font_face(*font) for font in self.fonts)

    def rewrite(self, text: str) -> str:
        return REFERENCE.sub(lambda m: self.urls.get(m.group(1), m.group(0)), text)

    def rewrite_band(self, text: str) -> str:
        """For Chromium's header/footer bands, which load nothing: files and fonts as data: URLs."""
        rewritten = REFERENCE.sub(lambda m: self._inline(m.group(1)) or m.group(0), text)
        faces = "".join(
            font_face(family, self._inline_url(url), fmt, weight, style)
            for family, url, fmt, weight, style in self.fonts
        )
        return f"<style>{faces}</style>{rewritten}" if faces else rewritten

    def _inline(self, name: str) -> str | None:
        url = self.urls.get(name)
        return self._inline_url(url) if url else None

    def _inline_url(self, url: str) -> str:
        file = self.files[url]
        return data_url(file.content_type, file.data)


class _BlobCache:
    """Asset bytes by (id, sha256), least recently used out first, within a byte budget."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget = budget_bytes
        self.used = 0
        self.items: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> bytes | None:
        with self.lock:
            data = self.items.get(key)
            if data is not None:
                self.items.move_to_end(key)
            return data

    def put(self, key: tuple[str, str], data: bytes) -> None:
        if len(data) > self.budget:
            return
        with self.lock:
            if key in self.items:
                return
            self.items[key] = data
            self.used += len(data)
            while self.used > self.budget:
                _, dropped = self.items.popitem(last=False)
                self.used -= len(dropped)


class AssetService:
    def __init__(
        self, db: Database, store: BlobStore, settings: AssetSettings, asset_prefix: str = ASSET_PREFIX
    ) -> None:
        self.db = db
        self.store = store
        self.settings = settings
        self.prefix = asset_prefix
        self.cache = _BlobCache(settings.cache_mb * 1024 * 1024)

    # -- CRUD

    def upload(
        self, account_id: str, filename: str, data: bytes, declared_type: str | None, name: str | None = None
    ) -> tuple[Asset, bool]:
        """Store a new asset, or replace the content of the one with the same name. Returns (asset, created)."""
        if len(data) > self.settings.max_bytes:
            raise PayloadTooLarge(
                f"Asset is {len(data)} bytes; the limit is {self.settings.max_bytes}",
                details={"max_bytes": self.settings.max_bytes},
            )
        chosen = (name or filename or "").strip()
        if not NAME.match(chosen):
            raise ValidationFailed(
                "Asset names use letters, digits, '.', '_' and '-' (1-200 characters, no path)",
                details={"field": "name", "name": chosen[:200]},
            )
        if not data:
            raise ValidationFailed("The uploaded file is empty", details={"field": "file"})
        found = sniff(
            data,
            chosen,
            declared_type,
            max_font_bytes=self.settings.max_font_bytes,
            max_image_pixels=self.settings.max_image_pixels,
        )
        digest = hashlib.sha256(data).hexdigest()
        with self.db.session() as session:
            repo = AssetRepository(session)
            asset = repo.by_name(account_id, chosen)
            created = asset is None
            if asset is None:
                asset_id = new_id("ast")
                asset = Asset(
                    id=asset_id,
                    account_id=account_id,
                    name=chosen,
                    storage_key=asset_key(account_id, asset_id),  # ids only: the name is a column
                    kind=found.kind,
                    content_type=found.content_type,
                    size_bytes=len(data),
                    sha256=digest,
                )
            # The blob is written first: a row never points at missing bytes (a failed write rolls back).
            self.store.put(asset.storage_key, data, found.content_type)
            asset.kind, asset.content_type, asset.size_bytes, asset.sha256 = (
                found.kind,
                found.content_type,
                len(data),
                digest,
            )
            asset.font_family, asset.font_weight, asset.font_style = (
                found.font_family,
                found.font_weight,
                found.font_style,
            )
            if created:
                repo.add(asset)
            session.flush()
            return asset, created

    def get(self, account_id: str, asset_id: str) -> Asset:
        with self.db.session() as session:
            return AssetRepository(session).get_or_raise(account_id, asset_id)

    def content(self, account_id: str, asset_id: str) -> tuple[Asset, bytes]:
        asset = self.get(account_id, asset_id)
        return asset, self._bytes(asset)

    def page(self, account_id: str, limit: int, offset: int, kind: str | None = None) -> tuple[list[Asset], int]:
        with self.db.session() as session:
            of_kind = () if kind is None else (Asset.kind == kind,)
            return AssetRepository(session).page(account_id, limit, offset, *of_kind)

    def delete(self, account_id: str, asset_id: str) -> None:
        with self.db.session() as session:
            repo = AssetRepository(session)
            asset = repo.get_or_raise(account_id, asset_id)
            repo.delete(asset)
            key = asset.storage_key
        self.store.delete(key)  # after the commit: a failed delete leaves an orphan blob, never a dangling row

    # -- renders

    def for_render(self, account_id: str, texts: Iterable[str | None], fonts: Iterable[str] = ()) -> RenderAssets:
        """The assets referenced by ``texts`` (``asset:NAME``), plus the uploaded fonts whose family is
        named in ``fonts`` or appears in the texts (so ``font-family: "Brand Sans"`` just works)."""
        present = [text for text in texts if text]
        names = references(*present)
        wanted_families = {family.strip().lower() for family in fonts if family.strip()}
        haystack = "\n".join(present).lower()
        with self.db.session() as session:
            repo = AssetRepository(session)
            found = {asset.name: asset for asset in repo.by_names(account_id, names)} if names else {}
            font_rows = repo.fonts(account_id)
        missing = sorted(names - found.keys())
        if missing:
            raise AssetNotFound(
                f"Unknown asset {missing[0]!r}: upload it with POST /v1/assets", details={"names": missing}
            )
        fonts_used = [
            row
            for row in font_rows
            if row.font_family and (row.font_family.lower() in wanted_families or row.font_family.lower() in haystack)
        ]
        result = RenderAssets()
        for asset in [*found.values(), *fonts_used]:
            if asset.name in result.urls:
                continue
            data = self._bytes(asset)
            url = f"{self.prefix}u/{asset.id}/{asset.name}"
            result.urls[asset.name] = url
            result.files[url] = StaticAsset(content_type=asset.content_type, data=data)
        for asset in fonts_used:
            fmt = {"font/ttf": "truetype", "font/otf": "opentype"}.get(asset.content_type, asset.content_type[5:])
            weight, style = asset.font_weight or 400, asset.font_style or "normal"
            result.fonts.append((asset.font_family or "", result.urls[asset.name], fmt, weight, style))
        return result

    def _bytes(self, asset: Asset) -> bytes:
        key = (asset.id, asset.sha256)
        data = self.cache.get(key)
        if data is None:
            data = self.store.get(asset.storage_key)
            self.cache.put(key, data)
        return data
