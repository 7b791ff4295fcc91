"""Errors that stop a run before any write: `bucketsync sync` exits 2 with one line on stderr, no traceback.

Preflight errors (missing buckets, unreachable endpoints, rejected keys, a destination without Object Lock)
are part of the contract and run on each S3 server; errors found before any request only on moto."""

from __future__ import annotations

import urllib.request

import pytest

from conftest import create_bucket, free_port, run_cli, start_moto, stop, unique_bucket

from .helpers import (
    USAGE_AS_INTERNAL, Seed, check_error_exit, cli_env, expect_cli, in_days, invoke_cli, list_keys, seed,
)


@pytest.fixture(scope="module")
def strict_moto():
    """A moto server that checks signatures: by default moto accepts any keys, so it cannot reject any.

    moto's /moto-api/reset-auth sets how many requests go unauthenticated; 0 turns IAM checks on for
    everything after, and keys that IAM does not know are refused (InvalidAccessKeyId / 403). The
    buckets are created first, while auth is still off.
    """
    server = start_moto()
    client = server.client()
    buckets = unique_bucket("auth-src"), unique_bucket("auth-dst")
    for bucket in buckets:
        client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    reset = urllib.request.Request(
        f"{server.url}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
    )
    urllib.request.urlopen(reset).close()
    yield server, buckets
    stop(server.process)


@pytest.fixture
def server_buckets(s3_server):
    """A fresh pair of buckets with Object Lock on the contract's S3 server."""
    client = s3_server.client()
    return tuple(create_bucket(client, unique_bucket(stem), object_lock=True) for stem in ("src", "dst"))


def test_missing_source_bucket(s3_server, server_buckets):
    _, dest = server_buckets
    missing = unique_bucket("no-such-source")
    result = run_cli("sync", f"s3://{missing}", f"s3://{dest}", env=cli_env(s3_server))
    check_error_exit(result, f"source bucket {missing!r} does not exist")


def test_missing_destination_bucket(s3_server, server_buckets):
    source, _ = server_buckets
    missing = unique_bucket("no-such-dest")
    result = run_cli("sync", f"s3://{source}", f"s3://{missing}", env=cli_env(s3_server))
    check_error_exit(result, f"destination bucket {missing!r} does not exist")


@pytest.mark.parametrize("side", ["source", "dest"])
def test_unreachable_endpoint(s3_server, server_buckets, side):
    source, dest = server_buckets
    closed = f"http://127.0.0.1:{free_port()}"
    env = cli_env(s3_server, MAX_ATTEMPTS="1", CONNECT_TIMEOUT="2")
    env[f"BUCKETSYNC_{side.upper()}__ENDPOINT_URL"] = closed
    result = run_cli("sync", f"s3://{source}", f"s3://{dest}", env=env)
    check_error_exit(result, f"cannot reach the {'source' if side == 'source' else 'destination'} endpoint")


@pytest.mark.parametrize("command", ["sync", "verify"])
def test_a_closed_port_is_one_line_within_5_seconds_with_the_default_retries(moto_server, command):
    """botocore's backoff (10 attempts) took 27 s (sync) and 35 s (verify): an endpoint that never answered
    is not retried; throttling and resets still are, once it has answered (test_flaky_network.py)."""
    import time

    source, dest = create_bucket(moto_server.client(), unique_bucket("reach")), unique_bucket("unreached")
    env = cli_env(moto_server)
    env["BUCKETSYNC_DEST__ENDPOINT_URL"] = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()  # in this process: the interpreter's start-up on a loaded machine is not the point
    result = invoke_cli(command, f"s3://{source}", f"s3://{dest}", env=env)
    took = time.monotonic() - started
    if command == "verify":  # verify's error line, exit 2 as sync's
        assert result.returncode == 2 and "cannot reach the destination endpoint" in result.stderr, result.stderr
    else:
        check_error_exit(result, "cannot reach the destination endpoint")
    assert took < 5, f"{command}: {took:.1f} s to the error"


@pytest.mark.parametrize("side", ["source", "dest"])
def test_credentials_rejected(request, s3_server, side):
    if s3_server.name == "moto":  # moto checks keys only when told to; the source must pass on another
        server, (source, dest) = request.getfixturevalue("strict_moto")
        trusting = s3_server
    else:
        server = trusting = s3_server
        source, dest = request.getfixturevalue("server_buckets")
    env = cli_env(server)
    env[f"BUCKETSYNC_{side.upper()}__ACCESS_KEY_ID"] = "AKIAUNKNOWNTOTHESERVER"
    env[f"BUCKETSYNC_{side.upper()}__SECRET_ACCESS_KEY"] = "wrong-secret"
    if side == "dest":  # the source must pass: keys the server knows, on a bucket the keys can read
        env = {**env, **{k: v for k, v in cli_env(trusting).items() if k.startswith("BUCKETSYNC_SOURCE__")}}
        source = create_bucket(trusting.client(), unique_bucket("auth-ok"))
    result = run_cli("sync", f"s3://{source}", f"s3://{dest}", env=env)
    name = "source" if side == "source" else "destination"
    check_error_exit(result, name, "credentials rejected")


def test_destination_without_object_lock(s3_server, server_buckets):
    source, _ = server_buckets
    s3 = s3_server.client()
    plain = create_bucket(s3, unique_bucket("nolock"))
    seed(s3, source, [Seed("locked.txt", b"x", mode="GOVERNANCE", retain_until=in_days(1))])
    result = run_cli("sync", f"s3://{source}", f"s3://{plain}", env=cli_env(s3_server))
    check_error_exit(result, f"source bucket {source!r} has Object Lock", f"destination bucket {plain!r} does not")
    assert list_keys(s3, plain) == {}  # preflight comes before any write


@pytest.mark.parametrize(
    "settings, options, fragment",
    [
        ({"CONCURRENCY": "0"}, [], "concurrency"),
        ({"CONCURRENCY": "many"}, [], "concurrency"),
        ({}, ["--concurrency", "0"], "concurrency"),
        ({"DEST__ENDPOINT_URL": "localhost:9000"}, [], "dest.endpoint_url"),
        ({}, ["--source-endpoint-url", "ftp://example.com"], "source.endpoint_url"),
        ({"MULTIPART_THRESHOLD": "1024"}, [], "multipart_threshold"),
    ],
    ids=["concurrency-0", "concurrency-word", "concurrency-option", "endpoint-env", "endpoint-option", "threshold"],
)
def test_invalid_settings(moto_server, locked_buckets, settings, options, fragment):
    source, dest = locked_buckets
    env = {**cli_env(moto_server), **{f"BUCKETSYNC_{name}": value for name, value in settings.items()}}
    result = run_cli("sync", f"s3://{source}", f"s3://{dest}", *options, env=env)
    check_error_exit(result, "invalid settings", fragment)


def test_access_key_without_secret(moto_server, locked_buckets):
    source, dest = locked_buckets
    env = cli_env(moto_server)
    del env["BUCKETSYNC_SOURCE__SECRET_ACCESS_KEY"]
    result = run_cli("sync", f"s3://{source}", f"s3://{dest}", env=env)
    check_error_exit(result, "invalid settings", "set together")


@pytest.mark.parametrize(
    "source_url, fragment",
    [
        ("http://some-bucket/prefix", "not an S3 URL"),
        ("s3://", "no bucket name"),
        ("s3://Bad_Bucket/x", "invalid bucket name 'Bad_Bucket'"),
        ("s3://ab", "invalid bucket name 'ab'"),
    ],
    ids=["scheme", "no-bucket", "bad-characters", "too-short"],
)
def test_malformed_locations(moto_server, locked_buckets, source_url, fragment):
    _, dest = locked_buckets
    result = run_cli("sync", source_url, f"s3://{dest}", env=cli_env(moto_server))
    check_error_exit(result, fragment)


def test_overlapping_source_and_destination(moto_server, locked_buckets):
    source, _ = locked_buckets
    result = run_cli("sync", f"s3://{source}/data", f"s3://{source}/data/copy", env=cli_env(moto_server))
    check_error_exit(result, "overlap")


@pytest.mark.parametrize("option", ["--source-profile", "--dest-profile"])
def test_unknown_profile(moto_server, locked_buckets, option):
    source, dest = locked_buckets
    result = run_cli("sync", f"s3://{source}", f"s3://{dest}", option, "no-such-profile", env=cli_env(moto_server))
    check_error_exit(result, "no-such-profile")


@pytest.mark.parametrize(
    "args, fragment",
    [(["sync", "s3://only-one-bucket"], "Missing"), (["sync", "s3://aaa", "s3://bbb", "--frobnicate"], "--frobnicate")],
    ids=["missing-argument", "unknown-option"],
)
def test_usage_errors(args, fragment):
    result = run_cli(*args)
    message = check_error_exit(result, fragment)
    expect_cli("internal error" not in message, USAGE_AS_INTERNAL)


@pytest.mark.parametrize("option, where, fragment", [
    ("--report-json", lambda tmp: "/proc/r.json", "cannot write in /proc"),
    ("--metrics-textfile", lambda tmp: (tmp / "afile").write_text("") or str(tmp / "afile" / "x.prom"), "is not a directory"),
    ("--report-json", lambda tmp: str(tmp / "missing" / "r.json"), "does not exist"),
    ("--metrics-textfile", lambda tmp: str(tmp / "missing" / "x.prom"), "does not exist"),
])
def test_an_output_path_that_cannot_be_written_stops_the_run_before_any_copy(
    moto_server, s3, tmp_path, option, where, fragment
):
    """Checked before the first request: exit 2, one line, nothing copied, no directory created."""
    source, dest = unique_bucket("outsrc"), unique_bucket("outdst")
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=dest)
    seed(s3, source, [Seed("k", b"x")])
    path = where(tmp_path)
    result = invoke_cli("sync", f"s3://{source}", f"s3://{dest}", option, path, env=cli_env(moto_server))
    check_error_exit(result, option, fragment)
    assert list_keys(s3, dest) == {}
    assert not (tmp_path / "missing").exists()
