"""Reactions to domain events (subscribed in apps.ready): rescoring, activities, auto-conversion.

* ``lead.updated`` / ``lead.activity`` → recalculate the lead's score.
* ``follow_up.created`` (customers app) with outcome "won"/"成交" → the open leads matched to that
  customer are converted (linked to it). Follow-ups logged on a lead itself
  (``lead_add_follow_up``) with result "won" convert that lead directly.
* Any other event whose payload names a lead (``lead=<id>`` or ``lead_id=<id>``), e.g. a marketing
  ``email.opened`` → logged as activity ``<event name with "." replaced by "_">`` (scoring input).
"""

from __future__ import annotations

import logging
from typing import Any

from huoban.platform.events.bus import Event
from huoban.platform.identity.actors import SystemActor

from . import integration

log = logging.getLogger("huoban.leads")


def _lead(lead_id: Any) -> Any:
    from .models import Lead

    if lead_id in (None, ""):
        return None
    return Lead.objects.unrestricted().filter(pk=lead_id, deleted_at__isnull=True).first()


def on_lead_changed(event: Event) -> None:
    from .scoring import rescore

    lead_id = event.payload.get("id")
    if lead_id:
        rescore([lead_id])


def on_follow_up(event: Event) -> None:
    """A customer follow-up with outcome "won"/"成交" converts the open leads matched to that
    customer (they become part of it: the customer is linked, a contact is created)."""
    from .models import OPEN_STATUSES, Lead
    from .services import lead_convert

    info = integration.follow_up_info(event.payload.get("id"))
    if not info or not info.get("customer_id") or not integration.is_won(info.get("outcome")):
        return
    actor = event.actor or SystemActor("follow_up")
    customer = integration.alive_customer(info["customer_id"])
    if customer is None:
        return
    leads = Lead.objects.unrestricted().filter(
        matched_customer_id=customer.pk, status__in=OPEN_STATUSES, deleted_at__isnull=True
    )
    for lead in leads[:20]:
        lead_convert(actor=actor, lead=lead, customer=customer)


def on_any(event: Event) -> None:
    if event.name.startswith("lead.") or event.name in integration.FOLLOW_UP_EVENTS:
        return
    lead_id = event.payload.get("lead") or event.payload.get("lead_id")
    if not lead_id or not str(lead_id).isdigit():
        return
    lead = _lead(int(lead_id))
    if lead is None:
        return
    from .services import lead_record_activity

    lead_record_activity(
        actor=event.actor or SystemActor("events"),
        lead=lead,
        event=event.name.replace(".", "_")[:60],
        data={k: v for k, v in event.payload.items() if isinstance(v, str | int | float | bool)},
    )


def connect() -> None:
    from huoban.platform.events.bus import subscribe

    subscribe("lead.updated", on_lead_changed)
    subscribe("lead.activity", on_lead_changed)
    for name in integration.FOLLOW_UP_EVENTS:
        subscribe(name, on_follow_up)
    subscribe("*", on_any)
