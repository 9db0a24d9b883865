"""Hashtags on KPCrowd: precision of the top 5 and F1 of the top 10, ours beside YAKE.

    python bench/tags.py [--data PATH]

Scoring follows the data README: a phrase is lower-cased, split into its \\w+ words, and each
word over 3 letters loses a final "s"; a tag is right when its normalized form equals one of the
story's normalized keys. A multi-word tag ("Central Bank") is scored as one phrase, so it is
right only when the crowd chose that same phrase; it is never split into words that could each
score. YAKE runs with unigrams (its published anchor here) on the same text in the same run.
Prints `name: value` lines; yake is a bench-only dependency.
"""

import argparse
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yake

from broadsheet.enrichment.tags import extract_tags

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "keyphrases-kpcrowd-dev"
WORD_RE = re.compile(r"\w+")


def normalize(phrase: str) -> str:
    words = WORD_RE.findall(phrase.lower())
    return " ".join(w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words)


def load(data: Path) -> list[tuple[str, str, set[str]]]:
    """(headline, body, normalized keys) per story."""
    stories = []
    for doc in sorted((data / "docs").glob("*.txt")):
        headline, _, body = doc.read_text(encoding="utf-8").partition("\n")
        lines = (data / "keys" / f"{doc.stem}.key").read_text(encoding="utf-8").splitlines()
        stories.append((headline, body, {normalize(k) for k in lines if k.strip()}))
    return stories


def ours(headline: str, body: str) -> list[str]:
    return [tag.name for tag in extract_tags(headline, body, "en", limit=10)]


def yake_unigrams() -> Callable[[str, str], list[str]]:
    extractor = yake.KeywordExtractor(lan="en", n=1, top=10)
    return lambda headline, body: [k for k, _ in extractor.extract_keywords(f"{headline}\n{body}")]


def score(predicted: list[str], keys: set[str]) -> tuple[float, float]:
    """P@5 and F@10 of one story's ranked tags."""
    hits = [normalize(p) in keys for p in predicted]
    p5 = sum(hits[:5]) / 5
    top10 = sum(hits[:10])
    precision, recall = top10 / 10, top10 / len(keys) if keys else 0.0
    f10 = 2 * precision * recall / (precision + recall) if top10 else 0.0
    return p5, f10


def evaluate(stories, extractor) -> tuple[float, float, float]:
    """Mean P@5, mean F@10, and stories per CPU-second."""
    p5 = f10 = seconds = 0.0
    for headline, body, keys in stories:
        start = time.process_time()
        predicted = extractor(headline, body)
        seconds += time.process_time() - start
        story_p5, story_f10 = score(predicted, keys)
        p5, f10 = p5 + story_p5, f10 + story_f10
    count = len(stories)
    return p5 / count, f10 / count, count / seconds if seconds else float("inf")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    if not (args.data / "docs").is_dir():
        print(f"skipped: no KPCrowd data at {args.data}")
        return 0
    stories = load(args.data)
    extract_tags("warm up", "Loading the word lists once. " * 5)
    results = {"broadsheet": evaluate(stories, ours), "yake": evaluate(stories, yake_unigrams())}
    print(f"stories: {len(stories)}")
    for label, (p5, f10, rate) in results.items():
        print(f"p_at_5.{label}: {p5:.3f}")
        print(f"f_at_10.{label}: {f10:.3f}")
        print(f"articles_per_s.{label}: {rate:.0f}")
    ratio = results["broadsheet"][0] / results["yake"][0] if results["yake"][0] else 0.0
    print(f"ratio.p_at_5_vs_yake: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
