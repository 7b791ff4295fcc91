"""One object's copy: the copy paths, multipart uploads, lock and read-back, the boto3 clients.

Modules:

    execute             Carrying out one PlannedAction against S3 -> ObjectOutcome. Object failures are returned, not raised.
    execution_context   What one process needs to execute the actions of one run, and what one action has learnt so far.
    history_execute     Carrying out one key's HistoryAction (`sync --all-versions`) -> one ObjectOutcome per entry.
    lock_write          Setting Object Lock state on a destination version, and reading a new version back to check it.
    multipart           One multipart upload as a context manager: created on entry, completed by `complete()`, aborted on
    pacing              Keeping a run polite: a request-rate limit per S3 endpoint, a bandwidth limit, a count of 503 SlowDown, and operations in flight that back off on it.
    parallel_parts      The parts of multipart copies, run in parallel: at most `PARTS_PER_OBJECT` of one object at once, and at
    s3                  The one place S3 clients are built, per side, with botocore's retry mode; S3 error helpers.
    s3_calls            Which arguments each S3 call of the copy engine may carry: one explicit allow-list per operation.
    server_copy         The server-side copy (one endpoint, one set of credentials): CopyObject, or UploadPartCopy parts.
    server_quirks       What a destination server needs beyond S3's rules, decided once per run before any copy starts.
    settle_write        After a copy's write: read the new version back once, and set what the server did not apply.
    source_layout       A multipart source's part layout, which its copy reproduces so that the copy's ETag is the source's.
    source_version      Reading the source version a copy pins and carries: its HEAD (or GET) answer, first part and tags.
    streamed_copy       The streamed copy (different endpoints or credentials): GET from the source, upload to the destination.
"""
