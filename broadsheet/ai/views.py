"""JSON endpoints for the article page's AI box: loaded on demand, cached per article."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET, require_POST

from broadsheet.ai import service
from broadsheet.ai.models import AIResult
from broadsheet.articles.models import Article
from broadsheet.core.ratelimit import client_ip, hit


def public_article(pk: int) -> Article:
    return get_object_or_404(Article, pk=pk, state=Article.State.DONE)


def result_json(result: AIResult) -> JsonResponse:
    body = {"kind": result.kind, "backend": result.backend, **result.payload}
    if result.question:
        body["question"] = result.question
    return JsonResponse(body)


def error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@require_GET
def summary(request: HttpRequest, pk: int) -> JsonResponse:
    return result_json(service.cached_result(public_article(pk), AIResult.Kind.SUMMARY))


@require_GET
def key_points(request: HttpRequest, pk: int) -> JsonResponse:
    return result_json(service.cached_result(public_article(pk), AIResult.Kind.KEY_POINTS))


@require_POST
def ask(request: HttpRequest, pk: int) -> JsonResponse:
    article = public_article(pk)
    question = service.normalize_question(request.POST.get("question", ""))
    if len(request.POST.get("question", "")) > service.MAX_QUESTION:
        return error(f"Questions are limited to {service.MAX_QUESTION} characters.", 400)
    if len(question) < 3:
        return error("Ask a question about the article.", 400)
    limit, window = settings.BROADSHEET_ASK_RATE
    if not hit("ask", client_ip(request), limit, window):
        return error("Too many questions; try again in a minute.", 429)
    return result_json(service.cached_result(article, AIResult.Kind.ANSWER, question))
