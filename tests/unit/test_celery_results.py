"""What Celery keeps in Redis (docs/scale.md, "Redis bytes per object"): no task result, and a page chord's
gathered results for hours, not for the report's 7 days. tests/distributed/test_redis_memory.py checks the
same after a real run."""

from __future__ import annotations

from bucketsync.distributed.celery_app import celery_config, chord_state_seconds
from bucketsync.core.settings import load_settings


def test_no_task_result_is_stored_and_chord_state_expires_in_hours() -> None:
    settings = load_settings(broker_url="redis://127.0.0.1:6379/0")
    config = celery_config(settings)
    assert config["task_ignore_result"] is True
    assert config["result_chord_expires"] == chord_state_seconds(settings) == 2 * 3600 + 3600
    assert config["result_expires"] <= config["result_chord_expires"] < settings.report_ttl_seconds


def test_an_unfired_chord_outlives_a_redelivery() -> None:
    settings = load_settings(broker_url="redis://127.0.0.1:6379/0", visibility_timeout=7200, task_time_limit=7000)
    assert chord_state_seconds(settings) > settings.visibility_timeout + settings.task_time_limit
