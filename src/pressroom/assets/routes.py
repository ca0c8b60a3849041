from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, File, Form, Query, Response, UploadFile

from pressroom.api.deps import AppSettings, Assets, Caller, Paging, scope
from pressroom.api.openapi import BINARY, MULTIPART, SERVICE, declare
from pressroom.assets.schemas import AssetOut
from pressroom.core.errors import AssetLimitExceeded, AssetNotFound, PayloadTooLarge, UnsupportedMediaType
from pressroom.core.filenames import content_disposition
from pressroom.core.pagination import Page

router = APIRouter(prefix="/v1/assets", tags=["assets"])


@router.post(
    "",
    status_code=201,
    response_model=AssetOut,
    responses=declare(
        UnsupportedMediaType,
        AssetLimitExceeded,  # an image's pixels, a font's decompressed size (read from headers, nothing inflated)
        *SERVICE,
        *MULTIPART,
        post=True,
        success={200: {"model": AssetOut, "description": "An asset of the same name was replaced"}},
    ),
    dependencies=[scope("assets:write")],
)
def upload_asset(
    response: Response,
    caller: Caller,
    assets: Assets,
    settings: AppSettings,
    file: UploadFile = File(description="an image (PNG, JPEG, GIF, WebP, SVG), a font (TTF, OTF, WOFF, WOFF2) or CSS"),
    name: str | None = Form(default=None, description="the name templates use (asset:NAME); default: the filename"),
) -> AssetOut:
    cap = settings.assets.max_bytes
    data = file.file.read(cap + 1)  # one byte more than allowed is enough to refuse
    if len(data) > cap:
        raise PayloadTooLarge(f"Asset is larger than {cap} bytes", details={"max_bytes": cap})
    asset, created = assets.upload(caller.account_id, file.filename or "", data, file.content_type, name=name)
    if not created:
        response.status_code = 200  # same name: the content was replaced
    return AssetOut.model_validate(asset)


@router.get("", response_model=Page[AssetOut], responses=declare(), dependencies=[scope("assets:read")])
def list_assets(
    paging: Paging, caller: Caller, assets: Assets, kind: Literal["image", "font", "css"] | None = Query(default=None)
) -> Page[AssetOut]:
    rows, total = assets.page(caller.account_id, paging.limit, paging.offset, kind)
    return Page(
        data=[AssetOut.model_validate(row) for row in rows], total=total, limit=paging.limit, offset=paging.offset
    )


@router.get(
    "/{asset_id}", response_model=AssetOut, responses=declare(AssetNotFound), dependencies=[scope("assets:read")]
)
def get_asset(asset_id: str, caller: Caller, assets: Assets) -> AssetOut:
    return AssetOut.model_validate(assets.get(caller.account_id, asset_id))


@router.get(
    "/{asset_id}/content",
    response_class=Response,
    responses={
        200: {"content": {"*/*": {"schema": BINARY}}, "description": "The asset's bytes"},
        **declare(AssetNotFound),
    },
    dependencies=[scope("assets:read")],
)
def get_asset_content(asset_id: str, caller: Caller, assets: Assets) -> Response:
    asset, data = assets.content(caller.account_id, asset_id)
    # Served from the API's origin: an SVG must not run scripts there, nothing may be sniffed into HTML.
    headers = {
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": content_disposition(asset.name, "inline"),
    }
    return Response(content=data, media_type=asset.content_type, headers=headers)


@router.delete("/{asset_id}", status_code=204, responses=declare(AssetNotFound), dependencies=[scope("assets:write")])
def delete_asset(asset_id: str, caller: Caller, assets: Assets) -> Response:
    assets.delete(caller.account_id, asset_id)
    return Response(status_code=204)
