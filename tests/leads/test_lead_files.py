"""Files of a lead: the Files tab uses the shared attachments partial, and every upload — from the
tab or the API — goes through ``check_upload``, so leads refuse the same dangerous files as
customers and follow-ups (programs, scripts, web pages, empty or too big files)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from huoban.leads.models import LeadAttachment

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}

REFUSED = [
    ("page.html", b"<html><script>alert(1)</script>", "text/html", "web pages"),
    ("logo.svg", b"<svg onload=alert(1)>", "image/svg+xml", "cannot be attached"),
    ("setup.exe", b"MZ\x90\x00", "application/octet-stream", "cannot be attached"),
    ("报价.pdf", b"MZ\x90\x00binary", "application/pdf", "cannot be attached"),  # a program in disguise
    ("report.pdf.bat", b"@echo off", "application/pdf", "cannot be attached"),
    ("空.txt", b"", "text/plain", "is empty"),
]


@pytest.fixture
def web(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def _stored(settings):
    from pathlib import Path

    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_files_tab_uses_the_shared_partial_and_uploads_with_htmx(org, web, make_lead, settings):
    lead = make_lead(org.sales_rep1)
    client = web(org.sales_rep1)
    tab = client.get(f"/leads/{lead.pk}/tab/files/").content.decode()
    assert f'hx-post="/leads/{lead.pk}/attachments/"' in tab and 'name="file"' in tab
    assert "are not accepted" in tab and "They move to the customer" in tab

    r = client.post(
        f"/leads/{lead.pk}/attachments/",
        {"file": SimpleUploadedFile("需求.docx", b"PK\x03\x04", content_type="text/plain")},
        **HX,
    )
    html = r.content.decode()
    assert r.status_code == 200 and "需求.docx" in html and "hb:toast" in r["HX-Trigger"]
    att = LeadAttachment.objects.get(lead=lead)
    assert att.content_type.endswith("wordprocessingml.document")  # from the name, not the claim
    assert att.uploaded_by == org.sales_rep1
    assert f'href="/api/v1/leads/{lead.pk}/attachments/{att.pk}/"' in html and str(org.sales_rep1) in html
    r = client.get(f"/api/v1/leads/{lead.pk}/attachments/{att.pk}/")
    assert r.status_code == 200 and b"".join(r.streaming_content) == b"PK\x03\x04"

    r = client.post(f"/leads/{lead.pk}/attachments/", {"file": SimpleUploadedFile("名片.jpg", b"\xff\xd8")})
    assert r.status_code == 302 and r["Location"] == f"/leads/{lead.pk}/?tab=files"
    assert LeadAttachment.objects.filter(lead=lead).count() == 2


@pytest.mark.parametrize(("name", "body", "claimed", "says"), REFUSED)
def test_dangerous_or_empty_uploads_are_refused_at_the_file_input(
    org, web, api, make_lead, settings, name, body, claimed, says
):
    lead = make_lead(org.sales_rep1)
    client = web(org.sales_rep1)
    r = client.post(
        f"/leads/{lead.pk}/attachments/", {"file": SimpleUploadedFile(name, body, content_type=claimed)}, **HX
    )
    html = r.content.decode()
    assert r.status_code == 200 and 'id="hb-upload-error"' in html and says in html and name in html
    r = client.post(
        f"/leads/{lead.pk}/attachments/",
        {"file": SimpleUploadedFile(name, body, content_type=claimed)},
        follow=True,
    )
    assert says in r.content.decode()
    r = api(org.sales_rep1).post(
        f"/api/v1/leads/{lead.pk}/attachments/",
        {"file": SimpleUploadedFile(name, body, content_type=claimed)},
        format="multipart",
    )
    assert r.status_code == 400 and says in " ".join(r.json()["file"])
    assert not LeadAttachment.objects.exists() and _stored(settings) == []


def test_too_big_and_missing_files_are_refused(org, web, make_lead, settings, monkeypatch):
    import huoban.leads.services as services

    lead = make_lead(org.sales_rep1)
    client = web(org.sales_rep1)
    monkeypatch.setattr(services, "MAX_ATTACHMENT_BYTES", 10)
    r = client.post(
        f"/leads/{lead.pk}/attachments/", {"file": SimpleUploadedFile("big.txt", b"x" * 11)}, **HX
    )
    assert "at most" in r.content.decode() and 'id="hb-upload-error"' in r.content.decode()
    r = client.post(f"/leads/{lead.pk}/attachments/", {}, **HX)
    assert "Choose a file." in r.content.decode()
    assert not LeadAttachment.objects.exists() and _stored(settings) == []


def test_only_users_who_may_change_the_lead_get_the_upload_form(org, web, make_lead, settings):
    from huoban.platform.records.services import share_record

    lead = make_lead(org.sales_rep1)
    upload = {"file": SimpleUploadedFile("a.txt", b"a")}
    share_record(actor=org.sales_rep1, obj=lead, user=org.sales_rep2, level="read")
    rep2 = web(org.sales_rep2)
    tab = rep2.get(f"/leads/{lead.pk}/tab/files/").content.decode()
    assert 'name="file"' not in tab and "They move to the customer" in tab
    assert rep2.post(f"/leads/{lead.pk}/attachments/", upload).status_code == 404
    assert web(org.sales_rep3).post(f"/leads/{lead.pk}/attachments/", upload).status_code == 404
    assert web(org.service_agent).post(f"/leads/{lead.pk}/attachments/", upload).status_code == 403
    assert not LeadAttachment.objects.exists()
