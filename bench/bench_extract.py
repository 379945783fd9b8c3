"""Time every extractor over every text of the conversation corpora, with the full station list.

    .venv/bin/python bench/bench_extract.py [--rounds 50] [--stations PATH]

The texts are those of the project's tuned corpus (tests/corpus/dev_*.yaml) and of the shared
corpus where it sits beside the repository. The station list is --stations, else
TEXTLINE_STATIONS_FILE, else tests/data/gb_rail_stations.csv (every GB station), else the
built-in list (said so in the output). The texts include the Welsh corpus, and the language
of each text is timed as one more extractor. Extractors that are not
written yet are skipped. Prints, per extractor and for all of them together, the mean and p99
time per text in microseconds. The target is a mean under 1000 us for the whole extraction.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

from app.gazetteer import load_gazetteer  # noqa: E402

CORPORA = [*sorted((REPO / "tests" / "corpus").glob("dev_*.yaml")),
           REPO / "tests" / "corpus" / "cy_dev.yaml",
           REPO / ".." / "shared" / "corpus" / "conversations.yaml"]
FULL_LIST = REPO / "tests" / "data" / "gb_rail_stations.csv"


def corpus_texts(path: Path) -> list[str]:
    texts: list[str] = []
    for case in yaml.safe_load(path.read_text(encoding="utf-8")):
        texts.append(case["first"])
        texts += [str(v) for v in (case.get("answers") or {}).values()]
        texts += [str(v) for v in (case.get("retry") or {}).values()]
        texts += [str(v) for v in case.get("extra") or []]
    return texts


def extractors(gazetteer: Any) -> dict[str, Callable[[str], Any]]:
    found: dict[str, Callable[[str], Any]] = {}
    for module, name in (
        ("location", "extract_location"),
        ("age", "extract_age"),
        ("immediacy", "extract_immediacy"),
        ("risk", "extract_risks"),
        ("reader", "read_account"),
    ):
        try:
            fn = getattr(importlib.import_module(f"app.conversation.extract.{module}"), name)
        except (ImportError, AttributeError) as exc:
            print(f"skipping {module}: {exc}")
            continue
        if module == "location":
            found[module] = lambda text, fn=fn: fn(text, gazetteer)
        else:
            found[module] = fn
    # The language of each text (lingua, built as start-up builds it, outside the timing).
    from app.conversation.language import load_detector, text_language

    detect = load_detector()
    found["language"] = lambda text: text_language(text, detect)
    return found


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * q))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=int, default=50, help="passes over the corpus (default 50)"
    )
    parser.add_argument("--stations", help="station list to load")
    args = parser.parse_args(argv)

    path = args.stations or os.environ.get("TEXTLINE_STATIONS_FILE")
    if not path and FULL_LIST.is_file():
        path = str(FULL_LIST)
    started = time.perf_counter()
    gazetteer = load_gazetteer(path)
    loaded_ms = (time.perf_counter() - started) * 1000
    print(
        f"stations: {len(gazetteer)} from {path or 'the built-in list'} (loaded in {loaded_ms:.0f} ms)"
    )

    texts = [t for path in CORPORA if path.is_file() for t in corpus_texts(path)]
    fns = extractors(gazetteer)
    if not fns:
        print("no extractors found")
        return 1
    for fn in fns.values():  # warm up caches and imports outside the timing
        for text in texts:
            fn(text)

    per: dict[str, list[float]] = {name: [] for name in fns}
    total: list[float] = []
    # Each text's fastest run: what the code costs when nothing else wants the CPU.
    best: dict[str, list[float]] = {name: [float("inf")] * len(texts) for name in [*fns, "all"]}
    clock = time.perf_counter_ns
    gc.disable()
    try:
        for _ in range(args.rounds):
            for i, text in enumerate(texts):
                whole = 0
                for name, fn in fns.items():
                    t0 = clock()
                    fn(text)
                    spent = clock() - t0
                    per[name].append(spent / 1000)
                    best[name][i] = min(best[name][i], spent / 1000)
                    whole += spent
                total.append(whole / 1000)
                best["all"][i] = min(best["all"][i], whole / 1000)
    finally:
        gc.enable()

    print(f"{len(texts)} texts x {args.rounds} rounds; microseconds per text")
    print("(best: mean over texts of each text's fastest run, steady on a busy machine)")
    print(f"{'extractor':<12}{'mean':>10}{'p99':>10}{'max':>10}{'best':>10}")
    for name, values in [*per.items(), ("all", total)]:
        values.sort()
        print(
            f"{name:<12}{statistics.fmean(values):>10.1f}{percentile(values, 0.99):>10.1f}"
            f"{values[-1]:>10.1f}{statistics.fmean(best[name]):>10.1f}"
        )
    mean_all = statistics.fmean(total)
    verdict = "OK" if mean_all < 1000 else "TOO SLOW"
    print(f"whole extraction: mean {mean_all:.1f} us per text ({verdict}: target < 1000 us)")
    return 0 if mean_all < 1000 else 1


if __name__ == "__main__":
    raise SystemExit(main())
