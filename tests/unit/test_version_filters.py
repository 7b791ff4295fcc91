"""--exclude / --include on version histories (`sync --all-versions`): a key takes part, or not, with its
whole history; the entries of each part are counted (the unit of --all-versions is a version or marker)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bucketsync.core.filters import Filter, Filters
from bucketsync.core.history import HistoryEntry, KeyHistory
from bucketsync.core.version_plan import filter_histories

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def history(key: str, versions: int, markers: int = 0) -> KeyHistory:
    entries = [HistoryEntry(key, f"{key}-v{n}", T0 + timedelta(seconds=n), etag=f'"{n}"', size=1)
               for n in range(versions)]
    entries += [HistoryEntry(key, f"{key}-m{n}", T0 + timedelta(seconds=versions + n), is_delete_marker=True)
                for n in range(markers)]
    return KeyHistory(key, tuple(entries))


HISTORIES = (
    history("a.txt", 2),
    history("logs/1.log", 3, markers=1),
    history("logs/keep/x.txt", 2, markers=1),
    history("tmp.log", 1, markers=2),
    history("z.txt", 1),
)


def filters(*rules: tuple[str, str]) -> Filters:
    return Filters(tuple(Filter(kind, pattern) for kind, pattern in rules))  # type: ignore[arg-type]


@pytest.mark.parametrize("rules, included, listed, excluded", [
    ((), ["a.txt", "logs/1.log", "logs/keep/x.txt", "tmp.log", "z.txt"], 13, 0),
    ((("exclude", "logs/*"),), ["a.txt", "tmp.log", "z.txt"], 6, 7),
    ((("exclude", "logs/*"), ("include", "logs/keep/*")), ["a.txt", "logs/keep/x.txt", "tmp.log", "z.txt"], 9, 4),
    ((("include", "logs/keep/*"), ("exclude", "logs/*")), ["a.txt", "tmp.log", "z.txt"], 6, 7),
    ((("exclude", "*.log"),), ["a.txt", "logs/keep/x.txt", "z.txt"], 6, 7),
    ((("exclude", "*"), ("include", "*.txt")), ["a.txt", "logs/keep/x.txt", "z.txt"], 6, 7),
    ((("exclude", "*"),), [], 0, 13),
])
def test_a_key_takes_part_with_its_whole_history(rules, included, listed, excluded):
    result = filter_histories(HISTORIES, filters(*rules))

    assert [h.key for h in result.included] == included
    assert (result.listed, result.excluded) == (listed, excluded)
    assert all(h in HISTORIES for h in result.included)  # whole histories, untouched


def test_no_histories():
    result = filter_histories((), filters(("exclude", "*")))
    assert (result.included, result.listed, result.excluded) == ([], 0, 0)
