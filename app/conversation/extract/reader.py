"""A second reader, learned from the project's labelled conversations: does a text read as an
emergency, whatever words it uses?

The concept rules name what they know. What they miss on conversations nobody tuned for is
danger told in other words ("hes gone grey and sweaty", "foam come out from mouth"). This reader
is a logistic regression over a text's lemmas and pairs of neighbouring lemmas, trained by
`python -m tests.corpus.train_reader` on `tests/corpus/dev_*.yaml` (never the set-aside part)
and shipped as `reader.json`. It only ever adds a reason to raise a case (rules.yaml,
"reads-as-emergency"); it never lowers one, and what it shows the operator is the words that
weighed most.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from app.conversation.extract.concepts import read
from app.conversation.extract.words import words
from app.conversation.facts import Concept

WEIGHTS = Path(__file__).resolve().parents[1] / "reader.json"
CONCEPT = "reads_as_emergency"

# Words too common to carry meaning alone; they still count inside a pair ("on_the").
STOPWORDS = frozenset(
    "the a an and to of in on at is it i he she they we you his her their my me him them this"
    " that with for was are be been have has had do does did not no so but or as by from just"
    " like really about there theres its im".split()
)


def features(text: str) -> set[str]:
    """Lemmas (not stopwords, not numbers), pairs of neighbouring lemmas, and the names of the
    concepts and sentence indicators the rules read in the text ("C:life_threat",
    "R:violence"). A concept stands for every word written under it, so a weight learned for
    it reaches words the training texts never used; and the reader learns which concepts,
    together, an operator would ring through."""
    lemmas = [w.lemma for w in words(text) if w.lemma.isalnum() and not w.lemma.isdigit()]
    found = {w for w in lemmas if w not in STOPWORDS}
    found.update(f"{a}_{b}" for a, b in zip(lemmas, lemmas[1:], strict=False))
    reading = read(text)  # cached: the engine has read this text already
    found.update(f"C:{c.name}" for c in reading.concepts)
    found.update(f"R:{r.indicator}" for r in reading.risks)
    return found


@dataclass(frozen=True)
class Model:
    weights: dict[str, float]
    bias: float
    threshold: float  # the probability at or above which a text reads as an emergency

    def probability(self, found: set[str]) -> float:
        z = self.bias + sum(self.weights.get(f, 0.0) for f in found)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def to_json(self) -> str:
        body = {"bias": round(self.bias, 4), "threshold": self.threshold,
                "weights": {k: round(v, 3) for k, v in sorted(self.weights.items())}}
        return json.dumps(body, indent=0, sort_keys=True) + "\n"


def load_model(path: Path = WEIGHTS) -> Model:
    data = json.loads(path.read_text(encoding="utf-8"))
    return Model(dict(data["weights"]), float(data["bias"]), float(data["threshold"]))


@lru_cache(maxsize=1)
def default_model() -> Model:
    return load_model()


def read_account(text: str, model: Model | None = None) -> tuple[Concept, ...]:
    """The concept `reads_as_emergency`, with the three words that weighed most, or nothing."""
    m = model or default_model()
    found = features(text)
    if m.probability(found) < m.threshold:
        return ()
    return (Concept(CONCEPT, ", ".join(_weightiest(found, m))),)


def _weightiest(found: set[str], m: Model, n: int = 3) -> list[str]:
    """The words that weighed most for it, each once: "lips blue", "fit", not "the floor"."""
    chosen: list[str] = []
    seen: set[str] = set()
    for f in sorted(found, key=lambda f: (-m.weights.get(f, 0.0), f)):
        parts = f.split("_")
        if m.weights.get(f, 0.0) <= 0 or len(chosen) == n:
            break
        if ":" in f:  # a concept's name is not the texter's words
            continue
        if any(p in STOPWORDS for p in parts) or set(parts) <= seen:
            continue
        chosen.append(" ".join(parts))
        seen.update(parts)
    return chosen
