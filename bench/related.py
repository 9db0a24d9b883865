"""Related articles: same-event retrieval quality, and vector-index latency and recall.

(a) On ECB+ (``stories-ecbplus-dev``): for each document, the share of its 5 nearest other
    documents that report the same event (``story_id``), for the default embedder, each
    alternative, and TF-IDF cosine fitted on the corpus itself (the anchor), all in this run.
    Each is also scored as ``related_for`` ranks (``+related_ranking``: query expansion, then
    candidate smoothing) and with the query expansion alone. The default is also scored on
    two halves of the events (odd and even topic numbers: an event and its hard negative, the
    other event of its topic, stay in the same half) and on a control: every ``ecbplus``
    document, and no ``ecb`` one, starts with its tokenised URL, a line that tells the two
    events of a topic apart for no reason a real article would share; the control drops that
    line, so a weighting that merely amplifies it shows no gain there. ``incremental`` scores
    the lists as the enrichment stage builds them, one article at a time (see
    ``incremental_share``), beside the rule used before (plain cosine offers). ``same_story``:
    of the related rows that ``stories.same_story`` keeps as the same story (the front page's
    "most covered" strip names a story once by it), the share that report the list's event,
    and the share of the rows reporting it that it keeps. ``shown``: for stories with at most
    two other reports, what ``stories.worth_showing`` shows a reader of their lists (see
    ``shown_rows``).
(b) On synthetic hashed-lexical vectors of the embedding's dimension (see ``lexical_like``):
    build time and memory, p50/p99 single-query latency (wall and CPU) and recall@10 of the
    usearch backend (projected i8 graph, exact re-rank) against exact float32 numpy search.

    python bench/related.py [--data PATH] [--sizes 100000,1000000] [--skip-index]

Targets: same_event_top5 >= 0.97; at 1M p99 <= 10 ms and recall@10 >= 0.95.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "stories-ecbplus-dev"

from broadsheet.enrichment import related  # noqa: E402
from broadsheet.enrichment.embeddings import (  # noqa: E402
    DEFAULT_EMBEDDER,
    BlendEmbedder,
    get_embedder,
    normalize_rows,
)
from broadsheet.enrichment.related import expand_query, smoothed_scores  # noqa: E402
from broadsheet.enrichment.stories import same_story, worth_showing  # noqa: E402
from broadsheet.enrichment.vectors import ExactIndex, UsearchIndex  # noqa: E402


def same_event_share(vectors: np.ndarray, labels: np.ndarray, k: int = 5) -> float:
    vectors = normalize_rows(vectors)
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    top = np.argsort(-similarity, axis=1)[:, :k]
    return float((labels[top] == labels[:, None]).mean())


def ranked_share(vectors: np.ndarray, labels: np.ndarray, k: int = 5, smooth=True) -> float:
    """The same share when each document's neighbours are ranked as ``related_for`` ranks
    them (query expansion, then candidate smoothing; ``smooth=False``: expansion only)."""
    vectors = normalize_rows(vectors)
    hits = []
    for row, vector in enumerate(vectors):
        others = np.delete(np.arange(len(vectors)), row)
        similarity = vectors[others] @ vector
        query = expand_query(vector, vectors[others], similarity)
        if smooth:
            scores = smoothed_scores(query, vectors[others], similarity)
        else:
            scores = vectors[others] @ query
        top = others[np.argsort(-scores, kind="stable")[:k]]
        hits.append(float((labels[top] == labels[row]).mean()))
    return float(np.mean(hits))


def ranked_list(vectors: np.ndarray, key: int, among, now) -> tuple[list, np.ndarray, list]:
    """Document `key`'s related list as `related_for` ranks it over its POOL nearest among
    `among` (ids; every document its own outlet, all of the same age): the candidates' Items,
    their vectors, and the ranked [(id, score)]."""
    ids = np.asarray(among)
    pool = ids[np.argsort(-(vectors[ids] @ vectors[key]), kind="stable")[: related.POOL]]
    items = [related.Item(int(i), int(i), now) for i in pool]
    matrix = vectors[pool]
    target = related.Item(key, key, now)
    return items, matrix, related.related_for(target, vectors[key], items, matrix, now)


def same_story_rows(vectors: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    """Each document's related list as `related_for` ranks it (every other document its own
    outlet, all of the same age); of the rows `same_story` keeps, the share that report the
    list's event, and the share of the rows reporting it that it keeps; and, the anchor, the
    share of all rows that report it."""
    vectors = normalize_rows(vectors)
    now = datetime.now(UTC)
    kept = kept_right = right = rows = 0
    everyone = np.arange(len(vectors))
    for row in range(len(vectors)):
        ranked = ranked_list(vectors, row, np.delete(everyone, row), now)[2]
        chosen = set(same_story(ranked))
        for key, _ in ranked:
            same = labels[key] == labels[row]
            right += same
            rows += 1
            kept += key in chosen
            kept_right += same and key in chosen
    return kept_right / max(kept, 1), kept_right / max(right, 1), right / max(rows, 1)


def shown_rows(
    vectors: np.ndarray, labels: np.ndarray, topics: np.ndarray, seed: int = 0
) -> tuple[float, dict[str, float], dict[str, float]]:
    """Related lists of stories with few other reports, and what `stories.worth_showing` shows
    of them: each document's list over every document of other events plus 0, 1 or 2 (drawn
    at random) of its own event's, so that the list fills up with the topic's other event and
    then with other topics, as a list does for a story few outlets carry. Returns the mean
    number of rows shown a list, and the share shown of the rows of each kind: the same event,
    another event of the same topic, another topic; and the share of each kind that
    `stories.same_story` takes for the same story (what "N more reports" counts)."""
    vectors = normalize_rows(vectors)
    now = datetime.now(UTC)
    rng = np.random.default_rng(seed)
    listed, shown, story = Counter(), Counter(), Counter()
    total = 0
    for row in range(len(vectors)):
        own = np.flatnonzero(labels == labels[row])
        own = own[own != row]
        keep = rng.choice(own, size=min(len(own), int(rng.integers(0, 3))), replace=False)
        among = np.concatenate([np.flatnonzero(labels != labels[row]), keep])
        ranked = ranked_list(vectors, row, among, now)[2]
        chosen, same = set(worth_showing(ranked)), set(same_story(ranked))
        total += len(chosen)
        for key, _ in ranked:
            kind = (
                "same_event"
                if labels[key] == labels[row]
                else "same_topic"
                if topics[key] == topics[row]
                else "other_topic"
            )
            listed[kind] += 1
            shown[kind] += key in chosen
            story[kind] += key in same
    share = {kind: shown[kind] / listed[kind] for kind in listed}
    return total / len(vectors), share, {kind: story[kind] / listed[kind] for kind in listed}


def expanded_share(vectors: np.ndarray, labels: np.ndarray, k: int = 5) -> float:
    return ranked_share(vectors, labels, k, smooth=False)


def incremental_share(
    vectors: np.ndarray, labels: np.ndarray, seed: int, k: int = 5, earlier_rule: bool = False
) -> float:
    """The same share for lists built as the enrichment stage builds them, one article at a
    time in a random order, each from its own outlet: the article's own list over its POOL
    nearest earlier articles, its RERANK_NEIGHBOURS nearest neighbours ranked again, and an
    offer at `offer_scores` to the other neighbours' lists. A list is read best score first.
    `earlier_rule`: as before this was measured, no neighbour ranked again and each offered
    the plain cosine."""
    vectors = normalize_rows(vectors)
    now = datetime.now(UTC)
    lists: dict[int, list] = {}  # id → its rows, as the stage reads them (`related._Listed`)
    seen: list[int] = []

    def listed(ranked: list[tuple[int, float]]) -> list:
        return [related._Listed(i + 1, score, rid, rid) for i, (rid, score) in enumerate(ranked)]

    for key in np.random.default_rng(seed).permutation(len(vectors)).tolist():
        lists[key] = []
        if seen:
            items, matrix, ranked = ranked_list(vectors, key, seen, now)
            lists[key] = listed(ranked)
            target = related.Item(key, key, now)
            similarities = matrix @ vectors[key]
            again = [] if earlier_rule else related.to_rerank(target, items, similarities)
            scores = similarities if earlier_rule else related.offer_scores(vectors[key], matrix)
            skip = {items[i].id for i in again}
            offered = related.offer_targets(target, items, similarities, scores, now, skip)
            related.apply_offers([(target, offered)], lists)
            for neighbour in skip:
                among = [*(j for j in seen if j != neighbour), key]
                lists[neighbour] = listed(ranked_list(vectors, neighbour, among, now)[2])
        seen.append(key)
    hits = []
    for key, rows in lists.items():
        top = [row.related_id for row in sorted(rows, key=lambda row: -row.score)[:k]]
        if top:
            hits.append(float((labels[top] == labels[key]).mean()))
    return float(np.mean(hits))


def tfidf_anchor(texts: list[str]) -> np.ndarray:
    """Sublinear TF-IDF with smoothed IDF fitted on these very documents: a strong anchor."""
    tokens = [[t.lower() for t in re.findall(r"\w+", text)] for text in texts]
    document_frequency = Counter(word for words in tokens for word in set(words))
    vocabulary = {word: i for i, word in enumerate(document_frequency)}
    n = len(texts)
    idf = np.array([math.log((1 + n) / (1 + document_frequency[w])) + 1 for w in vocabulary])
    matrix = np.zeros((n, len(vocabulary)), dtype=np.float32)
    for row, words in enumerate(tokens):
        for word, count in Counter(words).items():
            matrix[row, vocabulary[word]] = 1 + math.log(count)
    return matrix * idf


def timed_embed(embedder, texts) -> tuple[np.ndarray, float]:
    started = time.perf_counter()
    vectors = embedder.embed(texts)
    return vectors, len(texts) / (time.perf_counter() - started)


def without_url_line(text: str) -> str:
    first, _, rest = text.partition("\n")
    return rest if first.startswith("http") else text


def quality(data: Path) -> None:
    docs = [json.loads(line) for line in (data / "docs.jsonl").open()]
    texts = [doc["text"] for doc in docs]
    labels = np.array([doc["story_id"] for doc in docs])
    odd = np.array([doc["topic"] % 2 == 1 for doc in docs])
    print(f"documents: {len(docs)}")
    print(f"events: {len(set(labels))}")
    anchor = same_event_share(tfidf_anchor(texts), labels)
    print(f"same_event_top5.tfidf_cosine: {anchor:.4f}")
    default = get_embedder()
    vectors, cold = timed_embed(default, texts)
    _, warm = timed_embed(default, texts)
    share = same_event_share(vectors, labels)
    name = default.name
    print(f"embedder: {name}")
    print(f"same_event_top5.{name}: {share:.4f}")
    print(f"ratio.same_event_top5_vs_tfidf: {share / anchor:.4f}")
    expanded = expanded_share(vectors, labels)
    print(f"same_event_top5.{name}+query_expansion: {expanded:.4f}")
    ranked = ranked_share(vectors, labels)
    print(f"same_event_top5.{name}+related_ranking: {ranked:.4f}")
    print(f"ratio.same_event_top5_related_ranking_vs_tfidf: {ranked / anchor:.4f}")
    for seed in (1, 2):
        built = incremental_share(vectors, labels, seed)
        print(f"same_event_top5.{name}+related_ranking.incremental_seed{seed}: {built:.4f}")
    earlier = incremental_share(vectors, labels, 1, earlier_rule=True)
    print(f"same_event_top5.{name}+related_ranking.incremental_earlier_rule_seed1: {earlier:.4f}")
    precision, kept, every_row = same_story_rows(vectors, labels)
    print(f"same_event_share_of_related_rows.{name}: {every_row:.4f}")
    print(f"same_story_precision.{name}: {precision:.4f}")
    print(f"same_story_share_of_same_event_rows.{name}: {kept:.4f}")
    topics = np.array([doc["topic"] for doc in docs])
    per_list, kept, story = shown_rows(vectors, labels, topics)
    print(f"shown_rows_per_list.{name}.few_reports: {per_list:.2f}")
    for kind in ("same_event", "same_topic", "other_topic"):
        print(f"shown_share.{name}.few_reports.{kind}: {kept.get(kind, 0.0):.4f}")
        print(f"same_story_share.{name}.few_reports.{kind}: {story.get(kind, 0.0):.4f}")
    for half, rows in (("odd_topics", odd), ("even_topics", ~odd)):
        for suffix, score in (("", same_event_share), ("+related_ranking", ranked_share)):
            print(
                f"same_event_top5.{name}{suffix}.{half}: {score(vectors[rows], labels[rows]):.4f}"
            )
    control_texts = [without_url_line(text) for text in texts]
    control_anchor = same_event_share(tfidf_anchor(control_texts), labels)
    print(f"same_event_top5.tfidf_cosine.no_url_line: {control_anchor:.4f}")
    for embedder in (default, get_embedder("hashed-lexical-1024")):
        control = embedder.embed(control_texts)
        for suffix, score in (("", same_event_share), ("+related_ranking", ranked_share)):
            print(
                f"same_event_top5.{embedder.name}{suffix}.no_url_line: {score(control, labels):.4f}"
            )
    print(f"docs_per_s.{name}.cold: {cold:.0f}")
    print(f"docs_per_s.{name}.warm: {warm:.0f}")
    print(f"ms_per_doc.{name}.warm: {1000 / warm:.3f}")
    alternatives(texts, labels)


def alternatives(texts, labels) -> None:
    others = [get_embedder(name) for name in ("hashed-lexical-1024", "lexical-lead-2048")]
    try:
        semantic = get_embedder("wordllama-256")
    except Exception as error:  # an optional backend: its absence is a result, not a crash
        print(f"skipped.wordllama-256: {error}")
    else:
        lexical = get_embedder(DEFAULT_EMBEDDER)
        others += [semantic] + [
            BlendEmbedder([(lexical, w), (semantic, 1 - w)]) for w in (0.6, 0.8)
        ]
    for embedder in others:
        vectors, rate = timed_embed(embedder, texts)
        print(f"same_event_top5.{embedder.name}: {same_event_share(vectors, labels):.4f}")
        expanded = expanded_share(vectors, labels)
        print(f"same_event_top5.{embedder.name}+query_expansion: {expanded:.4f}")
        print(
            f"same_event_top5.{embedder.name}+related_ranking: {ranked_share(vectors, labels):.4f}"
        )
        print(f"docs_per_s.{embedder.name}: {rate:.0f}")


def lexical_like(n: int, dim: int, seed: int) -> np.ndarray:
    """Synthetic articles hashed the way the default embedder hashes words.

    Each document mixes Zipf-distributed common words, words of its topic and rare words of
    its event (about 11 documents per event, geometric sizes), weighted by an IDF from the Zipf
    rank and signed-hashed into `dim` buckets. Its neighbour profile (cosine of the 1st, 5th,
    10th neighbour) falls off faster than ECB+'s, so the 10th neighbour is a closer call than
    in real data: the harder case for an approximate index, chosen on purpose.
    """
    rng = np.random.default_rng(seed)
    vocab, tokens, events = 200_000, 300, max(n // 11, 1)
    ranks = np.arange(1, vocab + 1)
    idf = np.maximum(np.log(ranks / 300.0), 0).astype(np.float32)
    cdf = np.cumsum(1.0 / ranks)
    cdf /= cdf[-1]
    event_words = rng.integers(2000, vocab, (events, 40))
    topic_words = rng.integers(500, 50_000, (max(events // 20, 1), 200))
    topic_of = rng.integers(0, len(topic_words), events)
    size = np.clip(rng.geometric(1 / 11, events), 1, 200).astype(float)
    bucket, sign = rng.integers(0, dim, vocab), rng.choice([-1.0, 1.0], vocab).astype(np.float32)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 20_000):
        m = min(20_000, n - start)
        event = rng.choice(events, m, p=size / size.sum())
        words = np.concatenate(
            [
                np.searchsorted(cdf, rng.random((m, tokens - 120))),
                event_words[event[:, None], np.minimum(rng.geometric(0.08, (m, 75)) - 1, 39)],
                topic_words[
                    topic_of[event][:, None], np.minimum(rng.geometric(0.02, (m, 45)) - 1, 199)
                ],
            ],
            axis=1,
        ).ravel()
        rows = np.repeat(np.arange(m, dtype=np.int64), tokens)
        flat = np.bincount(rows * dim + bucket[words], idf[words] * sign[words], m * dim)
        out[start : start + m] = normalize_rows(flat.reshape(m, dim))
    return out


def exact_top(stored: np.ndarray, queries: np.ndarray, k: int, step: int = 100_000):
    """Exact top-k ids by float32 matrix products over slices of the stored rows."""
    scores, ids = [], []
    for start in range(0, len(stored), step):
        block = queries @ stored[start : start + step].T
        top = np.argpartition(-block, k - 1, axis=1)[:, :k]
        scores.append(np.take_along_axis(block, top, 1))
        ids.append(top + start)
    scores, ids = np.hstack(scores), np.hstack(ids)
    return np.take_along_axis(ids, np.argsort(-scores, axis=1)[:, :k], 1)


def latencies(search, queries) -> tuple[dict, list]:
    """Wall and CPU milliseconds per query: on a shared, busy machine the CPU figure is the
    one that says what the search costs; the wall figure includes waiting for a core."""
    found, wall, cpu = [], [], []
    for query in queries:
        started, started_cpu = time.perf_counter(), time.thread_time()
        found.append(search(query))
        wall.append(time.perf_counter() - started)
        cpu.append(time.thread_time() - started_cpu)
    figures = {}
    for name, times in (("wall", wall), ("cpu", cpu)):
        ms = np.array(times) * 1000
        figures[f"{name}_p50_ms"] = float(np.percentile(ms, 50))
        figures[f"{name}_p99_ms"] = float(np.percentile(ms, 99))
    return figures, found


def report(prefix: str, figures: dict) -> None:
    for name, value in figures.items():
        print(f"{prefix}.{name}: {value:.2f}")


def index_bench(size: int, dim: int, n_queries: int) -> None:
    print(f"load_average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    started = time.perf_counter()
    data = lexical_like(size + n_queries, dim, seed=size)
    stored, queries = data[:size], data[size:]
    print(f"index.{size}.generate_s: {time.perf_counter() - started:.1f}")
    truth = exact_top(stored, queries, 10)
    exact = ExactIndex(dim)
    exact._ids, exact._matrix = np.arange(size, dtype=np.int64), stored
    exact_figures, _ = latencies(lambda q: exact.search(q, 10), queries[:50])
    report(f"index.{size}.exact_numpy", exact_figures)
    rss_before = resident_bytes()
    ann = UsearchIndex(dim)
    started, started_cpu = time.perf_counter(), time.process_time()
    for start in range(0, size, 50_000):  # in batches, as the product adds them
        ann.add(range(start, min(start + 50_000, size)), stored[start : start + 50_000])
    build, build_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    print(f"index.{size}.usearch.build_s: {build:.1f}")
    print(f"index.{size}.usearch.build_cpu_s: {build_cpu:.1f}")
    print(f"index.{size}.usearch.build_vectors_per_s: {size / build:.0f}")
    print(f"index.{size}.usearch.build_vectors_per_cpu_s: {size / build_cpu:.0f}")
    print(f"index.{size}.usearch.memory_mb: {ann.memory_bytes() / 2**20:.0f}")
    print(f"index.{size}.usearch.rss_growth_mb: {(resident_bytes() - rss_before) / 2**20:.0f}")
    figures, found = latencies(lambda q: ann.search(q, 10), queries)
    report(f"index.{size}.usearch", figures)
    recall = np.mean(
        [len({k for k, _ in f} & set(t.tolist())) / 10 for f, t in zip(found, truth, strict=True)]
    )
    print(f"index.{size}.usearch.recall_at_10: {recall:.4f}")
    ratio = exact_figures["cpu_p99_ms"] / figures["cpu_p99_ms"]
    print(f"index.{size}.ratio.cpu_p99_exact_over_usearch: {ratio:.1f}")
    # One article at a time, as the ingest pipeline adds them to the shared index.
    new_keys = iter(range(size, size + 100))
    singles, _ = latencies(lambda q: ann.add([next(new_keys)], q[None, :]), queries[:100])
    report(f"index.{size}.usearch.add_one", singles)
    persist(ann, size, dim)
    print(f"peak_rss_mb: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")


def persist(ann: UsearchIndex, size: int, dim: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.usearch"
        started = time.perf_counter()
        ann.save(path)
        print(f"index.{size}.usearch.save_s: {time.perf_counter() - started:.1f}")
        on_disk = sum(f.stat().st_size for f in Path(folder).iterdir())
        print(f"index.{size}.usearch.file_mb: {on_disk / 2**20:.0f}")
        started = time.perf_counter()
        loaded = UsearchIndex.load(path, dim)
        print(f"index.{size}.usearch.load_s: {time.perf_counter() - started:.1f}")
        assert len(loaded) == len(ann)


def resident_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--skip-index", action="store_true")
    args = parser.parse_args()
    if (args.data / "docs.jsonl").is_file():
        quality(args.data)
    else:
        print(f"skipped: ECB+ data not found at {args.data} (pass --data PATH)")
    if not args.skip_index:
        for size in [int(s) for s in args.sizes.split(",") if s]:
            index_bench(size, get_embedder().dim, args.queries)
    return 0


if __name__ == "__main__":
    sys.exit(main())
