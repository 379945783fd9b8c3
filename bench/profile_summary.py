"""Summarise py-spy's raw (collapsed) stacks: where the server's threads spend their samples.

    .venv/bin/python bench/profile_summary.py PROFILE.txt [--top 25] [--grep app/]

Prints the functions with the most samples inclusive (anywhere on the stack) and exclusive
(at the top), idle threads left out (a thread waiting on a lock, a socket or a queue counts
under the call that waits, so lock convoys show as time in the call that takes the lock).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

IDLE = ("_worker (concurrent/futures/thread.py", "wait (threading.py", "Condition.wait (threading.py",
        "select (selectors.py", "Runner.run (asyncio/runners.py",
        "_run_once (asyncio/base_events.py")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("profile", type=Path)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--grep", default="", help="only frames whose text contains this")
    args = p.parse_args()
    inclusive: Counter[str] = Counter()
    exclusive: Counter[str] = Counter()
    total = 0
    for raw in args.profile.read_text().splitlines():
        stack, _, count = raw.rpartition(" ")
        if not count.isdigit():
            continue
        frames = [f for f in stack.split(";") if f]
        if not frames or any(frames[-1].startswith(i) for i in IDLE):
            continue
        n = int(count)
        total += n
        exclusive[frames[-1]] += n
        for f in set(frames):
            if args.grep in f:
                inclusive[f] += n
    print(f"{total} busy samples")
    print("\ninclusive:")
    for f, n in inclusive.most_common(args.top):
        print(f"  {100 * n / total:5.1f}%  {f[:150]}")
    print("\nexclusive:")
    for f, n in exclusive.most_common(args.top):
        print(f"  {100 * n / total:5.1f}%  {f[:150]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
