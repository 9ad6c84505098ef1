"""The report page's spot check: values as users read them (labels, not codes), paged."""

from __future__ import annotations

import re

import pytest

from huoban.platform.transfer.models import ImportSample

from .conftest import run_import

pytestmark = pytest.mark.django_db


def _import(org, industries, n=400):
    rows = [["客户名称", "手机", "所属行业"]] + [[f"公司{i}", f"138{i:08d}", "制造业"] for i in range(n)]
    run = run_import(org.admin, rows)
    assert run.counts["created"] == n
    return run


def test_spot_check_shows_labels_and_pages_the_sample(org, industries, client):
    run = _import(org, industries)
    total = ImportSample.objects.filter(run=run).count()
    assert total > 25  # about one row in ten of 400
    client.force_login(org.admin)
    html = client.get(f"/imports/{run.pk}/").content.decode()
    assert html.count('class="border-top"') == 25  # one page of sampled rows
    assert "制造业" in html and ">C<" not in html  # the industry's label, not its code
    assert "Industry" in html  # field labels as shown elsewhere
    assert f"Sampled rows 1–25 of {total}" in html
    assert "?page=2" in html
    last_page = -(-total // 25)
    html = client.get(f"/imports/{run.pk}/?page={last_page}").content.decode()
    assert html.count('class="border-top"') == total - 25 * (last_page - 1)
    assert f"?page={last_page - 1}" in html
    for bad in ("abc", "0", "999", "100000000000000000000"):  # never a 500, never an empty card
        html = client.get(f"/imports/{run.pk}/?page={bad}").content.decode()
        assert html.count('class="border-top"') > 0


def test_report_api_pages_the_sample_with_labels_in_the_readers_language(org, industries, api):
    run = _import(org, industries)
    rep = api(org.admin).get(f"/api/v1/imports/{run.pk}/report/?sample_offset=10").json()
    total = rep["sample_total"]
    assert rep["sample_offset"] == 10 and len(rep["sample"]) == total - 10
    rows = [s["row"] for s in rep["sample"]]
    client = api(org.admin)
    huge = client.get(f"/api/v1/imports/{run.pk}/report/?sample_offset=100000000000000000000")
    assert huge.status_code == 200 and huge.json()["sample"] == []
    bad = client.get(f"/api/v1/imports/{run.pk}/report/?sample_offset=x")
    assert bad.status_code == 400 and "sample_offset" in bad.json()
    assert rows == sorted(rows)
    industry = next(c for c in rep["sample"][0]["columns"] if c["field"] == "industry")
    assert industry["source"] == "制造业" and industry["value"] == "Manufacturing"


def test_zh_page_translates_the_sample_pager(org, industries, client):
    run = _import(org, industries)
    client.force_login(org.admin)
    html = client.get(f"/imports/{run.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert re.search(r"抽样行 1–25，共 \d+ 行", html)
