"""prometheus-client's multiprocess mode for `textline serve --workers N`.

Each uvicorn worker is its own process with its own counters; a scrape reaches one of them.
With PROMETHEUS_MULTIPROC_DIR set before the workers start (they are spawned, so each imports
prometheus-client afresh and reads it), every worker keeps its values in files there, and
/metrics sums the files of all of them (app/ops/metrics.py).

serve makes the directory and removes it when it stops. Where the operator has set
PROMETHEUS_MULTIPROC_DIR (to keep it on a tmpfs, say), serve uses theirs and only empties it at
start: values a previous run left there would otherwise be added to this run's.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def multiprocess_metrics(workers: int) -> Iterator[Path | None]:
    """The directory the workers share for their figures while the block runs; None (and
    nothing set) for one worker, which keeps its figures in memory, unless the operator set
    PROMETHEUS_MULTIPROC_DIR."""
    given = os.environ.get(ENV)
    if given:  # the operator's, used even by one worker: emptied of an earlier run's values
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        yield path
        return
    if workers <= 1:
        yield None
        return
    path = Path(tempfile.mkdtemp(prefix="textline-metrics-"))
    os.environ[ENV] = str(path)
    try:
        yield path
    finally:
        os.environ.pop(ENV, None)
        shutil.rmtree(path, ignore_errors=True)
