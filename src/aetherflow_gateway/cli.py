"""The `aetherflow-gateway` command: serve, migrate, relay."""

import argparse
import asyncio
import signal
import sys
from contextlib import AsyncExitStack

import structlog
import uvicorn

from aetherflow_gateway.app import create_app
from aetherflow_gateway.core.logging import configure_logging
from aetherflow_gateway.core.services import open_services
from aetherflow_gateway.core.settings import ConfigurationError, Settings, load_settings
from aetherflow_gateway.db.migrate import upgrade_to_head
from aetherflow_gateway.outbox.relay import run_relay

logger = structlog.get_logger(__name__)


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    configure_logging()
    try:
        settings = load_settings()
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
    return asyncio.run(_relay(settings))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aetherflow-gateway", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)

    commands.add_parser("migrate", help="apply database migrations (idempotent)")
    commands.add_parser("relay", help="publish pending queue messages until stopped")
    return parser


def _serve(settings: Settings, host: str, port: int) -> int:
    # Touch the signing secret now, so a fresh embedded install writes it before
    # the first request rather than during one.
    _ = settings.signing_secret
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
    )
    return 0


async def _relay(settings: Settings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    async with AsyncExitStack() as stack:
        services = await open_services(settings, stack)
        await run_relay(
            services.database, services.publisher, settings.relay_interval_seconds, stop
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
