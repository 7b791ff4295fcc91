"""Time one 4-part copy, server-side (one moto) and streamed (two motos), in this process.

    .venv/bin/python bench/multipart_parts.py [--part-mib 8] [--repeat 3] [--delay-ms 25]

With `--delay-ms N`, each server sits behind bench/delay_proxy.py (N ms each way), as a far endpoint.

The code timed is whichever `bucketsync` this interpreter imports (PYTHONPATH=<a checkout> times another).
Each copy is `execute` of one planned copy action, as a worker runs it; the minimum and median are printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # conftest.py imports its neighbours
sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import start_moto, stop  # noqa: E402
from delay_proxy import DelayProxy  # noqa: E402

import bucketsync  # noqa: E402
from bucketsync.run.context import prepare_run  # noqa: E402
from bucketsync.engine.execute import execute  # noqa: E402
from bucketsync.core.model import ObjectEntry  # noqa: E402
from bucketsync.core.plan import PlannedAction  # noqa: E402
from bucketsync.core.settings import MiB, load_settings  # noqa: E402


def side_env(side: str, server) -> None:
    prefix = f"BUCKETSYNC_{side}__"
    os.environ[prefix + "ENDPOINT_URL"] = server.url
    os.environ[prefix + "ACCESS_KEY_ID"] = server.access_key
    os.environ[prefix + "SECRET_ACCESS_KEY"] = server.secret_key
    os.environ[prefix + "REGION"] = server.region


def time_copies(source_server, dest_server, part: int, repeat: int) -> list[float]:
    src, dst = source_server.client(), dest_server.client()
    stamp = time.time_ns()
    source, dest = f"parts-src-{stamp}", f"parts-dst-{stamp}"
    src.create_bucket(Bucket=source)
    dst.create_bucket(Bucket=dest)
    src.put_object(Bucket=source, Key="big.bin", Body=os.urandom(4 * part))
    head = src.head_object(Bucket=source, Key="big.bin")
    side_env("SOURCE", source_server)
    side_env("DEST", dest_server)
    settings = load_settings(multipart_threshold=part, multipart_chunksize=part)
    _, ctx = prepare_run(settings, f"s3://{source}", f"s3://{dest}")
    entry = ObjectEntry("big.bin", head["ContentLength"], head["ETag"].strip('"'))
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        outcome = execute(ctx, PlannedAction("copy", "big.bin", source=entry))
        seconds.append(time.perf_counter() - started)
        assert outcome.status == "copied", outcome
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--part-mib", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--delay-ms", type=float, default=0)
    args = parser.parse_args()
    one, two = start_moto(), start_moto()
    proxies = []
    try:
        if args.delay_ms:
            proxies = [DelayProxy(server.port, args.delay_ms).start() for server in (one, two)]
            one, two = (dataclasses.replace(server, url=f"http://127.0.0.1:{proxy.port}")
                        for server, proxy in zip((one, two), proxies))
        print(f"delay {args.delay_ms:g} ms each way")
        print(f"bucketsync from {Path(bucketsync.__file__).parent}")
        for name, servers in (("server-side", (one, one)), ("streamed", (one, two))):
            seconds = time_copies(*servers, args.part_mib * MiB, args.repeat)
            print(f"{name}: 4 x {args.part_mib} MiB, min {min(seconds):.2f} s, median {statistics.median(seconds):.2f} s"
                  f" ({', '.join(f'{s:.2f}' for s in seconds)})")
    finally:
        for proxy in proxies:
            proxy.stop()
        stop(one.process)
        stop(two.process)


if __name__ == "__main__":
    main()
