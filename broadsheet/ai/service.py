"""AI features for one article, produced once and cached.

The result is stored per article, kind, backend and prompt version (and question, for
answers), so a page asks for it as often as readers open it and the work is done once. Every
sentence carries the indexes of the article sentences it came from, and the payload carries
those sentences' text so that the page can find and highlight them.
"""

from __future__ import annotations

import hashlib
import re

from django.db import IntegrityError

from broadsheet.ai.models import AIResult
from broadsheet.ai.sentences import split_sentences
from broadsheet.articles.models import Article

OFFLINE = "offline"
OFFLINE_VERSION = "3"  # 2: questions read as readers put them; pointers to other reports skipped
# 3: a question word the article never uses stands for its nearest word in meaning, and a
# compound ("ransomware") no longer matches the word it starts with ("ransom")
MAX_QUESTION = 300


def normalize_question(question: str) -> str:
    return re.sub(r"\s+", " ", question).strip()[:MAX_QUESTION]


def question_key(question: str) -> str:
    folded = normalize_question(question).lower().rstrip("?!. ")
    return hashlib.sha256(folded.encode()).hexdigest() if folded else ""


def produce(kind: str, article: Article, question: str) -> tuple[list, bool, int, str, str]:
    """(sentences, found, dropped, backend, prompt version): the LLM when configured and
    grounded, else the offline method (which the LLM module falls back to by itself)."""
    from broadsheet.ai import llm

    made = llm.generate(kind, article.title, article.text, question=question or None)
    return (
        made.sentences,
        made.found,
        made.dropped,
        made.backend,
        made.prompt_version or OFFLINE_VERSION,
    )


def payload(article: Article, cited: list, found: bool) -> dict:
    sentences = split_sentences(article.text)
    used = sorted({i for item in cited for i in item.citations if 0 <= i < len(sentences)})
    return {
        "found": found,
        "sentences": [{"text": item.text, "citations": list(item.citations)} for item in cited],
        "sources": {str(i): sentences[i] for i in used},
    }


def cached_result(article: Article, kind: str, question: str = "") -> AIResult:
    question = normalize_question(question)
    key = question_key(question) if kind == AIResult.Kind.ANSWER else ""
    found = AIResult.objects.filter(article=article, kind=kind, question_key=key).order_by(
        "-created_at"
    )
    for result in found:
        if result.backend == current_backend() and result.prompt_version == current_version():
            return result
    cited, answered, dropped, backend, version = produce(kind, article, question)
    values = {
        "payload": payload(article, cited, answered),
        "dropped": dropped,
        "question": question,
    }
    try:
        result, _ = AIResult.objects.get_or_create(
            article=article,
            kind=kind,
            backend=backend,
            prompt_version=version,
            question_key=key,
            defaults=values,
        )
    except IntegrityError:  # another request stored the same result a moment ago
        result = AIResult.objects.get(
            article=article, kind=kind, backend=backend, prompt_version=version, question_key=key
        )
    return result


def current_backend() -> str:
    from broadsheet.ai import llm

    try:
        backend = llm.configured_backend()
    except llm.LLMError:
        return OFFLINE
    return backend.name if backend else OFFLINE


def current_version() -> str:
    from broadsheet.ai import llm

    return llm.PROMPT_VERSION if current_backend() != OFFLINE else OFFLINE_VERSION
