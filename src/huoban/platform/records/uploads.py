"""Checks for an uploaded file before any record keeps it (attachments of customers, follow-ups,
leads …): one place for the size limit, the stored name and the allowed types.

``check_upload(file, max_bytes=…) -> Upload(name, size, content_type)`` or ``ValidationError``
with a ``file`` message in the active language. The content type is taken from the file name
(``mimetypes``), never from the browser's claim; programs, scripts and active web content
(HTML, SVG, JavaScript) are refused by extension, by the claimed type and by their first bytes,
so a stored file can never run in the browser or on a colleague's computer when downloaded.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from huoban.platform.errors import ValidationError

DEFAULT_MAX_BYTES = 20 * 1024 * 1024

BLOCKED_EXTENSIONS = frozenset(
    {
        # programs and installers
        "exe", "dll", "com", "scr", "msi", "msp", "msix", "appx", "app", "apk", "ipa", "deb", "rpm",
        "dmg", "pkg", "jar", "class", "elf", "bin", "cpl", "sys", "drv", "ocx", "lnk", "url", "reg",
        # scripts
        "bat", "cmd", "ps1", "psm1", "psd1", "vbs", "vbe", "js", "jse", "mjs", "wsf", "wsh", "wsc",
        "hta", "sh", "bash", "zsh", "csh", "ksh", "command", "php", "phtml", "asp", "aspx", "jsp",
        "cgi", "pl", "py", "pyc", "rb",
        # active web content
        "html", "htm", "xhtml", "shtml", "mht", "mhtml", "svg", "svgz", "xsl", "xslt",
    }
)  # fmt: skip

BLOCKED_TYPES = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "text/javascript",
        "application/javascript",
        "application/x-javascript",
        "application/ecmascript",
        "application/x-msdownload",
        "application/x-msdos-program",
        "application/x-ms-installer",
        "application/x-msi",
        "application/x-dosexec",
        "application/x-executable",
        "application/x-elf",
        "application/x-sh",
        "application/x-shellscript",
        "text/x-shellscript",
        "application/java-archive",
        "application/vnd.android.package-archive",
        "application/hta",
        "application/x-php",
    }
)

# the first bytes of programs and of markup a browser would run
_EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe")
_MARKUP = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?<(?:!doctype\s+html|html|svg|script|body|head|iframe)\b", re.I
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

NAME_LENGTH = 200


@dataclass(frozen=True)
class Upload:
    name: str
    size: int
    content_type: str


def clean_filename(raw: Any, limit: int = NAME_LENGTH) -> str:
    """The last path segment, without control characters, at most ``limit`` characters (the
    extension is kept when shortening); ``file`` when nothing is left."""
    text = unicodedata.normalize("NFC", str(raw or ""))
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = _CONTROL.sub("", text).strip().strip(".").strip()
    if not text:
        return "file"
    if len(text) > limit:
        stem, dot, ext = text.rpartition(".")
        if dot and 0 < len(ext) <= 16 and stem:
            text = stem[: limit - len(ext) - 1] + "." + ext
        else:
            text = text[:limit]
    return text


def _extensions(name: str) -> list[str]:
    """Every dotted part after the first: ``report.pdf.exe`` → ``["pdf", "exe"]``."""
    return [p.lower() for p in name.split(".")[1:] if p]


def _head(file: Any, n: int = 512) -> bytes:
    try:
        pos = file.tell()
    except (AttributeError, OSError):
        pos = None
    try:
        if pos is not None:
            file.seek(0)
        data = file.read(n)
    except (AttributeError, OSError):
        return b""
    finally:
        try:
            file.seek(pos or 0)
        except (AttributeError, OSError):
            pass
    return data if isinstance(data, bytes) else str(data).encode("utf-8", "ignore")


def check_upload(file: Any, *, name: str = "", max_bytes: int = DEFAULT_MAX_BYTES) -> Upload:
    """Validate an uploaded file (Django ``UploadedFile`` or any file-like object with ``size``
    and ``name``); ``ValidationError({"file": [...]})`` when it may not be kept."""
    if file is None:
        raise ValidationError({"file": [_("Choose a file.")]})
    size = int(getattr(file, "size", 0) or 0)
    filename = clean_filename(name or getattr(file, "name", ""))
    if size <= 0:
        raise ValidationError({"file": [_("The file “%(name)s” is empty.") % {"name": filename}]})
    if size > max_bytes:
        raise ValidationError(
            {
                "file": [
                    _("A file may have at most %(mb)s MB; “%(name)s” has %(size)s MB.")
                    % {
                        "mb": f"{max_bytes / 1024 / 1024:g}",
                        "name": filename,
                        "size": f"{size / 1024 / 1024:.1f}",
                    }
                ]
            }
        )
    claimed = str(getattr(file, "content_type", "") or "").split(";")[0].strip().lower()
    head = _head(file)
    if (
        any(ext in BLOCKED_EXTENSIONS for ext in _extensions(filename))
        or claimed in BLOCKED_TYPES
        or head.startswith(_EXECUTABLE_MAGIC)
        or _MARKUP.match(head)
    ):
        raise ValidationError(
            {
                "file": [
                    _(
                        "“%(name)s” cannot be attached: programs, scripts and web pages (HTML, SVG) "
                        "are not accepted."
                    )
                    % {"name": filename}
                ]
            }
        )
    guessed = mimetypes.guess_type(filename, strict=False)[0] or "application/octet-stream"
    return Upload(name=filename, size=size, content_type=guessed[:120])


# Stored attachment bytes live under this folder (customers: ``attachments/YYYY/MM/``, leads:
# ``attachments/leads/YYYY/MM/`` …); import and export files live elsewhere and are never released here.
ATTACHMENT_ROOT = re.compile(r"^attachments/(?:[a-z_]+/)?\d{4}/\d{2}/")


def stored_file_in_use(name: str) -> bool:
    """Whether any row of any model still points at the stored file ``name`` (a converted lead's
    file is shared by the lead and the customer's attachment rows)."""
    from django.apps import apps
    from django.db import models

    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if (
                isinstance(field, models.FileField)
                and model._base_manager.filter(**{field.name: name}).exists()
            ):
                return True
    return False


def release_stored_file(field_file: Any) -> None:
    """Call inside the transaction that deleted an attachment row: once it commits, the bytes are
    removed unless another row (of any module) still refers to them."""
    from django.db import transaction

    stored = getattr(field_file, "name", "") or ""
    storage = field_file.storage
    if not stored or not ATTACHMENT_ROOT.match(stored):
        return

    def remove() -> None:
        if not stored_file_in_use(stored):
            storage.delete(stored)

    transaction.on_commit(remove)
