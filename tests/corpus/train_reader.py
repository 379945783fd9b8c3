"""Train the learned second reader (app/conversation/extract/reader.py) on the tuned corpus.

    python -m tests.corpus.train_reader            # writes app/conversation/reader.json
    python -m tests.corpus.train_reader --check    # exits 1 if the shipped file differs

Only `dev_*.yaml` is read: the set-aside part measures the reader as it measures the rules.
Each conversation's texts (first, answers, retries, extras) are one example, labelled by its
expected decision. Training is deterministic (fixed order and seed), so the shipped weights can
be checked against the corpus in the suite.

The threshold is chosen by holding out each writer's file in turn: the lowest probability at
which the reader, trained without that file, raises no more than 2% of its non-emergencies.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from pathlib import Path

import yaml

from app.conversation.extract.reader import WEIGHTS, Model, features
from tests.corpus.runner import TUNED

EPOCHS = 12
RATE = 0.2
DECAY = 1e-4
MAX_FALSE_RAISES = 0.02  # of held-out non-emergencies
KEEP = 0.02  # weights smaller than this are left out of the shipped file


def examples(paths: list[Path]) -> list[tuple[str, list[str], bool]]:
    out = []
    for path in paths:
        for spec in yaml.safe_load(path.read_text(encoding="utf-8")):
            texts = [spec["first"], *(spec.get("answers") or {}).values(),
                     *(spec.get("retry") or {}).values(), *(spec.get("extra") or [])]
            out.append((path.name, texts, spec["expect"].get("decision") == "999"))
    return out


def train(data: list[tuple[str, list[str], bool]]) -> Model:
    return _fit([(sorted(features(" . ".join(texts))), label) for _, texts, label in data])


def _fit(items: list[tuple[list[str], bool]]) -> Model:
    weights: dict[str, float] = {}
    bias = 0.0
    items = list(items)
    rnd = random.Random(7)
    for _ in range(EPOCHS):
        rnd.shuffle(items)
        for found, label in items:
            z = bias + sum(weights.get(f, 0.0) for f in found)
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
            g = p - label
            bias -= RATE * g
            for f in found:
                weights[f] = weights.get(f, 0.0) * (1 - RATE * DECAY) - RATE * g
    return Model({k: v for k, v in weights.items() if abs(v) >= KEEP}, bias, 1.0)


def threshold(data: list[tuple[str, list[str], bool]]) -> tuple[float, float, float]:
    """(threshold, held-out recall, held-out false raises) by leaving each file out."""
    scored: list[tuple[float, bool]] = []
    # Each conversation's features once, not once a fold: reading them is most of the cost.
    found = [sorted(features(" . ".join(texts))) for _, texts, _ in data]
    each = [[features(t) for t in texts] for _, texts, _ in data]
    for name in sorted({d[0] for d in data}):
        model = _fit([(f, d[2]) for f, d in zip(found, data, strict=True) if d[0] != name])
        # Scored as the engine reads it: text by text, the highest counts.
        scored += [(max(model.probability(f) for f in fs), d[2])
                   for fs, d in zip(each, data, strict=True) if d[0] == name]
    negatives = sorted((s for s, label in scored if not label), reverse=True)
    allowed = int(MAX_FALSE_RAISES * len(negatives))
    cut = round(negatives[allowed] + 0.005, 2)  # just above the first score not allowed
    positives = [s for s, label in scored if label]
    recall = sum(s >= cut for s in positives) / len(positives)
    false = sum(s >= cut for s in negatives) / len(negatives)
    return cut, recall, false


def build() -> tuple[Model, float, float]:
    data = examples(TUNED)
    cut, recall, false = threshold(data)
    model = train(data)
    return Model(model.weights, model.bias, cut), recall, false


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped file")
    args = parser.parse_args(argv)
    model, recall, false = build()
    print(f"threshold {model.threshold}: held-out recall {recall:.3f}, "
          f"false raises {false:.3f}; {len(model.weights)} weights")
    if args.check:
        same = WEIGHTS.read_text(encoding="utf-8") == model.to_json()
        print("shipped file matches" if same else "shipped file differs: retrain")
        return 0 if same else 1
    WEIGHTS.write_text(model.to_json(), encoding="utf-8")
    print(f"wrote {WEIGHTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
