"""Reactions to domain events (subscribed in apps.ready): keep the stage history's copies of the
opportunity's owner, unit and liveness in step after transfers, deletes and restores (these
writes go through the platform's generic services)."""

from __future__ import annotations

from huoban.platform.events.bus import Event


def on_opportunity_changed(event: Event) -> None:
    from .services import sync_history

    opp_id = event.payload.get("id")
    if opp_id:
        sync_history([opp_id])


def connect() -> None:
    from huoban.platform.events.bus import subscribe

    for verb in ("transferred", "deleted", "restored"):
        subscribe(f"opportunity.{verb}", on_opportunity_changed)
