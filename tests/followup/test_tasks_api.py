"""The consultant's tasks over HTTP: what employers' answers ask a consultant to do, who sees
which task, and closing one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from service.keys import DB, JOBS
from service.platform.db.models import Case, Consultant, ConsultantTask
from tests.meetings.email_cases import body, form_token, intake, invitation
from tests.support import Api, SmtpSink, link_path


async def test_employer_wish_for_other_times_is_a_task_to_close(mail_api: Api,
                                                                smtp_sink: SmtpSink) -> None:
    await intake(mail_api, body("o1"))
    path = link_path(await invitation(smtp_sink))
    csrf = await form_token(mail_api, path)
    resp = await mail_api.client.post(f"{path}/other-times", data={
        "csrf": csrf, "weekday": ["tue", "thu"], "part": "morning",
        "text": "Helst ikke i ferien"}, allow_redirects=False)
    assert resp.status == 303
    # The consultant sees the task through the API and can mark it done.
    listed = await (await mail_api.client.get("/api/tasks", headers=mail_api.auth("intake"))
                    ).json()
    task = next(t for t in listed["tasks"] if t["kind"] == "employer_other_times")
    assert task["case_id"] == "o1" and task["done_at"] is None
    assert "Helst ikke i ferien" in task["text"]
    done = await mail_api.client.post(f"/api/tasks/{task['id']}/done",
                                      headers=mail_api.auth("intake"))
    assert done.status == 200 and (await done.json())["done_at"] is not None
    still_open = await (await mail_api.client.get(
        "/api/tasks", headers=mail_api.auth("intake"))).json()
    assert task["id"] not in [t["id"] for t in still_open["tasks"]]
    assert (await mail_api.client.get("/api/tasks?state=soon",
                                      headers=mail_api.auth("intake"))).status == 422


# -- who sees which task -----------------------------------------------------------------------

async def add_tasks(api: Api, case_ref: str, *consultant_keys: str) -> list[int]:
    """One task per consultant on an existing case (as an employer's answer would add)."""
    async with api.client.app[DB].write() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == case_ref))
                ).unique().scalar_one()
        tasks = []
        for key in consultant_keys:
            consultant = (await session.execute(select(Consultant).where(
                Consultant.key == key))).scalar_one()
            task = ConsultantTask(municipality_id=case.municipality_id,
                                  consultant_id=consultant.id, case_id=case.id,
                                  kind="employer_declined", text=f"Ring til arbejdsgiveren ({key})")
            session.add(task)
            tasks.append(task)
        await session.flush()
        return [t.id for t in tasks]


async def tasks(api: Api, role: str, query: str = "") -> list[dict[str, Any]]:
    resp = await api.client.get(f"/api/tasks{query}", headers=api.auth(role))
    assert resp.status == 200, await resp.text()
    return (await resp.json())["tasks"]


async def test_a_consultant_sees_and_closes_only_their_own_tasks(sqlite_api: Api,
                                                                 demo_config) -> None:
    api = sqlite_api
    mine_key = demo_config.consultants[0].id  # the test consultant key belongs to them
    other_key = demo_config.consultants[1].id
    resp = await api.client.post("/api/cases", json=body("f1"), headers=api.auth("intake"))
    assert resp.status == 201, await resp.text()
    await api.client.app[JOBS].wait_idle()
    planned = {t["id"] for t in await tasks(api, "intake", "?state=all")}
    mine, other = await add_tasks(api, "f1", mine_key, other_key)

    own = await tasks(api, "consultant")
    assert mine in [t["id"] for t in own] and other not in [t["id"] for t in own]
    assert {t["consultant_id"] for t in own} == {mine_key}
    everyone = {t["id"] for t in await tasks(api, "intake")}
    assert {mine, other} <= everyone
    assert [t["id"] for t in await tasks(api, "manager", f"?consultant_id={other_key}")
            if t["id"] not in planned] == [other]

    refused = await api.client.post(f"/api/tasks/{other}/done", headers=api.auth("consultant"))
    assert refused.status == 403
    assert other in [t["id"] for t in await tasks(api, "intake")]  # still open

    done = await api.client.post(f"/api/tasks/{mine}/done", headers=api.auth("consultant"))
    assert done.status == 200
    done_at = (await done.json())["done_at"]
    assert done_at is not None
    again = await api.client.post(f"/api/tasks/{mine}/done", headers=api.auth("consultant"))
    assert again.status == 200 and (await again.json())["done_at"] == done_at  # kept
    assert [t["id"] for t in await tasks(api, "consultant", "?state=done")] == [mine]
    assert mine not in [t["id"] for t in await tasks(api, "consultant")]
    assert {mine, other} <= {t["id"] for t in await tasks(api, "intake", "?state=all")}
    for missing in ("999999", "abc"):
        resp = await api.client.post(f"/api/tasks/{missing}/done", headers=api.auth("intake"))
        assert resp.status == 404
