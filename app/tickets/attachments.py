"""Ticket attachments: checked (size, sniffed type), stored on disk, served to those who see the ticket.

Files live under `<var_dir>/attachments/<yyyy>/<mm>/<random>`; the row keeps the original name and
the content type we derived from the checked extension, never the one the browser claimed, so a
file cannot be served as HTML. A file is accepted only when its extension is allowed, the type
the browser sent agrees with it, and its first bytes look like that kind of file.
"""

from __future__ import annotations

import asyncio
import io
import secrets
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork
from app.core.errors import FieldError, NotFound, ValidationFailed
from app.core.i18n import gettext as _
from app.core.permissions import CurrentUser
from app.core.storage import path_under
from app.settings import get_settings
from tables.tickets.tables import Ticket, TicketActivity, TicketAttachment

MAX_BYTES = 10 * 1024 * 1024
MAX_FILES = 5
# Litestar refuses bodies above this before our checks run: room for MAX_FILES full files and a form.
REQUEST_LIMIT = MAX_FILES * MAX_BYTES + 1024 * 1024

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the container of .doc and .xls
ZIP = (b"PK\x03\x04", b"PK\x05\x06")


def _is_text(data: bytes) -> bool:
    if b"\x00" in data[:8192]:
        return False
    for encoding in ("utf-8", "gb18030"):
        try:
            data.decode(encoding)
            return True
        except UnicodeDecodeError:
            continue
    return False


def _zip_with(prefix: str):
    def check(data: bytes) -> bool:
        if not data.startswith(ZIP):
            return False
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except zipfile.BadZipFile:
            return False
        return any(n.startswith(prefix) for n in names)

    return check


# extension → (content type we serve, content types a browser may send for it, content check)
KINDS: dict[str, tuple[str, tuple[str, ...], object]] = {
    "png": ("image/png", ("image/png", "image/x-png"), lambda d: d.startswith(b"\x89PNG\r\n\x1a\n")),
    "jpg": ("image/jpeg", ("image/jpeg", "image/pjpeg", "image/jpg"), lambda d: d.startswith(b"\xff\xd8\xff")),
    "jpeg": ("image/jpeg", ("image/jpeg", "image/pjpeg", "image/jpg"), lambda d: d.startswith(b"\xff\xd8\xff")),
    "gif": ("image/gif", ("image/gif",), lambda d: d[:6] in (b"GIF87a", b"GIF89a")),
    "webp": ("image/webp", ("image/webp",), lambda d: d[:4] == b"RIFF" and d[8:12] == b"WEBP"),
    "pdf": ("application/pdf", ("application/pdf", "application/x-pdf"), lambda d: d.startswith(b"%PDF-")),
    "doc": ("application/msword", ("application/msword",), lambda d: d.startswith(OLE)),
    "xls": ("application/vnd.ms-excel", ("application/vnd.ms-excel", "application/excel"), lambda d: d.startswith(OLE)),
    "docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/zip"),
        _zip_with("word/"),
    ),
    "xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/zip"),
        _zip_with("xl/"),
    ),
    "txt": ("text/plain; charset=utf-8", ("text/plain",), _is_text),
    "zip": (
        "application/zip",
        ("application/zip", "application/x-zip-compressed", "multipart/x-zip"),
        lambda d: d.startswith(ZIP),
    ),
}
GENERIC_TYPES = ("", "application/octet-stream", "binary/octet-stream")
ACCEPT = ",".join(f".{ext}" for ext in KINDS)


class FileTooLarge(ValidationFailed):
    status_code = 413


class FileTypeRefused(ValidationFailed):
    status_code = 415


@dataclass(frozen=True)
class Upload:
    """One file from a form: `field` is the form field it came in (`files` or `fields.<key>`)."""

    field: str
    filename: str
    declared_type: str
    data: bytes

    @property
    def field_key(self) -> str:
        return self.field.removeprefix("fields.") if self.field.startswith("fields.") else ""

    @property
    def extension(self) -> str:
        suffix = PurePosixPath(self.filename).suffix.lower().lstrip(".")
        return suffix


def _clean_name(name: str) -> str:
    """The last path part only (browsers on Windows may send C:\\...\\file.pdf), without control characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>')
    return base.strip()[:200] or "file"


async def read_uploads(form, names: list[str]) -> list[Upload]:
    """The files posted under `names`; empty file inputs are skipped. Reads at most MAX_BYTES + 1 each."""
    uploads = []
    for name in names:
        for item in form.getall(name, []) if hasattr(form, "getall") else [form.get(name)]:
            if item is None or isinstance(item, str) or not getattr(item, "filename", ""):
                continue
            data = await item.read(MAX_BYTES + 1)
            declared = (item.content_type or "").split(";")[0].strip().lower()
            uploads.append(Upload(name, _clean_name(item.filename), declared, data))
    return uploads


def check_uploads(uploads: list[Upload]) -> None:
    """Raise with the form field named when a file is too large, of a refused type, or too many came."""
    if len(uploads) > MAX_FILES:
        raise ValidationFailed([FieldError(uploads[0].field, _("At most %(count)s files at once.", count=MAX_FILES))])
    too_large = [
        FieldError(u.field, _("“%(name)s” is larger than 10 MB.", name=u.filename))
        for u in uploads
        if len(u.data) > MAX_BYTES
    ]
    if too_large:
        raise FileTooLarge(too_large, detail=_("A file is larger than 10 MB."))
    refused = [
        FieldError(
            u.field,
            _(
                "“%(name)s” is not an allowed file type. Allowed: images (PNG, JPG, GIF, WebP), "
                "PDF, Word, Excel, text and ZIP.",
                name=u.filename,
            ),
        )
        for u in uploads
        if not _acceptable(u)
    ]
    if refused:
        raise FileTypeRefused(refused, detail=_("A file is not of an allowed type."))


def _acceptable(upload: Upload) -> bool:
    kind = KINDS.get(upload.extension)
    if kind is None or not upload.data:
        return False
    _served, declared_ok, looks_right = kind
    if upload.declared_type not in GENERIC_TYPES and upload.declared_type not in declared_ok:
        return False
    return bool(looks_right(upload.data))


def storage_root() -> Path:
    return get_settings().var_dir / "attachments"


def path_of(stored_name: str) -> Path:
    return path_under(storage_root(), stored_name)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("xb") as fh:  # "x": never overwrite another file
        fh.write(data)


@dataclass(frozen=True)
class OnDisk:
    """A checked upload already on disk, not yet recorded."""

    upload: Upload
    stored_name: str
    path: Path


async def write_files(uploads: list[Upload], now: datetime) -> list[OnDisk]:
    """Write checked uploads to disk, outside any transaction; on failure nothing stays behind.
    The caller records them (`record`) and calls `discard_files` if its transaction fails."""
    written: list[OnDisk] = []
    try:
        for upload in uploads:
            stored_name = f"{now:%Y}/{now:%m}/{secrets.token_hex(16)}"
            path = path_of(stored_name)
            await asyncio.to_thread(_write, path, upload.data)
            written.append(OnDisk(upload, stored_name, path))
    except BaseException:
        discard_files(written)
        raise
    return written


def discard_files(written: list[OnDisk]) -> None:
    for item in written:
        item.path.unlink(missing_ok=True)


async def record(
    actor: CurrentUser | None,
    ticket_id: int,
    written: list[OnDisk],
    *,
    now: datetime,
    activity_id: int | None = None,
    link_fields: bool = False,
) -> list[dict]:
    """The attachment rows of files `write_files` wrote, in the caller's transaction. `link_fields`
    points each `attachment` custom field at its new file (the ticket is being created with them)."""
    if not written:
        return []
    rows = [
        TicketAttachment(
            ticket=ticket_id,
            activity=activity_id,
            field_key=w.upload.field_key,
            filename=w.upload.filename,
            stored_name=w.stored_name,
            content_type=KINDS[w.upload.extension][0],
            size=len(w.upload.data),
            uploaded_by=actor.id if actor else None,
            created_at=now,
        )
        for w in written
    ]
    saved = await TicketAttachment.insert(*rows).returning(TicketAttachment.id, TicketAttachment.field_key)
    if link_fields:
        await _link_fields(ticket_id, saved)
    return saved


async def store(
    actor: CurrentUser,
    ticket_id: int,
    uploads: list[Upload],
    *,
    record_activity: bool = False,
    clock: Clock = system_clock,
) -> list[dict]:
    """Write checked uploads to disk and record them on their own (`record_activity`: with a
    timeline entry of their own). Replies and new tickets store theirs with the write itself
    (services.add_message, create_ticket)."""
    if not uploads:
        return []
    now = clock.now()
    written = await write_files(uploads, now)
    try:
        async with UnitOfWork():
            activity_id = None
            if record_activity:
                activity = await TicketActivity.insert(
                    TicketActivity(
                        ticket=ticket_id,
                        actor=actor.id,
                        kind="attachment",
                        created_at=now,
                        changes={"files": [u.filename for u in uploads]},
                    )
                ).returning(TicketActivity.id)
                activity_id = activity[0]["id"]
            saved = await record(actor, ticket_id, written, activity_id=activity_id, now=now)
    except BaseException:
        discard_files(written)
        raise
    return saved


async def _link_fields(ticket_id: int, saved: list[dict]) -> None:
    linked = {row["field_key"]: row["id"] for row in saved if row["field_key"]}
    if not linked:
        return
    current = await Ticket.select(Ticket.fields).where(Ticket.id == ticket_id).first().output(load_json=True)
    await Ticket.update({Ticket.fields: {**current["fields"], **linked}}).where(Ticket.id == ticket_id)


async def discard(saved: list[dict]) -> None:
    """Undo `store` when the change the files belonged to was refused."""
    ids = [row["id"] for row in saved]
    if not ids:
        return
    rows = await TicketAttachment.select(TicketAttachment.stored_name).where(TicketAttachment.id.is_in(ids))
    await TicketAttachment.delete().where(TicketAttachment.id.is_in(ids))
    for row in rows:
        path_of(row["stored_name"]).unlink(missing_ok=True)


async def attachments_of(ticket_id: int) -> list[dict]:
    rows = await (
        TicketAttachment.select(
            TicketAttachment.id,
            TicketAttachment.activity,
            TicketAttachment.field_key,
            TicketAttachment.filename,
            TicketAttachment.content_type,
            TicketAttachment.size,
            TicketAttachment.created_at,
            TicketAttachment.uploaded_by.display_name.as_alias("uploader_name"),
        )
        .where(TicketAttachment.ticket == ticket_id)
        .order_by(TicketAttachment.id)
    )
    for row in rows:
        row["url"] = f"/tickets/{ticket_id}/attachments/{row['id']}"
    return rows


async def open_attachment(user: CurrentUser, ticket_id: int, attachment_id: int) -> tuple[dict, Path]:
    """The row and file of one attachment, for users who may see its ticket; NotFound otherwise."""
    from app.tickets import services  # services stores files through this module

    await services.get_ticket(user, ticket_id)
    row = await (
        TicketAttachment.select(TicketAttachment.filename, TicketAttachment.content_type, TicketAttachment.stored_name)
        .where((TicketAttachment.id == attachment_id) & (TicketAttachment.ticket == ticket_id))
        .first()
    )
    if row is None:
        raise NotFound("This file does not exist.")
    path = path_of(row["stored_name"])
    if not path.is_file():
        raise NotFound("This file does not exist.")
    return row, path
