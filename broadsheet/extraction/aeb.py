"""The Article Extraction Benchmark's metric: word 4-gram shingles, macro-averaged P and R.

Kept separate from the benchmark script so that the tests gate on the very same arithmetic.
"""

import gzip
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

WORD = re.compile(r"\w+")
SHINGLE = 4


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def shingles(text: str) -> Counter:
    words = WORD.findall(text or "")
    if not words:
        return Counter()
    # A text shorter than one shingle still counts as one short shingle.
    last = max(1, len(words) - SHINGLE + 1)
    return Counter(tuple(words[i : i + SHINGLE]) for i in range(last))


def page_score(expected: str, predicted: str) -> tuple[float | None, float | None]:
    """(precision, recall) of one page; None where a ratio is undefined (0/0).

    An undefined ratio is left out of its average rather than counted as zero: that is how the
    published figures were computed (an empty output costs recall only), and recomputing the
    peers' outputs reproduces those figures to the third decimal only this way.
    """
    truth, guess = shingles(expected), shingles(predicted)
    if not truth and not guess:
        return 1.0, 1.0
    tp = sum((truth & guess).values())
    predicted_total, expected_total = sum(guess.values()), sum(truth.values())
    precision = tp / predicted_total if predicted_total else None
    recall = tp / expected_total if expected_total else None
    return precision, recall


def _mean(values: list[float | None]) -> float:
    defined = [value for value in values if value is not None]
    return sum(defined) / len(defined) if defined else 0.0


def score(expected: Mapping[str, str], predicted: Mapping[str, str]) -> Score:
    """Macro-averaged precision and recall over every expected page; a missing one is empty."""
    pairs = [page_score(text, predicted.get(key) or "") for key, text in expected.items()]
    return Score(precision=_mean([p for p, _ in pairs]), recall=_mean([r for _, r in pairs]))


@dataclass(frozen=True)
class Page:
    key: str
    url: str
    html: bytes
    expected: str


def load_truth(root: Path) -> dict[str, dict]:
    return json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))


def pages(root: Path) -> Iterator[Page]:
    for key, item in sorted(load_truth(root).items()):
        raw = gzip.decompress((root / "html" / f"{key}.html.gz").read_bytes())
        yield Page(key, item.get("url", ""), raw, item.get("articleBody", ""))


def expected_texts(items: Iterable[Page]) -> dict[str, str]:
    return {page.key: page.expected for page in items}


def peer_outputs(root: Path) -> dict[str, dict[str, str]]:
    """Every tool's published output under peer-outputs/, keyed by tool name then page id."""
    found = {}
    for path in sorted((root / "peer-outputs").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        # Some files wrap the pages as {"output": {...}, "version": ...}, others are bare.
        items = data.get("output", data) if isinstance(data.get("output"), dict) else data
        found[path.stem] = {
            key: item.get("articleBody") or ""
            for key, item in items.items()
            if isinstance(item, dict)
        }
    return found
