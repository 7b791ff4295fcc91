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

UploadPartCopy with a range (W7, 1 GiB objects): moto reads the whole source object into memory for every
part and then slices it, so copying a 1 GiB object in 64 parts read 64 GiB and held 1 GiB per part in
flight (16 parts at once: 16 GiB). Here a part reads only its range from the object's buffer; the part,
its ETag and every answer are moto's own.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import inspect
import sys
import threading
from datetime import timedelta

from moto.s3 import models, utils

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


def key_name(index: int, layout: str) -> str:
    """W5/W6 key names: `p<nn>/empty-<index>` (50 prefixes), `q<nnn>/empty-<index>` (100), or hash-named."""
    if layout == "flat":
        return hashlib.sha1(str(index).encode()).hexdigest()
    if layout == "p100":
        return f"q{index % 100:03d}/empty-{index:07d}"
    return f"p{index % 50:02d}/empty-{index:07d}"


def preload(spec: str) -> None:
    """`bucket=count[+seconds ahead][@stem][%layout]`: keys `<stem><index>`, or by layout (p50, the default;
    p100; flat)."""
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
