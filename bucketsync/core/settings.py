"""All configuration, from `BUCKETSYNC_*` environment variables (nested with `__`), overridden by CLI options.

Secrets are `SecretStr`: they never appear in a repr, a log line, a task message or a result.
A `BUCKETSYNC_*` variable that names no setting is refused rather than ignored (unknown_variables).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .copy_options import decode_sse_c_key
from .errors import SettingsError

MiB = 1024 * 1024
GiB = 1024 * MiB
TiB = 1024 * GiB

ENV_PREFIX = "BUCKETSYNC_"
# BUCKETSYNC_* variables that other modules read themselves (schedules.py, cli.py); every other one must name a
# setting. Add a name here when new code reads its own variable, or load_settings refuses it.
VARIABLES_READ_ELSEWHERE = frozenset({"BUCKETSYNC_SCHEDULES", "BUCKETSYNC_SCHEDULES_FILE", "BUCKETSYNC_DEBUG"})


BYTE_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3, "gb": 1000**3,
              "kib": 1024, "mib": MiB, "gib": GiB}


def parse_byte_rate(text: str) -> int | None:
    """`12345`, `500KB`, `50MiB`, `1G` (decimal units, or binary with `i`) -> bytes; blank -> no limit."""
    if text.strip() == "":
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*(?:/s)?\s*", text)
    if not match or match.group(2).lower() not in BYTE_UNITS:
        raise ValueError(f"expected a number of bytes such as 1048576, 500KB or 50MiB, got {text!r}")
    return int(float(match.group(1)) * BYTE_UNITS[match.group(2).lower()])


class SideSettings(BaseModel):
    """How to reach one side (source or destination). Unset keys fall back to the standard AWS chain."""

    model_config = ConfigDict(extra="forbid")

    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    session_token: SecretStr | None = None
    addressing_style: Literal["auto", "virtual", "path"] = "auto"
    # SSE-C: this side's objects are encrypted with this customer key (base64 of 32 bytes)
    sse_c_key: SecretStr | None = None

    @field_validator("sse_c_key")
    @classmethod
    def _sse_c_key_is_32_bytes(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value().strip() == "":
            return None
        decode_sse_c_key(value.get_secret_value())
        return value

    def sse_c_key_bytes(self) -> bytes | None:
        return decode_sse_c_key(self.sse_c_key.get_secret_value()) if self.sse_c_key else None

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint_is_http_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"endpoint URL must look like https://host[:port], got {value!r}")
        try:
            parsed.port
        except ValueError as exc:
            raise ValueError(f"endpoint URL has an invalid port: {value!r}") from exc
        return value.rstrip("/")

    @model_validator(mode="after")
    def _keys_come_in_pairs(self) -> "SideSettings":
        if bool(self.access_key_id) != bool(self.secret_access_key):
            raise ValueError("access_key_id and secret_access_key must be set together")
        return self

    def same_account_as(self, other: "SideSettings") -> bool:
        """True when one set of credentials can read the source and write the destination (server-side copy)."""

        def secret(value: SecretStr | None) -> str | None:
            return value.get_secret_value() if value else None

        return (
            self.endpoint_url == other.endpoint_url
            and (self.region or None) == (other.region or None)
            and self.profile == other.profile
            and self.access_key_id == other.access_key_id
            and secret(self.secret_access_key) == secret(other.secret_access_key)
            and secret(self.session_token) == secret(other.session_token)
        )


class EventSettings(BaseModel):
    """Where `bucketsync watch` takes the source's bucket notifications from (BUCKETSYNC_EVENTS__*)."""

    model_config = ConfigDict(extra="forbid")

    http: str | None = Field(None, description="[HOST:]PORT to take HTTP pushes on (RGW push-endpoint, MinIO webhook)")
    amqp_url: SecretStr | None = Field(
        None, description="amqp://USER:PASS@HOST:PORT/VHOST?exchange=EXCHANGE[&topic=TOPIC] to consume from"
    )
    amqp_queue: str = Field("bucketsync-watch", min_length=1, description="the durable queue bound to the exchange")
    sqs_queue_url: str | None = Field(None, description="the SQS queue AWS sends the bucket's notifications to")
    journal: str | None = Field(
        None, description="file of changes taken in and not yet replicated (default: in $XDG_STATE_HOME/bucketsync)"
    )
    metrics_port: int | None = Field(None, ge=1, le=65535, description="serve watch metrics on 127.0.0.1:PORT/metrics")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BUCKETSYNC_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    source: SideSettings = Field(default_factory=SideSettings)
    dest: SideSettings = Field(default_factory=SideSettings)
    events: EventSettings = Field(default_factory=EventSettings)

    # Engine
    concurrency: int = Field(64, ge=1, le=512, description="parallel object operations per process")
    page_size: int = Field(1000, ge=1, le=1000, description="keys per listing page")
    listing_ranges: int = Field(
        4, ge=1, le=64, description="key ranges an embedded run lists at once, both sides (1: one stream)"
    )
    multipart_threshold: int = Field(64 * MiB, ge=5 * MiB, le=5 * GiB)
    multipart_chunksize: int = Field(16 * MiB, ge=5 * MiB, le=5 * GiB)
    lock_check: bool = Field(True, description="read lock state of every object on lock-enabled sources")
    all_versions: bool = Field(False, description="replicate every version and delete marker (sync --all-versions)")
    retry_mode: Literal["standard", "adaptive", "legacy"] = "standard"
    max_attempts: int = Field(10, ge=1, le=50)
    connect_timeout: float = Field(10.0, gt=0, le=600)
    read_timeout: float = Field(60.0, gt=0, le=3600)

    # Distributed runs
    broker_url: str | None = None
    batch_size: int = Field(50, ge=1, le=1000, description="objects per copy-task message")
    batch_max_bytes: int = Field(
        1 * GiB, ge=1, le=5 * TiB, description="bytes to copy per copy-task message (one larger object alone)"
    )
    queue_high_water: int = Field(200, ge=1, le=100_000, description="queued messages before the coordinator waits")
    report_ttl_seconds: int = Field(7 * 24 * 3600, ge=60, le=365 * 24 * 3600)
    stalled_after_seconds: int = Field(900, ge=2, le=7 * 24 * 3600, description="no progress this long: the run shows as stalled")
    visibility_timeout: int = Field(3600, ge=2, le=24 * 3600)
    batch_lease_seconds: int = Field(
        60, ge=2, le=3600,
        description="a running copy batch (or a key `watch` replicates) holds its lease this long, renewed every "
                    "third of it; a lease that lapses (its worker died) has the batch published again at once, not "
                    "after the visibility timeout (a watched key is free for its next change)",
    )
    task_time_limit: int = Field(3000, ge=1, le=24 * 3600)

    # Pacing (pacing.py): per run; in a distributed run, for all workers together
    max_requests_per_second: float | None = Field(
        None, gt=0, le=1_000_000, description="S3 requests per second toward each endpoint (default: no limit)"
    )
    max_bandwidth: int | None = Field(
        None, ge=1, description="object bytes per second streamed through bucketsync, e.g. 50MiB (default: no limit)"
    )

    @field_validator("max_bandwidth", mode="before")
    @classmethod
    def _bandwidth_with_unit(cls, value: Any) -> Any:
        return parse_byte_rate(value) if isinstance(value, str) else value

    @field_validator("max_requests_per_second", mode="before")
    @classmethod
    def _blank_is_no_limit(cls, value: Any) -> Any:
        return None if isinstance(value, str) and value.strip() == "" else value

    @field_validator("broker_url")
    @classmethod
    def _broker_is_redis(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        scheme = urlparse(value).scheme
        if scheme not in ("redis", "rediss"):
            raise ValueError(f"broker URL must be redis:// or rediss://, got scheme {scheme!r}")
        return value

    @model_validator(mode="after")
    def _time_limit_below_visibility(self) -> "Settings":
        if self.task_time_limit >= self.visibility_timeout:
            raise ValueError("task_time_limit must be below visibility_timeout, or a slow task is delivered twice")
        return self


# What a distributed run carries to its workers (RunRequest.run_settings): the settings that change where
# or what is listed or written, as the submitter's preflight checked them. Secrets (keys, tokens, SSE-C
# keys, profiles that name credentials, the broker URL) and each process's own resources (concurrency,
# timeouts, retries, queue limits) stay with each process.
CARRIED_SIDE_FIELDS = ("endpoint_url", "region", "addressing_style")
CARRIED_FIELDS = ("page_size", "listing_ranges", "batch_size", "batch_max_bytes", "multipart_threshold",
                  "multipart_chunksize", "lock_check")


def carried_settings(settings: Settings, regions: tuple[str | None, str | None] = (None, None)) -> dict[str, Any]:
    """The run settings a submitter sends with a run. `regions`: each side's region as its client resolved
    it (a profile's, AWS_REGION, the default) where the settings name none: the workers use the same."""
    carried: dict[str, Any] = {name: getattr(settings, name) for name in CARRIED_FIELDS}
    for side, resolved in zip(("source", "dest"), regions):
        values = {name: getattr(getattr(settings, side), name) for name in CARRIED_SIDE_FIELDS}
        values["region"] = values["region"] or resolved
        carried[side] = values
    return carried


def with_carried(settings: Settings, carried: Mapping[str, Any]) -> Settings:
    """A worker's settings for one run: its own, with what the run carries (empty: its own, unchanged)."""
    if not carried:
        return settings
    update: dict[str, Any] = {name: carried[name] for name in CARRIED_FIELDS if name in carried}
    for side in ("source", "dest"):
        values = {name: value for name, value in (carried.get(side) or {}).items() if name in CARRIED_SIDE_FIELDS}
        if values:
            update[side] = getattr(settings, side).model_copy(update=values)
    return settings.model_copy(update=update)


def check_carriable(settings: Settings) -> None:
    """A distributed run's endpoint URLs travel in its messages: one that holds a password is refused."""
    for side in ("source", "dest"):
        url = getattr(settings, side).endpoint_url
        if url and urlparse(url).password:
            raise SettingsError(
                f"the {side} endpoint URL holds a password, and a distributed run sends its endpoints to the "
                "workers: give the credentials as access keys instead"
            )


def describe_validation_error(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(item) for item in error["loc"]) or "settings"
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "invalid settings: " + "; ".join(parts)


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """BUCKETSYNC_* variables that name no setting: pydantic-settings would silently ignore them.

    Names are matched without regard to case, as pydantic-settings reads them. A nested name
    (`BUCKETSYNC_SOURCE__…`) is checked here only up to its side; its key is checked by SideSettings,
    which forbids unknown keys.
    """
    fields = {name.upper() for name in Settings.model_fields}
    sides = {"SOURCE", "DEST", "EVENTS"}
    unknown = []
    for name in environ:
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in VARIABLES_READ_ELSEWHERE:
            continue
        head, nested, _ = upper[len(ENV_PREFIX):].partition("__")
        known = head in sides if nested else head in fields
        if not known:
            unknown.append(name)
    return sorted(unknown)


def _did_you_mean(name: str) -> str:
    known = [ENV_PREFIX + field.upper() for field in Settings.model_fields] + sorted(VARIABLES_READ_ELSEWHERE)
    known += [f"{ENV_PREFIX}{side}__{key.upper()}" for side in ("SOURCE", "DEST") for key in SideSettings.model_fields]
    known += [f"{ENV_PREFIX}EVENTS__{key.upper()}" for key in EventSettings.model_fields]
    close = difflib.get_close_matches(name.upper(), known, n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


def load_settings(**overrides: Any) -> Settings:
    """Environment first, then the non-None overrides (CLI options), as one validated Settings.

    The overrides go in as init arguments, which pydantic-settings merges over the environment (nested
    dicts field by field) before validating once: an override replaces an environment value instead of
    being checked after it, so `--concurrency 8` wins over a bad `BUCKETSYNC_CONCURRENCY`.
    A BUCKETSYNC_* variable that names no setting (a typo such as BUCKETSYNC_CONCURENCY) is refused.
    """
    unknown = unknown_variables(os.environ)
    if unknown:
        named = "; ".join(f"unknown environment variable {name}{_did_you_mean(name)}" for name in unknown)
        raise SettingsError(f"invalid settings: {named}")
    given: dict[str, Any] = {}
    for key, value in overrides.items():
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if v is not None} or None
        if value is not None:
            given[key] = value
    try:
        return Settings(**given)
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None
