import json
from dataclasses import replace

import numpy as np
import pytest

from broadsheet.enrichment.embeddings import (
    _RAREST_FREQUENCY,
    HashedLexicalEmbedder,
    _frequency,
    from_bytes,
    get_embedder,
    to_bytes,
)
from broadsheet.enrichment.vectors import AutoIndex, ExactIndex, UsearchIndex, open_index
from tests.datasets import dataset


def test_vectors_are_fixed_size_normalized_and_stable():
    embedder = get_embedder()
    first = embedder.embed(["Floods hit Jakarta on Monday.", "", "<b>\x00</b>"])
    again = embedder.embed(["Floods hit Jakarta on Monday."])
    assert first.shape == (3, embedder.dim) and first.dtype == np.float32
    assert np.allclose(np.linalg.norm(first[[0, 2]], axis=1), 1.0, atol=1e-5)
    assert np.array_equal(first[0], again[0])
    assert np.array_equal(from_bytes(to_bytes(first[0])), first[0])


def test_word_frequencies_are_wordfreqs_own():
    from wordfreq import get_frequency_dict, word_frequency

    listed = get_frequency_dict("en", "best")
    words = [w for w in list(listed)[::50] if w.isascii() and w.isalpha() and w.islower()]
    # An unlisted word, then capitals, digits, accents and apostrophes (wordfreq's own path).
    words += ["zzqxvb", "London", "2024", "covid19", "café", "don't", "the", "a"]
    assert len(words) > 5000
    for word in words:
        assert _frequency(word, "en") == word_frequency(word, "en", minimum=_RAREST_FREQUENCY)


def test_same_event_scores_above_another_event_of_the_same_kind():
    a, b, c = get_embedder().embed(
        [
            "An earthquake of magnitude 6.1 struck Sumatra, killing 12 people in Padang.",
            "Rescuers in Padang searched rubble after the Sumatra earthquake killed 12.",
            "A magnitude 5.8 earthquake shook northern Chile, damaging homes in Arica.",
        ]
    )
    assert a @ b > a @ c + 0.1


def test_same_event_share_floor_on_ecbplus():
    from bench.related import same_event_share

    docs = [json.loads(line) for line in (dataset("stories-ecbplus-dev") / "docs.jsonl").open()]
    vectors = get_embedder().embed([doc["text"] for doc in docs])
    labels = np.array([doc["story_id"] for doc in docs])
    assert same_event_share(vectors, labels) >= 0.96


def test_lead_names_and_numbers_weigh_more():
    embedder = get_embedder()
    filler = " ".join(["the council met and talked about roads and budgets"] * 20)
    early, late, plain = embedder.embed(
        [
            f"Storm floods Jakarta. {filler} Officials spoke.",
            f"Officials spoke. {filler} Storm floods Jakarta.",
            "Storm floods Jakarta.",
        ]
    )
    assert early @ plain > late @ plain + 0.2
    flat = HashedLexicalEmbedder(
        weighting=replace(embedder.weighting, name_boost=1.0, number_boost=1.0)
    )
    texts = ["said Jakarta", "said 41"]
    probe = embedder.embed(["said"])[0]
    # Boosted, the name and the number outweigh the common word more than unboosted.
    assert np.all(embedder.embed(texts) @ probe < flat.embed(texts) @ probe - 0.1)


def test_the_first_model_stays_available_under_its_name():
    old, new = get_embedder("hashed-lexical-1024"), get_embedder()
    assert old.name != new.name and old.dim == new.dim
    text = ["Rescuers in Padang searched rubble after the Sumatra earthquake killed 12."]
    assert not np.allclose(old.embed(text), new.embed(text))


def _clustered(n, dim=64, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((20, dim))
    points = centres[rng.integers(0, 20, n)] + 0.3 * rng.standard_normal((n, dim))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("make", [ExactIndex, UsearchIndex])
def test_index_add_remove_search_persist(make, tmp_path):
    vectors = _clustered(300)
    index = make(64)
    index.add(range(1, 301), vectors)
    assert index.search(vectors[9], 1)[0][0] == 10
    index.remove([10])
    assert 10 not in [key for key, _ in index.search(vectors[9], 5)]
    assert len(index) == 299
    index.save(tmp_path / "index.bin")
    loaded = open_index(tmp_path / "index.bin", 64)
    assert len(loaded) == 299
    assert loaded.search(vectors[20], 1)[0][0] == 21


def test_auto_index_moves_to_ann_and_rebuilds(tmp_path):
    vectors = _clustered(200)
    index = AutoIndex(64, tmp_path / "auto.idx", limit=100)
    index.add(range(100), vectors[:100])
    assert isinstance(index.backend, ExactIndex)
    index.add(range(100, 200), vectors[100:])
    assert isinstance(index.backend, UsearchIndex)
    exact = ExactIndex(64)
    exact.add(range(200), vectors)
    ann_hits = {key for key, _ in index.search(vectors[5], 10)}
    exact_hits = {key for key, _ in exact.search(vectors[5], 10)}
    assert len(ann_hits & exact_hits) >= 8
    index.rebuild((i, vectors[i]) for i in range(50))
    assert len(index) == 50 and isinstance(index.backend, ExactIndex)
    index.save()
    assert len(open_index(tmp_path / "auto.idx", 64)) == 50


def test_projected_graph_with_exact_rerank_finds_true_neighbours(tmp_path):
    vectors = np.vstack([_clustered(1500, dim=512, seed=s) for s in (1, 2)])
    index = UsearchIndex(512)
    assert index.low < 512  # the graph really is built on projected vectors
    index.add(range(len(vectors)), vectors, threads=2)
    exact = ExactIndex(512)
    exact.add(range(len(vectors)), vectors)
    queries = _clustered(40, dim=512, seed=1)
    hits = [
        len({k for k, _ in index.search(q, 10)} & {k for k, _ in exact.search(q, 10)})
        for q in queries
    ]
    assert np.mean(hits) / 10 >= 0.95
    key, score = index.search(vectors[7], 1)[0]
    assert key == 7 and score == pytest.approx(1.0, abs=1e-3)
    index.save(tmp_path / "graph.usearch")
    assert UsearchIndex.load(tmp_path / "graph.usearch", 512).search(vectors[7], 1)[0][0] == 7
    assert index.memory_bytes() > index._full[: len(vectors)].nbytes > 0


def test_a_graph_of_another_layout_is_refused(tmp_path):
    from usearch.index import Index

    old = Index(ndim=128, metric="cos", dtype="f32")
    old.add(np.arange(10), _clustered(10, dim=128))
    old.save(str(tmp_path / "old.usearch"))
    with pytest.raises(ValueError):
        UsearchIndex.load(tmp_path / "old.usearch", 512)
