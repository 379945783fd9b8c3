"""Play the conversation corpus through the public interface and score every expectation.

Each scripted texter answers whatever `conversation` says the bot is waiting for (the corpus
README's rules). Runs in-process (tests/corpus/test_corpus.py) or against a running server:

    python -m tests.corpus.runner --url http://127.0.0.1:8000 --token tl_... [--auth-token T]
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from app.sms.signature import sign

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "conversations.yaml"
MAX_TEXTS = 10


@dataclass
class Driver:
    """How the runner reaches the service: post a webhook form, get JSON."""

    post_form: Callable[[str, dict[str, str], dict[str, str]], Any]
    get_json: Callable[[str], Any]
    public_url: str
    auth_token: str | None


@dataclass
class Outcome:
    id: str
    checks: dict[str, bool] = field(default_factory=dict)
    transcript: list[str] = field(default_factory=list)
    case: dict[str, Any] | None = None

    @property
    def passed(self) -> int:
        return sum(self.checks.values())


def load_corpus(path: Path = CORPUS) -> list[dict[str, Any]]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _send(d: Driver, phone: str, body: str) -> list[str]:
    params = {"MessageSid": "SM" + secrets.token_hex(16), "AccountSid": "AC" + "0" * 32,
              "From": phone, "To": "61016", "Body": body, "NumMedia": "0"}
    headers = {}
    path = "/webhooks/twilio/sms"
    if d.auth_token:
        headers["X-Twilio-Signature"] = sign(d.auth_token, d.public_url + path, params)
    resp = d.post_form(path, params, headers)
    if resp.status_code != 200:
        raise RuntimeError(f"webhook answered {resp.status_code}: {resp.text[:200]}")
    return [m.text or "" for m in ET.fromstring(resp.text).iter("Message")] if resp.text.strip() else []


def _fetch(d: Driver, phone: str, inbound: int, timeout: float = 15.0) -> dict[str, Any] | None:
    """The texter's case once its `inbound`-th text has been read (the webhook only stores it)."""
    deadline = time.monotonic() + timeout
    while True:
        items = d.get_json(f"/api/cases?phone={phone.replace('+', '%2B')}")["items"]
        case = d.get_json(f"/api/cases/{items[0]['id']}") if items else None
        seen = sum(m["direction"] == "inbound" for m in (case or {}).get("messages", []))
        if seen >= inbound or time.monotonic() > deadline:
            return case
        time.sleep(0.02)


def play(d: Driver, spec: dict[str, Any]) -> Outcome:
    out = Outcome(spec["id"])
    phone = spec["from"]
    replies_after: dict[int, int] = {}
    decision_after: dict[int, str | None] = {}
    seen_bot_ids: set[int] = set()
    n = 0

    def text(body: str) -> dict[str, Any] | None:
        nonlocal n
        n += 1
        twiml = _send(d, phone, body)
        case = _fetch(d, phone, n)
        new_bot = [m for m in (case or {}).get("messages", [])
                   if m["author"] == "bot" and m["id"] not in seen_bot_ids]
        seen_bot_ids.update(m["id"] for m in new_bot)
        # TwiML replies are also stored as bot messages: count each reply once.
        replies_after[n] = max(len(twiml), len(new_bot))
        decision_after[n] = ((case or {}).get("decision") or {}).get("decision")
        out.transcript.append(f"> {body}")
        out.transcript.extend(f"< {r}" for r in (twiml or [m["body"] for m in new_bot]))
        return case

    case = text(spec["first"])
    waited: dict[str, int] = {}
    answers, retry = spec.get("answers") or {}, spec.get("retry") or {}
    while case is not None and n < MAX_TEXTS:
        state = case["conversation"]
        if state == "done":
            break
        waited[state] = waited.get(state, 0) + 1
        source = answers if waited[state] == 1 else retry if waited[state] == 2 else {}
        if state not in source:
            break
        case = text(source[state])
    for extra in spec.get("extra") or []:
        if n >= MAX_TEXTS:
            break
        case = text(extra)
    out.case = case
    out.checks = score(spec.get("expect") or {}, case or {}, replies_after, decision_after)
    return out


def score(expect: dict[str, Any], case: dict[str, Any], replies_after: dict[int, int],
          decision_after: dict[int, str | None]) -> dict[str, bool]:
    loc = case.get("location") or {}
    age = case.get("age") or {}
    risks = {r["indicator"] for r in case.get("risk") or []}
    decision = case.get("decision") or {}
    reporter = case.get("reporter") or {}
    checks: dict[str, bool] = {}
    for key, want in expect.items():
        if key == "station":
            station = loc.get("station")
            ok = station is None if want is None else bool(station) and station["crs"] == want
        elif key == "platform":
            ok = loc.get("platform") == want
        elif key == "coach":
            got = loc.get("coach")
            ok = got is not None and str(got).lower() == str(want).lower()
        elif key == "train":
            ok = (loc.get("train") is not None) == bool(want)
        elif key == "age_contains":
            lo, hi = age.get("min"), age.get("max")
            ok = (lo is not None or hi is not None) and (lo is None or lo <= want) and \
                (hi is None or want <= hi)
        elif key == "child":
            ok = age.get("child") == want
        elif key == "immediacy":
            ok = case.get("immediacy") == want
        elif key in ("decision", "queue"):
            ok = decision.get(key) == want
        elif key == "priority":
            ok = case.get("priority") == want
        elif key == "risk_includes":
            ok = set(want) <= risks
        elif key == "risk_excludes":
            ok = not (set(want) & risks)
        elif key == "decided_999_after_text":
            ok = decision_after.get(want) == "999"
        elif key in ("discreet", "opted_out"):
            ok = reporter.get(key) == want
        elif key == "bot_silent_after_text":
            ok = all(count == 0 for k, count in replies_after.items() if k >= want)
        else:
            raise KeyError(f"unknown expectation {key!r}")
        checks[key] = ok
    return checks


def report(outcomes: list[Outcome], stream: Any = sys.stdout, verbose: bool = False) -> float:
    total = sum(len(o.checks) for o in outcomes)
    passed = sum(o.passed for o in outcomes)
    perfect = sum(1 for o in outcomes if o.passed == len(o.checks))
    for o in outcomes:
        failed = [k for k, ok in o.checks.items() if not ok]
        if failed or verbose:
            stream.write(f"{o.id}: {o.passed}/{len(o.checks)}" +
                         (f"  FAILED {', '.join(failed)}" if failed else "") + "\n")
            if failed:
                for line in o.transcript:
                    stream.write(f"    {line}\n")
    pct = 100.0 * passed / total if total else 100.0
    stream.write(f"corpus score: {passed}/{total} expectations ({pct:.1f}%), "
                 f"{perfect}/{len(outcomes)} conversations fully right\n")
    return pct


def main(argv: list[str] | None = None) -> int:
    import httpx

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default="http://127.0.0.1:8000")
    p.add_argument("--token", required=True, help="API bearer token (textline token create)")
    p.add_argument("--auth-token", default=os.environ.get("TEXTLINE_TWILIO_AUTH_TOKEN"))
    p.add_argument("--corpus", type=Path, default=CORPUS)
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    with httpx.Client(base_url=args.url, timeout=30,
                      headers={"Authorization": f"Bearer {args.token}"}) as c:
        d = Driver(lambda path, data, h: c.post(path, data=data, headers=h),
                   lambda path: c.get(path).raise_for_status().json(), args.url, args.auth_token)
        pct = report([play(d, spec) for spec in load_corpus(args.corpus)], verbose=args.verbose)
    return 0 if pct == 100.0 else 1


if __name__ == "__main__":
    sys.exit(main())
