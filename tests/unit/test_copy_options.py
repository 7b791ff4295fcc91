"""Storage class and encryption of the copies: which arguments each side's requests carry, the checks on
the command line's choices and on SSE-C keys, and change detection for objects whose ETag is not an MD5."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest

from bucketsync.core.copy_options import CopyOptions, check_choices, decode_sse_c_key
from bucketsync.core.model import ObjectEntry, same_content
from bucketsync.engine.s3_calls import request_args
from bucketsync.core.errors import SettingsError
from bucketsync.core.settings import SideSettings, load_settings

SOURCE_KEY = bytes(range(32))
DEST_KEY = bytes(range(32, 64))


@pytest.mark.parametrize(
    "chosen, source_class, sent",
    [
        (None, None, None),  # STANDARD is the default: nothing to send
        (None, "STANDARD", None),
        (None, "STANDARD_IA", "STANDARD_IA"),  # carried over
        (None, "GLACIER_IR", "GLACIER_IR"),
        ("ONEZONE_IA", "STANDARD_IA", "ONEZONE_IA"),  # --storage-class wins
        ("STANDARD", "STANDARD_IA", None),  # ... also when it names the default
    ],
)
def test_the_storage_class_of_a_copy(chosen, source_class, sent):
    assert CopyOptions(storage_class=chosen).target_storage_class(source_class) == sent
    assert CopyOptions(storage_class=chosen).dest_writes(source_class).get("StorageClass") == sent


def test_each_request_gets_only_its_sides_key():
    options = CopyOptions(sse=None, source_sse_c_key=SOURCE_KEY, dest_sse_c_key=DEST_KEY)
    writes = options.dest_writes("STANDARD_IA")
    copy = request_args("copy_object", {"Bucket": "b", "Key": "k", "CopySource": {}}, writes)
    assert copy["SSECustomerKey"] == DEST_KEY and copy["CopySourceSSECustomerKey"] == SOURCE_KEY
    assert copy["StorageClass"] == "STANDARD_IA"
    part = request_args("upload_part", {"Bucket": "b", "Key": "k"}, writes)
    assert part == {"Bucket": "b", "Key": "k", "SSECustomerAlgorithm": "AES256", "SSECustomerKey": DEST_KEY}
    part_copy = request_args("upload_part_copy", {"Bucket": "b", "Key": "k"}, writes)
    assert set(part_copy) == {"Bucket", "Key", "SSECustomerAlgorithm", "SSECustomerKey",
                              "CopySourceSSECustomerAlgorithm", "CopySourceSSECustomerKey"}
    put = request_args("put_object", {"Bucket": "b", "Key": "k"}, writes)
    assert "CopySourceSSECustomerKey" not in put and put["SSECustomerKey"] == DEST_KEY
    assert request_args("head_object", {"Bucket": "b", "Key": "k"}, options.source_reads())["SSECustomerKey"] == SOURCE_KEY
    assert request_args("get_object", {"Bucket": "b", "Key": "k"}, options.source_reads())["SSECustomerKey"] == SOURCE_KEY
    assert request_args("head_object", {"Bucket": "b", "Key": "k"}, options.dest_reads())["SSECustomerKey"] == DEST_KEY
    assert "SSECustomerKey" not in request_args("get_object_tagging", {"Bucket": "b", "Key": "k"}, options.source_reads())


def test_a_rewrite_of_a_copy_onto_itself_is_stored_as_the_copy_and_reads_it_with_the_destinations_key():
    options = CopyOptions(storage_class="STANDARD_IA", source_sse_c_key=SOURCE_KEY, dest_sse_c_key=DEST_KEY)
    rewrite = request_args("copy_object", {"Bucket": "b", "Key": "k", "CopySource": {}}, options.dest_rewrites(None))
    assert rewrite["StorageClass"] == "STANDARD_IA"
    assert rewrite["SSECustomerKey"] == DEST_KEY and rewrite["CopySourceSSECustomerKey"] == DEST_KEY
    kms = CopyOptions(sse="aws:kms", sse_kms_key_id="k1").dest_rewrites("GLACIER_IR")
    assert kms == {"StorageClass": "GLACIER_IR", "ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "k1"}


def test_sse_kms_goes_on_writes_only():
    writes = CopyOptions(sse="aws:kms", sse_kms_key_id="alias/replica").dest_writes(None)
    assert writes == {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/replica"}
    assert "ServerSideEncryption" not in request_args("upload_part", {"Bucket": "b", "Key": "k"}, writes)
    assert request_args("create_multipart_upload", {"Bucket": "b", "Key": "k"}, writes)["SSEKMSKeyId"] == "alias/replica"


def test_no_options_no_arguments():
    options = CopyOptions()
    assert options.dest_writes(None) == {} and options.source_reads() == {} and options.dest_reads() == {}
    assert options.etags_are_md5


@pytest.mark.parametrize(
    "options, md5",
    [
        (CopyOptions(sse="AES256"), True),  # SSE-S3 ETags are the MD5
        (CopyOptions(sse="aws:kms"), False),
        (CopyOptions(source_sse_c_key=SOURCE_KEY), False),
        (CopyOptions(dest_sse_c_key=DEST_KEY), False),
    ],
)
def test_which_runs_can_compare_etags(options, md5):
    assert options.etags_are_md5 is md5


def test_the_keys_never_show_in_a_repr():
    shown = repr(CopyOptions(source_sse_c_key=SOURCE_KEY, dest_sse_c_key=DEST_KEY))
    assert repr(SOURCE_KEY) not in shown and repr(DEST_KEY) not in shown


@pytest.mark.parametrize(
    "args, message",
    [
        (("GLACIERR", None, None, False), "unknown storage class 'GLACIERR'"),
        ((None, "aes256", None, False), "--sse must be AES256 or aws:kms"),
        ((None, None, "k", False), "--sse-kms-key-id needs --sse aws:kms"),
        ((None, "AES256", "k", False), "--sse-kms-key-id needs --sse aws:kms"),
        ((None, "AES256", None, True), "cannot be combined with a destination SSE-C key"),
    ],
)
def test_bad_choices_are_named(args, message):
    with pytest.raises(ValueError, match=message):
        check_choices(*args)


def test_good_choices_pass():
    check_choices("DEEP_ARCHIVE", "aws:kms", "arn:aws:kms:eu-west-1:1:key/x", False)
    check_choices(None, None, None, True)


def test_an_sse_c_key_is_base64_of_32_bytes_and_the_error_never_repeats_it(monkeypatch):
    good = base64.b64encode(SOURCE_KEY).decode()
    assert decode_sse_c_key(good) == SOURCE_KEY
    assert SideSettings(sse_c_key=good).sse_c_key_bytes() == SOURCE_KEY
    assert good not in repr(SideSettings(sse_c_key=good))
    for bad, why in (("not-base64!", "must be base64"), (base64.b64encode(b"short").decode(), "32 bytes")):
        monkeypatch.setenv("BUCKETSYNC_DEST__SSE_C_KEY", bad)
        with pytest.raises(SettingsError) as caught:
            load_settings()
        assert why in str(caught.value) and "dest.sse_c_key" in str(caught.value)
        assert bad not in str(caught.value)
    assert SideSettings(sse_c_key="").sse_c_key is None


NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=timezone.utc)


def entry(etag: str, size: int = 10, at: datetime | None = NOW) -> ObjectEntry:
    return ObjectEntry("k", size, etag, last_modified=at)


@pytest.mark.parametrize(
    "source, dest, same",
    [
        (entry('"a"'), entry('"b"', at=NOW + timedelta(seconds=5)), True),  # copied after the source was written
        (entry('"a"', at=NOW + timedelta(seconds=5)), entry('"b"'), False),  # source overwritten since the copy
        (entry('"a"'), entry('"b"'), False),  # the same second: copied again, to be safe
        (entry('"a"'), entry('"b"', size=11, at=NOW + timedelta(seconds=5)), False),  # another size
        (entry('"a"'), entry('"a"'), True),  # equal ETags are equal whatever the times
        (entry('"a"', at=None), entry('"b"'), False),  # no time to compare: copy
    ],
)
def test_change_detection_without_md5_etags(source, dest, same):
    assert same_content(source, dest, etags_are_md5=False) is same


def test_with_md5_etags_time_plays_no_part():
    assert not same_content(entry('"a"'), entry('"b"', at=NOW + timedelta(days=1)))
