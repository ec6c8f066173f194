"""Benchmarks, run by hand (``python -m bench.<name>``); never part of the test suite."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

#: Where the tools write their results unless told otherwise (``--output``).
RESULTS = Path(__file__).resolve().parent / "results"


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of *values* (*share* 0.95 for p95); 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share + 0.5) - 1)]


def write_result(
    text: str, tool: str, when: dt.datetime, database: str = "", folder: Path = RESULTS
) -> Path:
    """Write a run's Markdown result to ``<tool>-YYYY-MM-DD-HHMM[-<database>].md`` in *folder*
    and return its path.

    *when* is the time the result's heading gives. Named to the minute, a later run of the same
    day gets a file of its own instead of replacing the one the README quotes, and the results of
    one tool on one database sort by time. A second run within the same minute (two seeds of
    the list sweep, say) gets ``-2``, ``-3``… before ``.md``: no run replaces another's file.
    """
    folder.mkdir(parents=True, exist_ok=True)
    name = "-".join(part for part in (tool, when.strftime("%Y-%m-%d-%H%M"), database) if part)
    target, n = folder / f"{name}.md", 1
    while True:
        try:
            with target.open("x", encoding="utf-8") as f:  # created here, or taken: next name
                f.write(text)
            return target
        except FileExistsError:
            n += 1
            target = folder / f"{name}-{n}.md"
