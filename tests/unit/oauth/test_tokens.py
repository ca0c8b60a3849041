from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from pressroom.accounts.service import AccountService
from pressroom.core.errors import Unauthorized
from pressroom.db.migrate import upgrade
from pressroom.db.session import Database
from pressroom.oauth.service import InvalidClient, InvalidScope, OAuthService, UnsupportedGrantType


@pytest.fixture()
def oauth(tmp_path: Path) -> Iterator[tuple[OAuthService, str]]:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    db = Database(url)
    account, _ = AccountService(db).get_or_create("acme")
    yield OAuthService(db, "service-secret", token_ttl_s=60), account.id
    db.dispose()


def test_issue_and_authenticate(oauth: tuple[OAuthService, str]) -> None:
    service, account_id = oauth
    client = service.create_client(account_id, "svc", ["documents:write"])
    token = service.issue("client_credentials", client.record.id, client.secret, None)
    principal = service.authenticate(token.token)
    assert principal.account_id == account_id and principal.scopes == frozenset({"documents:write"})
    assert principal.allows("documents:write") and not principal.allows("templates:read")
    assert not principal.is_admin


def test_algorithm_is_pinned(oauth: tuple[OAuthService, str]) -> None:
    service, account_id = oauth
    client = service.create_client(account_id, "svc", ["documents:read"])
    good = service.issue("client_credentials", client.record.id, client.secret, None).token
    claims = jwt.decode(good, options={"verify_signature": False})
    for forged in (
        jwt.encode(claims, "", algorithm="none"),
        jwt.encode(claims, "service-secret", algorithm="HS256"),  # the raw service secret is not the key
        jwt.encode(claims, "x" * 64, algorithm="HS512"),
    ):
        with pytest.raises(Unauthorized):
            service.authenticate(forged)


def test_revoked_client_tokens_stop_working(oauth: tuple[OAuthService, str]) -> None:
    service, account_id = oauth
    client = service.create_client(account_id, "svc", [])
    token = service.issue("client_credentials", client.record.id, client.secret, None).token
    service.revoke_client(account_id, client.record.id)
    with pytest.raises(Unauthorized):
        service.authenticate(token)
    with pytest.raises(InvalidClient):
        service.issue("client_credentials", client.record.id, client.secret, None)


def test_bad_requests(oauth: tuple[OAuthService, str]) -> None:
    service, account_id = oauth
    client = service.create_client(account_id, "svc", ["documents:read"])
    with pytest.raises(UnsupportedGrantType):
        service.issue("password", client.record.id, client.secret, None)
    with pytest.raises(InvalidScope):
        service.issue("client_credentials", client.record.id, client.secret, "documents:write")
    with pytest.raises(InvalidScope):
        service.create_client(account_id, "svc", ["root"])
