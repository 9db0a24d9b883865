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
# On ECB+ this lifted same-event top-5 from 0.953 to 0.960; more neighbours added noise.
EXPANSION_NEIGHBOURS = 2
EXPANSION_WEIGHT = 2.0


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
    expanded = vectors @ expand_query(vector, vectors, similarity)
    pool = [
        (i, float(expanded[i]) * freshness(item.published_at, now))
        for i, item in enumerate(items)
        if eligible(target, item, float(similarity[i]))
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


def _diverse(pool, items, vectors, limit) -> list[tuple[int, float]]:
    """Greedy MMR with a cap per outlet, so one outlet's series cannot fill the list."""
    chosen: list[int] = []
    per_outlet: dict[int, int] = {}
    base = dict(pool)
    scores = dict(pool)
    while scores and len(chosen) < limit:
        best = max(scores, key=lambda i: scores[i] - DIVERSITY * _closeness(i, chosen, vectors))
        scores.pop(best)
        outlet = items[best].source_id
        if per_outlet.get(outlet, 0) < PER_OUTLET:
            chosen.append(best)
            per_outlet[outlet] = per_outlet.get(outlet, 0) + 1
    return [(items[i].id, base[i]) for i in chosen]


def _closeness(i: int, chosen: list[int], vectors) -> float:
    if not chosen:
        return 0.0
    return float(np.max(vectors[chosen] @ vectors[i]))


# --- database glue -------------------------------------------------------------------------


def _item(article) -> Item:
    return Item(article.id, article.source_id, article.shown_at, article.duplicate_of_id)


def _candidates(article, vector, index, model: str):
    """Nearest stored articles: from the vector index when given, else every stored embedding."""
    from broadsheet.articles.models import Article
    from broadsheet.enrichment.embeddings import from_bytes
    from broadsheet.enrichment.models import Enrichment

    rows = Enrichment.objects.filter(embedding_model=model, article__state=Article.State.DONE)
    rows = rows.exclude(article_id=article.id)
    if index is not None:
        ids = [key for key, _ in index.search(vector, POOL + 1) if key != article.id]
        rows = rows.filter(article_id__in=ids)
    rows = rows.select_related("article").defer(
        "article__raw_html", "article__text", "article__body_html"
    )
    pairs = [(row.article, from_bytes(row.embedding)) for row in rows]
    pairs = [(a, v) for a, v in pairs if v is not None and v.shape == vector.shape]
    return [a for a, _ in pairs], np.array([v for _, v in pairs], dtype=np.float32)


def refresh_related(article, index=None, now: datetime | None = None) -> int:
    """Store `article`'s related list and offer it to its neighbours' lists; returns its count.

    Without an explicit `index`, a small collection is scanned exactly and a large one is
    searched through this process's `shared_index()`, which learns the article's vector here.
    """
    from django.db import transaction
    from django.utils import timezone

    from broadsheet.enrichment.embeddings import from_bytes
    from broadsheet.enrichment.models import Enrichment, RelatedArticle

    enrichment = Enrichment.objects.filter(article=article).first()
    vector = from_bytes(enrichment.embedding) if enrichment else None
    if vector is None:
        return 0
    now = now or timezone.now()
    if index is None and _wants_index(enrichment.embedding_model):
        index = shared_index(enrichment.embedding_model, len(vector))
        index.add([article.id], vector[None, :])
    others, vectors = _candidates(article, vector, index, enrichment.embedding_model)
    ranked = related_for(_item(article), vector, [_item(a) for a in others], vectors, now)
    with transaction.atomic():
        RelatedArticle.objects.filter(article=article).delete()
        RelatedArticle.objects.bulk_create(
            RelatedArticle(article=article, related_id=key, score=score) for key, score in ranked
        )
        _offer_to_neighbours(article, others, vectors @ vector if len(others) else [], now)
    return len(ranked)


def _offer_to_neighbours(article, others, similarities, now) -> None:
    """Put `article` into each neighbour's list where it beats the weakest entry and its
    outlet has room: the neighbours' lists are read in one query and written in two."""
    from broadsheet.enrichment.models import RelatedArticle

    target = _item(article)
    if target.duplicate_of is not None:
        return
    freshness_score = freshness(target.published_at, now)
    offers = {
        other.id: float(similarity) * freshness_score
        for other, similarity in zip(others, similarities, strict=False)
        if eligible(_item(other), target, float(similarity))
    }
    if not offers:
        return
    lists: dict[int, list] = {owner: [] for owner in offers}
    rows = RelatedArticle.objects.filter(article_id__in=offers).select_related("related")
    for row in rows.only("id", "score", "article_id", "related_id", "related__source_id"):
        lists[row.article_id].append(row)
    evicted, added = [], []
    for owner, score in offers.items():
        outcome = _offer(lists[owner], article, score)
        if outcome is not None:
            evicted += [outcome.id] if outcome.id else []
            added.append(RelatedArticle(article_id=owner, related=article, score=score))
    RelatedArticle.objects.filter(id__in=evicted).delete()
    RelatedArticle.objects.bulk_create(added, ignore_conflicts=True)


def _offer(rows: list, article, score: float):
    """Whether `article` enters this list: None when it does not, else the row it evicts
    (a row without an id when the list has room)."""
    from broadsheet.enrichment.models import RelatedArticle

    if any(row.related_id == article.id for row in rows):
        return None
    same_outlet = [row for row in rows if row.related.source_id == article.source_id]
    victims = (
        same_outlet if len(same_outlet) >= PER_OUTLET else (rows if len(rows) >= LIMIT else [])
    )
    weakest = min(victims, key=lambda row: row.score) if victims else None
    if weakest is not None and weakest.score >= score:
        return None
    return weakest if weakest is not None else RelatedArticle()


# --- the persisted index -------------------------------------------------------------------

_SHARED: dict[str, SharedIndex] = {}


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
    """An index for one batch of refreshes: the shared one for a large collection, else every
    stored vector read once into an exact index (instead of once per article of the batch)."""
    if _wants_index(model):
        return shared_index(model, dim)
    from broadsheet.enrichment.embeddings import from_bytes

    index = ExactIndex(dim)
    pairs = _stored(model).values_list("article_id", "embedding")
    items = ((key, from_bytes(data)) for key, data in pairs.iterator(chunk_size=2000))
    for ids, vectors in _batches((k, v) for k, v in items if v is not None and len(v) == dim):
        index.add(ids, vectors)
    return index


class SharedIndex:
    """This process's vector index for one embedding model, kept in a file under DATA_DIR.

    The database is the truth and the file a cache of it: a file that is missing, unreadable
    or behind the Enrichment table is caught up from the table (only the newer rows when just
    behind, all of them when counts disagree). Each worker host keeps its own file, rebuilt
    from the shared database on that host; nothing is exchanged between hosts. New vectors
    are added in memory at once and written to the file at most every SAVE_SECONDS (writing a
    million vectors takes seconds); what a crash loses is caught up from the table on reopening.
    """

    SAVE_SECONDS = 300.0

    def __init__(self, model: str, dim: int, path: Path):
        self.model, self.path = model, path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.index = open_index(path, dim)
        except Exception:  # a corrupt cache file is rebuilt, never fatal
            log.warning("rebuilding unreadable vector index %s", path)
            self.index = AutoIndex(dim, path)
        self._saved_at = 0.0
        self.catch_up()

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
