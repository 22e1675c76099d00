"""What one request has learned about itself, readable from anywhere below it.

The middleware creates a `RequestContext` and stores it in a context variable; the
authentication dependency fills in the caller. Handlers may run dependencies in a
thread pool, whose context is a copy, so the object is mutated rather than the
variable re-set: both sides then see the same object.
"""

import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field

_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


@dataclass
class RequestContext:
    request_id: str
    user_id: str | None = None
    department: str | None = None
    client_address: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


_current: ContextVar[RequestContext | None] = ContextVar("request", default=None)


def start_request(incoming_id: str | None) -> RequestContext:
    context = RequestContext(request_id=sane_request_id(incoming_id))
    _current.set(context)
    return context


def current_request() -> RequestContext | None:
    return _current.get()


def current_request_id() -> str | None:
    context = _current.get()
    return context.request_id if context else None


def sane_request_id(candidate: str | None) -> str:
    """The caller's id when it is a short token of safe characters, else a new one."""
    if candidate and _SAFE_REQUEST_ID.fullmatch(candidate):
        return candidate
    return uuid.uuid4().hex
