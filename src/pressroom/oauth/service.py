"""OAuth2 client credentials: clients managed like keys, short-lived JWT access tokens.

Tokens are HS256 JWTs signed with a key derived from the service secret. Verification pins the algorithm
(``algorithms=["HS256"]``), so ``alg: none`` and RS/HS confusion are refused by construction, and requires
exp/iat/iss/sub.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import jwt

from pressroom.core.clock import utcnow
from pressroom.core.crypto import constant_time_equal, sha256_hex
from pressroom.core.errors import PressroomError, Unauthorized, ValidationFailed
from pressroom.core.ids import new_id
from pressroom.core.principal import Principal
from pressroom.db.models_tenancy import OAuthClient
from pressroom.db.session import Database
from pressroom.oauth.repository import OAuthClientRepository

ISSUER = "pressroom"
ALGORITHM = "HS256"
SCOPES = frozenset(
    {
        "templates:read",
        "templates:write",
        "documents:read",
        "documents:write",
        "account:read",
        "assets:read",
        "assets:write",
    }
)


class InvalidClient(PressroomError):
    status = 401
    code = "INVALID_CLIENT"


class InvalidScope(ValidationFailed):
    code = "INVALID_SCOPE"


class UnsupportedGrantType(ValidationFailed):
    code = "UNSUPPORTED_GRANT_TYPE"


@dataclass(frozen=True)
class IssuedClient:
    record: OAuthClient
    secret: str


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_in: int
    scope: str


class OAuthService:
    def __init__(self, db: Database, service_secret: str, token_ttl_s: int) -> None:
        self.db = db
        # A dedicated key: a leaked token key must not also forge download links.
        self._key = hmac.new(service_secret.encode(), b"pressroom-oauth-jwt", hashlib.sha256).digest()
        self.token_ttl_s = token_ttl_s

    def create_client(self, account_id: str, name: str, scopes: list[str], mode: str = "live") -> IssuedClient:
        unknown = sorted(set(scopes) - SCOPES)
        if unknown:
            raise InvalidScope(f"Unknown scopes: {', '.join(unknown)}", details={"allowed": sorted(SCOPES)})
        secret = "prs_" + secrets.token_urlsafe(32)
        record = OAuthClient(
            id=new_id("cli"),
            account_id=account_id,
            name=name,
            mode=mode,
            secret_hash=sha256_hex(secret),
            scopes=sorted(set(scopes) or SCOPES),
        )
        with self.db.session() as session:
            OAuthClientRepository(session).add(record)
        return IssuedClient(record=record, secret=secret)

    def list_clients(self, account_id: str) -> list[OAuthClient]:
        with self.db.session() as session:
            return OAuthClientRepository(session).list(account_id)

    def revoke_client(self, account_id: str, client_id: str) -> None:
        with self.db.session() as session:
            client = OAuthClientRepository(session).get_or_raise(account_id, client_id)
            client.revoked_at = client.revoked_at or utcnow()

    def issue(self, grant_type: str, client_id: str, client_secret: str, scope: str | None) -> AccessToken:
        if grant_type != "client_credentials":
            raise UnsupportedGrantType("Only grant_type=client_credentials is supported")
        with self.db.session() as session:
            client = OAuthClientRepository(session).get_any(client_id)
        if (
            client is None
            or client.revoked_at
            or not constant_time_equal(client.secret_hash, sha256_hex(client_secret))
        ):
            raise InvalidClient("Unknown client or wrong secret")
        granted = set(client.scopes)
        requested = set(scope.split()) if scope else granted
        if not requested <= granted:
            raise InvalidScope(
                f"Scopes not granted to this client: {', '.join(sorted(requested - granted))}",
                details={"granted": sorted(granted)},
            )
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": client.id,
            "acc": client.account_id,
            "mode": client.mode,
            "scope": " ".join(sorted(requested)),
            "iat": now,
            "exp": now + self.token_ttl_s,
            "jti": secrets.token_hex(8),
        }
        token = jwt.encode(claims, self._key, algorithm=ALGORITHM)
        return AccessToken(token=token, expires_in=self.token_ttl_s, scope=claims["scope"])  # type: ignore[arg-type]

    def authenticate(self, token: str) -> Principal:
        """A bearer JWT -> Principal; any defect (expired, tampered, other alg, revoked client) is a 401."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "iss", "sub"]},
            )
        except jwt.PyJWTError:
            raise Unauthorized("Invalid or expired access token") from None
        with self.db.session() as session:
            client = OAuthClientRepository(session).get_any(str(claims["sub"]))
        if client is None or client.revoked_at or client.account_id != claims.get("acc"):
            raise Unauthorized("Invalid or expired access token")
        scopes = frozenset(str(claims.get("scope", "")).split())
        return Principal(account_id=client.account_id, key_id=client.id, mode=client.mode, scopes=scopes)
