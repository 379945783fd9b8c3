"""Reading a lexicon file so that a mistake is reported with the line it is on.

The phrase lexicon (risk.py) and the concept lexicon (concepts.py) are edited by people who
are not programmers. A bad entry stops the service at start with one line that names the
file, the line and the entry, so it is found in seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class LexiconError(ValueError):
    """A lexicon file that cannot be used; the message names the line of the bad entry."""


class Text(str):
    """A string from the file that remembers its line (0 when it did not come from a file)."""

    line = 0


class _Loader(yaml.SafeLoader):
    pass


def _scalar(loader: _Loader, node: yaml.ScalarNode) -> Text:
    value = Text(loader.construct_scalar(node))
    value.line = node.start_mark.line + 1
    return value


_Loader.add_constructor("tag:yaml.org,2002:str", _scalar)


def split_alternatives(body: str) -> list[str]:
    """ "a|(b|c) d|e" -> ["a", "(b|c) d", "e"]: split on the "|" outside any inner group."""
    alts, depth, current = [], 0, []
    for ch in body:
        depth += (ch == "(") - (ch == ")")
        if ch == "|" and depth == 0:
            alts.append("".join(current))
            current = []
        else:
            current.append(ch)
    alts.append("".join(current))
    return alts


def where(value: object) -> str:
    """ "line 12: " for a value read from a file, "" otherwise."""
    line = getattr(value, "line", 0)
    return f"line {line}: " if line else ""


def read(path: Path | str) -> Any:
    """The file's YAML, with every string a Text that knows its line."""
    with open(path, encoding="utf-8") as fh:
        try:
            return yaml.load(fh, Loader=_Loader)
        except yaml.YAMLError as exc:
            raise LexiconError(f"{path}: {exc}") from exc
