"""Errors that stop a whole run.

    BucketsyncError            a run cannot start or go on; the CLI prints one line and exits 2
    ├── UsageError             malformed arguments (bad S3 URL, overlapping source and destination)
    ├── SettingsError          invalid settings from the environment or options
    └── PreflightError         a bucket is missing or unreachable, credentials are rejected,
                               the destination lacks Object Lock, lock state is unreadable

Failures of single objects are never raised out of the engine: they are values
(`ObjectOutcome` with status "failed" and a reason), so one bad object never stops the rest.
"""


class BucketsyncError(Exception):
    """A run cannot start or go on."""


class UsageError(BucketsyncError):
    pass


class SettingsError(BucketsyncError):
    pass


class PreflightError(BucketsyncError):
    pass
