"""What the S3 and SQS clients share: their timeouts and the errors that mean "down"."""

import aiohttp
from aiobotocore.config import AioConfig
from botocore.exceptions import BotoCoreError, ClientError

AWS_ERRORS = (BotoCoreError, ClientError, aiohttp.ClientError, OSError, TimeoutError)


def aws_client_config(timeout_seconds: float) -> AioConfig:
    """Short timeouts and one retry, so that an outage answers within seconds."""
    return AioConfig(
        connect_timeout=timeout_seconds,
        read_timeout=timeout_seconds,
        retries={"mode": "standard", "max_attempts": 2},
    )
