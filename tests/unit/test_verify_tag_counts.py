"""verify reads tags only where a HEAD counts some (x-amz-tagging-count), until a server shows it leaves the count out."""

from __future__ import annotations

from bucketsync.run.verify import TagCounts


class Tags:
    def __init__(self, tag_set):
        self.tag_set, self.reads = tag_set, 0

    def get_object_tagging(self, **args):
        self.reads += 1
        return {"TagSet": self.tag_set}


def test_two_heads_without_a_count_are_two_untagged_objects():
    client = Tags([])
    assert TagCounts().tags_of(client, {}, {}, {}) == [] and client.reads == 0


def test_a_count_on_either_side_reads_both():
    counts, untagged, tagged = TagCounts(), Tags([]), Tags([{"Key": "a", "Value": "1"}])
    assert counts.tags_of(tagged, {}, {"TagCount": 1}, {}) == [["a", "1"]]
    assert counts.tags_of(untagged, {}, {}, {"TagCount": 1}) == []
    assert (tagged.reads, untagged.reads, counts.trusted) == (1, 1, True)


def test_a_server_that_leaves_the_count_out_makes_every_read_happen():
    counts, tagged = TagCounts(), Tags([{"Key": "a", "Value": "1"}])
    assert counts.tags_of(tagged, {}, {}, {"TagCount": 1}) == [["a", "1"]]  # tagged, yet its HEAD counted none
    assert counts.trusted is False
    assert counts.tags_of(tagged, {}, {}, {}) == [["a", "1"]] and tagged.reads == 2
