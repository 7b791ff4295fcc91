"""What a write asked for besides the lock, and whether a HEAD / GetObjectTagging answer shows it. No I/O."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bucketsync.core.carried_attributes import AskedAttributes, asked_attributes, tag_set

SOURCE_HEAD = {
    "ContentLength": 3,
    "ETag": '"abc"',
    "ContentType": "text/html",
    "CacheControl": "no-cache",
    "ContentEncoding": "",  # empty: not asked for
    "Expires": datetime(2030, 1, 1, tzinfo=timezone.utc),
    "Metadata": {"owner": "ops"},
    "TagCount": 2,
}
TAGS = [{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "a b+c"}]


def test_asked_attributes_are_read_from_the_source_head_and_its_tags():
    asked = asked_attributes("put_object", SOURCE_HEAD, TAGS)
    assert asked == AskedAttributes(
        path="put_object", tags=(("a", "a b+c"), ("b", "2")), metadata={"owner": "ops"},
        headers={"ContentType": "text/html", "CacheControl": "no-cache", "Expires": SOURCE_HEAD["Expires"]},
    )
    assert all(asked.asks(attribute) for attribute in ("tags", "metadata", "headers"))


@pytest.mark.parametrize(
    "tags, metadata, headers, asks",
    [
        (None, {}, {}, {"tags": False, "metadata": False, "headers": False}),  # tags not read: not checked
        ((), {}, {"ContentType": "x"}, {"tags": False, "metadata": False, "headers": True}),  # untagged proves nothing
        ((("k", "v"),), {"m": "1"}, {}, {"tags": True, "metadata": True, "headers": False}),
    ],
)
def test_only_what_was_asked_is_checked_and_proves_anything(tags, metadata, headers, asks):
    asked = AskedAttributes("copy_object", tags, metadata, headers)
    assert {attribute: asked.asks(attribute) for attribute in asks} == asks


@pytest.mark.parametrize(
    "dest_head, metadata_held, headers_held",
    [
        (SOURCE_HEAD, True, True),
        ({**SOURCE_HEAD, "Metadata": {}}, False, True),  # metadata ignored on the write
        ({**SOURCE_HEAD, "Metadata": {"owner": "ops", "extra": "1"}}, False, True),
        ({**SOURCE_HEAD, "ContentType": "binary/octet-stream"}, True, False),  # a server default instead
        ({key: value for key, value in SOURCE_HEAD.items() if key != "CacheControl"}, True, False),
        ({**SOURCE_HEAD, "ContentLanguage": "de"}, True, True),  # not asked for: not compared
    ],
)
def test_metadata_and_headers_are_compared_with_the_new_versions_head(dest_head, metadata_held, headers_held):
    asked = asked_attributes("create_multipart_upload", SOURCE_HEAD, TAGS)
    assert asked.held_in("metadata", dest_head) is metadata_held
    assert asked.held_in("headers", dest_head) is headers_held


@pytest.mark.parametrize(
    "tag_count, found, count_differs, held",
    [
        (None, [], True, False),  # RGW on CreateMultipartUpload: no tags (HEAD leaves the count out)
        (0, [], True, False),
        (1, [{"Key": "a", "Value": "a b+c"}], True, False),
        (2, TAGS, False, True),
        (2, [{"Key": "a", "Value": "a+b+c"}, {"Key": "b", "Value": "2"}], False, False),  # "+" taken literally
    ],
)
def test_tags_are_told_apart_by_count_first_then_by_value(tag_count, found, count_differs, held):
    asked = asked_attributes("put_object", SOURCE_HEAD, TAGS)
    assert asked.tag_count_differs({"TagCount": tag_count}) is count_differs
    assert asked.tags_held(found) is held


def test_tag_set_is_order_free():
    assert tag_set(TAGS) == tag_set(list(reversed(TAGS))) == (("a", "a b+c"), ("b", "2"))
