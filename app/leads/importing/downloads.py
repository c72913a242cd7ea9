"""Files sent back: an import's failed rows and the export of a filtered lead list, as CSV or XLSX.

CSV is streamed as it is produced; XLSX is built by openpyxl's write-only workbook in a worker
thread (the format is a zip, so it cannot be streamed row by row) and then sent.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from urllib.parse import quote

from litestar.response import Response, Stream

from app.core.errors import FieldError, ValidationFailed
from app.core.i18n import N_, gettext
from app.leads.importing import files as import_files
from app.leads.importing import services as importing

FORMATS = ("csv", "xlsx")
CSV_TYPE = "text/csv; charset=utf-8"


def _disposition(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"}


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValidationFailed([FieldError("format", N_("Choose csv or xlsx."))])
    return fmt


def _xlsx_bytes(headers: list[str], rows: Iterable[list]) -> bytes:
    out = io.BytesIO()
    import_files.write_xlsx(out, headers, rows)
    return out.getvalue()


async def failed_rows_response(job: dict, fmt: str) -> Response:
    _check_format(fmt)
    headers, rows = importing.failed_rows(job, gettext)
    stem = job["params"]["filename"].rsplit(".", 1)[0]
    label = gettext("failed rows")
    filename = f"{stem}-{label}.{fmt}"
    if fmt == "csv":
        return Stream(import_files.write_csv(headers, rows), media_type=CSV_TYPE, headers=_disposition(filename))
    data = await asyncio.to_thread(_xlsx_bytes, headers, list(rows))
    return Response(data, media_type=import_files.XLSX_TYPE, headers=_disposition(filename))


async def _stream_csv(headers: list[str], rows: AsyncIterator[list]) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # so that Excel reads the Chinese as UTF-8
    writer.writerow(headers)
    n = 0
    async for row in rows:
        writer.writerow(row)
        n += 1
        if n % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


async def export_response(headers: list[str], rows: AsyncIterator[list], fmt: str) -> Response:
    _check_format(fmt)
    label = gettext("Leads")
    filename = f"{label}-{datetime.now():%Y%m%d-%H%M}.{fmt}"
    if fmt == "csv":
        return Stream(_stream_csv(headers, rows), media_type=CSV_TYPE, headers=_disposition(filename))
    collected = [row async for row in rows]
    data = await asyncio.to_thread(_xlsx_bytes, headers, collected)
    return Response(data, media_type=import_files.XLSX_TYPE, headers=_disposition(filename))
