"""What the S3 and SQS clients share: their timeouts and the errors that mean "down"."""

from functools import cache

import aiohttp
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session
from botocore.exceptions import BotoCoreError, ClientError

AWS_ERRORS = (BotoCoreError, ClientError, aiohttp.ClientError, OSError, TimeoutError)


def aws_client_config(timeout_seconds: float) -> AioConfig:
    """Short timeouts and one retry, so that an outage answers within seconds."""
    return AioConfig(
        connect_timeout=timeout_seconds,
        read_timeout=timeout_seconds,
        retries={"mode": "standard", "max_attempts": 2},
    )


@cache
def aws_session() -> AioSession:
    """The process's one session, which caches the service models it loads.

    Every client after the first is then created in milliseconds rather than a
    tenth of a second. botocore sessions are not thread-safe; the gateway creates
    its clients from the event loop only.
    """
    return get_session()
