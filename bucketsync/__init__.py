"""bucketsync: S3 bucket-to-bucket replication that carries Object Lock state."""

__version__ = "0.1.0"
