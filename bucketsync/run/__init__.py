"""One run in this process: preflight, the embedded run, verify, the report.

Modules:

    change_journal      Changes a watcher has taken in and not yet finished, on disk, so a restart finds them (SQLite).
    context             Turning settings and two S3 URLs into what a run needs: clients, preflight, a RunRequest, an ExecutionContext.
    embedded            The embedded run: list, plan and execute in this one process with a bounded thread pool.
    embedded_versions   The embedded run of `sync --all-versions`: both sides' version listings as whole per-key histories,
    event_receivers     Where notifications come from: an HTTP endpoint the server pushes to, an AMQP queue, an SQS queue.
    preflight           Checks before any write. Each failure is one PreflightError with a message an operator can act on.
    replicate_key       Replicating one key from both sides' current state: what `watch` does for each announced change.
    report              RunSummary -> the terminal's short summary, the JSON report file, and progress lines.
    verify              `bucketsync verify SRC DST`: compare a source and its replica without writing anything.
    verify_versions     `bucketsync verify --all-versions`: compare whole version histories without writing anything.
    watch               The watcher: changes announced by the source's notifications, taken in durably, replicated key by key.
    watch_run           `bucketsync watch` in this process: preflight, the journal, the receivers, the watcher, its metrics.
"""
