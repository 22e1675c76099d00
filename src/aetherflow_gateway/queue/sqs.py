"""Messages on Amazon SQS, or any SQS-compatible endpoint.

One client serves every configured queue. Each message attribute travels as an SQS
`String` attribute; every failure of SQS or of the network reaches the caller as
`QueueUnavailable`, after at most two short attempts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AsyncExitStack, contextmanager
from typing import TYPE_CHECKING, Self

import structlog

# Type stubs, installed for development only.
if TYPE_CHECKING:
    from types_aiobotocore_sqs import SQSClient
    from types_aiobotocore_sqs.type_defs import MessageAttributeValueTypeDef

from aetherflow_gateway.core.aws import AWS_ERRORS, aws_client_config, aws_session
from aetherflow_gateway.core.settings import Settings
from aetherflow_gateway.queue.base import QueueUnavailable

logger = structlog.get_logger(__name__)


class SqsPublisher:
    def __init__(
        self, client: SQSClient, queue_urls: Mapping[str, str], exits: AsyncExitStack
    ) -> None:
        self._client = client
        self._queue_urls = dict(queue_urls)
        self._exits = exits

    @classmethod
    async def open(cls, settings: Settings, queue_urls: Mapping[str, str]) -> Self:
        """Create the one client, held until `close`, for queues named by URL."""
        exits = AsyncExitStack()
        client_context = aws_session().create_client(
            "sqs",
            endpoint_url=settings.sqs_endpoint_url,
            config=aws_client_config(settings.dependency_timeout_seconds),
        )
        with _translated("create_client", queue="*"):
            client = await exits.enter_async_context(client_context)
        return cls(client, queue_urls, exits)

    async def publish(self, queue: str, body: str, attributes: dict[str, str]) -> str:
        url = self._queue_url(queue)
        with _translated("send_message", queue=queue):
            response = await self._client.send_message(
                QueueUrl=url,
                MessageBody=body,
                MessageAttributes=_message_attributes(attributes),
            )
        return response["MessageId"]

    async def check(self) -> None:
        for queue, url in self._queue_urls.items():
            with _translated("get_queue_attributes", queue=queue):
                await self._client.get_queue_attributes(
                    QueueUrl=url, AttributeNames=["QueueArn"]
                )

    async def close(self) -> None:
        await self._exits.aclose()

    def _queue_url(self, queue: str) -> str:
        if queue not in self._queue_urls:
            raise ValueError(f"no SQS queue is configured for {queue!r}")
        return self._queue_urls[queue]


def _message_attributes(
    attributes: Mapping[str, str],
) -> dict[str, MessageAttributeValueTypeDef]:
    # SQS refuses an attribute with an empty value; an absent one says the same.
    return {
        name: {"DataType": "String", "StringValue": value}
        for name, value in attributes.items()
        if value
    }


@contextmanager
def _translated(operation: str, queue: str) -> Iterator[None]:
    """Turn any failure of SQS or of the network into `QueueUnavailable`."""
    try:
        yield
    except AWS_ERRORS as exc:
        logger.warning(
            "queue.sqs_failed", operation=operation, queue=queue, error=str(exc)
        )
        raise QueueUnavailable(f"SQS {operation} failed: {exc}") from exc
