"""`--exclude` / `--include` with the semantics of `aws s3 sync`. Pure: no I/O.

- A pattern matches a key relative to the source (or destination) prefix, in full: `*` matches any
  characters including `/`, `?` one character, `[abc]` / `[a-z]` / `[!abc]` a set (fnmatch syntax,
  case-sensitive).
- Every key is included unless a filter excludes it; when several filters match a key, the one given
  last wins.
- The same filters apply to the destination's keys: a destination key they exclude is neither compared
  nor deleted by `--delete`.

Skipping instead of listing: where an `--exclude` pattern is a literal prefix followed by `*` (e.g.
`logs/*`) and no later `--include` could match a key under that prefix, every key under it is excluded,
so the listing can start again after the prefix (`skip_after`) instead of listing and discarding it.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

FilterKind = Literal["exclude", "include"]
WILDCARDS = frozenset("*?[")
# Sorts after every character S3 keys can hold: StartAfter=<prefix>+MAX_CHAR lists after every key under <prefix>.
MAX_CHAR = "\U0010ffff"


@dataclass(frozen=True)
class Filter:
    kind: FilterKind
    pattern: str

    @cached_property
    def _regex(self) -> re.Pattern[str]:
        return re.compile(fnmatch.translate(self.pattern), re.DOTALL)

    def matches(self, key: str) -> bool:
        return self._regex.match(key) is not None

    @property
    def literal_prefix(self) -> str:
        """The pattern up to its first wildcard: every key it matches starts with this."""
        for index, char in enumerate(self.pattern):
            if char in WILDCARDS:
                return self.pattern[:index]
        return self.pattern

    @property
    def covers_prefix(self) -> bool:
        """True for `<literal>*`: the pattern matches every key that starts with its literal prefix."""
        literal = self.literal_prefix
        return self.pattern == literal + "*"


@dataclass(frozen=True)
class Filters:
    rules: tuple[Filter, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.rules)

    def includes(self, key: str) -> bool:
        """Whether `key` (relative to the prefix) takes part in the run: the last matching filter decides."""
        for rule in reversed(self.rules):
            if rule.matches(key):
                return rule.kind == "include"
        return True

    def skip_after(self, key: str) -> str | None:
        """For an excluded `key`: a StartAfter (relative) past every key that shares the excluded prefix, or
        None when keys under it may still be included (or the exclusion is not by prefix)."""
        for index in range(len(self.rules) - 1, -1, -1):
            rule = self.rules[index]
            if not rule.matches(key):
                continue
            if rule.kind == "include" or not rule.covers_prefix:
                return None
            prefix = rule.literal_prefix
            later_includes = (later for later in self.rules[index + 1:] if later.kind == "include")
            if any(_may_overlap(prefix, later.literal_prefix) for later in later_includes):
                return None
            return prefix + MAX_CHAR if prefix else None
        return None

    def to_json(self) -> list[list[str]]:
        return [[rule.kind, rule.pattern] for rule in self.rules]

    @classmethod
    def from_json(cls, data: Iterable[Sequence[str]] | None) -> "Filters":
        return cls(tuple(Filter(_kind(kind), pattern) for kind, pattern in (data or ())))


def _kind(value: Any) -> FilterKind:
    if value not in ("exclude", "include"):
        raise ValueError(f"a filter is 'exclude' or 'include', not {value!r}")
    return value


def _may_overlap(prefix: str, other_literal: str) -> bool:
    """Whether a pattern whose keys start with `other_literal` can match a key that starts with `prefix`."""
    return other_literal.startswith(prefix) or prefix.startswith(other_literal)


def filters_from_argv(argv: Sequence[str]) -> Filters:
    """The --exclude / --include options in the order they were given (Typer keeps each list apart, but
    the last matching filter wins, so their relative order matters)."""
    rules: list[Filter] = []
    tokens = iter(argv)
    for token in tokens:
        if token == "--":
            break
        for kind in ("exclude", "include"):
            option = f"--{kind}"
            if token == option:
                value = next(tokens, None)
                if value is not None:
                    rules.append(Filter(kind, value))
            elif token.startswith(option + "="):
                rules.append(Filter(kind, token[len(option) + 1:]))
    return Filters(tuple(rules))
