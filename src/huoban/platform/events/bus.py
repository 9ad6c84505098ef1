"""Domain events: queued per transaction, dispatched after commit.

Handlers are registered by apps (``subscribe("customer.created", handler)``); a failing handler is
logged and never breaks the write that emitted the event. Automation, notifications and webhooks
hang off this bus.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

log = logging.getLogger("huoban.events")


@dataclass
class Event:
    name: str  # "<object_type>.<verb>", e.g. "customer.created"
    payload: dict[str, Any] = field(default_factory=dict)
    actor: Any = None


Handler = Callable[[Event], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(name: str, handler: Handler) -> None:
    """Subscribe to one event name, or "*" for all events."""
    if handler not in _handlers[name]:
        _handlers[name].append(handler)


def unsubscribe(name: str, handler: Handler) -> None:
    if handler in _handlers.get(name, []):
        _handlers[name].remove(handler)


def _dispatch(event: Event) -> None:
    for handler in [*_handlers.get(event.name, []), *_handlers.get("*", [])]:
        try:
            handler(event)
        except Exception:  # a reaction must never break the write
            log.exception("event handler %r failed for %s", handler, event.name)


def after_commit(fn: Callable[[], Any]) -> None:
    """Run ``fn`` after the current transaction commits (at once in tests: see settings)."""
    from django.conf import settings

    if getattr(settings, "RUN_ON_COMMIT_IMMEDIATELY", False):
        fn()
    else:
        transaction.on_commit(fn)


def emit(name: str, *, actor: Any = None, **payload: Any) -> None:
    event = Event(name=name, payload=payload, actor=actor)
    after_commit(lambda: _dispatch(event))
