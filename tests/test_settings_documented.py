"""Every TEXTLINE_ variable the README's settings table or compose.yaml names is a real setting,
and every setting is in the README's table: a deployment is configured by what is written."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from app.kit.config import Settings

ROOT = Path(__file__).resolve().parents[1]
_VARIABLE = re.compile(r"\bTEXTLINE_[A-Z0-9_]+\b")
SETTINGS = {f"TEXTLINE_{name.upper()}" for name in Settings.model_fields}


def readme_table() -> set[str]:
    """The variables of the table under README's "## Configuration" (its first column)."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `TEXTLINE_")]
    assert rows, "no settings table under ## Configuration"
    return {name for row in rows for name in _VARIABLE.findall(row.split("|")[1])}


def test_the_readme_table_names_every_setting_and_nothing_else():
    documented = readme_table()
    assert documented - SETTINGS == set(), "in the README's table, but not a setting"
    assert SETTINGS - documented == set(), "a setting missing from the README's table"


def test_every_variable_in_the_readme_is_a_setting():
    """Prose too: a variable named anywhere in the README is one that exists, the test suite's
    own (read by tests/conftest.py) apart."""
    suite = {"TEXTLINE_TEST_POSTGRES_URL"}
    assert all(name in (ROOT / "tests" / "conftest.py").read_text() for name in suite)
    named = set(_VARIABLE.findall((ROOT / "README.md").read_text()))
    assert named - SETTINGS - suite == set()


def test_every_variable_compose_sets_or_names_is_a_setting():
    text = (ROOT / "compose.yaml").read_text()
    doc = yaml.safe_load(text)
    given = {name for service in doc["services"].values()
             for name in (service.get("environment") or {}) if name.startswith("TEXTLINE_")}
    assert given, "compose.yaml gives Textline no settings"
    assert given - SETTINGS == set(), "compose.yaml sets a variable Textline does not read"
    assert set(_VARIABLE.findall(text)) - SETTINGS == set()  # comments and ${...} too
