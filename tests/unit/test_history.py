"""Version histories: ordering a listing's versions and delete markers, and matching a destination's history
against the source's (`sync --all-versions`), as tables of plain values."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bucketsync.core.history import HistoryEntry, order_history, plan_history

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
_ids = iter(range(1_000_000))


def v(content: str, second: float = 0, latest: bool = False, size: int | None = None) -> HistoryEntry:
    """A version whose bytes are named by `content` (equal names, equal ETags)."""
    return HistoryEntry("k", f"v{next(_ids)}", T0 + timedelta(seconds=second), is_latest=latest,
                        etag=f'"{content}"', size=len(content) if size is None else size)


def dm(second: float = 0, latest: bool = False) -> HistoryEntry:
    return HistoryEntry("k", f"v{next(_ids)}", T0 + timedelta(seconds=second), is_latest=latest, is_delete_marker=True)


def shape(entries) -> list[str]:
    return ["DM" if entry.is_delete_marker else entry.etag.strip('"') for entry in entries]


# ---------------------------------------------------------------- ordering


def test_versions_and_markers_at_different_times_interleave_by_time():
    a, b = v("a", 1), v("b", 3)
    marker = dm(2)
    assert shape(order_history([b, a], [marker])) == ["a", "DM", "b"]


def test_a_tie_within_a_second_puts_the_latest_entry_last():
    a = v("a", 5, latest=True)
    marker = dm(5)
    assert shape(order_history([a], [marker])) == ["DM", "a"]
    b = v("b", 5)
    marker = dm(5, latest=True)
    assert shape(order_history([b], [marker])) == ["b", "DM"]


def test_a_tie_without_a_hint_takes_the_marker_as_newer_and_keeps_each_list_in_order():
    a, b, c = v("a", 5), v("b", 5), v("c", 5)
    first, second = dm(5), dm(5)
    # listed newest first within each list
    assert shape(order_history([c, b, a], [second, first])) == ["a", "b", "c", "DM", "DM"]


def test_only_markers_or_only_versions():
    assert shape(order_history([], [dm(2), dm(1)])) == ["DM", "DM"]
    assert shape(order_history([v("b", 2), v("a", 1)], [])) == ["a", "b"]


# ---------------------------------------------------------------- matching


def copies(entries):
    """The destination's copies of source entries: same bytes or a marker, other ids and times."""
    return [dm(100 + n) if e.is_delete_marker else v(e.etag.strip('"'), 100 + n, size=e.size) for n, e in enumerate(entries)]


def plan(source, dest):
    result = plan_history(source, dest)
    return shape(result.to_write), len(result.matched), shape(result.rewritten), shape(result.kept)


@pytest.mark.parametrize(
    "source, dest, expected",
    [
        # (to write, matched, rewritten, kept)
        pytest.param("a b c", "", (["a", "b", "c"], 0, [], []), id="first run copies the whole history"),
        pytest.param("a b c", "a b c", ([], 3, [], []), id="second run adds nothing"),
        pytest.param("a b c d", "a b c", (["d"], 3, [], []), id="a new source version adds exactly one"),
        pytest.param("a b c DM", "a b c", (["DM"], 3, [], []), id="a delete adds one marker"),
        pytest.param("DM a", "", (["DM", "a"], 0, [], []), id="a delete marker first"),
        pytest.param("a DM DM", "a DM", (["DM"], 2, [], []), id="consecutive delete markers"),
        pytest.param("a DM DM", "a DM DM", ([], 3, [], []), id="consecutive delete markers, replicated"),
        pytest.param("a b a", "a", (["b", "a"], 1, [], []), id="identical bytes repeated: oldest matched first"),
        pytest.param("a b a", "a b a", ([], 3, [], []), id="identical bytes repeated, replicated"),
        pytest.param("a a a", "a a", (["a"], 2, [], []), id="the same bytes three times"),
        pytest.param("a b c", "c", (["a", "b", "c"], 0, ["c"], []),
                     id="reordering: a newer version at the destination, older ones missing"),
        pytest.param("a b", "a b x", (["a", "b"], 0, ["a", "b", "x"], []),
                     id="a destination version of its own on top: the history is written again"),
        pytest.param("a c", "a b c", ([], 2, [], ["b"]), id="a version deleted for good at the source stays"),
        pytest.param("b c", "a b c", ([], 2, [], ["a"]), id="the oldest version deleted for good at the source"),
        pytest.param("b c d", "a b c", (["d"], 2, [], ["a"]), id="deleted for good, then a new version"),
        pytest.param("", "a b", ([], 0, [], ["a", "b"]), id="no source history: nothing to write, all kept"),
        pytest.param("a b DM", "a b DM", ([], 3, [], []), id="ends with a delete marker, replicated"),
    ],
)
def test_plan_history(source, dest, expected):
    source_entries = [dm(n) if token == "DM" else v(token, n) for n, token in enumerate(source.split())]
    dest_entries = [dm(200 + n) if token == "DM" else v(token, 200 + n) for n, token in enumerate(dest.split())]
    assert plan(source_entries, dest_entries) == expected


def test_second_run_after_a_plan_adds_nothing():
    source = [v("a", 1), v("b", 2), dm(3), v("a", 4)]
    for dest_before in ([], [v("b", 50)], [v("a", 40), v("x", 41)]):
        first = plan_history(source, dest_before)
        dest_after = list(dest_before) + copies(first.to_write)
        second = plan_history(source, dest_after)
        assert second.to_write == () and len(second.matched) == len(source)


def test_matched_pairs_pair_each_source_entry_with_its_own_copy():
    source = [v("a", 1), v("b", 2), v("a", 3)]
    dest = copies(source)
    matched = plan_history(source, dest).matched
    assert [(s.version_id, d.version_id) for s, d in matched] == [(s.version_id, d.version_id) for s, d in zip(source, dest)]


def test_multipart_layouts_follow_the_etag_rule():
    single = HistoryEntry("k", "1", T0, etag='"abc"', size=10)
    multipart = HistoryEntry("k", "2", T0, etag='"def-2"', size=10)
    other_multipart = HistoryEntry("k", "3", T0, etag='"xyz-2"', size=10)
    assert single.matches(multipart)  # different layouts: equal sizes are taken as equal (as for current versions)
    assert not multipart.matches(other_multipart)
    assert not single.matches(HistoryEntry("k", "4", T0, is_delete_marker=True))


# ---------------------------------------------------------------- ties within one second (moto)


def test_a_destination_written_within_one_second_matches_its_source():
    """Copies of a, DM, b, DM written in one second list as two lists: the merge cannot place the first
    marker between the versions, but the history still matches (the second run adds nothing)."""
    source = [v("a", 1), dm(2), v("b", 3), dm(4, latest=True)]
    a, b = v("a", 100), v("b", 100)
    first, second = dm(100), dm(100, latest=True)
    dest = order_history([b, a], [second, first])
    assert shape(dest) == ["a", "b", "DM", "DM"]  # not the written order: a, DM, b, DM
    result = plan_history(source, dest)
    assert result.to_write == () and result.kept == ()
    assert [(s.version_id, d.version_id) for s, d in result.matched if not s.is_delete_marker] == [
        (source[0].version_id, a.version_id), (source[2].version_id, b.version_id)]


def test_a_tie_group_still_needs_every_source_entry():
    source = [v("a", 1), dm(2), v("b", 3), dm(4, latest=True)]
    a, b = v("a", 100), v("b", 100)
    only = dm(100, latest=True)
    dest = order_history([b, a], [only])  # one marker short
    result = plan_history(source, dest)
    assert result.to_write != ()


def test_versions_of_one_second_keep_their_listed_order():
    source = [v("a", 1), v("b", 2), dm(3, latest=True)]
    b, a = v("b", 100), v("a", 100)
    marker = dm(100, latest=True)
    dest = order_history([a, b], [marker])  # listed b first: b is the older copy here
    assert shape(plan_history(source, dest).to_write) == ["a", "b", "DM"]
