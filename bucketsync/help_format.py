"""How `bucketsync … --help` reads: as aws-cli's and rclone's do, not as Typer's defaults.

Typer shows a type placeholder beside every parameter (`--delete <bool>`, `--concurrency <int>`, `--port <int
range> [1<=x<=65535]`) and writes required arguments as `{SRC}`. Here a flag shows nothing after its name (it takes
no value: `--delete`, never `--delete true`), an option that takes a value shows what the value is (`URL`, `PATH`,
`N`: the declaration's metavar), ranges are said in the help text, and arguments read `SRC DST`.
The group's `get_command` hands every command out with its parameters set so, whichever module declared it.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperGroup, TyperOption


def _value_name(option: TyperOption) -> str:
    """The metavar of an option declared without one: its type's kind, never a Python type name."""
    kind = getattr(getattr(option, "type_descriptor", None), "annotation", None)
    if kind in (int, float):
        return "N"
    if getattr(kind, "__name__", "") in ("Path", "PurePath"):
        return "PATH"
    return "VALUE"


def plain(param: Any) -> None:
    """Set one parameter to show as described above (idempotent)."""
    if isinstance(param, TyperArgument):
        name = param.metavar or (param.name or "").upper()
        shown = name + ("..." if param.nargs != 1 else "")
        param._usage_display_name = lambda: shown if param.required else f"[{shown}]"
        param.display_type_rich = lambda ctx: None
    elif isinstance(param, TyperOption):
        if param.is_flag or param.count:
            param.display_type_rich = lambda ctx: None
        elif param.metavar is None:
            param.metavar = _value_name(param)
        param._get_number_range_help_str = lambda: None


class PlainHelpGroup(TyperGroup):
    """The `bucketsync` group: its own options and every command's shown plainly (see the module docstring)."""

    def get_params(self, ctx):
        params = super().get_params(ctx)
        for param in params:
            plain(param)
        return params

    def get_command(self, ctx, cmd_name: str):
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            for param in command.get_params(ctx):  # the help option included
                plain(param)
        return command
