"""One multipart upload as a context manager: created on entry, completed by `complete()`, aborted on
leaving it any other way (an exception, or a return before completing), so no path forgets the abort.
`carry` goes to every call, each taking what its allow-list names (s3_calls): the new version's
headers to CreateMultipartUpload, the SSE-C keys to the parts and to the HEAD.

    with MultipartUpload(client, bucket, key, carry) as upload:
        for part in plan.parts:
            upload.copy_part(part, copy_source)      # or upload.upload_part(part, body, md5)
        new_version_id = upload.complete()

Parts may be sent from several threads at once (parallel_parts.py) and finish in any order; `complete()`
lists them in part-number order, as CompleteMultipartUpload requires.
"""

from __future__ import annotations

import threading
from bisect import insort
from collections.abc import Mapping
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError

from . import s3
from ..core.copy_plan import PartRange
from ..core.model import etag_body
from .s3_calls import call


class MultipartUpload:
    def __init__(self, client, bucket: str, key: str, carry: Mapping[str, Any]) -> None:
        self.client = client
        self.bucket = bucket
        self.key = key
        self.carry = carry
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []
        self._parts_lock = threading.Lock()
        self.completed = False

    def __enter__(self) -> "MultipartUpload":
        created = call(self.client, "create_multipart_upload", Bucket=self.bucket, Key=self.key, carry=self.carry)
        self.upload_id = created["UploadId"]
        return self

    def __exit__(self, exc_type, exc, traceback) -> bool:
        if not self.completed:
            self._abort_quietly()
        return False

    def _target(self) -> dict[str, Any]:
        return {"Bucket": self.bucket, "Key": self.key, "UploadId": self.upload_id}

    def copy_part(self, part: PartRange, copy_source: dict[str, str], copy_source_if_match: str | None = None) -> None:
        answer = call(
            self.client, "upload_part_copy", **self._target(), PartNumber=part.number, CopySource=copy_source,
            CopySourceRange=part.copy_source_range(), CopySourceIfMatch=copy_source_if_match, carry=self.carry,
        )
        self._add_part(part.number, answer["CopyPartResult"]["ETag"])

    def upload_part(self, part: PartRange, body: IO[bytes], content_md5: str) -> None:
        answer = call(
            self.client, "upload_part", **self._target(), PartNumber=part.number, Body=body,
            ContentLength=part.length, ContentMD5=content_md5, carry=self.carry,
        )
        self._add_part(part.number, answer["ETag"])

    def _add_part(self, number: int, etag: str) -> None:
        with self._parts_lock:
            insort(self.parts, {"PartNumber": number, "ETag": etag}, key=lambda part: part["PartNumber"])

    def etag(self) -> str:
        """The ETag the upload of the parts sent so far will have once completed (unquoted)."""
        with self._parts_lock:
            return s3.multipart_etag([part["ETag"] for part in self.parts])

    def complete(self) -> str | None:
        """CompleteMultipartUpload; returns the new version id.

        If the connection drops after the server completed the upload, botocore sends the request again,
        and servers that are not idempotent here answer NoSuchUpload. The upload did complete when the key
        now holds exactly these parts (the multipart ETag is computed from the part ETags): take that as
        done rather than report a failure, or copy the object again.
        """
        try:
            done = call(self.client, "complete_multipart_upload", **self._target(), MultipartUpload={"Parts": self.parts})
        except ClientError as exc:
            if s3.error_code(exc) != s3.NO_SUCH_UPLOAD:
                raise
            head = self._head_if_it_holds_these_parts()
            if head is None:
                raise
            self.completed = True
            return head.get("VersionId")
        self.completed = True
        return done.get("VersionId")

    def _head_if_it_holds_these_parts(self) -> dict[str, Any] | None:
        """The key's HEAD answer when its current version is exactly this upload's parts, else None."""
        try:
            head = call(self.client, "head_object", Bucket=self.bucket, Key=self.key, carry=self.carry)
        except ClientError:
            return None
        if etag_body(head["ETag"]) != s3.multipart_etag([part["ETag"] for part in self.parts]):
            return None
        return head

    def _abort_quietly(self) -> None:
        try:
            call(self.client, "abort_multipart_upload", **self._target())
        except (ClientError, BotoCoreError):
            pass  # an unfinished upload is cleaned up by the bucket's lifecycle rule, if any
