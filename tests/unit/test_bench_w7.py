"""The benchmark's W7 (large objects) definitions, without running anything: how many objects a scale
gives, which tools take part in which phase, how a job across two servers is started, and the targets."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.append(str(BENCH))  # the bench's modules import each other by bare name

from common import Endpoint  # noqa: E402
from tables import targets  # noqa: E402
from tools import Job, make_tools  # noqa: E402
from install import Found  # noqa: E402
from workloads import ALL_WORKLOADS, DEFAULT_WORKLOADS, W7_ONE_ENDPOINT, W7_STREAMED, WORKLOAD_TOOLS, scaled  # noqa: E402

SOURCE = Endpoint("http://127.0.0.1:9001", "key-a", "secret-a")
DEST = Endpoint("http://127.0.0.1:9002", "key-b", "secret-b")


def test_w7_is_off_by_default_and_scales_to_one_object() -> None:
    assert "W7" in ALL_WORKLOADS and "W7" not in DEFAULT_WORKLOADS
    assert scaled(4, 1.0, 1) == 4
    assert scaled(4, 0.25, 1) == 1
    assert scaled(4, 0.01, 1) == 1


def test_every_w7_tool_either_streams_or_says_why_not() -> None:
    assert set(WORKLOAD_TOOLS["W7"]) == set(W7_STREAMED) | set(W7_ONE_ENDPOINT)


@pytest.fixture
def tools(tmp_path):
    found = {name: Found(name, f"/usr/bin/{name}", "1", None) for name in ("aws", "s5cmd", "rclone")}
    return make_tools(found, ceiling_threads=4)


def streamed_job(tmp_path: Path) -> Job:
    return Job(SOURCE, "src", "dst", False, tmp_path, "w7", dest_endpoint=DEST)


def test_bucketsync_gets_each_side_its_endpoint_and_credentials(tools, tmp_path) -> None:
    command = tools["bucketsync"].command(streamed_job(tmp_path))
    argv = command.argv
    assert argv[argv.index("--source-endpoint-url") + 1] == SOURCE.url
    assert argv[argv.index("--dest-endpoint-url") + 1] == DEST.url
    assert command.env["BUCKETSYNC_SOURCE__ACCESS_KEY_ID"] == "key-a"
    assert command.env["BUCKETSYNC_DEST__ACCESS_KEY_ID"] == "key-b"


def test_rclone_copies_into_a_second_remote(tools, tmp_path) -> None:
    command = tools["rclone"].command(streamed_job(tmp_path))
    assert command.argv[1:4] == ["sync", "bench:src", "benchdst:dst"]
    assert command.env["RCLONE_CONFIG_BENCH_ENDPOINT"] == SOURCE.url
    assert command.env["RCLONE_CONFIG_BENCHDST_ENDPOINT"] == DEST.url
    same_server = tools["rclone"].command(Job(SOURCE, "src", "dst", False, tmp_path, "w7"))
    assert same_server.argv[1:4] == ["sync", "bench:src", "bench:dst"]


@pytest.mark.parametrize("name", ["aws", "s5cmd", "ceiling"])
def test_one_endpoint_tools_refuse_a_job_across_two_servers(tools, tmp_path, name) -> None:
    with pytest.raises(ValueError, match="one endpoint"):
        tools[name].command(streamed_job(tmp_path))


def row(phase: str, tool: str, wall: float, correct: bool = True) -> dict:
    return {"workload": "W7", "phase": f"{phase} 4 x 1 GiB", "tool": tool, "wall_median_s": wall, "runs": 1,
            "correct_runs": int(correct)}


def test_w7_targets() -> None:
    summaries = [
        row("server-side", "bucketsync", 10.0), row("server-side", "s5cmd", 12.0), row("server-side", "rclone", 9.0, correct=False),
        row("server-side", "aws", 20.0),
        row("streamed", "bucketsync", 30.0), row("streamed", "rclone", 24.0),
    ]
    checked = {item["target"]: item for item in targets(summaries)}
    server_side = checked["W7 server-side: at least as fast as the best of s5cmd / rclone / aws"]
    assert server_side["met"] and "s5cmd 12.00 s" in server_side["measured"]  # an incorrect peer is no yardstick
    streamed = checked["W7 streamed: within 1.2× of rclone"]
    assert not streamed["met"] and "1.25×" in streamed["measured"]

