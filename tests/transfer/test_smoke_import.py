from huoban.customers.models import Customer
from huoban.platform.transfer.services import import_create

from .conftest import csv_bytes, upload


def test_basic_csv_import(org, industries):
    data = csv_bytes(
        [
            ["客户名称", "手机", "所属行业", "邮箱"],
            ["杭州甲科技有限公司", "138 0013 8000", "制造", "A@Example.COM"],
            ["杭州乙科技有限公司", "13900139000", "信息传输、软件和信息技术服务业", ""],
            ["杭州甲科技有限公司", "+86 138-0013-8000", "制造业", ""],
            ["", "13700137000", "制造", ""],
        ]
    )
    run = import_create(actor=org.sales_manager, object_type="customer", file=upload("c.csv", data))
    run.refresh_from_db()
    assert run.status == "done", run.error
    assert run.counts == {"read": 4, "created": 2, "updated": 0, "skipped": 1, "rejected": 1}
    names = set(Customer.objects.unrestricted().values_list("name", "phone", "industry", "email"))
    assert ("杭州甲科技有限公司", "+8613800138000", "C", "A@example.com") in names
