"""preflight.lock_read_refusal on recorded real answers (tests/faults/recorded/lock_probe.json, recorded
from moto and S3 by tests/faults/record_lock_probe.py and re-checked live by tests/faults/
test_lock_permissions.py). No I/O beyond reading the recording."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bucketsync.run.preflight import LockReadProbe, lock_read_refusal

RECORDED = Path(__file__).resolve().parents[1] / "faults" / "recorded" / "lock_probe.json"
ANSWERS = json.loads(RECORDED.read_text(encoding="utf-8"))


def recorded(*names: str) -> tuple[dict, ...]:
    return tuple(ANSWERS[name] for name in names)


def probe(heads: tuple[str, ...], legal_hold: str | None = None, retention: str | None = None) -> LockReadProbe:
    return LockReadProbe(
        heads=recorded(*heads),
        legal_hold=ANSWERS[legal_hold] if legal_hold else None,
        retention=ANSWERS[retention] if retention else None,
    )


# id, probe, None (run may go on) or the words the refusal must contain
DECISIONS = [
    ("moto, locked object", probe(("moto_head_locked", "moto_head_unlocked"), "moto_legal_hold_on", "moto_retention_500"), None),
    ("moto, unlocked object", probe(("moto_head_unlocked",), "moto_legal_hold_unset", "moto_retention_500"), None),
    ("S3, object without lock", probe(("moto_head_unlocked",), "s3_legal_hold_not_set", "s3_retention_not_set"), None),
    ("S3, readable retention", probe(("moto_head_locked",), "moto_legal_hold_on", "s3_retention_governance"), None),
    ("empty source", probe(()), None),
    ("archived object (403 InvalidObjectState)", probe(("moto_head_archived",), "moto_legal_hold_archived", "moto_retention_500"), None),
    ("one readable object among forbidden ones",
     probe(("s3_head_forbidden", "moto_head_unlocked"), "s3_legal_hold_not_set", "s3_retention_not_set"), None),
    ("no lock permissions",
     probe(("s3_head_without_lock_fields",), "s3_legal_hold_access_denied", "s3_retention_access_denied"),
     ("cannot read Object Lock state", "s3:GetObjectRetention and s3:GetObjectLegalHold denied")),
    ("no s3:GetObjectRetention", probe(("moto_head_unlocked",), "moto_legal_hold_unset", "s3_retention_access_denied"),
     ("s3:GetObjectRetention denied",)),
    ("no s3:GetObjectLegalHold", probe(("moto_head_unlocked",), "s3_legal_hold_access_denied", "moto_retention_500"),
     ("s3:GetObjectLegalHold denied",)),
    ("HEAD hides a legal hold", probe(("s3_head_without_lock_fields",), "moto_legal_hold_on", "moto_retention_500"),
     ("leaves out the legal hold",)),
    ("HEAD hides a retention", probe(("s3_head_without_lock_fields",), "s3_legal_hold_not_set", "s3_retention_governance"),
     ("leaves out the retention",)),
    ("no s3:GetObject", probe(("s3_head_forbidden",) * 3), ("cannot read objects", "s3:GetObject")),
]


@pytest.mark.parametrize("answers, refusal", [case[1:] for case in DECISIONS], ids=[case[0] for case in DECISIONS])
def test_decision_on_recorded_answers(answers, refusal):
    said = lock_read_refusal(answers, "src-bucket")
    if refusal is None:
        assert said is None
    else:
        assert said is not None and "\n" not in said and "'src-bucket'" in said
        for words in refusal:
            assert words in said
