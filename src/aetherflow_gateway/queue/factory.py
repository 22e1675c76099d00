"""Pick the backend of each job queue from its URL setting.

Both queues are usually of one kind. When one is on SQS and the other local, a small
router sends each message to the backend of its queue.
"""

from collections.abc import Mapping
from urllib.parse import urlsplit

from aetherflow_gateway.core.settings import Settings
from aetherflow_gateway.queue.base import Publisher
from aetherflow_gateway.queue.local import LocalPublisher
from aetherflow_gateway.queue.sqs import SqsPublisher


async def open_publisher(settings: Settings) -> Publisher:
    urls = {"etl": settings.etl_queue_url, "ml": settings.ml_queue_url}
    local_urls = {name: url for name, url in urls.items() if _is_file(url)}
    sqs_urls = {name: url for name, url in urls.items() if not _is_file(url)}

    if not sqs_urls:
        return LocalPublisher.from_urls(local_urls)
    sqs = await SqsPublisher.open(settings, sqs_urls)
    if not local_urls:
        return sqs

    local = LocalPublisher.from_urls(local_urls)
    return QueueRouter(
        {**dict.fromkeys(sqs_urls, sqs), **dict.fromkeys(local_urls, local)}
    )


class QueueRouter:
    """A publisher that hands each queue's messages to that queue's backend."""

    def __init__(self, routes: Mapping[str, Publisher]) -> None:
        self._routes = dict(routes)
        self._backends = list(dict.fromkeys(routes.values()))

    async def publish(self, queue: str, body: str, attributes: dict[str, str]) -> str:
        if queue not in self._routes:
            raise ValueError(f"no queue is configured for {queue!r}")
        return await self._routes[queue].publish(queue, body, attributes)

    async def check(self) -> None:
        for backend in self._backends:
            await backend.check()

    async def close(self) -> None:
        for backend in self._backends:
            await backend.close()


def _is_file(url: str) -> bool:
    # The settings admit only file:// and http(s):// queue URLs.
    return urlsplit(url).scheme == "file"
