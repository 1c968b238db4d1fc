"""Where COGs and baked archives live: the data dir (default) or S3 (``TUMEN_STORAGE_URL=s3://…``).

One seam with two implementations: ``LocalStorage`` (a folder on this machine, as tumen has always
used) and ``S3Storage`` (a bucket and prefix on any S3-compatible server, so that several machines
serve the same imagery). Both put a local file under a key, tell whether a key exists, delete it,
read byte ranges of it, and name it for the catalog (a path, or ``s3://bucket/key``); GDAL reads an
``s3://`` location through ``/vsis3/`` (``gdal_path``).

Keys in object storage are immutable: a scene's COG is ``scenes/{scene}/{version}/{scene}.tif`` and an
archive ``baked/{scene}/{digest}.pmtiles`` (its content hash), so a cached header, directory or block
can never go stale, and a re-ingest or re-bake writes a new key and then switches the catalog.

S3 settings are the standard variables, read by boto3 and GDAL alike: ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``, and the endpoint of a non-AWS server as GDAL names it
(``AWS_S3_ENDPOINT=host:port`` with ``AWS_HTTPS=NO`` for plain HTTP, ``AWS_VIRTUAL_HOSTING=FALSE``)
or as boto3 names it (``AWS_ENDPOINT_URL=http://host:port``); ``s3_environment`` completes one from
the other, in this one place.
"""

import functools
import hashlib
import mmap
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple, Protocol
from urllib.parse import urlsplit

from tiles.errors import StorageUnavailable

S3_SCHEME = "s3://"
VSIS3 = "/vsis3/"
# The first bytes of an archive read at once: PMTiles writers keep header and root directory in them.
HEAD_BYTES = 16_384
# S3's limit of keys in one DeleteObjects request.
DELETE_BATCH = 1000


class RangeSource(Protocol):
    """Bytes of one stored object, read by offset and length (the PMTiles reader's ``get_bytes``)."""

    name: str

    def get_bytes(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes from ``offset`` (fewer at the end of the object)."""
        ...

    def size(self) -> int:
        """The object's length in bytes."""
        ...

    def close(self) -> None:
        """Release what the source holds."""
        ...


class Storage(Protocol):
    """A place for COGs and archives, addressed by keys such as ``scenes/x/v.tif``.

    ``local``: the data dir, where tumen keeps its own file layout (``scenes/{id}.tif``,
    ``baked/{id}.pmtiles``, replaced by rename); otherwise keys are immutable and the catalog
    records each object's location.
    """

    url: str
    local: bool

    def location(self, key: str) -> str:
        """What the catalog records for ``key`` (a path, or ``s3://bucket/prefix/key``)."""
        ...

    def put(self, key: str, src: Path) -> str:
        """Store the local file ``src`` under ``key`` (whole or not at all); returns its location."""
        ...

    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""
        ...

    def delete(self, location: str) -> None:
        """Remove what a location names (nothing happens when it is gone already)."""
        ...

    def open_range(self, location: str) -> RangeSource:
        """A byte-range reader of a stored location."""
        ...

    def check(self) -> None:
        """Raise StorageUnavailable, with a message naming the fault, when it cannot be used."""
        ...


def is_s3(location: str) -> bool:
    """Whether a catalog location names an object in S3 storage."""
    return location.startswith(S3_SCHEME)


def split_s3(location: str) -> tuple[str, str]:
    """``s3://bucket/some/key`` → (bucket, some/key)."""
    parts = urlsplit(location)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"'{location}' is not an s3://bucket/key URL")
    return parts.netloc, parts.path.lstrip("/")


def gdal_path(location: str) -> str:
    """What GDAL opens for a catalog location: ``/vsis3/bucket/key`` for S3, else the location."""
    if is_s3(location):
        bucket, key = split_s3(location)
        return f"{VSIS3}{bucket}/{key}"
    return location


def scene_key(scene_id: str, version: str) -> str:
    """The key of a scene's COG: a new version is a new key, never an overwrite.

    The file keeps the scene's name (GDAL's messages, and the reader's, name a COG by its stem).
    """
    return f"scenes/{scene_id}/{version}/{scene_id}.tif"


def archive_key(scene_id: str, digest: str) -> str:
    """The key of a scene's baked archive, named by its content hash."""
    return f"baked/{scene_id}/{digest}.pmtiles"


def file_digest(path: Path) -> str:
    """Content hash of a file (16 hex digits), the immutable part of its key."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


class FileRange:
    """A local file mapped into memory; a range costs a slice."""

    def __init__(self, path: Path) -> None:
        self.name = path.name
        self._file = open(path, "rb")
        try:
            self._map: mmap.mmap | None = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # an empty file cannot be mapped
            self._map = None

    def get_bytes(self, offset: int, length: int) -> bytes:
        """A slice of the mapping."""
        return self._map[offset : offset + length] if self._map is not None else b""

    def size(self) -> int:
        """The file's length."""
        return len(self._map) if self._map is not None else 0

    def close(self) -> None:
        """Unmap and close the file."""
        if self._map is not None:
            self._map.close()
        self._file.close()


class LocalStorage:
    """Keys are paths under a folder of this machine (the data dir)."""

    local = True

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.url = str(self.root)

    def path(self, key: str) -> Path:
        """The file of ``key``."""
        return self.root / key

    def location(self, key: str) -> str:
        """The file's path."""
        return str(self.path(key))

    def put(self, key: str, src: Path) -> str:
        """Copy ``src`` in under a temporary name, then rename it: readers see it whole or not at all."""
        dst = self.path(key)
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(f".{dst.name}.{os.getpid()}.partial")
        try:
            shutil.copyfile(src, tmp)
            tmp.replace(dst)
        finally:
            tmp.unlink(missing_ok=True)
        return str(dst)

    def exists(self, key: str) -> bool:
        """Whether the file is there."""
        return self.path(key).is_file()

    def delete(self, location: str) -> None:
        """Remove the file, if there."""
        Path(location).unlink(missing_ok=True)

    def open_range(self, location: str) -> RangeSource:
        """The file, memory-mapped."""
        return FileRange(Path(location))

    def check(self) -> None:
        """The folder can be created."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StorageUnavailable(f"data dir {self.root}: {err.strerror}") from err


def s3_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The S3 variables to add to ``env`` so that boto3 and GDAL see the same server.

    GDAL names a non-AWS server ``AWS_S3_ENDPOINT=host:port`` (scheme from ``AWS_HTTPS``), boto3
    ``AWS_ENDPOINT_URL=scheme://host:port``; either is completed from the other. A custom endpoint
    defaults to path-style addressing (``AWS_VIRTUAL_HOSTING=FALSE``), which such servers expect.
    """
    added: dict[str, str] = {}
    url, gdal = env.get("AWS_ENDPOINT_URL"), env.get("AWS_S3_ENDPOINT")
    if url and not gdal:
        parts = urlsplit(url if "://" in url else f"https://{url}")
        added["AWS_S3_ENDPOINT"] = parts.netloc
        if "AWS_HTTPS" not in env:
            added["AWS_HTTPS"] = "NO" if parts.scheme == "http" else "YES"
    elif gdal and not url:
        if "://" in gdal:  # GDAL takes host:port; accept a URL too
            parts = urlsplit(gdal)
            added["AWS_S3_ENDPOINT"] = parts.netloc
            https = parts.scheme != "http"
        else:
            https = env.get("AWS_HTTPS", "YES").upper() not in ("NO", "FALSE", "OFF", "0")
        added["AWS_ENDPOINT_URL"] = (
            f"{'https' if https else 'http'}://{added.get('AWS_S3_ENDPOINT', gdal)}"
        )
        if "AWS_HTTPS" not in env:
            added["AWS_HTTPS"] = "YES" if https else "NO"
    if (url or gdal) and "AWS_VIRTUAL_HOSTING" not in env:
        added["AWS_VIRTUAL_HOSTING"] = "FALSE"
    return added


@functools.lru_cache(maxsize=8)
def _client(
    endpoint: str | None, region: str, key_id: str | None, secret: str | None, virtual: bool
) -> Any:
    """One boto3 client per server and credentials in a process.

    Making one costs ~0.2 s of service-model loading; a client is thread-safe.
    """
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=3,
        read_timeout=20,
        retries={"max_attempts": 2, "mode": "standard"},
        max_pool_connections=64,
        s3={"addressing_style": "virtual" if virtual else "path"},
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=config,
    )


class S3Objects:
    """Any ``s3://`` location, read and written through one boto3 client (thread-safe).

    Every failure to reach the server, or a refusal of the credentials, is StorageUnavailable with a
    message naming the endpoint; a missing key is FileNotFoundError.
    """

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = dict(os.environ if env is None else env)
        env |= s3_environment(env)
        self.endpoint = env.get("AWS_ENDPOINT_URL")
        self.client: Any = _client(
            self.endpoint,
            env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            env.get("AWS_ACCESS_KEY_ID"),
            env.get("AWS_SECRET_ACCESS_KEY"),
            env.get("AWS_VIRTUAL_HOSTING", "TRUE").upper() not in ("FALSE", "NO", "0"),
        )

    def where(self) -> str:
        """The server, for messages."""
        return self.endpoint or "AWS S3"

    def call(self, what: str, method: str, **params: Any) -> Any:
        """One client call; its failures become StorageUnavailable or FileNotFoundError."""
        with self.reported(what, method):
            return getattr(self.client, method)(**params)

    def pages(self, what: str, method: str, **params: Any) -> Iterator[Any]:
        """Every page of a paginated call (boto3's paginator), failures reported as ``call`` does."""
        pages = iter(self.client.get_paginator(method).paginate(**params))
        while True:
            with self.reported(what, method):
                page = next(pages, None)
            if page is None:
                return
            yield page

    @contextmanager
    def reported(self, what: str, method: str) -> Iterator[None]:
        """Turn boto3's failures of ``method`` into StorageUnavailable, FileNotFoundError or EOFError."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as err:
            error = err.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code in ("NoSuchKey", "404", "NotFound") and method != "head_bucket":
                raise FileNotFoundError(f"{what}: no such object") from err
            if code == "InvalidRange":
                raise EOFError(what) from err
            raise StorageUnavailable(
                f"S3 at {self.where()} refused {what}: {code or status} "
                f"{error.get('Message', '')}".rstrip()
            ) from err
        except BotoCoreError as err:
            raise StorageUnavailable(f"S3 at {self.where()} cannot be reached ({err})") from err

    def get_range(self, location: str, offset: int, length: int) -> tuple[bytes, int]:
        """``length`` bytes from ``offset`` in one ranged GET, and the object's total size."""
        bucket, key = split_s3(location)
        try:
            r = self.call(
                location,
                "get_object",
                Bucket=bucket,
                Key=key,
                Range=f"bytes={offset}-{offset + length - 1}",
            )
        except EOFError:
            return b"", -1
        total = str(r.get("ContentRange", "")).rpartition("/")[2]
        from botocore.exceptions import BotoCoreError

        try:
            body = r["Body"].read()
        except BotoCoreError as err:
            raise StorageUnavailable(f"S3 at {self.where()} broke off a read ({err})") from err
        return body, int(total) if total.isdigit() else int(r.get("ContentLength", len(body)))

    def open_range(self, location: str) -> "S3Range":
        """A byte-range reader of one object (nothing is read until asked)."""
        return S3Range(self, location)

    def exists(self, location: str) -> bool:
        """A HEAD of the object."""
        bucket, key = split_s3(location)
        try:
            self.call(location, "head_object", Bucket=bucket, Key=key)
        except FileNotFoundError:
            return False
        return True

    def put(self, location: str, src: Path) -> str:
        """Upload a file (multipart when large); S3 shows an object only once it is whole."""
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import BotoCoreError, ClientError

        bucket, key = split_s3(location)
        try:
            self.client.upload_file(str(src), bucket, key)
        except (S3UploadFailedError, ClientError, BotoCoreError) as err:
            raise StorageUnavailable(
                f"S3 at {self.where()}: upload of {location} failed ({err})"
            ) from err
        return location

    def delete(self, location: str) -> None:
        """Remove an object (S3 answers a missing key with success)."""
        bucket, key = split_s3(location)
        self.call(location, "delete_object", Bucket=bucket, Key=key)


class S3Range:
    """One object read by ranged GETs; its size is learnt from the first answer."""

    def __init__(self, objects: S3Objects, location: str) -> None:
        self.objects = objects
        self.location = location
        self.name = location
        self._size: int | None = None

    def get_bytes(self, offset: int, length: int) -> bytes:
        """One GET of the range."""
        if length <= 0:
            return b""
        data, total = self.objects.get_range(self.location, offset, length)
        if total >= 0:
            self._size = total
        return data

    def size(self) -> int:
        """The length, from the first read (one HEAD when nothing was read yet)."""
        if self._size is None:
            bucket, key = split_s3(self.location)
            head = self.objects.call(self.location, "head_object", Bucket=bucket, Key=key)
            self._size = int(head["ContentLength"])
        return self._size

    def close(self) -> None:
        """Nothing held: the client's connections are shared."""


class StoredObject(NamedTuple):
    """One object of a listing: its key (relative to the prefix), length, and when it was written."""

    key: str
    size: int
    modified: datetime


@dataclass
class S3Storage:
    """A bucket and prefix (``s3://bucket/prefix``) of an S3-compatible server."""

    url: str
    objects: S3Objects
    local = False

    def __post_init__(self) -> None:
        self.bucket, prefix = split_s3(self.url.rstrip("/") + "/")
        self.prefix = prefix.strip("/")

    def location(self, key: str) -> str:
        """``s3://bucket/prefix/key``."""
        return f"{S3_SCHEME}{self.bucket}/{self.base}{key}"

    def put(self, key: str, src: Path) -> str:
        """Upload ``src`` under ``key``."""
        return self.objects.put(self.location(key), src)

    def exists(self, key: str) -> bool:
        """Whether ``key`` is stored."""
        return self.objects.exists(self.location(key))

    def delete(self, location: str) -> None:
        """Remove an object."""
        self.objects.delete(location)

    def open_range(self, location: str) -> RangeSource:
        """Ranged GETs of an object."""
        return self.objects.open_range(location)

    @property
    def base(self) -> str:
        """What every key of this storage starts with in the bucket (the prefix and a slash)."""
        return f"{self.prefix}/" if self.prefix else ""

    def keys(self, under: str = "") -> Iterator[str]:
        """Every key below ``under`` (relative to the prefix), for tests and tools."""
        return (stored.key for stored in self.listing(under))

    def listing(self, under: str = "") -> Iterator[StoredObject]:
        """Every object below ``under`` (keys relative to the prefix), a page of 1000 at a time."""
        params = {"Bucket": self.bucket, "Prefix": self.base + under}
        for page in self.objects.pages(self.url, "list_objects_v2", **params):
            for item in page.get("Contents", []):
                yield StoredObject(
                    str(item["Key"])[len(self.base) :], int(item["Size"]), item["LastModified"]
                )

    def delete_keys(self, keys: Sequence[str]) -> dict[str, str]:
        """Remove up to 1000 keys in one request; what could not be removed, key → reason.

        A request that fails as a whole fails every key of it, with the one reason.
        """
        if len(keys) > DELETE_BATCH:
            raise ValueError(f"at most {DELETE_BATCH} keys per request, not {len(keys)}")
        if not keys:
            return {}
        request = {"Objects": [{"Key": self.base + key} for key in keys], "Quiet": True}
        try:
            answer = self.objects.call(
                self.url, "delete_objects", Bucket=self.bucket, Delete=request
            )
        except StorageUnavailable as err:
            return dict.fromkeys(keys, str(err))
        failed: dict[str, str] = {}
        for error in answer.get("Errors", []):
            key = str(error.get("Key", "")).removeprefix(self.base)
            failed[key] = f"{error.get('Code', '')} {error.get('Message', '')}".strip()
        return failed

    def check(self) -> None:
        """One HEAD of the bucket: reachable, the bucket exists, the credentials are accepted."""
        try:
            self.objects.call(self.url, "head_bucket", Bucket=self.bucket)
        except StorageUnavailable as err:
            cause = err.__cause__
            status = 0
            if cause is not None and hasattr(cause, "response"):
                status = cause.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if status == 404:
                raise StorageUnavailable(
                    f"TUMEN_STORAGE_URL={self.url}: bucket '{self.bucket}' does not exist at "
                    f"{self.objects.where()}"
                ) from err
            if status in (401, 403):
                raise StorageUnavailable(
                    f"TUMEN_STORAGE_URL={self.url}: {self.objects.where()} refused the "
                    "credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)"
                ) from err
            raise StorageUnavailable(f"TUMEN_STORAGE_URL={self.url}: {err}") from err


def gdal_reads_aws_variables() -> None:
    """Leave the AWS_* variables to GDAL, which reads them itself for /vsis3/.

    While they are set, rasterio builds a boto3 session to look the credentials up again in every
    ``rasterio.Env`` made without one (~40 ms each; rio-tiler makes some per tile). tumen never
    hands rasterio an ``s3://`` URL (it opens ``/vsis3/`` paths), so that session adds nothing:
    rasterio is told boto3 is absent, and uses its plain session.
    """
    import rasterio.session

    rasterio.session.boto3 = None


def open_storage(url: str | None, data_dir: Path) -> LocalStorage | S3Storage:
    """The storage a ``TUMEN_STORAGE_URL`` names: None is the data dir, ``s3://bucket/prefix`` S3.

    Opening S3 completes the S3 variables of this process (``s3_environment``), so GDAL's /vsis3/
    and every child process (the baker, its workers) reach the same server as boto3.
    """
    if url is None or url == "":
        return LocalStorage(data_dir)
    if not is_s3(url):
        raise StorageUnavailable(
            f"TUMEN_STORAGE_URL={url}: not understood; use s3://bucket/prefix (or leave it unset "
            "for the data dir)"
        )
    os.environ.update(s3_environment(os.environ))
    gdal_reads_aws_variables()
    return S3Storage(url, S3Objects())
