"""Files of a record in the web UI, shared by every Files tab (customers, follow-ups, leads …):
the context of ``ui/partials/attachments.html``, the answer to an upload posted from it, and the
download response. The domain app keeps its model, services (which check the upload with
``records.uploads.check_upload``), permission checks and URLs; see docs/ui.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from huoban.platform.errors import DomainError, error_text


def attachments_context(
    obj: Any,
    rows: Iterable[Any],
    *,
    base: str,
    can_change: bool,
    max_bytes: int,
    upload_error: str = "",
    deletable: Callable[[Any], bool] | None = None,
    note: Callable[[Any], tuple[str, str]] | None = None,
    url: Callable[[Any], str] | None = None,
) -> dict[str, Any]:
    """The context of ``ui/partials/attachments.html`` for attachment ``rows`` (``name``,
    ``size``, ``uploaded_by``, ``uploaded_at``) of ``obj``: uploads post to ``base`` when
    ``can_change``; each file downloads from ``url(att)`` (default ``<base><id>/``) and, when
    ``can_change`` and ``deletable(att)``, is deleted by a POST to
    ``<base><id>/delete/``; ``note(att) -> (text, url)`` adds a line such as the follow-up the
    file belongs to."""
    files = []
    for a in rows:
        text, note_url = note(a) if note is not None else ("", "")
        files.append(
            {
                "name": a.name,
                "size": a.size,
                "uploaded_by": a.uploaded_by,
                "uploaded_at": a.uploaded_at,
                "url": url(a) if url is not None else f"{base}{a.pk}/",
                "delete_url": f"{base}{a.pk}/delete/"
                if can_change and (deletable is None or deletable(a))
                else "",
                "note": text,
                "note_url": note_url,
            }
        )
    return {
        "obj": obj,
        "files": files,
        "upload_url": base if can_change else "",
        "upload_error": upload_error,
        "max_mb": max_bytes // (1024 * 1024),
        "empty_text": _("No files yet.") if can_change else _("No files."),
    }


def upload_response(
    request: HttpRequest,
    *,
    add: Callable[[Any], Any],
    context: Callable[[str], dict[str, Any]],
    template: str,
    back: str,
) -> HttpResponse:
    """Store the posted ``file`` with ``add(file)`` (a service; ``ValidationError`` refuses it).
    From a Files tab (HTMX) the answer is the tab again — ``template`` rendered with
    ``context(upload_error)`` — with a refusal at the file input, or a toast; a plain form post
    is redirected to ``back`` with a message."""
    from .record_views import hx_toast

    htmx = bool(request.headers.get("HX-Request"))

    def tab(error: str = "") -> HttpResponse:
        return HttpResponse(render_to_string(template, context(error), request=request))

    try:
        att = add(request.FILES.get("file"))
    except DomainError as exc:  # refused file, or the record gone or out of reach meanwhile
        error = error_text(exc)
        if htmx:
            return tab(error)
        messages.error(request, error)
        return redirect(back)
    done = _("File “%(name)s” uploaded.") % {"name": att.name}
    if htmx:
        return hx_toast(tab(), done)
    messages.success(request, done)
    return redirect(back)


def file_response(att: Any) -> FileResponse:
    """The stored bytes of an attachment row (``file``, ``name``, ``content_type``) as a download
    — never shown inline — with the type stored at upload; missing bytes are a 404."""
    try:
        handle = att.file.open("rb")
    except (FileNotFoundError, OSError, ValueError):
        raise Http404 from None
    return FileResponse(
        handle,
        as_attachment=True,
        filename=att.name,
        content_type=att.content_type or "application/octet-stream",
    )
