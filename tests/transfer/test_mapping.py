"""Mapping suggestions from English, Chinese, Salesforce and HubSpot headers; mapping validation."""

from huoban.platform.transfer.mapping import resolve_mapping, suggest_mapping
from huoban.platform.transfer.registry import get_importer


def test_chinese_headers(db):
    imp = get_importer("customer")
    m = suggest_mapping(
        imp,
        ["客户名称", "联系方式", "所属行业", "电子邮箱", "统一社会信用代码", "负责人", "地址", "备注说明"],
    )
    assert m["客户名称"] == "name"
    assert m["联系方式"] == "phone"
    assert m["所属行业"] == "industry"
    assert m["电子邮箱"] == "email"
    assert m["统一社会信用代码"] == "uscc"
    assert m["负责人"] == "owner"
    assert m["地址"] == "address"


def test_alternative_chinese_names(db):
    imp = get_importer("customer")
    for header in ("客户全称", "公司名称", "企业名称"):
        assert suggest_mapping(imp, [header]) == {header: "name"}
    for header in ("手机", "电话", "联系电话", "手机号码"):
        assert suggest_mapping(imp, [header]) == {header: "phone"}
    assert suggest_mapping(imp, ["客户名称*"]) == {"客户名称*": "name"}
    assert suggest_mapping(imp, ["电话(必填)"]) == {"电话(必填)": "phone"}
    assert suggest_mapping(imp, ["客户联系电话"]) == {"客户联系电话": "phone"}


def test_salesforce_and_hubspot_exports(db):
    imp = get_importer("customer")
    sf = suggest_mapping(
        imp, ["Account Name", "Phone", "Website", "Industry", "Account Owner", "Billing Street"]
    )
    assert sf == {
        "Account Name": "name",
        "Phone": "phone",
        "Website": "website",
        "Industry": "industry",
        "Account Owner": "owner",
        "Billing Street": "address",
    }
    hs = suggest_mapping(
        imp, ["Company name", "Phone Number", "Website URL", "Company owner", "Lifecycle Stage"]
    )
    assert hs == {
        "Company name": "name",
        "Phone Number": "phone",
        "Website URL": "website",
        "Company owner": "owner",
        "Lifecycle Stage": "lifecycle_stage",
    }
    assert suggest_mapping(imp, ["Acount Name"]) == {"Acount Name": "name"}  # close spelling


def test_each_field_once_and_unknown_headers(db):
    imp = get_importer("customer")
    m = suggest_mapping(imp, ["手机", "电话", "Something else"])
    assert list(m.values()).count("phone") == 1
    assert "Something else" not in m


def test_contact_headers(db):
    imp = get_importer("contact")
    m = suggest_mapping(imp, ["姓名", "客户名称", "手机", "职务", "微信"])
    assert m == {"姓名": "name", "客户名称": "customer", "手机": "mobile", "职务": "title", "微信": "wechat"}


def test_resolve_mapping(db):
    imp = get_importer("customer")
    mapping, errors = resolve_mapping(imp, ["A", "手机"], {"A": "name"})
    assert mapping == {"A": "name", "手机": "phone"} and not errors
    mapping, errors = resolve_mapping(imp, ["A"], {"A": "nope", "B": "name"})
    assert len(errors["mapping"]) == 2
    mapping, errors = resolve_mapping(imp, ["手机"], {"手机": None})
    assert mapping == {}
