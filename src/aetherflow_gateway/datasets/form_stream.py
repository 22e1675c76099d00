"""A multipart/form-data body read as a stream of events, never buffered whole.

Starlette's `request.form()` spools files to disk; the upload pipeline must pass each
chunk to the object store as it arrives instead. This module drives
python-multipart's push parser over `request.stream()` and yields what it finds:
small text fields whole, and a file as a start event, data events and an end event.
Each network chunk produces a bounded number of events, so memory stays flat.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from aetherflow_gateway.core.errors import InvalidRequest, UnsupportedMediaType

MAX_FIELDS = 8
MAX_FIELD_BYTES = 1024


@dataclass(frozen=True)
class FormField:
    name: str
    value: str


@dataclass(frozen=True)
class FileStart:
    name: str
    filename: str
    content_type: str


@dataclass(frozen=True)
class FileData:
    data: bytes


@dataclass(frozen=True)
class FileEnd:
    pass


FormEvent = FormField | FileStart | FileData | FileEnd


@dataclass
class _PartInProgress:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    header_name: bytes = b""
    header_value: bytes = b""
    is_file: bool = False
    name: str = ""
    value: bytearray = field(default_factory=bytearray)


class _EventCollector:
    """Receives python-multipart's callbacks and turns them into events."""

    def __init__(self) -> None:
        self.events: list[FormEvent] = []
        self.part = _PartInProgress()
        self.fields = 0
        self.ended = False

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_end": self.on_end,
        }

    def on_part_begin(self) -> None:
        self.part = _PartInProgress()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.part.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.part.header_value += data[start:end]

    def on_header_end(self) -> None:
        part = self.part
        part.headers[part.header_name.strip().lower()] = part.header_value.strip()
        part.header_name, part.header_value = b"", b""

    def on_headers_finished(self) -> None:
        disposition, options = parse_options_header(
            self.part.headers.get(b"content-disposition", b"")
        )
        if disposition != b"form-data" or b"name" not in options:
            raise InvalidRequest("Each form part needs a form-data name.")

        self.part.name = _text(options[b"name"])
        if b"filename" in options:
            self.part.is_file = True
            content_type = _text(self.part.headers.get(b"content-type", b""))
            self.events.append(
                FileStart(self.part.name, _text(options[b"filename"]), content_type)
            )
            return

        self.fields += 1
        if self.fields > MAX_FIELDS:
            raise InvalidRequest(f"A form may hold at most {MAX_FIELDS} fields.")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.part.is_file:
            self.events.append(FileData(bytes(data[start:end])))
            return

        self.part.value += data[start:end]
        if len(self.part.value) > MAX_FIELD_BYTES:
            raise InvalidRequest(
                f"A form field may hold at most {MAX_FIELD_BYTES} bytes."
            )

    def on_part_end(self) -> None:
        if self.part.is_file:
            self.events.append(FileEnd())
        else:
            self.events.append(FormField(self.part.name, _text(bytes(self.part.value))))

    def on_end(self) -> None:
        self.ended = True


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest("Form names and fields must be UTF-8.") from exc


def boundary_of(request: Request) -> bytes:
    media_type, options = parse_options_header(request.headers.get("content-type", ""))
    if media_type != b"multipart/form-data" or not options.get(b"boundary"):
        raise UnsupportedMediaType("Send the file as multipart/form-data.")
    return options[b"boundary"]


async def stream_form(request: Request) -> AsyncIterator[FormEvent]:
    collector = _EventCollector()
    parser = MultipartParser(boundary_of(request), collector.callbacks())  # type: ignore[arg-type]

    async for chunk in request.stream():
        _feed(parser, chunk)
        for event in collector.events:
            yield event
        collector.events.clear()

    _finish(parser)
    if not collector.ended:
        raise InvalidRequest("The multipart body ended before its closing boundary.")


def _feed(parser: MultipartParser, chunk: bytes) -> None:
    try:
        parser.write(chunk)
    except MultipartParseError as exc:
        raise InvalidRequest("The multipart body is malformed.") from exc


def _finish(parser: MultipartParser) -> None:
    try:
        parser.finalize()
    except MultipartParseError as exc:
        raise InvalidRequest("The multipart body ended early.") from exc
