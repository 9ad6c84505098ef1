"""Actors: every write knows who made it — a user, or a named system actor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SystemActor:
    """A named non-human actor: jobs, imports, automation, management commands."""

    name: str

    @property
    def pk(self) -> None:
        return None

    @property
    def is_authenticated(self) -> bool:
        return False

    def __str__(self) -> str:
        return f"system:{self.name}"


SYSTEM = SystemActor("system")

Actor = Any  # User | SystemActor


def actor_user(actor: Actor) -> Any:
    """The User behind an actor, or None for system actors."""
    if actor is None or isinstance(actor, SystemActor):
        return None
    return actor if getattr(actor, "is_authenticated", False) else None


def actor_name(actor: Actor) -> str:
    if actor is None:
        return "system:unknown"
    if isinstance(actor, SystemActor):
        return str(actor)
    return getattr(actor, "username", None) or str(actor)
