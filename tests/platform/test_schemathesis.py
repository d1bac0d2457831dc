"""Schemathesis over the whole API: every operation of `GET /api/openapi.json`, with every
role's key and with none, valid and invalid input, against the real app on a real port
(SQLite). Every check schemathesis has: no 5xx, every answer matches the document (status
documented → body valid against its schema, formats included: a timestamp carries its UTC
offset), schema-valid requests are accepted and schema-violating ones rejected, no answer
without a key, ... A schema-valid request may be refused (422) only for a rule the operation
states in its `x-rules` — rules no schema can state because they depend on today or on what
is stored (a closing date not in the future) — and only naming that rule's field.

Bounded so it fits CI: a fixed number of examples per operation, role and mode, derandomised
(the same cases every run), no example database. The requests go out from a worker thread,
so the app keeps serving on the test's event loop.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import CHECKS as ALL_CHECKS
from schemathesis.core.failures import FailureGroup
from schemathesis.openapi.checks import RejectedPositiveData

from service.keys import CLOCK, CONFIG, DB, JOBS
from service.outbox.store import Message, Outbox
from service.platform.auth import ROLES
from service.platform.db.models import Case as CaseRow
from service.platform.db.models import Consultant, ConsultantTask
from service.platform.jobqueue import NoJobs
from tests.intake.test_api_cases import case_body
from tests.support import Api

# Examples per operation, role and generation mode (half as many again about rows that
# exist). Roles that may not call an operation get a 403 whatever they send: a few examples
# show that the 403 matches the document.
EXAMPLES_ALLOWED = 25
EXAMPLES_FORBIDDEN = 3
# Every check schemathesis has (status codes, content types, headers, schemas, positive data
# accepted, negative data rejected, auth not ignored, methods, ...).
CHECKS = ALL_CHECKS.get_all()
# Failures known and owned outside this test's reach, each with where it is to be fixed.
# The test fails when one of them no longer happens, so the entry is removed with the fix.
KNOWN: dict[str, str] = {}  # failures known and explained (none today)


async def _seed(api: Api) -> dict[str, str]:
    """A case, a letter in the outbox and a task, so some cases name rows that exist."""
    app = api.client.app
    resp = await api.client.post("/api/cases", json=case_body("k1"), headers=api.auth("intake"))
    assert resp.status == 201, await resp.text()
    await app[JOBS].wait_idle()
    outbox = Outbox(app[CLOCK], NoJobs(), app[CONFIG].municipality.id, "demo.example")
    async with app[DB].write() as session:
        letter = outbox.enqueue(session, Message("letter", "citizen_meeting", "Ib Holm",
                                                 subject="Møde", text="Kære Ib Holm"))
        case = (await session.execute(CaseRow.__table__.select().where(
            CaseRow.case_ref == "k1"))).one()
        consultant = (await session.execute(Consultant.__table__.select())).first()
        task = ConsultantTask(municipality_id=case.municipality_id,
                              consultant_id=consultant.id, case_id=case.id,
                              kind="employer_declined", text="Ring op")
        session.add(task)
        await session.flush()
        return {"case_id": "k1", "message_id": str(letter.id), "task_id": str(task.id)}


def _allowed(operation: Any, role: str | None) -> bool:
    if role is None:
        return False
    description = operation.definition.raw.get("description", "")
    return not operation.definition.raw.get("security", True) or role in description


def _fuzz(doc: dict[str, Any], base_url: str, keys: dict[str, str],
          existing: dict[str, str]) -> dict[str, str]:
    """Run every operation for every role; return each distinct failure with an example.

    The examples of an operation are drawn once per generation mode and sent with every
    role's key (derandomised, each role drew the same ones anyway): drawing them is most of
    the fuzzer's time."""
    schema = schemathesis.openapi.from_dict(doc)
    session = requests.Session()
    failures: dict[str, str] = {}
    roles = (*ROLES, None)
    for result in schema.get_all_operations():
        operation = result.ok()
        known = {name: existing[name] for name in existing
                 if "{" + name + "}" in operation.path}
        counts = {role: EXAMPLES_ALLOWED if _allowed(operation, role) else EXAMPLES_FORBIDDEN
                  for role in roles}
        most = max(counts.values())
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            drawn = [(_draw(operation.as_strategy(generation_mode=mode), most), 1)]
            if known:  # also about rows that exist
                drawn.append((_draw(operation.as_strategy(
                    generation_mode=mode, path_parameters=known), max(most // 2, 1)), 2))
            for role in roles:
                headers = {"Authorization": f"Bearer {keys[role]}"} if role else {}
                for cases, share in drawn:
                    for case in cases[:max(counts[role] // share, 1)]:
                        _call(case, base_url, session, headers, role, failures)
    return failures


def _draw(strategy: Any, examples: int) -> list[Case]:
    """Up to `examples` distinct cases of a strategy, the same ones every run."""
    cases: list[Case] = []

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case: Case) -> None:
        cases.append(case)

    try:
        run()
    except Unsatisfiable:
        pass  # nothing to make invalid (an operation without input)
    return cases


def _call(case: Case, base_url: str, session: requests.Session, headers: dict[str, str],
          role: str | None, failures: dict[str, str]) -> None:
    response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    except FailureGroup as group:
        for failure in group.exceptions:
            if _a_documented_rule(case, response, failure):
                continue
            known = next((k for k in KNOWN if k in failure.message), None)
            if known is not None:
                failures.setdefault(f"known: {known}", "")
                continue
            first_line = next(iter(failure.message.strip().splitlines()), "")[:160]
            key = (f"{case.operation.label} -> {response.status_code}: {failure.title}: "
                   f"{first_line}")
            body = (response.request.body or b"")[:200]
            failures.setdefault(key, f"  [{role or 'no key'}] {response.request.method} "
                                     f"{response.request.url} {body!r}\n"
                                     f"  <- {response.text[:300]}")


def _rule_covers(rule_field: str, field: str) -> bool:
    """`*` covers every field; `a.b[].c` covers `a.b[0].c`."""
    pattern = re.escape(rule_field).replace(r"\[\]", r"\[[0-9]+\]")
    return rule_field == "*" or re.fullmatch(pattern, field) is not None


def _a_documented_rule(case: Case, response: requests.Response, failure: Exception) -> bool:
    """A schema-valid request refused (422) for rules its operation states in `x-rules`,
    each error naming a field one of those rules is about."""
    if not isinstance(failure, RejectedPositiveData) or response.status_code != 422:
        return False
    rules = [r["field"] for r in case.operation.definition.raw.get("x-rules", [])]
    try:
        fields = [e["field"] for e in response.json()["errors"]]
    except (ValueError, KeyError, TypeError):
        return False
    return bool(fields) and all(any(_rule_covers(rule, f) for rule in rules) for f in fields)


async def test_every_operation_every_role(sqlite_api: Api) -> None:
    api = sqlite_api
    existing = await _seed(api)
    doc = await (await api.client.get("/api/openapi.json")).json()
    base_url = str(api.client.make_url("")).rstrip("/")
    started = time.monotonic()
    failures = await asyncio.to_thread(_fuzz, doc, base_url, api.keys, existing)
    elapsed = time.monotonic() - started
    for known in KNOWN:
        assert failures.pop(f"known: {known}", None) is not None, (
            f"fixed? remove it from KNOWN: {KNOWN[known]}")
    assert not failures, f"{len(failures)} distinct failures in {elapsed:.0f} s:\n" + "\n".join(
        f"{key}\n{example}" for key, example in failures.items())
