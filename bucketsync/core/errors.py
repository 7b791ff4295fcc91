"""Errors that stop a whole run (or a command), all of them; the CLI prints one line and exits 2
(RunInterrupted: 130).

    BucketsyncError              a run cannot start or go on
    ├── UsageError               malformed arguments (bad S3 URL, overlapping source and destination)
    ├── SettingsError            invalid settings from the environment or options
    ├── PreflightError           a bucket is missing or unreachable, credentials are rejected,
    │                            the destination lacks Object Lock, lock state is unreadable
    ├── OutputPathRefused        --report-json / --metrics-textfile cannot be written there (found before the run)
    ├── BrokerUnreachable        the broker's Redis cannot be reached, or was lost for longer than the patience
    ├── RunNotFound              a run id Redis does not know (never submitted, report expired, no request kept)
    ├── ListingFailed            a listing of one side could not go on (after botocore's retries)
    ├── ListingOrderError        a listing came back out of key order (a server bug no merge-join survives)
    ├── RunInterrupted           the operator pressed Ctrl-C; carries the summary of what was done
    └── ReportNotWritten         the JSON report could not be written (the run itself is over)

Failures of single objects are never raised out of the engine: they are values
(`ObjectOutcome` with status "failed" and a reason), so one bad object never stops the rest.
"""

from __future__ import annotations

from typing import Any


class BucketsyncError(Exception):
    """A run cannot start or go on."""


class UsageError(BucketsyncError):
    pass


class SettingsError(BucketsyncError):
    pass


class PreflightError(BucketsyncError):
    pass


class OutputPathRefused(BucketsyncError):
    """An output file (--report-json, --metrics-textfile) could not be written there: found before the run."""


class BrokerUnreachable(BucketsyncError):
    """The broker's Redis cannot be reached (before a run), or was lost for longer than the follower waits."""


class RunNotFound(BucketsyncError):
    """Redis does not know the run, or holds no request to resume it from."""


class ListingFailed(BucketsyncError):
    """A listing of one side could not go on (botocore already retried what was transient)."""


class ListingOrderError(BucketsyncError):
    """A listing came back out of key order: a server bug the merge-join cannot work around."""


class RunInterrupted(BucketsyncError):
    """The operator interrupted the run; `summary` (a RunSummary) holds what was done until then."""

    def __init__(self, summary: Any) -> None:
        super().__init__("interrupted")
        self.summary = summary


class ReportNotWritten(BucketsyncError):
    """The JSON report could not be written (the run itself is over)."""
