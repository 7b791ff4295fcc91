"""moto's S3 server for W5–W7: listing from a sorted index, buckets preloaded in process, part copies
that read only their range.

    python bench/moto_server.py [--preload BUCKET=COUNT[+SECONDS] ...] -H 127.0.0.1 -p PORT

moto's ListObjectsV2 walks, filters and sorts the whole bucket for every page of 1,000 keys, so a listing
of n keys costs O(n²): 200,000 keys take about five minutes per bucket on this machine, whoever lists.
Here a page of an unversioned bucket without a delimiter is cut from a sorted list of its key names
(rebuilt after any key is added or removed) with the same answer moto gives: same keys, same order, same
continuation tokens. Every other request is moto's own. Every tool in W5 lists through the same server.

--preload creates BUCKET with COUNT 0-byte objects named like bench/data.py's empty_objects before the
server starts (seeding 400,000 objects over HTTP would take 20 minutes here); +SECONDS moves their
LastModified that far ahead, so a destination is newer than its source (aws s3 sync and s5cmd then
copy nothing). `BUCKET=COUNT@STEM` names them STEM0000000, STEM0000001, … instead (the bucket may be
preloaded several times, e.g. `src=100000@logs/ --preload src=1000@data/`).

Large objects (W7, 1 GiB): moto reads the whole object into memory for every ranged GET and every
UploadPartCopy and then slices it (a 1 GiB object fetched in 205 ranges of 5 MiB read 205 GiB: rclone's
streamed copy took 180 s of moto CPU), and CompleteMultipartUpload held four copies of the object at once
(the parts joined, a second join for its checksum, and a bytes() copy of each): 4.6 GiB of moto RSS per
1 GiB object. Here a ranged GET (one `bytes=A-B` or `bytes=A-` range) and a part copy read only their range
from the object's buffer; a completed upload is joined once into a buffer of the right size, its checksum
computed over that buffer; and an object's bytes go to its spooled file in 16 MiB writes (so the
SpooledTemporaryFile rolls over to disk at once instead of first growing a BytesIO of the whole object).
Every answer, ETag and checksum is moto's own.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import inspect
import re
import sys
import threading
from datetime import timedelta

from moto.s3 import models, responses, utils

_generation = [0]  # bumped on every change to any bucket's set of keys
_index: dict[int, tuple[int, list[str]]] = {}  # id(key store) -> (generation, sorted names)
_index_lock = threading.Lock()


def _counting(method):
    def changed(self, *args, **kwargs):
        _generation[0] += 1
        return method(self, *args, **kwargs)

    return changed


for _name in ("__setitem__", "__delitem__", "setlist", "pop", "clear", "update"):
    if hasattr(utils._VersionedKeyStore, _name):
        setattr(utils._VersionedKeyStore, _name, _counting(getattr(utils._VersionedKeyStore, _name)))


def _sorted_names(store) -> list[str]:
    with _index_lock:
        generation = _generation[0]
        cached = _index.get(id(store))
        if cached and cached[0] == generation:
            return cached[1]
        names = sorted(dict.keys(store))
        _index[id(store)] = (generation, names)
        return names


_original_list_objects_v2 = models.S3Backend.list_objects_v2


def list_objects_v2(self, bucket, prefix, delimiter, continuation_token, start_after, max_keys):
    if delimiter or bucket.is_versioned or getattr(bucket, "versioning_status", None) or not max_keys:
        return _original_list_objects_v2(self, bucket, prefix, delimiter, continuation_token, start_after, max_keys)
    names = _sorted_names(bucket.keys)
    prefix = prefix or ""
    position = bisect.bisect_left(names, prefix)
    limit = self._pagination_tokens.get(continuation_token) if continuation_token else start_after
    if limit:
        position = max(position, bisect.bisect_right(names, limit))
    page = []
    for name in names[position:position + max_keys + 1]:
        if not name.startswith(prefix):
            break
        key = bucket.keys.get(name)
        if key is not None and not isinstance(key, models.FakeDeleteMarker):
            page.append(key)
    return self._truncate_result(page, max_keys)


models.S3Backend.list_objects_v2 = list_objects_v2


_original_upload_part_copy = models.S3Backend.upload_part_copy
_part_copy_arguments = inspect.signature(_original_upload_part_copy)


def read_range(key, start: int, end: int) -> bytes:
    """Bytes start..end (inclusive) of a FakeKey, from its spooled buffer, under the key's lock."""
    with key.lock:
        key._value_buffer.seek(start)
        return key._value_buffer.read(end + 1 - start)


def upload_part_copy(self, *args, **kwargs):
    bound = _part_copy_arguments.bind(self, *args, **kwargs).arguments
    key = self.get_object(bound["src_bucket_name"], bound["src_key_name"], version_id=bound["src_version_id"])
    if bound["start_byte"] is None or key is None or isinstance(key, models.FakeDeleteMarker):
        return _original_upload_part_copy(self, *args, **kwargs)
    multipart = self.get_bucket(bound["dest_bucket_name"]).multiparts[bound["multipart_id"]]
    return multipart.set_part(bound["part_id"], read_range(key, bound["start_byte"], bound["end_byte"]))


models.S3Backend.upload_part_copy = upload_part_copy

WRITE_CHUNK = 16 * 1024 * 1024


def _set_value(self, new_value) -> None:
    self._value_buffer.seek(0)
    self._value_buffer.truncate()
    if isinstance(new_value, str):
        new_value = new_value.encode(models.DEFAULT_TEXT_ENCODING)
    view = memoryview(new_value)
    for start in range(0, len(view), WRITE_CHUNK):
        self._value_buffer.write(view[start:start + WRITE_CHUNK])
    self.contentsize = len(new_value)


models.FakeKey.value = property(models.FakeKey.value.fget, _set_value)


def complete(self, body):
    """moto's MultipartUpload.complete (same checks, ETag and checksum), joining the parts once."""
    checksum_algo = self.metadata.get("x-amz-checksum-algorithm")
    checksum_type = self.metadata.get("x-amz-checksum-type")
    builder = models.MultipartChecksumBuilder(checksum_algo, checksum_type)
    md5s = bytearray()
    chosen = []
    last = None
    for pn, etag in body:
        part = self.parts.get(pn)
        if part is None or part.etag.replace('"', "") != etag.replace('"', ""):
            raise models.InvalidPart()
        if last is not None and last.contentsize < models.S3_UPLOAD_PART_MIN_SIZE:
            raise models.EntityTooSmall()
        md5s.extend(bytes.fromhex(part.etag.replace('"', "")))
        chosen.append(part)
        last = part
    if not chosen:
        raise models.MalformedXML
    total = bytearray(sum(part.contentsize for part in chosen))
    position = 0
    for part in chosen:
        value = part.value
        total[position:position + len(value)] = value
        position += len(value)
        if builder.checksum_type == "COMPOSITE":
            builder.addPart(value)
    if builder.checksum_type == "COMPOSITE":
        checksum = builder.build()
    else:
        checksum = (builder.checksum_type, models.compute_checksum(total, builder.checksum_algorithm).decode(), 1)
    full_etag = models.md5_hash()
    full_etag.update(bytes(md5s))
    return total, f"{full_etag.hexdigest()}-{len(chosen)}", checksum


models.FakeMultipart.complete = complete

SIMPLE_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")
_lazy_value = threading.local()


class RangeReader:
    """An object's body as moto's range handling uses it (len() and one slice), read from its buffer."""

    def __init__(self, key) -> None:
        self.key = key

    def __len__(self) -> int:
        return self.key.contentsize

    def __getitem__(self, where: slice) -> bytes:
        start, stop, _ = where.indices(len(self))
        return read_range(self.key, start, stop - 1) if stop > start else b""


def _value(self):
    if getattr(_lazy_value, "on", False):
        return RangeReader(self)
    return _original_value(self)


_original_value = models.FakeKey.value.fget
models.FakeKey.value = property(_value, _set_value)
_original_get_object = responses.S3Response.get_object


def get_object(self):
    """A GET with one plain range gets a RangeReader as its body, which moto's range handling slices."""
    match = SIMPLE_RANGE.match(self.headers.get("range") or "")
    lazy = match and not self.querystring.get("partNumber") and (not match[2] or int(match[2]) >= int(match[1]))
    _lazy_value.on = bool(lazy)
    try:
        return _original_get_object(self)
    finally:
        _lazy_value.on = False


responses.S3Response.get_object = get_object


def key_name(index: int, layout: str) -> str:
    """W5/W6 key names: `p<nn>/empty-<index>` (50 prefixes), `q<nnn>/empty-<index>` (100), hash-named, or
    all under one prefix four levels down (`deep`, `t/2026/11/29/empty-<index>`)."""
    if layout == "deep":
        return f"t/2026/11/29/empty-{index:07d}"
    if layout == "flat":
        return hashlib.sha1(str(index).encode()).hexdigest()
    if layout == "p100":
        return f"q{index % 100:03d}/empty-{index:07d}"
    return f"p{index % 50:02d}/empty-{index:07d}"


def preload(spec: str) -> None:
    """`bucket=count[+seconds ahead][@stem][%layout]`: keys `<stem><index>`, or by layout (p50, the default;
    p100; flat; deep)."""
    spec, _, layout = spec.partition("%")
    bucket, _, rest = spec.partition("=")
    rest, _, stem = rest.partition("@")
    count, _, shift = rest.partition("+")
    backend = models.s3_backends["123456789012"]["aws"]
    if bucket not in backend.buckets:
        backend.create_bucket(bucket, "us-east-1")
    ahead = timedelta(seconds=float(shift or 0))
    for index in range(int(count)):
        name = f"{stem}{index:07d}" if stem else key_name(index, layout or "p50")
        key = backend.put_object(bucket, name, b"", disable_notification=True)
        if ahead:
            key.last_modified = key.last_modified + ahead


def main() -> None:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--preload", action="append", default=[])
    args, rest = parser.parse_known_args()
    for spec in args.preload:
        preload(spec)
        print(f"moto_server: preloaded {spec}", file=sys.stderr, flush=True)
    from moto.server import main as moto_main

    moto_main(rest)


if __name__ == "__main__":
    main()
