"""The optional language-model backend, and the one function callers use for AI text.

Any server that speaks the OpenAI chat API will do (Ollama, vLLM, llama.cpp's server, hosted
APIs); it is configured only by environment variables, through settings:

- ``BROADSHEET_LLM_BASE_URL``: e.g. ``http://127.0.0.1:11434/v1``; empty means no model, and
  every feature answers offline.
- ``BROADSHEET_LLM_MODEL``: the model name the server expects.
- ``BROADSHEET_LLM_API_KEY``: only for servers that ask for one.
- ``BROADSHEET_LLM_TIMEOUT``: seconds for one request; ``BROADSHEET_LLM_MAX_TOKENS``: reply cap.

The model never speaks to a reader directly: ``generate`` passes every sentence it writes
through ``grounding.check``, and falls back to the offline method when the server fails, times
out, or writes nothing the article supports.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, field

import openai
from django.conf import settings

from broadsheet.ai import offline
from broadsheet.ai.grounding import check
from broadsheet.ai.offline import Cited
from broadsheet.ai.sentences import split_sentences

logger = logging.getLogger(__name__)

# Part of every cache key: change it whenever a prompt changes, so old answers are not reused.
PROMPT_VERSION = "1"
KINDS = ("summary", "key_points", "answer")
# Small local models have 2k-4k token windows; about 6,000 characters of article fit with room
# for the instructions and the reply.
PROMPT_CHARS = 6000
MAX_QUESTION_CHARS = 500
NOT_FOUND_REPLY = "NOT IN ARTICLE"
# Below these counts a grounded reply is too thin to show, and the offline method is better.
MIN_KEPT = {"summary": 2, "key_points": 3, "answer": 1}
MAX_KEPT = {"summary": 4, "key_points": 5, "answer": 3}

SYSTEM_PROMPT = (
    "You help readers of a news site. Use only facts stated in the numbered article. "
    "Never add names, numbers or dates that the article does not give. After every sentence "
    "you write, cite the article sentence it comes from by its number in square brackets, "
    "like [3]."
)
TASKS = {
    "summary": "Summarise the article in 3 short sentences.",
    "key_points": "List the 3 to 5 key points of the article, one per line, each starting "
    'with "- ".',
    "answer": "Answer the reader's question in one or two sentences, using only the article. "
    f"If the article does not answer it, reply exactly: {NOT_FOUND_REPLY}\n\nQuestion: ",
}


class LLMError(Exception):
    """A failed model call, classified once here so callers can log it and fall back."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind = kind


@dataclass(frozen=True)
class LLMConfig:
    base_url: str
    model: str
    api_key: str
    timeout: float
    max_tokens: int

    @classmethod
    def from_settings(cls) -> LLMConfig:
        return cls(
            base_url=str(getattr(settings, "BROADSHEET_LLM_BASE_URL", "") or "").strip(),
            model=str(getattr(settings, "BROADSHEET_LLM_MODEL", "") or "").strip(),
            api_key=str(getattr(settings, "BROADSHEET_LLM_API_KEY", "") or ""),
            timeout=float(getattr(settings, "BROADSHEET_LLM_TIMEOUT", 30.0)),
            max_tokens=int(getattr(settings, "BROADSHEET_LLM_MAX_TOKENS", 400)),
        )

    def problem(self) -> str:
        """What is wrong with this configuration and how to fix it, or "" when it is usable."""
        if not re.match(r"https?://", self.base_url):
            return "BROADSHEET_LLM_BASE_URL must start with http:// or https://"
        if not self.model:
            return "BROADSHEET_LLM_MODEL is empty: set it to a model name the server serves"
        return ""


class LLMBackend:
    """Chat completions from one OpenAI-compatible server; returns the model's raw lines."""

    def __init__(self, config: LLMConfig):
        problem = config.problem()
        if problem:
            raise LLMError("not_configured", problem)
        self.config = config
        self.name = f"llm:{config.model}"
        # Retries are off: a slow server should hand over to the offline method at once,
        # not hold a reader's request for several timeouts in a row.
        self.client = openai.OpenAI(
            base_url=config.base_url,
            api_key=config.api_key or "unused",
            timeout=config.timeout,
            max_retries=0,
        )

    def summarize(self, title: str, sentences: list[str]) -> list[str]:
        return self.complete(prompt("summary", title, sentences))

    def key_points(self, title: str, sentences: list[str]) -> list[str]:
        return self.complete(prompt("key_points", title, sentences))

    def answer(self, question: str, title: str, sentences: list[str]) -> list[str]:
        """The answer's lines; an empty list when the model says the article does not say."""
        lines = self.complete(prompt("answer", title, sentences, question))
        return [] if any(NOT_FOUND_REPLY in line.upper() for line in lines) else lines

    def complete(self, user_prompt: str) -> list[str]:
        try:
            reply = self.client.chat.completions.create(
                model=self.config.model,
                messages=[
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": user_prompt},
                ],
                max_tokens=self.config.max_tokens,
                temperature=0,
            )
        except (openai.OpenAIError, ValueError) as exc:
            # ValueError: a 200 reply whose body is not the JSON the API promises.
            raise classify(exc) from exc
        return reply_lines(reply)


def reply_lines(reply) -> list[str]:
    """The non-blank lines of the first choice; a reply without text is an error."""
    choices = getattr(reply, "choices", None) or []
    message = getattr(choices[0], "message", None) if choices else None
    content = getattr(message, "content", None)
    if not isinstance(content, str) or not content.strip():
        raise LLMError("empty", "the server replied without any text")
    return [line.strip() for line in content.splitlines() if line.strip()]


def classify(exc: Exception) -> LLMError:
    """Name the failure once, at the boundary, the way fetch errors are named."""
    kinds = (
        (openai.APITimeoutError, "timeout"),
        (openai.APIConnectionError, "connection"),
        (openai.AuthenticationError, "auth"),
        (openai.PermissionDeniedError, "auth"),
        (openai.RateLimitError, "rate_limit"),
        (openai.InternalServerError, "server"),
        (openai.APIStatusError, "request"),
    )
    kind = next((k for cls, k in kinds if isinstance(exc, cls)), "bad_response")
    return LLMError(kind, str(exc)[:300])


def prompt(kind: str, title: str, sentences: list[str], question: str = "") -> str:
    """The article as numbered sentences, then the task; the numbers are what the model cites."""
    lines, used = [], 0
    for number, sentence in enumerate(sentences, start=1):
        line = f"[{number}] {_unmark(sentence)}"
        used += len(line)
        if used > PROMPT_CHARS:
            break
        lines.append(line)
    task = TASKS[kind]
    if kind == "answer":
        task += _unmark(question[:MAX_QUESTION_CHARS])
    return f"Article: {_unmark(title)}\n\n" + "\n".join(lines) + f"\n\n{task}"


def _unmark(text: str) -> str:
    """Bracketed numbers in the article itself would read as citations; make them plain."""
    return re.sub(r"\[(\d+)\]", r"(\1)", " ".join(str(text).split()))


@functools.lru_cache(maxsize=4)
def _backend_for(config: LLMConfig) -> LLMBackend:
    return LLMBackend(config)


def configured_backend() -> LLMBackend | None:
    """The backend the settings describe, or None when no model is configured."""
    config = LLMConfig.from_settings()
    return _backend_for(config) if config.base_url else None


# --- what callers use ----------------------------------------------------------------------


@dataclass
class Generation:
    """AI text for one article, every sentence citing 0-based article sentence indexes.

    ``dropped`` counts model sentences the checker refused, even when they made the result
    fall back to the offline method; ``error`` names why the model was not used ("" if it was).
    """

    sentences: list[Cited]
    backend: str
    dropped: int = 0
    found: bool = True
    prompt_version: str = ""
    error: str = ""
    reasons: list[str] = field(default_factory=list)


def generate(kind: str, title: str, text: str, question: str | None = None) -> Generation:
    """A summary, key points or an answer: from the model when configured and grounded."""
    if kind not in KINDS:
        raise ValueError(f"unknown AI kind {kind!r}; expected one of {', '.join(KINDS)}")
    try:
        backend = configured_backend()
    except LLMError as exc:
        logger.warning("LLM backend unusable, answering offline: %s", exc)
        return offline_generation(kind, title, text, question, error=exc.kind)
    if backend is None:
        return offline_generation(kind, title, text, question)
    return model_generation(backend, kind, title, text, question or "")


def model_generation(
    backend: LLMBackend, kind: str, title: str, text: str, question: str
) -> Generation:
    article = split_sentences(text)
    try:
        lines = ask(backend, kind, title, article, question)
    except LLMError as exc:
        logger.warning("LLM call failed, answering offline: %s", exc)
        return offline_generation(kind, title, text, question, error=exc.kind)
    if kind == "answer" and not lines:
        return offline_generation(kind, title, text, question, error="model_found_nothing")
    result = check(lines, article, title=title)
    kept = _unique(result.kept)[: MAX_KEPT[kind]]
    reasons = [d.reason for d in result.dropped]
    if len(kept) < MIN_KEPT[kind]:
        fallback = offline_generation(kind, title, text, question, error="ungrounded")
        fallback.dropped, fallback.reasons = len(result.dropped), reasons
        return fallback
    return Generation(kept, backend.name, len(result.dropped), True, PROMPT_VERSION, "", reasons)


def ask(backend: LLMBackend, kind: str, title: str, article: list[str], question: str):
    if kind == "summary":
        return backend.summarize(title, article)
    if kind == "key_points":
        return backend.key_points(title, article)
    return backend.answer(question, title, article)


def offline_generation(
    kind: str, title: str, text: str, question: str | None, error: str = ""
) -> Generation:
    if kind == "summary":
        return Generation(offline.summarize(title, text), "offline", error=error)
    if kind == "key_points":
        return Generation(offline.key_points(title, text), "offline", error=error)
    found = offline.answer(question or "", title, text)
    return Generation(found.sentences, "offline", found=found.found, error=error)


def _unique(kept: list[Cited]) -> list[Cited]:
    """Small models repeat themselves; a sentence said twice is shown once."""
    seen: set[str] = set()
    unique = []
    for item in kept:
        key = " ".join(item.text.lower().split())
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique
