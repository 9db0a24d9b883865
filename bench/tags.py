"""Hashtags on KPCrowd: precision of the top 5 and F1 of the top 10, ours beside YAKE.

    python bench/tags.py [--data PATH] [--aeb PATH] [--fit]

Scoring follows the data README: a phrase is lower-cased, split into its \\w+ words, and each
word over 3 letters loses a final "s"; a tag is right when its normalized form equals one of the
story's normalized keys. A multi-word tag ("Central Bank") is scored as one phrase, so it is
right only when the crowd chose that same phrase; it is never split into words that could each
score. YAKE runs with unigrams (its published anchor here) on the same text in the same run.

The ranking weights in broadsheet/enrichment/tags.py were fitted on the even-numbered stories
(in file-name order) only; P@5 is printed for both halves so that the odd half shows how well
the fit generalises. `--fit` fits them again on the even half and prints them.

Speed: CPU milliseconds per article (median and 99th percentile) of ours and of YAKE on the
article bodies of the Article Extraction Benchmark (181 real pages, median 529 words), each the
least of three runs. CPU time, not wall time, so that other work on a shared machine counts
less. Prints `name: value` lines; yake is a
bench-only dependency.
"""

import argparse
import json
import math
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import yake

from broadsheet.enrichment import tags
from broadsheet.enrichment.tags import extract_tags

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "keyphrases-kpcrowd-dev"
DEFAULT_AEB = ROOT.parent / "shared" / "data" / "aeb"
WORD_RE = re.compile(r"\w+")


def normalize(phrase: str) -> str:
    words = WORD_RE.findall(phrase.lower())
    return " ".join(w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words)


def load(data: Path) -> list[tuple[str, str, set[str]]]:
    """(headline, body, normalized keys) per story, in file-name order."""
    stories = []
    for doc in sorted((data / "docs").glob("*.txt")):
        headline, _, body = doc.read_text(encoding="utf-8").partition("\n")
        lines = (data / "keys" / f"{doc.stem}.key").read_text(encoding="utf-8").splitlines()
        stories.append((headline, body, {normalize(k) for k in lines if k.strip()}))
    return stories


def halves(stories: list) -> tuple[list, list]:
    """The even-numbered stories (the weights were fitted on these) and the odd ones."""
    return stories[0::2], stories[1::2]


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


def aeb_bodies(root: Path) -> list[str]:
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    return [item["articleBody"] for _, item in sorted(truth.items())]


def cpu_ms(texts: list[str], extractor: Callable[[str, str], object], runs: int = 3) -> list[float]:
    """CPU milliseconds of each article, the least of ``runs`` runs (other processes on a
    shared machine only ever add time), sorted."""
    times = []
    for text in texts:
        best = float("inf")
        for _ in range(runs):
            start = time.process_time()
            extractor("", text)
            best = min(best, time.process_time() - start)
        times.append(best * 1000)
    return sorted(times)


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, math.ceil(share * len(values)) - 1)]


def ranked_pool(headline: str, body: str) -> tuple[tags._Article, list[tags._Candidate]]:
    """The candidates extract_tags ranks first: in a long story, those said twice or in the
    headline; in a short one, all. Only noun-like topics, as in the tags."""
    article = tags._read("en", headline, body, everything=False)
    salient = article.words >= tags.SHORT_TEXT
    found = [
        c for c in article.candidates if article.tag_worthy(c) and (not salient or tags._salient(c))
    ]
    return article, found


def fit(stories, penalty: float = 50.0) -> tuple[float, np.ndarray]:
    """Logistic weights (a bias, then one per feature) for "the crowd marked this candidate",
    over the candidates the tagger ranks: Newton steps on standardised features with an L2
    penalty, the names' fixed bonus held as an offset. Ranking a story's candidates by this
    chance is what maximises the expected hits in its top five."""
    rows, labels, offsets = [], [], []
    for headline, body, keys in stories:
        article, found = ranked_pool(headline, body)
        for candidate in found:
            rows.append(article.features(candidate))
            labels.append(normalize(candidate.display) in keys)
            offsets.append(article.odds(candidate) - tags._log_odds(article.features(candidate)))
    x, y, offset = np.array(rows), np.array(labels, float), np.array(offsets)
    mean, spread = x.mean(0), x.std(0)
    spread[spread == 0] = 1
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / spread])
    ridge = penalty * np.eye(z.shape[1])
    ridge[0, 0] = 0  # the bias goes unpenalised
    weights = np.zeros(z.shape[1])
    for _ in range(50):
        chance = 1 / (1 + np.exp(-(z @ weights + offset)))
        gradient = z.T @ (chance - y) + ridge @ weights
        hessian = (z * (chance * (1 - chance))[:, None]).T @ z + ridge
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if np.abs(step).max() < 1e-10:
            break
    scaled = weights[1:] / spread
    return weights[0] - scaled @ mean, scaled


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--aeb", type=Path, default=DEFAULT_AEB)
    parser.add_argument("--fit", action="store_true", help="refit the weights on the even half")
    args = parser.parse_args()
    if not (args.data / "docs").is_dir():
        print(f"skipped: no KPCrowd data at {args.data}")
        return 0
    stories = load(args.data)
    tuning, held_out = halves(stories)
    if args.fit:
        bias, weights = fit(tuning)
        print(f"bias: {bias:.3f}")
        for name, weight in zip(tags.WEIGHTS, weights, strict=True):
            print(f"weight.{name}: {weight:.3f}")
        return 0
    extract_tags("warm up", "Loading the word lists once. " * 5)
    yake_run = yake_unigrams()
    results = {"broadsheet": evaluate(stories, ours), "yake": evaluate(stories, yake_run)}
    print(f"stories: {len(stories)}")
    for label, (p5, f10, rate) in results.items():
        print(f"p_at_5.{label}: {p5:.3f}")
        print(f"f_at_10.{label}: {f10:.3f}")
        print(f"articles_per_s.{label}: {rate:.0f}")
    for half, part in (("tuning_half", tuning), ("held_out_half", held_out)):
        print(f"p_at_5.broadsheet.{half}: {evaluate(part, ours)[0]:.3f}")
        print(f"p_at_5.yake.{half}: {evaluate(part, yake_run)[0]:.3f}")
    ratio = results["broadsheet"][0] / results["yake"][0] if results["yake"][0] else 0.0
    print(f"ratio.p_at_5_vs_yake: {ratio:.2f}")
    if (args.aeb / "ground-truth.json").is_file():
        texts = aeb_bodies(args.aeb)
        for label, extractor in (("broadsheet", ours), ("yake", yake_run)):
            times = cpu_ms(texts, extractor)
            print(f"cpu_ms_per_article.{label}.median: {statistics.median(times):.2f}")
            print(f"cpu_ms_per_article.{label}.p99: {percentile(times, 0.99):.2f}")
            print(f"cpu_ms_per_article.{label}.max: {times[-1]:.2f}")
        print(f"aeb_articles: {len(texts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
