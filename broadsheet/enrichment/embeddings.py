"""Article embeddings: fixed-size, L2-normalized float32 vectors behind a small registry.

The default is lexical on purpose. On the ECB+ same-event benchmark (bench/related.py) names,
places and numbers tell one event from another of the same kind far better than the static
semantic models that ship in pip packages; blending those in measured no gain (see the bench).
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

from broadsheet.enrichment.current import DEFAULT_EMBEDDER

_WORD = re.compile(r"\w+")
# A sentence ends at . ! or ? followed by a space: the next word's capital is not a name's.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_RAREST_FREQUENCY = 1e-8


@dataclass(frozen=True)
class Weighting:
    """How one occurrence of a word counts: its IDF times these boosts.

    `idf_offset`: IDF is ln(1 / wordfreq frequency) minus this, floored at 0.
    `lead_boost`, `lead_words`: the word at position p counts 1 + lead_boost * exp(-p /
    lead_words) times: the headline and first paragraph say which event this is, later
    paragraphs more often give background shared with earlier events of the same kind.
    `name_boost`: a capitalised word that does not start a sentence, usually a name.
    `number_boost`: a word starting with a digit (tolls, sums, dates, scores).
    """

    idf_offset: float = 2.0
    lead_boost: float = 16.0
    lead_words: float = 50.0
    name_boost: float = 3.0
    number_boost: float = 3.0
    sentences_by_punctuation: bool = True

    @property
    def lead(self) -> tuple[float, ...]:
        return _lead_weights(self.lead_boost, self.lead_words)


@cache
def _lead_weights(boost: float, words: float) -> tuple[float, ...]:
    if not boost:
        return ()
    # Past 20 decay lengths the boost is a few 1e-8 of a word's weight: the table stops there.
    return tuple(1.0 + boost * math.exp(-p / words) for p in range(int(20 * words)))


# The first version: no lead, smaller boosts, the commonest words weigh nothing.
WEIGHTING_V1 = Weighting(
    idf_offset=4.0,
    lead_boost=0.0,
    name_boost=1.5,
    number_boost=1.0,
    sentences_by_punctuation=False,
)


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


def word_rarity(word: str, language: str = "en") -> float:
    """ln(1 / frequency) from a fixed word-frequency list, so vectors made months apart agree
    (cached by ``_feature``, its one caller)."""
    return -math.log(_frequency(word, language))


def _frequency(word: str, language: str) -> float:
    """wordfreq's ``word_frequency(word, language, minimum=_RAREST_FREQUENCY)``.

    A plain lower-case ASCII word is its own only token, so it is looked up in the list
    directly and rounded as wordfreq rounds (to 3 significant digits): the same value, in a
    twentieth of the time its tokenizer takes (tests/test_embeddings.py compares the two).
    """
    table = _frequency_table(language)
    if table is None or not (word.isascii() and word.isalpha() and word.islower()):
        from wordfreq import word_frequency

        return word_frequency(word, language, minimum=_RAREST_FREQUENCY)
    frequency = max(table.get(word, 0.0), _RAREST_FREQUENCY)
    return round(frequency, math.floor(-math.log(frequency, 10)) + 3)


@cache
def _frequency_table(language: str) -> dict[str, float] | None:
    """The list ``word_frequency`` reads by default (wordfreq caches it: no second copy)."""
    from wordfreq import get_frequency_dict

    try:
        return get_frequency_dict(language, "best")
    except LookupError:
        return None


@lru_cache(maxsize=500_000)
def _feature(word: str, dim: int, language: str, idf_offset: float) -> tuple[int, float]:
    """A word's bucket and its signed weight (0.0 when its IDF is at or under the offset)."""
    idf = word_rarity(word, language) - idf_offset
    if idf <= 0:
        return 0, 0.0
    index, sign = _bucket(word, dim)
    return index, sign * idf


def _bucket(feature: str, dim: int) -> tuple[int, float]:
    code = zlib.crc32(feature.encode("utf-8", "surrogatepass"))
    return code % dim, (1.0 if (code >> 20) & 1 else -1.0)


def _counts(text: str, weighting: Weighting) -> dict[str, float]:
    """Each lower-cased word's occurrences, each counted with its lead, name and number boosts."""
    counts: dict[str, float] = {}
    lead, position = weighting.lead, 0
    name_boost, number_boost = weighting.name_boost, weighting.number_boost
    for line in text.splitlines():
        sentences = _SENTENCE_END.split(line) if weighting.sentences_by_punctuation else (line,)
        for sentence in sentences:
            for index, token in enumerate(_WORD.findall(sentence)):
                weight = lead[position] if position < len(lead) else 1.0
                position += 1
                first = token[:1]
                if first.isdigit():
                    weight *= number_boost
                elif index and first.isupper():
                    weight *= name_boost
                word = token.lower()
                counts[word] = counts.get(word, 0.0) + weight
    return counts


class HashedLexicalEmbedder(Embedder):
    """Sublinear TF times a fixed IDF, feature-hashed with random signs into `dim` buckets.

    Signed hashing is a sparse random projection, so the cosine of two vectors estimates the
    weighted TF-IDF cosine of the texts; no fitted vocabulary means nothing to refit as
    articles arrive. The weights come from `weighting` (see `Weighting`).
    """

    def __init__(
        self, dim: int = 1024, language: str = "en", weighting: Weighting = Weighting(), name=""
    ):
        self.dim = dim
        self.language = language
        self.weighting = weighting
        self.name = name or f"lexical-lead-{dim}"

    def embed(self, texts: list[str]) -> np.ndarray:
        rows = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in zip(rows, texts, strict=False):
            self._fill(row, text or "")
        return normalize_rows(rows)

    def _fill(self, row: np.ndarray, text: str) -> None:
        dim, language, offset = self.dim, self.language, self.weighting.idf_offset
        for word, count in _counts(text, self.weighting).items():
            index, weight = _feature(word, dim, language, offset)
            if weight:
                row[index] += math.sqrt(count) * weight


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
    "lexical-lead-1024": lambda: HashedLexicalEmbedder(1024),
    "lexical-lead-2048": lambda: HashedLexicalEmbedder(2048),
    # The first default, kept so its stored vectors and figures can still be compared.
    "hashed-lexical-1024": lambda: HashedLexicalEmbedder(
        1024, weighting=WEIGHTING_V1, name="hashed-lexical-1024"
    ),
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
