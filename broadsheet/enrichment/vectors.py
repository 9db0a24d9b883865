"""The vector index behind "articles like this one": exact for small sets, usearch HNSW beyond.

Scores are cosine similarities of L2-normalized vectors. Ids are article primary keys (int).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

# Below this many vectors a brute-force matrix product is both exact and fast enough.
EXACT_LIMIT = 20_000


class VectorIndex:
    dim: int

    def add(self, ids, vectors) -> None:
        raise NotImplementedError

    def remove(self, ids) -> None:
        raise NotImplementedError

    def search(self, vector, k: int) -> list[tuple[int, float]]:
        raise NotImplementedError

    def save(self, path) -> None:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def rebuild(self, items: Iterable[tuple[int, np.ndarray]]) -> None:
        self.remove(self.ids())
        for ids, vectors in _batches(items):
            self.add(ids, vectors)

    def ids(self) -> list[int]:
        raise NotImplementedError


def _batches(items, size: int = 10_000):
    ids, vectors = [], []
    for key, vector in items:
        ids.append(int(key))
        vectors.append(np.asarray(vector, dtype=np.float32))
        if len(ids) == size:
            yield ids, np.vstack(vectors)
            ids, vectors = [], []
    if ids:
        yield ids, np.vstack(vectors)


def _as_matrix(vectors, dim: int) -> np.ndarray:
    matrix = np.asarray(vectors, dtype=np.float32).reshape(-1, dim)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


class ExactIndex(VectorIndex):
    """A dense matrix searched by one matrix-vector product."""

    def __init__(self, dim: int):
        self.dim = dim
        self._ids = np.zeros(0, dtype=np.int64)
        self._matrix = np.zeros((0, dim), dtype=np.float32)

    def add(self, ids, vectors) -> None:
        ids = np.asarray(list(ids), dtype=np.int64)
        self.remove(ids)
        self._ids = np.concatenate([self._ids, ids])
        self._matrix = np.vstack([self._matrix, _as_matrix(vectors, self.dim)])

    def remove(self, ids) -> None:
        keep = ~np.isin(self._ids, np.asarray(list(ids), dtype=np.int64))
        self._ids, self._matrix = self._ids[keep], self._matrix[keep]

    def search(self, vector, k: int) -> list[tuple[int, float]]:
        if not len(self._ids) or k <= 0:
            return []
        scores = self._matrix @ _as_matrix(vector, self.dim)[0]
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self._ids[i]), float(scores[i])) for i in top]

    def vectors(self) -> Iterable[tuple[int, np.ndarray]]:
        return zip(self._ids.tolist(), self._matrix, strict=False)

    def ids(self) -> list[int]:
        return self._ids.tolist()

    def save(self, path) -> None:
        with open(path, "wb") as handle:
            np.savez(handle, ids=self._ids, matrix=self._matrix)

    @classmethod
    def load(cls, path) -> ExactIndex:
        with np.load(path) as data:
            index = cls(data["matrix"].shape[1])
            index._ids, index._matrix = data["ids"], data["matrix"]
        return index

    def __len__(self) -> int:
        return len(self._ids)


# HNSW runs on a fixed random projection to this many dimensions, stored as int8: a cheap graph
# to build and walk. At a million synthetic lexical vectors (bench/related.py) the exact top 10
# lay among the 300 nearest projected ones 97% of the time at 256 dimensions (int8 costing
# nothing), 99% at 384; at 128 the whole search found 94% at only 100,000 vectors.
PROJECTED_DIM = 256
# Candidates taken from the graph (its search runs this wide), then re-ranked exactly on the
# full vectors. At a million vectors 300 found 97% of the true top 10, 200 96%, 400 98%.
RERANK_POOL = 300
_PROJECTION_SEED = 20260301


def projection(dim: int, low: int = PROJECTED_DIM) -> np.ndarray:
    """A seeded Gaussian matrix: the same on every host and every day, fitted to no corpus."""
    rng = np.random.default_rng(_PROJECTION_SEED)
    return (rng.standard_normal((dim, low)) / np.sqrt(low)).astype(np.float32)


class UsearchIndex(VectorIndex):
    """HNSW over projected int8 vectors, re-ranked exactly on the full vectors kept beside it.

    A graph on all 1,024 dimensions (int8) built slower and, at a million vectors, kept only
    89-92% of the true top 10 among 100-200 candidates; projected to 256 dimensions it builds
    faster, and re-ranking 300 candidates on the full vectors restores the exact order of the
    ones it finds (bench/related.py).
    """

    def __init__(self, dim: int, connectivity: int = 16, expansion_add: int = 128):
        from usearch.index import Index

        self.dim = dim
        self.low = min(PROJECTED_DIM, dim)
        self._projection = projection(dim, self.low)
        self._index = Index(
            ndim=self.low,
            metric="cos",
            dtype="i8",
            connectivity=connectivity,
            expansion_add=expansion_add,
            expansion_search=RERANK_POOL,
        )
        self._full = np.zeros((0, dim), dtype=np.float16)
        self._used = 0
        self._slot: dict[int, int] = {}

    def add(self, ids, vectors, threads: int | None = None) -> None:
        """Add or replace vectors; a large batch is inserted on every core unless `threads`."""
        keys = np.asarray(list(ids), dtype=np.int64)
        matrix = _as_matrix(vectors, self.dim)
        self.remove(keys)
        self._keep_full(keys, matrix)
        if threads is None:
            threads = (os.cpu_count() or 1) if len(keys) >= 1000 else 1
        self._index.add(keys.astype(np.uint64), matrix @ self._projection, threads=threads)

    def _keep_full(self, keys: np.ndarray, matrix: np.ndarray) -> None:
        first, needed = self._used, self._used + len(keys)
        if needed > len(self._full):
            # Doubling keeps one-at-a-time additions from copying the whole matrix each time.
            grown = np.zeros((max(needed, 2 * len(self._full)), self.dim), dtype=np.float16)
            grown[:first] = self._full[:first]
            self._full = grown
        self._full[first:needed] = matrix
        self._used = needed
        self._slot.update(zip(keys.tolist(), range(first, needed), strict=True))

    def remove(self, ids) -> None:
        present = [int(key) for key in ids if int(key) in self._slot]
        for key in present:
            del self._slot[key]
        if present:
            self._index.remove(np.asarray(present, dtype=np.uint64))

    def search(self, vector, k: int) -> list[tuple[int, float]]:
        if not len(self._slot) or k <= 0:
            return []
        query = _as_matrix(vector, self.dim)[0]
        found = self._index.search(query @ self._projection, max(k, RERANK_POOL))
        keys = [key for key in found.keys.tolist() if key in self._slot]
        scores = self._full[[self._slot[key] for key in keys]].astype(np.float32) @ query
        order = np.argsort(-scores, kind="stable")[:k]
        return [(keys[i], float(scores[i])) for i in order]

    def memory_bytes(self) -> int:
        """The graph, the full vectors and the key map: roughly what this index holds in RAM
        (rows reserved for growth but not yet written are not counted: the OS maps them lazily)."""
        full = self._full[: self._used].nbytes
        return int(self._index.memory_usage + full + 100 * len(self._slot))

    def ids(self) -> list[int]:
        return list(self._slot)

    def save(self, path) -> None:
        path = Path(path)
        self._index.save(str(path))
        keys = np.fromiter(self._slot, dtype=np.int64, count=len(self._slot))
        rows = self._full[[self._slot[key] for key in keys.tolist()]]
        with open(_full_path(path), "wb") as handle:
            np.savez(handle, keys=keys, full=rows)

    @classmethod
    def load(cls, path, dim: int) -> UsearchIndex:
        from usearch.index import ScalarKind

        index = cls(dim)
        index._index.load(str(path))
        # usearch takes the file's own settings: a graph of an earlier layout is rebuilt instead.
        if index._index.ndim != index.low or index._index.dtype != ScalarKind.I8:
            raise ValueError(f"{path}: a graph of another layout ({index._index.ndim} dimensions)")
        with np.load(_full_path(Path(path))) as data:
            index._full = data["full"]
            index._used = len(index._full)
            index._slot = dict(zip(data["keys"].tolist(), range(len(data["keys"])), strict=True))
        return index

    def __len__(self) -> int:
        return len(self._slot)


def _full_path(path: Path) -> Path:
    """The full vectors travel in a numpy file named after the graph file."""
    name = path.name.removesuffix(".partial")
    suffix = ".partial" if path.name.endswith(".partial") else ""
    return path.with_name(f"{name}.full.npz{suffix}")


class AutoIndex(VectorIndex):
    """Starts exact and moves to usearch once it holds more than `limit` vectors."""

    def __init__(self, dim: int, path=None, limit: int = EXACT_LIMIT):
        self.dim, self.limit = dim, limit
        self.path = Path(path) if path else None
        self.backend: VectorIndex = ExactIndex(dim)

    def add(self, ids, vectors) -> None:
        self.backend.add(ids, vectors)
        if isinstance(self.backend, ExactIndex) and len(self.backend) > self.limit:
            self._grow()

    def _grow(self) -> None:
        exact, self.backend = self.backend, UsearchIndex(self.dim)
        ids, vectors = zip(*exact.vectors(), strict=True)
        self.backend.add(ids, np.vstack(vectors), threads=os.cpu_count() or 1)

    def rebuild(self, items) -> None:
        self.backend = ExactIndex(self.dim)
        for ids, vectors in _batches(items):
            self.add(ids, vectors)

    def remove(self, ids) -> None:
        self.backend.remove(ids)

    def search(self, vector, k: int) -> list[tuple[int, float]]:
        return self.backend.search(vector, k)

    def ids(self) -> list[int]:
        return self.backend.ids()

    def save(self, path=None) -> None:
        """Write to a temporary file first so a reader never sees half an index."""
        target = Path(path or self.path)
        partial = target.with_name(target.name + ".partial")
        self.backend.save(partial)
        if isinstance(self.backend, UsearchIndex):
            os.replace(_full_path(partial), _full_path(target))
        os.replace(partial, target)

    def __len__(self) -> int:
        return len(self.backend)


def open_index(path, dim: int, limit: int = EXACT_LIMIT) -> AutoIndex:
    """Load the index stored at `path` (either backend), or start an empty one there."""
    index = AutoIndex(dim, path, limit)
    path = Path(path)
    if path.exists() and path.stat().st_size:
        index.backend = _load_backend(path, dim)
    return index


def _load_backend(path: Path, dim: int) -> VectorIndex:
    with open(path, "rb") as handle:
        is_numpy_archive = handle.read(2) == b"PK"
    if is_numpy_archive:
        return ExactIndex.load(path)
    return UsearchIndex.load(path, dim)
