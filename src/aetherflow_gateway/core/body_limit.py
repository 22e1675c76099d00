"""A bound on request bodies, for every route but the streamed uploads.

JSON and form bodies are small, yet Starlette reads them whole into memory, so an
unbounded one is a cheap way to exhaust a replica. This middleware reads the body
before the app does, counting the bytes as they arrive: a declared
`Content-Length` over the limit is refused at once, and a chunked body (no length
declared) is refused as soon as it passes the limit. The app then receives the
buffered body as if it came from the network. Uploads are exempt: they stream
through their own size check (`AETHERFLOW_MAX_UPLOAD_BYTES`).
"""

from collections.abc import Collection

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aetherflow_gateway.core.errors import PayloadTooLarge, problem_response


class BodyLimitMiddleware:
    def __init__(
        self, app: ASGIApp, max_bytes: int, exempt_paths: Collection[str] = ()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt_paths = frozenset(exempt_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt_paths:
            await self.app(scope, receive, send)
            return

        if _declared_length(scope) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return

        messages = await self._read_body(receive)
        if messages is None:
            await self._refuse(scope, receive, send)
            return
        await self.app(scope, _replay(messages, receive), send)

    async def _read_body(self, receive: Receive) -> list[Message] | None:
        """The body's messages, or None once they pass the limit."""
        messages: list[Message] = []
        received = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages  # a disconnect: the app will notice it

            received += len(message.get("body", b""))
            if received > self.max_bytes:
                return None
            if not message.get("more_body", False):
                return messages

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = PayloadTooLarge(
            f"The request body is larger than {self.max_bytes} bytes."
        )
        response = problem_response(error.status, error.slug, error.title, error.detail)
        await response(scope, receive, send)


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
