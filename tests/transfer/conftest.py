"""Fixtures for import/export tests: files in a temporary media folder, CSV/XLSX builders."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    yield


def csv_bytes(rows, encoding="utf-8", delimiter=","):
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    for r in rows:
        w.writerow(r)
    return buf.getvalue().encode(encoding)


def xlsx_bytes(rows, sheet="Sheet1", extra_sheets=()):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    for r in rows:
        ws.append(r)
    for name, srows in extra_sheets:
        s = wb.create_sheet(name)
        for r in srows:
            s.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def upload(name, data):
    return SimpleUploadedFile(name, data)


@pytest.fixture
def industries(db):
    """GB/T 4754 industries (loaded by the customers app after migrate); "C" is 制造业."""
    from huoban.platform.records.models import Picklist
    from huoban.platform.records.picklists import load_picklists

    if not Picklist.objects.filter(key="industry").exists():
        load_picklists()
    return Picklist.objects.get(key="industry")


def run_import(user, data, name="c.csv", **kw):
    """Upload + run synchronously (jobs run eagerly in tests); returns the refreshed run."""
    from huoban.platform.transfer.services import import_create

    if isinstance(data, list):
        data = csv_bytes(data)
    run = import_create(
        actor=user, object_type=kw.pop("object_type", "customer"), file=upload(name, data), **kw
    )
    run.refresh_from_db()
    return run


def issues(run, kind="rejected"):
    from huoban.platform.transfer.models import ImportRowIssue

    return list(
        ImportRowIssue.objects.filter(run=run, kind=kind).order_by("row").values_list("row", "errors")
    )


def conserved(run):
    c = run.counts
    return c["created"] + c["updated"] + c["skipped"] + c["rejected"] == c["read"]
