"""Blob store on any S3-compatible server (AWS S3, MinIO, Ceph, moto...) through boto3.

Configured by one URL, ``s3://bucket[/prefix]?endpoint_url=...&region=...&addressing_style=path``;
credentials come from the usual boto3 chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, a profile,
an instance role) so that no secret lives in a URL that ends up in logs.

Large blobs go up as multipart uploads (aborted on failure so no orphan parts are billed); downloads can
be S3 presigned URLs, so the bytes never cross an API node.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3  # type: ignore[import-untyped]
from botocore.client import Config  # type: ignore[import-untyped]
from botocore.exceptions import (  # type: ignore[import-untyped]
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
)

from pressroom.config import StorageSettings
from pressroom.core.errors import PressroomError, StorageFailed, StorageFull, StorageKeyInvalid, StorageUnavailable
from pressroom.core.filenames import content_disposition
from pressroom.storage.keys import check_key

_MISSING = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket"})
# Answers that mean "try again later" although their status is 4xx.
_TRANSIENT_CODES = frozenset({"RequestTimeout", "RequestTimeTooSkewed", "SlowDown", "Throttling", "TooManyRequests"})
_QUOTA_CODES = frozenset({"QuotaExceeded", "XMinioStorageFull", "XMinioAdminBucketQuotaExceeded"})


@contextlib.contextmanager
def _translated(key: str) -> Iterator[None]:
    """boto3's errors as the service's storage errors: a 4xx answer (access denied, no such bucket, a key
    refused) is deterministic and fails a job once; a 5xx, throttling or a connection error is transient
    (boto3 has already retried it a few times) and the job runner may try again later."""
    try:
        yield
    except PressroomError:
        raise
    except ClientError as exc:
        code = _code(exc)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        details = {"key": key, "s3_code": code, "s3_status": status}
        if code in _QUOTA_CODES:
            raise StorageFull("The object store has no space left", details=details) from exc
        if status >= 500 or code in _TRANSIENT_CODES or not status:
            raise StorageUnavailable(f"The object store failed: {code}", details=details) from exc
        raise StorageFailed(f"The object store refused the operation: {code}", details=details) from exc
    except ParamValidationError as exc:  # boto3 refused the request before sending it: the same every time
        raise StorageKeyInvalid(f"The object store request is invalid: {exc}", details={"key": key}) from exc
    except (NoCredentialsError, PartialCredentialsError) as exc:  # configuration: an operator must act
        raise StorageFailed("No credentials for the object store", details={"key": key}) from exc
    except BotoCoreError as exc:  # connection refused, timeouts, closed connections
        details = {"key": key, "reason": type(exc).__name__}
        raise StorageUnavailable("The object store cannot be reached", details=details) from exc


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str
    endpoint_url: str | None
    region: str | None
    addressing_style: str

    @classmethod
    def parse(cls, url: str) -> S3Location:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"not an s3://bucket URL: {url!r}")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(query) - {"endpoint_url", "region", "addressing_style"}
        if unknown:
            raise ValueError(f"unknown s3 URL parameters: {sorted(unknown)}")
        style = query.get("addressing_style", "path" if "endpoint_url" in query else "auto")
        return cls(
            bucket=parts.netloc,
            prefix=parts.path.strip("/"),
            endpoint_url=query.get("endpoint_url"),
            region=query.get("region"),
            addressing_style=style,
        )


class S3BlobStore:
    name = "s3"

    def __init__(self, location: S3Location, settings: StorageSettings | None = None) -> None:
        self.location = location
        self.settings = settings or StorageSettings()
        self._client = self._make_client(location.endpoint_url)
        # SigV4 signs the host: presigned URLs must be made for the endpoint the *client* will use.
        public = self.settings.public_endpoint_url
        self._presign_client = self._make_client(public) if public else self._client

    @classmethod
    def from_url(cls, url: str, settings: StorageSettings | None = None) -> S3BlobStore:
        return cls(S3Location.parse(url), settings)

    def _make_client(self, endpoint_url: str | None) -> Any:
        config = Config(
            region_name=self.location.region,
            signature_version="s3v4",
            s3={"addressing_style": self.location.addressing_style},
            connect_timeout=5,
            read_timeout=60,
            retries={"max_attempts": 5, "mode": "standard"},
            max_pool_connections=32,
        )
        return boto3.session.Session().client("s3", endpoint_url=endpoint_url, config=config)

    def _key(self, key: str) -> str:
        # Keys are built from generated ids (storage.keys); check_key refuses anything that could step
        # outside the prefix in a shared bucket ('..', a leading '/', empty segments) or that S3 tools
        # mishandle (control characters, NUL), exactly as the filesystem store does.
        check_key(key)
        return f"{self.location.prefix}/{key}" if self.location.prefix else key

    # -- lifecycle ------------------------------------------------------------------------------------
    def ensure_bucket(self) -> None:
        """Create the bucket when it does not exist (dev/test servers; production buckets are provisioned)."""
        try:
            self._client.head_bucket(Bucket=self.location.bucket)
        except ClientError as exc:
            if _code(exc) not in _MISSING:
                raise
            params: dict[str, Any] = {"Bucket": self.location.bucket}
            if self.location.region and self.location.region != "us-east-1":
                params["CreateBucketConfiguration"] = {"LocationConstraint": self.location.region}
            self._client.create_bucket(**params)

    # -- BlobStore ------------------------------------------------------------------------------------
    def put(self, key: str, data: bytes, content_type: str) -> None:
        full = self._key(key)
        with _translated(key):
            if len(data) >= self.settings.multipart_threshold_bytes:
                self._put_multipart(full, data, content_type)
                return
            self._client.put_object(Bucket=self.location.bucket, Key=full, Body=data, ContentType=content_type)

    def _put_multipart(self, key: str, data: bytes, content_type: str) -> None:
        bucket = self.location.bucket
        upload = self._client.create_multipart_upload(Bucket=bucket, Key=key, ContentType=content_type)
        upload_id = upload["UploadId"]
        chunk = self.settings.multipart_chunk_bytes
        parts = []
        try:
            for number, start in enumerate(range(0, len(data), chunk), start=1):
                body = data[start : start + chunk]
                answer = self._client.upload_part(
                    Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
                )
                parts.append({"PartNumber": number, "ETag": answer["ETag"]})
            self._client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            self._client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            raise

    def get(self, key: str) -> bytes:
        full = self._key(key)
        with _translated(key):
            try:
                answer = self._client.get_object(Bucket=self.location.bucket, Key=full)
            except ClientError as exc:
                if _code(exc) in _MISSING:
                    raise KeyError(key) from exc
                raise
            body: bytes = answer["Body"].read()
        return body

    def local_path(self, key: str) -> None:
        self._key(key)  # a key refused by get() is refused here too, as the filesystem store does
        return None  # remote objects: read them with get()

    def delete(self, key: str) -> None:
        # S3 deletes are idempotent: deleting a missing key succeeds, like the filesystem store.
        full = self._key(key)
        with _translated(key):
            self._client.delete_object(Bucket=self.location.bucket, Key=full)

    def exists(self, key: str) -> bool:
        full = self._key(key)
        with _translated(key):
            try:
                self._client.head_object(Bucket=self.location.bucket, Key=full)
            except ClientError as exc:
                if _code(exc) in _MISSING:
                    return False
                raise
        return True

    # -- downloads ------------------------------------------------------------------------------------
    def presigned_url(self, key: str, ttl_s: int, filename: str, content_type: str) -> str:
        """A time-limited GET URL for ``key`` that needs no credentials and no API node. The object store
        answers with the Content-Disposition given here: RFC 6266 with ``filename*``, like the API's own."""
        url: str = self._presign_client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.location.bucket,
                "Key": self._key(key),
                "ResponseContentType": content_type,
                "ResponseContentDisposition": content_disposition(filename, "attachment"),
            },
            ExpiresIn=ttl_s,
        )
        return url


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
