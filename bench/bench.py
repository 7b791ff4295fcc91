"""bucketsync benchmark: bucketsync against aws s3 sync, s5cmd, rclone and a raw boto3 ceiling.

Started by bench/run. Each workload gets a fresh moto server of its own (or uses --endpoint-url), every
tool runs into fresh destinations, interleaved, --repeats times, and every destination is verified.
Prints one Markdown table per workload phase and writes every run to --out as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
import traceback
import uuid
from datetime import datetime, timezone
from pathlib import Path

from common import BENCH_DIR, ROOT, Endpoint
from install import ensure_tools
from server import MotoServer, RgwServer, S3Server, delayed
from tables import render, render_targets, summarise, targets
from tools import make_tools
from workloads import ALL_WORKLOADS, DEFAULT_WORKLOADS, RUNNERS, Session


def parse_scale(text: str) -> dict[str, float]:
    """'0.1' or '0.2,W4=0.05': a default and per-workload overrides."""
    scales: dict[str, float] = {"*": 1.0}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        if sep:
            scales[name.strip().upper()] = float(value)
        else:
            scales["*"] = float(name)
    for value in scales.values():
        if value <= 0:
            raise argparse.ArgumentTypeError("scales must be positive")
    return scales


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default=",".join(DEFAULT_WORKLOADS),
                        help=f"comma-separated, of {','.join(ALL_WORKLOADS)} (default {','.join(DEFAULT_WORKLOADS)}; W5 is slow)")
    parser.add_argument("--scale", type=parse_scale, default=parse_scale("1"),
                        help="multiply object counts, e.g. 0.1, or per workload: 0.2,W4=0.05 (sizes stay)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of every tool per workload (default 3)")
    parser.add_argument("--loop-repeats", type=int, default=1,
                        help="rounds in which W4's aws+loop peer runs (default 1: it takes ~0.5 s per object and call)")
    parser.add_argument("--w5-repeats", type=int, default=1, help="rounds per W5 size (default 1)")
    parser.add_argument("--tools", default="", help="comma-separated subset: bucketsync,bucketsync-dist-1w,bucketsync-dist-2w,aws,s5cmd,rclone,ceiling")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results" / "latest.json")
    parser.add_argument("--server", choices=("moto", "rgw"), default="moto",
                        help="the S3 server the bench starts: moto (one per workload, the default) or rgw (one "
                             "single-node Ceph RGW from Debian's packages for the whole bench)")
    parser.add_argument("--endpoint-url", help="use this S3 server instead of starting one")
    parser.add_argument("--access-key-id", default=os.environ.get("AWS_ACCESS_KEY_ID"))
    parser.add_argument("--secret-access-key", default=os.environ.get("AWS_SECRET_ACCESS_KEY"))
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    parser.add_argument("--no-install", action="store_true", help="do not pip-install missing tools")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds before one tool run is killed")
    parser.add_argument("--bucketsync-rev", metavar="REV",
                        help="measure bucketsync as committed at REV (e.g. HEAD), exported from git, instead of the "
                             "working tree installed in .venv (which other people may be editing)")
    parser.add_argument("--render", type=Path, metavar="JSON",
                        help="run nothing: print the tables of an earlier results file")
    parser.add_argument("--delay-ms", type=float, default=0.0,
                        help="one-way delay (ms, each direction) a loopback proxy adds in front of the S3 server")
    parser.add_argument("--seed-threads", type=int, default=16)
    parser.add_argument("--w6-layouts", default="flat,p100,deep", help="W6's key layouts, of flat,p100,deep")
    parser.add_argument("--ceiling-threads", type=int, default=16)
    args = parser.parse_args(argv)
    args.workloads = [w.strip().upper() for w in args.workloads.split(",") if w.strip()]
    unknown = set(args.workloads) - set(ALL_WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    args.tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    args.out = args.out.resolve()  # tools run with their own working directory
    if args.endpoint_url and args.server != "moto":
        parser.error("--endpoint-url and --server rgw exclude each other")
    if args.endpoint_url and not (args.access_key_id and args.secret_access_key):
        parser.error("--endpoint-url needs --access-key-id and --secret-access-key (or AWS_* variables)")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.render:
        print_report(json.loads(args.render.read_text()), args.render)
        return 0
    started = datetime.now(timezone.utc)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    workdir = args.out.parent / f"work-{stamp}"
    workdir.mkdir(parents=True, exist_ok=True)

    found = ensure_tools(install=not args.no_install)
    tools = make_tools(found, args.ceiling_threads, export_bucketsync(args.bucketsync_rev, workdir) if args.bucketsync_rev else None)
    print(f"bench: {stamp}, {os.cpu_count()} cores, workloads {','.join(args.workloads)}, "
          f"scale {args.scale}, repeats {args.repeats}", file=sys.stderr)
    for tool in tools.values():
        status = f"{tool.path} ({tool.version})" if not tool.reason else f"SKIPPED: {tool.reason}"
        print(f"bench:   {tool.name:<20} {status}", file=sys.stderr)

    result = {
        "meta": {
            "command": "bench/run " + shlex.join(argv),
            "started_at": started.isoformat(timespec="seconds"),
            "host": {"cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                     "note": "shared, noisy machine: the S3 server, the tool and the verifier share its cores"},
            "server": ("external " + args.endpoint_url if args.endpoint_url else
                       ceph_version() if args.server == "rgw" else f"moto {found['moto'].version} (one server per workload)"),
            "bucketsync_source": bucketsync_source() if not args.bucketsync_rev else {"revision": tools["bucketsync"].version},
            "scale": args.scale,
            "delay_ms": args.delay_ms,
            "repeats": args.repeats,
            "loop_repeats": args.loop_repeats,
        },
        "tools": {name: tool.describe() for name, tool in tools.items()},
        "skipped": [],
        "errors": [],
        "runs": [],
    }
    tag = uuid.uuid4().hex[:6]
    rgw = RgwServer() if args.server == "rgw" else None
    try:
        if rgw is not None:
            rgw.start()
        run_workloads(args, result, tools, workdir, tag, rgw)
    finally:
        if rgw is not None:
            rgw.stop()

    summaries = summarise(result["runs"])
    checked = targets(summaries)
    result["summary"] = summaries
    result["targets"] = checked
    result["meta"]["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    write_results(args.out, result)

    print_report(result, args.out)
    return 1 if result["errors"] else 0


def ceph_version() -> str:
    done = subprocess.run(["radosgw", "--version"], capture_output=True, text=True)
    return "Ceph RGW " + (done.stdout.split()[2] if done.returncode == 0 and len(done.stdout.split()) > 2 else "?") + \
        " (single node, one server for the whole bench)"


def run_workloads(args, result: dict, tools: dict, workdir: Path, tag: str, rgw: RgwServer | None) -> None:
    for workload in args.workloads:
        scale = args.scale.get(workload, args.scale["*"])
        if args.endpoint_url:
            server: S3Server = S3Server(Endpoint(args.endpoint_url, args.access_key_id, args.secret_access_key, args.region))
        elif rgw is not None:
            server = rgw.view()
        else:
            server = MotoServer(workdir)
        server = delayed(server, args.delay_ms)
        session = Session(args, server, tools, workdir / workload.lower(), tag)
        began = time.monotonic()
        try:
            server.start()
            RUNNERS[workload](session, scale)
        except KeyboardInterrupt:
            server.stop()
            raise
        except Exception as exc:  # one broken workload must not cost the others
            traceback.print_exc()
            result["errors"].append({"workload": workload, "error": f"{type(exc).__name__}: {exc}"})
        finally:
            server.stop()
        print(f"bench: {workload} took {time.monotonic() - began:.0f} s", file=sys.stderr)
        result["runs"].extend(session.records)
        result["skipped"].extend(session.skipped)
        result.setdefault("watch", []).extend(getattr(session, "watch_records", []))
        write_results(args.out, result)


def print_report(result: dict, out: Path) -> None:
    summaries = summarise(result["runs"])
    checked = targets(summaries)
    print(f"# bench results {result['meta']['started_at']}\n")
    print(f"command: `{result['meta']['command']}`  ")
    print(f"server: {result['meta']['server']}; {os.cpu_count()} cores (shared machine)  ")
    source = result["meta"]["bucketsync_source"]
    if "revision" in source:
        print(f"bucketsync: {source['revision']} (exported from git)")
    else:
        print(f"bucketsync: working tree at commit {source['commit']}"
              + (f", with uncommitted changes in {len(source['uncommitted'])} files" if source["uncommitted"] else ""))
    print(render(summaries))
    if result.get("watch"):
        from watch_bench import render_w9

        print(render_w9(result["watch"]))
    print(render_targets(checked))
    skipped = {(item["tool"], item["reason"]) for item in result["skipped"]}
    if skipped:
        print("\nnot run:")
        for name, reason in sorted(skipped):
            print(f"- {name}: {reason}")
    for error in result["errors"]:
        print(f"\nERROR in {error['workload']}: {error['error']}")
    print(f"\nall runs: {out}")


def export_bucketsync(revision: str, workdir: Path) -> tuple[str, str]:
    """`git archive REV bucketsync` into workdir; returns (full commit id, directory for PYTHONPATH)."""
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", revision], capture_output=True, text=True, check=True).stdout.strip()
    target = workdir / f"bucketsync-{commit[:10]}"
    target.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "bucketsync"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return commit[:10], str(target)


def bucketsync_source() -> dict:
    """Which bucketsync was measured: the checkout's commit and its uncommitted files (it is installed editable)."""
    def git(*argv: str) -> str:
        done = subprocess.run(["git", "-C", str(ROOT), *argv], capture_output=True, text=True)
        return done.stdout

    return {"commit": git("rev-parse", "--short", "HEAD").strip(),
            "uncommitted": [line[3:] for line in git("status", "--porcelain", "--", "bucketsync").splitlines()]}


def write_results(path: Path, result: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(result, indent=1, default=str) + "\n")
    temporary.replace(path)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
