"""Background job handlers of the customers app (the job framework runs and retries them)."""

from __future__ import annotations

from typing import Any

from huoban.platform.jobs.services import job_handler


@job_handler("customers.duplicate_scan", max_retries=1)
def duplicate_scan_job(job: Any, progress: Any) -> dict[str, Any]:
    from .duplicates import duplicate_scan_contacts, duplicate_scan_customers

    kinds = (job.params or {}).get("object_types") or ["customer", "contact"]
    result: dict[str, Any] = {}
    if "customer" in kinds:
        result["customer"] = duplicate_scan_customers(progress=lambda pct, msg="": progress(pct * 0.9, msg))
    if "contact" in kinds:
        result["contact"] = duplicate_scan_contacts()
    progress(100, "done", force=True)
    return result


@job_handler("customers.pool_release", max_retries=1)
def pool_release_job(job: Any, progress: Any) -> dict[str, Any]:
    from .pools import pool_release_stale

    released = pool_release_stale()
    return {"released": {str(k): v for k, v in released.items()}}
