"""Security headers on every response.

django-csp builds the Content-Security-Policy from ``settings.CONTENT_SECURITY_POLICY``; this
subclass only adds what neither it nor Django 5.2's SecurityMiddleware sends. HSTS, nosniff,
Referrer-Policy and Cross-Origin-Opener-Policy stay with Django's SecurityMiddleware.
"""

from __future__ import annotations

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase


class SecurityHeadersMiddleware(CSPMiddleware):
    """The site's CSP, plus a Permissions-Policy that turns off device APIs no page uses."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        response = super().process_response(request, response)
        policy = settings.BROADSHEET_PERMISSIONS_POLICY
        if policy and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = policy
        return response
