"""Remote COGs read in place over HTTP range requests: GDAL's settings for that, in one place."""

import hashlib
from pathlib import Path
from typing import Any

import httpx
from rasterio.session import DummySession

from tiles.errors import IngestError

# How GDAL reads a COG over the network (a linked URL, or /vsis3/ in object storage), as TiTiler
# documents it: no directory listing on open, a bounded wait, merged ranges and HTTP/2 multiplexing,
# a per-file cache of the ranges read (keys and linked versions never change under their name).
GDAL_REMOTE_ENV: dict[str, Any] = {
    # GDAL reads the AWS_* variables itself. Without a session, every rasterio.Env built while
    # they are set makes a boto3 session to look for credentials: ~40 ms per tile.
    "session": DummySession(),
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.tiff,.TIF,.TIFF",
    "GDAL_HTTP_TIMEOUT": "15",
    "GDAL_HTTP_MAX_RETRY": "2",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "GDAL_HTTP_MULTIPLEX": "YES",
    "GDAL_HTTP_VERSION": "2",
    "VSI_CACHE": "TRUE",
    "VSI_CACHE_SIZE": str(8 * 2**20),
}


def is_url(location: str) -> bool:
    """Whether a location is the http(s) URL of a linked COG (read in place, not ours to delete)."""
    return location.startswith(("http://", "https://"))


def is_remote(location: str) -> bool:
    """Whether a scene's location is read over the network: a linked URL, or object storage.

    Such a location is no file of this machine, and its content never changes under its name.
    """
    return is_url(location) or location.startswith(("s3://", "/vsis3/"))


def check_remote(url: str, timeout: float = 15.0) -> str:
    """Refuse a URL that does not answer range requests; return a version from its validators."""
    try:
        r = httpx.get(url, headers={"Range": "bytes=0-15"}, timeout=timeout, follow_redirects=True)
    except httpx.TimeoutException as err:
        raise IngestError(f"{url}: timed out after {timeout:g} s") from err
    except httpx.HTTPError as err:
        raise IngestError(f"{url}: cannot be reached ({err.__class__.__name__})") from err
    if r.status_code != 206:
        raise IngestError(
            f"{url}: does not support HTTP range requests (answered {r.status_code} to a Range request)"
        )
    total = r.headers.get("content-range", "").rpartition("/")[2]
    validator = r.headers.get("etag") or r.headers.get("last-modified") or ""
    return hashlib.sha256(f"{url}|{total}|{validator}".encode()).hexdigest()[:16]


def download(url: str, timeout: float = 15.0) -> Path:
    """Fetch a remote raster to a temporary file (for --copy), with a clear error when that fails."""
    import tempfile

    suffix = Path(url.split("?")[0]).suffix or ".tif"
    fd, name = tempfile.mkstemp(prefix="tumen-download-", suffix=suffix)
    try:
        with (
            httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as r,
            open(fd, "wb") as f,
        ):
            if r.status_code != 200:
                raise IngestError(f"{url}: download failed ({r.status_code})")
            for chunk in r.iter_bytes():
                f.write(chunk)
    except httpx.HTTPError as err:
        Path(name).unlink(missing_ok=True)
        if isinstance(err, httpx.TimeoutException):
            raise IngestError(f"{url}: timed out after {timeout:g} s") from err
        raise IngestError(f"{url}: download failed ({err.__class__.__name__})") from err
    return Path(name)
