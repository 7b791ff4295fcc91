"""Listing the source and destination: pages of keys and of versions, key ranges listed at once.

Modules:

    fan_in              Iterators drained on threads of their own and read as one: items in the order they are produced.
    keyspace            Ranges of the key space, and where to cut it so that several listers can list its ranges at once. Pure.
    pages               ListObjectsV2, page by page, as ObjectEntry values keyed relative to the location's prefix.
    range_split         Where a listing's key space is cut into ranges that separate threads list at once.
    versions            ListObjectVersions, page by page, as whole per-key histories (`sync --all-versions`).
"""
