"""The global search index: one row per (record, token).

Imported at the end of ``platform/ui/models.py`` so the table belongs to the ``ui`` app. The
tokens and the way they are queried are described in ``huoban.platform.ui.search``.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models.signals import post_migrate

from huoban.platform.events.bus import Event, subscribe

TOKEN_MAX = 32  # column width (characters); tokens are cut to search.TOKEN_CHARS


class SearchEntry(models.Model):
    """A search token of one business record, with the record's owner and owner unit.

    Plain integer columns (no foreign keys): the index is derived data, rebuilt by
    ``huoban search-reindex``, and must never block a delete.
    """

    object_type = models.CharField(max_length=60)
    object_id = models.BigIntegerField()
    owner_id = models.BigIntegerField(null=True, blank=True)
    owner_unit_id = models.BigIntegerField(null=True, blank=True)
    token = models.CharField(max_length=TOKEN_MAX)

    class Meta:
        app_label = "ui"
        indexes = [
            # The search: a range scan on token within one object type; the owner columns make
            # the data-scope filter index-only, object_id makes the whole lookup index-only.
            models.Index(
                fields=["object_type", "token", "owner_id", "owner_unit_id", "object_id"],
                name="ui_search_token",
            ),
            # Data scopes: range scans within the user's own records / within one owner unit.
            models.Index(fields=["object_type", "owner_id", "token", "object_id"], name="ui_search_owner"),
            models.Index(
                fields=["object_type", "owner_unit_id", "token", "object_id"], name="ui_search_unit"
            ),
            # Maintenance (re-index one record) and the AND of several query terms.
            models.Index(fields=["object_type", "object_id", "token"], name="ui_search_object"),
        ]

    def __str__(self) -> str:
        return f"{self.object_type}#{self.object_id}: {self.token}"


def _on_event(event: Event) -> None:
    from . import search

    search.handle_event(event)


subscribe("*", _on_event)


def ensure_binary_collation(using: str = "default", **_: Any) -> None:
    """PostgreSQL: the token column must compare byte-wise (``COLLATE "C"``) so that the range
    ``term <= token < term || U+10FFFF`` is exactly "starts with term" and uses the B-tree index.
    SQLite compares byte-wise already. Done after every migrate (a no-op once set), so it does
    not depend on the ui app's migration numbering."""
    from django.db import connections

    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    table = SearchEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT collation_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s AND column_name = 'token'",
            [table],
        )
        row = cursor.fetchone()
        if row is None or row[0] == "C":
            return
        cursor.execute(f'ALTER TABLE {table} ALTER COLUMN token TYPE varchar({TOKEN_MAX}) COLLATE "C"')


def _post_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    if getattr(sender, "label", "") == "ui":
        ensure_binary_collation(using)


post_migrate.connect(_post_migrate, dispatch_uid="huoban.ui.search_collation")
