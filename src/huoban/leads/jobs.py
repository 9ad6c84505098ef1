"""Background job handlers of the leads app (run by the platform job framework)."""

from __future__ import annotations

from typing import Any

from huoban.platform.jobs.services import job_handler


@job_handler("leads.rescore_all")
def rescore_all(job: Any, progress: Any) -> dict[str, Any]:
    from .scoring import rescore_all as run

    return {"changed": run()}


@job_handler("leads.assign")
def assign(job: Any, progress: Any) -> dict[str, Any]:
    """Re-run the assignment rules on many leads (``params["ids"]``) in batches."""
    from huoban.platform.identity.actors import SystemActor
    from huoban.platform.identity.models import User

    from .models import Lead
    from .services import lead_assign

    ids = list(job.params.get("ids") or [])
    actor = User.objects.filter(pk=job.actor_id).first() or SystemActor("assign")
    changed = 0
    for i in range(0, len(ids), 200):
        chunk = list(Lead.objects.unrestricted().filter(pk__in=ids[i : i + 200]))
        changed += sum(1 for r in lead_assign(actor=actor, leads=chunk) if r["changed"])
        progress(100 * (i + len(chunk)) / max(len(ids), 1))
    return {"changed": changed, "total": len(ids)}
