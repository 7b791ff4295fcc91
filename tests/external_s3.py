"""An S3 endpoint the operator names, for running the contract tests against their own server or provider.

    BUCKETSYNC_TEST_S3_ENDPOINT_URL        e.g. http://127.0.0.1:9000 (MinIO) or a provider's endpoint
    BUCKETSYNC_TEST_S3_ACCESS_KEY_ID       keys allowed to create buckets with Object Lock, write,
    BUCKETSYNC_TEST_S3_SECRET_ACCESS_KEY   read, tag, lock and delete objects
    BUCKETSYNC_TEST_S3_REGION              optional, default us-east-1

Read once when the test session starts. The variables never reach a bucketsync process: its settings
refuse unknown BUCKETSYNC_* names, and the tests' environments drop every BUCKETSYNC_* variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit


from s3_clients import seeding_client

PREFIX = "BUCKETSYNC_TEST_S3_"
NAMES = ("ENDPOINT_URL", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "REGION")


class ExternalS3Error(ValueError):
    """The BUCKETSYNC_TEST_S3_* variables are incomplete or malformed."""


@dataclass(frozen=True)
class ExternalS3:
    """Shaped like conftest's MotoServer (url, port, keys, client()) so the contract tests take either."""

    url: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    name: str = "external"

    @property
    def port(self) -> int | None:
        return urlsplit(self.url).port

    def client(self, access_key: str | None = None, secret_key: str | None = None):
        return seeding_client(
            self.url, access_key or self.access_key, secret_key or self.secret_key, self.region, path_style=True
        )


def external_s3_from(environ: Mapping[str, str]) -> ExternalS3 | None:
    """The external server the variables name; None when none is named."""
    values = {name: environ.get(PREFIX + name, "").strip() for name in NAMES}
    unknown = sorted(name for name in environ if name.startswith(PREFIX) and name[len(PREFIX):] not in NAMES)
    if unknown:
        raise ExternalS3Error(f"unknown variable(s) {', '.join(unknown)}; known: {', '.join(PREFIX + n for n in NAMES)}")
    if not any(values.values()):
        return None
    missing = [PREFIX + name for name in NAMES[:3] if not values[name]]
    if missing:
        raise ExternalS3Error(f"{', '.join(missing)} must be set too, to test against an external S3 server")
    url = values["ENDPOINT_URL"]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ExternalS3Error(f"{PREFIX}ENDPOINT_URL {url!r} is not an http(s) URL")
    return ExternalS3(
        url=url.rstrip("/"),
        access_key=values["ACCESS_KEY_ID"],
        secret_key=values["SECRET_ACCESS_KEY"],
        region=values["REGION"] or "us-east-1",
    )
