"""The worker as it runs: a background thread woken by notify(), and a process stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import deque
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.kit.config import Settings
from app.kit.db import utcnow
from app.models import Message, Outbox
from app.sms.providers import ConsoleProvider, TwilioProvider
from app.sms.worker import LEASE, OutboxWorker, drain_once
from tests.sms.fake_twilio import (  # noqa: F401
    fake_twilio,
    make_runtime,
    queue_text,
    twilio_settings,
)

ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate, timeout: float = 10.0) -> float:  # type: ignore[no-untyped-def]
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if predicate():
            return time.monotonic() - began
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def status_of(rt, message_id: int) -> str:  # type: ignore[no-untyped-def]
    with rt.sessions() as s:
        return s.execute(select(Message.status).where(Message.id == message_id)).scalar_one()


def test_notify_wakes_the_worker_before_its_next_poll(settings):
    rt = make_runtime(settings)
    record: deque = deque()
    w = OutboxWorker(rt, provider=ConsoleProvider(record), poll=30.0)
    w.start()
    try:
        time.sleep(0.2)  # the first drain has found nothing and the thread is waiting
        msg_id, _ = queue_text(rt, "On our way")
        w.notify()
        took = wait_for(lambda: status_of(rt, msg_id) == "sent", timeout=5)
        assert took < 2.0
        assert [s.body for s in record] == ["On our way"]
    finally:
        w.stop()
    assert w._thread is None
    rt.engine.dispose()


def test_worker_polls_without_notify(settings):
    rt = make_runtime(settings)
    record: deque = deque()
    w = OutboxWorker(rt, provider=ConsoleProvider(record), poll=0.1)
    w.start()
    try:
        msg_id, _ = queue_text(rt, "Polled")
        wait_for(lambda: status_of(rt, msg_id) == "sent", timeout=5)
    finally:
        w.stop()
    assert len(record) == 1
    rt.engine.dispose()


WORKER_SCRIPT = """
import sys
from app.kit.config import Settings
from app.kit.db import utcnow
from app.startup.bootstrap import run_worker
from tests.sms.fake_twilio import make_runtime
sys.exit(run_worker(make_runtime(Settings())))
"""


def test_worker_process_drains_and_stops_on_sigterm(database_url, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TEXTLINE_DATABASE_URL": database_url,
           "TEXTLINE_SMS_PROVIDER": "console", "TEXTLINE_LOG_FORMAT": "text"}
    rt = make_runtime(Settings(database_url=database_url, sms_provider="console"))
    msg_id, box_id = queue_text(rt, "Sent by the worker process")
    proc = subprocess.Popen([sys.executable, "-c", WORKER_SCRIPT], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: status_of(rt, msg_id) == "sent", timeout=20)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with rt.sessions() as s:
        assert s.get(Outbox, box_id).state == "done"
        assert s.get(Message, msg_id).provider_sid.startswith("CONSOLE")
    rt.engine.dispose()


def test_worker_killed_after_twilio_accepted_recovers_without_duplicate(
        settings_kwargs, fake_twilio, tmp_path):  # noqa: F811
    settings = twilio_settings(settings_kwargs, fake_twilio)
    rt = make_runtime(settings)
    msg_id, box_id = queue_text(rt, "Officers are on their way.")
    fake_twilio.hang_seconds = 30
    fake_twilio.script("hang-accept")  # Twilio takes the text; its answer never comes back
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TEXTLINE_LOG_FORMAT": "text",
           **{f"TEXTLINE_{k.upper()}": str(v) for k, v in settings_kwargs.items()},
           "TEXTLINE_SMS_PROVIDER": "twilio", "TEXTLINE_TWILIO_API_BASE": fake_twilio.url,
           "TEXTLINE_TWILIO_FROM": "61016"}
    proc = subprocess.Popen([sys.executable, "-c", WORKER_SCRIPT], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(fake_twilio.messages) == 1, timeout=20)
        proc.kill()  # SIGKILL: no finally blocks, no second transaction
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with rt.sessions() as s:
        assert s.get(Outbox, box_id).state == "sending"
        assert s.get(Message, msg_id).provider_sid is None
    fake_twilio.hang_seconds = 0
    later = utcnow() + LEASE + timedelta(seconds=1)
    assert drain_once(rt, provider=TwilioProvider(settings, timeout=2), now=later) == 1
    assert fake_twilio.posts == 1 and len(fake_twilio.messages) == 1
    with rt.sessions() as s:
        assert s.get(Message, msg_id).provider_sid == fake_twilio.messages[0].sid
        assert s.get(Outbox, box_id).state == "done"
    rt.engine.dispose()


# The worker's own threads, listed once its start has logged (or after 30 s), then SIGTERM as
# a service manager sends.
WORKER_THREADS_SCRIPT = """
import logging, os, signal, sys, threading
from app.kit.config import Settings
from app.startup.bootstrap import run_worker
from tests.sms.fake_twilio import make_runtime

started = threading.Event()
class Started(logging.Handler):
    def emit(self, record):
        if record.getMessage() == "outbox worker started":
            started.set()
logging.getLogger("textline.outbox").addHandler(Started())
logging.getLogger("textline.outbox").setLevel(logging.INFO)

def report():
    started.wait(30)
    print(" ".join(sorted(t.name for t in threading.enumerate())), flush=True)
    os.kill(os.getpid(), signal.SIGTERM)

threading.Thread(target=report, name="report", daemon=True).start()
sys.exit(run_worker(make_runtime(Settings())))
"""


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_worker_process_runs_the_timers_too(database_url, tmp_path):
    """Beside `serve --no-worker` the worker is the only process with the silence timer and
    retention: without them a silent case would never reach the operators."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TEXTLINE_DATABASE_URL": database_url,
           "TEXTLINE_SMS_PROVIDER": "console"}
    done = subprocess.run([sys.executable, "-c", WORKER_THREADS_SCRIPT], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    threads = done.stdout.split()
    assert {"silence-sweeper", "retention", "outbox-worker-0"} <= set(threads), threads
