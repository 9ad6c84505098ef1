"""Templates on the map page, lenient template mapping, re-import of a fixed file."""

from huoban.platform.transfer.models import ImportRun, ImportTemplate
from huoban.platform.transfer.services import import_reimport, import_upload, template_save

from .conftest import csv_bytes, upload


def test_template_columns_missing_from_the_file_are_ignored(org):
    tpl = template_save(
        actor=org.admin,
        object_type="customer",
        name="t",
        mapping={"公司": "name", "电话号码": "phone", "不存在": "email"},
        options={"dedup": "update"},
    )
    run = import_upload(
        actor=org.admin,
        object_type="customer",
        file=upload("c.csv", csv_bytes([["公司", "电话号码"], ["甲", "1"]])),
        template=tpl,
    )
    assert run.mapping == {"公司": "name", "电话号码": "phone"} and run.dedup == "update"


def test_reimport_keeps_mapping_and_options(org):
    first = import_upload(
        actor=org.admin,
        object_type="customer",
        file=upload("c.csv", csv_bytes([["A", "B", "C"], ["甲", "13800138000", "x"]])),
        mapping={"A": "name", "B": "phone", "C": None},
        dedup="create",
        options={"date_format": "DD/MM/YYYY"},
    )
    fixed = upload("fixed.csv", csv_bytes([["A", "B", "Error"], ["乙", "13900139000", "手机: …"]]))
    again = import_reimport(actor=org.admin, previous=first, file=fixed, file_name="fixed.csv")
    assert again.mapping["A"] == "name" and again.mapping["B"] == "phone" and "Error" not in again.mapping
    assert again.dedup == "create" and again.options == {"date_format": "DD/MM/YYYY"}


def test_map_page_saves_and_applies_templates(client, org):
    client.force_login(org.admin)
    r = client.post(
        "/imports/new/",
        {
            "object_type": "customer",
            "file": upload("c.csv", csv_bytes([["甲列", "乙列"], ["甲", "13800138000"]])),
        },
    )
    url = r["Location"]
    r = client.post(
        url,
        {
            "action": "save",
            "map_0": "name",
            "map_1": "phone",
            "default_1": "",
            "dedup": "update",
            "match_keys": ["name_phone", "email"],
            "value_maps": "industry: 机械 = C",
            "template_name": "我的模板",
        },
    )
    assert r.status_code == 302
    tpl = ImportTemplate.objects.get(name="我的模板")
    assert tpl.mapping == {"甲列": "name", "乙列": "phone"}
    assert tpl.options["dedup"] == "update" and tpl.options["match_keys"] == ["name_phone", "email"]
    assert tpl.options["fields"]["industry"]["values"] == {"机械": "C"}
    r = client.post(
        "/imports/new/",
        {"object_type": "customer", "file": upload("d.csv", csv_bytes([["甲列", "乙列"], ["乙", "1"]]))},
    )
    url2 = r["Location"]
    run2 = ImportRun.objects.get(pk=int(url2.strip("/").split("/")[1]))
    assert run2.mapping == {}  # no suggestion for these headers
    r = client.post(url2, {"action": "apply_template", "template": tpl.pk})
    run2.refresh_from_db()
    assert run2.mapping == {"甲列": "name", "乙列": "phone"} and run2.dedup == "update"
    r = client.post(url2, {"action": "preview", "map_0": "name", "map_1": "phone", "value_maps": "bad line"})
    assert r.status_code == 200 and "Value map line 1" in r.content.decode()


def test_reread_with_another_encoding_and_header_row(client, org):
    client.force_login(org.admin)
    data = csv_bytes([["客户名单"], ["客户名称", "手机"], ["甲", "13800138000"]], encoding="gbk")
    r = client.post("/imports/new/", {"object_type": "customer", "file": upload("c.csv", data)})
    url = r["Location"]
    run = ImportRun.objects.get(pk=int(url.strip("/").split("/")[1]))
    assert run.header_row == 2 and run.headers == ["客户名称", "手机"] and run.encoding == "gb18030"
    client.post(url, {"action": "reread", "encoding": "utf-8", "header_row": "2"})
    run.refresh_from_db()
    assert run.encoding == "utf-8" and run.detected_encoding == "gb18030"
    assert run.headers != ["客户名称", "手机"]  # mojibake: the user sees it and switches back
    client.post(url, {"action": "reread", "encoding": "gb18030", "header_row": "2"})
    run.refresh_from_db()
    assert run.headers == ["客户名称", "手机"] and run.mapping == {"客户名称": "name", "手机": "phone"}


def test_unknown_list_params_do_not_break_lists(org, api):
    assert api(org.admin).get("/api/v1/imports/?cf_x=1&q=a").status_code == 200
    assert api(org.admin).get("/api/v1/exports/?cf_x=1").status_code == 200
    assert api(org.admin).get("/api/v1/import-templates/?cf_x=1").status_code == 200
