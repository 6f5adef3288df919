"""Where uploaded files live: a local directory (the embedded default, instance/uploads/) or any S3
API (STORAGE_BACKEND = "s3"), behind one interface. Objects have random, unguessable keys and are
only ever served by short-lived signed URLs: S3 presigned GETs, or for the local directory a URL
signed with SECRET_KEY that the `attachments.download` route checks."""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from urllib.parse import quote

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeSerializer

from chatapp.extensions import db
from chatapp.models import Attachment, ChatSession

QUARANTINE_PREFIX = "quarantine/"


class LinkExpired(Exception):
    """A local download link whose time is up."""


class LinkInvalid(Exception):
    """A local download link that was not made by chatapp (or was altered)."""


def new_key(suffix: str = "") -> str:
    """A random object key nobody can guess (192 bits)."""
    return secrets.token_urlsafe(24) + suffix


class LocalStorage:
    """Objects as files in one directory."""

    def __init__(self, root: Path):
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise LinkInvalid(key)
        return path

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` under `key`."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def get(self, key: str) -> bytes:
        """The bytes stored under `key`."""
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        """Remove the object `key` (nothing when it is gone)."""
        self._path(key).unlink(missing_ok=True)

    def signed_url(self, key: str, name: str, content_type: str, expires: int) -> str:
        """A URL of chatapp's download route that serves `key` for `expires` seconds."""
        token = _serializer().dumps({"k": key, "e": time.time() + expires})
        return url_for("attachments.download", token=token)


class S3Storage:
    """Objects in an S3 bucket (AWS or any S3 API), under a prefix."""

    def __init__(self, config):
        import boto3
        from botocore.config import Config

        self.bucket = config["S3_BUCKET"]
        self.prefix = config["S3_PREFIX"] or ""
        self.client = boto3.client("s3", region_name=config["AWS_REGION"],
                                   endpoint_url=config["AWS_ENDPOINT_URL"],
                                   config=Config(signature_version="s3v4"))  # every region

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` under `key`."""
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=data,
                               ContentType=content_type)

    def get(self, key: str) -> bytes:
        """The bytes stored under `key`."""
        return self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)["Body"].read()

    def delete(self, key: str) -> None:
        """Remove the object `key` (nothing when it is gone)."""
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)

    def signed_url(self, key: str, name: str, content_type: str, expires: int) -> str:
        """An S3 presigned GET of `key`, valid `expires` seconds, downloaded as `name`."""
        return self.client.generate_presigned_url(
            "get_object", ExpiresIn=expires,
            Params={"Bucket": self.bucket, "Key": self.prefix + key,
                    "ResponseContentType": content_type,
                    "ResponseContentDisposition": content_disposition(name)})


def get_storage() -> LocalStorage | S3Storage:
    """The storage the app is configured for (STORAGE_BACKEND)."""
    config = current_app.config
    if config["STORAGE_BACKEND"] == "s3":
        return S3Storage(config)
    return LocalStorage(Path(config["UPLOAD_DIR"] or Path(current_app.instance_path) / "uploads"))


def keys_of_sessions(condition) -> list[str]:
    """The object keys (files and thumbnails) of the attachments of the sessions matching
    `condition`, to delete once their rows are gone."""
    return keys_of_attachments(
        Attachment.session_id.in_(db.select(ChatSession.id).where(condition)))


def keys_of_attachments(condition) -> list[str]:
    """The object keys (files and thumbnails) of the attachments matching `condition`, to
    delete once their rows are gone."""
    rows = db.session.execute(db.select(Attachment.storage_key, Attachment.thumbnail_key)
                              .where(condition)).all()
    return [key for row in rows for key in row if key]


def delete_all(keys: list[str]) -> None:
    """Delete the objects `keys` (those already gone are no matter)."""
    if keys:
        backend = get_storage()
        for key in keys:
            backend.delete(key)


def quarantine(key: str, content_type: str) -> str:
    """Move object `key` under the quarantine prefix, out of reach of any link; its new key."""
    storage = get_storage()
    moved = QUARANTINE_PREFIX + key
    storage.put(moved, storage.get(key), content_type)
    storage.delete(key)
    return moved


def download_url(key: str, name: str, content_type: str) -> str:
    """A short-lived (SIGNED_URL_SECONDS) URL serving object `key` as `name`."""
    return get_storage().signed_url(key, name, content_type,
                                    current_app.config["SIGNED_URL_SECONDS"])


def read_local_link(token: str) -> str:
    """The object key a local download link names; LinkExpired or LinkInvalid when it is not to
    be served."""
    try:
        link = _serializer().loads(token)
    except BadSignature as error:
        raise LinkInvalid from error
    if time.time() >= link["e"]:
        raise LinkExpired
    return link["k"]


def content_disposition(name: str) -> str:
    """An attachment Content-Disposition for `name` (ASCII fallback plus RFC 5987 UTF-8)."""
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="attachment-download")
