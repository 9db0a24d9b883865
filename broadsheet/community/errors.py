"""What can go wrong with a reader's request, each with the HTTP status it answers with."""

from __future__ import annotations


class CommunityError(Exception):
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadInput(CommunityError):
    status = 400


class NotAllowed(CommunityError):
    status = 403


class RateLimited(CommunityError):
    status = 429
