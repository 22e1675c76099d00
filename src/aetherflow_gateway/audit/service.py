"""The audit trail: security events as log lines and as rows in `audit_events`.

`record` is called where the event happens (a login, a registration, a refused
department) and takes what it can from the request context: the request id and
the client's address. It writes in the `SYSTEM` scope, in its own transaction, so
an event survives the rollback of the request that caused it (a failed login
rolls nothing back, but a refused upload does). An audit write that fails is
logged as `audit.write_failed` and never fails the request: losing the row is
better than refusing a login because the audit table is unavailable, and the log
line still carries the event.
"""

import uuid
from collections.abc import Mapping
from enum import StrEnum

import structlog

from aetherflow_gateway.audit.models import AuditEvent
from aetherflow_gateway.core.request_context import current_request
from aetherflow_gateway.db.database import Database
from aetherflow_gateway.db.scoping import SYSTEM

logger = structlog.get_logger(__name__)


class SecurityEvent(StrEnum):
    LOGIN_SUCCEEDED = "login.succeeded"
    LOGIN_FAILED = "login.failed"
    LOGIN_THROTTLED = "login.throttled"
    USER_REGISTERED = "user.registered"
    REGISTRATION_REFUSED = "registration.refused"
    REFRESH_REUSED = "refresh.reused"
    LOGOUT = "session.logged_out"
    INVITE_USED = "invite.used"
    ROLE_CHANGED = "role.changed"
    USER_DEACTIVATED = "user.deactivated"
    USER_REACTIVATED = "user.reactivated"
    ACCESS_DENIED = "access.denied"


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


async def record(
    database: Database,
    event: SecurityEvent,
    outcome: Outcome,
    *,
    actor_id: uuid.UUID | None = None,
    department: str | None = None,
    details: Mapping[str, str | int | bool | None] | None = None,
) -> None:
    """Log the event and store it; never raises."""
    row = _event_row(event, outcome, actor_id, department, dict(details or {}))
    logger.info(
        "audit.recorded",
        audit_event=row.event,
        outcome=row.outcome,
        actor_id=str(actor_id) if actor_id else None,
        department=department,
        ip=row.ip,
        details=row.details,
    )

    try:
        async with database.transaction(SYSTEM) as session:
            session.add(row)
    except Exception as exc:
        logger.warning(
            "audit.write_failed", audit_event=row.event, error=type(exc).__name__
        )


def _event_row(
    event: SecurityEvent,
    outcome: Outcome,
    actor_id: uuid.UUID | None,
    department: str | None,
    details: dict[str, str | int | bool | None],
) -> AuditEvent:
    context = current_request()
    return AuditEvent(
        event=event.value,
        outcome=outcome.value,
        actor_id=actor_id,
        department=department,
        request_id=context.request_id if context else None,
        ip=context.client_address if context else None,
        details=details,
    )
