def test_lead_create_and_list(org, api):
    rep = api(org.sales_rep1)
    r = rep.post(
        "/api/v1/leads/",
        {"name": "王小明", "company": "杭州示例科技有限公司", "phone": "13800138000", "region": "浙江"},
        format="json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["region"] == "330000"
    assert body["phone"] == "+8613800138000"
    assert body["owner"]["username"] == "sales_rep1"
    assert body["number"].startswith("LEAD")
    assert rep.get("/api/v1/leads/").json()["count"] == 1
