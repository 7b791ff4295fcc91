"""The streamed copy (different endpoints or credentials): GET from the source, upload to the destination.

One GET, pinned with If-Match on the listed ETag (a GET is atomic: one version whole); if the source was
overwritten since listing, the version there now is copied and noted. Its body goes to one PutObject
(a single-part source up to the multipart threshold, so its ETag stays comparable) or to a multipart
upload: the object's thread reads the next part from the GET while earlier parts upload, up to 4 parts
of an object and `concurrency` parts of the process at once (parallel_parts.py). A multipart upload is
in the source's part layout (source_layout.py); one not reported part by part completes only with the
source's ETag, else it is aborted and made again in the layout found (from the bytes hashed on the way, or
asked of the server), or the object is reported (part_layouts.LayoutNotFound).

Memory: every body and part passes through a temporary file that stays in memory up to
`multipart_chunksize` and spills to disk beyond it, or beyond a smaller share where more than 16 object
threads run (parallel_parts.spool_memory_limit). A part is read only once it holds one of the process's
part slots, so a process holds at most 32 × `multipart_chunksize` in memory, whatever the objects' sizes
and the concurrency; each upload carries the Content-MD5 of its bytes (S3 requires it, or a checksum, on
uploads that set Object Lock), computed while spooling.
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

from botocore.exceptions import ClientError

from . import s3
from ..core.copy_plan import PartRange
from .execution_context import ActionTrace, ExecutionContext
from ..core.carried_attributes import asked_attributes
from .lock_write import WrittenVersion
from ..core.model import ObjectEntry, quoted_etag, same_etag
from .multipart import MultipartUpload
from ..core.outcomes import CHANGED_SINCE_LISTING, with_note
from .parallel_parts import part_slots, spool_memory_limit
from ..core.part_layouts import LayoutHashes, LayoutNotFound, layout
from .s3_calls import call
from ..core.settings import MiB
from .source_layout import exact_layout, plan_layout
from .source_version import SourceVersion, new_version_args, read_source_tags

READ_SIZE = 1 * MiB  # bytes read from the source stream at a time


def copy_streamed(
    ctx: ExecutionContext, rel_key: str, entry: ObjectEntry, trace: ActionTrace, pinned_version_id: str | None = None
) -> WrittenVersion:
    """Copy the listed object `entry` (or, with `pinned_version_id`, exactly that source version)."""
    src_key = ctx.source.absolute_key(rel_key)
    dst_key = ctx.dest.absolute_key(rel_key)
    notes: tuple[str, ...] = ()
    reads = ctx.copy_options.source_reads()
    trace.source_version_id = pinned_version_id
    if pinned_version_id is not None:
        answer = call(
            ctx.source_client, "get_object", Bucket=ctx.source.bucket, Key=src_key, VersionId=pinned_version_id,
            carry=reads,
        )
    else:
        try:
            answer = call(
                ctx.source_client, "get_object", Bucket=ctx.source.bucket, Key=src_key, IfMatch=quoted_etag(entry.etag),
                carry=reads,
            )
        except ClientError as exc:
            if not s3.is_changed(exc):
                raise
            answer = call(ctx.source_client, "get_object", Bucket=ctx.source.bucket, Key=src_key, carry=reads)
            notes = with_note(notes, CHANGED_SINCE_LISTING)
    body = answer["Body"]
    try:
        version = SourceVersion.from_response(answer)
        trace.source_version_id = version.version_id
        tags = read_source_tags(ctx.source_client, ctx.source.bucket, src_key, version)
        carry = new_version_args(version, tags, ctx.now(), ctx.copy_options)
        planned = plan_layout(ctx.source_client, ctx.source.bucket, src_key, version, "streamed", ctx.settings, reads)
        plan = planned.plan
        memory_limit = spool_memory_limit(ctx.settings.concurrency, ctx.settings.multipart_chunksize)
        if plan.method == "single":
            with spooled(body, version.size, memory_limit) as (data, content_md5):
                put = call(
                    ctx.dest_client, "put_object", Bucket=ctx.dest.bucket, Key=dst_key, Body=data,
                    ContentLength=version.size, ContentMD5=content_md5, carry=carry,
                )
            new_version_id = put.get("VersionId")
            write_path = "put_object"
        else:
            checked = planned.checked_before_completing and ctx.copy_options.etags_are_md5
            hashes = LayoutHashes(version.size, len(plan.parts), planned.candidates) if checked and planned.candidates else None
            try:
                new_version_id = _upload(ctx, dst_key, carry, plan.parts, body, version.etag, checked, hashes)
            except _OtherLayout as other:
                # Aborted before completing (no version written): read the source again, copy it in its layout.
                parts = (layout(version.size, other.first_part, len(plan.parts)) if other.first_part
                         else exact_layout(ctx.source_client, ctx.source.bucket, src_key, version, reads))
                body.close()
                body = _read_again(ctx, src_key, version)
                new_version_id = _upload(ctx, dst_key, carry, parts, body, version.etag)
            write_path = "create_multipart_upload"
    finally:
        body.close()
    return WrittenVersion(
        key=dst_key, version_id=new_version_id, source_version_id=version.version_id,
        size=version.size, lock=version.lock, notes=notes, asked=asked_attributes(write_path, version.head, tags),
        stored_as=ctx.copy_options.dest_rewrites(version.storage_class),
    )


class _OtherLayout(Exception):
    """The upload's layout is not the source's: the one found (a first-part size), or None: ask the server."""

    def __init__(self, first_part: int | None) -> None:
        self.first_part = first_part


def _upload(
    ctx: ExecutionContext, dst_key: str, carry: dict, parts: tuple[PartRange, ...], body, source_etag: str,
    checked: bool = False, hashes: LayoutHashes | None = None,
) -> str | None:
    """One multipart upload of `parts` from `body`. `checked`: the layout is not the one the server reported
    part by part, so the upload completes only with the source's ETag, else it is aborted and _OtherLayout
    raised; `hashes` (where the server reports no layout) hash the bytes in each candidate layout to name the
    right one, and LayoutNotFound says none is."""
    memory_limit = spool_memory_limit(ctx.settings.concurrency, ctx.settings.multipart_chunksize)
    with MultipartUpload(ctx.dest_client, ctx.dest.bucket, dst_key, carry) as upload:
        part_slots(ctx.settings.concurrency).run(_part_uploads(upload, parts, body, memory_limit, hashes))
        if checked and not same_etag(upload.etag(), source_etag):
            if hashes is None:
                raise _OtherLayout(None)
            found = hashes.matching(source_etag)
            if found is None:
                raise LayoutNotFound(len(parts), parts[-1].last + 1)
            raise _OtherLayout(found)
        return upload.complete()


def _read_again(ctx: ExecutionContext, src_key: str, version: SourceVersion):
    """The same source version's body again: by its version id, or pinned by its ETag."""
    pin = {"VersionId": version.version_id} if version.version_id else {"IfMatch": quoted_etag(version.etag)}
    answer = call(ctx.source_client, "get_object", Bucket=ctx.source.bucket, Key=src_key,
                  carry=ctx.copy_options.source_reads(), **pin)
    return answer["Body"]


def _part_uploads(
    upload: MultipartUpload, parts: tuple[PartRange, ...], body, memory_limit: int, hashes: LayoutHashes | None = None
) -> Iterator[Callable[[], None]]:
    """One upload job per part, each part read from the source stream when its job is taken (in the
    object's thread, in order), and its spool closed once its upload has ended."""
    for part in parts:
        spool, content_md5 = read_spool(body, part.length, memory_limit, hashes.feed if hashes else None)

        def send(part: PartRange = part, spool: IO[bytes] = spool, content_md5: str = content_md5) -> None:
            with spool:
                upload.upload_part(part, spool, content_md5)

        yield send


@contextmanager
def spooled(stream, length: int, memory_limit: int) -> Iterator[tuple[IO[bytes], str]]:
    """The next `length` bytes of `stream` in a temporary file (in memory up to `memory_limit`), rewound,
    with the base64 MD5 of those bytes. Raises IOError when the stream ends early."""
    spool, content_md5 = read_spool(stream, length, memory_limit)
    with spool:
        yield spool, content_md5


def read_spool(
    stream, length: int, memory_limit: int, observe: Callable[[bytes], None] | None = None
) -> tuple[IO[bytes], str]:
    """The next `length` bytes of `stream` in an open temporary file, rewound (the caller closes it), and
    their base64 MD5; `observe` is given each chunk read. Raises IOError when the stream ends early."""
    md5 = hashlib.md5()
    spool = tempfile.SpooledTemporaryFile(max_size=memory_limit)
    try:
        remaining = length
        while remaining > 0:
            chunk = stream.read(min(remaining, READ_SIZE))
            if not chunk:
                raise IOError(f"the source stream ended after {length - remaining} of {length} bytes")
            md5.update(chunk)
            if observe is not None:
                observe(chunk)
            spool.write(chunk)
            remaining -= len(chunk)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool, base64.b64encode(md5.digest()).decode()

