"""Leads through the import framework (platform/transfer): rows go through lead_create, so the
same validation, scoring and assignment rules apply; region names become codes."""

from __future__ import annotations

import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile

from huoban.leads.models import Lead


def _csv(rows):
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return SimpleUploadedFile("leads.csv", buf.getvalue().encode("utf-8"), content_type="text/csv")


def test_import_leads_csv(org):
    from huoban.leads.services import assignment_rule_save
    from huoban.platform.transfer.services import import_create

    assignment_rule_save(
        actor=org.admin,
        rule=None,
        data={"name": "Jiangsu", "conditions": {"region": ["江苏"]}, "assign_to_user": org.sales_rep2},
    )
    data = _csv(
        [
            ["姓名", "公司", "手机", "地区", "紧急程度", "需求"],
            ["王一", "南京甲软件有限公司", "138 0013 8001", "江苏", "高", "CRM"],
            ["李二", "杭州乙科技有限公司", "13900139002", "浙江省", "低", ""],
        ]
    )
    run = import_create(actor=org.marketing, object_type="lead", file=data)
    run.refresh_from_db()
    assert run.status == "done", run.error
    assert run.counts["created"] == 2, run.counts
    a = Lead.objects.unrestricted().get(name="王一")
    b = Lead.objects.unrestricted().get(name="李二")
    assert (a.region, a.urgency, a.source, a.phone) == ("320000", "high", "import", "+8613800138001")
    assert a.owner == org.sales_rep2  # the assignment rule ran
    assert b.owner == org.marketing and b.number.startswith("LEAD")
