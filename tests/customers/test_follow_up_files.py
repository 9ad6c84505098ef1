"""Files of follow-ups (跟进记录) in the web UI, from the outside: attaching files on the follow-up
form (refusals at the file input, nothing the user typed lost), the follow-up's Files tab (list,
upload, download, delete — audited, bytes removed), the Details tab and timeline, the services'
own permission checks, and what each preset role may see and do."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from huoban.customers.models import Attachment, FollowUp
from huoban.platform.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def web(client):
    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def now_commit(monkeypatch):
    """Run ``transaction.on_commit`` callbacks at once (the test transaction never commits)."""
    from django.db import transaction

    monkeypatch.setattr(transaction, "on_commit", lambda fn, *a, **k: fn())


def _file(name="纪要.txt", body=b"meeting notes", content_type="application/octet-stream"):
    return SimpleUploadedFile(name, body, content_type=content_type)


def _stored(media):
    return sorted(p.name for p in media.rglob("*") if p.is_file())


def _audit(follow_up):
    return [
        e.changes["attachments"]
        for e in AuditEvent.objects.filter(object_type="follow_up", object_id=str(follow_up.pk)).order_by(
            "seq"
        )
        if "attachments" in (e.changes or {})
    ]


def _field_error(html, name):
    m = re.search(rf'id="id_{name}_error">([^<]*)<', html)
    return m.group(1) if m else ""


def _textarea(html, name):
    m = re.search(rf'<textarea[^>]*name="{name}"[^>]*>\s*(.*?)</textarea>', html, flags=re.S)
    return m.group(1) if m else ""


def _follow_up(org, customer, **data):
    from huoban.customers.services import follow_up_create

    data.setdefault("content", "上门拜访，确认报价")
    return follow_up_create(actor=org.sales_rep1, customer=customer, data=data)


def _with_file(org, customer, name="合同草案.txt", body=b"draft"):
    from huoban.customers.services import attachment_add

    fu = _follow_up(org, customer)
    att = attachment_add(actor=org.sales_rep1, follow_up=fu, file=_file(name, body))
    return fu, att


# --- the follow-up form ---------------------------------------------------------------------------


def test_new_form_offers_several_files_and_the_edit_form_none(org, web, make_customer, media):
    c = make_customer(org.sales_rep1)
    client = web(org.sales_rep1)
    html = client.get(f"/follow-ups/new/?customer={c.pk}").content.decode()
    assert 'enctype="multipart/form-data"' in html
    tag = re.search(r"<input[^>]*type=\"file\"[^>]*>", html).group(0)
    assert 'name="files"' in tag and "multiple" in tag and 'id="id_files"' in tag
    assert "at most 20 MB each" in html and "are not accepted" in html
    fu = _follow_up(org, c)
    html = client.get(f"/follow-ups/{fu.pk}/edit/").content.decode()
    assert 'type="file"' not in html and "multipart" not in html


def test_create_with_files_attaches_them_and_shows_them_everywhere(org, web, make_customer, media):
    c = make_customer(org.sales_rep1)
    client = web(org.sales_rep1)
    r = client.post(
        "/follow-ups/new/",
        {
            "customer": c.pk,
            "type": "visit",
            "content": "上门拜访，带回合同草案",
            "files": [
                _file("合同草案.docx", b"PK\x03\x04draft", "text/plain"),
                _file("名片.jpg", b"\xff\xd8jpg"),
            ],
        },
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    fu = FollowUp.objects.unrestricted().get(customer=c)
    assert r["Location"] == f"/follow-ups/{fu.pk}/"
    files = list(Attachment.objects.filter(follow_up=fu).order_by("id"))
    assert [a.name for a in files] == ["合同草案.docx", "名片.jpg"]
    assert all(a.customer_id == c.pk and a.uploaded_by == org.sales_rep1 for a in files)
    assert files[0].content_type.endswith("wordprocessingml.document")  # from the name, not the claim
    assert len(_stored(media)) == 2
    assert _audit(fu) == [[None, "合同草案.docx"], [None, "名片.jpg"]]

    details = client.get(f"/follow-ups/{fu.pk}/").content.decode()
    for a in files:
        assert f'href="/follow-ups/{fu.pk}/files/{a.pk}/"' in details
    tab = client.get(f"/follow-ups/{fu.pk}/tab/files/").content.decode()
    assert "合同草案.docx" in tab and "名片.jpg" in tab and str(org.sales_rep1) in tab and "bytes" in tab
    assert f'action="/follow-ups/{fu.pk}/files/"' in tab
    assert f'action="/follow-ups/{fu.pk}/files/{files[0].pk}/delete/"' in tab
    customer_tab = client.get(f"/customers/{c.pk}/tab/files/").content.decode()
    assert "合同草案.docx" in customer_tab and f'href="/follow-ups/{fu.pk}/"' in customer_tab
    timeline = client.get(f"/customers/{c.pk}/tab/timeline/").content.decode()
    assert "2 files" in timeline


def test_create_without_files_is_unchanged(org, web, make_customer, media):
    c = make_customer(org.sales_rep1)
    r = web(org.sales_rep1).post(
        "/follow-ups/new/", {"customer": c.pk, "type": "call", "content": "电话沟通"}
    )
    assert r.status_code == 302
    fu = FollowUp.objects.unrestricted().get(customer=c)
    assert not fu.attachments.exists() and _stored(media) == []
    assert "—" in web(org.sales_rep1).get(f"/follow-ups/{fu.pk}/").content.decode()


REFUSED = [
    ("page.html", b"<html><script>alert(1)</script>", "text/html", "web pages"),
    ("setup.exe", b"MZ\x90\x00", "application/octet-stream", "cannot be attached"),
    ("report.pdf", b"MZ\x90\x00binary", "application/pdf", "cannot be attached"),  # a program in disguise
    ("空.txt", b"", "text/plain", "is empty"),
]


@pytest.mark.parametrize(("name", "body", "claimed", "says"), REFUSED)
def test_a_refused_file_is_an_error_at_the_file_input_and_the_text_is_kept(
    org, web, make_customer, media, name, body, claimed, says
):
    c = make_customer(org.sales_rep1)
    client = web(org.sales_rep1)
    r = client.post(
        "/follow-ups/new/",
        {
            "customer": c.pk,
            "type": "meeting",
            "content": "与采购部开会，讨论二期",
            "outcome": "等对方回复",
            "files": [_file("ok.txt", b"fine"), SimpleUploadedFile(name, body, content_type=claimed)],
        },
    )
    html = r.content.decode()
    assert r.status_code == 200
    assert says in _field_error(html, "files") and name in _field_error(html, "files")
    assert 'aria-invalid="true"' in re.search(r'<input[^>]*name="files"[^>]*>', html).group(0)
    # said clearly: the follow-up itself is fine, but nothing was saved yet
    assert "The follow-up was not saved yet: it is complete, but a file was refused." in html
    # nothing the user typed is lost; the files to choose again are named
    assert "与采购部开会，讨论二期" in _textarea(html, "content")
    assert 'value="等对方回复"' in html
    assert "Chosen before: ok.txt, " in html
    assert not FollowUp.objects.unrestricted().filter(customer=c).exists()
    assert not Attachment.objects.exists() and _stored(media) == []


def test_too_big_and_too_many_files(org, web, make_customer, media, monkeypatch):
    import huoban.customers.services as services

    c = make_customer(org.sales_rep1)
    client = web(org.sales_rep1)
    monkeypatch.setattr(services, "MAX_ATTACHMENT_BYTES", 10)
    data = {"customer": c.pk, "type": "call", "content": "电话", "files": [_file("big.txt", b"x" * 11)]}
    html = client.post("/follow-ups/new/", data).content.decode()
    assert "at most" in _field_error(html, "files") and "big.txt" in _field_error(html, "files")
    monkeypatch.setattr(services, "MAX_ATTACHMENT_BYTES", 1000)
    monkeypatch.setattr(services, "MAX_FILES_AT_ONCE", 2)
    data["files"] = [_file(f"{i}.txt", b"x") for i in range(3)]
    html = client.post("/follow-ups/new/", data).content.decode()
    assert "At most 2 files at once" in _field_error(html, "files")
    assert not FollowUp.objects.unrestricted().exists() and _stored(media) == []


def test_text_errors_and_file_errors_come_in_one_round(org, web, make_customer, media):
    c = make_customer(org.sales_rep1)
    r = web(org.sales_rep1).post(
        "/follow-ups/new/",
        {"customer": c.pk, "type": "call", "content": "", "files": [_file("x.svg", b"<svg/>")]},
    )
    html = r.content.decode()
    assert "Write what happened" in _field_error(html, "content")
    assert "web pages" in _field_error(html, "files")
    assert "it is complete" not in html  # the follow-up is not complete: no such claim
    assert "Chosen before: x.svg" in html
    assert not FollowUp.objects.unrestricted().exists()


def test_the_refusal_reads_in_chinese(org, web, make_customer, media):
    c = make_customer(org.sales_rep1)
    r = web(org.sales_rep1).post(
        "/follow-ups/new/",
        {"customer": c.pk, "type": "call", "content": "电话", "files": [_file("a.exe", b"MZ")]},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    html = r.content.decode()
    assert "跟进记录尚未保存" in html and "之前选择的文件：a.exe" in html
    assert "a.exe" in _field_error(html, "files") and "不接受程序" in _field_error(html, "files")


def test_the_form_reads_in_chinese(org, web, make_customer, media):
    html = web(org.sales_rep1).get("/follow-ups/new/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    labels = re.findall(r'<label class="form-label[^"]*" for="id_(\w+)">([^<]*)<', html)
    assert ("customer", "客户") in labels and ("contact", "联系人") in labels and ("files", "文件") in labels
    assert "每个不超过 20 MB" in html


def test_contact_page_offers_logging_a_follow_up_with_files(org, web, make_customer, make_contact, media):
    c = make_customer(org.sales_rep1)
    contact = make_contact(org.sales_rep1, customer=c, name="王芳")
    client = web(org.sales_rep1)
    url = f"/follow-ups/new/?contact={contact.pk}&customer={c.pk}"
    assert url.replace("&", "&amp;") in client.get(f"/contacts/{contact.pk}/tab/related/").content.decode()
    html = client.get(url).content.decode()
    assert re.search(rf'<option value="{contact.pk}" selected>王芳</option>', html)
    assert 'name="files"' in html
    r = client.post(
        "/follow-ups/new/",
        {
            "customer": c.pk,
            "contact": contact.pk,
            "type": "wechat",
            "content": "微信沟通",
            "files": [_file()],
        },
    )
    assert r.status_code == 302
    assert FollowUp.objects.unrestricted().get(contact=contact).attachments.get().name == "纪要.txt"


def test_a_failure_after_storing_removes_the_stored_bytes(org, make_customer, media, monkeypatch):
    import huoban.customers.services as services

    c = make_customer(org.sales_rep1)

    def boom(**kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(services, "customer_touch", boom)
    with pytest.raises(RuntimeError):
        services.follow_up_create(
            actor=org.sales_rep1, customer=c, data={"content": "x"}, files=[_file("a.txt", b"a")]
        )
    assert not Attachment.objects.exists() and _stored(media) == []


# --- the follow-up's Files tab --------------------------------------------------------------------


def test_files_tab_upload_download_delete_audited(org, web, make_customer, media, now_commit):
    c = make_customer(org.sales_rep1)
    fu = _follow_up(org, c)
    client = web(org.sales_rep1)
    tab = client.get(f"/follow-ups/{fu.pk}/tab/files/").content.decode()
    assert "No files yet." in tab and 'name="file"' in tab
    assert 'hx-target="#hb-tab"' in tab

    body = "报价 ¥100".encode()
    r = client.post(f"/follow-ups/{fu.pk}/files/", {"file": _file("报价单.txt", body)}, **HX)
    assert r.status_code == 200 and "报价单.txt" in r.content.decode() and "hb:toast" in r["HX-Trigger"]
    att = Attachment.objects.get(follow_up=fu)
    assert (att.customer_id, att.size, att.uploaded_by, att.content_type) == (
        c.pk,
        len(body),
        org.sales_rep1,
        "text/plain",
    )
    r = client.post(f"/follow-ups/{fu.pk}/files/", {"file": _file("第二份.csv", b"a,b\n")})
    assert r.status_code == 302 and r["Location"] == f"/follow-ups/{fu.pk}/?tab=files"

    r = client.get(f"/follow-ups/{fu.pk}/files/{att.pk}/")
    assert r.status_code == 200 and b"".join(r.streaming_content) == body
    assert r["Content-Disposition"].startswith("attachment;") and r["Content-Type"] == "text/plain"

    stored = media / att.file.name
    assert stored.exists()
    r = client.post(f"/follow-ups/{fu.pk}/files/{att.pk}/delete/")
    assert r.status_code == 302 and r["Location"] == f"/follow-ups/{fu.pk}/?tab=files"
    assert not Attachment.objects.filter(pk=att.pk).exists() and not stored.exists()
    assert _audit(fu) == [[None, "报价单.txt"], [None, "第二份.csv"], ["报价单.txt", None]]
    events = AuditEvent.objects.filter(object_type="follow_up", object_id=str(fu.pk), action="update")
    assert all(e.actor_id == org.sales_rep1.pk for e in events)


def test_files_tab_refusals_are_shown_at_the_file_input(org, web, make_customer, media):
    c = make_customer(org.sales_rep1)
    fu = _follow_up(org, c)
    client = web(org.sales_rep1)
    for name, body, claimed, says in REFUSED:
        r = client.post(
            f"/follow-ups/{fu.pk}/files/",
            {"file": SimpleUploadedFile(name, body, content_type=claimed)},
            **HX,
        )
        html = r.content.decode()
        assert r.status_code == 200 and 'id="hb-upload-error"' in html and says in html
    assert "Choose a file." in client.post(f"/follow-ups/{fu.pk}/files/", {}, **HX).content.decode()
    r = client.post(f"/follow-ups/{fu.pk}/files/", {"file": _file("a.js", b"alert(1)")}, follow=True)
    assert "cannot be attached" in r.content.decode()
    assert not Attachment.objects.exists() and _stored(media) == []


def test_bytes_another_row_points_at_stay(org, web, make_customer, media, now_commit):
    from huoban.customers.services import attachment_link

    c = make_customer(org.sales_rep1)
    fu, att = _with_file(org, c)
    attachment_link(actor=org.sales_rep1, customer=c, source=att)  # e.g. a converted lead's file
    r = web(org.sales_rep1).post(f"/follow-ups/{fu.pk}/files/{att.pk}/delete/")
    assert r.status_code == 302 and (media / att.file.name).exists()


def test_files_are_reached_only_through_their_own_follow_up(org, web, make_customer, media):
    c = make_customer(org.sales_rep1)
    fu, att = _with_file(org, c)
    other = _follow_up(org, c)
    client = web(org.sales_rep1)
    assert client.get(f"/follow-ups/{other.pk}/files/{att.pk}/").status_code == 404
    assert client.post(f"/follow-ups/{other.pk}/files/{att.pk}/delete/").status_code == 404
    own = Attachment.objects.create(customer=c, file=att.file.name, name="客户自己的.txt", size=5)
    assert client.get(f"/follow-ups/{fu.pk}/files/{own.pk}/").status_code == 404
    assert client.post(f"/follow-ups/{fu.pk}/files/{own.pk}/delete/").status_code == 404
    assert Attachment.objects.filter(pk__in=[att.pk, own.pk]).count() == 2


def test_files_of_a_deleted_follow_up_are_not_found(org, web, make_customer, media):
    from huoban.customers.services import follow_up_delete

    c = make_customer(org.sales_rep1)
    fu, att = _with_file(org, c)
    follow_up_delete(actor=org.sales_rep1, follow_up=fu)
    client = web(org.sales_rep1)
    assert client.get(f"/follow-ups/{fu.pk}/files/{att.pk}/").status_code == 404
    assert client.post(f"/follow-ups/{fu.pk}/files/", {"file": _file()}).status_code == 404


# --- permissions per preset role ------------------------------------------------------------------


def _writes(client, fu, att):
    return {
        "upload": client.post(f"/follow-ups/{fu.pk}/files/", {"file": _file("x.txt", b"x")}).status_code,
        "delete": client.post(f"/follow-ups/{fu.pk}/files/{att.pk}/delete/").status_code,
    }


def _controls(client, fu):
    tab = client.get(f"/follow-ups/{fu.pk}/tab/files/").content.decode()
    return 'name="file"' in tab or "/delete/" in tab


@pytest.mark.parametrize("username", ["sales_rep1", "sales_manager", "admin"])
def test_owner_manager_and_admin_list_download_add_delete(org, web, make_customer, media, username):
    c = make_customer(org.sales_rep1)
    fu, att = _with_file(org, c)
    client = web(getattr(org, username))
    assert client.get(f"/follow-ups/{fu.pk}/").status_code == 200
    assert _controls(client, fu)
    assert client.get(f"/follow-ups/{fu.pk}/files/{att.pk}/").status_code == 200
    assert _writes(client, fu, att) == {"upload": 302, "delete": 302}
    assert list(fu.attachments.values_list("name", flat=True)) == ["x.txt"]


@pytest.mark.parametrize("username", ["sales_rep2", "sales_rep3", "sales_manager_north"])
def test_colleagues_outside_the_scope_get_not_found(org, web, make_customer, media, username):
    c = make_customer(org.sales_rep1)
    fu, att = _with_file(org, c)
    client = web(getattr(org, username))
    assert client.get(f"/follow-ups/{fu.pk}/").status_code == 404
    assert client.get(f"/follow-ups/{fu.pk}/files/{att.pk}/").status_code == 404
    assert _writes(client, fu, att) == {"upload": 404, "delete": 404}
    assert list(fu.attachments.all()) == [att]


def test_read_only_share_downloads_but_does_not_change(org, web, make_customer, media):
    from huoban.platform.records.services import share_record, unshare_record

    c = make_customer(org.sales_rep1)
    fu, att = _with_file(org, c)
    share_record(actor=org.sales_rep1, obj=fu, user=org.sales_rep2, level="read")
    client = web(org.sales_rep2)
    assert client.get(f"/follow-ups/{fu.pk}/").status_code == 200
    tab = client.get(f"/follow-ups/{fu.pk}/tab/files/").content.decode()
    assert "合同草案.txt" in tab and not _controls(client, fu) and "No files yet." not in tab
    assert client.get(f"/follow-ups/{fu.pk}/files/{att.pk}/").status_code == 200
    assert _writes(client, fu, att) == {"upload": 404, "delete": 404}

    unshare_record(actor=org.sales_rep1, obj=fu, user=org.sales_rep2)
    share_record(actor=org.sales_rep1, obj=fu, user=org.sales_rep2, level="edit")
    assert _controls(client, fu)
    assert _writes(client, fu, att) == {"upload": 302, "delete": 302}


def test_service_agent_attaches_when_logging_but_cannot_change_afterwards(org, web, make_customer, media):
    c = make_customer(org.sales_rep1)
    colleague_fu, colleague_att = _with_file(org, c)
    client = web(org.service_agent)
    # a colleague's follow-up: not theirs to see
    assert client.get(f"/follow-ups/{colleague_fu.pk}/").status_code == 404
    assert client.get(f"/follow-ups/{colleague_fu.pk}/files/{colleague_att.pk}/").status_code == 404
    # they log a follow-up with a file (follow_up: add) …
    r = client.post(
        "/follow-ups/new/",
        {
            "customer": c.pk,
            "type": "call",
            "content": "客户来电报修",
            "files": [_file("照片.png", b"\x89PNG")],
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    fu = FollowUp.objects.unrestricted().get(content__contains="报修")
    att = fu.attachments.get()
    assert att.uploaded_by == org.service_agent
    # … see and download it, but may not add or delete files (no follow_up: change)
    assert client.get(f"/follow-ups/{fu.pk}/").status_code == 200
    assert client.get(f"/follow-ups/{fu.pk}/files/{att.pk}/").status_code == 200
    assert not _controls(client, fu)
    assert _writes(client, fu, att) == {"upload": 403, "delete": 403}
    # the owner of the customer handles it
    assert _controls(web(org.sales_rep1), fu)


@pytest.mark.parametrize("username", ["finance", "marketing"])
def test_roles_without_follow_ups_are_refused(org, web, make_customer, media, username):
    c = make_customer(org.sales_rep1)
    fu, att = _with_file(org, c)
    client = web(getattr(org, username))
    assert client.get(f"/follow-ups/{fu.pk}/").status_code == 403
    assert client.get(f"/follow-ups/{fu.pk}/files/{att.pk}/").status_code == 403
    assert _writes(client, fu, att) == {"upload": 403, "delete": 403}
    assert client.get("/follow-ups/new/").status_code == 403
    # the customer's Files tab (which they may read) does not show the follow-up's file
    assert "合同草案.txt" not in client.get(f"/customers/{c.pk}/tab/files/").content.decode()
    assert client.get(f"/customers/{c.pk}/files/{att.pk}/").status_code == 404


def test_services_check_permissions_themselves(org, make_customer, media):
    from huoban.customers.services import (
        attachment_add,
        attachment_delete,
        customer_attachment_add,
        customer_attachment_delete,
    )
    from huoban.platform.errors import NotFoundError, PermissionDeniedError, ValidationError
    from huoban.platform.identity.actors import SystemActor

    c = make_customer(org.sales_rep1)
    fu, att = _with_file(org, c)
    with pytest.raises(NotFoundError):
        attachment_add(actor=org.sales_rep3, follow_up=fu, file=_file())
    with pytest.raises(PermissionDeniedError):
        attachment_add(actor=org.finance, follow_up=fu, file=_file())
    with pytest.raises(NotFoundError):
        attachment_delete(actor=org.sales_rep2, attachment=att)
    with pytest.raises(PermissionDeniedError):
        attachment_delete(actor=org.service_agent, attachment=att)
    own = customer_attachment_add(actor=org.sales_rep1, customer=c, file=_file("客户文件.txt"))
    with pytest.raises(ValidationError):
        attachment_delete(actor=org.sales_rep1, attachment=own)
    with pytest.raises(ValidationError):
        customer_attachment_delete(actor=org.sales_rep1, attachment=att)
    system = attachment_add(actor=SystemActor("import"), follow_up=fu, file=_file("系统.txt"))
    attachment_delete(actor=SystemActor("import"), attachment=system)
    assert list(fu.attachments.all()) == [att]


def test_api_and_ui_share_the_files(org, api, web, make_customer, media):
    from huoban.platform.records.services import share_record

    c = make_customer(org.sales_rep1)
    fu, att = _with_file(org, c)
    body = api(org.sales_rep1).get(f"/api/v1/follow-ups/{fu.pk}/attachments/").json()
    assert [a["name"] for a in body["results"]] == ["合同草案.txt"] and body["count"] == 1
    r = api(org.sales_rep1).post(
        f"/api/v1/follow-ups/{fu.pk}/attachments/", {"file": _file("x.exe", b"MZ")}, format="multipart"
    )
    assert r.status_code == 400 and "file" in r.json()
    share_record(actor=org.sales_rep1, obj=fu, user=org.sales_rep2, level="read")
    r = api(org.sales_rep2).post(
        f"/api/v1/follow-ups/{fu.pk}/attachments/", {"file": _file("y.txt", b"y")}, format="multipart"
    )
    assert r.status_code == 403
    assert list(fu.attachments.all()) == [att]
