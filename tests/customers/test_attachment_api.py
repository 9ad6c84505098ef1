"""Files of customers and follow-ups through the REST API, from the outside — the API offers what
the Files tabs offer:

* ``/api/v1/customers/{id}/attachments/`` GET (the customer's own files and those of follow-ups
  the caller can see) and POST (upload, ``customer_attachment_add``);
  ``/api/v1/customers/{id}/attachments/{attachment_id}/`` GET (download) and DELETE
  (``customer_attachment_delete``; a follow-up's file is refused: delete it on the follow-up);
* ``/api/v1/follow-ups/{id}/attachments/{attachment_id}/`` DELETE (``attachment_delete``).

Per preset role: who may list, upload and delete; out of scope is 404, a missing function
permission (or a read-only share) 403; audited; stored bytes removed after commit unless another
row still points at them; every endpoint in the OpenAPI schema."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from huoban.customers.models import Attachment
from huoban.platform.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _file(name="纪要.txt", body=b"meeting notes", content_type="application/octet-stream"):
    return SimpleUploadedFile(name, body, content_type=content_type)


def _audit(object_type, obj):
    return [
        (e.changes["attachments"], e.actor_id)
        for e in AuditEvent.objects.filter(object_type=object_type, object_id=str(obj.pk)).order_by("seq")
        if "attachments" in (e.changes or {})
    ]


def _follow_up_with_file(org, customer, name="合同草案.txt", body=b"draft"):
    from huoban.customers.services import attachment_add, follow_up_create

    fu = follow_up_create(actor=org.sales_rep1, customer=customer, data={"content": "上门拜访"})
    return fu, attachment_add(actor=org.sales_rep1, follow_up=fu, file=_file(name, body))


def _own_file(org, customer, name="营业执照.pdf", body=b"%PDF-1.4 licence"):
    from huoban.customers.services import customer_attachment_add

    return customer_attachment_add(actor=org.sales_rep1, customer=customer, file=_file(name, body))


def _json(r):
    assert r["Content-Type"].startswith("application/json"), r["Content-Type"]
    return r.json()


def _listed(client, customer):
    r = client.get(f"/api/v1/customers/{customer.pk}/attachments/")
    assert r.status_code == 200, r.content
    return _json(r)["results"]


# --- customers: list, upload, download, delete ------------------------------------------------------


def test_customer_files_upload_list_download_delete(
    org, api, make_customer, media, django_capture_on_commit_callbacks
):
    c = make_customer(org.sales_rep1)
    fu, fu_att = _follow_up_with_file(org, c)
    client = api(org.sales_rep1)
    r = client.post(
        f"/api/v1/customers/{c.pk}/attachments/",
        {"file": _file("报价单.docx", b"PK\x03\x04quote", "text/plain"), "name": "报价单（终版）.docx"},
        format="multipart",
    )
    assert r.status_code == 201, r.content
    body = _json(r)
    att = Attachment.objects.get(pk=body["id"])
    assert (att.customer_id, att.follow_up_id, att.uploaded_by) == (c.pk, None, org.sales_rep1)
    assert body == {
        "id": att.pk,
        "name": "报价单（终版）.docx",
        "size": len(b"PK\x03\x04quote"),
        "content_type": att.content_type,
        "uploaded_at": body["uploaded_at"],
        "follow_up": None,
        "url": f"/api/v1/customers/{c.pk}/attachments/{att.pk}/",
    }
    assert att.content_type.endswith("wordprocessingml.document")  # from the name, not the claim

    page = _json(client.get(f"/api/v1/customers/{c.pk}/attachments/"))
    assert page["count"] == 2 and page["next"] is None  # paginated like every list
    rows = page["results"]
    assert [(a["name"], a["follow_up"]) for a in rows] == [
        ("报价单（终版）.docx", None),
        ("合同草案.txt", fu.pk),
    ]

    r = client.get(rows[1]["url"])  # a follow-up's file downloads from the customer too, as on the tab
    assert r.status_code == 200 and b"".join(r.streaming_content) == b"draft"
    r = client.get(body["url"])
    assert r.status_code == 200 and b"".join(r.streaming_content) == b"PK\x03\x04quote"
    assert r["Content-Disposition"].startswith("attachment;")

    stored = media / att.file.name
    with django_capture_on_commit_callbacks(execute=True):
        r = client.delete(body["url"])
        assert stored.exists()  # removed after commit
    assert r.status_code == 204 and r.content == b""
    assert not Attachment.objects.filter(pk=att.pk).exists() and not stored.exists()
    assert _audit("customer", c)[-1] == (["报价单（终版）.docx", None], org.sales_rep1.pk)
    r = client.delete(body["url"])
    assert r.status_code == 404 and _json(r)
    assert [a["name"] for a in _listed(client, c)] == ["合同草案.txt"]


def test_a_follow_ups_file_is_deleted_on_the_follow_up_not_the_customer(org, api, make_customer, media):
    c = make_customer(org.sales_rep1)
    fu, att = _follow_up_with_file(org, c)
    client = api(org.sales_rep1)
    r = client.delete(f"/api/v1/customers/{c.pk}/attachments/{att.pk}/")
    assert r.status_code == 400 and "follow-up" in " ".join(_json(r)["file"])
    assert Attachment.objects.filter(pk=att.pk).exists()
    assert client.delete(f"/api/v1/follow-ups/{fu.pk}/attachments/{att.pk}/").status_code == 204
    assert not Attachment.objects.filter(pk=att.pk).exists()


def test_refused_uploads_are_field_errors(org, api, make_customer, media):
    c = make_customer(org.sales_rep1)
    client = api(org.sales_rep1)
    for name, body, says in [
        ("page.html", b"<html><script>alert(1)</script>", "web pages"),
        ("setup.exe", b"MZ\x90\x00", "cannot be attached"),
        ("空.txt", b"", "is empty"),
    ]:
        r = client.post(
            f"/api/v1/customers/{c.pk}/attachments/", {"file": _file(name, body)}, format="multipart"
        )
        assert r.status_code == 400 and says in " ".join(_json(r)["file"])
    r = client.post(f"/api/v1/customers/{c.pk}/attachments/", {}, format="multipart")
    assert r.status_code == 400 and "Choose a file." in _json(r)["file"]
    r = client.post(
        f"/api/v1/customers/{c.pk}/attachments/",
        {"file": _file("a.exe", b"MZ")},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert "不接受程序" in " ".join(_json(r)["file"])
    assert not Attachment.objects.exists() and not [p for p in media.rglob("*") if p.is_file()]


def test_files_are_reached_only_through_their_own_customer(org, api, make_customer, media):
    c = make_customer(org.sales_rep1)
    other = make_customer(org.sales_rep1)
    att = _own_file(org, c)
    client = api(org.sales_rep1)
    assert client.get(f"/api/v1/customers/{other.pk}/attachments/{att.pk}/").status_code == 404
    assert client.delete(f"/api/v1/customers/{other.pk}/attachments/{att.pk}/").status_code == 404
    fu, fu_att = _follow_up_with_file(org, c)
    other_fu, _ = _follow_up_with_file(org, c, "别的.txt")
    assert client.delete(f"/api/v1/follow-ups/{other_fu.pk}/attachments/{fu_att.pk}/").status_code == 404
    assert client.delete(f"/api/v1/follow-ups/{fu.pk}/attachments/{att.pk}/").status_code == 404
    assert Attachment.objects.filter(pk__in=[att.pk, fu_att.pk]).count() == 2


def test_bytes_another_row_points_at_stay(org, api, make_customer, media, django_capture_on_commit_callbacks):
    from huoban.customers.services import attachment_link

    c = make_customer(org.sales_rep1)
    att = _own_file(org, c)
    twin = attachment_link(actor=org.sales_rep1, customer=c, source=att)
    client = api(org.sales_rep1)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"/api/v1/customers/{c.pk}/attachments/{att.pk}/").status_code == 204
    assert (media / att.file.name).exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"/api/v1/customers/{c.pk}/attachments/{twin.pk}/").status_code == 204
    assert not (media / att.file.name).exists()


# --- customers: per preset role ---------------------------------------------------------------------

# role → (list, upload, delete) on a customer of sales_rep1
CUSTOMER_EXPECTED = {
    "sales_rep1": (200, 201, 204),  # the owner
    "sales_manager": (200, 201, 204),  # unit tree
    "admin": (200, 201, 204),
    "sales_rep2": (404, 404, 404),  # a colleague: out of scope, not probeable
    "sales_rep3": (404, 404, 404),
    "sales_manager_north": (404, 404, 404),
    "service_agent": (200, 403, 403),  # read-only customer profile
    "finance": (200, 403, 403),
    "marketing": (200, 403, 403),
}


@pytest.mark.parametrize(("username", "expected"), CUSTOMER_EXPECTED.items())
def test_customer_files_per_preset_role(org, api, make_customer, media, username, expected):
    c = make_customer(org.sales_rep1)
    att = _own_file(org, c)
    client = api(getattr(org, username))
    listed = client.get(f"/api/v1/customers/{c.pk}/attachments/")
    uploaded = client.post(f"/api/v1/customers/{c.pk}/attachments/", {"file": _file()}, format="multipart")
    deleted = client.delete(f"/api/v1/customers/{c.pk}/attachments/{att.pk}/")
    assert (listed.status_code, uploaded.status_code, deleted.status_code) == expected
    for r in (listed, uploaded):
        _json(r)
    if deleted.status_code != 204:
        _json(deleted)
    assert Attachment.objects.filter(pk=att.pk).exists() is (expected[2] != 204)
    writes = _audit("customer", c)[1:]  # after the owner's own upload
    assert len(writes) == (2 if expected[2] == 204 else 0)


def test_what_each_role_lists_follows_the_follow_up_scope(org, api, make_customer, media):
    c = make_customer(org.sales_rep1)
    _own_file(org, c)
    _follow_up_with_file(org, c)
    names = {
        u: [a["name"] for a in _listed(api(getattr(org, u)), c)]
        for u in ("sales_rep1", "service_agent", "finance")
    }
    assert sorted(names["sales_rep1"]) == ["合同草案.txt", "营业执照.pdf"]
    # service agents see their own follow-ups only; finance none: just the customer's own file
    assert names["service_agent"] == names["finance"] == ["营业执照.pdf"]


def test_customer_read_only_share_lists_but_may_not_change(org, api, make_customer, media):
    from huoban.platform.records.services import share_record, unshare_record

    c = make_customer(org.sales_rep1)
    att = _own_file(org, c)
    share_record(actor=org.sales_rep1, obj=c, user=org.sales_rep2, level="read")
    client = api(org.sales_rep2)
    assert [a["name"] for a in _listed(client, c)] == ["营业执照.pdf"]
    assert client.get(f"/api/v1/customers/{c.pk}/attachments/{att.pk}/").status_code == 200
    r = client.post(f"/api/v1/customers/{c.pk}/attachments/", {"file": _file()}, format="multipart")
    assert r.status_code == 403  # visible but not writable: the API's rule
    assert client.delete(f"/api/v1/customers/{c.pk}/attachments/{att.pk}/").status_code == 403
    unshare_record(actor=org.sales_rep1, obj=c, user=org.sales_rep2)
    share_record(actor=org.sales_rep1, obj=c, user=org.sales_rep2, level="edit")
    assert client.delete(f"/api/v1/customers/{c.pk}/attachments/{att.pk}/").status_code == 204


# --- follow-ups: delete ---------------------------------------------------------------------------

FOLLOW_UP_EXPECTED = {
    "sales_rep1": 204,
    "sales_manager": 204,
    "admin": 204,
    "sales_rep2": 404,
    "sales_rep3": 404,
    "sales_manager_north": 404,
    "service_agent": 403,  # follow-ups: view and add, no change
    "finance": 403,  # no follow-up permission at all
    "marketing": 403,
}


@pytest.mark.parametrize(("username", "expected"), FOLLOW_UP_EXPECTED.items())
def test_follow_up_file_delete_per_preset_role(
    org, api, make_customer, media, username, expected, django_capture_on_commit_callbacks
):
    c = make_customer(org.sales_rep1)
    fu, att = _follow_up_with_file(org, c)
    stored = media / att.file.name
    with django_capture_on_commit_callbacks(execute=True):
        r = api(getattr(org, username)).delete(f"/api/v1/follow-ups/{fu.pk}/attachments/{att.pk}/")
    assert r.status_code == expected, r.content
    if expected == 204:
        assert not Attachment.objects.filter(pk=att.pk).exists() and not stored.exists()
        assert _audit("follow_up", fu)[-1] == (["合同草案.txt", None], getattr(org, username).pk)
    else:
        _json(r)
        assert Attachment.objects.filter(pk=att.pk).exists() and stored.exists()
        assert len(_audit("follow_up", fu)) == 1


def test_follow_up_read_only_share_is_forbidden(org, api, make_customer, media):
    from huoban.platform.records.services import share_record

    c = make_customer(org.sales_rep1)
    fu, att = _follow_up_with_file(org, c)
    share_record(actor=org.sales_rep1, obj=fu, user=org.sales_rep2, level="read")
    client = api(org.sales_rep2)
    assert client.get(f"/api/v1/follow-ups/{fu.pk}/attachments/{att.pk}/").status_code == 200
    assert client.delete(f"/api/v1/follow-ups/{fu.pk}/attachments/{att.pk}/").status_code == 403
    assert Attachment.objects.filter(pk=att.pk).exists()


# --- the schema -----------------------------------------------------------------------------------


def test_every_attachment_endpoint_is_in_the_schema(org, api):
    paths = api(org.sales_rep1).get("/api/schema/?format=json").json()["paths"]
    for resource in ("customers", "follow-ups", "leads"):
        assert {"get", "post"} <= set(paths[f"/api/v1/{resource}/{{id}}/attachments/"])
        one = paths[f"/api/v1/{resource}/{{id}}/attachments/{{attachment_id}}/"]
        assert {"get", "delete"} <= set(one)
        assert "204" in one["delete"]["responses"]
    upload = paths["/api/v1/customers/{id}/attachments/"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
    listed = paths["/api/v1/customers/{id}/attachments/"]["get"]["responses"]["200"]
    page = listed["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert page == "PaginatedCustomerAttachmentList"
