"""Start one command from a small process and report its resource use: python -S launch.py REPORT CMD…

Linux keeps a process's peak RSS across fork and exec: a tool forked straight from the bench (which
holds boto3 and, in W2, 32 MiB bodies) would report the bench's memory as its own. Forked from this
tiny interpreter (no site, no imports beyond builtins), the floor is a few MiB.
REPORT receives one line: wall seconds, user seconds, system seconds, peak RSS in KiB, exit code.
"""

import os
import sys
import time


def main() -> int:
    report, argv = sys.argv[1], sys.argv[2:]
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        except OSError as exc:
            os.write(2, f"launch: cannot start {argv[0]}: {exc}\n".encode())
        os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    with open(report, "w") as out:
        out.write(f"{wall:.6f} {usage.ru_utime:.6f} {usage.ru_stime:.6f} {usage.ru_maxrss} {code}\n")
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
