"""Background tasks of the ui app: keeping the global search index current for bulk events."""

from __future__ import annotations

from huey.contrib.djhuey import db_task


@db_task(retries=3, retry_delay=30)
def search_index(object_type: str, ids: list[int]) -> None:
    """Re-index one chunk of the records a bulk event named (safe to retry: it reads what is
    stored when it runs)."""
    from huoban.platform.access import registry

    from .search import index_records

    ot = registry.find(object_type)
    if ot is not None:
        index_records(ot, ids)
