"""How Flower (and Celery's logs) show each task's arguments: one short line with the run id, page, batch
and object count, instead of the message itself (a run request and up to a thousand planned keys).

Celery puts this line in the message header `argsrepr` and in the task-sent/received events; Flower
shows it as the task's arguments. The message body is unchanged. Messages never carry credentials or
settings (messages.py states what they carry), so the label cannot leak one either; it just keeps the
page readable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def _run(request: Any) -> str:
    run = f"run={request.get('run_id')}" if isinstance(request, dict) else "run=?"
    job = request.get("job") if isinstance(request, dict) else None
    return f"{run} job={job}" if job else run


def _coordinator_page(request: Any, task: Any) -> str:
    return f"{_run(request)} page={task.get('page')}"


def _copy_batch(request: Any, page: int, batch: int, actions: Sequence[Any]) -> str:
    return f"{_run(request)} page={page} batch={batch} objects={len(actions)}"


def _page_summary(batch_results: Sequence[Any], request: Any, page: int) -> str:
    return f"{_run(request)} page={page} batches={len(batch_results)}"


def _run_finalise(run_id: str) -> str:
    return f"run={run_id}"


def _scheduled_run(job: Any) -> str:
    return f"job={job.get('name')} {job.get('source')} -> {job.get('destination')}"


def _watch_key(request: Any, watch: str, change: Any, token: Any = None) -> str:
    return f"watch={watch} key={change.get('key')}"


LABELS: dict[str, Callable[..., str]] = {
    "bucketsync.watch_key": _watch_key,
    "bucketsync.coordinator_page": _coordinator_page,
    "bucketsync.copy_batch": _copy_batch,
    "bucketsync.page_summary": _page_summary,
    "bucketsync.run_finalise": _run_finalise,
    "bucketsync.scheduled_run": _scheduled_run,
}


def label(task_name: str, args: Sequence[Any] | None, kwargs: dict[str, Any] | None) -> str | None:
    """The line Flower shows for a call of `task_name`, or None to keep Celery's own repr."""
    describe = LABELS.get(task_name)
    if describe is None:
        return None
    try:
        return describe(*(args or ()), **(kwargs or {}))
    except Exception:  # an unexpected shape: never stop a message for its label
        return None
