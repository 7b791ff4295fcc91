"""Runs on Celery workers: the app, coordinator, batches, the ledger in Redis, submit and follow.

Modules:

    batches             One copy batch on a worker: take its lease, execute its planned actions with the worker's threads, count
    celery_app          The Celery app, and its configuration from Settings: JSON only, late acks, prefetch 1, time limits.
    coordinator         The coordinator: one source page per invocation, fanned out as a chord of copy batches.
    ledger              Run state and totals in Redis, kept exact when messages are redelivered, workers die or Redis restarts.
    patience            Waiting out a Redis that is restarting or full, inside the task, so nothing has to be published meanwhile.
    publish             Sending bucketsync's task messages, by task name (messages.py states what each carries).
    recovery            A run recovers without an operator: each worker sweeps the running runs and publishes again what a dead
    runtime             What a worker process builds once and reuses: its settings, S3 clients and the ledger.
    submit              Submitting a run to Celery and following it through the ledger until it ends.
    task_labels         How Flower (and Celery's logs) show each task's arguments: one short line with the run id, page, batch
    version_pages       One coordinator page of `sync --all-versions`: whole source histories, the destination's slice of the same
    watch_counts        A watch's counts in Redis: written by the workers (watch_keys.py) and the intake (watch_intake.py),
    watch_intake        `watch` with a broker: the changes the receivers take in become `watch_key` messages for the workers.
    watch_keys          `watch` on Celery workers: one announced key replicated at a time across the fleet.
"""
