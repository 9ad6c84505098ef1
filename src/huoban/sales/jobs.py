"""Background job handlers of the sales app."""

from __future__ import annotations

from typing import Any

from huoban.platform.jobs.services import job_handler


@job_handler("sales.reports")
def generate_reports(job: Any, progress: Any) -> dict[str, Any]:
    """Generate the periodic sales reports (``params["kind"]``: weekly | monthly)."""
    from .periodic import generate_sales_reports

    return generate_sales_reports(kind=job.params.get("kind", "weekly"))
