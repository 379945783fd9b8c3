"""The loop base every background loop runs on: start, notify, stop, poll and backoff."""

from __future__ import annotations

import threading
import time

from app.kit.loops import Loop, Periodic


class Counting(Loop):
    """Records when each step ran; fails the steps listed in `fail`, says "more" for `more`."""

    def __init__(self, *, poll: float, fail: int = 0, more: int = 0, **kw: object) -> None:
        super().__init__("counting", poll=poll, **kw)  # type: ignore[arg-type]
        self.times: list[float] = []
        self.fail, self.more = fail, more
        self.ran = threading.Event()
        self.ended_on: list[str] = []

    def step(self) -> bool:
        self.times.append(time.monotonic())
        self.ran.set()
        if self.fail > 0:
            self.fail -= 1
            raise RuntimeError("database went away")
        if self.more > 0:
            self.more -= 1
            return True
        return False

    def finished(self) -> None:
        self.ended_on.append(threading.current_thread().name)


def wait_for(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def test_runs_at_start_then_sleeps_until_notified():
    loop = Counting(poll=30.0)
    loop.start()
    try:
        wait_for(lambda: len(loop.times) == 1)
        time.sleep(0.2)
        assert len(loop.times) == 1  # nothing to do: asleep for the 30 s poll
        began = time.monotonic()
        loop.notify()
        wait_for(lambda: len(loop.times) == 2)
        assert loop.times[1] - began < 1.0
    finally:
        loop.stop()
    assert loop.thread is None
    assert loop.ended_on == ["counting"]  # finished() ran on the loop's own thread


def test_polls_without_notify():
    loop = Counting(poll=0.05)
    loop.start()
    try:
        wait_for(lambda: len(loop.times) >= 4)
    finally:
        loop.stop()


def test_a_step_with_more_to_do_runs_again_at_once():
    loop = Counting(poll=30.0, more=5)
    loop.start()
    try:
        wait_for(lambda: len(loop.times) == 6, timeout=2.0)  # never waited for the poll
    finally:
        loop.stop()


def test_failures_back_off_doubling_up_to_the_cap_then_recover():
    loop = Counting(poll=0.05, fail=4, max_backoff=0.3)
    loop.start()
    try:
        wait_for(lambda: len(loop.times) >= 6, timeout=10)
    finally:
        loop.stop()
    gaps = [b - a for a, b in zip(loop.times, loop.times[1:], strict=False)]
    # After failures 1..4: 0.1, 0.2, 0.3 (capped, not 0.4), 0.3 (capped, not 0.8); then the
    # step succeeds and the loop is back to its 0.05 s poll.
    assert 0.09 <= gaps[0] < 0.2 and 0.19 <= gaps[1] < 0.3
    assert 0.29 <= gaps[2] < 0.4 and 0.29 <= gaps[3] < 0.4
    assert gaps[4] < 0.15
    assert loop.failures == 0


def test_stop_wakes_a_sleeping_loop_at_once_and_start_again_works():
    loop = Counting(poll=60.0)
    loop.start()
    wait_for(lambda: len(loop.times) == 1)
    began = time.monotonic()
    loop.stop()
    assert time.monotonic() - began < 1.0
    loop.start()
    try:
        wait_for(lambda: len(loop.times) == 2)  # run_at_start again
    finally:
        loop.stop()


def test_gather_holds_a_burst_of_wake_ups_into_one_step():
    loop = Counting(poll=30.0, gather=0.2)
    loop.start()
    try:
        wait_for(lambda: len(loop.times) == 1)
        for _ in range(20):
            loop.notify()
            time.sleep(0.005)
        time.sleep(0.4)
        assert len(loop.times) == 2  # twenty wake-ups, one step
    finally:
        loop.stop()


def test_periodic_waits_an_interval_first_and_keeps_going_after_an_error():
    calls: list[float] = []
    began = time.monotonic()

    def flaky() -> None:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise RuntimeError("retention failed")

    task = Periodic("flaky", 0.1, flaky)
    task.start()
    try:
        wait_for(lambda: len(calls) >= 3)
    finally:
        task.stop()
    assert calls[0] - began >= 0.09  # not at start: one interval in
    assert calls[2] - calls[1] < 0.2  # an error does not stretch the interval
