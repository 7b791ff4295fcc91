"""A loopback TCP proxy that delays each direction by a fixed time, as a far endpoint does (no netem here).

Every chunk read from one side is queued with the time it may be delivered (arrival + delay) and written
to the other side by that direction's own task once the time has come. Reading never waits for writing,
so throughput stays what the loopback gives: only latency is added, to every packet, both ways.

    python bench/delay_proxy.py --listen-port 9100 --upstream-port 9000 --delay-ms 50
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

CHUNK = 256 * 1024


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    delivering = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(CHUNK)
            queue.put_nowait((loop.time() + delay, data))
            if not data:
                break
        await delivering
    except (ConnectionError, asyncio.CancelledError):
        delivering.cancel()
    finally:
        writer.close()


async def _serve(listen_port: int, upstream_port: int, delay: float) -> None:
    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
        except OSError:
            client_writer.close()
            return
        for writer in (client_writer, upstream_writer):
            writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.gather(_pump(client_reader, upstream_writer, delay), _pump(upstream_reader, client_writer, delay),
                             return_exceptions=True)

    server = await asyncio.start_server(handle, "127.0.0.1", listen_port, backlog=1024)
    async with server:
        await server.serve_forever()


class DelayProxy:
    """The proxy as a subprocess of the bench (its CPU is not the tool's); always stopped by stop()."""

    def __init__(self, upstream_port: int, delay_ms: float) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.upstream_port = upstream_port
        self.delay_ms = delay_ms
        self.process: subprocess.Popen | None = None

    def start(self) -> "DelayProxy":
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), f"--listen-port={self.port}",
             f"--upstream-port={self.upstream_port}", f"--delay-ms={self.delay_ms}"],
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("the delay proxy did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen-port", type=int, required=True)
    parser.add_argument("--upstream-port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, required=True, help="one-way delay, each direction")
    args = parser.parse_args()
    try:
        import uvloop  # type: ignore[import-not-found]

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_serve(args.listen_port, args.upstream_port, args.delay_ms / 1000))


if __name__ == "__main__":
    main()
