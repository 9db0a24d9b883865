"""Offline summary quality on the BBC extractive-summary sample, beside lead-n in the same run.

Each article file holds its headline on the first line and one sentence per line after it;
``summary/<topic>/NNN.txt`` holds the gold sentences, each verbatim in the article. The article
text given to the summarizer keeps that layout (one line per sentence, blank lines between
paragraphs), so sentence indexes map back onto gold lines.

    python bench/summaries.py [--data PATH]

Figures (F1 for ROUGE; precision/recall of selected sentences against gold), for n=3 (the
product's length) and for n = each gold summary's own length; ours and lead-n always use the
same n. The target: every ``ratio.*`` above 1.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from broadsheet.ai.offline import summarize  # noqa: E402
from broadsheet.ai.sentences import sentences  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "summaries-bbc"
TOKEN_RE = re.compile(r"[a-z0-9]+")
METRICS = ("rouge1", "rouge2", "rougeL", "precision", "recall")


def load(data: Path) -> list[tuple[str, str, set[str]]]:
    """(headline, body text, gold sentences) per article, in a stable order."""
    root = data / "corpus" if (data / "corpus").is_dir() else data
    items = []
    for path in sorted((root / "article").glob("*/*.txt")):
        title, _, body = path.read_text(encoding="utf-8", errors="replace").partition("\n")
        gold_path = root / "summary" / path.parent.name / path.name
        gold = {line.strip() for line in gold_path.read_text(errors="replace").splitlines()}
        items.append((title.strip(), body.strip(), gold - {""}))
    return items


def tokens(text: str) -> list[str]:
    return TOKEN_RE.findall(text.lower())


def f1(overlap: int, predicted: int, reference: int) -> float:
    if not overlap:
        return 0.0
    p, r = overlap / predicted, overlap / reference
    return 2 * p * r / (p + r)


def rouge_n(pred: list[str], ref: list[str], n: int) -> float:
    grams = [Counter(zip(*(seq[i:] for i in range(n)), strict=False)) for seq in (pred, ref)]
    overlap = sum((grams[0] & grams[1]).values())
    return f1(overlap, sum(grams[0].values()), sum(grams[1].values()))


def rouge_l(pred: list[str], ref: list[str]) -> float:
    row = [0] * (len(ref) + 1)
    for a in pred:
        prev = 0
        for j, b in enumerate(ref, 1):
            prev, row[j] = row[j], prev + 1 if a == b else max(row[j], row[j - 1])
    return f1(row[-1], len(pred), len(ref))


def score(chosen: list[str], gold: set[str], gold_text: str) -> dict[str, float]:
    pred, ref = tokens(" ".join(chosen)), tokens(gold_text)
    hits = len({c.strip() for c in chosen} & gold)
    return {
        "rouge1": rouge_n(pred, ref, 1),
        "rouge2": rouge_n(pred, ref, 2),
        "rougeL": rouge_l(pred, ref),
        "precision": hits / len(chosen) if chosen else 0.0,
        "recall": hits / len(gold) if gold else 0.0,
    }


def ours(title: str, body: str, n: int) -> list[str]:
    items = sentences(body)
    return [items[c.citations[0]].text for c in summarize(title, body, n, shorten=False)]


def lead(body: str, n: int) -> list[str]:
    return [s.text for s in sentences(body)[:n]]


def run(items, length) -> dict[str, dict[str, float]]:
    totals = {"ours": Counter(), "lead": Counter()}
    for title, body, gold in items:
        n = length(gold)
        gold_text = " ".join(s.text for s in sentences(body) if s.text in gold)
        totals["ours"].update(score(ours(title, body, n), gold, gold_text))
        totals["lead"].update(score(lead(body, n), gold, gold_text))
    return {name: {m: t[m] / len(items) for m in METRICS} for name, t in totals.items()}


def report(label: str, figures: dict[str, dict[str, float]]) -> bool:
    wins = True
    for metric in METRICS:
        mine, anchor = figures["ours"][metric], figures["lead"][metric]
        print(f"{label}.ours.{metric}: {mine:.4f}")
        print(f"{label}.lead.{metric}: {anchor:.4f}")
        print(f"ratio.{label}.{metric}: {mine / anchor if anchor else float('inf'):.3f}")
        wins &= mine > anchor
    return wins


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"skipped: no data at {args.data}")
        return 0
    items = load(args.data)
    started = time.perf_counter()
    fixed = run(items, lambda gold: 3)
    elapsed = time.perf_counter() - started
    matched = run(items, len)
    print(f"articles: {len(items)}")
    print(f"gold.sentences_mean: {sum(len(g) for _, _, g in items) / len(items):.2f}")
    wins = report("n3", fixed)
    wins &= report("gold_n", matched)
    print(f"ms_per_article_n3_both: {1000 * elapsed / len(items):.2f}")
    print(f"beats_lead_on_every_figure: {wins}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
