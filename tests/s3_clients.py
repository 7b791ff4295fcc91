"""The boto3 client the tests use to seed and inspect any S3 server (moto, Ceph RGW, a named endpoint)."""

from __future__ import annotations

import boto3
from botocore.config import Config


def seeding_client(url: str, access_key: str, secret_key: str, region: str, *, path_style: bool = False):
    s3_options = {"addressing_style": "path"} if path_style else {}
    return boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=region,
        config=Config(retries={"mode": "standard", "max_attempts": 5}, s3=s3_options),
    )
