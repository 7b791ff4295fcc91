"""Sending bucketsync's task messages, by task name (messages.py states what each carries).

Publishing by name keeps the modules that send (coordinator, distributed, scheduled) apart from the
module that defines the tasks (tasks.py): imports run one way, and a submitter needs no task code.
Every message gets its one-line label for Flower here (task_labels), whichever process sends it.
"""

from __future__ import annotations

from typing import Any

from celery import chord

from ..core import messages
from . import task_labels
from .celery_app import QUEUE, app
from ..core.messages import PageTask, RunRequest


def send(task_name: str, args: list[Any], countdown: float | None = None) -> None:
    app.send_task(task_name, args=args, countdown=countdown, argsrepr=task_labels.label(task_name, args, None))


def queue_length() -> int:
    """Messages waiting in the bucketsync queue."""
    with app.connection_for_write() as connection:
        return connection.default_channel.client.llen(QUEUE)


def publish_page(request: RunRequest, task: PageTask, countdown: float | None = None) -> None:
    """The coordinator of one page."""
    send(messages.COORDINATOR_PAGE, [request.to_json(), task.to_json()], countdown=countdown)


def publish_batches(request: RunRequest, page: int, batches: dict[int, list[dict[str, Any]]]) -> None:
    """A page's copy batches as one chord whose callback summarises the page."""
    if not batches:
        return
    header = []
    for number, batch in sorted(batches.items()):
        args = [request.to_json(), page, number, batch]
        header.append(app.signature(messages.COPY_BATCH, args=args,
                                    argsrepr=task_labels.label(messages.COPY_BATCH, args, None)))
    # The callback's label names its batch count, known only when it runs: the worker's task class adds it.
    chord(header, app=app)(app.signature(messages.PAGE_SUMMARY, args=[request.to_json(), page]))


def publish_batches_again(request: RunRequest, page: int, batches: dict[int, list[dict[str, Any]]]) -> None:
    """Batches a worker's recovery sweep hands out again, each a message of its own: the page's chord went out
    with the first ones (and completes with whichever delivery of each batch runs)."""
    for number, batch in sorted(batches.items()):
        send(messages.COPY_BATCH, [request.to_json(), page, number, batch])


def publish_run_end(run_id: str) -> None:
    """The run has ended: `run_finalise` releases its job's lock and logs its totals."""
    send(messages.RUN_FINALISE, [run_id])


def publish_watch_changes(request: RunRequest, watch: str, changes: list[dict[str, Any]]) -> None:
    """One `watch_key` message per announced change (`watch_keys.py` says how they meet on a key)."""
    for change in changes:
        send(messages.WATCH_KEY, [request.to_json(), watch, change])
