"""One shape for every background loop: a daemon thread that runs a step, then sleeps until
notified or until its poll interval has passed, backing off while the step keeps failing.

A subclass gives step(); it returns True when it did work and more may be waiting (the loop
runs it again at once), False when it found nothing (the loop sleeps). An exception is logged
and the loop sleeps poll * 2 ** failures, at most max(max_backoff, poll), before trying again:
a database that went away is retried, not hammered, and a loop never dies of one bad step.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("textline.loops")


class Loop:
    """Subclass and give step(); start(), notify() and stop() are the whole interface."""

    def __init__(self, name: str, *, poll: float, max_backoff: float = 30.0,
                 run_at_start: bool = True, gather: float = 0.0) -> None:
        self.name = name
        self.poll = poll
        self.max_backoff = max_backoff
        # Run a first step as soon as the thread starts (work left by the last run), or only
        # after the first poll interval (timers).
        self.run_at_start = run_at_start
        # After a wake-up from sleep, wait this long before the step, so that a burst of
        # notify() calls is handled in one step rather than one step each.
        self.gather = gather
        self.failures = 0
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None

    def step(self) -> bool:
        raise NotImplementedError

    def failed(self, exc: BaseException) -> None:
        """A step raised; self.failures counts it. Logged here; subclasses may say more."""
        log.exception("%s failed; will try again", self.name,
                      extra={"failures": self.failures})

    def started(self) -> None:
        """Runs on the loop's thread before the first step."""

    def finished(self) -> None:
        """Runs on the loop's thread after the last step, once stop() was called."""

    def interrupt(self) -> None:
        """Called by stop(): unblock a step that waits on something other than the wake-up."""

    @property
    def stopping(self) -> threading.Event:
        return self._stop

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        if self.run_at_start:
            self._wake.set()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def notify(self, *_args: object) -> None:
        """Run a step now rather than at the next poll (callable from any thread)."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Let the step in hand finish, then end the thread (waits at most `timeout`)."""
        self._stop.set()
        self._wake.set()
        self.interrupt()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def sleep(self, seconds: float) -> bool:
        """Wait, waking early on stop(); True if stopping."""
        return self._stop.wait(seconds)

    def backoff(self) -> float:
        if self.failures == 0:
            return self.poll
        return min(max(self.max_backoff, self.poll), self.poll * 2 ** self.failures)

    def _run(self) -> None:
        try:
            self.started()
            while not self._stop.is_set():
                woken = self._wake.wait(self.backoff())
                if woken and self.gather > 0 and self._stop.wait(self.gather):
                    break
                # Cleared just before the step: a notify() from here on runs another.
                self._wake.clear()
                if self._stop.is_set():
                    break
                self._steps()
        finally:
            self.finished()

    def _steps(self) -> None:
        while not self._stop.is_set():
            try:
                more = self.step()
            except Exception as exc:
                self.failures += 1
                self.failed(exc)
                return
            self.failures = 0
            if not more:
                return


class Periodic(Loop):
    """Runs fn every `interval` seconds until stop(); a failure is logged and tried again at
    the next interval."""

    def __init__(self, name: str, interval: float, fn: Callable[[], object], *,
                 run_at_start: bool = False) -> None:
        super().__init__(name, poll=interval, max_backoff=interval, run_at_start=run_at_start)
        self.interval = interval
        self.fn = fn

    def step(self) -> bool:
        self.fn()
        return False
