"""The wizard through Django's test client: upload → map → preview → run → report → errors → re-import."""

from .conftest import csv_bytes, upload


def test_wizard_end_to_end(client, org, industries):
    client.force_login(org.sales_manager)
    r = client.get("/imports/")
    assert r.status_code == 200
    r = client.get("/imports/new/")
    assert r.status_code == 200
    data = csv_bytes(
        [["公司名称", "联系电话", "行业"], ["甲公司", "13800138000", "制造"], ["乙公司", "12", "制造"]],
        encoding="gb18030",
    )
    r = client.post("/imports/new/", {"object_type": "customer", "file": upload("c.csv", data)})
    assert r.status_code == 302, r.content
    url = r["Location"]
    assert url.endswith("/map/")
    r = client.get(url)
    assert r.status_code == 200
    html = r.content.decode()
    assert "gb18030" in html
    pk = int(url.strip("/").split("/")[1])
    r = client.post(
        url,
        {
            "action": "preview",
            "map_0": "name",
            "map_1": "phone",
            "map_2": "industry",
            "dedup": "skip",
            "match_keys": ["name_phone"],
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    r = client.get(f"/imports/{pk}/preview/")
    assert r.status_code == 200
    assert "13800138000" in r.content.decode() or "+8613800138000" in r.content.decode()
    r = client.post(f"/imports/{pk}/run/")
    assert r.status_code == 302
    r = client.get(f"/imports/{pk}/")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'data-count="created"' in html
    r = client.get(f"/imports/{pk}/errors/")
    assert r.status_code == 200
    assert r.content.decode("gb18030").splitlines()[1].startswith("乙公司")
    r = client.get(f"/imports/new/?from={pk}")
    assert r.status_code == 200
    fixed = csv_bytes(
        [["公司名称", "联系电话", "行业"], ["乙公司", "13900139000", "制造"]], encoding="gb18030"
    )
    r = client.post("/imports/new/", {"from": pk, "file": upload("fixed.csv", fixed)})
    assert r.status_code == 302
    r = client.get("/exports/new/?object_type=customer")
    assert r.status_code == 200
    r = client.post(
        "/exports/new/",
        {"object_type": "customer", "query": "", "format": "csv", "columns": ["name", "phone"]},
    )
    assert r.status_code == 200
    assert b"".join(r.streaming_content).decode("utf-8-sig").splitlines()[0].endswith("phone")


def test_pages_in_chinese(client, org):
    user = org.sales_manager
    user.language = "zh-hans"
    user.save(update_fields=["language"])
    client.force_login(user)
    html = client.get("/imports/new/").content.decode()
    assert "新建导入" in html and "上传并识别" in html
    data = csv_bytes([["客户名称", "手机"], ["甲公司", "123"]])
    r = client.post("/imports/new/", {"object_type": "customer", "file": upload("c.csv", data)})
    pk = int(r["Location"].strip("/").split("/")[1])
    html = client.get(r["Location"]).content.decode()
    assert "把列映射到字段" in html and "不导入" in html
    client.post(r["Location"], {"action": "preview", "map_0": "name", "map_1": "phone", "dedup": "skip"})
    html = client.get(f"/imports/{pk}/preview/").content.decode()
    assert "导入将如何处理整个文件" in html and "不是有效的电话号码" in html
    client.post(f"/imports/{pk}/run/")
    html = client.get(f"/imports/{pk}/").content.decode()
    assert "清洗报告" in html and "被拒绝的行" in html and "下载错误文件" in html
    r = client.get(f"/imports/{pk}/errors/")
    assert r.content.decode("utf-8").splitlines()[0] == "客户名称,手机,错误"


def test_progress_page_polls_while_running(client, org):
    from huoban.platform.transfer.models import ImportRun
    from huoban.platform.transfer.services import import_upload

    run = import_upload(
        actor=org.admin, object_type="customer", file=upload("c.csv", csv_bytes([["客户名称"], ["甲"]]))
    )
    ImportRun.objects.filter(pk=run.pk).update(status="running", progress=40)
    client.force_login(org.admin)
    html = client.get(f"/imports/{run.pk}/").content.decode()
    assert f'data-transfer-poll="/api/v1/imports/{run.pk}/"' in html and 'value="40"' in html
    assert "transfer/transfer.js" in html and "<script>" not in html.replace("<script src", "")


def test_permissions_on_pages(client, org):
    client.force_login(org.sales_rep1)
    assert client.get("/imports/new/").status_code == 403
    assert client.get("/imports/").status_code == 200
    from huoban.platform.transfer.services import import_upload

    run = import_upload(
        actor=org.admin, object_type="customer", file=upload("c.csv", csv_bytes([["客户名称"], ["甲"]]))
    )
    assert client.get(f"/imports/{run.pk}/map/").status_code == 404
    assert client.get(f"/imports/{run.pk}/errors/").status_code == 404
