"""Pipelines and stages: the default pipeline from the data migration, administration, rules."""

from __future__ import annotations

from django.utils import translation

from huoban.sales.models import Pipeline, Stage


def test_default_pipeline_from_migration(pipeline):
    stages = list(pipeline.stages.order_by("position"))
    assert [s.name_zh_hans for s in stages] == ["需求确认", "方案报价", "合同谈判", "赢单", "输单"]
    assert [s.type for s in stages] == ["open", "open", "open", "won", "lost"]
    assert pipeline.is_default
    with translation.override("zh-hans"):
        assert stages[1].label == "方案报价" and pipeline.label == "销售流程"
    with translation.override("en"):
        assert stages[1].label == "Proposal / quote"


def test_pipeline_api(org, api, pipeline):
    rep = api(org.sales_rep1)
    r = rep.get("/api/v1/pipelines/")
    assert r.status_code == 200
    assert r.json()[0]["stages"][0]["code"] == "needs_confirmed"
    body = {
        "code": "projects",
        "name": "Projects",
        "name_zh_hans": "项目型销售",
        "stages": [
            {
                "code": "lead",
                "name": "Qualify",
                "name_zh_hans": "资格确认",
                "type": "open",
                "probability": 10,
            },
            {
                "code": "tender",
                "name": "Tender",
                "name_zh_hans": "投标",
                "type": "open",
                "probability": 50,
                "required_fields": ["amount", "competitors"],
                "max_dwell_days": 30,
            },
            {"code": "won", "name": "Won", "name_zh_hans": "赢单", "type": "won", "probability": 100},
            {"code": "lost", "name": "Lost", "name_zh_hans": "输单", "type": "lost", "probability": 0},
        ],
    }
    assert rep.post("/api/v1/pipelines/", body, format="json").status_code == 403
    admin = api(org.admin)
    r = admin.post("/api/v1/pipelines/", body, format="json")
    assert r.status_code == 201, r.content
    created = r.json()
    assert [s["position"] for s in created["stages"]] == [1, 2, 3, 4]
    # reorder and rename through the stages list; a missing stage without opportunities is deleted
    stages = created["stages"]
    patch = {"stages": [stages[1] | {"name": "Bid"}, stages[0], stages[2], stages[3]]}
    r = admin.patch(f"/api/v1/pipelines/{created['id']}/", patch, format="json")
    assert r.status_code == 200, r.content
    assert [s["code"] for s in r.json()["stages"]] == ["tender", "lead", "won", "lost"]
    bad = {**body, "code": "bad", "stages": body["stages"][:2]}
    r = admin.post("/api/v1/pipelines/", bad, format="json")
    assert r.status_code == 400 and "stages" in r.json()
    bad = {
        **body,
        "code": "bad2",
        "stages": [body["stages"][0] | {"required_fields": ["salary"]}, *body["stages"][1:]],
    }
    assert admin.post("/api/v1/pipelines/", bad, format="json").status_code == 400
    # making it the default removes the flag from the other
    admin.patch(f"/api/v1/pipelines/{created['id']}/", {"is_default": True}, format="json")
    assert list(Pipeline.objects.filter(is_default=True).values_list("code", flat=True)) == ["projects"]
    assert api(org.service_agent).get("/api/v1/pipelines/").status_code == 403


def test_stage_in_use_is_deactivated_not_deleted(org, api, pipeline, make_opp, stages):
    make_opp(stage=stages["needs_confirmed"])
    admin = api(org.admin)
    current = admin.get(f"/api/v1/pipelines/{pipeline.pk}/").json()["stages"]
    keep = [s for s in current if s["code"] != "needs_confirmed"]
    r = admin.patch(f"/api/v1/pipelines/{pipeline.pk}/", {"stages": keep}, format="json")
    assert r.status_code == 200, r.content
    assert Stage.objects.get(pipeline=pipeline, code="needs_confirmed").active is False
    # deleting a pipeline with opportunities deactivates it
    assert admin.delete(f"/api/v1/pipelines/{pipeline.pk}/").status_code == 204
    pipeline.refresh_from_db()
    assert pipeline.active is False
