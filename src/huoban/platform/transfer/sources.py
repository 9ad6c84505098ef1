"""Streaming readers for import files: CSV (encoding detected), XLSX (read-only), JSON / JSON Lines.

Every reader yields ``(row_number, cells)`` one row at a time and never holds the file in memory.
Row numbers are the ones a spreadsheet shows (the header is usually row 1, the first data row 2).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

from django.core.files.storage import Storage, default_storage
from django.utils.translation import gettext as _

from huoban.platform.errors import ValidationError

from .transforms import cell_text

SAMPLE_BYTES = 256 * 1024
FORMATS = ("csv", "xlsx", "json", "jsonl")
ENCODINGS = ("utf-8", "utf-8-sig", "gb18030", "gbk", "big5", "utf-16", "latin-1", "cp1252", "shift_jis")
csv.field_size_limit(16 * 1024 * 1024)


def format_for(file_name: str, head: bytes = b"") -> str:
    """csv | xlsx | json | jsonl from the extension, or sniffed from the first bytes."""
    ext = os.path.splitext(file_name.lower())[1].lstrip(".")
    if ext in ("xlsx", "xlsm"):
        return "xlsx"
    if ext in ("jsonl", "ndjson"):
        return "jsonl"
    if ext == "json":
        return "json"
    if ext in ("csv", "txt", "tsv"):
        return "csv"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"["):
        return "json"
    if stripped.startswith(b"{"):
        return "jsonl"
    if ext == "xls":
        raise ValidationError(
            {"file": [_("Old Excel files (.xls) are not supported: save as .xlsx or CSV.")]}
        )
    return "csv"


# --- encodings --------------------------------------------------------------------------------


def _trim_to_line(sample: bytes) -> bytes:
    """Cut a sample at its last newline so a multi-byte character is never split."""
    cut = sample.rfind(b"\n")
    return sample[: cut + 1] if cut > 0 else sample


def detect_encoding(sample: bytes) -> str:
    """utf-8-sig (BOM) · utf-8 · gb18030 (GBK as saved by Chinese Excel) · else charset-normalizer."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if not sample:
        return "utf-8"
    body = _trim_to_line(sample) if len(sample) >= SAMPLE_BYTES else sample
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        body.decode("gb18030")
        # GB18030 decodes almost any byte soup; trust it only when the text is mostly CJK/ASCII.
        text = body.decode("gb18030")
        cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff" or ch.isascii())
        if cjk >= 0.9 * len(text):
            return "gb18030"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(body).best()
    if best is None:
        return "utf-8"
    name = best.encoding.lower().replace("_", "-")
    if name in ("gb2312", "gbk", "hz", "gb18030"):
        return "gb18030"
    if name == "ascii":
        return "utf-8"
    return name


def normalise_encoding(name: str) -> str:
    name = (name or "").strip().lower()
    if not name:
        return ""
    try:
        codecs.lookup(name)
        b"x".decode(name, errors="replace")  # rot13, base64 … are codecs but not text encodings
    except LookupError:
        raise ValidationError({"encoding": [_("Unknown encoding “%(name)s”.") % {"name": name}]})
    if name in ("gbk", "gb2312", "cp936"):
        return "gb18030"  # a superset: every GBK file decodes the same way
    return name


# --- storage helpers --------------------------------------------------------------------------


@contextmanager
def local_path(name: str, storage: Storage | None = None) -> Iterator[str]:
    """A local file path for a stored file (S3-compatible storages are copied to a temp file)."""
    storage = storage or default_storage
    try:
        path = storage.path(name)
    except NotImplementedError:
        path = ""
    if path and os.path.exists(path):
        yield path
        return
    suffix = os.path.splitext(name)[1]
    with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as tmp, storage.open(name, "rb") as src:
        shutil.copyfileobj(src, tmp, 1024 * 1024)
    try:
        yield tmp.name
    finally:
        os.unlink(tmp.name)


# --- the readers ------------------------------------------------------------------------------


@dataclass
class SourceInfo:
    format: str
    encoding: str = ""
    detected_encoding: str = ""
    delimiter: str = ""
    sheets: list[str] = field(default_factory=list)
    sheet: str = ""
    header_row: int = 1
    headers: list[str] = field(default_factory=list)
    sample_rows: list[list[str]] = field(default_factory=list)
    estimated_rows: int | None = None


class Source:
    """Base: open a local file, expose ``headers`` and iterate data rows after the header."""

    format = ""

    def __init__(self, path: str, *, header_row: int = 1, **options: Any):
        self.path = path
        self.header_row = max(1, int(header_row or 1))
        self.options = options
        self.headers: list[str] = []
        self.size = os.path.getsize(path)
        self._pos = 0.0

    def fraction(self) -> float:
        """How far the iteration got, 0.0–1.0 (for the progress bar)."""
        return self._pos

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class CsvSource(Source):
    format = "csv"

    def __init__(self, path: str, *, encoding: str = "", delimiter: str = "", **kw: Any):
        super().__init__(path, **kw)
        with open(path, "rb") as fh:
            sample = fh.read(SAMPLE_BYTES)
        self.detected_encoding = detect_encoding(sample)
        self.encoding = normalise_encoding(encoding) or self.detected_encoding
        self.delimiter = delimiter or sniff_delimiter(sample, self.encoding)
        self._binary: IO[bytes] | None = None
        self._text: io.TextIOWrapper | None = None
        self._open()

    def _open(self) -> None:
        self.close()
        self._binary = open(self.path, "rb")  # noqa: SIM115 — closed in close()
        # errors="replace": a bad byte turns into U+FFFD in its row, which is then rejected —
        # the rest of the file still imports and every row is accounted for.
        self._text = io.TextIOWrapper(self._binary, encoding=self.encoding, errors="replace", newline="")
        self._reader = csv.reader(self._text, delimiter=self.delimiter or ",")
        self._line = 0
        try:
            for _i in range(self.header_row - 1):
                next(self._reader, None)
                self._line += 1
            header = next(self._reader, None)
        except UnicodeError:  # e.g. UTF-16 chosen for a file without a byte order mark
            self.close()
            raise ValidationError(
                {"encoding": [_("The file cannot be read as %(name)s.") % {"name": self.encoding}]}
            )
        self._line += 1
        self.headers = [h.strip().lstrip("\ufeff").strip() for h in header] if header else []

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        size = self.size or 1
        binary = self._binary
        assert binary is not None
        line = self._line
        count = 0
        for cells in self._reader:
            line += 1
            count += 1
            if count & 1023 == 0:
                self._pos = min(1.0, binary.tell() / size)
            yield line, cells
        self._pos = 1.0

    def close(self) -> None:
        if self._text is not None:
            self._text.close()
            self._text = None
        elif self._binary is not None:
            self._binary.close()
        self._binary = None


def sniff_delimiter(sample: bytes, encoding: str) -> str:
    text = _trim_to_line(sample).decode(encoding, errors="replace")
    first_lines = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(first_lines, delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: first_lines.count(d) for d in (",", ";", "\t", "|")}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


class XlsxSource(Source):
    format = "xlsx"

    def __init__(self, path: str, *, sheet: str = "", **kw: Any):
        super().__init__(path, **kw)
        from openpyxl import load_workbook

        try:
            self._wb = load_workbook(path, read_only=True, data_only=True)
        except Exception:
            raise ValidationError({"file": [_("This file is not a readable Excel (.xlsx) workbook.")]})
        self.sheets = list(self._wb.sheetnames)
        if sheet and sheet not in self.sheets:
            raise ValidationError({"sheet": [_("No sheet named “%(name)s”.") % {"name": sheet}]})
        self.sheet = sheet or self.sheets[0]
        self._ws = self._wb[self.sheet]
        try:
            self.max_row = int(self._ws.max_row or 0)
        except Exception:
            self.max_row = 0
        self._iter = self._ws.iter_rows(values_only=True)
        self._line = 0
        header: tuple[Any, ...] | None = None
        for _i in range(self.header_row):
            header = next(self._iter, None)
            self._line += 1
        self.headers = [cell_text(h).strip() for h in header] if header else []
        while self.headers and not self.headers[-1]:
            self.headers.pop()

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        line = self._line
        total = self.max_row or 0
        for values in self._iter:
            line += 1
            if total and line & 255 == 0:
                self._pos = min(1.0, line / total)
            cells = list(values)
            while cells and (cells[-1] is None or cells[-1] == ""):
                cells.pop()
            yield line, cells
        self._pos = 1.0

    def close(self) -> None:
        wb = getattr(self, "_wb", None)
        if wb is not None:
            wb.close()
            self._wb = None


class JsonSource(Source):
    """A JSON array of objects (streamed with raw_decode) or JSON Lines (one object per line).

    Headers are the keys of the first 1,000 objects in order of appearance; a row's cells follow
    the headers (keys that appear only later are ignored, as in a spreadsheet with a fixed header).
    """

    format = "json"
    HEADER_SCAN = 1000

    def __init__(self, path: str, *, lines: bool = False, columns: list[str] | None = None, **kw: Any):
        super().__init__(path, **kw)
        self.lines = lines
        self.format = "jsonl" if lines else "json"
        self.encoding = "utf-8"
        self.detected_encoding = "utf-8"
        if columns:
            self.headers = list(columns)  # fixed when the run was mapped
            return
        keys: list[str] = []
        seen: set[str] = set()
        for _n, obj in zip(range(self.HEADER_SCAN), self._objects(), strict=False):
            if isinstance(obj, dict):
                for k in obj:
                    if k not in seen:
                        seen.add(k)
                        keys.append(str(k))
        self.headers = keys

    def _objects(self) -> Iterator[Any]:
        with open(self.path, encoding="utf-8-sig", errors="replace") as fh:
            if self.lines:
                for line in fh:
                    line = line.strip()
                    if not line:
                        yield None
                        continue
                    try:
                        yield json.loads(line)
                    except ValueError:
                        yield _Bad(line)
                return
            yield from _stream_array(fh)

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        size = self.size or 1
        headers = self.headers
        line = 1
        for obj in self._objects():
            line += 1
            if line & 1023 == 0:
                self._pos = min(1.0, line * 100 / size)  # rough; fixed to 1.0 at the end
            if obj is None:
                yield line, []
            elif isinstance(obj, dict):
                yield line, [_json_cell(obj.get(h)) for h in headers]
            else:
                yield line, _BadRow(obj)
        self._pos = 1.0


class _Bad(str):
    """A JSON Lines line that did not parse."""


class _BadRow(list):
    """A row that is not an object: the engine rejects it (the value is kept for the report)."""

    def __init__(self, obj: Any):
        super().__init__([str(obj)[:500]])


def _json_cell(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, ensure_ascii=False)


def _stream_array(fh: IO[str], chunk_size: int = 1 << 16) -> Iterator[Any]:
    """Yield the elements of a top-level JSON array without loading the whole file."""
    decoder = json.JSONDecoder()
    buf = fh.read(chunk_size).lstrip()
    if not buf.startswith("["):
        raise ValidationError({"file": [_("Expected a JSON array of objects.")]})
    buf = buf[1:]
    eof = False
    while True:
        buf = buf.lstrip().lstrip(",").lstrip()
        if buf.startswith("]"):
            return
        if not buf:
            if eof:
                return
            more = fh.read(chunk_size)
            eof = not more
            buf += more
            continue
        try:
            obj, end = decoder.raw_decode(buf)
        except ValueError:
            if eof:
                yield _Bad(buf[:200])
                return
            more = fh.read(chunk_size)
            if not more:
                eof = True
            buf += more
            continue
        yield obj
        buf = buf[end:]
        if len(buf) < chunk_size and not eof:
            more = fh.read(chunk_size)
            eof = not more
            buf += more


def open_source(
    path: str,
    fmt: str,
    *,
    encoding: str = "",
    delimiter: str = "",
    sheet: str = "",
    header_row: int = 1,
    columns: list[str] | None = None,
) -> Source:
    if fmt == "xlsx":
        return XlsxSource(path, sheet=sheet, header_row=header_row)
    if fmt in ("json", "jsonl"):
        return JsonSource(path, lines=fmt == "jsonl", columns=columns)
    return CsvSource(path, encoding=encoding, delimiter=delimiter, header_row=header_row)


def guess_header_row(path: str, fmt: str, **kw: Any) -> int:
    """The first row that looks like a header: at least two cells and ≥ half of the widest row
    among the first ten (skips a title row such as "客户名单 2024" above the real header)."""
    if fmt in ("json", "jsonl"):
        return 1
    with open_source(path, fmt, header_row=1, **kw) as src:
        widths = [sum(1 for h in src.headers if h)]
        for _line, cells in src.rows():
            widths.append(sum(1 for c in cells if cell_text(c).strip()))
            if len(widths) >= 10:
                break
    widest = max(widths) if widths else 0
    for i, w in enumerate(widths):
        if w >= 2 and w * 2 >= widest:
            return i + 1
    return 1


def inspect(
    path: str,
    file_name: str,
    *,
    encoding: str = "",
    sheet: str = "",
    header_row: int | None = None,
    sample: int = 5,
) -> SourceInfo:
    """Detect format, encoding, delimiter, sheets and header row; read the headers and a sample."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    fmt = format_for(file_name, head)
    if header_row is None:
        header_row = guess_header_row(path, fmt, encoding=encoding, sheet=sheet)
    with open_source(path, fmt, encoding=encoding, sheet=sheet, header_row=header_row) as src:
        info = SourceInfo(format=src.format, header_row=header_row, headers=list(src.headers))
        info.encoding = getattr(src, "encoding", "")
        info.detected_encoding = getattr(src, "detected_encoding", "")
        info.delimiter = getattr(src, "delimiter", "")
        info.sheets = list(getattr(src, "sheets", []))
        info.sheet = getattr(src, "sheet", "")
        for _line, cells in src.rows():
            if isinstance(cells, _BadRow):
                continue
            if any(cell_text(c).strip() for c in cells):
                info.sample_rows.append([cell_text(c) for c in cells])
            if len(info.sample_rows) >= sample:
                break
        if fmt == "xlsx":
            info.estimated_rows = max(0, getattr(src, "max_row", 0) - header_row)
    if fmt == "csv":
        info.estimated_rows = _estimate_csv_rows(path)
    if not any(info.headers):
        raise ValidationError({"file": [_("The file has no header row.")]})
    return info


def _estimate_csv_rows(path: str) -> int:
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        chunk = fh.read(SAMPLE_BYTES)
    lines = chunk.count(b"\n")
    if not lines:
        return 0
    if len(chunk) >= size:
        return max(0, lines - (0 if chunk.endswith(b"\n") else -1) - 1)
    return int(size / (len(chunk) / lines)) - 1
