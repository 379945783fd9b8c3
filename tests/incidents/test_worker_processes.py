"""Twenty first texts about one fight, posted at once to a real deployment on PostgreSQL:
`textline serve --no-worker` takes them, two `textline worker` processes read them side by
side. However the texts fall between the workers' batches, they end in one incident.

tests/incidents/test_concurrency.py has two readers in one process, released at one instant
one text at a time: that is where two incidents would most often appear if the place's row
lock (app/incidents/service.py) failed, since the race is open only while the first reports
have no incident yet. This one has what a deployment has: separate interpreters, engines and
connection pools, meeting only in the database, and the batches the workers really read.

Thirty other first texts ("hello", no place) come in the same burst. A worker claims up to
32 waiting texts a batch (app/inbox/reader.py), so twenty texts alone are all claimed by
whichever worker looks first, and the other never reads one; with fifty, both read, and the
fight's texts fall to both.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import subprocess
import threading
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import create_engine, func, select

from app.models import Case, Inbox, Incident, Reporter
from app.sms.signature import sign
from bench.harness import PYTHON, REPO, free_port, serving, stop, textline_argv
from tests.conftest import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from tests.incidents.crowd import FIGHT, phone
from tests.serverproc import server_env, wait_until
from tests.sms.fake_twilio import fake_twilio  # noqa: F401

OTHERS = 30


def sid(n: int) -> str:
    return f"SM{n:04d}{'f' * 28}"


def _post_at_once(port: int) -> list[int]:
    """Each phone's first text from its own thread and connection, released together: the
    fight's twenty (phones 0-19) and the others (phones 100 on)."""
    url = f"http://127.0.0.1:{port}/webhooks/twilio/sms"
    texts = [*enumerate(FIGHT), *((100 + i, "hello is this the right number")
                                  for i in range(OTHERS))]
    random.Random(7).shuffle(texts)  # arrival follows the threads' order: mix the two kinds
    barrier = threading.Barrier(len(texts))
    statuses: list[int] = []

    def send(n: int, body: str) -> None:
        form = {"MessageSid": sid(n), "AccountSid": TEST_ACCOUNT_SID, "From": phone(n),
                "To": "61016", "Body": body, "NumMedia": "0"}
        headers = {"X-Twilio-Signature": sign(TEST_AUTH_TOKEN, url, form),
                   "Content-Type": "application/x-www-form-urlencoded"}
        # http.client: sixty httpx clients would each load the CA bundle first, for seconds.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.connect()
        barrier.wait()
        conn.request("POST", "/webhooks/twilio/sms", body=urlencode(form), headers=headers)
        statuses.append(conn.getresponse().status)
        conn.close()

    threads = [threading.Thread(target=send, args=text) for text in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_twenty_first_texts_read_by_two_worker_processes_make_one_incident(
        database_url, fake_twilio, tmp_path: Path) -> None:  # noqa: F811
    port = free_port()
    env = server_env(database_url, port, fake_twilio, TEXTLINE_LOG_LEVEL="INFO")
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    # The workers start beside the server, not after it: the test's time is mostly start-up.
    outs = [open(log, "ab") for log in logs]
    workers = [subprocess.Popen([PYTHON, "-m", "app", "worker"], env={**os.environ, **env},
                                cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True) for out in outs]
    engine = create_engine(database_url)
    try:
        with serving(textline_argv(port, 1, "--no-worker"), env, port,
                     log=tmp_path / "serve.log"):
            # Both workers up (each reads the inbox at its start) before the texts come.
            wait_until(lambda: all("outbox worker started" in log.read_text() for log in logs),
                       15, "both workers to start")
            assert _post_at_once(port) == [200] * (len(FIGHT) + OTHERS)

            def read() -> bool:
                with engine.connect() as conn:
                    return conn.execute(select(func.count()).select_from(Inbox)).scalar_one() == 0
            wait_until(read, 15, "the workers to read every text")
            with engine.connect() as conn:
                cases = conn.execute(select(Reporter.phone, Case.incident_id).join(
                    Reporter, Reporter.id == Case.reporter_id)).all()
                incidents = conn.execute(select(func.count()).select_from(Incident)).scalar_one()
    finally:
        engine.dispose()
        stopping = [threading.Thread(target=stop, args=(proc,)) for proc in workers]
        for t in stopping:
            t.start()
        for t in stopping:
            t.join()
        for out in outs:
            out.close()
    fight = {phone(n) for n in range(len(FIGHT))}
    assert len(cases) == len(FIGHT) + OTHERS
    assert incidents == 1, "two workers reading side by side made more than one incident"
    joined = {incident for number, incident in cases if number in fight}
    assert len(joined) == 1 and None not in joined, "a report of the fight was left out of it"
    assert {incident for number, incident in cases if number not in fight} == {None}
    # Both workers read texts of the fight: the single incident was not one worker's doing.
    read = [[json.loads(line)["sid"] for line in log.read_text().splitlines()
             if '"text read"' in line] for log in logs]
    assert sum(map(len, read)) == len(FIGHT) + OTHERS
    fight_read = [sum(s in {sid(n) for n in range(len(FIGHT))} for s in r) for r in read]
    assert all(fight_read), f"one worker read every text of the fight: {fight_read}"
    print(f"\ntexts of the fight read by worker A and B: {fight_read}")
