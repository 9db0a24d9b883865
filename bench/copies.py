"""Syndicated-copy detection: precision and recall on labelled pairs, beside two baselines.

    python bench/copies.py [--data PATH] [--labels PATH] [--boundary]

Pairs: every pair of the sample publisher's articles (a wire copy and its civic-wire original,
or two copies of one original, are positives; all else negative) and every pair of the
stories-ecbplus-dev documents. An ECB+ document's first line, when it is the page's address, is
dropped: a stored article keeps its URL apart from its text.

Two labellings of the ECB+ pairs, both printed:
- read (`minhash_*`, the headline): bench/copies_labels.tsv, written by reading both texts of
  every ECB+ pair the detector flagged or that lies near the boundary (exact word 4-gram Jaccard
  >= BOUNDARY_JACCARD or containment >= BOUNDARY_CONTAINED); the file says what COPY and NOT
  mean. ECB+ pairs not in the file are negatives. `--boundary` lists the boundary pairs with
  their labels; any boundary or flagged pair missing from the file is counted and listed.
- literal (`literal_*`): every ECB+ pair negative, as the data set implies.
Under the read labels the ECB+ figures are also given per half (odd and even topics), so a rule
tuned on one half can be checked on the other. Errors under the read labels are listed with
their exact overlap and the label's reason.
Baselines in the same run: an exact hash of the normalised text, and a 64-bit SimHash of the
same shingles. Prints `name: value` lines.
"""

import argparse
import csv
import hashlib
import itertools
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from broadsheet.enrichment import copies
from broadsheet.enrichment.embeddings import get_embedder
from broadsheet.samplepub.corpus import load_corpus

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "stories-ecbplus-dev"
DEFAULT_LABELS = Path(__file__).with_name("copies_labels.tsv")
BOUNDARY_JACCARD = 0.15
BOUNDARY_CONTAINED = 0.5


def corpus_docs() -> list[tuple[str, str, str]]:
    """(id, copy group, text): a wire copy belongs to its original's group."""
    return [(a.key, a.wire_of or a.key, a.text()) for a in load_corpus().articles]


def ecb_docs(path: Path) -> list[tuple[str, str, str]]:
    lines = (path / "docs.jsonl").read_text(encoding="utf-8").splitlines()
    return [(d["doc_id"], "ecb:" + d["doc_id"], _body(d["text"])) for d in map(json.loads, lines)]


def _body(text: str) -> str:
    first, _, rest = text.partition("\n")
    return rest if first.startswith("http") else text


def read_labels(path: Path) -> dict[frozenset, tuple[bool, str]]:
    """{pair of doc ids: (is a copy, reason)} from the tab-separated file; '#' lines are notes."""
    with path.open(encoding="utf-8", newline="") as handle:
        lines = (line for line in handle if not line.startswith("#"))
        labels = {}
        for row in csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE):
            if row["label"] not in ("COPY", "NOT"):
                raise ValueError(f"{path}: label must be COPY or NOT, not {row['label']!r}")
            pair = frozenset((row["doc_a"], row["doc_b"]))
            if pair in labels:
                raise ValueError(f"{path}: {row['doc_a']} {row['doc_b']} labelled twice")
            labels[pair] = (row["label"] == "COPY", row["reason"])
    return labels


def exact_overlap(a: set[str], b: set[str]) -> tuple[float, float]:
    """Exact Jaccard similarity and containment of two shingle sets."""
    shared = len(a & b)
    if not shared:
        return 0.0, 0.0
    return shared / (len(a) + len(b) - shared), shared / min(len(a), len(b))


def labelled_pairs(docs: list[tuple[str, str, str]], offset: int) -> list[tuple[int, int, bool]]:
    return [
        (offset + i, offset + j, docs[i][1] == docs[j][1])
        for i, j in itertools.combinations(range(len(docs)), 2)
    ]


def read_pairs(literal, docs, labels) -> list[tuple[int, int, bool]]:
    """The literal pairs with the read labels applied to ECB+ pairs listed in the file."""
    return [
        (a, b, labels.get(frozenset((docs[a][0], docs[b][0])), (gold, ""))[0])
        for a, b, gold in literal
    ]


def simhash(text: str) -> int:
    weights = np.zeros(64)
    for shingle in copies.shingles(text):
        digest = int.from_bytes(hashlib.blake2b(shingle.encode(), digest_size=8).digest(), "big")
        weights += np.where((digest >> np.arange(64, dtype=np.uint64)) & 1, 1.0, -1.0)
    return sum(1 << bit for bit in range(64) if weights[bit] > 0)


def exact_hash(text: str) -> str:
    return hashlib.sha256(" ".join(copies._WORD_RE.findall(text.casefold())).encode()).hexdigest()


def score(pairs, predicted) -> dict[str, float]:
    tp = sum(1 for (_, _, gold), hit in zip(pairs, predicted, strict=True) if gold and hit)
    fp = sum(1 for (_, _, gold), hit in zip(pairs, predicted, strict=True) if hit and not gold)
    fn = sum(1 for (_, _, gold), hit in zip(pairs, predicted, strict=True) if gold and not hit)
    return {
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def report(name: str, figures: dict[str, float]) -> None:
    for key, value in figures.items():
        print(
            f"{name}_{key}: {value:.4f}" if isinstance(value, float) else f"{name}_{key}: {value}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--labels", type=Path, default=DEFAULT_LABELS)
    parser.add_argument("--boundary", action="store_true", help="list the boundary pairs")
    args = parser.parse_args()
    docs = corpus_docs()
    offset = len(docs)
    literal = labelled_pairs(docs, 0)
    labels = {}
    if (args.data / "docs.jsonl").is_file():
        ecb = ecb_docs(args.data)
        literal += labelled_pairs(ecb, offset)
        docs += ecb
        labels = read_labels(args.labels)
    else:
        print(f"skipped: ECB+ data not found at {args.data}; sample corpus pairs only")
    pairs = read_pairs(literal, docs, labels)
    texts = [text for _, _, text in docs]
    print(f"documents: {len(docs)}")
    print(f"pairs: {len(pairs)}")
    print(f"positive_pairs: {sum(gold for _, _, gold in pairs)}")
    print(f"sample_positive_pairs: {sum(gold for a, _, gold in pairs if a < offset)}")
    print(f"ecb_labelled_pairs: {len(labels)}")
    print(f"ecb_copy_pairs: {sum(copy for copy, _ in labels.values())}")
    print(f"ecb_not_copy_pairs: {sum(not copy for copy, _ in labels.values())}")

    minhash = run_minhash(pairs, literal, texts, offset, docs)
    run_baselines(pairs, texts)
    check_labels(pairs, minhash, docs, offset, labels, args.boundary)
    return 0


def run_minhash(pairs, literal, texts, offset, docs) -> list[bool]:
    """The detector as the enrichment stage runs it: the signature rule on every pair (found
    through band keys in the product), or sentence alignment between an article and its
    nearest articles by embedding. Pair by pair and as groups, under both labellings."""
    started = time.process_time()
    sigs = [copies.signature(text) for text in texts]
    elapsed = time.process_time() - started
    print(f"minhash_signatures_per_s: {len(texts) / elapsed:.0f}")
    started = time.process_time()
    when = datetime.now(UTC)
    links = copies.find_copies([copies.Item(i, sig, when, i) for i, sig in enumerate(sigs)])
    print(f"minhash_lsh_grouping_s: {time.process_time() - started:.3f}")
    print(f"minhash_threshold: {copies.THRESHOLD}")
    print(f"minhash_contained: {copies.CONTAINED} (jaccard >= {copies.CONTAINED_JACCARD})")
    signature_rule = [copies.is_copy(sigs[a], sigs[b]) for a, b, _ in pairs]
    aligned = aligned_neighbours(texts)
    print(f"alignment_rule: share >= {copies.ALIGNED} of the shorter text's words in sentences")
    print(f"alignment_pairs_found: {len(aligned)}")
    detector = [
        hit or (a, b) in aligned for (a, b, _), hit in zip(pairs, signature_rule, strict=True)
    ]
    linked = [(a, b) for (a, b, _), hit in zip(pairs, detector, strict=True) if hit]
    group = _groups(len(texts), linked)
    grouped = [group[a] == group[b] for a, b, _ in pairs]
    report("copies", score(pairs, detector))
    report("copies_groups", score(pairs, grouped))
    report("literal_copies", score(literal, detector))
    report("literal_copies_groups", score(literal, grouped))
    halves(pairs, detector, offset, docs)
    minhash_group = {i: links.get(i, i) for i in range(len(texts))}
    report("minhash_only", score(pairs, signature_rule))
    report(
        "minhash_only_lsh_groups",
        score(pairs, [minhash_group[a] == minhash_group[b] for a, b, _ in pairs]),
    )
    sweep(pairs, sigs)
    return detector


def aligned_neighbours(texts: list[str]) -> set[tuple[int, int]]:
    """Pairs (i < j) that the alignment rule links: each document against its nearest by the
    default embedder, as the stage does."""
    started = time.process_time()
    found = copies.rewritten_pairs(texts, get_embedder().embed(texts))
    print(f"alignment_cpu_s: {time.process_time() - started:.3f}")
    return found


def _groups(count: int, links: list[tuple[int, int]]) -> list[int]:
    """Each document's group (a representative index) once the linked pairs are joined."""
    parent = list(range(count))
    for a, b in links:
        parent[copies._root(parent, a)] = copies._root(parent, b)
    return [copies._root(parent, i) for i in range(count)]


def halves(pairs, predicted, offset, docs) -> None:
    """ECB+ pairs only, odd and even topics apart (no ECB+ pair crosses topics as a copy)."""
    for name, parity in (("odd", 1), ("even", 0)):
        chosen = [
            (pair, hit)
            for pair, hit in zip(pairs, predicted, strict=True)
            if pair[0] >= offset and int(docs[pair[0]][0].split("_")[0]) % 2 == parity
        ]
        if chosen:
            report(f"copies_ecb_{name}_topics", score(*map(list, zip(*chosen, strict=True))))


def run_baselines(pairs, texts) -> None:
    started = time.process_time()
    hashes = [simhash(text) for text in texts]
    print(f"simhash_signatures_per_s: {len(texts) / (time.process_time() - started):.0f}")
    distance = [(hashes[a] ^ hashes[b]).bit_count() for a, b, _ in pairs]
    for bits in (3, 6, 10):
        report(f"simhash_le{bits}bits", score(pairs, [d <= bits for d in distance]))
    exact = [exact_hash(text) for text in texts]
    report("exact_hash", score(pairs, [exact[a] == exact[b] for a, b, _ in pairs]))


def sweep(pairs, sigs) -> None:
    estimates = [copies.similarity(sigs[a], sigs[b]) for a, b, _ in pairs]
    for threshold in (0.3, 0.45, 0.6, 0.8):
        figures = score(pairs, [e >= threshold for e in estimates])
        print(
            f"minhash_at_{threshold}: precision {figures['precision']:.4f} "
            f"recall {figures['recall']:.4f} fp {figures['fp']}"
        )


def check_labels(pairs, predicted, docs, offset, labels, show_boundary: bool) -> None:
    """ECB+ errors under the read labels, and boundary or flagged pairs the file leaves out."""
    sets = {}
    missing = 0
    for (a, b, gold), hit in zip(pairs, predicted, strict=True):
        if a < offset:
            continue
        for i in (a, b):
            if i not in sets:
                sets[i] = copies.shingles(docs[i][2])
        jaccard, contained = exact_overlap(sets[a], sets[b])
        boundary = hit or jaccard >= BOUNDARY_JACCARD or contained >= BOUNDARY_CONTAINED
        label = labels.get(frozenset((docs[a][0], docs[b][0])))
        figures = f"exact_jaccard={jaccard:.3f} exact_containment={contained:.3f}"
        if boundary and label is None:
            missing += 1
            print(f"ecb_unlabelled_boundary_pair: {docs[a][0]} {docs[b][0]} {figures}")
        if hit != gold:
            kind = "false_positive" if hit else "false_negative"
            reason = label[1] if label else "not listed"
            print(f"ecb_{kind}: {docs[a][0]} {docs[b][0]} {figures} ({reason})")
        elif show_boundary and boundary:
            verdict = "COPY" if gold else "NOT"
            print(f"ecb_boundary: {docs[a][0]} {docs[b][0]} {figures} {verdict} flagged={hit}")
    print(f"ecb_unlabelled_boundary_pairs: {missing}")


if __name__ == "__main__":
    sys.exit(main())
