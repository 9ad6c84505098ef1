"""One service for every module to tell a user something: inbox item + optional email."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone, translation

from .models import Notification


def notify(
    *,
    recipient: Any,
    verb: str,
    title: str,
    title_args: dict[str, Any] | None = None,
    body: str = "",
    url: str = "",
    data: dict[str, Any] | None = None,
    email: bool = False,
) -> Notification | None:
    """Create an inbox notification; ``title`` is a message id (mark it with gettext_noop)."""
    if recipient is None or not getattr(recipient, "is_active", False):
        return None
    n = Notification.objects.create(
        recipient=recipient,
        verb=verb,
        title=title,
        title_args=title_args or {},
        body=body,
        url=url,
        data=data or {},
    )
    if email and recipient.email:
        from huoban.platform.events.bus import after_commit

        from .tasks import deliver_notification_email

        after_commit(lambda: deliver_notification_email(n.pk))
    return n


def deliver_email(notification_id: int) -> bool:
    """Send one notification by email in the recipient's language (once; called by the task)."""
    n = Notification.objects.select_related("recipient").filter(pk=notification_id).first()
    if n is None or n.emailed_at is not None:
        return False
    with translation.override(n.recipient.reading_language()):
        subject = n.rendered_title()
        body = n.body + (f"\n\n{n.url}" if n.url else "")
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [n.recipient.email], fail_silently=False)
    Notification.objects.filter(pk=n.pk).update(emailed_at=timezone.now())
    return True


def mark_read(*, user: Any, ids: list[int] | None = None) -> int:
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())


def unread_count(user: Any) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
