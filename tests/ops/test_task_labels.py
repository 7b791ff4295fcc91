"""What Flower shows as a task's arguments: one line with the run id, page, batch and object count."""

from __future__ import annotations

from bucketsync.distributed.task_labels import LABELS, label

REQUEST = {"run_id": "0123456789abcdef", "source": "s3://a/", "destination": "s3://b/", "job": None}


def test_every_bucketsync_task_has_a_label():
    import bucketsync.tasks  # noqa: F401  (registers every task, as `celery -A bucketsync.tasks` does)
    from bucketsync.distributed.celery_app import app

    ours = {name for name in app.tasks if name.startswith("bucketsync.")}
    assert ours == set(LABELS)


def test_labels_name_the_run_page_batch_and_object_count():
    actions = [{"key": f"k{n}", "kind": "copy"} for n in range(7)]
    assert label("bucketsync.copy_batch", [REQUEST, 3, 2, actions], {}) == "run=0123456789abcdef page=3 batch=2 objects=7"
    assert label("bucketsync.coordinator_page", [REQUEST, {"page": 4, "token": "t"}], {}) == "run=0123456789abcdef page=4"
    assert label("bucketsync.page_summary", [[{}, {}], REQUEST, 4], {}) == "run=0123456789abcdef page=4 batches=2"
    assert label("bucketsync.run_finalise", ["0123456789abcdef"], {}) == "run=0123456789abcdef"
    job = {"name": "nightly", "source": "s3://a/", "destination": "s3://b/", "delete": False}
    assert label("bucketsync.scheduled_run", [job], {}) == "job=nightly s3://a/ -> s3://b/"
    scheduled = {**REQUEST, "job": "nightly"}
    assert label("bucketsync.coordinator_page", [scheduled, {"page": 0}], {}) == "run=0123456789abcdef job=nightly page=0"


def test_unknown_tasks_and_odd_arguments_keep_celerys_own_repr():
    assert label("celery.chord_unlock", ["x"], {}) is None
    assert label("bucketsync.copy_batch", ["not", "enough"], {}) is None
