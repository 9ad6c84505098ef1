"""Dedup strategies (skip / update / create) and match keys (USCC, name + phone, email, custom field)."""

from huoban.customers.models import Customer
from huoban.customers.services import customer_create
from huoban.platform.audit.models import AuditEvent
from huoban.platform.records.models import CustomField

from .conftest import conserved, issues, run_import

HEADER = ["客户名称", "手机", "邮箱", "地址"]


def existing(org, **kw):
    data = {"name": "杭州甲科技有限公司", "phone": "13800138000", "email": "old@example.com", **kw}
    return customer_create(actor=org.sales_manager, data=data, confirm_duplicate=True)


def live():
    return Customer.objects.unrestricted().filter(deleted_at__isnull=True)


def test_skip_duplicates_in_db_and_in_file(org):
    existing(org)
    rows = [
        HEADER,
        ["杭州甲科技有限公司", "138-0013-8000", "", ""],  # same as the database (other spelling of the phone)
        ["上海乙贸易有限公司", "13900139000", "", ""],
        ["上海乙贸易有限公司 ", "139 0013 9000", "", ""],  # same as the row above
        ["(上海)乙贸易有限公司", "13900139000", "", ""],  # same name key (region in brackets)
        ["上海乙贸易有限公司", "13700137000", "", ""],  # same name, other phone: not a duplicate
    ]
    run = run_import(org.sales_manager, rows, dedup="skip", match_keys=["name_phone"])
    assert run.counts == {"read": 5, "created": 2, "updated": 0, "skipped": 3, "rejected": 0}
    reasons = [e[0]["message"] for _r, e in issues(run, "skipped")]
    assert "existing record" in reasons[0] and "row 3" in reasons[1] and "row 3" in reasons[2]
    assert live().count() == 3


def test_update_existing_restores_on_undo(org):
    c = existing(org, address="旧地址")
    rows = [HEADER, ["杭州甲科技有限公司", "13800138000", "new@example.com", "新地址"]]
    run = run_import(org.sales_manager, rows, dedup="update", match_keys=["name_phone"])
    assert run.counts["updated"] == 1 and conserved(run)
    c.refresh_from_db()
    assert c.email == "new@example.com" and c.address == "新地址" and c.version == 2
    ev = AuditEvent.objects.filter(object_type="customer", object_id=str(c.pk), action="update").first()
    assert ev.changes["email"] == ["old@example.com", "new@example.com"] and ev.data["import"] == run.pk
    # identifiers follow (the customers app's exact duplicate lookups)
    assert set(c.identifiers.values_list("value", flat=True)) == {"+8613800138000", "new@example.com"}


def test_update_with_empty_cells_keeps_values_unless_asked(org):
    c = existing(org)
    rows = [HEADER, ["杭州甲科技有限公司", "13800138000", "", "地址"]]
    run_import(org.sales_manager, rows, dedup="update")
    c.refresh_from_db()
    assert c.email == "old@example.com" and c.address == "地址"
    run = run_import(org.sales_manager, rows, dedup="update", options={"update_empty": True})
    c.refresh_from_db()
    assert c.email == "" and run.counts["updated"] == 1


def test_update_without_changes_is_skipped(org):
    existing(org)
    rows = [HEADER, ["杭州甲科技有限公司", "13800138000", "old@example.com", ""]]
    run = run_import(org.sales_manager, rows, dedup="update")
    assert run.counts == {"read": 1, "created": 0, "updated": 0, "skipped": 1, "rejected": 0}
    assert "nothing to update" in issues(run, "skipped")[0][1][0]["message"]


def test_update_in_file_duplicates_merge(org):
    rows = [HEADER, ["甲公司", "13800138000", "", "一"], ["甲公司", "13800138000", "a@b.cn", ""]]
    run = run_import(org.sales_manager, rows, dedup="update")
    assert run.counts == {"read": 2, "created": 1, "updated": 1, "skipped": 0, "rejected": 0}
    c = live().get()
    assert c.email == "a@b.cn" and c.address == "一"
    # the related rows come from the merged values, not from the first row alone
    assert set(c.identifiers.values_list("value", flat=True)) == {"+8613800138000", "a@b.cn"}
    assert list(c.addresses.values_list("line", "is_primary")) == [("一", True)]


def test_update_matches_outside_scope_are_skipped(org):
    other = customer_create(actor=org.sales_manager_north, data={"name": "北方公司", "phone": "13800138000"})
    rows = [HEADER, ["北方公司", "13800138000", "x@y.cn", ""]]
    run = run_import(org.sales_manager, rows, dedup="update")
    assert run.counts["skipped"] == 1 and run.counts["updated"] == 0
    other.refresh_from_db()
    assert other.email == ""


def test_create_anyway(org):
    existing(org)
    rows = [
        HEADER,
        ["杭州甲科技有限公司", "13800138000", "", ""],
        ["杭州甲科技有限公司", "13800138000", "", ""],
    ]
    run = run_import(org.sales_manager, rows, dedup="create")
    assert run.counts["created"] == 2
    assert live().count() == 3


def test_match_on_uscc_email_and_custom_field(org):
    existing(org, uscc="91330100MA27X1234D", email="x@example.com")
    CustomField.objects.create(object_type="customer", key="erp_id", label="ERP id", type="text")
    Customer.objects.unrestricted().update(custom_fields={"erp_id": "E-1"})
    rows = [["客户名称", "统一社会信用代码", "邮箱", "ERP id"], ["别名一", "91330100MA27X1234D", "", ""]]
    run = run_import(org.admin, rows, match_keys=["uscc"])
    assert run.counts["skipped"] == 1
    rows = [["客户名称", "统一社会信用代码", "邮箱", "ERP id"], ["别名二", "", "X@Example.com", ""]]
    assert run_import(org.admin, rows, match_keys=["email"]).counts["skipped"] == 1
    rows = [["客户名称", "统一社会信用代码", "邮箱", "ERP id"], ["别名三", "", "", "E-1"]]
    assert run_import(org.admin, rows, match_keys=["cf:erp_id"]).counts["skipped"] == 1
    rows = [["客户名称", "统一社会信用代码", "邮箱", "ERP id"], ["别名四", "", "", "E-2"]]
    assert run_import(org.admin, rows, match_keys=["cf:erp_id", "uscc"]).counts["created"] == 1


def test_several_match_keys_any_matches(org):
    existing(org)
    rows = [HEADER, ["完全不同的名字", "13900139000", "OLD@example.com", ""]]
    run = run_import(org.admin, rows, match_keys=["name_phone", "email"])
    assert run.counts["skipped"] == 1
    assert "Email" in issues(run, "skipped")[0][1][0]["message"]


def test_dry_run_projects_counts_and_writes_nothing(org):
    existing(org)
    rows = [
        HEADER,
        ["杭州甲科技有限公司", "13800138000", "", ""],
        ["新公司", "13900139000", "", ""],
        ["新公司", "13900139000", "", ""],
        ["坏", "123", "", ""],
    ]
    run = run_import(org.admin, rows, dry_run=True)
    assert run.counts == {"read": 4, "created": 1, "updated": 0, "skipped": 2, "rejected": 1}
    assert live().count() == 1
    preview = run.preview["rows"]
    assert [r["action"] for r in preview] == ["skipped", "created", "skipped", "rejected"]
    assert preview[1]["values"]["phone"] == "+8613900139000"
    assert preview[3]["errors"][0]["column"] == "手机"
    assert "row 3" in preview[2]["message"]


def test_update_moves_the_primary_address(org):
    from huoban.customers.models import CustomerAddress

    a = existing(org, address="旧地址")
    b = existing(org, name="上海乙贸易有限公司", phone="13900139000", address="乙旧址")
    assert CustomerAddress.objects.filter(customer=a, is_primary=True, line="旧地址").exists()
    rows = [
        HEADER,
        ["杭州甲科技有限公司", "13800138000", "", "新地址"],
        ["上海乙贸易有限公司", "13900139000", "", "乙新址"],
    ]
    run = run_import(org.sales_manager, rows, dedup="update", match_keys=["name_phone"])
    assert run.counts["updated"] == 2, issues(run)
    assert list(CustomerAddress.objects.filter(customer=a).values_list("line", "is_primary")) == [
        ("新地址", True)
    ]
    assert list(CustomerAddress.objects.filter(customer=b).values_list("line", "is_primary")) == [
        ("乙新址", True)
    ]
