"""Access tokens: HS256 JWTs with a pinned algorithm and required claims."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from aetherflow_gateway.core.settings import Settings

REQUIRED_CLAIMS = ["sub", "department", "iat", "exp", "iss", "aud", "jti"]


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
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._secret = settings.signing_secret
        self._algorithm = settings.jwt_algorithm

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
        }
        value = jwt.encode(claims, self._secret, algorithm=self._algorithm)
        return IssuedToken(value=value, expires_in=ttl)

    def verify(self, token: str) -> Caller:
        claims = self._decode(token)

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

    def _decode(self, token: str) -> dict[str, object]:
        try:
            return jwt.decode(
                token,
                self._secret,
                algorithms=[self._algorithm],
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("the token has expired") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken("the token is not valid") from exc
