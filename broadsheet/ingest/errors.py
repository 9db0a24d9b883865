"""Classified pipeline errors.

Every stage reports failure as one of a small, fixed set of kinds, decided once at the boundary
where the failure happened. Rows store the kind and message in ``last_error`` and count repeats,
so the scheduler and the admin can reason about "DNS keeps failing" without parsing tracebacks.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class ErrorKind(StrEnum):
    TIMEOUT = "timeout"
    DNS = "dns"
    REFUSED = "refused"
    CONNECTION = "connection"
    TLS = "tls"
    HTTP_4XX = "http_4xx"
    HTTP_5XX = "http_5xx"
    BAD_RESPONSE = "bad_response"
    TOO_LARGE = "too_large"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    REDIRECT_LOOP = "redirect_loop"
    BAD_CONTENT_TYPE = "bad_content_type"
    NOT_A_FEED = "not_a_feed"
    NOT_AN_ARTICLE = "not_an_article"
    BLOCKED_ADDRESS = "blocked_address"
    ROBOTS = "robots"
    BAD_URL = "bad_url"
    DECODE = "decode"
    # A bug of ours met on this input: logged with its traceback, stored like any other kind.
    INTERNAL = "internal"


class PipelineError(Exception):
    """A failure the pipeline understands: a kind to store and count, and a one-line message."""

    def __init__(self, kind: ErrorKind | str, message: str) -> None:
        self.kind = ErrorKind(kind)
        self.message = message
        super().__init__(kind, message)

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"

    def __reduce__(self):
        # Task backends may pickle exceptions; the default would call __init__ with .args only.
        return (_rebuild, (type(self), self.__dict__))


class FetchError(PipelineError):
    """A fetch that did not produce a usable response."""

    def __init__(
        self,
        kind: ErrorKind | str,
        message: str,
        *,
        url: str | None = None,
        status: int | None = None,
        retry_after: datetime | None = None,
    ) -> None:
        super().__init__(kind, message)
        self.url = url
        self.status = status
        self.retry_after = retry_after


def _rebuild(cls: type[PipelineError], state: dict) -> PipelineError:
    error = cls.__new__(cls)
    Exception.__init__(error, state["kind"], state["message"])
    error.__dict__.update(state)
    return error
