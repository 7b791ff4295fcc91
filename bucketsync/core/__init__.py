"""Pure values and decisions: no S3, Redis or Celery code, not even through another module.

Modules:

    carried_attributes  What a write asked the new version to carry besides its lock (tags, user metadata, content headers),
    copy_options        How copies are written and read: storage class and encryption. Pure: no I/O.
    copy_plan           How one object is copied: the one decision, made before any byte moves. Pure: no I/O.
    errors              Errors that stop a whole run.
    events              What a source's bucket notifications announce, as plain values, and which of them still need work. Pure.
    filters             `--exclude` / `--include` with the semantics of `aws s3 sync`. Pure: no I/O.
    history             Version history of one key: putting a listing's entries in order, and matching a destination history
    locations           Parsing `s3://bucket[/prefix]` and mapping keys between source and destination.
    lock_schedule       Pure: when a scheduled job's run does the lock pass (reads the lock state of unchanged objects).
    lockrules           What lock state the destination version must get: a pure function of (source, destination, now).
    messages            The message contract: what bucketsync's Celery tasks carry, and how each value is written and read.
    model               Plain values that describe objects and their lock state. No I/O.
    outcomes            What happened: one ObjectOutcome per object, added up into a RunSummary. JSON-safe values only.
    part_layouts        Finding a multipart source's part layout from its bytes and its ETag, where the server will not say it
    plan                Deciding what to do with each key: a merge-join of two sorted listings. Pure: no I/O.
    settings            All configuration, from `BUCKETSYNC_*` environment variables (nested with `__`), overridden by CLI options.
    version_plan        Deciding what to do with each key's history (`sync --all-versions`): a merge-join of two sorted streams
    write_checks        What the destination server honours on each write path, learnt from a run's first writes. Pure: no I/O.
"""
