"""The merge-join planner as tables of listings and expected actions."""

from __future__ import annotations

import json

import pytest

from bucketsync.core.model import ObjectEntry
from bucketsync.core.plan import (
    ListingOrderError,
    PlannedAction,
    PlanOptions,
    dest_range_for_page,
    merge_join,
    plan,
    plan_pair,
)


def e(key: str, size: int = 1, etag: str = '"aaa"') -> ObjectEntry:
    return ObjectEntry(key=key, size=size, etag=etag)


def entries(*keys: str) -> list[ObjectEntry]:
    return [e(key) for key in keys]


def joined_keys(source: list[ObjectEntry], dest: list[ObjectEntry]) -> list[tuple[str | None, str | None]]:
    return [(s.key if s else None, d.key if d else None) for s, d in merge_join(source, dest)]


# Keys as S3 lists them: UTF-8 byte order. Several of these order differently in other schemes
# (UTF-16: the emoji before U+FF61; locale collation: case, spaces, punctuation).
AWKWARD_KEYS = [
    " space first",
    "#hash",
    "%25percent",
    "+plus",
    "/",
    "//double",
    "/leading",
    "?question",
    "A upper",
    "a b c",
    "a+b",
    "a//b",
    "a/b",
    "a\x7f",
    "cafe\u0301",
    "caf\u00e9",
    "\u00e9t\u00e9",
    "\u65e5\u672c",
    "\uff61halfwidth",
    "\U0001f600emoji",
]


def test_awkward_keys_are_in_utf8_byte_order():
    assert AWKWARD_KEYS == sorted(AWKWARD_KEYS, key=lambda key: key.encode("utf-8"))
    assert AWKWARD_KEYS == sorted(AWKWARD_KEYS)  # Python's str order is the same
    # and not the UTF-16 order some SDKs use
    assert AWKWARD_KEYS != sorted(AWKWARD_KEYS, key=lambda key: key.encode("utf-16-be"))


# id, source keys, dest keys, expected (source key, dest key) pairs
JOINS = [
    ("both empty", [], [], []),
    ("source empty", [], ["a", "b"], [(None, "a"), (None, "b")]),
    ("dest empty", ["a", "b"], [], [("a", None), ("b", None)]),
    ("identical", ["a", "b"], ["a", "b"], [("a", "a"), ("b", "b")]),
    ("interleaved", ["a", "c", "e"], ["b", "c", "d", "f"],
     [("a", None), (None, "b"), ("c", "c"), (None, "d"), ("e", None), (None, "f")]),
    ("source runs past dest", ["a", "x", "y", "z"], ["a"], [("a", "a"), ("x", None), ("y", None), ("z", None)]),
    ("dest runs past source", ["a"], ["a", "x", "y"], [("a", "a"), (None, "x"), (None, "y")]),
    ("disjoint, dest first", ["m", "n"], ["a", "b"], [(None, "a"), (None, "b"), ("m", None), ("n", None)]),
    ("prefix keys", ["a", "a/", "a/b"], ["a/", "a/b/c"], [("a", None), ("a/", "a/"), ("a/b", None), (None, "a/b/c")]),
    ("awkward keys on both sides", AWKWARD_KEYS, AWKWARD_KEYS, [(k, k) for k in AWKWARD_KEYS]),
    ("awkward keys split between sides", AWKWARD_KEYS[0::2], AWKWARD_KEYS[1::2],
     [(k, None) if i % 2 == 0 else (None, k) for i, k in enumerate(AWKWARD_KEYS)]),
    ("unicode beyond the BMP after U+FF61", ["\U0001f600"], ["\uff61"], [(None, "\uff61"), ("\U0001f600", None)]),
    ("space before slash", ["a b"], ["a/b"], [("a b", None), (None, "a/b")]),
]


@pytest.mark.parametrize("source, dest, expected", [c[1:] for c in JOINS], ids=[c[0] for c in JOINS])
def test_merge_join(source, dest, expected):
    assert joined_keys(entries(*source), entries(*dest)) == expected
    # the same, seen from the other side
    assert joined_keys(entries(*dest), entries(*source)) == [(d, s) for s, d in expected]


def test_merge_join_accepts_iterators_and_keeps_the_entries():
    src, dst = e("k", 1, '"s"'), e("k", 2, '"d"')
    assert list(merge_join(iter([src]), iter([dst]))) == [(src, dst)]


# id, source keys, dest keys, side named in the error
BAD_ORDER = [
    ("source out of order", ["b", "a"], [], "source"),
    ("dest out of order", [], ["b", "a"], "destination"),
    ("source duplicate", ["a", "a"], ["a"], "source"),
    ("dest duplicate", ["a"], ["a", "a"], "destination"),
    ("source out of order after dest ran out", ["a", "c", "b"], ["a"], "source"),
    ("dest out of order late", ["a"], ["b", "c", "d", "c"], "destination"),
    ("UTF-16 order is not S3 order", ["\U0001f600", "\uff61"], [], "source"),
    ("case: uppercase sorts first", ["a", "B"], [], "source"),
]


@pytest.mark.parametrize("source, dest, side", [c[1:] for c in BAD_ORDER], ids=[c[0] for c in BAD_ORDER])
def test_merge_join_refuses_unsorted_or_duplicate_listings(source, dest, side):
    with pytest.raises(ListingOrderError, match=side):
        list(merge_join(entries(*source), entries(*dest)))


DEFAULT = PlanOptions()
DELETE = PlanOptions(delete=True)
LOCKS = PlanOptions(lock_check=True)
BOTH = PlanOptions(delete=True, lock_check=True)

SRC = e("k", 10, '"aaa"')
SAME = e("k", 10, '"aaa"')
OTHER_ETAG = e("k", 10, '"bbb"')
OTHER_SIZE = e("k", 11, '"aaa"')
MULTI_SAME_SIZE = e("k", 10, '"ccc-2"')

# id, source, dest, options, expected action (None: nothing to do)
PAIRS = [
    ("missing -> copy", SRC, None, DEFAULT, PlannedAction("copy", "k", source=SRC, reason="missing")),
    ("missing -> copy, even with lock check", SRC, None, BOTH, PlannedAction("copy", "k", source=SRC, reason="missing")),
    ("etag differs -> copy", SRC, OTHER_ETAG, DEFAULT,
     PlannedAction("copy", "k", source=SRC, dest=OTHER_ETAG, reason="changed")),
    ("size differs -> copy", SRC, OTHER_SIZE, LOCKS,
     PlannedAction("copy", "k", source=SRC, dest=OTHER_SIZE, reason="changed")),
    ("unchanged -> skip", SRC, SAME, DEFAULT, PlannedAction("skip", "k", source=SRC, dest=SAME, reason="unchanged")),
    ("unchanged with --delete -> skip", SRC, SAME, DELETE,
     PlannedAction("skip", "k", source=SRC, dest=SAME, reason="unchanged")),
    ("unchanged, lock check -> check_lock", SRC, SAME, LOCKS,
     PlannedAction("check_lock", "k", source=SRC, dest=SAME, reason="unchanged")),
    ("other part layout, same size -> unchanged", SRC, MULTI_SAME_SIZE, DEFAULT,
     PlannedAction("skip", "k", source=SRC, dest=MULTI_SAME_SIZE, reason="unchanged")),
    ("dest only, no --delete -> nothing", None, SAME, DEFAULT, None),
    ("dest only, lock check only -> nothing", None, SAME, LOCKS, None),
    ("dest only, --delete -> delete", None, SAME, DELETE, PlannedAction("delete", "k", dest=SAME, reason="not in source")),
    ("dest only, --delete and lock check -> delete", None, SAME, BOTH,
     PlannedAction("delete", "k", dest=SAME, reason="not in source")),
]


@pytest.mark.parametrize("source, dest, options, expected", [c[1:] for c in PAIRS], ids=[c[0] for c in PAIRS])
def test_plan_pair(source, dest, options, expected):
    assert plan_pair(source, dest, options) == expected


def test_plan_pair_needs_a_side():
    with pytest.raises(ValueError):
        plan_pair(None, None, DEFAULT)


LISTED_SOURCE = [e("a"), e("b", 2), e("c"), e("e")]
LISTED_DEST = [e("b", 3), e("c"), e("d"), e("f")]

# id, options, expected (kind, key, reason) in order
PLANS = [
    ("default", DEFAULT, [("copy", "a", "missing"), ("copy", "b", "changed"), ("skip", "c", "unchanged"),
                          ("copy", "e", "missing")]),
    ("--delete", DELETE, [("copy", "a", "missing"), ("copy", "b", "changed"), ("skip", "c", "unchanged"),
                          ("delete", "d", "not in source"), ("copy", "e", "missing"),
                          ("delete", "f", "not in source")]),
    ("lock check", LOCKS, [("copy", "a", "missing"), ("copy", "b", "changed"), ("check_lock", "c", "unchanged"),
                           ("copy", "e", "missing")]),
    ("--delete and lock check", BOTH, [("copy", "a", "missing"), ("copy", "b", "changed"),
                                        ("check_lock", "c", "unchanged"), ("delete", "d", "not in source"),
                                        ("copy", "e", "missing"), ("delete", "f", "not in source")]),
]


@pytest.mark.parametrize("options, expected", [c[1:] for c in PLANS], ids=[c[0] for c in PLANS])
def test_plan(options, expected):
    actions = list(plan(LISTED_SOURCE, LISTED_DEST, options))
    assert [(a.kind, a.key, a.reason) for a in actions] == expected


@pytest.mark.parametrize(
    "source, dest, options, expected",
    [
        ([], [], BOTH, []),
        ([], entries("x", "y"), DEFAULT, []),
        ([], entries("x", "y"), DELETE, [("delete", "x"), ("delete", "y")]),
        (entries("x", "y"), [], LOCKS, [("copy", "x"), ("copy", "y")]),
        (entries(*AWKWARD_KEYS), entries(*AWKWARD_KEYS), LOCKS, [("check_lock", k) for k in AWKWARD_KEYS]),
    ],
    ids=["both empty", "dest only, no delete", "dest only, delete", "source only", "awkward keys unchanged"],
)
def test_plan_edges(source, dest, options, expected):
    assert [(a.kind, a.key) for a in plan(source, dest, options)] == expected


def test_plan_raises_on_unsorted_listing():
    with pytest.raises(ListingOrderError):
        list(plan(entries("b", "a"), [], DEFAULT))


# id, dest keys, last source key of the page, expected dest keys
RANGES = [
    ("empty dest", [], "m", []),
    ("last page takes everything", ["a", "z"], None, ["a", "z"]),
    ("up to and including the last key", ["a", "m", "n", "z"], "m", ["a", "m"]),
    ("up to, key itself absent", ["a", "l", "n"], "m", ["a", "l"]),
    ("all beyond", ["n", "z"], "m", []),
    ("all within", ["a", "b"], "m", ["a", "b"]),
    ("code point order at the boundary", ["a/", "a/b", "a0", "a\u00e9"], "a/b", ["a/", "a/b"]),
    ("emoji after U+FF61", ["\uff61", "\U0001f600"], "\uff61", ["\uff61"]),
]


@pytest.mark.parametrize("dest, last, expected", [c[1:] for c in RANGES], ids=[c[0] for c in RANGES])
def test_dest_range_for_page(dest, last, expected):
    assert [entry.key for entry in dest_range_for_page(entries(*dest), last)] == expected


def test_dest_range_for_page_stops_reading_at_the_boundary():
    """It must not drain the destination listing past the page (the next page needs those entries)."""
    listing = iter(entries("a", "b", "c", "d"))
    assert [entry.key for entry in dest_range_for_page(listing, "b")] == ["a", "b"]
    assert [entry.key for entry in listing] == ["c", "d"]  # the page's last key itself ends the range


def test_dest_range_for_page_reads_one_past_the_boundary_only_when_the_key_is_absent():
    listing = iter(entries("a", "c", "d"))
    assert [entry.key for entry in dest_range_for_page(listing, "b")] == ["a"]
    assert [entry.key for entry in listing] == ["d"]  # "c" had to be read to know "b" is absent


ACTIONS = [
    PlannedAction("copy", "a b/c+d%e#f?g", source=e("a b/c+d%e#f?g", 5, '"x-2"'), reason="missing"),
    PlannedAction("copy", "k", source=e("k", 1, '"a"'), dest=e("k", 2, '"b"'), reason="changed"),
    PlannedAction("check_lock", "//\u65e5\U0001f600", source=e("//\u65e5\U0001f600", 0, '""'),
                  dest=e("//\u65e5\U0001f600", 0, '""'), reason="unchanged"),
    PlannedAction("skip", "/lead", source=e("/lead"), dest=e("/lead"), reason="unchanged"),
    PlannedAction("delete", "gone", dest=e("gone", 7, "e"), reason="not in source"),
    PlannedAction("copy", "bare", source=e("bare")),
]


@pytest.mark.parametrize("action", ACTIONS, ids=[a.kind + ":" + a.reason for a in ACTIONS])
def test_planned_action_json_round_trip(action):
    wire = json.dumps(action.to_json())
    assert PlannedAction.from_json(json.loads(wire)) == action


def test_planned_action_from_json_defaults():
    data = {"kind": "delete", "key": "k", "dest": {"key": "k", "size": 1, "etag": "e"}}
    assert PlannedAction.from_json(data) == PlannedAction("delete", "k", dest=e("k", 1, "e"), reason="")


# ---------------------------------------------------------------- batching for the coordinator

from bucketsync.core.plan import batches_of  # noqa: E402


def _copy(key: str, size: int) -> PlannedAction:
    return PlannedAction("copy", key, source=ObjectEntry(key, size, '"e"'))


@pytest.mark.parametrize(
    "sizes, count, max_bytes, expected",
    [
        ([1] * 5, 2, 100, [2, 2, 1]),
        ([1] * 4, 10, 100, [4]),
        ([60, 60, 60], 10, 100, [1, 1, 1]),
        ([500, 1, 1], 10, 100, [1, 2]),
        ([40, 40, 40, 1], 10, 100, [2, 2]),
        ([], 10, 100, []),
        ([50, 50], 10, 100, [2]),  # exactly max_bytes: one batch
        ([50, 51], 10, 100, [1, 1]),  # one byte over: two
        ([100, 1], 10, 100, [1, 1]),  # one object of exactly max_bytes fills a batch
        ([0, 0, 0], 10, 1, [3]),  # empty objects weigh nothing
        ([1] * 4, 4, 100, [4]),  # exactly the count
        ([1] * 5, 1, 100, [1, 1, 1, 1, 1]),
    ],
)
def test_batches_are_bounded_by_count_and_bytes(sizes, count, max_bytes, expected):
    actions = [_copy(f"k{i}", size) for i, size in enumerate(sizes)]
    batches = batches_of(actions, count, max_bytes)
    assert [len(batch) for batch in batches] == expected
    assert [item["key"] for batch in batches for item in batch] == [a.key for a in actions]


def test_only_copies_weigh_in_bytes():
    """Lock checks and deletes move no bytes: they fill a batch by count only."""
    big = ObjectEntry("k", 10**12, '"e"')
    actions = [PlannedAction("check_lock", f"c{i}", source=big, dest=big) for i in range(3)]
    actions += [PlannedAction("delete", "d", dest=big), _copy("z", 60), _copy("zz", 60)]
    assert [len(batch) for batch in batches_of(actions, 10, 100)] == [5, 1]


# ---------------------------------------------------------------- listing read-ahead

from bucketsync.listing.pages import Page, prefetched  # noqa: E402


def test_prefetched_yields_every_page_in_order():
    pages = [Page([ObjectEntry(f"k{i}", i, '"e"')], None) for i in range(7)]
    assert list(prefetched(iter(pages), depth=2)) == pages


def test_prefetched_raises_the_producers_error_after_the_pages_before_it():
    def pages():
        yield Page([], "t1")
        raise RuntimeError("listing broke")

    seen = []
    with pytest.raises(RuntimeError, match="listing broke"):
        for page in prefetched(pages()):
            seen.append(page)
    assert len(seen) == 1


def test_prefetched_reads_at_most_depth_pages_ahead():
    produced = []

    def pages():
        for i in range(100):
            produced.append(i)
            yield Page([], None)

    stream = prefetched(pages(), depth=2)
    next(stream)
    import time

    time.sleep(0.3)
    assert len(produced) <= 4  # the one consumed, two buffered, one waiting to be put
    stream.close()
