"""Version listings into whole per-key histories, and history actions, on plain values: a listing that pages
through a fixed list of entries as S3 does (MaxKeys counts versions and delete markers alike)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from bucketsync.core.history import HistoryEntry, HistoryPlan
from bucketsync.core.locations import parse_location
from bucketsync.core.plan import ListingOrderError, PlanOptions
from bucketsync.listing.versions import (
    VersionMarker,
    iter_histories,
    iter_version_pages,
    list_histories_through,
    list_whole_keys,
    markers_from_token,
    page_token,
)
from bucketsync.core.version_plan import HistoryAction, history_batches, plan_histories

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
LOCATION = parse_location("s3://bucket/p/")


class PagingClient:
    """ListObjectVersions over `entries` (key, version id, body or None for a delete marker), listed by key and
    newest first as S3 lists them; it records each request."""

    def __init__(self, histories: dict[str, list[str | None]]) -> None:
        self.listing: list[dict] = []
        for key in sorted(histories):
            bodies = histories[key]
            for index in reversed(range(len(bodies))):  # newest first
                self.listing.append({"Key": "p/" + key, "VersionId": f"{key}-{index}", "body": bodies[index],
                                     "LastModified": T0 + timedelta(seconds=index), "IsLatest": index == len(bodies) - 1})
        self.requests: list[dict] = []

    def list_object_versions(self, **args):
        self.requests.append(args)
        start = 0
        if "KeyMarker" in args:
            start = next(i for i, item in enumerate(self.listing)
                         if (item["Key"], item["VersionId"]) == (args["KeyMarker"], args["VersionIdMarker"])) + 1
        chunk = self.listing[start:start + args["MaxKeys"]]
        truncated = start + len(chunk) < len(self.listing)
        answer = {
            "Versions": [{**self._common(item), "ETag": f'"{item["body"]}"', "Size": len(item["body"])}
                         for item in chunk if item["body"] is not None],
            "DeleteMarkers": [self._common(item) for item in chunk if item["body"] is None],
            "IsTruncated": truncated,
        }
        if truncated:
            answer.update(NextKeyMarker=chunk[-1]["Key"], NextVersionIdMarker=chunk[-1]["VersionId"])
        return answer

    @staticmethod
    def _common(item: dict) -> dict:
        return {"Key": item["Key"], "VersionId": item["VersionId"], "LastModified": item["LastModified"],
                "IsLatest": item["IsLatest"]}


def shape(histories) -> dict[str, list[str]]:
    return {h.key: ["DM" if e.is_delete_marker else e.etag.strip('"') for e in h.entries] for h in histories}


HISTORIES = {"a": ["a1"], "long": ["l1", "l2", None, "l3", "l4"], "m": ["m1", None], "z": ["z1", "z2"]}


@pytest.mark.parametrize("page_size", [1, 2, 3, 4, 7, 1000])
def test_every_page_size_gives_the_same_whole_histories(page_size):
    client = PagingClient(HISTORIES)
    histories = list(iter_histories(iter_version_pages(client, LOCATION, page_size=page_size)))
    assert shape(histories) == {
        "a": ["a1"], "long": ["l1", "l2", "DM", "l3", "l4"], "m": ["m1", "DM"], "z": ["z1", "z2"]}


@pytest.mark.parametrize("page_size", [1, 2, 3, 5, 1000])
def test_coordinator_shares_plan_each_key_once_and_whole(page_size):
    client = PagingClient(HISTORIES)
    seen: dict[str, list[str]] = {}
    after, after_key, shares = None, None, 0
    while True:
        share = list_whole_keys(client, LOCATION, page_size=page_size, after=after, after_key=after_key)
        shares += 1
        assert share.histories, "a share that is not the last holds at least one whole key"
        for key, entries in shape(share.histories).items():
            assert key not in seen
            seen[key] = entries
        if share.next_marker is None:
            break
        after, after_key = share.next_marker, share.histories[-1].key
    assert seen == shape(iter_histories(iter_version_pages(PagingClient(HISTORIES), LOCATION, page_size=1000)))
    assert shares <= len(HISTORIES)


def test_a_key_longer_than_a_page_is_listed_on_to_its_end():
    client = PagingClient({"long": ["1", "2", "3", "4", "5"], "z": ["z1", "z2"]})
    share = list_whole_keys(client, LOCATION, page_size=2, after=None, after_key=None)
    assert shape(share.histories) == {"long": ["1", "2", "3", "4", "5"]}
    assert len(client.requests) == 3  # until the page that shows the next key


def test_the_destination_slice_stops_at_the_page_s_last_key_and_says_where_the_next_starts():
    client = PagingClient(HISTORIES)
    histories, marker = list_histories_through(client, LOCATION, page_size=2, after=None, after_key=None, through="long")
    assert list(shape(histories)) == ["a", "long"]
    rest, _ = list_histories_through(client, LOCATION, page_size=2, after=marker, after_key="long", through=None)
    assert list(shape(rest)) == ["m", "z"]
    none, unchanged = list_histories_through(client, LOCATION, page_size=2, after=marker, after_key="long", through="l")
    assert none == [] and unchanged == marker


def test_a_listing_out_of_key_order_stops():
    client = PagingClient({"a": ["1"], "b": ["2"]})
    client.listing.reverse()
    with pytest.raises(ListingOrderError):
        list(iter_histories(iter_version_pages(client, LOCATION, page_size=1000)))


def test_the_page_token_round_trips_both_markers():
    token = page_token(VersionMarker("p/k", "v1"), None)
    assert markers_from_token(json.loads(json.dumps(token))) == (VersionMarker("p/k", "v1"), None)
    assert markers_from_token(None) == (None, None)


def entry(key: str, body: str | None, second: int) -> HistoryEntry:
    if body is None:
        return HistoryEntry(key, f"{key}{second}", T0 + timedelta(seconds=second), is_delete_marker=True)
    return HistoryEntry(key, f"{key}{second}", T0 + timedelta(seconds=second), etag=f'"{body}"', size=len(body))


def test_history_actions_round_trip_as_json_and_keep_a_key_in_one_batch():
    plan = HistoryPlan(
        to_write=(entry("k", "bb", 2), entry("k", None, 3)),
        matched=((entry("k", "a", 1), entry("k", "a", 50)),),
        kept=(entry("k", "x", 40),),
    )
    action = HistoryAction("k", plan, check_locks=True)
    assert HistoryAction.from_json(json.loads(json.dumps(action.to_json()))) == action
    small = HistoryAction("s", HistoryPlan(to_write=(entry("s", "c", 1),)))
    batches = history_batches([action, small, small], size=3, max_bytes=10**9)
    assert [[item["key"] for item in batch] for batch in batches] == [["k"], ["s", "s"]]


def test_destination_only_keys_are_kept_and_hidden_only_under_delete():
    dest_only = [type("H", (), {"key": "gone", "entries": (entry("gone", "g", 1),)})()]
    [kept] = plan_histories([], dest_only, PlanOptions())
    assert len(kept.plan.kept) == 1 and not kept.delete and kept.needs_work
    [hidden] = plan_histories([], dest_only, PlanOptions(delete=True))
    assert hidden.delete
