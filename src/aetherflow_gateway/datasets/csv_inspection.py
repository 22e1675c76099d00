"""Checks a CSV as it streams past, without keeping it.

The inspector sees every chunk exactly once. It refuses binary content (NUL bytes
or a known binary signature), anything that is not UTF-8 (a UTF-8 byte-order mark
is allowed and skipped), and files without a header row followed by at least one
data row. It reads the header from the first line, sniffing the delimiter there.
"""

import codecs
import csv
from dataclasses import dataclass

from aetherflow_gateway.core.errors import Unprocessable, UnsupportedMediaType

MAX_HEADER_BYTES = 64 * 1024
MAX_COLUMNS = 1024
SIGNATURE_BYTES = 8
DELIMITERS = ",;\t|"
UTF8_BOM = codecs.BOM_UTF8
BINARY_SIGNATURES = (
    b"\x1f\x8b",  # gzip
    b"PK\x03\x04",  # zip, xlsx
    b"%PDF",
    b"\x89PNG",
    b"\xff\xd8\xff",  # jpeg
    b"BZh",
    b"\xfd7zXZ",
    b"\x28\xb5\x2f\xfd",  # zstd
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
)


@dataclass(frozen=True)
class CsvSummary:
    columns: list[str]
    delimiter: str


class CsvInspector:
    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
        self._head = b""
        self._header: CsvSummary | None = None
        self._seen_bytes = 0
        self._has_data_row = False
        self._prefix = b""

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self._seen_bytes += len(chunk)
        self._check_signature(chunk)

        if b"\x00" in chunk:
            raise UnsupportedMediaType("The file holds binary data, not CSV text.")
        self._decode(chunk)

        if self._header is None:
            self._collect_header(chunk)
        elif not self._has_data_row:
            self._has_data_row = bool(chunk.strip())

    def finish(self) -> CsvSummary:
        self._decode(b"", final=True)
        if self._seen_bytes == 0:
            raise Unprocessable("The file is empty.")
        if self._header is None:
            self._header = _parse_header(self._head)
            self._has_data_row = False
        if not self._has_data_row:
            raise Unprocessable("The file has a header but no data rows.")
        return self._header

    def _check_signature(self, chunk: bytes) -> None:
        # The longest signature is 4 bytes; chunks may be smaller than that.
        if len(self._prefix) >= SIGNATURE_BYTES:
            return
        self._prefix = (self._prefix + chunk)[:SIGNATURE_BYTES]
        if self._prefix.startswith(BINARY_SIGNATURES):
            raise UnsupportedMediaType("The file is a binary or compressed format.")

    def _decode(self, chunk: bytes, final: bool = False) -> None:
        try:
            self._decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            raise UnsupportedMediaType("The file is not UTF-8 text.") from exc

    def _collect_header(self, chunk: bytes) -> None:
        self._head += chunk
        line_end = self._head.find(b"\n")
        if line_end < 0:
            if len(self._head) > MAX_HEADER_BYTES:
                raise Unprocessable("The header row is longer than 64 KiB.")
            return

        self._header = _parse_header(self._head[:line_end])
        self._has_data_row = bool(self._head[line_end + 1 :].strip())
        self._head = b""


def _parse_header(line: bytes) -> CsvSummary:
    text = line.removeprefix(UTF8_BOM).decode("utf-8").rstrip("\r")
    if not text.strip():
        raise Unprocessable("The file has no header row.")

    delimiter = _sniff_delimiter(text)
    columns = [name.strip() for name in next(csv.reader([text], delimiter=delimiter))]
    _check_columns(columns)
    return CsvSummary(columns=columns, delimiter=delimiter)


def _sniff_delimiter(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def _check_columns(columns: list[str]) -> None:
    if len(columns) > MAX_COLUMNS:
        raise Unprocessable(f"The header has more than {MAX_COLUMNS} columns.")
    if any(not name for name in columns):
        raise Unprocessable("The header row has an empty column name.")
    if all(_looks_numeric(name) for name in columns):
        raise Unprocessable("The first row holds numbers; a header row is required.")
    if len(set(columns)) != len(columns):
        raise Unprocessable("The header row repeats a column name.")


def _looks_numeric(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True
