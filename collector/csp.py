"""The Content-Security-Policy every response carries: no inline scripts or styles, nothing
from elsewhere except the configured map tiles (images only)."""

from __future__ import annotations

from urllib.parse import urlsplit


def tile_origin(tile_url: str) -> str | None:
    """The origin of an XYZ tile URL template, for img-src; None when there are no tiles.

    A `{s}` (subdomain) placeholder in the host becomes a wildcard.
    """
    if not tile_url:
        return None
    parts = urlsplit(tile_url.replace("{s}", "SUBDOMAIN"))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"TILE_URL must be an http(s) URL template, not {tile_url!r}")
    host = parts.netloc.replace("SUBDOMAIN", "*")
    return f"{parts.scheme}://{host}"


def content_security_policy(tile_url: str) -> str:
    origin = tile_origin(tile_url)
    img = "'self' data: blob:" + (f" {origin}" if origin else "")
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src {img}",
        "connect-src 'self'",
        "font-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])
