"""Syndicated copies: the same wire text republished by several outlets.

A signature is a MinHash sketch of the text's word 4-gram shingles, so the estimated Jaccard
similarity of two signatures tells how much running text two articles share. Headlines, bylines
and a rewritten first clause touch few shingles; another article about the same event, written
by other hands, shares almost none (measured in bench/copies.py). A copy trimmed to its first
paragraphs has a low Jaccard similarity but sits almost wholly inside its original, so the
containment of the smaller text (estimated from the Jaccard estimate and the two set sizes)
also makes a copy.

A copy restyled to a house style, cut for broadcast or written through keeps too few exact
4-grams for that; `is_rewritten_copy` reads it sentence by sentence instead, for each new
article against its nearest articles in the embedding index (`link_neighbours`).

Signature layout: a little-endian uint32 with the number of distinct shingles, then NUM_PERM
uint32 minima. The count lets a pair of signatures alone decide that a text is too short to judge.
"""

from __future__ import annotations

import functools
import hashlib
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from broadsheet.core.batching import batches

SHINGLE_WORDS = 4
NUM_PERM = 128
BAND_ROWS = 3
BANDS = NUM_PERM // BAND_ROWS  # 42 bands: a pair at Jaccard 0.45 shares a band 98% of the time
# (at 0.30, the floor a trimmed copy must meet, 68%: the bench checks the band-key path too).
# Measured in bench/copies.py (exact 4-gram sets): the weakest sample wire copy has Jaccard 0.52
# (containment 0.71), its MinHash estimate 0.52; ECB+ documents by different hands about one
# event stay below 0.35 unless they reuse wire paragraphs. Between 0.45 and 0.80 lie both the
# sample copies and ECB+ wire texts re-edited by two outlets (spelling, headline, a sentence).
THRESHOLD = 0.45
# A trimmed or extended copy: most of the smaller text inside the larger. Light edits spread
# through a copy (spelling, units, tense) each remove up to four shingles, so a re-edited copy
# with paragraphs added or cut measures 0.6-0.8, not ~1.0. Reports written separately that
# quote one release stay at or below 0.53 (read ECB+ labels, bench/copies.py; 0.55 was the
# lowest value clean on either half of the topics, 0.6 keeps a margin). The Jaccard floor keeps
# the estimate meaningful: below ~0.3 the MinHash estimate of a small set inside a big one is
# mostly noise (ECB+ pairs at true Jaccard 0.02-0.2 are estimated at containment > 0.9), and
# same-event reports that end with the same pasted release sit at 0.23-0.26.
CONTAINED = 0.6
CONTAINED_JACCARD = 0.3
MIN_SHINGLES = 12  # fewer than ~15 words: stubs and teasers agree by chance, so never a copy
LOOKBACK = timedelta(days=14)
SIGNATURE_BYTES = 4 * (NUM_PERM + 1)

_WORD_RE = re.compile(r"\w+")
_HEADER = np.dtype("<u4")
_EMPTY = np.uint32(0xFFFFFFFF)
# Multiply-shift hashing: one (a, b) pair per permutation, fixed so every process agrees.
_RNG = np.random.Generator(np.random.PCG64(20240611))
_A = _RNG.integers(1, 2**63, size=NUM_PERM, dtype=np.uint64) | np.uint64(1)
_B = _RNG.integers(0, 2**63, size=NUM_PERM, dtype=np.uint64)


def shingles(text: str) -> set[str]:
    """Distinct word 4-grams, case-folded; a text shorter than that is one shingle."""
    words = _WORD_RE.findall(text.casefold())
    if len(words) <= SHINGLE_WORDS:
        return {" ".join(words)} if words else set()
    # The windows end with the shortest (last) slice: each 4-gram once.
    starts = (words[i:] for i in range(SHINGLE_WORDS))
    return set(map(" ".join, zip(*starts, strict=False)))


def signature(text: str) -> bytes:
    """The compact sketch stored in Enrichment.signature (516 bytes)."""
    found = shingles(text or "")
    mins = np.full(NUM_PERM, _EMPTY, dtype=np.uint32)
    if found:
        # crc32 is enough to fingerprint a shingle: the permutations below do the mixing.
        keys = np.fromiter(map(zlib.crc32, map(str.encode, found)), np.uint64, len(found))
        with np.errstate(over="ignore"):  # (a * key + b) mod 2^64, then its high 32 bits
            mixed = np.multiply(keys[:, None], _A[None, :])
            mixed += _B
            mixed >>= np.uint64(32)
        mins = mixed.min(axis=0).astype(np.uint32)
    return np.array([len(found)], _HEADER).tobytes() + mins.astype("<u4").tobytes()


def _unpack(sig: bytes | memoryview) -> tuple[int, np.ndarray]:
    raw = np.frombuffer(bytes(sig), dtype="<u4")
    if raw.size != NUM_PERM + 1:
        raise ValueError(f"not a copy signature: {raw.size * 4} bytes")
    return int(raw[0]), raw[1:]


def similarity(sig_a: bytes, sig_b: bytes) -> float:
    """Estimated Jaccard similarity of the two texts' shingle sets (0.0 when either is empty)."""
    size_a, mins_a = _unpack(sig_a)
    size_b, mins_b = _unpack(sig_b)
    if not size_a or not size_b:
        return 0.0
    return float(np.count_nonzero(mins_a == mins_b)) / NUM_PERM


def _as_signature(value: str | bytes | memoryview) -> bytes:
    return signature(value) if isinstance(value, str) else bytes(value)


def containment(sig_a: bytes, sig_b: bytes) -> float:
    """Estimated share of the smaller text's shingles found in the other (0.0 when empty)."""
    size_a, _ = _unpack(sig_a)
    size_b, _ = _unpack(sig_b)
    return float(_containment(similarity(sig_a, sig_b), size_a, size_b))


def _containment(share, size_a, size_b):
    """|A∩B| / min(|A|, |B|), with |A∩B| = J(|A|+|B|)/(1+J); works on numpy arrays too."""
    smaller = np.maximum(np.minimum(size_a, size_b), 1)
    return np.minimum(share * (size_a + size_b) / (1 + share) / smaller, 1.0)


def _decide(share, size_a, size_b, threshold: float):
    """The copy rule on Jaccard estimates and set sizes; works on numpy arrays too."""
    judged = np.minimum(size_a, size_b) >= MIN_SHINGLES
    trimmed = (share >= CONTAINED_JACCARD) & (_containment(share, size_a, size_b) >= CONTAINED)
    return judged & ((share >= threshold) | trimmed)


def is_copy(a: str | bytes, b: str | bytes, threshold: float = THRESHOLD) -> bool:
    """Whether two texts (or their signatures) are copies of one text."""
    sig_a, sig_b = _as_signature(a), _as_signature(b)
    size_a, size_b = _unpack(sig_a)[0], _unpack(sig_b)[0]
    return bool(_decide(similarity(sig_a, sig_b), size_a, size_b, threshold))


def band_keys(sig: bytes) -> list[str]:
    """LSH keys: two signatures likely to be copies share at least one key."""
    size, mins = _unpack(sig)
    if size < MIN_SHINGLES:
        return []
    rows = mins[: BANDS * BAND_ROWS].reshape(BANDS, BAND_ROWS)
    return [
        f"{i:02d}{hashlib.blake2b(r.tobytes(), digest_size=6).hexdigest()}"
        for i, r in enumerate(rows)
    ]


# --- rewritten copies: sentence alignment -------------------------------------------------

# A copy restyled to a house style, cut for broadcast or written through keeps too few exact
# 4-grams for its signature to tell it from a separately written report on the same release
# (bench/copies.py: Jaccard 0.03-0.4 on both sides of the line). Read sentence by sentence it
# is plain: nearly every sentence of the shorter text is one of the other's, lightly edited,
# while a separate report shares its quotes and a few background lines but writes its own
# narration. Candidates come from the embedding index (the nearest articles), so this is
# checked for a handful of pairs an article.
# A sentence has a counterpart when this share of its distinct words is in one sentence of
# the other text.
SENTENCE_MATCH = 0.6
# A copy when this share of the shorter text's words is in sentences with a counterpart. On
# the read ECB+ labels separate reports reach 0.88 at most and most rewrites 0.9-1.0.
ALIGNED = 0.9
MIN_SENTENCE_WORDS = 4  # shorter lines (datelines, bylines, "Watch:") are not weighed
MIN_ALIGNED_WORDS = 45  # below this a text is judged as a teaser, by the stricter rule below
# A teaser (a headline and the lead, a one-paragraph excerpt) of 20 to 44 words is a copy when
# every one of its sentences is nearly word for word (90% of its words) one sentence of the
# other text; a lead rewritten in other words is not (on ECB+: 3 teasers more, no false link).
MIN_TEASER_WORDS = 20
TEASER_SENTENCE_MATCH = 0.9
# And the shared text must be the other's opening or main body, not an appendix: two of the
# counterparts (or all, for a one-sentence teaser) in the other's opening, its first quarter
# of sentences (at least 3, so that a dateline or "Updated" line does not crowd the lead out),
# or half of the other's words in counterparts. A later story that ends with the first report
# pasted whole is not a copy of it, though its lead may echo the old headline (on ECB+ this
# removed the one false link and no true one; a quarter or a third did as well).
OPENING_SHARE = 0.25
OPENING_MIN = 3
OPENING_MATCHES = 2
MAIN_BODY = 0.5
# A copy also when this share of the shorter text's word 4-grams is in the other text, word
# for word, and the shared text is the other's opening or main body: a write-through that keeps
# the wire's sentences but adds, drops or splits enough of them to miss ALIGNED (on the read
# ECB+ labels: 12 pairs more than alignment alone, one of them missed by MinHash too). Reports
# written separately reach 0.58 there; those that reach more (up to 0.75) carry the other's
# text below a lead of their own, which the opening-or-body rule turns away.
VERBATIM = 0.6
NEIGHBOURS = 6  # nearest articles checked by alignment
NEIGHBOUR_SIMILARITY = 0.3  # and only those at least this similar (cosine)
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])[\"\u201d\u2019']*\s+(?=[\"\u201c\u2018']*[A-Z0-9])")


class CopyText:
    """A text as the copy rules read it: its sentences' words and its word 4-grams, each
    worked out on first use and then kept for the text's other pairs (an aligned pair never
    needs the 4-grams)."""

    def __init__(self, text: str) -> None:
        self.text = text or ""

    @functools.cached_property
    def sentences(self) -> list[frozenset[str]]:
        return sentence_words(self.text)

    @functools.cached_property
    def shingles(self) -> set[str]:
        return shingles(self.text)


def _copy_text(value: str | CopyText) -> CopyText:
    return value if isinstance(value, CopyText) else CopyText(value)


def sentence_words(text: str) -> list[frozenset[str]]:
    """Each sentence's distinct case-folded words; short lines are left out."""
    found = []
    for line in (text or "").splitlines():
        for sentence in _SENTENCE_END_RE.split(line):
            words = _WORD_RE.findall(sentence.casefold())
            if len(words) >= MIN_SENTENCE_WORDS:
                found.append(frozenset(words))
    return found


def _sides(a: list, b: list) -> tuple[list, list, int]:
    """The shorter and the longer of two ``sentence_words`` lists, and the shorter's words."""
    size_a, size_b = sum(map(len, a)), sum(map(len, b))
    return (a, b, size_a) if size_a <= size_b else (b, a, size_b)


def aligned_share(a: str | CopyText, b: str | CopyText) -> float:
    """Share of the shorter text's words (by sentence) whose sentence has a counterpart in the
    longer text. 0.0 for a text too short."""
    short, long_, total = _sides(_copy_text(a).sentences, _copy_text(b).sentences)
    return _aligned_share(short, long_, total)


def _aligned_share(short: list, long_: list, total: int) -> float:
    if total < MIN_ALIGNED_WORDS:
        return 0.0
    aligned = sum(len(s) for s in short if _counterpart(s, long_, SENTENCE_MATCH) is not None)
    return aligned / total


def verbatim_share(a: str | CopyText, b: str | CopyText) -> float:
    """Share of the shorter text's word 4-grams that are in the other (0.0 for a stub)."""
    first, second = _copy_text(a).shingles, _copy_text(b).shingles
    if min(len(first), len(second)) < MIN_SHINGLES:
        return 0.0
    return len(first & second) / min(len(first), len(second))


def is_rewritten_copy(a: str | CopyText, b: str | CopyText) -> bool:
    """Whether one text is the other restyled, cut or written through (see ALIGNED and
    VERBATIM), or a teaser of it (see MIN_TEASER_WORDS), sharing its opening or main body."""
    a, b = _copy_text(a), _copy_text(b)
    short, long_, size = _sides(a.sentences, b.sentences)
    if size >= MIN_ALIGNED_WORDS:
        aligned = (
            _alignment_bound(short, long_) >= ALIGNED
            and _aligned_share(short, long_, size) >= ALIGNED
        )
        if not aligned and verbatim_share(a, b) < VERBATIM:
            return False
        match = SENTENCE_MATCH
    elif size >= MIN_TEASER_WORDS:
        match = TEASER_SENTENCE_MATCH
        if not all(_counterpart(sentence, long_, match) is not None for sentence in short):
            return False
    else:
        return False
    return _opening_or_body(short, long_, match)


def _counterpart(sentence: frozenset, other: list, match: float) -> int | None:
    """The first sentence of ``other`` holding ``match`` of ``sentence``'s words, if any."""
    need = match * len(sentence)
    return next((i for i, found in enumerate(other) if len(sentence & found) >= need), None)


def _opening_or_body(short: list, long_: list, match: float) -> bool:
    """Whether the sentences ``short`` shares with ``long_`` are ``long_``'s opening (see
    OPENING_SHARE) or hold at least MAIN_BODY of its words."""
    places = [_counterpart(sentence, long_, match) for sentence in short]
    places = [place for place in places if place is not None]
    opening = max(OPENING_MIN, OPENING_SHARE * len(long_))
    if sum(place < opening for place in places) >= min(OPENING_MATCHES, len(short)):
        return True
    return sum(len(long_[place]) for place in set(places)) >= MAIN_BODY * sum(map(len, long_))


def _alignment_bound(short: list, long_: list) -> float:
    """An upper bound of ``aligned_share`` at one set operation a sentence: a sentence can
    only have a counterpart if enough of its words are anywhere in the other text."""
    total = sum(map(len, short))
    if total < MIN_ALIGNED_WORDS:
        return 0.0
    vocabulary = frozenset().union(*long_)
    possible = sum(len(s) for s in short if len(s & vocabulary) >= SENTENCE_MATCH * len(s))
    return possible / total


def rewritten_pairs(texts: Sequence[str], vectors: np.ndarray) -> set[tuple[int, int]]:
    """Index pairs (i < j) of ``texts`` that ``is_rewritten_copy`` links when each text is
    checked against its NEIGHBOURS nearest by ``vectors`` (unit rows) at NEIGHBOUR_SIMILARITY
    or more: what ``link_neighbours`` does, for a collection held in memory."""
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -1.0)
    words = [CopyText(text) for text in texts]
    found, checked = set(), set()
    for i in range(len(texts)):
        for j in np.argsort(-similarity[i], kind="stable")[:NEIGHBOURS].tolist():
            pair = (min(i, j), max(i, j))
            if similarity[i, j] >= NEIGHBOUR_SIMILARITY and pair not in checked:
                checked.add(pair)
                if is_rewritten_copy(words[pair[0]], words[pair[1]]):
                    found.add(pair)
    return found


# --- groups of copies ---------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One article as copy detection sees it."""

    id: object
    signature: bytes
    published: datetime
    source: object


def earliest_original(group: Iterable[Item]) -> Item:
    """The copy every other copy links to: first published, ties broken by id for stability."""
    return min(group, key=lambda item: (item.published, str(item.id)))


def candidate_pairs(items: Sequence[Item]) -> set[tuple[int, int]]:
    """Index pairs that share a band key: the only pairs worth comparing."""
    buckets: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        for key in band_keys(item.signature):
            buckets.setdefault(key, []).append(index)
    pairs = set()
    for members in buckets.values():
        pairs.update((a, b) for n, a in enumerate(members) for b in members[n + 1 :])
    return pairs


def find_copies(items: Sequence[Item], threshold: float = THRESHOLD) -> dict[object, object]:
    """Map each copy's id to its group's earliest original; originals do not appear.

    Copies are only sought across sources: an outlet republishing its own text is an update.
    """
    parent = list(range(len(items)))
    for a, b in candidate_pairs(items):
        first, second = items[a], items[b]
        if first.source != second.source and is_copy(first.signature, second.signature, threshold):
            parent[_root(parent, a)] = _root(parent, b)
    return _links(items, parent)


def _root(parent: list[int], index: int) -> int:
    while parent[index] != index:
        parent[index] = parent[parent[index]]
        index = parent[index]
    return index


def _links(items: Sequence[Item], parent: list[int]) -> dict[object, object]:
    groups: dict[int, list[Item]] = {}
    for index, item in enumerate(items):
        groups.setdefault(_root(parent, index), []).append(item)
    links = {}
    for group in groups.values():
        original = earliest_original(group)
        links.update({item.id: original.id for item in group if item is not original})
    return links


def matching(sig: bytes, others: Sequence[bytes], threshold: float = THRESHOLD) -> list[int]:
    """Indexes of ``others`` that are copies of ``sig``, compared in one vectorised pass."""
    size, mins = _unpack(sig)
    if size < MIN_SHINGLES or not others:
        return []
    table = np.stack([_unpack(other)[1] for other in others])
    sizes = np.array([_unpack(other)[0] for other in others])
    share = np.count_nonzero(table == mins[None, :], axis=1) / NUM_PERM
    return np.flatnonzero(_decide(share, size, sizes, threshold)).tolist()


# --- database glue --------------------------------------------------------------------------

# Stored band keys: 64 bands of 2 rows, a denser banding than band_keys' for one reason: a
# lookup must find every pair that the copy rule could accept, down to the trimmed-copy floor.
# A pair sharing m of the 128 minima shares no 2-row band with probability
# C(64, m) 2^m / C(128, m): 3e-4 at m = 38 (Jaccard 0.3), 2e-12 at m = 58 (0.45). On
# bench/copies.py's 623 documents every pair the rule accepts shares a key (60 pairs when
# written; 3-row bands missed 2) and 0.13% of all pairs do (1-row keys: 1.6%). A rule that
# accepted pairs below Jaccard 0.3 would need narrower bands (tests/test_copy_bands.py).
STORED_BAND_ROWS = 2
STORED_BANDS = NUM_PERM // STORED_BAND_ROWS
_BAND_SALT = np.random.Generator(np.random.PCG64(20260611)).integers(
    0, 2**63, size=STORED_BANDS, dtype=np.uint64
)


def lookup_keys(sig: bytes) -> list[int]:
    """Signed 64-bit keys (CopyBand.key), one per band of the signature; none for a text too
    short to judge, as the copy rule never calls those copies."""
    size, mins = _unpack(sig)
    if size < MIN_SHINGLES:
        return []
    rows = mins[: STORED_BANDS * STORED_BAND_ROWS].reshape(STORED_BANDS, STORED_BAND_ROWS)
    pairs = rows.astype(np.uint64)
    with np.errstate(over="ignore"):
        # One 64-bit word per band, salted by band, then splitmix64's mixer (a bijection).
        x = ((pairs[:, 0] << np.uint64(32)) | pairs[:, 1]) ^ _BAND_SALT
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x.view(np.int64).tolist()


def store_bands(signatures: dict[int, bytes | memoryview | None]) -> None:
    """Replace the stored band keys of these articles (by id) with their signatures' keys."""
    from django.db import connections

    from broadsheet.enrichment.models import CopyBand

    CopyBand.objects.filter(article_id__in=list(signatures))._raw_delete(CopyBand.objects.db)
    rows = [
        (pk, key)
        for pk, sig in signatures.items()
        if sig is not None and len(sig) == SIGNATURE_BYTES
        for key in lookup_keys(bytes(sig))
    ]
    if not rows:
        return
    # 64 rows an article: plain executemany, without building a model instance for each.
    connection = connections[CopyBand.objects.db]
    table, article, key = _band_columns(connection)
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({article}, {key}) VALUES (%s, %s)", rows)  # noqa: S608


def _band_columns(connection) -> tuple[str, str, str]:
    """CopyBand's table and its article and key columns, quoted for ``connection``."""
    from broadsheet.enrichment.models import CopyBand

    quote = connection.ops.quote_name
    article = CopyBand._meta.get_field("article").column
    return quote(CopyBand._meta.db_table), quote(article), quote("key")


@dataclass(frozen=True)
class Stored:
    """A stored signature with what decides whether it may be linked."""

    source_id: int
    listed_at: datetime
    signature: bytes


def link_copies(article) -> object | None:
    """Link ``article`` and any stored copies of it from other sources to the earliest one.

    Returns the original the article now points to (None when it is the original or has no
    copies). Compares the signatures of the articles listed within LOOKBACK of this one that
    share a band key with it.
    """
    from broadsheet.articles.models import Article

    sig = _stored_signature(article)
    original = _link(article, sig, stored_with_keys(lookup_keys(sig)))
    if original is None or original == article.pk:
        return None
    return Article.objects.get(pk=original)


def link_batch(articles, signatures: dict[int, bytes]) -> None:
    """``link_copies`` for a batch, one after the other, with the candidates of the whole
    batch read in one go; each article's ``duplicate_of_id`` is set to its new value."""
    from broadsheet.articles.models import Article

    keys = {key for article in articles for key in lookup_keys(signatures[article.pk])}
    stored = stored_with_keys(keys)
    linked = [_link(article, signatures[article.pk], stored) for article in articles]
    if any(original is not None for original in linked):
        # A later article of the batch may have moved an earlier one's group.
        current = Article.objects.filter(pk__in=[a.pk for a in articles])
        links = dict(current.values_list("pk", "duplicate_of_id"))
        for article in articles:
            article.duplicate_of_id = links.get(article.pk, article.duplicate_of_id)


def _stored_signature(article) -> bytes:
    from broadsheet.enrichment.models import Enrichment

    stored = Enrichment.objects.filter(article=article).values_list("signature", flat=True).first()
    return bytes(stored) if stored else signature(article.text)


def stored_with_keys(keys) -> dict[int, Stored]:
    """Stored articles with a signature sharing at least one of ``keys``, by article id."""
    from broadsheet.enrichment.models import Enrichment

    ids = sorted(_holders(sorted(set(keys))))
    found: dict[int, Stored] = {}
    for chunk in batches(ids):
        rows = Enrichment.objects.filter(
            article_id__in=chunk,
            article__state="done",
            signature__isnull=False,
        ).values_list("article_id", "article__source_id", "article__listed_at", "signature")
        for pk, source_id, listed_at, sig in rows:
            # A signature of another layout (an older version) is skipped, not trusted.
            if len(sig) == SIGNATURE_BYTES:
                found[pk] = Stored(source_id, listed_at, bytes(sig))
    return found


def _holders(keys: list[int]) -> set[int]:
    """Ids of the articles holding any of these band keys. Plain SQL: the ORM spends more
    time preparing a thousand parameters than the database spends on the lookups."""
    from django.db import connections

    from broadsheet.enrichment.models import CopyBand

    connection = connections[CopyBand.objects.db]
    table, article, key = _band_columns(connection)
    found: set[int] = set()
    with connection.cursor() as cursor:
        for chunk in batches(keys):
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT DISTINCT {article} FROM {table} WHERE {key} IN ({marks})",  # noqa: S608
                chunk,
            )
            found.update(row[0] for row in cursor.fetchall())
    return found


def _matching_articles(article, sig: bytes, stored: dict[int, Stored]) -> list[int]:
    """Ids among ``stored`` of other sources, listed within LOOKBACK, that copy ``sig``."""
    low, high = article.listed_at - LOOKBACK, article.listed_at + LOOKBACK
    valid = [
        (pk, row.signature)
        for pk, row in stored.items()
        if row.source_id != article.source_id and low <= row.listed_at <= high
    ]
    return [valid[i][0] for i in matching(sig, [s for _, s in valid])]


def _link(article, sig: bytes, stored: dict[int, Stored]) -> int | None:
    """Relink ``article``'s group of copies; returns the id of its original (maybe its own)."""
    return _join(article, _matching_articles(article, sig, stored))


def _join(article, matches: list[int]) -> int | None:
    """Put ``article`` and its ``matches`` (with their groups) in one group linked to the
    earliest; returns the id of the article's original (maybe its own), None without matches."""
    from django.db import transaction

    if not matches:
        return None
    with transaction.atomic():
        group = _whole_group(article, matches)
        original = min(group, key=lambda a: (a.listed_at, a.pk))
        _relink(group, original)
    article.duplicate_of_id = None if original.pk == article.pk else original.pk
    return original.pk


def _whole_group(article, matches: list[int]) -> list:
    from django.db.models import Q

    from broadsheet.articles.models import Article

    linked = Article.objects.filter(pk__in=matches).values_list("pk", "duplicate_of_id")
    roots = {root or pk for pk, root in linked}
    members = Article.objects.filter(Q(pk__in=roots) | Q(duplicate_of__in=roots) | Q(pk=article.pk))
    return list(members.only("pk", "listed_at", "duplicate_of_id"))


def _relink(group: list, original) -> None:
    from broadsheet.articles.models import Article

    others = [a.pk for a in group if a.pk != original.pk and a.duplicate_of_id != original.pk]
    if others:
        Article.objects.filter(pk__in=others).update(duplicate_of=original)
    if original.duplicate_of_id is not None:
        Article.objects.filter(pk=original.pk).update(duplicate_of=None)


def link_neighbours(articles, vectors, index) -> None:
    """Link rewritten copies (``is_rewritten_copy``) among each article's nearest articles in
    ``index``, from other sources, other groups and within LOOKBACK; only their texts are
    read. Each article's ``duplicate_of_id`` is set to its new value."""

    near: dict[int, list[int]] = {}
    for article, vector in zip(articles, vectors, strict=True):
        found = index.search(vector, NEIGHBOURS + 1) if index is not None else []
        near[article.pk] = [
            key for key, score in found if key != article.pk and score >= NEIGHBOUR_SIMILARITY
        ]
    rows = {  # where each article stands: (source, listed_at, root of its group)
        pk: (source_id, listed_at, root or pk)
        for pk, source_id, listed_at, root in _article_rows(
            set().union(*near.values()) | {a.pk for a in articles},
            ("pk", "source_id", "listed_at", "duplicate_of_id"),
        )
    }
    for article in articles:
        near[article.pk] = near[article.pk] if article.pk in rows else []
        if near[article.pk]:
            source_id, listed_at, root = rows[article.pk]
            near[article.pk] = [
                pk
                for pk in near[article.pk]
                if pk in rows
                and rows[pk][0] != source_id
                and rows[pk][2] != root
                and abs(rows[pk][1] - listed_at) <= LOOKBACK
            ]
    # Texts only of the articles that still have candidates, and of those candidates.
    wanted = {pk for pk, found in near.items() if found} | set().union(*near.values())
    texts = {pk: CopyText(text) for pk, text in _article_rows(wanted, ("pk", "text"))}

    for article in articles:
        if article.pk not in rows:
            continue
        root = rows[article.pk][2]
        matches = [
            pk
            for pk in near[article.pk]
            if rows[pk][2] != root  # joined to it earlier in this batch
            and is_rewritten_copy(texts.get(article.pk, ""), texts.get(pk, ""))
        ]
        original = _join(article, matches)
        if original is not None:
            article.duplicate_of_id = None if original == article.pk else original
            for pk in {article.pk, *matches}:  # later articles of the batch see the new group
                rows[pk] = (*rows[pk][:2], original)


def _article_rows(ids, fields: tuple[str, ...]) -> list[tuple]:
    """``fields`` of the stored articles among ``ids``, a bounded number of ids a query."""
    from broadsheet.articles.models import Article

    ids, found = sorted(ids), []
    for chunk in batches(ids):
        chosen = Article.objects.filter(pk__in=chunk, state="done")
        found += chosen.values_list(*fields)
    return found
