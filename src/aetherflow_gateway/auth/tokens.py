"""Access tokens: short-lived JWTs with a pinned algorithm and required claims.

An access token is self-contained: verifying it reads no database row, so a
deactivated or moved account keeps the access it has until the token expires
(`access_token_ttl_seconds`, 15 minutes by default). Refresh tokens are opaque
values checked against the database (see `aetherflow_gateway.auth.refresh`); the
`token_use` claim keeps any other JWT of ours from passing as an access token.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from aetherflow_gateway.auth.keys import KeySet, VerifyingKey
from aetherflow_gateway.core.settings import Settings

ACCESS_TOKEN_USE = "access"  # noqa: S105 - a claim value
REQUIRED_CLAIMS = ["sub", "department", "iat", "exp", "iss", "aud", "jti", "token_use"]
# Far above any token we issue; refuses oversized input before any parsing.
MAX_TOKEN_CHARS = 8192


@dataclass(frozen=True)
class Caller:
    """The authenticated user a request acts for."""

    user_id: uuid.UUID
    department: str


@dataclass(frozen=True)
class IssuedToken:
    value: str
    expires_in: int


class InvalidToken(Exception):
    """Any reason a token is not accepted; the message is safe to show."""


class TokenService:
    def __init__(self, settings: Settings, keys: KeySet) -> None:
        self._settings = settings
        self.keys = keys

    def issue(self, caller: Caller) -> IssuedToken:
        now = datetime.now(UTC)
        ttl = self._settings.access_token_ttl_seconds
        claims = {
            "sub": str(caller.user_id),
            "department": caller.department,
            "iat": now,
            "exp": now + timedelta(seconds=ttl),
            "iss": self._settings.jwt_issuer,
            "aud": self._settings.jwt_audience,
            "jti": uuid.uuid4().hex,
            "token_use": ACCESS_TOKEN_USE,
        }
        value = jwt.encode(
            claims,
            self.keys.signing_key,
            algorithm=self.keys.algorithm,
            headers={"kid": self.keys.signing_kid, "typ": "at+jwt"},
        )
        return IssuedToken(value=value, expires_in=ttl)

    def verify(self, token: str) -> Caller:
        claims = self._decode(token)
        if claims.get("token_use") != ACCESS_TOKEN_USE:
            raise InvalidToken("the token is not an access token")

        department = claims.get("department")
        if not isinstance(department, str):
            raise InvalidToken("the token carries no department")
        canonical = self._settings.canonical_department(department)
        if canonical is None:
            raise InvalidToken("the token names an unknown department")

        try:
            user_id = uuid.UUID(str(claims["sub"]))
        except ValueError as exc:
            raise InvalidToken("the token's subject is not a user id") from exc
        return Caller(user_id=user_id, department=canonical)

    def _decode(self, token: str) -> dict[str, Any]:
        if len(token) > MAX_TOKEN_CHARS:
            raise InvalidToken("the token is not valid")

        try:
            key = self._verifying_key(jwt.get_unverified_header(token))
            return jwt.decode(
                token,
                key,
                algorithms=[self.keys.algorithm],
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("the token has expired") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken("the token is not valid") from exc

    def _verifying_key(self, header: dict[str, Any]) -> VerifyingKey:
        # RFC 7515 §4.1.11: a critical extension we do not implement must be refused;
        # this gateway implements none.
        if "crit" in header:
            raise InvalidToken("the token requires an unsupported extension")

        key = self.keys.verifying_key(header.get("kid"))
        if key is None:
            raise InvalidToken("the token's signing key is not known")
        return key
