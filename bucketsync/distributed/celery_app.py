"""The Celery app, and its configuration from Settings: JSON only, late acks, prefetch 1, time limits.

Importing this module configures nothing. The process that starts configures the app from the
Settings it loaded: `bucketsync worker`, `bucketsync beat` and a submitting `bucketsync sync` call
`configure`. A process started by Celery's own command line (`celery -A bucketsync.tasks worker` or
`flower`) has nobody to do that; its app reads the environment when it first needs its configuration.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, Task

from . import task_labels
from ..core.settings import Settings, load_settings

QUEUE = "bucketsync"


class LabelledTask(Task):
    """Publishes its arguments for Flower as a one-line label (run id, page, objects): see task_labels."""

    def apply_async(self, args: Any = None, kwargs: Any = None, *more: Any, **options: Any) -> Any:
        if options.get("argsrepr") is None:
            shown = task_labels.label(self.name, args, kwargs)
            if shown is not None:
                options["argsrepr"] = shown
        return super().apply_async(args, kwargs, *more, **options)


def transport_options(settings: Settings) -> dict[str, Any]:
    """Redis transport: how long an unacked message waits before redelivery, and how often that is checked."""
    timeout = settings.visibility_timeout
    return {
        "visibility_timeout": timeout,
        "unacked_restore_interval": max(1, min(10, timeout // 10)),
        "unacked_restore_throttle": 1 if timeout < 600 else 10,
        # A worker killed while it holds the restore mutex would block every sweep for the default 300 s.
        "unacked_mutex_expire": max(5, min(300, timeout)),
    }


def chord_state_seconds(settings: Settings) -> int:
    """How long a page's unfired chord keeps the batch results it has gathered, counted from the last one.

    A fired chord's state is deleted at once (Celery keeps a 5-minute "done" marker). An unfired one waits
    for a batch that may come back after the visibility timeout and then retry for up to an hour; past
    that its page summary is lost (the run's counts are the ledger's, not the chord's) and Redis forgets it.
    """
    return 2 * settings.visibility_timeout + 3600


def celery_config(settings: Settings) -> dict[str, Any]:
    # A task's hard time limit must stay below the visibility timeout, or a slow task is delivered again
    # while it still runs; the settings check that.
    return {
        "broker_url": settings.broker_url,
        "result_backend": settings.broker_url,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_time_limit": settings.task_time_limit,
        "task_soft_time_limit": max(1, settings.task_time_limit - 30) if settings.task_time_limit > 60 else None,
        "broker_transport_options": transport_options(settings),
        "result_backend_transport_options": {"visibility_timeout": settings.visibility_timeout},
        # No task's result is stored (~500 B each, for every page and batch): nothing reads them. The page
        # chords still get their batches' results: Redis's chord join collects each header task's return
        # value in the chord's own keys as it finishes, stored or not, and deletes them when the chord fires.
        # The run's outcome lives in the ledger; Flower shows results from the workers' events.
        "task_ignore_result": True,
        "result_expires": chord_state_seconds(settings),
        "result_chord_expires": chord_state_seconds(settings),
        "task_default_queue": QUEUE,
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
        "task_track_started": True,
    }


def configure(app: Celery, settings: Settings) -> Celery:
    """Configure `app` from `settings` (called by the process that starts, with the settings it loaded)."""
    app.conf.update(celery_config(settings))
    app.bucketsync_configured = True  # type: ignore[attr-defined]
    return app


def create_app() -> Celery:
    created = Celery("bucketsync", include=["bucketsync.tasks"], task_cls=LabelledTask)
    created.on_configure.connect(_configure_from_environment_unless_configured, sender=created, weak=False)
    return created


def _configure_from_environment_unless_configured(sender: Celery, **_: Any) -> None:
    """Celery reads its configuration for the first time: a process nobody configured (started by
    Celery's own command line) takes its settings from the environment now."""
    if not getattr(sender, "bucketsync_configured", False):
        configure(sender, load_settings())


app = create_app()
