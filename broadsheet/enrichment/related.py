"""Related coverage: up to 8 articles from other outlets, similar, recent, varied, never copies.

`related_for` is pure (ids, vectors, metadata in; ranked ids out) so the bench and tests drive it
directly; `refresh_related` is the thin database step that stores its answer as rows.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from django.db.utils import OperationalError

from broadsheet.core.batching import batches
from broadsheet.enrichment.vectors import EXACT_LIMIT, AutoIndex, ExactIndex, _batches, open_index

log = logging.getLogger(__name__)
_SHARED_LOCK = threading.Lock()

LIMIT = 8
PER_OUTLET = 2
# Cosine above this is the same text republished (the copies stage may not have linked it yet).
COPY_SIMILARITY = 0.9
# Below this the lexical overlap is chance: better to show fewer than to show noise.
MIN_SIMILARITY = 0.08
# A gentle decay: an article a week older keeps ~85% of its score, never less than 75%.
DECAY_FLOOR = 0.75
DECAY_DAYS = 7.0
# MMR: how much a candidate is penalised for resembling one already picked.
DIVERSITY = 0.2
POOL = 64
# Query expansion: the query plus its 2 nearest neighbours at twice its weight, searched again.
# On ECB+ this lifted same-event top-5 from 0.953 to 0.960 with the first embedder and from
# 0.968 to 0.972 with lexical-lead; more neighbours added noise.
EXPANSION_NEIGHBOURS = 2
EXPANSION_WEIGHT = 2.0
# Candidate smoothing (see smoothed_scores): each candidate plus its 3 nearest candidates, each
# weighted by its cosine. On ECB+ (bench/related.py) it lifted same-event top-5 with query
# expansion from 0.972 to 0.975 (0.968 to 0.972 without the URL lines); 2-4 neighbours at
# weights 0.5-1 all did about as well.
SMOOTHING_NEIGHBOURS = 3
SMOOTHING_WEIGHT = 1.0
# A new article changes its neighbours' lists too. Its nearest neighbours are ranked again in
# full; the others are offered it at the score their own ranking would give (`offer_scores`).
# Lists built this way, one article at a time in random order over ECB+, score 0.966-0.969
# same-event top-5 (bench/related.py, incremental), against 0.975 when every list is ranked
# again each time and 0.90 when the offer was the plain cosine.
RERANK_NEIGHBOURS = 2
# PostgreSQL may still pick a batch's transaction as a deadlock victim (its unique-index checks
# lock other rows); the batch is then simply written again.
WRITE_ATTEMPTS = 3


@dataclass(frozen=True)
class Item:
    id: int
    source_id: int
    published_at: datetime | None = None
    duplicate_of: int | None = None


def freshness(published_at: datetime | None, now: datetime) -> float:
    if published_at is None:
        return DECAY_FLOOR
    age_days = max((now - published_at).total_seconds(), 0.0) / 86400
    return DECAY_FLOOR + (1 - DECAY_FLOOR) * math.exp(-age_days / DECAY_DAYS)


def is_copy(a: Item, b: Item) -> bool:
    roots_a = {a.id, a.duplicate_of} - {None}
    roots_b = {b.id, b.duplicate_of} - {None}
    return bool(roots_a & roots_b)


def eligible(target: Item, item: Item, similarity: float) -> bool:
    return (
        item.source_id != target.source_id
        and item.duplicate_of is None
        and not is_copy(target, item)
        and MIN_SIMILARITY <= similarity < COPY_SIMILARITY
    )


def related_for(
    target: Item,
    vector: np.ndarray,
    items: list[Item],
    vectors: np.ndarray,
    now: datetime,
    limit: int = LIMIT,
) -> list[tuple[int, float]]:
    """Rank `items` (rows of `vectors`) as related coverage for `target`: [(id, score)]."""
    if not items:
        return []
    vectors = np.asarray(vectors, dtype=np.float32)
    similarity = vectors @ np.asarray(vector, dtype=np.float32)
    query = expand_query(vector, vectors, similarity)
    rows = [i for i, item in enumerate(items) if eligible(target, item, float(similarity[i]))]
    if not rows:
        return []
    scores = smoothed_scores(query, vectors[rows], similarity[rows])
    pool = [
        (i, float(score) * freshness(items[i].published_at, now))
        for i, score in zip(rows, scores, strict=True)
    ]
    return _diverse(pool, items, vectors, limit)


def expand_query(vector, vectors: np.ndarray, similarity: np.ndarray) -> np.ndarray:
    """Pull the query toward its nearest neighbours, which share the event's other names.

    Neighbours at copy similarity are skipped: they only repeat the query's own words.
    """
    candidates = np.flatnonzero(similarity < COPY_SIMILARITY)
    if not len(candidates):
        return np.asarray(vector, dtype=np.float32)
    count = min(EXPANSION_NEIGHBOURS, len(candidates))
    nearest = candidates[np.argsort(-similarity[candidates], kind="stable")[:count]]
    weights = np.maximum(similarity[nearest], 0.0)
    centre = weights @ vectors[nearest] / max(float(weights.sum()), 1e-12)
    expanded = np.asarray(vector, dtype=np.float32) + EXPANSION_WEIGHT * centre
    return expanded / max(float(np.linalg.norm(expanded)), 1e-12)


def smoothed_scores(query, vectors: np.ndarray, similarity: np.ndarray) -> np.ndarray:
    """The (expanded) query's cosine with each row; the POOL rows most similar to the original
    query are first smoothed toward their own nearest rows among those POOL.

    An article then scores with the coverage around it, so one article's stray words (or a
    name it shares with another event) sway its rank less. Copies are never a neighbour.
    """
    scores = vectors @ query
    near = np.argsort(-similarity, kind="stable")[:POOL]
    count = min(SMOOTHING_NEIGHBOURS, len(near) - 1)
    if count < 1:
        return scores
    block = vectors[near]
    scores[near] = _smoothed(block, *_nearest(block, count)) @ query
    return scores


def _nearest(block: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's `count` nearest other rows of `block`, nearest first, copies never, and
    their cosines as weights (at least 0)."""
    closeness = block @ block.T
    np.fill_diagonal(closeness, -np.inf)
    closeness[closeness >= COPY_SIMILARITY] = -np.inf
    nearest = np.argsort(-closeness, axis=1, kind="stable")[:, :count]
    return nearest, np.maximum(np.take_along_axis(closeness, nearest, axis=1), 0.0)


def _smoothed(rows: np.ndarray, nearest: np.ndarray, weights: np.ndarray, block=None):
    """`rows` pulled toward their `nearest` rows of `block` (default: `rows` itself) by
    SMOOTHING_WEIGHT times their `weights`, as unit vectors."""
    block = rows if block is None else block
    smoothed = rows + SMOOTHING_WEIGHT * np.einsum("ij,ijd->id", weights, block[nearest])
    return smoothed / np.maximum(np.linalg.norm(smoothed, axis=1, keepdims=True), 1e-12)


def _diverse(pool, items, vectors, limit) -> list[tuple[int, float]]:
    """Greedy MMR with a cap per outlet, so one outlet's series cannot fill the list: each
    step takes the best score less DIVERSITY times its closeness to the nearest article
    already chosen (ties to the earlier candidate in `pool`)."""
    if not pool:
        return []
    rows = np.array([i for i, _ in pool])
    scores = np.array([score for _, score in pool], dtype=np.float64)
    block = vectors[rows]
    nearest = np.zeros(len(rows))  # closeness to the nearest chosen article; 0 until one is
    open_ = np.ones(len(rows), dtype=bool)
    chosen: list[int] = []
    per_outlet: dict[int, int] = {}
    while open_.any() and len(chosen) < limit:
        best = int(np.argmax(np.where(open_, scores - DIVERSITY * nearest, -np.inf)))
        open_[best] = False
        outlet = items[rows[best]].source_id
        if per_outlet.get(outlet, 0) < PER_OUTLET:
            per_outlet[outlet] = per_outlet.get(outlet, 0) + 1
            closeness = block @ block[best]
            nearest = closeness if not chosen else np.maximum(nearest, closeness)
            chosen.append(best)
    return [(items[rows[j]].id, float(scores[j])) for j in chosen]


def offer_scores(vector, matrix: np.ndarray) -> np.ndarray:
    """For each row of `matrix` (another article), about the score its own ranking would give
    the article `vector`: the row's query expanded toward its nearest rows, as `expand_query`
    does, against the article smoothed toward its own nearest rows, as `smoothed_scores` does.
    Neighbourhoods are taken among `matrix` and the article; copies are never a neighbour."""
    matrix = np.asarray(matrix, dtype=np.float32)
    if not len(matrix):
        return np.zeros(0, dtype=np.float32)
    vector = np.asarray(vector, dtype=np.float32)
    block = np.vstack([matrix, vector[None, :]])
    count = min(max(SMOOTHING_NEIGHBOURS, EXPANSION_NEIGHBOURS), len(matrix))
    nearest, weights = _nearest(block, count)
    # The article (the last row) is smoothed as a candidate; the others' queries expanded.
    smoothing = nearest[-1:, :SMOOTHING_NEIGHBOURS], weights[-1:, :SMOOTHING_NEIGHBOURS]
    smoothed = _smoothed(block[-1:], *smoothing, block)[0]
    nearest, weights = nearest[:-1, :EXPANSION_NEIGHBOURS], weights[:-1, :EXPANSION_NEIGHBOURS]
    centre = np.einsum("ij,ijd->id", weights, block[nearest])
    centre /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
    queries = matrix + EXPANSION_WEIGHT * centre
    queries /= np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
    return queries @ smoothed


def to_rerank(target: Item, others: list[Item], similarities, skip=frozenset()) -> list[int]:
    """Indexes in `others` of the RERANK_NEIGHBOURS most similar articles whose lists could
    take `target`, leaving out ids in `skip`."""
    if target.duplicate_of is not None:
        return []
    chosen = []
    for i in np.argsort(-np.asarray(similarities, dtype=np.float64), kind="stable").tolist():
        if len(chosen) == RERANK_NEIGHBOURS:
            break
        other = others[i]
        if other.id not in skip and eligible(other, target, float(similarities[i])):
            chosen.append(i)
    return chosen


# --- database glue -------------------------------------------------------------------------


def _item(article) -> Item:
    return Item(article.id, article.source_id, article.shown_at, article.duplicate_of_id)


@dataclass(frozen=True)
class _Listed:
    """One row of a stored related list, as `_offer` weighs it."""

    id: int | None
    score: float
    related_id: int | None
    source_id: int | None


_ROOM = _Listed(None, 0.0, None, None)  # `_offer`'s answer when the list has room


def _delete_quietly(queryset) -> None:
    """One DELETE, without loading the rows to send signals: the callers name the articles
    whose pages changed (pagecache.enrichment_changed)."""
    queryset._raw_delete(queryset.db)


def _candidates(article, vector, index, model: str):
    """Nearest stored articles: from the vector index when given, else every stored embedding.
    Returns their Items and vectors, in id order."""
    pool = _pool(article.id, vector, index)
    return _pick(article.id, vector, pool, _candidate_rows(model, pool))


def _pool(article_id: int, vector, index) -> list[int] | None:
    if index is None:
        return None
    return [key for key, _ in index.search(vector, POOL + 1) if key != article_id]


def _candidate_rows(model: str, ids: list[int] | None) -> dict[int, tuple[Item, np.ndarray]]:
    """Item and vector of the stored articles with these ids (all of them for None)."""
    from broadsheet.articles.models import Article
    from broadsheet.enrichment.embeddings import from_bytes
    from broadsheet.enrichment.models import Enrichment

    rows = Enrichment.objects.filter(embedding_model=model, article__state=Article.State.DONE)
    fields = (
        "article_id",
        "embedding",
        "article__source_id",
        "article__published_at",
        "article__discovered_at",
        "article__duplicate_of_id",
    )
    chunks = [None] if ids is None else batches(ids)
    found = {}
    for chunk in chunks:
        selected = rows if chunk is None else rows.filter(article_id__in=chunk)
        for pk, data, source_id, published, discovered, copy_of in selected.values_list(*fields):
            vector = from_bytes(data)
            if vector is not None:
                found[pk] = (Item(pk, source_id, published or discovered, copy_of), vector)
    return found


def _pick(article_id: int, vector, pool, rows):
    ids = sorted(rows if pool is None else set(pool) & rows.keys())
    pairs = [rows[i] for i in ids if i != article_id and rows[i][1].shape == vector.shape]
    return [item for item, _ in pairs], np.array([v for _, v in pairs], dtype=np.float32)


def refresh_related(article, index=None, now: datetime | None = None) -> int:
    """Store `article`'s related list and offer it to its neighbours' lists; returns its count.

    Without an explicit `index`, a small collection is scanned exactly and a large one is
    searched through this process's `shared_index()`, which learns the article's vector here.
    """
    from broadsheet.enrichment.embeddings import from_bytes
    from broadsheet.enrichment.models import Enrichment
    from broadsheet.front import pagecache

    stored = Enrichment.objects.filter(article=article)
    found = stored.values_list("embedding_model", "embedding").first()
    vector = from_bytes(found[1]) if found else None
    if vector is None:
        return 0
    model = found[0]
    if index is None and _wants_index(model):
        index = shared_index(model, len(vector))
        index.add([article.id], vector[None, :])
    touched: set[int] = set()
    (count,) = refresh_batch([article], [vector], model, index, now, touched)
    pagecache.enrichment_changed(touched)
    return count


def refresh_batch(articles, vectors, model: str, index, now=None, touched=None) -> list[int]:
    """`refresh_related` for a batch of articles with their vectors, one after the other,
    with every candidate read in one query and every list written in one transaction: each
    article's own list, its nearest neighbours' lists ranked again, and its offers to the
    other neighbours. Adds to `touched` the articles whose lists changed; returns each
    article's count."""
    from django.db import transaction
    from django.utils import timezone

    now = now or timezone.now()
    touched = set() if touched is None else touched
    pools = [_pool(a.id, v, index) for a, v in zip(articles, vectors, strict=True)]
    wanted = None if None in pools else sorted(set().union(*pools))
    rows = _candidate_rows(model, wanted)
    # Rank first, then write everything in one short transaction: no lock is held while
    # ranking, and the batch costs one commit rather than one per article.
    plans, again = [], {}
    batch = {a.id for a in articles}
    for article, vector, pool in zip(articles, vectors, pools, strict=True):
        others, matrix = _pick(article.id, vector, pool, rows)
        ranked = related_for(_item(article), vector, others, matrix, now)
        similarities = matrix @ vector if len(others) else np.zeros(0)
        chosen = to_rerank(_item(article), others, similarities, skip=batch)
        again.update((others[i].id, matrix[i]) for i in chosen)
        plans.append((article, vector, ranked, others, matrix, similarities))
    reranked = _rerank(again, model, index, rows, now)
    lists = {article.id: ranked for article, _, ranked, *_ in plans} | reranked
    offers = [
        (article, others, similarities, offer_scores(vector, matrix))
        for article, vector, _, others, matrix, similarities in plans
    ]
    for attempt in range(WRITE_ATTEMPTS):
        try:
            with transaction.atomic():
                changed = _offer_to_neighbours(offers, now, skip=lists.keys())
                _write_lists(lists, changed)
            break
        except OperationalError as error:  # two workers' batches met in the other order
            if not _deadlock(error) or attempt == WRITE_ATTEMPTS - 1:
                raise
            log.info("related lists: deadlock, writing the batch again")
    touched.update(lists, changed)
    return [len(plan[2]) for plan in plans]


def _deadlock(error: Exception) -> bool:
    return getattr(error.__cause__, "sqlstate", None) == "40P01"


def _write_lists(lists: dict[int, list], changed: dict[int, tuple[list, list]]) -> None:
    """Replace the `lists` (id → ranked) and apply the offers' `changed` rows (id → evicted
    row ids, new rows), article by article in id order: two workers writing overlapping
    articles then take their row locks in the same order and cannot deadlock each other."""
    from broadsheet.enrichment.models import RelatedArticle

    for key in sorted(lists.keys() | changed.keys()):
        if key in lists:
            _store_list(key, lists[key])
            continue
        evicted, added = changed[key]
        if evicted:
            _delete_quietly(RelatedArticle.objects.filter(id__in=evicted))
        RelatedArticle.objects.bulk_create(
            (RelatedArticle(article_id=key, related_id=rid, score=score) for rid, score in added),
            ignore_conflicts=True,
        )


def _rerank(vectors: dict[int, np.ndarray], model: str, index, rows, now) -> dict:
    """Fresh lists of these articles (id → vector); `rows` is extended with the candidates
    it lacks, read in one query."""
    pools = {key: _pool(key, vector, index) for key, vector in vectors.items()}
    if index is not None:
        missing = sorted(set().union(*pools.values()) - rows.keys())
        rows.update(_candidate_rows(model, missing) if missing else {})
    ranked = {}
    for key, vector in vectors.items():
        if key not in rows:
            continue
        others, matrix = _pick(key, vector, pools[key], rows)
        ranked[key] = related_for(rows[key][0], vector, others, matrix, now)
    return ranked


def _store_list(key: int, ranked: list[tuple[int, float]]) -> None:
    from broadsheet.enrichment.models import RelatedArticle

    _delete_quietly(RelatedArticle.objects.filter(article_id=key))
    # Another worker may have offered one of these to this list since the delete looked: its
    # row stands, and the next refresh of the list settles the rest.
    RelatedArticle.objects.bulk_create(
        (
            RelatedArticle(article_id=key, related_id=related, score=score)
            for related, score in ranked
        ),
        ignore_conflicts=True,
    )


def offer_targets(target: Item, others, similarities, scores, now, skip=()) -> dict[int, float]:
    """The lists (owner id → score) that `target` is offered to: each of `others` whose list
    could take it, but those in `skip`, at its `offer_scores` score with `target`'s freshness.
    A copy is offered to nobody."""
    if target.duplicate_of is not None:
        return {}
    freshness_score = freshness(target.published_at, now)
    return {
        other.id: float(score) * freshness_score
        for other, similarity, score in zip(others, similarities, scores, strict=True)
        if other.id not in skip and eligible(other, target, float(similarity))
    }


def apply_offers(
    offers: list[tuple[Item, dict[int, float]]], lists: dict[int, list[_Listed]]
) -> dict[int, tuple[list[int], list[tuple[int, float]]]]:
    """Offer each target to its lists (`offer_targets`), in turn, changing `lists` (owner id
    → its rows) in place: it enters where its score beats the weakest entry and its outlet
    has room. Returns, per list that changed, the stored row ids to delete and the
    (related id, score) rows to add."""
    changed: dict[int, tuple[list[int], list[tuple[int, float]]]] = {}
    fresh = -1  # ids of rows added here, below every stored id
    for target, scores in offers:
        for owner, score in scores.items():
            rows = lists.setdefault(owner, [])
            outcome = _offer(rows, target, score)
            if outcome is None:
                continue
            evicted, added = changed.setdefault(owner, ([], []))
            if outcome.id is not None:
                rows.remove(outcome)
                if outcome.id > 0:
                    evicted.append(outcome.id)
                else:  # taken in earlier here: never written
                    added[:] = [row for row in added if row[0] != outcome.related_id]
            rows.append(_Listed(fresh, score, target.id, target.source_id))
            fresh -= 1
            added.append((target.id, score))
    return changed


def _offer_to_neighbours(offers, now, skip=()) -> dict[int, tuple[list, list]]:
    """Each batch article of `offers` (article, its candidates, their similarities, their
    `offer_scores`) is offered to its neighbours' lists (but those in `skip`), read in one
    query and changed in memory, article after article (`apply_offers`)."""
    from broadsheet.enrichment.models import RelatedArticle

    wanted = []
    for article, others, similarities, scores in offers:
        target = _item(article)
        wanted.append((target, offer_targets(target, others, similarities, scores, now, skip)))
    owners = sorted({owner for _, scores in wanted for owner in scores})
    lists: dict[int, list[_Listed]] = {owner: [] for owner in owners}
    fields = ("id", "score", "article_id", "related_id", "related__source_id")
    for chunk in batches(owners):
        rows = RelatedArticle.objects.filter(article_id__in=chunk)
        for pk, score, owner, related_id, source_id in rows.values_list(*fields):
            lists[owner].append(_Listed(pk, score, related_id, source_id))
    return apply_offers(wanted, lists)


def _offer(rows: list[_Listed], article: Item, score: float) -> _Listed | None:
    """Whether `article` enters this list: None when it does not, else the row it evicts
    (`_ROOM`, without an id, when the list has room)."""
    if any(row.related_id == article.id for row in rows):
        return None
    same_outlet = [row for row in rows if row.source_id == article.source_id]
    victims = (
        same_outlet if len(same_outlet) >= PER_OUTLET else (rows if len(rows) >= LIMIT else [])
    )
    weakest = min(victims, key=lambda row: row.score) if victims else None
    if weakest is not None and weakest.score >= score:
        return None
    return weakest if weakest is not None else _ROOM


# --- the persisted index -------------------------------------------------------------------

_SHARED: dict[str, SharedIndex] = {}
_EXACT: dict[str, _Follower] = {}
# A row stamped this long before the newest one taken in may still have been uncommitted at
# that look (a transaction in flight, another host's clock): each look reaches back this far.
FOLLOW_SLACK_SECONDS = 30


def _stored(model: str):
    from broadsheet.articles.models import Article
    from broadsheet.enrichment.models import Enrichment

    return Enrichment.objects.filter(
        embedding_model=model, article__state=Article.State.DONE
    ).exclude(embedding=None)


def _collection_size(model: str) -> int:
    return _stored(model).count()


def _wants_index(model: str) -> bool:
    """Once this process holds the index, collections only grow: skip counting them again."""
    return model in _SHARED or _collection_size(model) >= EXACT_LIMIT


def batch_index(model: str, dim: int):
    """An index for one batch of refreshes, in step with the stored vectors: the shared one
    for a large collection, else this process's exact index of every stored vector. Either
    reads only the rows written since the previous batch."""
    size = _collection_size(model)
    if model in _SHARED or size >= EXACT_LIMIT:
        index = shared_index(model, dim)
        index.follow(size)
        return index
    follower = _EXACT.get(model)
    if follower is None or follower.index.dim != dim:
        follower = _EXACT[model] = _Follower(model, ExactIndex(dim))
    follower.follow(size)
    return follower.index


class _Follower:
    """Keeps an index in step with one model's stored vectors by reading what changed: rows
    stamped (enriched_at) since the previous look, then, if the count still disagrees (a
    deleted article, a very late commit), the ids that differ."""

    def __init__(self, model: str, index, seen: datetime | None = None):
        self.model, self.index = model, index
        self.seen = seen  # the newest stamp taken in; None: nothing taken in yet
        self.stamps: dict[int, datetime] = {}  # what each recent row was taken in at

    def follow(self, size: int | None = None) -> None:
        from datetime import timedelta

        if self.seen is None:
            self._take(_stored(self.model))
        else:
            since = self.seen - timedelta(seconds=FOLLOW_SLACK_SECONDS)
            recent = _stored(self.model).filter(enriched_at__gte=since)
            stamps = recent.values_list("article_id", "enriched_at")
            self._take_ids(sorted(pk for pk, at in stamps if self.stamps.get(pk) != at))
            self.stamps = {pk: at for pk, at in self.stamps.items() if at >= since}
        size = _collection_size(self.model) if size is None else size
        if len(self.index) != size:
            known = set(self.index.ids())
            stored = set(_stored(self.model).values_list("article_id", flat=True))
            if gone := known - stored:
                self.index.remove(sorted(gone))
            self._take_ids(sorted(stored - known))

    def _take_ids(self, ids: list[int]) -> None:
        for chunk in batches(ids):
            self._take(_stored(self.model).filter(article_id__in=chunk))

    def _take(self, rows) -> None:
        from django.utils import timezone

        from broadsheet.enrichment.embeddings import from_bytes

        items, newest = [], self.seen
        pairs = rows.order_by("article_id").values_list("article_id", "embedding", "enriched_at")
        for pk, data, stamp in pairs.iterator(chunk_size=2000):
            vector = from_bytes(data)
            if vector is not None and len(vector) == self.index.dim:
                items.append((pk, vector))
            self.stamps[pk] = stamp
            newest = stamp if newest is None else max(newest, stamp)
        for ids, vectors in _batches(items):
            self.index.add(ids, vectors)
        if newest is not None:
            # Never ahead of this clock: a host whose clock runs fast must not hide our rows.
            self.seen = min(newest, timezone.now())


class SharedIndex:
    """This process's vector index for one embedding model, kept in a file under DATA_DIR.

    The database is the truth and the file a cache of it: a file that is missing, unreadable
    or behind the Enrichment table is caught up from the table (only the newer rows when just
    behind, all of them when counts disagree). Each worker host keeps its own file, rebuilt
    from the shared database on that host; nothing is exchanged between hosts. New vectors
    are added in memory at once and written to the file at most every SAVE_SECONDS (writing a
    million vectors takes seconds); what a crash loses is caught up from the table on reopening.
    Between batches, `follow` takes in what other processes stored meanwhile.
    """

    SAVE_SECONDS = 300.0

    def __init__(self, model: str, dim: int, path: Path):
        from django.utils import timezone

        self.model, self.path = model, path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.index = open_index(path, dim)
        except Exception:  # a corrupt cache file is rebuilt, never fatal
            log.warning("rebuilding unreadable vector index %s", path)
            self.index = AutoIndex(dim, path)
        self._saved_at = 0.0
        opened = timezone.now()
        self.catch_up()
        self.follower = _Follower(model, self.index, seen=opened)

    def catch_up(self) -> None:
        known = self.index.ids()
        newest = max(known, default=0)
        self._load(_stored(self.model).filter(article_id__gt=newest))
        if len(self.index) != _collection_size(self.model):
            self.index.rebuild(())
            self._load(_stored(self.model))
        self.save(force=True)

    def _load(self, rows) -> None:
        from broadsheet.enrichment.embeddings import from_bytes

        pairs = rows.order_by("article_id").values_list("article_id", "embedding")
        items = ((key, from_bytes(data)) for key, data in pairs.iterator(chunk_size=2000))
        for ids, vectors in _batches((k, v) for k, v in items if len(v) == self.index.dim):
            self.index.add(ids, vectors)

    def add(self, ids, vectors) -> None:
        self.index.add(ids, vectors)
        self.save()

    def follow(self, size: int | None = None) -> None:
        self.follower.follow(size)
        self.save()

    def search(self, vector, k: int) -> list[tuple[int, float]]:
        return self.index.search(vector, k)

    def save(self, force: bool = False) -> None:
        if force or time.monotonic() - self._saved_at >= self.SAVE_SECONDS:
            self.index.save(self.path)
            self._saved_at = time.monotonic()

    def __len__(self) -> int:
        return len(self.index)


def index_path(model: str) -> Path:
    from django.conf import settings

    return Path(settings.DATA_DIR) / "vectors" / f"{model}.usearch"


def shared_index(model: str | None = None, dim: int | None = None) -> SharedIndex:
    """The process-wide index for `model` (the default embedder's unless named)."""
    from broadsheet.enrichment.embeddings import default_embedder

    if model is None or dim is None:
        embedder = default_embedder()
        model, dim = model or embedder.name, dim or embedder.dim
    with _SHARED_LOCK:
        if model not in _SHARED:
            _SHARED[model] = SharedIndex(model, dim, index_path(model))
        return _SHARED[model]
