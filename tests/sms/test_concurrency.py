"""Duplicates and first texts arriving at the same moment, through a real server and real threads."""

from __future__ import annotations

import threading

import httpx
from sqlalchemy import func, select

from app.inbox.reader import process_pending
from app.models import Case, Inbox, Message, Outbox, Reporter
from tests.helpers import SMS_PATH, signed_headers, sms_form
from tests.live import live_server


def fire_together(n: int, make_request) -> list[httpx.Response]:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(n)
    results: list[httpx.Response | Exception] = [None] * n  # type: ignore[list-item]

    def worker(i: int) -> None:
        with httpx.Client(timeout=30) as client:
            barrier.wait()
            try:
                results[i] = make_request(client, i)
            except Exception as exc:  # surfaced by the assertion below
                results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(r, httpx.Response) for r in results), results
    return results  # type: ignore[return-value]


def read_concurrently(app, processors: int = 4) -> int:  # type: ignore[no-untyped-def]
    """Run several processors over the inbox at once, as several instances would."""
    counts: list[int] = []
    fire_in_threads(processors, lambda: counts.append(process_pending(app.state.runtime)))
    # A processor that met a text blocked by another's reading leaves it for its next pass.
    return sum(counts) + process_pending(app.state.runtime)


def fire_in_threads(n: int, fn) -> None:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(n)
    errors: list[Exception] = []

    def run() -> None:
        barrier.wait()
        try:
            fn()
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_same_webhook_from_many_threads_stored_once_answered_once(app):
    params = sms_form("man with a knife on platform 2", phone="+447700900601")
    headers = signed_headers(params)
    with live_server(app) as base:
        # The signature is over the public URL, which the live server does not serve; its
        # checks happen the same way, so post to the local address with the public signature.
        responses = fire_together(8, lambda c, i: c.post(base + SMS_PATH, data=params,
                                                         headers=headers))
    assert [r.status_code for r in responses] == [200] * 8
    assert read_concurrently(app) == 1
    with app.state.sessions() as s:
        assert s.execute(select(func.count()).where(Message.direction == "inbound")).scalar_one() == 1
        bot = s.execute(select(func.count()).where(Message.author == "bot")).scalar_one()
        queued = s.execute(select(func.count()).where(Outbox.kind == "sms")).scalar_one()
        assert bot >= 1 and queued == bot
        assert s.execute(select(func.count()).select_from(Case)).scalar_one() == 1


def test_first_texts_of_a_new_number_open_one_case_in_arrival_order(app):
    phone = "+447700900602"
    forms = [sms_form(f"text {i}", phone=phone) for i in range(8)]
    with live_server(app) as base:
        responses = fire_together(8, lambda c, i: c.post(base + SMS_PATH, data=forms[i],
                                                         headers=signed_headers(forms[i])))
    assert all(r.status_code == 200 for r in responses)
    with app.state.sessions() as s:
        arrived = s.execute(select(Inbox.body).order_by(Inbox.id)).scalars().all()
    assert sorted(arrived) == sorted(f["Body"] for f in forms)
    assert read_concurrently(app) == 8
    with app.state.sessions() as s:
        assert s.execute(select(func.count()).select_from(Reporter)).scalar_one() == 1
        assert s.execute(select(func.count()).select_from(Case)).scalar_one() == 1
        stored = s.execute(select(Message.body).where(Message.direction == "inbound")
                           .order_by(Message.id)).scalars().all()
        bot = s.execute(select(Message.body).where(Message.author == "bot")).scalars().all()
    assert stored == arrived  # read in the order they arrived, whichever processor read each
    assert sum("call 999" in b for b in bot) == 1
