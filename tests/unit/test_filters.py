"""--exclude / --include: aws s3 sync's semantics, checked against what aws-cli itself did on the same
cases (recorded/aws_filters.json, written by record_aws_filters.py), and the prefix skipping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bucketsync.core.filters import MAX_CHAR, Filter, Filters, filters_from_argv

from tests.unit.filter_cases import CASES, KEYS

RECORDED = json.loads((Path(__file__).with_name("recorded") / "aws_filters.json").read_text())["copied"]


def filters(rules) -> Filters:
    return Filters(tuple(Filter(kind, pattern) for kind, pattern in rules))


@pytest.mark.parametrize("name", list(CASES))
def test_includes_what_aws_cli_copies(name):
    assert sorted(key for key in KEYS if filters(CASES[name]).includes(key)) == RECORDED[name]


@pytest.mark.parametrize("name", list(CASES))
def test_a_skipped_range_holds_only_excluded_keys(name):
    chosen = filters(CASES[name])
    for key in KEYS:
        after = chosen.skip_after(key)
        if after is None:
            continue
        assert not chosen.includes(key)
        skipped = [other for other in KEYS if key <= other <= after]
        assert [other for other in skipped if chosen.includes(other)] == [], (key, after)


@pytest.mark.parametrize(
    "rules, key, after",
    [
        ([("exclude", "logs/*")], "logs/x.log", "logs/" + MAX_CHAR),
        ([("exclude", "logs/*"), ("include", "logs/deep/*")], "logs/x.log", None),  # keys under it may come back
        ([("exclude", "logs/*"), ("include", "*.txt")], "logs/x.log", None),  # an include with no literal prefix
        ([("exclude", "logs/*"), ("include", "data/*")], "logs/x.log", "logs/" + MAX_CHAR),  # elsewhere
        ([("include", "logs/keep"), ("exclude", "logs/*")], "logs/x.log", "logs/" + MAX_CHAR),  # earlier: loses
        ([("exclude", "*.log")], "logs/x.log", None),  # not a prefix
        ([("exclude", "*")], "a.txt", None),  # the whole listing: nothing to start after
        ([("exclude", "data/202?/*")], "data/2024/a.csv", None),  # a wildcard before the end
        ([("exclude", "logs/*")], "a.txt", None),  # included
    ],
)
def test_skip_after(rules, key, after):
    assert filters(rules).skip_after(key) == after


@pytest.mark.parametrize(
    "argv, rules",
    [
        (["sync", "s3://a", "s3://b"], []),
        (["sync", "--exclude", "*", "s3://a", "--include", "*.txt", "s3://b"], [("exclude", "*"), ("include", "*.txt")]),
        (["--include=*.txt", "--exclude=*"], [("include", "*.txt"), ("exclude", "*")]),
        (["--exclude", "--include", "--include", "x"], [("exclude", "--include"), ("include", "x")]),  # values kept
        (["--exclude", "a", "--", "--include", "b"], [("exclude", "a")]),
    ],
)
def test_filters_keep_the_command_line_order(argv, rules):
    assert filters_from_argv(argv) == filters(rules)


def test_json_round_trip_and_bad_kinds():
    chosen = filters([("exclude", "*"), ("include", "*.txt")])
    assert Filters.from_json(json.loads(json.dumps(chosen.to_json()))) == chosen
    assert Filters.from_json(None) == Filters()
    with pytest.raises(ValueError):
        Filters.from_json([["ignore", "*"]])
