"""Cross-origin access for browser clients: off unless origins are configured.

API clients send their token in the `Authorization` header, so browsers need no
cookies; credentials stay off unless asked for, and settings validation refuses
the `*` origin together with them.
"""

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from aetherflow_gateway.core.settings import Settings

ALLOWED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ALLOWED_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID")
EXPOSED_HEADERS = ("X-Request-ID", "Retry-After", "WWW-Authenticate")
PREFLIGHT_CACHE_SECONDS = 600


def add_cors(app: FastAPI, settings: Settings) -> None:
    if not settings.cors_origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_credentials=settings.cors_allow_credentials,
        allow_methods=list(ALLOWED_METHODS),
        allow_headers=list(ALLOWED_HEADERS),
        expose_headers=list(EXPOSED_HEADERS),
        max_age=PREFLIGHT_CACHE_SECONDS,
    )
