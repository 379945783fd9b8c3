"""A language detector that cannot load stops `serve` with one clear line, no traceback."""

from __future__ import annotations

import pytest

from tests.test_cli import run


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_serve_stops_when_the_language_detector_cannot_load(database_url, tmp_path):
    # A broken install: a `lingua` package whose models cannot be read, ahead on the path.
    broken = tmp_path / "lingua"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('language models missing')\n")
    done = run(["serve"], {"TEXTLINE_DATABASE_URL": database_url,
                           "PYTHONPATH": str(tmp_path)})
    assert done.returncode == 1
    line = done.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert "language detector cannot load" in line and "language models missing" in line
