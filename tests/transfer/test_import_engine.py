"""Conversion through the engine: value maps, defaults, owners, picklists, custom fields, joins."""

import datetime as dt

import pytest

from huoban.customers.models import Customer
from huoban.platform.errors import PermissionDeniedError, ValidationError
from huoban.platform.records.models import CustomField

from .conftest import conserved, issues, run_import


def customers():
    return {c.name: c for c in Customer.objects.unrestricted().all()}


def test_transformations_end_to_end(org, industries):
    rows = [
        ["客户名称", "手机", "所属行业", "邮箱", "客户类型", "客户阶段", "负责人", "标签"],
        [
            "\u3000杭州甲科技有限公司 ",
            "１３８ ００１３ ８０００",
            "制造",
            "A@EXAMPLE.com",
            "个人",
            "意向客户",
            "sales_rep1",
            "重点,华东",
        ],
        ["上海乙贸易有限公司", "021-6888 8888", "批发和零售业", "", "公司", "成交客户", "张伟 Zhang Wei", ""],
        ["北京丙有限公司", "13900139000", "C", "", "company", "Loyal", "", "重点"],
    ]
    run = run_import(org.sales_manager, rows)
    assert run.status == "done", run.error
    assert run.counts == {"read": 3, "created": 3, "updated": 0, "skipped": 0, "rejected": 0}, issues(run)
    c = customers()
    a = c["杭州甲科技有限公司"]
    assert a.phone == "+8613800138000" and a.industry == "C" and a.email == "A@example.com"
    assert a.kind == "individual" and a.lifecycle_stage == "prospect"
    assert a.owner == org.sales_rep1 and a.owner_unit_id == org.sales_rep1.primary_unit_id
    assert a.tag_names == ["华东", "重点"]
    assert a.number.startswith("CUST")
    assert a.created_by == org.sales_manager and a.version == 1
    b = c["上海乙贸易有限公司"]
    assert b.phone == "+862168888888" and b.industry == "F" and b.owner == org.sales_rep2
    assert b.kind == "company" and b.lifecycle_stage == "customer"
    assert c["北京丙有限公司"].owner == org.sales_manager  # empty owner: the importer
    assert c["北京丙有限公司"].lifecycle_stage == "loyal"


def test_value_maps_and_defaults(org, industries):
    rows = [["名称", "行业", "来源"], ["甲公司", "机械", ""], ["乙公司", "", "展会"]]
    options = {
        "fields": {
            "industry": {"values": {"机械": "C"}, "default": "I"},
            "source": {"default": "other"},
            "lifecycle_stage": {"default": "customer"},
        }
    }
    run = run_import(
        org.admin, rows, mapping={"名称": "name", "行业": "industry", "来源": "source"}, options=options
    )
    assert run.counts["created"] == 2, issues(run)
    c = customers()
    assert c["甲公司"].industry == "C" and c["甲公司"].source == "other"
    assert c["乙公司"].industry == "I" and c["乙公司"].source == "exhibition"
    assert c["甲公司"].lifecycle_stage == "customer"  # a default for a column the file does not have


def test_unknown_picklist_value_is_rejected_with_the_column(org, industries):
    run = run_import(org.admin, [["客户名称", "所属行业"], ["甲公司", "不存在的行业"]])
    assert run.counts["rejected"] == 1
    [(row, errors)] = issues(run)
    assert row == 2 and errors[0]["column"] == "所属行业" and errors[0]["field"] == "industry"


def test_owner_needs_assign_permission_and_must_exist(org, industries):
    from huoban.platform.identity.models import Role

    role = Role.objects.get(code="sales_rep")
    role.permissions = {**role.permissions, "customer": [*role.permissions["customer"], "import"]}
    role.save()
    rep = type(org.sales_rep1).objects.get(pk=org.sales_rep1.pk)
    run = run_import(
        rep,
        [["客户名称", "负责人"], ["甲公司", "sales_rep2"], ["乙公司", "sales_rep1"], ["丙公司", "nobody"]],
    )
    assert run.counts == {"read": 3, "created": 1, "updated": 0, "skipped": 0, "rejected": 2}
    msgs = [e[0]["message"] for _r, e in issues(run)]
    assert "assign" in msgs[0] and "nobody" in msgs[1]


def test_custom_fields_of_every_type(org, industries):
    CustomField.objects.create(
        object_type="customer",
        key="level",
        label="Level",
        label_zh_hans="客户等级",
        type="single_select",
        options=[{"value": "A", "label": "A级", "label_zh_hans": "A级"}, "B"],
    )
    CustomField.objects.create(
        object_type="customer", key="budget", label="Budget", label_zh_hans="预算", type="decimal"
    )
    CustomField.objects.create(
        object_type="customer", key="signed", label="Signed on", label_zh_hans="签约日期", type="date"
    )
    CustomField.objects.create(object_type="customer", key="vip", label="VIP", type="boolean")
    CustomField.objects.create(
        object_type="customer", key="seats", label="Seats", type="integer", required=True
    )
    CustomField.objects.create(
        object_type="customer", key="areas", label="Areas", type="multi_select", options=["东", "西"]
    )
    rows = [
        ["客户名称", "客户等级", "预算", "签约日期", "VIP", "Seats", "Areas"],
        ["甲公司", "A级", "¥1,234.50", "2024年3月5日", "是", "10", "东、西"],
        ["乙公司", "C", "abc", "2024-02-30", "maybe", "", "北"],
    ]
    run = run_import(org.admin, rows)
    assert run.counts["created"] == 1 and run.counts["rejected"] == 1
    cf = customers()["甲公司"].custom_fields
    assert cf == {
        "level": "A",
        "budget": "1234.50",
        "signed": "2024-03-05",
        "vip": True,
        "seats": 10,
        "areas": ["东", "西"],
    }
    [(row, errors)] = issues(run)
    assert {e["field"] for e in errors} == {"cf.level", "cf.budget", "cf.signed", "cf.vip", "cf.areas"}
    # required custom field missing on create
    run = run_import(org.admin, [["客户名称"], ["丙公司"]])
    assert run.counts["rejected"] == 1
    assert issues(run)[0][1][0]["field"] == "cf.seats"


def test_several_columns_joined_into_one_field(org):
    rows = [
        ["First Name", "Last Name", "Phone"],
        ["John", "Smith", "13800138000"],
        ["张", "三", "13900139000"],
    ]
    run = run_import(org.admin, rows, mapping={"First Name": "name", "Last Name": "name", "Phone": "phone"})
    assert run.counts["created"] == 2, issues(run)
    assert set(customers()) == {"John Smith", "张三"}


def test_date_and_number_options(org):
    CustomField.objects.create(object_type="customer", key="since", label="Since", type="date")
    CustomField.objects.create(object_type="customer", key="amount", label="Amount", type="decimal")
    rows = [["客户名称", "Since", "Amount"], ["甲公司", "03/04/2024", "1.234,50"]]
    run = run_import(org.admin, rows, options={"date_format": "DD/MM/YYYY", "decimal_separator": ","})
    assert run.counts["created"] == 1, issues(run)
    assert customers()["甲公司"].custom_fields == {"since": "2024-04-03", "amount": "1234.50"}


def test_customers_app_validation_applies(org):
    rows = [
        ["客户名称", "统一社会信用代码", "身份证号码", "网址"],
        ["甲公司", "91330100MA27X1234X", "", "www.example.com"],
        ["乙公司", "", "", "www.example.com"],
    ]
    run = run_import(org.admin, rows, mapping={"统一社会信用代码": "uscc", "身份证号码": "id_number"})
    assert run.counts["rejected"] == 1 and run.counts["created"] == 1
    assert issues(run)[0][1][0]["field"] == "uscc"
    b = customers()["乙公司"]
    assert b.website == "https://www.example.com" and b.name_key


def test_invalid_options_are_refused(org):
    with pytest.raises(ValidationError):
        run_import(org.admin, [["客户名称"], ["甲"]], options={"date_format": "YYYY/DD"})
    with pytest.raises(ValidationError):
        run_import(org.admin, [["客户名称"], ["甲"]], options={"fields": {"nope": {}}})
    with pytest.raises(ValidationError):
        run_import(org.admin, [["客户名称"], ["甲"]], mapping={"客户名称": "nope"})
    with pytest.raises(ValidationError):
        run_import(org.admin, [["客户名称"], ["甲"]], object_type="audit_event")


def test_rep_without_import_permission_is_refused(org):
    with pytest.raises(PermissionDeniedError):
        run_import(org.sales_rep1, [["客户名称"], ["甲"]])


def test_datetime_cells_from_xlsx(org):
    from .conftest import xlsx_bytes

    CustomField.objects.create(object_type="customer", key="met", label="Met", type="datetime")
    data = xlsx_bytes([["客户名称", "Met", "手机"], ["甲公司", dt.datetime(2024, 1, 5, 9, 30), 13800138000]])
    run = run_import(org.admin, data, name="c.xlsx")
    assert run.counts["created"] == 1, issues(run)
    c = customers()["甲公司"]
    assert c.phone == "+8613800138000"
    assert c.custom_fields["met"].startswith("2024-01-05T09:30:00+08:00")
    assert conserved(run)


def test_the_collector_is_given_back_after_a_run(org, industries):
    """A run keeps the heap alive at its start out of the garbage collector's reach, and gives it
    back when it ends (unless the process had frozen it before, as a web worker does)."""
    import gc

    rows = [["客户名称", "手机"], ["杭州冻结科技有限公司", "13800138000"]]
    gc.unfreeze()
    run_import(org.sales_manager, rows)
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        run = run_import(org.sales_manager, [rows[0], ["杭州冻结二科技有限公司", "13900139000"]])
        assert run.counts["created"] == 1
        assert gc.get_freeze_count() > 0  # still frozen (objects that died meanwhile left it)
    finally:
        gc.unfreeze()
