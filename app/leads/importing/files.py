"""Files of a lead import: checking and storing the upload, reading CSV and XLSX, writing rows back.

Uploads live under `<var_dir>/imports/<yyyy>/<mm>/<random>.<ext>`; the job's report of each chunk
beside them in `<stored name>.d/`. CSV is read as UTF-8 (with or without the BOM Excel adds) or,
failing that, GB18030 — a superset of the GBK that Excel writes on Chinese Windows. XLSX is read
with openpyxl in read-only mode, first sheet only.
"""

from __future__ import annotations

import codecs
import csv
import io
import secrets
import zipfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path

from app.core.clock import Clock, system_clock
from app.core.errors import FieldError, ValidationFailed
from app.core.i18n import N_
from app.core.storage import path_under
from app.settings import get_settings

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
# Litestar refuses bodies above this before our checks run.
REQUEST_LIMIT = MAX_BYTES + 1024 * 1024
EXTENSIONS = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ImportFileRefused(ValidationFailed):
    status_code = 415


class ImportFileTooLarge(ValidationFailed):
    status_code = 413


def extension_of(filename: str) -> str:
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


def check_upload(filename: str, data: bytes) -> str:
    """The file's kind ("csv" or "xlsx"), or a 413/415 naming the `file` field."""
    if len(data) > MAX_BYTES:
        raise ImportFileTooLarge([FieldError("file", N_("The file is larger than 20 MB."))])
    ext = extension_of(filename)
    if ext == "xlsx" and _is_xlsx(data):
        return ext
    if ext == "csv" and data and b"\x00" not in data[:8192]:
        return ext
    raise ImportFileRefused([FieldError("file", N_("Upload a CSV or Excel (.xlsx) file."))])


def _is_xlsx(data: bytes) -> bool:
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        return any(n.startswith("xl/") for n in zipfile.ZipFile(io.BytesIO(data)).namelist())
    except zipfile.BadZipFile:
        return False


def storage_root() -> Path:
    return get_settings().var_dir / "imports"


def path_of(stored_name: str) -> Path:
    return path_under(storage_root(), stored_name)


def store(data: bytes, ext: str, clock: Clock = system_clock) -> str:
    now = clock.now()
    stored_name = f"{now:%Y}/{now:%m}/{secrets.token_hex(16)}.{ext}"
    path = path_of(stored_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("xb") as fh:
        fh.write(data)
    return stored_name


def report_dir(stored_name: str) -> Path:
    """Where a job writes what it found, one file per chunk."""
    return path_of(stored_name + ".d")


def cell_text(value) -> str:
    """A cell as the text a person typed: 13800138000.0 → "13800138000", a date → 2026-12-01."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def decode_csv(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    text = decode_csv(data)
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    for row in csv.reader(io.StringIO(text), dialect):
        yield [c.strip() for c in row]


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield [cell_text(v) for v in row]
    finally:
        book.close()


def read_rows(data: bytes, ext: str) -> Iterator[list[str]]:
    """Every row of the first sheet (the header included), empty rows skipped, trailing empty cells cut."""
    for row in _xlsx_rows(data) if ext == "xlsx" else _csv_rows(data):
        while row and not row[-1]:
            row.pop()
        if row:
            yield row


def read_table(data: bytes, ext: str, *, max_rows: int | None = None) -> tuple[list[str], list[list[str]]]:
    """(headers, data rows). `max_rows` stops early (the mapping step's preview)."""
    rows = read_rows(data, ext)
    headers = next(rows, [])
    body: list[list[str]] = []
    for row in rows:
        if max_rows is not None and len(body) >= max_rows:
            break
        body.append(row)
        if len(body) > MAX_ROWS:
            raise ValidationFailed([FieldError("file", N_("At most 200,000 rows per file."))])
    return headers, body


def write_csv(headers: list[str], rows: Iterable[list]) -> Iterator[str]:
    """CSV text, chunk by chunk, with a BOM so that Excel opens the Chinese correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(headers)
    for n, row in enumerate(rows, start=1):
        writer.writerow(row)
        if n % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_xlsx(path: Path, headers: list[str], rows: Iterable[list]) -> None:
    """An XLSX file (openpyxl write-only: rows go to disk as they come). Phones stay text."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(headers)
    for row in rows:
        sheet.append(["" if v is None else v for v in row])
    book.save(path)
