"""Discovery of per-app modules: every installed Huoban app may provide ``api``, ``urls``,
``demo``, ``importers`` … modules; nothing central lists them."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType

from django.apps import apps


def app_modules(name: str) -> Iterator[ModuleType]:
    """``<app>.<name>`` of every installed Huoban app that has one, in INSTALLED_APPS order.
    An import error inside an existing module is raised, never skipped."""
    for config in apps.get_app_configs():
        if not config.name.startswith("huoban."):
            continue
        full = f"{config.name}.{name}"
        try:
            module = importlib.import_module(full)
        except ModuleNotFoundError as exc:
            if exc.name != full:
                raise
            continue
        yield module
