"""LabArchives ELN API hosts by region (§1.1) and validation of custom base URLs."""

from __future__ import annotations

import ipaddress
from types import MappingProxyType
from typing import Final
from urllib.parse import urlsplit

from labmcp.errors import ConfigError

API_BASES: Final = MappingProxyType(
    {
        "us": "https://api.labarchives.com/api",
        "ca": "https://caapi.labarchives.com/api",
        "au": "https://auapi.labarchives.com/api",
        "uk": "https://ukapi.labarchives.com/api",
        "eu": "https://euapi.labarchives.com/api",
        "gov": "https://api.labarchives-gov.com/api",
    }
)

WEB_HOSTS: Final = MappingProxyType(
    {
        "https://api.labarchives.com/api": "https://mynotebook.labarchives.com",
        "https://caapi.labarchives.com/api": "https://ca-mynotebook.labarchives.com",
        "https://auapi.labarchives.com/api": "https://au-mynotebook.labarchives.com",
        "https://ukapi.labarchives.com/api": "https://uk-mynotebook.labarchives.com",
        "https://euapi.labarchives.com/api": "https://eu-mynotebook.labarchives.com",
        "https://api.labarchives-gov.com/api": "https://mynotebook.labarchives-gov.com",
    }
)


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and any 127.0.0.0/8 or ::1 literal."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_api_base(region: str, custom_base: str | None) -> str:
    """Return the API base URL (no trailing slash): a custom base wins over the region.

    HTTPS is required (§1.1); plain ``http://`` is accepted only for a loopback host, where the
    fake server and tests live.
    """
    if custom_base:
        parts = urlsplit(custom_base.strip())
        host = parts.hostname or ""
        if parts.scheme not in ("https", "http") or not host:
            raise ConfigError(f"LABARCHIVES_API_BASE must be an http(s) URL, got {custom_base!r}")
        if parts.scheme == "http" and not is_loopback_host(host):
            raise ConfigError("LABARCHIVES_API_BASE may use plain http:// only for a loopback host")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ConfigError("LABARCHIVES_API_BASE must not carry a query, fragment or credentials")
        return custom_base.strip().rstrip("/")
    try:
        return API_BASES[region.strip().lower()]
    except KeyError:
        known = ", ".join(API_BASES)
        raise ConfigError(f"LABARCHIVES_REGION must be one of {known}; got {region!r}") from None


def web_host_for(api_base: str) -> str:
    """The browser host that matches an API base, for links back to pages (§6.8)."""
    return WEB_HOSTS.get(api_base, api_base.removesuffix("/api"))


def resolve_web_host(region: str, custom_base: str | None, custom_host: str | None) -> str:
    """The web UI host for links (§1.1, §6.8): ``custom_host``, else the region's, never the API host.

    A custom API base (a proxy, a test server) says nothing about where people read their notebooks,
    so links follow the region unless ``LABARCHIVES_WEB_HOST`` says otherwise; the fake's demo sets
    its own host. The host must be an http(s) URL without path, query or credentials.
    """
    if custom_host:
        parts = urlsplit(custom_host.strip())
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ConfigError(f"LABARCHIVES_WEB_HOST must be an http(s) URL, got {custom_host!r}")
        if parts.query or parts.fragment or parts.username or parts.password or parts.path.strip("/"):
            raise ConfigError("LABARCHIVES_WEB_HOST must be a bare host URL (no path, query or credentials)")
        return custom_host.strip().rstrip("/")
    del custom_base  # a custom API base never changes where links point
    return web_host_for(resolve_api_base(region, None))
