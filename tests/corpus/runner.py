"""Play the conversation corpus through the public interface and score every expectation.

Each scripted texter answers whatever `conversation` says the bot is waiting for (the corpus
README's rules). Runs in-process (tests/corpus/test_corpus.py, or the command below with no
--url), or against a running server:

    python -m tests.corpus.runner [FILE ...] [-v]          # in-process, fresh SQLite
    python -m tests.corpus.runner --url http://127.0.0.1:8000 --token tl_... [--auth-token T]

FILE defaults to the tuned part (dev_*.yaml). The summary gives the expectations met, the
999s missed and the 999s raised where 101 was expected, and per indicator and for 999 the
precision and recall (docs/triage.md).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from app.sms.signature import sign

HERE = Path(__file__).resolve().parent
TUNED = sorted(HERE.glob("dev_*.yaml"))  # read while tuning the extractors
SET_ASIDE = sorted(HERE.glob("setaside*.yaml"))  # written apart from the extractors; not for tuning
SHARED = HERE.parents[1].parent / "shared" / "corpus" / "conversations.yaml"
CORPUS = SHARED
STATIONS = HERE.parent / "data" / "gb_rail_stations.csv"
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


def _fetch(d: Driver, phone: str, inbound: int, known: int | str | None = None,
           timeout: float = 15.0) -> dict[str, Any] | None:
    """The texter's case once its `inbound`-th text has been read (the webhook only stores it).
    A texter's later texts stay in the case their first opened (a closed case reopens within
    24 hours: DESIGN.md), so once `known` the case is fetched by its id alone."""
    deadline = time.monotonic() + timeout
    while True:
        if known is None:
            items = d.get_json(f"/api/cases?phone={phone.replace('+', '%2B')}")["items"]
            case = d.get_json(f"/api/cases/{items[0]['id']}") if items else None
        else:
            case = d.get_json(f"/api/cases/{known}")
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
    known: int | str | None = None

    def text(body: str) -> dict[str, Any] | None:
        nonlocal n, known
        n += 1
        twiml = _send(d, phone, body)
        case = _fetch(d, phone, n, known)
        if case is not None:
            known = case["id"]
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
        if state == "asking_what" and state not in source:
            state = "asking_location"  # the corpus README: else the location answer is sent
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


@dataclass
class Tally:
    """Expectations met, and the dispatch errors that matter most."""

    expectations: int = 0
    met: int = 0
    conversations: int = 0
    perfect: int = 0
    expected_999: int = 0
    missed_999: list[str] = field(default_factory=list)
    over_999: list[str] = field(default_factory=list)
    # indicator -> [true positives, false positives, false negatives], over labelled cases
    indicators: dict[str, list[int]] = field(default_factory=dict)

    @property
    def pct(self) -> float:
        return 100.0 * self.met / self.expectations if self.expectations else 100.0


def tally(specs: list[dict[str, Any]], outcomes: list[Outcome]) -> Tally:
    t = Tally()
    for spec, o in zip(specs, outcomes, strict=True):
        expect = spec.get("expect") or {}
        case = o.case or {}
        t.expectations += len(o.checks)
        t.met += o.passed
        t.conversations += 1
        t.perfect += o.passed == len(o.checks)
        got = (case.get("decision") or {}).get("decision")
        want = expect.get("decision")
        if want == "999":
            t.expected_999 += 1
            if got != "999":
                t.missed_999.append(o.id)
        elif want == "101" and got == "999":
            t.over_999.append(o.id)
        seen = {r["indicator"] for r in case.get("risk") or []}
        for ind in expect.get("risk_includes") or ():
            t.indicators.setdefault(ind, [0, 0, 0])[0 if ind in seen else 2] += 1
        for ind in expect.get("risk_excludes") or ():
            if ind in seen:
                t.indicators.setdefault(ind, [0, 0, 0])[1] += 1
        if want is not None:
            row = t.indicators.setdefault("999", [0, 0, 0])
            if want == "999":
                row[0 if got == "999" else 2] += 1
            elif got == "999":
                row[1] += 1
    return t


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.2f}" if b else "-"


def summary(name: str, t: Tally, stream: Any = sys.stdout) -> None:
    stream.write(
        f"{name}: {t.met}/{t.expectations} expectations ({t.pct:.1f}%), "
        f"{t.perfect}/{t.conversations} conversations fully right; "
        f"999 expected {t.expected_999}, missed {len(t.missed_999)} {t.missed_999 or ''}, "
        f"over-triaged {len(t.over_999)} {t.over_999 or ''}\n")
    for ind, (tp, fp, fn) in sorted(t.indicators.items()):
        stream.write(f"    {ind:<14} precision {_ratio(tp, tp + fp):>5}  recall "
                     f"{_ratio(tp, tp + fn):>5}  (tp {tp}, fp {fp}, fn {fn})\n")


@contextmanager
def in_process(stations: Path = STATIONS) -> Iterator[Driver]:
    """A fresh SQLite service in this process, the console provider, a bearer token."""
    import tempfile

    from fastapi.testclient import TestClient

    from app.kit import migrate
    from app.kit.config import Settings
    from app.main import create_app
    from tests.conftest import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
    from tests.helpers import PUBLIC, token_for

    # In memory where the machine has it: thousands of conversations commit many times each,
    # and a disk's flushes are not what the corpus measures.
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() and os.access(shm, os.W_OK) else None) as tmp:
        url = f"sqlite:///{tmp}/corpus.db"
        migrate.upgrade(url)
        settings = Settings(database_url=url, public_url=PUBLIC,
                            twilio_auth_token=TEST_AUTH_TOKEN,
                            twilio_account_sid=TEST_ACCOUNT_SID, sms_provider="console",
                            stations_file=stations, secret_key="test-secret-key-0123456789abcdef")
        app = create_app(settings)
        headers = token_for(app)
        with TestClient(app, base_url=PUBLIC) as client:
            yield Driver(
                post_form=lambda path, data, h: client.post(path, data=data, headers=h),
                get_json=lambda path: client.get(path, headers=headers).json(),
                public_url=PUBLIC, auth_token=TEST_AUTH_TOKEN,
            )


def _play_chunk(specs: list[dict[str, Any]]) -> list[Outcome]:
    with in_process(STATIONS) as driver:
        return [play(driver, spec) for spec in specs]


def play_in_processes(specs: list[dict[str, Any]], workers: int = 2) -> list[Outcome]:
    """Every conversation is independent (its own number, a fresh case): played in `workers`
    processes, each with its own fresh SQLite service, the outcomes in the order given."""
    import multiprocessing

    if workers <= 1 or len(specs) < 2 * workers:
        return _play_chunk(specs)
    chunks = [specs[i::workers] for i in range(workers)]
    # spawn, not fork: the test process may hold threads (a fork copies their locks, held).
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        played = pool.map(_play_chunk, chunks)
    by_id = {o.id: o for chunk in played for o in chunk}
    return [by_id[spec["id"]] for spec in specs]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="*", type=Path, help="corpus files (default: dev_*.yaml)")
    p.add_argument("--url", help="a running server; in-process when left out")
    p.add_argument("--token", help="API bearer token (textline token create), with --url")
    p.add_argument("--auth-token", default=os.environ.get("TEXTLINE_TWILIO_AUTH_TOKEN"))
    p.add_argument("-v", "--verbose", action="store_true")
    p.add_argument("--table", action="store_true", help="per-indicator figures as a Markdown table")
    args = p.parse_args(argv)
    files = args.files or TUNED
    if args.url:
        import httpx

        client = httpx.Client(base_url=args.url, timeout=30,
                              headers={"Authorization": f"Bearer {args.token}"})
        driver: Any = nullcontext(Driver(
            lambda path, data, h: client.post(path, data=data, headers=h),
            lambda path: client.get(path).raise_for_status().json(), args.url, args.auth_token))
    else:
        driver = in_process()
    ok = True
    every: tuple[list[dict[str, Any]], list[Outcome]] = ([], [])
    with driver as d:
        for path in files:
            specs = load_corpus(path)
            outcomes = [play(d, spec) for spec in specs]
            report(outcomes, verbose=args.verbose)
            t = tally(specs, outcomes)
            summary(path.name, t)
            ok = ok and t.pct == 100.0
            every[0].extend(specs)
            every[1].extend(outcomes)
    if len(files) > 1:
        summary("all of them", tally(*every))
    if args.table:
        table(tally(*every))
    return 0 if ok else 1


def table(t: Tally, stream: Any = sys.stdout) -> None:
    """The per-indicator figures as a Markdown table (docs/triage.md)."""
    stream.write("| indicator | precision | recall | tp | fp | fn |\n|---|---|---|---|---|---|\n")
    for ind, (tp, fp, fn) in sorted(t.indicators.items(), key=lambda kv: (kv[0] != "999", kv[0])):
        stream.write(f"| {ind} | {_ratio(tp, tp + fp)} | {_ratio(tp, tp + fn)} | {tp} | {fp} | {fn} |\n")


if __name__ == "__main__":
    sys.exit(main())
