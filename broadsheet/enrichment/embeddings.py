"""Article embeddings: fixed-size, L2-normalized float32 vectors behind a small registry.

The default is lexical on purpose. On the ECB+ same-event benchmark (bench/related.py) names,
places and numbers tell one event from another of the same kind far better than the static
semantic models that ship in pip packages; blending those in measured no gain (see the bench).
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

DEFAULT_EMBEDDER = "hashed-lexical-1024"

_WORD = re.compile(r"\w+")
# Words at least this common (wordfreq's frequency) carry no event: their weight drops to zero.
_COMMON_FREQUENCY = math.exp(-4.0)
_RAREST_FREQUENCY = 1e-8
# A capitalised word inside a sentence is usually a name, and names identify events.
_NAME_BOOST = 1.5


class Embedder:
    """One embedding backend: `embed` returns one L2-normalized float32 row per text."""

    name: str = ""
    dim: int = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError


def normalize_rows(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


@lru_cache(maxsize=500_000)
def word_weight(word: str, language: str = "en") -> float:
    """An IDF taken from a fixed word-frequency list, so vectors made months apart still agree."""
    from wordfreq import word_frequency

    frequency = word_frequency(word, language, minimum=_RAREST_FREQUENCY)
    return max(math.log(_COMMON_FREQUENCY / frequency), 0.0)


def _bucket(feature: str, dim: int) -> tuple[int, float]:
    code = zlib.crc32(feature.encode("utf-8", "surrogatepass"))
    return code % dim, (1.0 if (code >> 20) & 1 else -1.0)


def _counts(text: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        for position, token in enumerate(_WORD.findall(line)):
            named = position > 0 and token[:1].isupper()
            counts[token.lower()] += _NAME_BOOST if named else 1.0
    return counts


class HashedLexicalEmbedder(Embedder):
    """Sublinear TF times a fixed IDF, feature-hashed with random signs into `dim` buckets.

    Signed hashing is a sparse random projection, so the cosine of two vectors estimates the
    TF-IDF cosine of the texts; no fitted vocabulary means nothing to refit as articles arrive.
    """

    def __init__(self, dim: int = 1024, language: str = "en"):
        self.dim = dim
        self.language = language
        self.name = f"hashed-lexical-{dim}"

    def embed(self, texts: list[str]) -> np.ndarray:
        rows = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in zip(rows, texts, strict=False):
            self._fill(row, text or "")
        return normalize_rows(rows)

    def _fill(self, row: np.ndarray, text: str) -> None:
        for word, count in _counts(text).items():
            weight = math.sqrt(count) * word_weight(word, self.language)
            if weight > 0:
                index, sign = _bucket(word, self.dim)
                row[index] += sign * weight


class WordLlamaEmbedder(Embedder):
    """wordllama's static model bundled in its wheel (256 dimensions); loaded without network."""

    name = "wordllama-256"
    dim = 256

    def __init__(self):
        import wordllama
        from wordllama import WordLlama

        folder = Path(wordllama.__file__).parent
        self._model = WordLlama.load(cache_dir=folder, disable_download=True)

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return normalize_rows(self._model.embed([t or " " for t in texts]))


class BlendEmbedder(Embedder):
    """Concatenated, weighted parts: the cosine becomes the weighted sum of the parts' cosines."""

    def __init__(self, parts: list[tuple[Embedder, float]]):
        self.parts = parts
        self.dim = sum(part.dim for part, _ in parts)
        self.name = "+".join(f"{part.name}*{weight:g}" for part, weight in parts)

    def embed(self, texts: list[str]) -> np.ndarray:
        blocks = [math.sqrt(weight) * part.embed(texts) for part, weight in self.parts]
        return normalize_rows(np.hstack(blocks))


EMBEDDERS: dict[str, Callable[[], Embedder]] = {
    "hashed-lexical-1024": lambda: HashedLexicalEmbedder(1024),
    "hashed-lexical-2048": lambda: HashedLexicalEmbedder(2048),
    "wordllama-256": WordLlamaEmbedder,
}


@cache
def get_embedder(name: str = DEFAULT_EMBEDDER) -> Embedder:
    try:
        factory = EMBEDDERS[name]
    except KeyError:
        known = ", ".join(sorted(EMBEDDERS))
        raise ValueError(f"unknown embedder {name!r}; known: {known}") from None
    return factory()


def default_embedder() -> Embedder:
    return get_embedder(DEFAULT_EMBEDDER)


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(data: bytes | memoryview | None) -> np.ndarray | None:
    if not data:
        return None
    return np.frombuffer(bytes(data), dtype="<f4")
