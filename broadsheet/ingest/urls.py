"""URL normalization: one canonical spelling per page, so the same article found through two
feeds (or with two campaigns' tracking tags) is stored once."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from urllib.parse import SplitResult, quote, urljoin, urlsplit, urlunsplit

import idna

from broadsheet.ingest.errors import ErrorKind, PipelineError

# Parameters that only say how a reader arrived (campaign, click id, mailing), never which page
# they asked for. Anything not named here is kept: an unknown parameter may select the content.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "wbraid", "gbraid",
        "twclid", "ttclid", "li_fat_id", "igshid", "igsh", "srsltid",
        "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "__hssc", "__hstc", "__hsfp",
        "hsctatracking", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "vero_conv",
        "wickedid", "_openstat", "ref_src", "ref_url", "rb_clickid", "s_kwcid", "ef_id",
        "xtor", "cmpid", "ncid", "sr_share", "at_medium", "at_campaign",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_", "ns_", "hmb_", "pk_", "mtm_", "piwik_", "matomo_")

DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_CHARS = re.compile(r"^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$")
# Tab, CR and LF are dropped by urllib itself (as browsers do); the rest never belong in a URL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")
# RFC 3986 reserved and unreserved characters, plus "%" so existing escapes survive quoting.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


def normalize_url(url: str, base: str | None = None) -> str:
    """Return the canonical http(s) form of ``url`` (resolved against ``base`` when relative).

    Raises ``PipelineError(bad_url)`` for anything that is not an absolute http(s) URL with a host.
    """
    try:
        parts = urlsplit(urljoin(base, url.strip()) if base else url.strip())
        port = parts.port
        url.encode("utf-8")  # a lone surrogate can be neither quoted nor stored
        if _CONTROL.search(url):
            raise ValueError("control character")
    except (ValueError, AttributeError, TypeError) as exc:
        raise PipelineError(ErrorKind.BAD_URL, f"malformed URL {url!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise PipelineError(ErrorKind.BAD_URL, f"not an http(s) URL: {url!r}")
    netloc = _netloc(parts, _host(parts.hostname, url), port, scheme)
    path = _fix_escapes(quote(_remove_dot_segments(parts.path), safe=_PATH_SAFE)) or "/"
    query = _fix_escapes(quote(_strip_tracking(parts.query), safe=_QUERY_SAFE))
    return urlunsplit((scheme, netloc, path, query, ""))


def url_key(url: str) -> str:
    """A fixed-length key of the normalized URL, for unique indexes and dedupe."""
    return hashlib.sha256(normalize_url(url).encode("utf-8")).hexdigest()[:32]


def is_tracking_param(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def _host(hostname: str | None, url: str) -> str:
    if not hostname:
        raise PipelineError(ErrorKind.BAD_URL, f"URL has no host: {url!r}")
    if ":" in hostname:
        return _ipv6_host(hostname, url)
    labels = hostname.rstrip(".").split(".")
    try:
        host = ".".join(_ascii_label(label) for label in labels)
    except idna.IDNAError as exc:
        raise PipelineError(ErrorKind.BAD_URL, f"invalid host name in {url!r}: {exc}") from exc
    if not _HOST_CHARS.match(host):
        raise PipelineError(ErrorKind.BAD_URL, f"invalid host name in {url!r}")
    return host


def _ascii_label(label: str) -> str:
    # Only non-ASCII labels go through IDNA: strict IDNA rejects the underscores that some real
    # ASCII host names carry, and those must still normalize.
    if label.isascii():
        return label.lower()
    return idna.encode(label, uts46=True).decode("ascii")


def _ipv6_host(hostname: str, url: str) -> str:
    try:
        return f"[{ipaddress.IPv6Address(hostname).compressed}]"
    except ValueError as exc:
        raise PipelineError(ErrorKind.BAD_URL, f"invalid IPv6 host in {url!r}") from exc


def _netloc(parts: SplitResult, host: str, port: int | None, scheme: str) -> str:
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    # Credentials are kept as written: they select a private feed, so they are part of its identity.
    userinfo, at, _ = parts.netloc.rpartition("@")
    return f"{userinfo}{at}{netloc}"


def _remove_dot_segments(path: str) -> str:
    if "." not in path:
        return path
    # Joining onto a dummy origin applies RFC 3986's dot-segment removal; the origin is dropped.
    return urlsplit(urljoin("http://x/", path)).path if path.startswith("/") else path


def _strip_tracking(query: str) -> str:
    """Drop tracking pairs while keeping every other pair byte for byte and in order."""
    kept = [pair for pair in query.split("&") if pair and not _is_tracking_pair(pair)]
    return "&".join(kept)


def _is_tracking_pair(pair: str) -> bool:
    return is_tracking_param(pair.split("=", 1)[0])


def _fix_escapes(text: str) -> str:
    # "%c3%a9" and "%C3%A9" name the same bytes; one spelling keeps the hash stable.
    return _ESCAPE.sub(lambda match: match.group(0).upper(), text)
