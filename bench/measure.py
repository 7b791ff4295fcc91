"""Running one tool as a child process and measuring it: wall time, CPU seconds and peak RSS.

CPU and memory come from os.wait4 on the tool's process: the kernel's own accounting of that process
and of every descendant it waited for (the aws-cli processes of a shell loop count towards the loop).
The wait4 is done by bench/launch.py, a tiny interpreter that forks the tool, because Linux carries
the forking process's peak RSS into the child's figure (see launch.py); its floor is about 7 MiB.
"""

from __future__ import annotations

import os
import sys
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

LAUNCHER = Path(__file__).resolve().parent / "launch.py"


@dataclass
class Measurement:
    wall_seconds: float
    user_seconds: float
    system_seconds: float
    peak_rss_mib: float
    exit_code: int
    timed_out: bool
    stdout_path: str
    stderr_path: str

    @property
    def cpu_seconds(self) -> float:
        return self.user_seconds + self.system_seconds

    def stdout(self) -> str:
        return Path(self.stdout_path).read_text(errors="replace")

    def stderr_tail(self, lines: int = 8) -> str:
        text = Path(self.stderr_path).read_text(errors="replace").strip().splitlines()
        return "\n".join(text[-lines:])


def run_measured(argv: list[str], env: dict[str, str], workdir: Path, name: str, timeout: float) -> Measurement:
    """Run argv to completion (killed after `timeout` seconds); output goes to files in workdir."""
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    stdout_path = workdir / f"{name}.stdout"
    stderr_path = workdir / f"{name}.stderr"
    report_path = (workdir / f"{name}.usage").resolve()  # the launcher runs in workdir
    report_path.unlink(missing_ok=True)
    timed_out = threading.Event()
    launcher = [sys.executable, "-S", "-E", str(LAUNCHER), str(report_path)]
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        start = time.perf_counter()
        process = subprocess.Popen(
            launcher + argv, env=env, cwd=workdir, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True
        )

        def kill() -> None:
            timed_out.set()
            try:
                os.killpg(process.pid, signal.SIGKILL)  # its own session: the tool and its children only
            except ProcessLookupError:
                pass

        watchdog = threading.Timer(timeout, kill)
        watchdog.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            watchdog.cancel()
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)  # so Popen never waits for it again
    user, system, rss_kib, code = usage.ru_utime, usage.ru_stime, usage.ru_maxrss, process.returncode
    try:  # the tool's own figures, from the launcher; else (killed) the launcher's, which include them
        fields = report_path.read_text().split()
        wall, user, system, rss_kib, code = float(fields[0]), float(fields[1]), float(fields[2]), int(fields[3]), int(fields[4])
    except (OSError, ValueError, IndexError):
        pass
    return Measurement(
        wall_seconds=wall,
        user_seconds=user,
        system_seconds=system,
        peak_rss_mib=rss_kib / 1024,  # Linux reports KiB
        exit_code=code,
        timed_out=timed_out.is_set(),
        stdout_path=str(stdout_path),
        stderr_path=str(stderr_path),
    )
