"""The learning table: what a destination proved to honour per write path, from a run's first writes. No I/O."""

from __future__ import annotations

import threading

import pytest

from bucketsync.core.write_checks import ATTRIBUTES, WRITE_PATHS, WriteChecks


def test_everything_is_checked_at_the_start_of_a_run():
    checks = WriteChecks()
    assert all(checks.needs_check(path, attribute) for path in WRITE_PATHS for attribute in ATTRIBUTES)
    assert not any(checks.is_trusted(path) for path in WRITE_PATHS)


@pytest.mark.parametrize(
    "history, needs_check, ignored",
    [
        ([], True, False),
        ([True], True, False),
        ([True, True], True, False),
        ([True, True, True], False, False),  # trusted after three writes that held it
        ([True, True, True, True, True], False, False),
        ([False], True, True),  # found wrong: checked for the rest of the run
        ([True, True, True, False], True, True),  # trusted, then found wrong: checked again, for good
        ([False, True, True, True, True], True, True),  # a wrong write is never outweighed
    ],
)
def test_trust_comes_from_writes_that_held_and_one_wrong_write_ends_it(history, needs_check, ignored):
    checks = WriteChecks(trusted_after=3)
    for held in history:
        checks.record("create_multipart_upload", "tags", held)
    assert checks.needs_check("create_multipart_upload", "tags") is needs_check
    assert checks.is_ignored("create_multipart_upload", "tags") is ignored


def test_paths_and_attributes_are_learnt_apart():
    """RGW's case: metadata held on CreateMultipartUpload, tags not; PutObject held both."""
    checks = WriteChecks(trusted_after=3)
    for _ in range(3):
        checks.record("create_multipart_upload", "metadata", True)
        checks.record("create_multipart_upload", "headers", True)
        checks.record("create_multipart_upload", "tags", False)
        for attribute in ATTRIBUTES:
            checks.record("put_object", attribute, True)
    assert checks.summary() == {
        "copy_object/tags": "checking", "copy_object/metadata": "checking", "copy_object/headers": "checking",
        "create_multipart_upload/tags": "ignored", "create_multipart_upload/metadata": "trusted",
        "create_multipart_upload/headers": "trusted",
        "put_object/tags": "trusted", "put_object/metadata": "trusted", "put_object/headers": "trusted",
    }
    assert checks.is_trusted("put_object") and not checks.is_trusted("create_multipart_upload")


def test_plain_copies_read_their_source_only_while_copy_object_is_unproven_and_within_the_budget():
    checks = WriteChecks(trusted_after=1, source_reads=2)
    assert [checks.take_source_read() for _ in range(3)] == [True, True, False]  # the budget
    fresh = WriteChecks(trusted_after=1, source_reads=5)
    for attribute in ATTRIBUTES:
        fresh.record("copy_object", attribute, True)
    assert fresh.take_source_read() is False  # proven: no read at all
    assert fresh.source_reads_left == 5


def test_saved_requests_add_up_across_threads():
    checks = WriteChecks()

    def spare() -> None:
        for _ in range(1000):
            checks.count_saved(2)
            checks.record("put_object", "tags", True)

    threads = [threading.Thread(target=spare) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert checks.saved_requests == 8000
    assert checks.summary()["put_object/tags"] == "trusted"


def test_whether_copy_object_keeps_a_multipart_etag_is_tried_by_one_copy_and_then_known():
    from bucketsync.core.write_checks import CopyKeepsEtag

    keeps = CopyKeepsEtag()
    with keeps.trying() as known:
        assert known is None  # this copy tries CopyObject and says what it found
        keeps.record(True)
    with keeps.trying() as known:
        assert known is True
    keeps.record(False)
    with keeps.trying() as known:
        assert known is False
