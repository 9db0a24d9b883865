"""Broadsheet's URLs plus /bench/minimal/: the same server and middleware, with no work at all."""

from django.http import HttpResponse
from django.urls import include, path


def minimal(request):
    return HttpResponse(b"ok\n", content_type="text/plain")


urlpatterns = [path("bench/minimal/", minimal), path("", include("broadsheet.urls"))]
