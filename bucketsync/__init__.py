"""bucketsync: S3 bucket-to-bucket replication that carries Object Lock state.

Layers, top to bottom; a module imports only modules of the layers below its own, never one beside it
(`lint-imports` checks this map, kept in pyproject.toml, and that no import cycle exists):

    cli                                       the `bucketsync` command line
    ops_cli | demo                            beat, schedules, runs, status tables; the demo
    tasks                                     Celery task shells (`celery -A bucketsync.tasks worker`)
    scheduled | recovery                      triggers, the job lock's refresh, a run's finalisation; a
                                              worker's sweep publishing again what a dead worker held
    embedded_versions | verify_versions       the one-process run of `sync --all-versions`; `verify --all-versions`
    coordinator | batches | distributed       one page; one batch; submit, resume, follow a run
      | embedded | verify | exporter          the one-process run; the comparison; Prometheus /metrics
    publish | runtime | joblock               sending task messages; a worker's settings, clients, ledger;
      | job_totals | lock_pass_record         per-job metric totals in Redis, each run added once; when a
                                              job last did the lock pass
    celery_app | ledger | context             the Celery app; run totals in Redis; preflight -> RunRequest;
      | history_execute | version_pages       one key's history -> outcomes; a coordinator's version page;
      | live_ranges | lane_splits             key ranges being listed, cut again while they are; when and
                                              where a distributed run splits a lane it lists
    preflight | execute | listing | report    checks; one action -> ObjectOutcome; pages; the report;
      | server_quirks | version_listing       what the destination server needs; whole per-key histories;
      | range_split                           where a listing is cut into ranges listed at once
    server_copy | streamed_copy               the two copy paths; reading a new version back (lock,
      | settle_write                          tags, metadata, headers) and setting what it lacks
    multipart | lock_write | source_version   one multipart upload; lock read-back and write; the source's HEAD
    s3 | schedules                            boto3 clients; scheduled jobs from the environment
    messages | task_labels | patience         the message contract; Flower labels; waiting out Redis;
      | s3_calls | execution_context          per-call argument allow-lists; what one process needs for a run;
      | copy_plan | pacing | metrics         pure: single or multipart, part size and ranges; request and
      | version_plan | parallel_parts         bandwidth limits; run reports -> metric series; history actions;
      | fan_in                                multipart parts in parallel, bounded per object and process;
                                              iterators drained on threads, read as one
    plan | outcomes | history                 pure core: what to do per key; what happened; version histories;
      | carried_attributes                    what a write asked for besides the lock, and whether it is held
    lockrules | locations | filters           pure core: lock decisions; s3:// URLs; --exclude/--include;
      | keyspace | write_checks               key ranges and split points; what a server proved to honour;
      | lock_schedule                         whether a scheduled run does the lock pass
    model | settings                          pure core: object values; all configuration
    copy_options                              pure core: storage class and encryption of copies
    errors                                    the exception tree

The pure core (model, plan, lockrules, locations, outcomes, messages, copy_plan, filters, history, keyspace,
copy_options, version_plan, write_checks, carried_attributes, lock_schedule) imports no S3, Redis or Celery code.
"""

__version__ = "0.1.0"
