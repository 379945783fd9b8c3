"""A schemathesis stateful run over the JSON API and Twilio's status callback: no chain of calls
earns a 5xx.

Where tests/test_fuzz_api.py sends one generated request at a time, this one walks the OpenAPI
links the routes declare (app/cases/openapi_links.py) and those schemathesis infers: list the
cases, read one, reply to it, claim it, note, override, close, read it again, with generated
values at every step; each scenario starts from the same three cases and every step changes
them for the next. Replies are handed to the outbox worker, so the status callbacks in between
name texts that really went; each callback is signed as Twilio signs it, so it reaches the code
behind the signature check. Through the real app, on SQLite and PostgreSQL: 30 scenarios of up
to 12 steps, a few seconds on each.
"""

from __future__ import annotations

import zlib
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import rule
from schemathesis.core.transport import Response
from schemathesis.generation.stateful.state_machine import StepInput
from sqlalchemy import select, text

from app.kit.config import Settings
from app.main import create_app
from app.models import Message
from app.sms.providers import STATUS_PATH, TWILIO_STATUS
from app.sms.worker import drain_once
from tests.helpers import PUBLIC, signed_headers, text_in, token_for

_template = create_app(Settings(database_url="sqlite://", secret_key="schema-only-0123456789"))
# The inbound webhook is left out: its form is not in the schema, and its own tests fuzz it.
# The walk is through the cases; the incidents' routes, which no case's answer links to, would
# start most of its chains and starve it: they are fuzzed one request at a time
# (tests/test_fuzz_api.py) and walked by their own tests (tests/incidents/).
schema = (schemathesis.openapi.from_dict(_template.openapi()).exclude(path="/webhooks/twilio/sms")
          .exclude(path_regex="^/api/incidents"))

# Twilio's callbacks follow no link (a reply's answer does not carry the SID Twilio gives the
# text later), so they come in by a rule of their own, between any two steps of a chain.
CALLBACKS = schema[STATUS_PATH]["POST"].as_strategy()
# Derandomized: the same walk each run (each scenario starting from the same database, see
# start_scenario), so that what it must reach, asserted at the end, never depends on luck.
RUN = settings(max_examples=30, stateful_step_count=12, deadline=None, phases=[Phase.generate],
               derandomize=True, suppress_health_check=list(HealthCheck))
REAL_CODES = ["30006", "21610", "30003", ""]


def _pick(seed: str, choices: list[str]) -> str | None:
    """One of `choices` for about two generated values in three, else None (keep the value).

    A function of the generated value, so that a failing run replays exactly: real SIDs,
    status words and codes are reached often, and absurd ones still get through."""
    n = zlib.crc32(b"twilio:" + seed.encode("utf-8", "surrogatepass"))
    return choices[n % len(choices)] if choices and n % 3 else None


def _like_twilio(form: dict[str, Any], sids: list[str]) -> dict[str, Any]:
    sid = _pick(str(form.get("MessageSid", "")), sids)
    status = _pick(str(form.get("MessageStatus", "")), sorted(TWILIO_STATUS))
    code = _pick(str(form.get("ErrorCode", "")), REAL_CODES)
    shaped = dict(form)
    for key, value in (("MessageSid", sid), ("MessageStatus", status), ("ErrorCode", code)):
        if value is not None:
            shaped[key] = value
    return shaped


# What a scenario may change; users and tokens stay (making them costs a password hash each).
SCENARIO_TABLES = ["audit_events", "outbox", "inbox", "messages", "case_decisions", "case_alerts",
                   "incident_proposals", "cases", "incidents", "incident_places", "reporters"]


def start_scenario(client: Any) -> None:
    """The same cases, texts and sent replies, with the same ids, at the start of each scenario.

    Hypothesis replays a scenario's choices to shrink and vary it; a choice that met another
    database state than the first time (a case closed by an earlier scenario, ids moved on)
    would draw differently, and the run would fail as "inconsistent data generation"."""
    rt = client.app.state.runtime
    with rt.engine.begin() as conn:
        if rt.engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(SCENARIO_TABLES)} RESTART IDENTITY"))
        else:
            # SQLite has no TRUNCATE, and its triggers refuse DELETE on the audit log: set them
            # aside for the reset, as TRUNCATE passes PostgreSQL's (migration 0004). No table
            # here is AUTOINCREMENT, so emptied ones number from 1 again.
            guards = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = "
                                       "'trigger' AND tbl_name = 'audit_events'")).all()
            for name, _ in guards:
                conn.execute(text(f'DROP TRIGGER "{name}"'))
            for table in SCENARIO_TABLES:
                conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 (names above)
            for _, sql in guards:
                conn.execute(text(sql))
        conn.execute(text("UPDATE audit_head SET seq = 0, hash = :h"), {"h": "0" * 64})
    for n, words in enumerate(["a lad about 14 at leeds station now, he has a knife",
                               "man shouting at people on platform 2 kings cross",
                               "someone left a bag at york station an hour ago"]):
        assert text_in(client, words, phone=f"+44770090091{n}").status_code == 200
    drain_once(rt)  # the bot's replies are sent: their SIDs are known


def test_chained_calls_never_earn_a_5xx(app, client):
    rt = app.state.runtime
    token = token_for(app, "admin")
    seen: dict[str, int] = {}
    moved: list[str] = []  # the statuses that callbacks moved sent texts to

    def sent_sids() -> list[str]:
        with rt.sessions() as s:
            return list(s.execute(select(Message.provider_sid).where(
                Message.direction == "outbound", Message.provider_sid.is_not(None))
                .order_by(Message.id)).scalars())

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            start_scenario(client)

        @rule(case=CALLBACKS)
        def twilio_reports_a_status(self, case: Any) -> None:
            self.step(StepInput.initial(case))

        def call(self, case: Any, **kwargs: Any) -> Response:
            sent = case.as_transport_kwargs(base_url=PUBLIC)
            headers = {**(sent.pop("headers", None) or {}), **token}
            sent.pop("cookies", None)
            data = sent.pop("data", None)
            if case.path == STATUS_PATH:
                headers.pop("Authorization")
                if isinstance(data, dict) and all(isinstance(v, str) for v in data.values()):
                    data = _like_twilio(data, sent_sids())
                    headers.update(signed_headers(data, path=STATUS_PATH))
            if isinstance(data, dict):
                sent["data"] = data
            elif data is not None:
                sent["content"] = data
            resp = client.request(sent.pop("method"), sent.pop("url"), headers=headers, **sent)
            if case.path.endswith("/messages") and resp.status_code == 201:
                drain_once(rt)  # a reply the worker sends gets a SID for the callbacks to name
            if case.path == STATUS_PATH and resp.status_code == 200:
                with rt.sessions() as s:
                    moved.extend(s.execute(select(Message.status).where(
                        Message.provider_sid == data["MessageSid"],
                        Message.status != "sent")).scalars())
            key = f"{case.method} {case.path} {resp.status_code}"
            seen[key] = seen.get(key, 0) + 1
            return Response.from_httpx(resp, verify=True)

        def validate_response(self, response: Response, case: Any, **kwargs: Any) -> None:
            assert response.status_code < 500, (case.method, case.path, case.body,
                                                response.text[:300])
            if response.status_code >= 400 and response.headers.get(
                    "content-type", [""])[0].startswith("application/json"):
                assert isinstance(response.json().get("detail"), str), response.text

    Workflow.run(settings=RUN)

    # The walk went where it was meant to: into cases by their links, and through callbacks
    # that moved a text that was really sent.
    reached = {key.rsplit(" ", 1)[0] for key in seen if key.endswith((" 200", " 201"))}
    assert "GET /api/cases/{case_id}" in reached, seen
    assert reached & {"POST /api/cases/{case_id}/notes", "POST /api/cases/{case_id}/messages",
                      "POST /api/cases/{case_id}/claim", "POST /api/cases/{case_id}/close",
                      "POST /api/cases/{case_id}/decision"}, seen
    assert set(moved) & {"delivered", "undelivered", "failed"}, seen
