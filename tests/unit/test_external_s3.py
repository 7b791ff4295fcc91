"""The BUCKETSYNC_TEST_S3_* variables that name an external S3 server for the contract tests."""

from __future__ import annotations

import pytest

from external_s3 import ExternalS3, ExternalS3Error, external_s3_from

P = "BUCKETSYNC_TEST_S3_"
KEYS = {P + "ACCESS_KEY_ID": "AK", P + "SECRET_ACCESS_KEY": "SK"}


@pytest.mark.parametrize(
    "environ, expected",
    [
        ({}, None),
        ({"BUCKETSYNC_CONCURRENCY": "4"}, None),
        ({P + "ENDPOINT_URL": "http://127.0.0.1:9000/", **KEYS}, ExternalS3("http://127.0.0.1:9000", "AK", "SK")),
        ({P + "ENDPOINT_URL": "https://s3.example.net", **KEYS, P + "REGION": "eu-central-2"},
         ExternalS3("https://s3.example.net", "AK", "SK", "eu-central-2")),
    ],
    ids=["none", "other-variables", "minio", "with-region"],
)
def test_external_server_from_environment(environ, expected):
    assert external_s3_from(environ) == expected


@pytest.mark.parametrize(
    "environ, fragment",
    [
        ({P + "ENDPOINT_URL": "http://127.0.0.1:9000"}, P + "ACCESS_KEY_ID, " + P + "SECRET_ACCESS_KEY must be set"),
        ({**KEYS}, P + "ENDPOINT_URL must be set"),
        ({P + "ENDPOINT_URL": "127.0.0.1:9000", **KEYS}, "is not an http(s) URL"),
        ({P + "ENDPOINT": "http://127.0.0.1:9000", **KEYS}, "unknown variable(s) " + P + "ENDPOINT;"),
    ],
    ids=["no-keys", "no-endpoint", "no-scheme", "misspelt"],
)
def test_incomplete_settings_are_refused(environ, fragment):
    with pytest.raises(ExternalS3Error) as raised:
        external_s3_from(environ)
    assert fragment in str(raised.value)
