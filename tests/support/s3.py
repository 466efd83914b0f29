"""A local S3-compatible server for the media storage tests: moto's server mode, one
process per test session on a free loopback port, which the real boto3 and django-storages
talk to over HTTP. Each test gets a bucket of its own (`media_bucket`), with the default
storage and the CSP pointed at it as `MEDIA_STORAGE_URL` would point them.
Loaded from tests/conftest.py as a pytest plugin.
"""

import json
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from publisher.env import media_storage_parse
from tests.support.integration_fixtures import free_port
from tests.support.waiting import wait_until

# Any key works with moto; these only have to be present and consistent.
KEY_ID, SECRET = "media-test-key-id", "media-test-secret"
REGION = "eu-west-1"


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
        )


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - our loopback server
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> Iterator[S3Server]:
    port = free_port()
    log = tmp_path_factory.mktemp("s3") / "moto.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: process.poll() is not None or _answers(f"{endpoint}/moto-api/"),
            timeout=60,
            message=f"moto's S3 server on port {port}",
        )
        if process.poll() is not None:
            raise AssertionError(f"moto's server exited: {log.read_text()[-2000:]}")
        yield S3Server(endpoint)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class MediaBucket:
    """A bucket of the test's own that the default storage writes to."""

    name: str
    server: S3Server
    client: Any
    url: str  # the MEDIA_STORAGE_URL it was configured from
    origin: str  # where pages load its pictures from

    def object_keys(self) -> list[str]:
        listing = self.client.list_objects_v2(Bucket=self.name)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def head(self, key: str) -> dict:
        return self.client.head_object(Bucket=self.name, Key=key)


def public_read_policy(bucket: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicPictures",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }


def media_bucket_configure(settings, monkeypatch, server: S3Server, url: str) -> MediaBucket:
    """Point the default storage and the CSP at the bucket `url` names, through the same
    parsing as MEDIA_STORAGE_URL at start-up; the keys come from the environment."""
    monkeypatch.setenv("AWS_S3_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_S3_SECRET_ACCESS_KEY", SECRET)
    media = media_storage_parse("MEDIA_STORAGE_URL", url)
    settings.STORAGES = {**settings.STORAGES, "default": media.storage}
    settings.MEDIA_ORIGIN = media.origin
    settings.SECURE_CSP = {
        **settings.SECURE_CSP,
        "img-src": [*settings.SECURE_CSP["img-src"], media.origin],
    }
    name = str(media.storage["OPTIONS"]["bucket_name"])
    client = server.client()
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    # Public pictures, as deploy/README.md has the bucket set up: anyone may read objects
    # (list nothing, write nothing); objects get no ACL of their own.
    client.put_bucket_policy(Bucket=name, Policy=json.dumps(public_read_policy(name)))
    return MediaBucket(name, server, client, url, media.origin)


@pytest.fixture
def media_bucket(s3_server, settings, monkeypatch, tmp_path) -> MediaBucket:
    """The default storage on a fresh bucket, its pictures public at the bucket's address
    (MEDIA_ROOT points at an empty folder, to show nothing lands on the disk)."""
    settings.MEDIA_ROOT = tmp_path
    bucket = f"media-{uuid.uuid4().hex[:12]}"
    url = f"s3://{bucket}?region={REGION}&endpoint_url={s3_server.endpoint}"
    return media_bucket_configure(settings, monkeypatch, s3_server, url)
