"""Scheduled replications: which jobs run when, read from the environment and checked before anything starts.

A schedule is `{name, cron, source, destination, delete?, prefix?, filters?, all_versions?, lock_check_every?,
storage_class?, sse?, sse_kms_key_id?}`, given as a JSON list in
`BUCKETSYNC_SCHEDULES` or in a file named by `BUCKETSYNC_SCHEDULES_FILE` (`.toml`: `[[schedules]]`
tables; `.yaml`/`.yml`: a list, or a `schedules:` list; `.json`: a list).

`cron` is one of
- five crontab fields, `minute hour day-of-month month day-of-week`, evaluated in UTC
  (`0 2 * * *`, `*/15 * * * 1-5`, `30 4 1 * *`);
- an alias: `@hourly`, `@daily` (= `@midnight`), `@weekly`, `@monthly`, `@yearly` (= `@annually`);
- `@every N` with a unit `s`, `m` or `h` (`@every 30s`, `@every 2h`): an interval counted from the last
  trigger, for sub-minute periods (crontab has minute resolution).

`prefix`, when given, is appended to both URLs: `{source: s3://a, destination: s3://b, prefix: logs/}`
replicates `s3://a/logs/` into `s3://b/logs/`.

`lock_check_every`, when given (`90s`, `30m`, `24h`, `7d`), is how often unchanged objects get their lock
check: a run does the lock pass only when the job's last run that did it, and finished without failures,
started at least that long ago (lock_schedule.py decides, lock_pass_record.py remembers).

`filters`, when given, is a list of one-key mappings `{exclude: PATTERN}` or `{include: PATTERN}`, in the
order `bucketsync sync` would take its `--exclude` / `--include` options (the last match wins); patterns
match keys relative to the source prefix (after `prefix` is appended).

`storage_class`, `sse` and `sse_kms_key_id` are `bucketsync sync`'s `--storage-class`, `--sse` and
`--sse-kms-key-id` for the job's runs (SSE-C keys are the workers' settings, never the schedule's).
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from celery.schedules import crontab, schedule
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..core.copy_options import check_choices
from ..core.errors import SettingsError, UsageError
from ..core.locations import parse_location
from ..core.lock_schedule import parse_interval
from ..core.messages import ScheduledJob
from ..distributed.task_labels import label

SCHEDULES_VAR = "BUCKETSYNC_SCHEDULES"
SCHEDULES_FILE_VAR = "BUCKETSYNC_SCHEDULES_FILE"

CRON_FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
CRON_FIELD_NAMES = ("minute", "hour", "day of month", "month", "day of week")
ALIASES = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_EVERY_RE = re.compile(r"@every\s+(\d+)\s*([smh])", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"


def parse_timing(expression: str) -> crontab | schedule:
    """A cron expression (or alias, or `@every N[smh]`) as a Celery schedule; ValueError says what is wrong."""
    text = " ".join(expression.split())
    every = _EVERY_RE.fullmatch(text)
    if every:
        seconds = int(every.group(1)) * _UNIT_SECONDS[every.group(2).lower()]
        if seconds < 1:
            raise ValueError("@every needs a period of at least 1s")
        return schedule(timedelta(seconds=seconds))
    if text.lower().startswith("@every"):
        raise ValueError(f"{text!r}: write @every N with a unit s, m or h, e.g. @every 30s")
    if text.startswith("@"):
        if text.lower() not in ALIASES:
            raise ValueError(f"unknown alias {text!r} (use {', '.join(ALIASES)} or @every N[smh])")
        text = ALIASES[text.lower()]
    fields = text.split(" ")
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}")
    for field, label, value in zip(CRON_FIELDS, CRON_FIELD_NAMES, fields):
        try:
            crontab(**{field: value})  # one field at a time, so the message can name it
        except (ValueError, TypeError, IndexError) as exc:
            raise ValueError(f"{label} {value!r}: {exc}") from None
    try:
        return crontab(**dict(zip(CRON_FIELDS, fields)))
    except (ValueError, TypeError, IndexError) as exc:  # combinations, e.g. day 31 in February only
        raise ValueError(str(exc)) from None


def join_prefix(url: str, prefix: str) -> str:
    if not prefix:
        return url
    return url.rstrip("/") + "/" + prefix.lstrip("/")


class Schedule(BaseModel):
    """One scheduled job, as the operator writes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN)
    cron: str
    source: str
    destination: str
    delete: bool = False
    prefix: str = ""
    filters: list[dict[str, str]] = Field(default_factory=list)

    @field_validator("filters")
    @classmethod
    def _filters_are_exclude_or_include(cls, value: list[dict[str, str]]) -> list[dict[str, str]]:
        for item in value:
            if len(item) != 1 or next(iter(item)) not in ("exclude", "include"):
                raise ValueError(f"each filter is {{exclude: PATTERN}} or {{include: PATTERN}}, not {item!r}")
        return value
    all_versions: bool = False  # replicate every version and delete marker (sync --all-versions)
    lock_check_every: str | None = None  # e.g. 24h: unchanged objects get their lock check this often
    storage_class: str | None = None  # the copies' storage class (sync --storage-class)
    sse: str | None = None  # the copies' encryption: AES256 or aws:kms (sync --sse)
    sse_kms_key_id: str | None = None  # with sse aws:kms (sync --sse-kms-key-id)

    @model_validator(mode="after")
    def _copy_choices_are_valid(self) -> "Schedule":
        # a destination SSE-C key is a worker's setting: the run checks it when it starts
        check_choices(self.storage_class, self.sse, self.sse_kms_key_id, dest_sse_c=False)
        return self

    @field_validator("lock_check_every")
    @classmethod
    def _interval_parses(cls, value: str | None) -> str | None:
        if value is not None:
            parse_interval(value)
        return value

    @field_validator("cron")
    @classmethod
    def _cron_parses(cls, value: str) -> str:
        parse_timing(value)
        return value

    @field_validator("source", "destination")
    @classmethod
    def _is_s3_url(cls, value: str) -> str:
        try:
            parse_location(value)
        except UsageError as exc:
            raise ValueError(str(exc)) from None
        return value

    @property
    def timing(self) -> crontab | schedule:
        return parse_timing(self.cron)

    def job(self) -> ScheduledJob:
        return ScheduledJob(
            name=self.name,
            source=join_prefix(self.source, self.prefix),
            destination=join_prefix(self.destination, self.prefix),
            delete=self.delete,
            filters=[[kind, pattern] for item in self.filters for kind, pattern in item.items()],
            all_versions=self.all_versions,
            lock_check_every=parse_interval(self.lock_check_every) if self.lock_check_every else None,
            storage_class=self.storage_class, sse=self.sse, sse_kms_key_id=self.sse_kms_key_id,
        )

    def next_run(self, now: datetime | None = None) -> datetime:
        """When beat triggers this job next (for `@every`: one period from now, as after a beat start)."""
        now = now or datetime.now(timezone.utc)
        timing = self.timing
        if isinstance(timing, crontab):
            last, delta, _ = timing.remaining_delta(now)
            return (last + delta).astimezone(timezone.utc)
        return (now + timing.run_every).replace(microsecond=0)


# ---------------------------------------------------------------- loading


def _describe(index: int, raw: Any, exc: ValidationError) -> str:
    name = raw.get("name") if isinstance(raw, dict) else None
    which = f"schedule {index + 1}" + (f" ({name!r})" if isinstance(name, str) and name else "")
    parts = []
    for error in exc.errors():
        where = ".".join(str(item) for item in error["loc"]) or "schedule"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "string_pattern_mismatch":
            message = "use letters, digits, '.', '_' and '-' (up to 63, starting with a letter or digit)"
        parts.append(f"{where}: {message}")
    return f"invalid {which}: " + "; ".join(parts)


def parse_schedules(items: Any, origin: str) -> list[Schedule]:
    """Validate a list of schedule mappings; SettingsError (one line) on the first bad one."""
    if not isinstance(items, list):
        raise SettingsError(f"{origin}: expected a list of schedules, got {type(items).__name__}")
    schedules = []
    for index, raw in enumerate(items):
        if not isinstance(raw, dict):
            raise SettingsError(f"{origin}: schedule {index + 1} is not a mapping")
        try:
            schedules.append(Schedule.model_validate(raw))
        except ValidationError as exc:
            raise SettingsError(f"{origin}: {_describe(index, raw, exc)}") from None
    names = [item.name for item in schedules]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise SettingsError(f"{origin}: schedule names must be unique: {', '.join(duplicates)}")
    return schedules


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def read_file(path: Path) -> Any:
    """The schedules in a TOML, YAML or JSON file (by suffix)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"{SCHEDULES_FILE_VAR}: cannot read {str(path)!r}: {exc.strerror or exc}") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            raise SettingsError(f"{SCHEDULES_FILE_VAR}: {str(path)!r} must end in .toml, .yaml, .yml or .json")
    except SettingsError:
        raise
    except Exception as exc:  # tomllib, yaml and json errors: say where, on one line
        raise SettingsError(f"{SCHEDULES_FILE_VAR}: {str(path)!r} is not valid {suffix[1:].upper()}: {_one_line(exc)}") from None
    if isinstance(data, dict):
        if set(data) != {"schedules"}:
            raise SettingsError(f"{SCHEDULES_FILE_VAR}: {str(path)!r}: expected only a 'schedules' list at the top")
        data = data["schedules"]
    return [] if data is None else data


def load_schedules(environ: Mapping[str, str] | None = None) -> list[Schedule]:
    """The schedules from `BUCKETSYNC_SCHEDULES` or `BUCKETSYNC_SCHEDULES_FILE` (not both); [] if neither."""
    environ = os.environ if environ is None else environ
    inline = environ.get(SCHEDULES_VAR, "").strip()
    file_name = environ.get(SCHEDULES_FILE_VAR, "").strip()
    if inline and file_name:
        raise SettingsError(f"set {SCHEDULES_VAR} or {SCHEDULES_FILE_VAR}, not both")
    if file_name:
        path = Path(file_name).expanduser()
        return parse_schedules(read_file(path), str(path))
    if inline:
        try:
            items = json.loads(inline)
        except json.JSONDecodeError as exc:
            raise SettingsError(f"{SCHEDULES_VAR} is not valid JSON: {exc}") from None
        return parse_schedules(items, SCHEDULES_VAR)
    return []


def beat_schedule(schedules: list[Schedule], task_name: str) -> dict[str, dict[str, Any]]:
    """Celery's `beat_schedule`: one entry per job, each sending the trigger task with the job."""
    return {
        item.name: {
            "task": task_name, "schedule": item.timing, "args": (item.job().to_json(),),
            "options": {"argsrepr": label(task_name, [item.job().to_json()], None)},  # Flower's one-line label
        }
        for item in schedules
    }
