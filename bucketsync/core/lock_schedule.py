"""Pure: when a scheduled job's run does the lock pass (reads the lock state of unchanged objects).

A job may say `lock_check_every: 24h`: bytes can be synced hourly while the lock state of unchanged objects,
which no listing shows, is read nightly. A run does the lock pass when the job has no interval, when no run
of the job has done it yet, or when the last run that did it (and finished without failures) started at
least the interval ago.
"""

from __future__ import annotations

import re

_INTERVAL_RE = re.compile(r"(\d+)\s*([smhd])", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(text: str) -> int:
    """`90s`, `30m`, `24h`, `7d` as seconds; ValueError says what is wrong."""
    match = _INTERVAL_RE.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r}: write N with a unit s, m, h or d, e.g. 24h")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
    if seconds < 1:
        raise ValueError(f"{text!r}: the interval must be at least 1s")
    return seconds


def lock_pass_due(last_started: float | None, now: float, every: float | None) -> bool:
    """Whether this run does the lock pass: `last_started` is when the job's last run that did it started
    (epoch seconds; None: never), `every` the job's interval in seconds (None: every run)."""
    if every is None or last_started is None:
        return True
    if last_started > now:  # a clock that went back: the record cannot be trusted to be recent
        return True
    return now - last_started >= every
