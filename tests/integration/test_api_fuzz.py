"""Schemathesis over the served /schema/openapi.json: every /api/v1 operation, as an admin and as a teacher
(who may use neither leads nor the desk), gets generated requests; no answer may be a server error, use a
status its operation does not document, or have a body outside its documented schema.

The app runs in a uvicorn subprocess (like the browser tests) on the test's database and Redis, so the
synchronous schemathesis calls never share this process's event loop. Generation is derandomized with a
fixed number of examples per operation: the same requests on every run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from app.core.clock import system_clock
from app.core.db import UnitOfWork
from app.leads import services as leads
from app.notifications.services import notify
from tests.support import token_for
from tests.unit.approvals.school import make_school, open_refund, seeded_workflows

ROOT = Path(__file__).resolve().parents[2]
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
EXAMPLES = {"admin": 12, "teacher": 6}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    sys.path.insert(0, str(ROOT / "scripts"))
    import services as devservices

    port = devservices.free_port()
    log = tmp_path_factory.mktemp("fuzz") / "web.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.asgi:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(base + "/schema/openapi.json", timeout=1):
                        break
                except Exception:  # noqa: BLE001 - not up yet
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise RuntimeError("the web server did not start:\n" + log.read_text()[-3000:]) from None
                    time.sleep(0.1)
            yield base, log
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


async def _seed():
    """A little of everything, so generated ids (small numbers first) find records and not only 404s."""
    await seeded_workflows()
    school = await make_school()
    ticket = await open_refund(school, clock=system_clock)
    lead_ids = [
        (
            await leads.create_lead(
                school.admin, {"student_name": f"学生{n}", "phone": f"1380013800{n}", "campus": school.campus}
            )
        )["id"]
        for n in range(3)
    ]
    async with UnitOfWork() as uow:
        notes = await notify(uow, [school.admin.id, school.class_teacher.id], kind="announcement", title="通知")
    ids = {"lead_id": lead_ids[0], "ticket_id": ticket["id"], "student_id": school.student, "notification_id": notes[0]}
    return school, ids


@pytest.mark.parametrize("role", ["admin", "teacher"])
async def test_every_operation_answers_within_its_schema(server, role, make_user):
    base, log = server
    school, ids = await _seed()
    user = school.admin if role == "admin" else await make_user("teacher", campus=school.campus)
    headers = await token_for(user)
    schema = schemathesis.openapi.from_url(base + "/schema/openapi.json")
    failures: list[str] = []
    succeeded: set[str] = set()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30  # every /api/v1 operation, not a subset

    # First with the path's ids set to the seeded records (answers with bodies; deletes last, so that the
    # others still find them), then free (mostly 404s, ids past 64 bits included).
    on_seeded = sorted(operations, key=lambda op: op.method.upper() == "DELETE")
    for operation, fixed in [(op, ids) for op in on_seeded] + [(op, None) for op in operations]:
        names = {p.name for p in operation.path_parameters}
        if fixed is not None and not names <= set(fixed):
            continue
        path = {name: fixed[name] for name in names} if fixed is not None else None

        @given(case=operation.as_strategy(path_parameters=path))
        @settings(
            max_examples=EXAMPLES[role],
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            response = case.call(base_url=base, headers=headers, timeout=30)
            if response.status_code < 300:
                succeeded.add(operation.label)  # noqa: B023 - run() is called in this same iteration
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - gather every failure, then report them all
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures) + "\n--- server log\n" + log.read_text()[-5000:]
    if role == "admin":  # the requests reached the records, not only the 404s of unknown ids
        assert len(succeeded) >= 25, sorted(succeeded)
