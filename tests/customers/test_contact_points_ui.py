"""Secondary phones and e-mails, addresses and files of customers (and contacts' phones/e-mails)
through the web UI, from the outside: forms with repeatable rows (normalised, errors at the entry,
input kept), the Addresses tab (add / edit / make primary / delete), the Files tab (upload /
download / delete, audited), and what each preset role may see and do."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from huoban.customers.models import Attachment, Customer, CustomerAddress
from huoban.platform.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


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


def _base(**extra):
    return {"name": "杭州云栖网络科技有限公司", "kind": "company", "lifecycle_stage": "prospect", **extra}


def _entry_error(html: str, field: str, index: int) -> str:
    m = re.search(rf'id="id_{field}_{index}_msg">([^<]*)<', html)
    return m.group(1) if m else ""


def _input_values(html: str, field: str) -> list[str]:
    """Values of the visible rows of a list field (the <template> row is not counted)."""
    html = re.sub(r"<template data-hb-list-template>.*?</template>", "", html, flags=re.S)
    return re.findall(rf'name="{field}" id="id_{field}_\d+" value="([^"]*)"', html)


def _audit(customer, key):
    return [
        e
        for e in AuditEvent.objects.filter(object_type="customer", object_id=str(customer.pk)).order_by("seq")
        if key in (e.changes or {})
    ]


# --- phones and e-mails on the forms ------------------------------------------------------------------


def test_create_with_several_phones_and_emails_normalised_and_shown(org, web):
    client = web(org.sales_rep1)
    r = client.post(
        "/customers/new/",
        {
            **_base(phone="13800138000", email="info@yunqi.cn"),
            "phones": ["0571-8888 8888", "", "139 0013 9000", "  "],
            "emails": ["Sales@YunQi.CN", ""],
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    c = Customer.objects.unrestricted().get(name="杭州云栖网络科技有限公司")
    assert c.phones == ["+8657188888888", "+8613900139000"]  # blank rows ignored
    assert c.emails == ["Sales@yunqi.cn"]  # domain lower-cased
    html = client.get(f"/customers/{c.pk}/").content.decode()
    assert 'href="tel:+8657188888888"' in html and "0571 8888 8888" in html
    assert 'href="tel:+8613900139000"' in html and "139 0013 9000" in html
    assert 'href="mailto:Sales@yunqi.cn"' in html
    assert "Landline" in html and "Mobile" in html  # the kind of each number
    overview = client.get(f"/customers/{c.pk}/tab/overview/").content.decode()
    assert 'href="tel:+8657188888888"' in overview and "0571 8888 8888" in overview


def test_form_shows_rows_and_says_empty_rows_are_ignored(org, web, make_customer):
    c = make_customer(org.sales_rep1, phones=["0571-88888888"], emails=["a@example.com"])
    client = web(org.sales_rep1)
    html = client.get(f"/customers/{c.pk}/edit/").content.decode()
    assert _input_values(html, "phones") == ["+8657188888888", ""]  # one empty row to add another
    assert _input_values(html, "emails") == ["a@example.com", ""]
    assert "Empty rows are ignored." in html and "data-hb-list-add" in html
    new = client.get("/customers/new/").content.decode()
    assert _input_values(new, "phones") == [""]


def test_invalid_entries_error_at_their_row_and_input_is_kept(org, web):
    client = web(org.sales_rep1)
    r = client.post(
        "/customers/new/",
        {
            **_base(uscc="91330106000000000X"),
            "phones": ["13800138000", "12345", "", "abc"],
            "emails": ["bad@", "ok@example.com"],
        },
    )
    assert r.status_code == 200
    html = r.content.decode()
    assert not Customer.objects.unrestricted().filter(name="杭州云栖网络科技有限公司").exists()
    # everything typed is still there (the empty row dropped, one fresh empty row at the end)
    assert _input_values(html, "phones") == ["13800138000", "12345", "abc", ""]
    assert _input_values(html, "emails") == ["bad@", "ok@example.com", ""]
    assert _entry_error(html, "phones", 0) == ""
    assert "valid phone number" in _entry_error(html, "phones", 1)
    assert "valid phone number" in _entry_error(html, "phones", 2)
    assert "valid email" in _entry_error(html, "emails", 0)
    assert _entry_error(html, "emails", 1) == ""
    assert "Correct the 2 entries marked above." in html
    assert 'id="id_phones_1" value="12345" class="form-control is-invalid"' in html
    # the other fields' errors come in the same round (one validation path: the service)
    assert "check digit" in html


def test_duplicates_and_the_main_number_are_errors_not_dropped(org, web):
    client = web(org.sales_rep1)
    r = client.post(
        "/customers/new/",
        {
            **_base(phone="13800138000", email="a@example.com"),
            "phones": ["138 0013 8000", "0571-88888888", "057188888888"],
            "emails": ["A@EXAMPLE.COM"],
        },
    )
    assert r.status_code == 200
    html = r.content.decode()
    assert "already the main number" in _entry_error(html, "phones", 0)
    assert _entry_error(html, "phones", 1) == ""
    assert "Listed twice" in _entry_error(html, "phones", 2)
    assert "already the main email" in _entry_error(html, "emails", 0)
    # the API keeps its lenient behaviour: repeats are dropped, not refused
    from huoban.customers.services import customer_create

    c = customer_create(
        actor=org.sales_rep1,
        data=_base(name="API 客户", phone="13800138000", phones=["138 0013 8000", "0571-88888888"]),
        check_duplicates=False,
    )
    assert c.phones == ["+8657188888888"]


def test_edit_changes_and_clears_the_lists(org, web, make_customer):
    c = make_customer(org.sales_rep1, phones=["0571-88888888", "13900139000"], emails=["a@example.com"])
    client = web(org.sales_rep1)
    data = {
        "name": c.name,
        "kind": "company",
        "lifecycle_stage": "prospect",
        "version": c.version,
        "phones": ["13900139000", "021-6666 6666", ""],
        "emails": [""],
    }
    r = client.post(f"/customers/{c.pk}/edit/", data)
    assert r.status_code == 302, r.content.decode()[:3000]
    c.refresh_from_db()
    assert c.phones == ["+8613900139000", "+862166666666"] and c.emails == []
    # a stale version is refused, the input kept
    data["version"] = c.version - 1
    data["phones"] = ["13700137000"]
    r = client.post(f"/customers/{c.pk}/edit/", data)
    assert r.status_code == 409 and _input_values(r.content.decode(), "phones") == ["13700137000", ""]


def test_inline_edit_of_the_list_on_the_detail_page(org, web, make_customer):
    c = make_customer(org.sales_rep1)
    client = web(org.sales_rep1)
    editor = client.get(f"/customers/{c.pk}/field/phones/?edit=1").content.decode()
    assert "data-hb-list" in editor
    r = client.post(
        f"/customers/{c.pk}/field/phones/", {"version": c.version, "phones": ["0571 8888 8888", "x"]}
    )
    html = r.content.decode()
    assert "valid phone number" in _entry_error(html, "phones", 1)
    assert _input_values(html, "phones") == ["0571 8888 8888", "x", ""]
    r = client.post(f"/customers/{c.pk}/field/phones/", {"version": c.version, "phones": ["0571 8888 8888"]})
    assert r.status_code == 200 and 'href="tel:+8657188888888"' in r.content.decode()
    c.refresh_from_db()
    assert c.phones == ["+8657188888888"]


def test_contact_form_phones_and_emails(org, web, make_customer):
    customer = make_customer(org.sales_rep1)
    client = web(org.sales_rep1)
    base = {"name": "王芳", "customer": customer.pk, "mobile": "13800138000", "email": "wf@example.com"}
    r = client.post(
        "/contacts/new/", {**base, "phones": ["13800138000", "0571-88888888"], "emails": ["WF@example.com"]}
    )
    html = r.content.decode()
    assert r.status_code == 200
    assert "already the main number" in _entry_error(html, "phones", 0)
    assert "already the main email" in _entry_error(html, "emails", 0)
    r = client.post(
        "/contacts/new/", {**base, "phones": ["0571-88888888", ""], "emails": ["wang@example.org"]}
    )
    assert r.status_code == 302
    from huoban.customers.models import Contact

    contact = Contact.objects.unrestricted().get(name="王芳")
    assert contact.phones == ["+8657188888888"] and contact.emails == ["wang@example.org"]
    html = client.get(f"/contacts/{contact.pk}/").content.decode()
    assert 'href="tel:+8657188888888"' in html and 'href="mailto:wang@example.org"' in html


# --- addresses ----------------------------------------------------------------------------------------


def test_addresses_add_edit_primary_switch_delete(org, web, make_customer):
    c = make_customer(org.sales_rep1)
    client = web(org.sales_rep1)
    tab = client.get(f"/customers/{c.pk}/tab/addresses/").content.decode()
    assert f'href="/customers/{c.pk}/addresses/new/"' in tab
    assert client.get(f"/customers/{c.pk}/addresses/new/").status_code == 200
    v0 = c.version

    # the first address is the primary one (even unticked) and the customer's address line
    r = client.post(
        f"/customers/{c.pk}/addresses/new/",
        {"kind": "registered", "region": "330100", "line": "西湖区文三路 1 号", "postal_code": "310000"},
    )
    assert r.status_code == 302 and r["Location"] == f"/customers/{c.pk}/?tab=addresses"
    first = CustomerAddress.objects.get(customer=c)
    assert first.is_primary and first.region == "330100" and first.postal_code == "310000"
    c.refresh_from_db()
    assert c.address == "西湖区文三路 1 号" and c.version == v0 + 1

    # a second one, made primary on creation: exactly one primary
    r = client.post(
        f"/customers/{c.pk}/addresses/new/",
        {"kind": "office", "region": "310000", "line": "浦东新区世纪大道 100 号", "is_primary": "on"},
    )
    assert r.status_code == 302
    second = CustomerAddress.objects.get(customer=c, line__startswith="浦东")
    first.refresh_from_db()
    assert second.is_primary and not first.is_primary
    c.refresh_from_db()
    assert c.address == "浦东新区世纪大道 100 号"
    assert CustomerAddress.objects.filter(customer=c, is_primary=True).count() == 1

    # edit (the primary line follows)
    html = client.get(f"/customers/{c.pk}/addresses/{second.pk}/edit/").content.decode()
    assert "浦东新区世纪大道 100 号" in html and "make another address primary" in html
    r = client.post(
        f"/customers/{c.pk}/addresses/{second.pk}/edit/",
        {"kind": "billing", "region": "310000", "line": "浦东新区世纪大道 200 号", "postal_code": "200120"},
    )
    assert r.status_code == 302
    second.refresh_from_db()
    assert second.kind == "billing" and second.is_primary  # still the primary one
    c.refresh_from_db()
    assert c.address == "浦东新区世纪大道 200 号"

    # switch the primary back with the button
    r = client.post(f"/customers/{c.pk}/addresses/{first.pk}/primary/")
    assert r.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.is_primary and not second.is_primary
    c.refresh_from_db()
    assert c.address == "西湖区文三路 1 号"
    tab = client.get(f"/customers/{c.pk}/tab/addresses/").content.decode()
    assert tab.index("西湖区文三路 1 号") < tab.index("浦东新区世纪大道 200 号")  # primary first
    assert "Make primary" in tab and "Hangzhou" in tab  # region shown by name

    # deleting the primary one promotes the other
    r = client.post(f"/customers/{c.pk}/addresses/{first.pk}/delete/")
    assert r.status_code == 302
    second.refresh_from_db()
    assert second.is_primary and not CustomerAddress.objects.filter(pk=first.pk).exists()
    c.refresh_from_db()
    assert c.address == "浦东新区世纪大道 200 号"
    client.post(f"/customers/{c.pk}/addresses/{second.pk}/delete/")
    c.refresh_from_db()
    assert c.address == "" and not c.addresses.exists()

    # every change audited on the customer, in its history
    events = _audit(c, "addresses")
    assert len(events) == 6
    assert (
        events[0].changes["addresses"][0] is None and "西湖区文三路 1 号" in events[0].changes["addresses"][1]
    )
    assert events[-1].changes["addresses"][1] is None
    history = client.get(f"/customers/{c.pk}/tab/history/").content.decode()
    assert "Addresses" in history and "浦东新区世纪大道 200 号" in history


def test_address_form_errors_are_field_level_and_input_kept(org, web, make_customer):
    c = make_customer(org.sales_rep1)
    client = web(org.sales_rep1)
    r = client.post(
        f"/customers/{c.pk}/addresses/new/",
        {"kind": "office", "region": "330100", "line": "", "postal_code": "3100"},
    )
    assert r.status_code == 200
    html = r.content.decode()
    assert re.search(r'id="id_line_error">[^<]*required', html)
    assert re.search(r'id="id_postal_code_error">[^<]*6 digits', html)
    assert 'value="3100"' in html and 'value="330100" selected' in html
    assert not c.addresses.exists()
    # the primary address cannot be "un-primaried" through the API either
    from huoban.customers.services import customer_address_add, customer_address_update
    from huoban.platform.errors import ValidationError

    a = customer_address_add(actor=org.sales_rep1, customer=c, data={"line": "一号"})
    customer_address_add(actor=org.sales_rep1, customer=c, data={"line": "二号"})
    with pytest.raises(ValidationError) as exc:
        customer_address_update(actor=org.sales_rep1, address=a, data={"is_primary": False})
    assert "is_primary" in exc.value.errors


def test_api_address_list_replacement_is_audited(org, api, make_customer):
    c = make_customer(org.sales_rep1)
    r = api(org.sales_rep1).patch(
        f"/api/v1/customers/{c.pk}/",
        {"addresses": [{"line": "滨江区网商路 699 号", "region": "杭州"}]},
        format="json",
    )
    assert r.status_code == 200, r.content
    assert r.json()["address"] == "滨江区网商路 699 号"
    assert r.json()["version"] > c.version
    assert any("滨江区网商路 699 号" in str(e.changes["addresses"][1]) for e in _audit(c, "addresses"))


def test_one_update_of_fields_and_addresses_is_one_version(org, api, make_customer):
    c = make_customer(org.sales_rep1)
    client = api(org.sales_rep1)
    r = client.patch(
        f"/api/v1/customers/{c.pk}/",
        {
            "short_name": "网商",
            "addresses": [{"line": "滨江区网商路 699 号", "region": "杭州"}],
            "version": c.version,
        },
        format="json",
    )
    assert r.status_code == 200, r.content
    assert r.json()["version"] == c.version + 1  # not +2: fields and addresses are one write
    assert r.json()["short_name"] == "网商" and r.json()["address"] == "滨江区网商路 699 号"
    r = client.patch(
        f"/api/v1/customers/{c.pk}/",
        {"addresses": [{"line": "西湖区文三路 1 号", "region": "杭州"}], "version": c.version + 1},
        format="json",
    )
    assert r.status_code == 200 and r.json()["version"] == c.version + 2  # addresses alone: +1 too
    stale = client.patch(f"/api/v1/customers/{c.pk}/", {"addresses": [], "version": c.version}, format="json")
    assert stale.status_code == 409


# --- files --------------------------------------------------------------------------------------------


def test_files_upload_list_download_delete_audited(org, web, make_customer, media):
    c = make_customer(org.sales_rep1)
    client = web(org.sales_rep1)
    tab = client.get(f"/customers/{c.pk}/tab/files/").content.decode()
    assert f'action="/customers/{c.pk}/files/"' in tab and "No files yet." in tab

    body = "报价 ¥100".encode()
    r = client.post(
        f"/customers/{c.pk}/files/",
        {"file": SimpleUploadedFile("报价单.txt", body, content_type="application/octet-stream")},
    )
    assert r.status_code == 302 and r["Location"] == f"/customers/{c.pk}/?tab=files"
    att = Attachment.objects.get(customer=c)
    assert att.name == "报价单.txt" and att.size == len(body) and att.uploaded_by == org.sales_rep1
    assert att.content_type == "text/plain"  # from the name, not the browser's claim
    assert att.follow_up_id is None

    tab = client.get(f"/customers/{c.pk}/tab/files/").content.decode()
    assert "报价单.txt" in tab and "bytes" in tab and str(org.sales_rep1) in tab
    assert f'href="/customers/{c.pk}/files/{att.pk}/"' in tab
    assert f'action="/customers/{c.pk}/files/{att.pk}/delete/"' in tab

    r = client.get(f"/customers/{c.pk}/files/{att.pk}/")
    assert r.status_code == 200 and b"".join(r.streaming_content) == body
    assert r["Content-Disposition"].startswith("attachment;")

    stored = media / att.file.name
    assert stored.exists()
    with pytest.MonkeyPatch.context() as mp:
        from django.db import transaction

        mp.setattr(transaction, "on_commit", lambda fn, *a, **k: fn())
        r = client.post(f"/customers/{c.pk}/files/{att.pk}/delete/")
    assert r.status_code == 302 and not Attachment.objects.filter(pk=att.pk).exists()
    assert not stored.exists()
    events = _audit(c, "attachments")
    assert [e.changes["attachments"] for e in events] == [[None, "报价单.txt"], ["报价单.txt", None]]
    assert all(e.actor_id == org.sales_rep1.pk for e in events)


def test_upload_refusals_are_shown_at_the_file_input(org, web, make_customer, media, monkeypatch):
    c = make_customer(org.sales_rep1)
    client = web(org.sales_rep1)
    hx = {"HTTP_HX_REQUEST": "true"}

    r = client.post(
        f"/customers/{c.pk}/files/",
        {
            "file": SimpleUploadedFile(
                "page.html", b"<html><script>alert(1)</script>", content_type="text/html"
            )
        },
        **hx,
    )
    html = r.content.decode()
    assert r.status_code == 200 and 'id="hb-upload-error"' in html and "web pages" in html
    r = client.post(
        f"/customers/{c.pk}/files/",
        {"file": SimpleUploadedFile("invoice.pdf", b"MZ\x90\x00binary", content_type="application/pdf")},
        **hx,
    )
    assert "cannot be attached" in r.content.decode()
    r = client.post(
        f"/customers/{c.pk}/files/",
        {"file": SimpleUploadedFile("empty.txt", b"", content_type="text/plain")},
        **hx,
    )
    assert "is empty" in r.content.decode()
    r = client.post(f"/customers/{c.pk}/files/", {}, **hx)
    assert "Choose a file." in r.content.decode()

    import huoban.customers.services as services

    monkeypatch.setattr(services, "MAX_ATTACHMENT_BYTES", 10)
    r = client.post(
        f"/customers/{c.pk}/files/",
        {"file": SimpleUploadedFile("big.txt", b"x" * 11, content_type="text/plain")},
        **hx,
    )
    assert "at most" in r.content.decode()
    # without HTMX: back to the tab with the message
    r = client.post(
        f"/customers/{c.pk}/files/", {"file": SimpleUploadedFile("big.txt", b"x" * 11)}, follow=True
    )
    assert "at most" in r.content.decode()
    assert not Attachment.objects.filter(customer=c).exists()
    # a successful HTMX upload answers with the refreshed tab and a toast
    monkeypatch.setattr(services, "MAX_ATTACHMENT_BYTES", 1000)
    r = client.post(f"/customers/{c.pk}/files/", {"file": SimpleUploadedFile("ok.csv", b"a,b\n1,2\n")}, **hx)
    assert "ok.csv" in r.content.decode() and "hb:toast" in r["HX-Trigger"]


def test_follow_up_files_show_on_the_customer_but_are_not_deleted_there(org, web, make_customer, media):
    from huoban.customers.services import attachment_add, follow_up_create

    c = make_customer(org.sales_rep1)
    fu = follow_up_create(actor=org.sales_rep1, customer=c, data={"content": "拜访"})
    att = attachment_add(actor=org.sales_rep1, follow_up=fu, file=SimpleUploadedFile("纪要.txt", b"notes"))
    client = web(org.sales_rep1)
    tab = client.get(f"/customers/{c.pk}/tab/files/").content.decode()
    assert "纪要.txt" in tab and f'href="/follow-ups/{fu.pk}/"' in tab
    assert f"/files/{att.pk}/delete/" not in tab
    assert client.post(f"/customers/{c.pk}/files/{att.pk}/delete/").status_code == 404
    assert client.get(f"/customers/{c.pk}/files/{att.pk}/").status_code == 200


# --- permissions per preset role ----------------------------------------------------------------------


def _fixture_customer(org, media):
    from huoban.customers.services import customer_address_add, customer_attachment_add, customer_create

    c = customer_create(
        actor=org.sales_rep1,
        data=_base(name="权限测试客户有限公司", phones=["0571-88888888"]),
        check_duplicates=False,
    )
    addr = customer_address_add(actor=org.sales_rep1, customer=c, data={"line": "文三路 1 号"})
    att = customer_attachment_add(
        actor=org.sales_rep1, customer=c, file=SimpleUploadedFile("合同.txt", b"contract")
    )
    return c, addr, att


def _writes(client, c, addr, att):
    """Status of every write the tabs offer."""
    return {
        "address_new_get": client.get(f"/customers/{c.pk}/addresses/new/").status_code,
        "address_new": client.post(f"/customers/{c.pk}/addresses/new/", {"line": "x"}).status_code,
        "address_edit": client.post(
            f"/customers/{c.pk}/addresses/{addr.pk}/edit/", {"line": "y"}
        ).status_code,
        "address_primary": client.post(f"/customers/{c.pk}/addresses/{addr.pk}/primary/").status_code,
        "address_delete": client.post(f"/customers/{c.pk}/addresses/{addr.pk}/delete/").status_code,
        "upload": client.post(
            f"/customers/{c.pk}/files/", {"file": SimpleUploadedFile("x.txt", b"x")}
        ).status_code,
        "file_delete": client.post(f"/customers/{c.pk}/files/{att.pk}/delete/").status_code,
    }


def _controls(client, c):
    tabs = (
        client.get(f"/customers/{c.pk}/tab/addresses/").content.decode()
        + client.get(f"/customers/{c.pk}/tab/files/").content.decode()
    )
    return any(s in tabs for s in ("/addresses/new/", "/edit/", "/primary/", "/delete/", 'name="file"'))


@pytest.mark.parametrize("username", ["service_agent", "finance", "marketing"])
def test_roles_without_change_see_no_controls_and_writes_are_refused(org, web, media, username):
    c, addr, att = _fixture_customer(org, media)
    client = web(getattr(org, username))
    assert client.get(f"/customers/{c.pk}/").status_code == 200
    assert not _controls(client, c)
    html = client.get(f"/customers/{c.pk}/tab/files/").content.decode()
    assert "合同.txt" in html  # they read the files …
    assert client.get(f"/customers/{c.pk}/files/{att.pk}/").status_code == 200
    # … but every write is refused (403: the function permission is missing)
    assert set(_writes(client, c, addr, att).values()) == {403}
    assert CustomerAddress.objects.filter(pk=addr.pk, line="文三路 1 号").exists()
    assert Attachment.objects.filter(pk=att.pk).exists()


@pytest.mark.parametrize("username", ["sales_rep2", "sales_rep3", "sales_manager_north"])
def test_colleagues_outside_the_scope_get_not_found(org, web, media, username):
    c, addr, att = _fixture_customer(org, media)
    client = web(getattr(org, username))
    assert client.get(f"/customers/{c.pk}/").status_code == 404
    assert client.get(f"/customers/{c.pk}/files/{att.pk}/").status_code == 404
    assert set(_writes(client, c, addr, att).values()) == {404}
    assert Attachment.objects.filter(pk=att.pk).exists()


def test_read_only_share_shows_no_controls_edit_share_may_change(org, web, media):
    from huoban.platform.records.services import share_record, unshare_record

    c, addr, att = _fixture_customer(org, media)
    share_record(actor=org.sales_rep1, obj=c, user=org.sales_rep2, level="read")
    client = web(org.sales_rep2)
    assert client.get(f"/customers/{c.pk}/").status_code == 200
    assert not _controls(client, c)
    assert client.get(f"/customers/{c.pk}/files/{att.pk}/").status_code == 200
    assert set(_writes(client, c, addr, att).values()) == {404}

    unshare_record(actor=org.sales_rep1, obj=c, user=org.sales_rep2)
    share_record(actor=org.sales_rep1, obj=c, user=org.sales_rep2, level="edit")
    assert _controls(client, c)
    r = client.post(f"/customers/{c.pk}/addresses/new/", {"line": "共享编辑地址"})
    assert r.status_code == 302 and c.addresses.filter(line="共享编辑地址").exists()


@pytest.mark.parametrize("username", ["sales_rep1", "sales_manager", "admin"])
def test_owner_manager_and_admin_may_change(org, web, media, username):
    c, addr, att = _fixture_customer(org, media)
    client = web(getattr(org, username))
    assert _controls(client, c)
    statuses = _writes(client, c, addr, att)
    assert statuses["address_new_get"] == 200
    assert all(v == 302 for k, v in statuses.items() if k != "address_new_get"), statuses


def test_services_check_permissions_themselves(org, make_customer, media):
    from huoban.customers.services import customer_address_add, customer_attachment_add
    from huoban.platform.errors import NotFoundError, PermissionDeniedError
    from huoban.platform.identity.actors import SystemActor

    c = make_customer(org.sales_rep1)
    with pytest.raises(PermissionDeniedError):
        customer_address_add(actor=org.service_agent, customer=c, data={"line": "x"})
    with pytest.raises(NotFoundError):
        customer_address_add(actor=org.sales_rep2, customer=c, data={"line": "x"})
    with pytest.raises(NotFoundError):
        customer_attachment_add(actor=org.sales_rep3, customer=c, file=SimpleUploadedFile("a.txt", b"a"))
    customer_address_add(actor=SystemActor("import"), customer=c, data={"line": "系统导入"})
    assert c.addresses.filter(line="系统导入").exists()


def test_upload_checks_names_types_and_content():
    from huoban.platform.errors import ValidationError
    from huoban.platform.records.uploads import check_upload, clean_filename

    assert clean_filename("C:\\Users\\李娜\\报价\x07单.pdf") == "报价单.pdf"
    assert clean_filename("../../etc/passwd") == "passwd"
    long = clean_filename("合" * 300 + ".xlsx")
    assert len(long) == 200 and long.endswith(".xlsx")
    ok = check_upload(SimpleUploadedFile("合同.docx", b"PK\x03\x04", content_type="text/plain"))
    assert ok.content_type.endswith("wordprocessingml.document") and ok.size == 4
    for name, body, claimed in (
        ("report.pdf.exe", b"%PDF", "application/pdf"),
        ("logo.svg", b"<svg/>", "image/svg+xml"),
        ("notes.txt", b"  <!DOCTYPE html><p>x", "text/plain"),
        ("data.bin", b"\x7fELF\x02", "application/octet-stream"),
        ("readme.txt", b"hello", "text/html"),
    ):
        with pytest.raises(ValidationError) as exc:
            check_upload(SimpleUploadedFile(name, body, content_type=claimed))
        assert "file" in exc.value.errors, name
