"""POST /oauth/token (client credentials; form, JSON or HTTP Basic) and client management."""

from __future__ import annotations

import base64
import binascii
import json
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from pressroom.api.deps import Admin, OAuthClients, scope
from pressroom.api.openapi import declare
from pressroom.core.errors import Forbidden, PayloadTooLarge, ValidationFailed
from pressroom.core.pagination import Page
from pressroom.oauth.schemas import ClientCreate, ClientCreated, ClientOut, TokenRequest, TokenResponse
from pressroom.oauth.service import InvalidClient, InvalidScope, UnsupportedGrantType

router = APIRouter(tags=["oauth"])


async def _token_request(request: Request) -> TokenRequest:
    raw = await request.body()
    content_type = request.headers.get("content-type", "")
    try:
        if "application/json" in content_type:
            fields = json.loads(raw or b"{}")
        else:
            fields = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("The token request body is malformed") from None
    if not isinstance(fields, dict):
        raise ValidationFailed("The token request body must be an object")
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":  # RFC 6749 2.3.1: client credentials in HTTP Basic
        try:
            client_id, _, secret = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise ValidationFailed("Malformed Basic credentials") from None
        fields.setdefault("client_id", client_id)
        fields.setdefault("client_secret", secret)
    return TokenRequest.model_validate(fields)


@router.post(
    "/oauth/token",
    response_model=TokenResponse,
    # No API key: the client authenticates with its credentials (401 INVALID_CLIENT).
    responses=declare(
        ValidationFailed, InvalidScope, UnsupportedGrantType, InvalidClient, PayloadTooLarge, authenticated=False
    ),
)
async def token(request: Request, oauth: OAuthClients) -> JSONResponse:
    body = await _token_request(request)
    if not body.client_id or not body.client_secret:
        raise ValidationFailed("client_id and client_secret are required")
    issued = await run_in_threadpool(oauth.issue, body.grant_type, body.client_id, body.client_secret, body.scope)
    out = TokenResponse(access_token=issued.token, expires_in=issued.expires_in, scope=issued.scope)
    return JSONResponse(out.model_dump(), headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@router.get(
    "/v1/oauth-clients",
    response_model=Page[ClientOut],
    responses=declare(Forbidden),
    dependencies=[scope("oauth-clients:read")],
)
def list_clients(admin: Admin, oauth: OAuthClients) -> Page[ClientOut]:
    data = [ClientOut.model_validate(c) for c in oauth.list_clients(admin.account_id)]
    return Page(data=data, total=len(data), limit=len(data), offset=0)


@router.post(
    "/v1/oauth-clients",
    status_code=201,
    response_model=ClientCreated,
    responses=declare(Forbidden, InvalidScope, post=True),
    dependencies=[scope("oauth-clients:write")],
)
def create_client(body: ClientCreate, admin: Admin, oauth: OAuthClients) -> ClientCreated:
    issued = oauth.create_client(admin.account_id, body.name, body.scopes, body.mode)
    return ClientCreated(**ClientOut.model_validate(issued.record).model_dump(), client_secret=issued.secret)


@router.delete(
    "/v1/oauth-clients/{client_id}",
    status_code=204,
    responses=declare(Forbidden, (404, "OAUTH_CLIENT_NOT_FOUND")),
    dependencies=[scope("oauth-clients:write")],
)
def revoke_client(client_id: str, admin: Admin, oauth: OAuthClients) -> Response:
    oauth.revoke_client(admin.account_id, client_id)
    return Response(status_code=204)
