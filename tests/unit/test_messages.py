"""The message contract: what task messages carry, read tolerantly so a rolling upgrade loses nothing."""

from __future__ import annotations

import logging

import json

from bucketsync.core.messages import (
    PageTask,
    RunRequest,
    ScheduledJob,
    action_from_json,
    action_to_json,
    outcome_from_json,
    outcome_to_json,
)
from bucketsync.core.model import ObjectEntry
from bucketsync.core.outcomes import ObjectOutcome
from bucketsync.core.plan import PlannedAction


def test_run_request_ignores_fields_it_does_not_know(caplog):
    data = {"run_id": "r1", "source": "s3://a/", "destination": "s3://b/", "delete": True, "a_later_field": True}
    with caplog.at_level(logging.DEBUG, logger="bucketsync.core.messages"):
        request = RunRequest.from_json(data)
    assert request == RunRequest(run_id="r1", source="s3://a/", destination="s3://b/", delete=True)
    assert "a_later_field" in caplog.text


def test_page_task_ignores_fields_it_does_not_know():
    task = PageTask.from_json({"page": 3, "token": "t", "start_after": "k", "claim_id": "c", "shard": 2})
    assert (task.page, task.token, task.start_after, task.claim_id, task.force_claim) == (3, "t", "k", "c", False)


def test_scheduled_job_ignores_fields_it_does_not_know():
    job = ScheduledJob.from_json({"name": "nightly", "source": "s3://a/", "destination": "s3://b/", "window": "2h"})
    assert job == ScheduledJob(name="nightly", source="s3://a/", destination="s3://b/")


def test_a_planned_action_round_trips_and_ignores_new_fields():
    action = PlannedAction("copy", "k", source=ObjectEntry("k", 3, '"e"'), dest=ObjectEntry("k", 2, '"d"'), reason="changed")
    wire = json.loads(json.dumps(action_to_json(action)))
    assert action_from_json(wire) == action
    wire["priority"] = 1
    wire["source"]["checksum_algorithm"] = "CRC32"
    assert action_from_json(wire) == action


def test_an_entry_carries_its_storage_class_and_time_when_known():
    from datetime import datetime, timezone

    entry = ObjectEntry("k", 3, '"e"', storage_class="GLACIER", last_modified=datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
    action = PlannedAction("copy", "k", source=entry, reason="missing")
    assert action_from_json(json.loads(json.dumps(action_to_json(action)))) == action
    assert set(ObjectEntry("k", 3, '"e"').to_json()) == {"key", "size", "etag"}  # nothing unknown is sent


def test_an_outcome_round_trips_and_ignores_new_fields():
    outcome = ObjectOutcome("k", "copied", "v1", bytes_copied=3, notes=("lock_set_after_write",), unprotected_seconds=0.2)
    wire = json.loads(json.dumps(outcome_to_json(outcome)))
    assert outcome_from_json(wire) == outcome
    assert outcome_from_json({**wire, "checksum": "x"}) == outcome


def test_task_messages_carry_only_json_and_no_settings():
    request = RunRequest(run_id="r", source="s3://a/", destination="s3://b/", job="nightly")
    task = PageTask(page=2, token="t", start_after="k")
    assert RunRequest.from_json(json.loads(json.dumps(request.to_json()))) == request
    assert PageTask.from_json(json.loads(json.dumps(task.to_json()))) == task
    assert set(request.to_json()) == {"run_id", "source", "destination", "delete", "dry_run", "source_lock_enabled", "job",
                                     "server_quirks", "max_requests_per_second", "max_bandwidth", "filters",
                                     "storage_class", "sse", "sse_kms_key_id", "all_versions", "lock_check",
                                     "listing_ranges", "run_settings"}


def test_filters_travel_in_order_as_json():
    from bucketsync.core.filters import Filter, Filters
    from bucketsync.core.messages import ScheduledJob

    chosen = Filters((Filter("exclude", "logs/*"), Filter("include", "logs/keep/*")))
    request = RunRequest(run_id="r", source="s3://a/", destination="s3://b/", filters=chosen.to_json())
    wire = json.loads(json.dumps(request.to_json()))
    assert wire["filters"] == [["exclude", "logs/*"], ["include", "logs/keep/*"]]
    assert RunRequest.from_json(wire).key_filters == chosen
    assert RunRequest.from_json({k: v for k, v in wire.items() if k != "filters"}).key_filters == Filters()  # older submitter
    job = ScheduledJob("nightly", "s3://a/", "s3://b/", filters=chosen.to_json())
    assert ScheduledJob.from_json(json.loads(json.dumps(job.to_json()))) == job
