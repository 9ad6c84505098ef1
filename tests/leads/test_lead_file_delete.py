"""Deleting a lead's files, from the outside: the Files tab's delete button and the API's
``DELETE /api/v1/leads/{id}/attachments/{attachment_id}/`` both go through
``leads.services.lead_attachment_delete`` — only users who may change the lead (per preset role),
audited on the lead, the stored bytes removed after commit unless another row (a customer's file
linked on conversion, or another lead row) still points at them."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from huoban.customers.models import Attachment
from huoban.leads.models import LeadAttachment
from huoban.platform.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(client):
    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def media(settings):
    from pathlib import Path

    return Path(settings.MEDIA_ROOT)  # a fresh folder per test (tests/leads/conftest.py)


def _with_file(org, lead, name="需求说明.txt", body=b"requirements"):
    from huoban.leads.services import lead_add_attachment

    return lead_add_attachment(
        actor=org.sales_rep1, lead=lead, file=SimpleUploadedFile(name, body, content_type="text/plain")
    )


def _file_audit(lead):
    return [
        (e.changes["attachments"], e.actor_id, (e.data or {}).get("attachment_id"))
        for e in AuditEvent.objects.filter(object_type="lead", object_id=str(lead.pk)).order_by("seq")
        if "attachments" in (e.changes or {})
    ]


def _delete_url(lead, att):
    return f"/leads/{lead.pk}/attachments/{att.pk}/delete/"


def _api_url(lead, att):
    return f"/api/v1/leads/{lead.pk}/attachments/{att.pk}/"


# --- the Files tab --------------------------------------------------------------------------------


def test_files_tab_offers_delete_and_deleting_removes_row_bytes_and_audits(
    org, web, make_lead, media, django_capture_on_commit_callbacks
):
    lead = make_lead(org.sales_rep1)
    att = _with_file(org, lead)
    stored = media / att.file.name
    assert stored.exists()
    client = web(org.sales_rep1)
    tab = client.get(f"/leads/{lead.pk}/tab/files/").content.decode()
    assert f'action="{_delete_url(lead, att)}"' in tab and "data-hb-confirm" in tab
    assert "Delete the file “需求说明.txt”?" in tab

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        r = client.post(_delete_url(lead, att))
        assert stored.exists()  # the bytes go only after commit
    assert r.status_code == 302 and r["Location"] == f"/leads/{lead.pk}/?tab=files"
    assert len(callbacks) >= 1
    assert not LeadAttachment.objects.filter(pk=att.pk).exists() and not stored.exists()
    assert _file_audit(lead) == [(["需求说明.txt", None], org.sales_rep1.pk, att.pk)]
    page = client.get(r["Location"]).content.decode()
    assert "File “需求说明.txt” deleted." in page
    tab = client.get(f"/leads/{lead.pk}/tab/files/").content.decode()
    assert "需求说明.txt" not in tab and "/delete/" not in tab


def test_the_confirmation_and_message_read_in_chinese(org, web, make_lead, media):
    lead = make_lead(org.sales_rep1)
    att = _with_file(org, lead)
    client = web(org.sales_rep1)
    tab = client.get(f"/leads/{lead.pk}/tab/files/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "删除文件“需求说明.txt”？" in tab
    r = client.post(_delete_url(lead, att), HTTP_ACCEPT_LANGUAGE="zh-hans", follow=True)
    assert "文件“需求说明.txt”已删除。" in r.content.decode()


def test_a_file_is_reached_only_through_its_own_lead(org, web, make_lead, media):
    lead = make_lead(org.sales_rep1)
    other = make_lead(org.sales_rep1)
    att = _with_file(org, lead)
    client = web(org.sales_rep1)
    assert client.post(f"/leads/{other.pk}/attachments/{att.pk}/delete/").status_code == 404
    assert client.post(f"/leads/{lead.pk}/attachments/999999/delete/").status_code == 404
    assert client.get(_delete_url(lead, att)).status_code == 405  # POST only
    assert LeadAttachment.objects.filter(pk=att.pk).exists()


# --- permissions per preset role (UI) -------------------------------------------------------------


@pytest.mark.parametrize("username", ["sales_rep1", "sales_manager", "marketing", "admin"])
def test_who_may_change_the_lead_sees_the_button_and_deletes(org, web, make_lead, media, username):
    lead = make_lead(org.sales_rep1)
    att = _with_file(org, lead)
    client = web(getattr(org, username))
    tab = client.get(f"/leads/{lead.pk}/tab/files/").content.decode()
    assert f'action="{_delete_url(lead, att)}"' in tab
    assert client.post(_delete_url(lead, att)).status_code == 302
    assert not LeadAttachment.objects.filter(pk=att.pk).exists()
    assert _file_audit(lead)[-1][1] == getattr(org, username).pk


@pytest.mark.parametrize("username", ["sales_rep2", "sales_rep3", "sales_manager_north"])
def test_colleagues_outside_the_scope_get_not_found(org, web, make_lead, media, username):
    lead = make_lead(org.sales_rep1)
    att = _with_file(org, lead)
    assert web(getattr(org, username)).post(_delete_url(lead, att)).status_code == 404
    assert LeadAttachment.objects.filter(pk=att.pk).exists() and _file_audit(lead) == []


@pytest.mark.parametrize("username", ["service_agent", "finance"])
def test_roles_without_change_permission_are_refused(org, web, make_lead, media, username):
    lead = make_lead(org.sales_rep1)
    att = _with_file(org, lead)
    assert web(getattr(org, username)).post(_delete_url(lead, att)).status_code == 403
    assert LeadAttachment.objects.filter(pk=att.pk).exists()


def test_read_only_share_sees_the_file_but_no_delete_button_and_gets_not_found(org, web, make_lead, media):
    from huoban.platform.records.services import share_record

    lead = make_lead(org.sales_rep1)
    att = _with_file(org, lead)
    share_record(actor=org.sales_rep1, obj=lead, user=org.sales_rep2, level="read")
    client = web(org.sales_rep2)
    tab = client.get(f"/leads/{lead.pk}/tab/files/").content.decode()
    assert "需求说明.txt" in tab and "/delete/" not in tab
    assert client.post(_delete_url(lead, att)).status_code == 404
    assert LeadAttachment.objects.filter(pk=att.pk).exists()


def test_edit_share_may_delete(org, web, make_lead, media):
    from huoban.platform.records.services import share_record

    lead = make_lead(org.sales_rep1)
    att = _with_file(org, lead)
    share_record(actor=org.sales_rep1, obj=lead, user=org.sales_rep2, level="edit")
    assert web(org.sales_rep2).post(_delete_url(lead, att)).status_code == 302
    assert not LeadAttachment.objects.filter(pk=att.pk).exists()


# --- the API --------------------------------------------------------------------------------------


def test_api_delete_returns_204_then_404_and_is_in_the_schema(
    org, api, make_lead, media, django_capture_on_commit_callbacks
):
    lead = make_lead(org.sales_rep1)
    att = _with_file(org, lead, "报价.pdf", b"%PDF-1.4 quote")
    keep = _with_file(org, lead, "名片.jpg", b"\xff\xd8jpg")
    client = api(org.sales_rep1)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.delete(_api_url(lead, att))
    assert r.status_code == 204 and r.content == b""
    assert not (media / att.file.name).exists() and (media / keep.file.name).exists()
    listed = client.get(f"/api/v1/leads/{lead.pk}/attachments/").json()["results"]
    assert [a["name"] for a in listed] == ["名片.jpg"]
    r = client.delete(_api_url(lead, att))
    assert r.status_code == 404 and r["Content-Type"].startswith("application/json")
    history = client.get(f"/api/v1/leads/{lead.pk}/history/").json()["results"]
    assert any(e["changes"].get("attachments") == ["报价.pdf", None] for e in history)

    schema = client.get("/api/schema/?format=json").json()
    op = schema["paths"]["/api/v1/leads/{id}/attachments/{attachment_id}/"]["delete"]
    assert "204" in op["responses"] and op["operationId"] == "leads_attachments_destroy"


def test_api_other_leads_file_is_not_found(org, api, make_lead, media):
    lead = make_lead(org.sales_rep1)
    other = make_lead(org.sales_rep1)
    att = _with_file(org, lead)
    r = api(org.sales_rep1).delete(f"/api/v1/leads/{other.pk}/attachments/{att.pk}/")
    assert r.status_code == 404 and LeadAttachment.objects.filter(pk=att.pk).exists()


API_EXPECTED = {
    "sales_rep1": 204,  # the owner
    "sales_manager": 204,  # unit tree
    "marketing": 204,  # leads of everyone
    "admin": 204,
    "sales_rep2": 404,  # colleague: out of scope, not probeable
    "sales_rep3": 404,
    "sales_manager_north": 404,
    "service_agent": 403,  # no lead permission at all
    "finance": 403,
}


@pytest.mark.parametrize(("username", "expected"), API_EXPECTED.items())
def test_api_delete_per_preset_role(org, api, make_lead, media, username, expected):
    lead = make_lead(org.sales_rep1)
    att = _with_file(org, lead)
    r = api(getattr(org, username)).delete(_api_url(lead, att))
    assert r.status_code == expected, r.content
    assert LeadAttachment.objects.filter(pk=att.pk).exists() is (expected != 204)
    assert len(_file_audit(lead)) == (1 if expected == 204 else 0)
    if expected != 204:
        assert r["Content-Type"].startswith("application/json")


def test_api_read_only_share_is_forbidden_edit_share_may(org, api, make_lead, media):
    from huoban.platform.records.services import share_record

    lead = make_lead(org.sales_rep1)
    att = _with_file(org, lead)
    share_record(actor=org.sales_rep1, obj=lead, user=org.sales_rep2, level="read")
    client = api(org.sales_rep2)
    assert client.get(f"/api/v1/leads/{lead.pk}/attachments/").status_code == 200  # may see it
    assert client.delete(_api_url(lead, att)).status_code == 403  # visible, not writable (API rule)
    share_record(actor=org.sales_rep1, obj=lead, user=org.sales_rep2, level="edit")
    assert client.delete(_api_url(lead, att)).status_code == 204


# --- the service: its own checks and the stored bytes ----------------------------------------------


def test_service_checks_the_actor_itself(org, make_lead, media):
    from huoban.leads.services import lead_attachment_delete
    from huoban.platform.errors import NotFoundError, PermissionDeniedError
    from huoban.platform.identity.actors import SystemActor

    lead = make_lead(org.sales_rep1)
    att = _with_file(org, lead)
    with pytest.raises(PermissionDeniedError):
        lead_attachment_delete(actor=org.finance, attachment=att)
    with pytest.raises(NotFoundError):
        lead_attachment_delete(actor=org.sales_rep2, attachment=att)
    assert LeadAttachment.objects.filter(pk=att.pk).exists()
    lead_attachment_delete(actor=SystemActor("cleanup"), attachment=att)  # system actors may
    assert not LeadAttachment.objects.filter(pk=att.pk).exists()
    assert len(_file_audit(lead)) == 1


def test_a_file_linked_to_the_customer_on_conversion_keeps_its_bytes(
    org, api, make_lead, media, django_capture_on_commit_callbacks
):
    lead = make_lead(org.sales_rep1, company="杭州远景数据有限公司")
    att = _with_file(org, lead, "方案.docx", b"PK\x03\x04proposal")
    client = api(org.sales_rep1)
    r = client.post(f"/api/v1/leads/{lead.pk}/convert/", {}, format="json")
    assert r.status_code == 200, r.content
    linked = Attachment.objects.get(customer_id=r.json()["customer"])
    assert linked.file.name == att.file.name
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(_api_url(lead, att)).status_code == 204  # a converted lead's file too
    assert not LeadAttachment.objects.filter(pk=att.pk).exists()
    assert (media / att.file.name).exists()  # the customer's row still points at it
    r = client.get(f"/api/v1/customers/{linked.customer_id}/attachments/{linked.pk}/")
    assert r.status_code == 200 and b"".join(r.streaming_content) == b"PK\x03\x04proposal"
    # the last row on the file goes (a customer's, pointing into the leads' folder): the bytes go too
    with django_capture_on_commit_callbacks(execute=True):
        r = client.delete(f"/api/v1/customers/{linked.customer_id}/attachments/{linked.pk}/")
        assert r.status_code == 204, r.content
    assert not (media / att.file.name).exists()


def test_another_lead_row_on_the_same_file_keeps_the_bytes(
    org, make_lead, media, django_capture_on_commit_callbacks
):
    from huoban.leads.services import lead_attachment_delete

    lead = make_lead(org.sales_rep1)
    att = _with_file(org, lead)
    twin = LeadAttachment.objects.create(lead=lead, file=att.file.name, name="副本.txt", size=att.size)
    with django_capture_on_commit_callbacks(execute=True):
        lead_attachment_delete(actor=org.sales_rep1, attachment=att)
    assert (media / att.file.name).exists()
    with django_capture_on_commit_callbacks(execute=True):
        lead_attachment_delete(actor=org.sales_rep1, attachment=twin)
    assert not (media / att.file.name).exists()


def test_a_failed_delete_keeps_row_and_bytes(
    org, make_lead, media, monkeypatch, django_capture_on_commit_callbacks
):
    import huoban.leads.services as services

    lead = make_lead(org.sales_rep1)
    att = _with_file(org, lead)

    def boom(**kwargs):
        raise RuntimeError("audit store gone")

    monkeypatch.setattr(services, "audit_log", boom)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        services.lead_attachment_delete(actor=org.sales_rep1, attachment=att)
    assert callbacks == []
    assert LeadAttachment.objects.filter(pk=att.pk).exists() and (media / att.file.name).exists()


def test_files_outside_the_lead_upload_folder_are_never_removed(
    org, make_lead, media, django_capture_on_commit_callbacks
):
    from huoban.leads.services import lead_attachment_delete

    lead = make_lead(org.sales_rep1)
    outside = media / "exports" / "report.csv"
    outside.parent.mkdir(parents=True)
    outside.write_bytes(b"a,b\n")
    row = LeadAttachment.objects.create(lead=lead, file="exports/report.csv", name="report.csv", size=4)
    with django_capture_on_commit_callbacks(execute=True):
        lead_attachment_delete(actor=org.sales_rep1, attachment=row)
    assert outside.exists() and not LeadAttachment.objects.filter(pk=row.pk).exists()
