"""The `aetherflow-gateway` command: serve, migrate, relay, sweep, invite, openapi."""

import argparse
import asyncio
import json
import signal
import sys
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

import structlog
import uvicorn

from aetherflow_gateway.app import create_app
from aetherflow_gateway.auth.invites import IssuedInvite, create_invite
from aetherflow_gateway.auth.keys import load_key_set
from aetherflow_gateway.auth.models import Role
from aetherflow_gateway.background import run_background
from aetherflow_gateway.core.logging import configure_logging
from aetherflow_gateway.core.services import open_services
from aetherflow_gateway.core.settings import ConfigurationError, Settings, load_settings
from aetherflow_gateway.datasets.sweep import sweep
from aetherflow_gateway.db.database import Database
from aetherflow_gateway.db.migrate import upgrade_to_head

logger = structlog.get_logger(__name__)


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    configure_logging()
    try:
        settings = load_settings()
        if arguments.command == "serve":
            # Read the keys now: a bad key file stops start-up in one line, and a
            # fresh embedded install writes its secret before the first request.
            load_key_set(settings)
    except ConfigurationError as exc:
        print(f"aetherflow-gateway: configuration error: {exc}", file=sys.stderr)
        return 2

    configure_logging(settings.log_level)
    if arguments.command == "serve":
        return _serve(settings, arguments.host, arguments.port)
    if arguments.command == "migrate":
        upgrade_to_head(settings.resolved_database_url)
        logger.info("database.migrated")
        return 0
    if arguments.command == "sweep":
        return asyncio.run(_sweep(settings))
    if arguments.command == "invite":
        return _invite(settings, arguments)
    if arguments.command == "openapi":
        document = create_app(settings).openapi()
        print(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False))
        return 0
    return asyncio.run(_relay(settings))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aetherflow-gateway", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)

    commands.add_parser("migrate", help="apply database migrations (idempotent)")
    commands.add_parser(
        "relay", help="publish pending queue messages and sweep, until stopped"
    )
    commands.add_parser("sweep", help="remove what crashed uploads left, once")
    commands.add_parser("openapi", help="print the OpenAPI document as JSON")
    _add_invite_parser(commands)
    return parser


def _add_invite_parser(commands: "argparse._SubParsersAction[Any]") -> None:
    invite = commands.add_parser("invite", help="registration invites")
    actions = invite.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create an invite and print its code")
    create.add_argument("--department", required=True)
    create.add_argument("--role", choices=("member", "admin"), default="member")
    create.add_argument("--ttl-hours", type=int, default=None)


def _serve(settings: Settings, host: str, port: int) -> int:
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        # The client's address (login throttling, audit) comes from
        # X-Forwarded-For only when the peer is a configured proxy.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=",".join(settings.trusted_proxies) or None,
        # On SIGTERM uvicorn stops accepting, lets in-flight requests finish for
        # this long, then cancels them; a cancelled upload aborts its write.
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )
    return 0


async def _relay(settings: Settings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    async with AsyncExitStack() as stack:
        services = await open_services(settings, stack)
        await run_background(services, stop)
    return 0


async def _sweep(settings: Settings) -> int:
    async with AsyncExitStack() as stack:
        services = await open_services(settings, stack)
        await sweep(services)
    return 0


def _invite(settings: Settings, arguments: argparse.Namespace) -> int:
    department = settings.canonical_department(arguments.department)
    hours = arguments.ttl_hours
    if hours is None:
        hours = settings.invite_ttl_hours
    if department is None or not 1 <= hours <= 720:
        known = ", ".join(settings.departments)
        print(
            f"aetherflow-gateway: expected a department among {known} "
            "and --ttl-hours from 1 to 720",
            file=sys.stderr,
        )
        return 2

    issued = asyncio.run(
        _create_invite(settings, department, arguments.role, timedelta(hours=hours))
    )
    print(issued.code)
    return 0


async def _create_invite(
    settings: Settings, department: str, role: Role, ttl: timedelta
) -> IssuedInvite:
    database = Database(
        settings.resolved_database_url, settings.dependency_timeout_seconds
    )
    try:
        return await create_invite(database, department, role, ttl)
    finally:
        await database.close()


if __name__ == "__main__":
    sys.exit(main())
