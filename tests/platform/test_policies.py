"""One policy per action on a case (service/platform/policies.py): the API states and
enforces exactly its roles, and the use cases enforce it and their input models for every
caller — a page, Slack or the simulation calls them without the API's checks in front."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.keys import CASE_CLOSING, INTAKE, OUTCOMES
from service.platform.auth import Principal
from service.platform.errors import Forbidden, Invalid
from service.platform.policies import (
    CHOOSE_OWNER,
    CLOSE_CASE,
    CONFIRM_MEETING,
    PATCH_FACTS,
    READ_CASE,
    REGISTER_CONTACT,
    REGISTER_INTERVENTION,
    REGISTER_MEETING,
    REOPEN_CASE,
    Policy,
)
from tests.meetings.email_cases import body, intake
from tests.support import Api, today_local

OPERATIONS: dict[tuple[str, str], Policy] = {
    ("get", "/api/cases/{case_id}"): READ_CASE,
    ("patch", "/api/cases/{case_id}"): PATCH_FACTS,
    ("put", "/api/cases/{case_id}/owner"): CHOOSE_OWNER,
    ("post", "/api/cases/{case_id}/close"): CLOSE_CASE,
    ("post", "/api/cases/{case_id}/reopen"): REOPEN_CASE,
    ("post", "/api/cases/{case_id}/contacts"): REGISTER_CONTACT,
    ("post", "/api/cases/{case_id}/meeting-outcome"): REGISTER_MEETING,
    ("post", "/api/cases/{case_id}/intervention"): REGISTER_INTERVENTION,
    ("post", "/api/cases/{case_id}/meeting/confirm"): CONFIRM_MEETING,
}


def _principal(role: str, consultant: str | None = None) -> Principal:
    return Principal(key_id=0, name=f"test-{role}", role=role, municipality_id="demo",
                     consultant_key=consultant)


async def test_the_api_states_and_enforces_each_policys_roles(sqlite_api: Api) -> None:
    document = await (await sqlite_api.client.get("/api/openapi.json")).json()
    for (method, path), policy in OPERATIONS.items():
        described = document["paths"][path][method]["description"]
        assert described.startswith(f"Roles: {', '.join(policy.roles + ('admin',))}."), path
    await intake(sqlite_api, body("p1"))
    for (method, path), policy in OPERATIONS.items():
        for role in ("intake", "consultant", "manager"):
            if role in policy.roles:
                continue
            resp = await sqlite_api.client.request(
                method, path.replace("{case_id}", "p1"), json={},
                headers=sqlite_api.auth(role))
            assert resp.status == 403, (method, path, role)


async def test_the_use_cases_hold_the_rules_for_every_caller(sqlite_api: Api) -> None:
    """What the simulation or Slack calls directly: the close note's limit and text rule and
    the outcome list are the input model's; a role the policy does not allow is refused."""
    app = sqlite_api.client.app
    await intake(sqlite_api, body("p2"))
    closing, today = app[CASE_CLOSING], today_local()
    manager = _principal("manager")
    for outcome, note, field in (("recovered", "x" * 1001, "note"),
                                 ("recovered", "a\x00b", "note"),
                                 ("healed", "", "outcome")):
        with pytest.raises(Invalid) as refused:
            await closing.close("p2", outcome, today, note, manager)
        assert [e["field"] for e in refused.value.errors] == [field]
    with pytest.raises(Invalid) as refused:
        await app[OUTCOMES].register_meeting("p2", "workplace", None, manager)
    assert refused.value.errors[0]["field"] == "employer_took_part"
    with pytest.raises(Forbidden):  # managers do not choose the owner, in any channel
        await app[INTAKE].override_owner("p2", "bo", "", manager)
    with pytest.raises(Forbidden):
        await app[OUTCOMES].register_contact("p2", "citizen", _principal("intake"))
    closed = await closing.close("p2", "recovered", today - timedelta(days=1), "x" * 1000,
                                 manager)
    assert (closed.case_ref, closed.outcome, closed.again) == ("p2", "recovered", False)
