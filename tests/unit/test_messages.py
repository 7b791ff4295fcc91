"""The message contract: what task messages carry, read tolerantly so a rolling upgrade loses nothing."""

from __future__ import annotations

import logging

from bucketsync.context import RunRequest
from bucketsync.coordinator import PageTask
from bucketsync.schedules import ScheduledJob


def test_run_request_ignores_fields_it_does_not_know(caplog):
    data = {"run_id": "r1", "source": "s3://a/", "destination": "s3://b/", "delete": True, "all_versions": True}
    with caplog.at_level(logging.DEBUG, logger="bucketsync.messages"):
        request = RunRequest.from_json(data)
    assert request == RunRequest(run_id="r1", source="s3://a/", destination="s3://b/", delete=True)
    assert "all_versions" in caplog.text


def test_page_task_ignores_fields_it_does_not_know():
    task = PageTask.from_json({"page": 3, "token": "t", "start_after": "k", "claim_id": "c", "shard": 2})
    assert (task.page, task.token, task.start_after, task.claim_id, task.force_claim) == (3, "t", "k", "c", False)


def test_scheduled_job_ignores_fields_it_does_not_know():
    job = ScheduledJob.from_json({"name": "nightly", "source": "s3://a/", "destination": "s3://b/", "window": "2h"})
    assert job == ScheduledJob(name="nightly", source="s3://a/", destination="s3://b/")
