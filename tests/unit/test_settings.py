"""Settings from BUCKETSYNC_* variables, CLI overrides on top, one-line errors, secrets kept out of sight."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from bucketsync.core.errors import SettingsError
from bucketsync.core.settings import MiB, SideSettings, load_settings, unknown_variables

SECRET = "s3cr3t-value-never-shown-4d2a"
TOKEN = "t0k3n-value-never-shown-9b1e"


def test_defaults_with_a_clean_environment():
    settings = load_settings()
    assert settings.source == SideSettings()
    assert settings.dest == SideSettings()
    assert (settings.concurrency, settings.page_size, settings.broker_url) == (64, 1000, None)
    assert settings.lock_check is True
    assert settings.task_time_limit < settings.visibility_timeout


# id, environment, attribute path, expected value
FROM_ENV = [
    ("source endpoint", {"BUCKETSYNC_SOURCE__ENDPOINT_URL": "http://127.0.0.1:9000"}, "source.endpoint_url",
     "http://127.0.0.1:9000"),
    ("endpoint trailing slash dropped", {"BUCKETSYNC_DEST__ENDPOINT_URL": "https://s3.example.com/"},
     "dest.endpoint_url", "https://s3.example.com"),
    ("empty endpoint means none", {"BUCKETSYNC_SOURCE__ENDPOINT_URL": ""}, "source.endpoint_url", None),
    ("dest region", {"BUCKETSYNC_DEST__REGION": "eu-west-1"}, "dest.region", "eu-west-1"),
    ("source profile", {"BUCKETSYNC_SOURCE__PROFILE": "prod"}, "source.profile", "prod"),
    ("addressing style", {"BUCKETSYNC_DEST__ADDRESSING_STYLE": "path"}, "dest.addressing_style", "path"),
    ("access key pair", {"BUCKETSYNC_SOURCE__ACCESS_KEY_ID": "AK", "BUCKETSYNC_SOURCE__SECRET_ACCESS_KEY": SECRET},
     "source.access_key_id", "AK"),
    ("concurrency", {"BUCKETSYNC_CONCURRENCY": "4"}, "concurrency", 4),
    ("lock check off", {"BUCKETSYNC_LOCK_CHECK": "false"}, "lock_check", False),
    ("page size", {"BUCKETSYNC_PAGE_SIZE": "250"}, "page_size", 250),
    ("multipart threshold", {"BUCKETSYNC_MULTIPART_THRESHOLD": str(8 * MiB)}, "multipart_threshold", 8 * MiB),
    ("retry mode", {"BUCKETSYNC_RETRY_MODE": "adaptive"}, "retry_mode", "adaptive"),
    ("broker redis", {"BUCKETSYNC_BROKER_URL": "redis://localhost:6379/0"}, "broker_url", "redis://localhost:6379/0"),
    ("broker rediss", {"BUCKETSYNC_BROKER_URL": "rediss://:pw@host:6380/1"}, "broker_url", "rediss://:pw@host:6380/1"),
    ("empty broker means none", {"BUCKETSYNC_BROKER_URL": ""}, "broker_url", None),
    ("lower-case variable names work too", {"bucketsync_source__region": "us-west-2"}, "source.region", "us-west-2"),
    ("time limits", {"BUCKETSYNC_VISIBILITY_TIMEOUT": "7200", "BUCKETSYNC_TASK_TIME_LIMIT": "7000"},
     "task_time_limit", 7000),
]


def attribute(settings, path: str):
    value = settings
    for name in path.split("."):
        value = getattr(value, name)
    return value


@pytest.mark.parametrize("env, path, expected", [c[1:] for c in FROM_ENV], ids=[c[0] for c in FROM_ENV])
def test_load_settings_from_environment(monkeypatch, env, path, expected):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert attribute(load_settings(), path) == expected


def test_secret_from_environment_is_a_secret(monkeypatch):
    monkeypatch.setenv("BUCKETSYNC_DEST__ACCESS_KEY_ID", "AK")
    monkeypatch.setenv("BUCKETSYNC_DEST__SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("BUCKETSYNC_DEST__SESSION_TOKEN", TOKEN)
    settings = load_settings()
    assert isinstance(settings.dest.secret_access_key, SecretStr)
    assert settings.dest.secret_access_key.get_secret_value() == SECRET
    assert settings.dest.session_token.get_secret_value() == TOKEN
    assert settings.source.secret_access_key is None


# id, environment, overrides (as the CLI passes them), attribute path, expected value
OVERRIDES = [
    ("CLI endpoint wins over env", {"BUCKETSYNC_SOURCE__ENDPOINT_URL": "http://env:1"},
     {"source": {"endpoint_url": "http://cli:2", "profile": None}}, "source.endpoint_url", "http://cli:2"),
    ("None override keeps env", {"BUCKETSYNC_SOURCE__ENDPOINT_URL": "http://env:1"},
     {"source": {"endpoint_url": None, "profile": None}}, "source.endpoint_url", "http://env:1"),
    ("override of one field keeps the side's other env fields", {"BUCKETSYNC_SOURCE__REGION": "eu-west-1"},
     {"source": {"endpoint_url": "http://cli:2", "profile": None}}, "source.region", "eu-west-1"),
    ("override of one side leaves the other", {"BUCKETSYNC_DEST__ENDPOINT_URL": "http://env:1"},
     {"source": {"endpoint_url": "http://cli:2"}}, "dest.endpoint_url", "http://env:1"),
    ("CLI concurrency wins over env", {"BUCKETSYNC_CONCURRENCY": "4"}, {"concurrency": 32}, "concurrency", 32),
    ("None concurrency keeps env", {"BUCKETSYNC_CONCURRENCY": "4"}, {"concurrency": None}, "concurrency", 4),
    ("override without env", {}, {"dest": {"profile": "backup"}}, "dest.profile", "backup"),
    ("env secret survives an override of the same side",
     {"BUCKETSYNC_SOURCE__ACCESS_KEY_ID": "AK", "BUCKETSYNC_SOURCE__SECRET_ACCESS_KEY": SECRET},
     {"source": {"endpoint_url": "http://cli:2"}}, "source.secret_access_key", SecretStr(SECRET)),
    ("CLI visibility timeout makes the env time limit valid",
     {"BUCKETSYNC_TASK_TIME_LIMIT": "5000"}, {"visibility_timeout": 7200}, "task_time_limit", 5000),
    ("CLI concurrency replaces an invalid env value",
     {"BUCKETSYNC_CONCURRENCY": "-1"}, {"concurrency": 8}, "concurrency", 8),
]


@pytest.mark.parametrize("env, overrides, path, expected", [c[1:] for c in OVERRIDES], ids=[c[0] for c in OVERRIDES])
def test_overrides_win_over_environment(monkeypatch, env, overrides, path, expected):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert attribute(load_settings(**overrides), path) == expected


# id, environment, overrides, words the one-line message must contain
INVALID = [
    ("endpoint without scheme", {"BUCKETSYNC_SOURCE__ENDPOINT_URL": "localhost:9000"}, {}, "source.endpoint_url"),
    ("endpoint with ftp scheme", {"BUCKETSYNC_DEST__ENDPOINT_URL": "ftp://host"}, {}, "dest.endpoint_url"),
    ("endpoint without host", {"BUCKETSYNC_DEST__ENDPOINT_URL": "http://"}, {}, "dest.endpoint_url"),
    ("endpoint with bad port", {"BUCKETSYNC_SOURCE__ENDPOINT_URL": "http://host:99999"}, {}, "invalid port"),
    ("bad endpoint from the CLI", {}, {"source": {"endpoint_url": "not a url"}}, "source.endpoint_url"),
    ("broker not redis", {"BUCKETSYNC_BROKER_URL": "amqp://guest@localhost//"}, {}, "broker_url"),
    ("broker without scheme", {}, {"broker_url": "localhost:6379"}, "broker_url"),
    ("negative concurrency (env)", {"BUCKETSYNC_CONCURRENCY": "-1"}, {}, "concurrency"),
    ("zero concurrency (CLI)", {}, {"concurrency": 0}, "concurrency"),
    ("negative concurrency (CLI)", {}, {"concurrency": -5}, "concurrency"),
    ("concurrency not a number", {"BUCKETSYNC_CONCURRENCY": "many"}, {}, "concurrency"),
    ("page size above 1000", {"BUCKETSYNC_PAGE_SIZE": "1001"}, {}, "page_size"),
    ("multipart threshold below 5 MiB", {"BUCKETSYNC_MULTIPART_THRESHOLD": str(5 * MiB - 1)}, {}, "multipart_threshold"),
    ("unknown retry mode", {"BUCKETSYNC_RETRY_MODE": "forever"}, {}, "retry_mode"),
    ("access key without secret", {"BUCKETSYNC_SOURCE__ACCESS_KEY_ID": "AK"}, {}, "secret_access_key"),
    ("secret without access key", {"BUCKETSYNC_DEST__SECRET_ACCESS_KEY": SECRET}, {}, "access_key_id"),
    ("unknown side key", {"BUCKETSYNC_SOURCE__ENDPOINT": "http://x"}, {}, "source.endpoint"),
    ("unknown top-level override", {}, {"concurency": 3}, "concurency"),
    ("time limit equal to visibility timeout",
     {"BUCKETSYNC_TASK_TIME_LIMIT": "3600", "BUCKETSYNC_VISIBILITY_TIMEOUT": "3600"}, {}, "task_time_limit"),
    ("time limit above visibility timeout", {}, {"task_time_limit": 4000}, "visibility_timeout"),
    ("CLI visibility timeout below the env time limit",
     {"BUCKETSYNC_TASK_TIME_LIMIT": "600"}, {"visibility_timeout": 300}, "task_time_limit"),
]


@pytest.mark.parametrize("env, overrides, words", [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_settings_raise_one_line(monkeypatch, env, overrides, words):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        load_settings(**overrides)
    message = str(raised.value)
    assert message.startswith("invalid settings: ")
    assert "\n" not in message
    assert words in message
    assert SECRET not in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


@pytest.mark.parametrize(
    "env, overrides",
    [
        ({"BUCKETSYNC_SOURCE__ACCESS_KEY_ID": "AK", "BUCKETSYNC_SOURCE__SECRET_ACCESS_KEY": SECRET,
          "BUCKETSYNC_SOURCE__SESSION_TOKEN": TOKEN}, {}),
        ({}, {"dest": {"access_key_id": "AK", "secret_access_key": SECRET, "session_token": TOKEN}}),
        ({"BUCKETSYNC_DEST__ACCESS_KEY_ID": "AK", "BUCKETSYNC_DEST__SECRET_ACCESS_KEY": SECRET,
          "BUCKETSYNC_DEST__SESSION_TOKEN": TOKEN}, {"dest": {"region": "eu-west-1"}}),
    ],
    ids=["from env", "from overrides", "env plus override"],
)
def test_secrets_never_in_repr_or_str(monkeypatch, env, overrides):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(**overrides)
    side = settings.source if env.get("BUCKETSYNC_SOURCE__ACCESS_KEY_ID") else settings.dest
    assert side.secret_access_key.get_secret_value() == SECRET  # it is there...
    assert side.session_token.get_secret_value() == TOKEN
    for text in (repr(settings), str(settings), repr(side), str(side), repr(side.secret_access_key),
                 str(side.session_token), settings.model_dump_json(), str(settings.model_dump())):
        assert SECRET not in text  # ...but never shown
        assert TOKEN not in text


@pytest.mark.parametrize(
    "a, b, same",
    [
        ({}, {}, True),
        ({"endpoint_url": "http://h:1"}, {"endpoint_url": "http://h:1/"}, True),
        ({"endpoint_url": "http://h:1"}, {"endpoint_url": "http://h:2"}, False),
        ({"region": ""}, {}, True),
        ({"region": "eu-west-1"}, {}, False),
        ({"profile": "a"}, {"profile": "b"}, False),
        ({"access_key_id": "AK", "secret_access_key": "x"}, {"access_key_id": "AK", "secret_access_key": "x"}, True),
        ({"access_key_id": "AK", "secret_access_key": "x"}, {"access_key_id": "AK", "secret_access_key": "y"}, False),
        ({"access_key_id": "AK", "secret_access_key": "x", "session_token": "t"},
         {"access_key_id": "AK", "secret_access_key": "x"}, False),
    ],
)
def test_same_account_as(a, b, same):
    left, right = SideSettings(**a), SideSettings(**b)
    assert left.same_account_as(right) is same
    assert right.same_account_as(left) is same


def test_variables_read_outside_settings_stay_allowed():
    environ = {
        "BUCKETSYNC_SCHEDULES": "[]", "BUCKETSYNC_SCHEDULES_FILE": "/etc/bucketsync/schedules.yaml",
        "BUCKETSYNC_CONCURRENCY": "4", "bucketsync_page_size": "10", "BUCKETSYNC_SOURCE__ENDPOINT_URL": "http://h",
        "BUCKETSYNC_DEST__REGION": "eu-west-1", "BUCKETSYNC_SOURCE": '{"region": "x"}', "OTHER": "1",
    }
    assert unknown_variables(environ) == []
    assert unknown_variables({**environ, "BUCKETSYNC_CONCURENCY": "4", "BUCKETSYNC_PAGE_SIZE__X": "1"}) == [
        "BUCKETSYNC_CONCURENCY", "BUCKETSYNC_PAGE_SIZE__X"]


def test_example_environment_file_has_no_unknown_variable():
    example = Path(__file__).resolve().parents[2] / "bucketsync.env.example"
    names = {line.split("=", 1)[0].strip().removeprefix("export ").strip("# ")
             for line in example.read_text().splitlines() if "=" in line}
    assert unknown_variables({name: "" for name in names if name.startswith("BUCKETSYNC_")}) == []


def test_a_run_carries_where_and_what_it_lists_and_writes_never_a_secret():
    import base64
    import json

    from bucketsync.core.settings import Settings, carried_settings, with_carried

    key = base64.b64encode(b"k" * 32).decode()
    submitter = Settings(
        source={"endpoint_url": "http://src:9000", "access_key_id": "AKIASUBMIT", "secret_access_key": "sub-secret",
                "session_token": "sub-token", "sse_c_key": key, "addressing_style": "path"},
        dest={"endpoint_url": "http://dst:9000", "profile": "submitter-profile", "region": "eu-west-1"},
        page_size=4, batch_size=3, concurrency=99, broker_url="redis://:redis-pass@r:6379/0",
    )
    carried = carried_settings(submitter, ("us-east-1", "ignored"))
    wire = json.dumps(carried)
    for secret in ("AKIASUBMIT", "sub-secret", "sub-token", key, "submitter-profile", "redis-pass"):
        assert secret not in wire
    worker = Settings(source={"endpoint_url": "http://elsewhere", "access_key_id": "AKIAWORKER",
                              "secret_access_key": "worker-secret"}, concurrency=2, page_size=1000)
    used = with_carried(worker, json.loads(wire))
    assert (used.source.endpoint_url, used.dest.endpoint_url, used.page_size, used.batch_size) == (
        "http://src:9000", "http://dst:9000", 4, 3)
    assert (used.source.region, used.dest.region, used.source.addressing_style) == ("us-east-1", "eu-west-1", "path")
    assert used.source.access_key_id == "AKIAWORKER" and used.concurrency == 2  # the worker's own
    assert with_carried(worker, {}) is worker  # a run recorded by an older submitter
