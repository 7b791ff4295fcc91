"""bucketsync: S3 bucket-to-bucket replication that carries Object Lock state.

Layers, top to bottom; a module imports only modules of the layers below its own, never one beside it
(`lint-imports` checks this map, kept in pyproject.toml, and that no import cycle exists):

    cli                                       the `bucketsync` command line
    ops_cli | demo | help_format              beat, schedules, runs, status tables; the demo; how --help
                                              reads (no type placeholders, SRC DST)
    tasks                                     Celery task shells (`celery -A bucketsync.tasks worker`)
    scheduled | recovery                      triggers, the job lock's refresh, a run's finalisation; a
                                              worker's sweep publishing again what a dead worker held
    verify_versions | watch_intake            `verify --all-versions`; `watch` with a broker: changes
                                              published for the workers
    embedded_versions | verify                the one-process run of `sync --all-versions`; the comparison
                                              (both drive their work as the one-process run does)
    coordinator | batches | distributed       one page; one batch; submit, resume, follow a run
      | embedded | exporter                   the one-process run (its bounded pool, its key ranges);
      | watch_run | watch_keys                Prometheus /metrics; `watch` in this process; one announced
                                              key on a worker
    publish | runtime | joblock               sending task messages; a worker's settings, clients, ledger;
      | job_totals | lock_pass_record         per-job metric totals in Redis, each run added once; when a
      | replicate_key                         job last did the lock pass; one key (or its history) from
                                              both sides' current state
    celery_app | ledger | context             the Celery app; run totals in Redis; preflight -> RunRequest;
      | history_execute | version_pages       one key's history -> outcomes; a coordinator's version page;
      | live_ranges | lane_splits             key ranges being listed, cut again while they are; when and
                                              where a distributed run splits a lane it lists
    preflight | execute | listing | report    checks; one action -> ObjectOutcome; pages; the report;
      | server_quirks | version_listing       what the destination server needs; whole per-key histories;
      | range_split                           where a listing is cut into ranges listed at once
    server_copy | streamed_copy               the two copy paths; reading a new version back (lock,
      | settle_write | watch                  tags, metadata, headers) and setting what it lacks; the
                                              watcher's intake and per-key work
    source_layout                             a multipart source's part layout, reported, found or a candidate
    multipart | lock_write | source_version   one multipart upload; lock read-back and write; the source's HEAD
    s3 | schedules | part_layouts             boto3 clients; scheduled jobs from the environment; a source's
      | change_journal | event_receivers      part layout found from its bytes and ETag; changes taken in, on
      | watch_counts                          disk; HTTP, AMQP and SQS notifications; a watch's counts in Redis
    messages | task_labels | patience         the message contract; Flower labels; waiting out Redis;
      | s3_calls | execution_context          per-call argument allow-lists; what one process needs for a run;
      | copy_plan | pacing | metrics         pure: single or multipart, part size and ranges; request and
      | version_plan | parallel_parts         bandwidth limits; run reports -> metric series; history actions;
      | fan_in                                multipart parts in parallel, bounded per object and process;
                                              iterators drained on threads, read as one
    plan | outcomes | history                 pure core: what to do per key; what happened; version histories;
      | carried_attributes | events           what a write asked for besides the lock, and whether it is held;
                                              bucket notifications as changes, and which need work
    lockrules | locations | filters           pure core: lock decisions; s3:// URLs; --exclude/--include;
      | keyspace | write_checks               key ranges and split points; what a server proved to honour;
      | lock_schedule                         whether a scheduled run does the lock pass
    model | settings                          pure core: object values; all configuration
    copy_options                              pure core: storage class and encryption of copies
    errors                                    the exception tree

The pure core (model, plan, lockrules, locations, outcomes, messages, copy_plan, part_layouts, filters, history,
keyspace, copy_options, version_plan, write_checks, carried_attributes, lock_schedule) imports no S3, Redis or Celery code.
"""

__version__ = "0.1.0"
