"""Remote COGs read in place over HTTP range requests: GDAL's settings for that, in one place."""

import hashlib
from pathlib import Path

import httpx

from tiles.errors import IngestError

# How GDAL reads a linked COG: no directory listing, a bounded wait, merged ranges, a block cache.
GDAL_REMOTE_ENV: dict[str, str] = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.tiff,.TIF,.TIFF",
    "GDAL_HTTP_TIMEOUT": "15",
    "GDAL_HTTP_MAX_RETRY": "2",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "VSI_CACHE": "TRUE",
}


def is_remote(location: str) -> bool:
    """Whether a scene's location is a URL rather than a file."""
    return location.startswith(("http://", "https://"))


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
