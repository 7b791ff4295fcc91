"""Is the destination right? Keys, sizes, content (ETag, else the bytes' MD5) and, for W4, lock state."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from common import run_pool
from data import LockTuple, list_all, read_locks

EXAMPLES = 5


@dataclass
class Verdict:
    checked: int = 0
    missing: int = 0
    extra: int = 0
    size_mismatch: int = 0
    content_mismatch: int = 0
    lock_mismatch: int = 0
    note: str = ""
    examples: list[str] = field(default_factory=list)

    @property
    def correct(self) -> bool:
        return not (self.missing or self.extra or self.size_mismatch or self.content_mismatch or self.lock_mismatch)

    def problem(self, text: str) -> None:
        if len(self.examples) < EXAMPLES:
            self.examples.append(text)

    def to_json(self) -> dict:
        return {**self.__dict__, "correct": self.correct}


def _md5_of_object(client, bucket: str, key: str) -> str:
    digest = hashlib.md5()
    body = client.get_object(Bucket=bucket, Key=key)["Body"]
    for chunk in iter(lambda: body.read(1024 * 1024), b""):
        digest.update(chunk)
    return digest.hexdigest()


def verify_copy(client, source_bucket: str, source: dict[str, tuple[int, str]], dest_bucket: str, threads: int = 16,
                source_md5: dict[str, str] | None = None) -> Verdict:
    """Every source key at the destination with the same size and bytes, and nothing else there.

    Equal ETags mean equal bytes; a different ETag (another part layout, e.g. aws-cli's 8 MiB multipart
    copies) is settled by the MD5 of the destination's bytes against the source's single-part ETag, or
    the source's MD5 from `source_md5` (known since seeding), or the MD5 of the source's bytes. `client`
    reads the destination (and, without `source_md5`, the source).
    """
    dest = list_all(client, dest_bucket)
    verdict = Verdict(checked=len(source))
    to_read: list[str] = []
    for key, (size, etag) in source.items():
        if key not in dest:
            verdict.missing += 1
            verdict.problem(f"missing {key}")
        elif dest[key][0] != size:
            verdict.size_mismatch += 1
            verdict.problem(f"size {key}: {dest[key][0]} != {size}")
        elif dest[key][1] != etag:
            to_read.append(key)
    for key in dest.keys() - source.keys():
        verdict.extra += 1
        verdict.problem(f"extra {key}")

    def compare(key: str) -> None:
        source_etag = source[key][1]
        if "-" not in source_etag:
            expected = source_etag
        elif source_md5 and key in source_md5:
            expected = source_md5[key]
        else:
            expected = _md5_of_object(client, source_bucket, key)
        if _md5_of_object(client, dest_bucket, key) != expected:
            verdict.content_mismatch += 1
            verdict.problem(f"content {key}")

    errors = run_pool(compare, to_read, threads)
    if errors:
        verdict.content_mismatch += len(errors)
        verdict.problem(f"could not read back: {errors[0]}")
    if to_read and not verdict.content_mismatch:
        verdict.note = f"{len(to_read)} objects have another ETag (part layout); bytes equal"
    return verdict


def verify_locks(client, dest_bucket: str, expected: dict[str, LockTuple | None], verdict: Verdict, threads: int = 16) -> dict[str, LockTuple | None]:
    """Adds lock mismatches (mode, retain-until to the second, legal hold) to the verdict; returns what it read."""
    actual = read_locks(client, dest_bucket, expected.keys(), threads)
    for key, wanted in expected.items():
        if actual.get(key) is None:
            continue  # counted as missing by verify_copy
        if actual[key] != wanted:
            verdict.lock_mismatch += 1
            verdict.problem(f"lock {key}: {actual[key]} != {wanted}")
    return actual
