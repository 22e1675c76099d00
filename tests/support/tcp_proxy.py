"""A loopback TCP relay that a test can cut and restore, as a network outage would.

The gateway's client talks to the relay instead of the service; `stop` refuses new
connections and drops the open ones, `start` serves again on the same port.
`hold_replies` lets requests through to the service but keeps its answers back,
so a test can catch a client after the service acted and before it heard so.
"""

import asyncio

from tests.support.moto_server import free_port

CHUNK_BYTES = 1 << 16


class TcpProxy:
    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self._target_port = target_port
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._replies_flow = asyncio.Event()
        self._replies_flow.set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    def hold_replies(self) -> None:
        self._replies_flow.clear()

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for writer in self._open:
            writer.close()
        await self._server.wait_closed()
        self._server = None

    async def _relay(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        upstream = await asyncio.open_connection("127.0.0.1", self._target_port)
        upstream_reader, upstream_writer = upstream
        self._open |= {client_writer, upstream_writer}

        await asyncio.gather(
            _pipe(client_reader, upstream_writer),
            _pipe(upstream_reader, client_writer, self._replies_flow),
        )
        self._open -= {client_writer, upstream_writer}


async def _pipe(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    flow: asyncio.Event | None = None,
) -> None:
    try:
        while data := await reader.read(CHUNK_BYTES):
            if flow is not None:
                await flow.wait()
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()
