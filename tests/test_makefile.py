"""`make run` installs what serving needs and no test tool; `make test` adds the dev extras.
Each has its own stamp, so either may come first. Read from make's own plan (`make -n`)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def plan(target: str, venv: Path) -> str:
    done = subprocess.run(["make", "-n", target, f"VENV={venv}"], cwd=ROOT, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _fresh_venv(tmp_path: Path) -> Path:
    """What the Makefile's first rule makes: a venv with a python in it."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    later = time.time() + 5  # newer than pyproject.toml, as a just-made venv is
    os.utime(venv / "bin" / "python", (later, later))
    return venv


def _installs(steps: str) -> list[str]:
    return [line for line in steps.splitlines() if "pip install" in line]


def test_make_run_installs_the_package_without_the_dev_extras(tmp_path):
    venv = _fresh_venv(tmp_path)
    steps = plan("run", venv)
    assert [line.split()[-1] for line in _installs(steps)] == ["."], steps
    assert "[dev]" not in steps
    assert "textline serve --demo" in steps


def test_make_test_adds_the_dev_extras(tmp_path):
    steps = plan("test", _fresh_venv(tmp_path))
    assert [line.split()[-1] for line in _installs(steps)] == ["'.[dev]'"], steps


def test_switching_between_run_and_test_installs_only_what_is_missing(tmp_path):
    venv = _fresh_venv(tmp_path)
    stamp = time.time() + 10
    (venv / ".installed-dev").touch()
    os.utime(venv / ".installed-dev", (stamp, stamp))
    assert _installs(plan("test", venv)) == []  # the dev extras are there
    assert len(_installs(plan("run", venv))) == 1  # its own stamp: a quick no-op install
    (venv / ".installed-serve").touch()
    os.utime(venv / ".installed-serve", (stamp, stamp))
    assert _installs(plan("run", venv)) == []
    (venv / ".installed-dev").unlink()
    assert [line.split()[-1] for line in _installs(plan("test", venv))] == ["'.[dev]'"]
