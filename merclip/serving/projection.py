"""2-D projections of exported embeddings (t-SNE / UMAP) with a new clip placed among them.

UMAP learns a mapping, so a new clip goes through `transform` exactly. t-SNE has no out-of-sample
mapping; the clip is placed at the distance-weighted mean of its k nearest neighbours' 2-D positions
(cosine distance in the embedding space) — an approximation, and the figure says so.
Fits are cached per (embeddings file, space, method): the first call costs seconds, later ones nothing.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import UserError
from ..training.export import load_embeddings

METHODS = ("t-SNE", "UMAP")
SPACES = ("fused", "language", "vision", "audio")
NEIGHBOURS = 8  # k: the t-SNE placement's nearest test clips
TSNE_NOTE = f"t-SNE cannot embed new points: the clip is placed at the weighted mean of its {NEIGHBOURS} nearest test clips"
_lock = threading.Lock()


@dataclass
class Projection:
    coords: np.ndarray  # (N, 2)
    groups: list[str]  # colour group per point
    method: str
    space: str
    reference: np.ndarray  # (N, D) normalised embeddings the fit used
    mapper: object | None  # fitted UMAP, or None for t-SNE

    def place(self, embedding: np.ndarray) -> tuple[np.ndarray, str]:
        x = embedding / (np.linalg.norm(embedding) + 1e-8)
        if self.mapper is not None:
            return self.mapper.transform(x[None])[0], "UMAP transform of the clip's embedding"
        dist = 1 - self.reference @ x
        idx = np.argsort(dist)[:NEIGHBOURS]
        w = 1 / (dist[idx] + 1e-3)
        return (self.coords[idx] * w[:, None]).sum(0) / w.sum(), TSNE_NOTE


def group_names(data: dict[str, np.ndarray]) -> list[str]:
    """Colour group per clip: the sentiment class, or the strongest present emotion ('none' if no emotion)."""
    names = [str(n) for n in data["label_names"]]
    targets = data["targets"]
    if str(data["task"]) == "sentiment":
        return [names[int(t)] for t in targets]
    out = []
    for row, p in zip(targets, data["probs"]):
        present = np.flatnonzero(row > 0)
        out.append("none" if present.size == 0 else (names[present[0]] if present.size == 1 else names[present[np.argmax(p[present])]]))
    return out


@lru_cache(maxsize=16)
def fit(path: str, space: str, method: str, seed: int = 0) -> Projection:
    if method not in METHODS:
        raise UserError(f"unknown projection {method!r}; choose t-SNE or UMAP")
    data = load_embeddings(path)
    if space not in data:
        raise UserError(f"the embeddings file has no '{space}' embeddings (has: {[s for s in SPACES if s in data]})")
    x = data[space].astype(np.float32)
    x = x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-8)
    with _lock:  # numba/sklearn fits are not worth running twice in parallel
        if method == "UMAP":
            import umap

            mapper = umap.UMAP(n_components=2, n_neighbors=min(15, len(x) - 1), metric="cosine", random_state=seed)
            coords = mapper.fit_transform(x)
        else:
            from sklearn.manifold import TSNE

            mapper = None
            coords = TSNE(n_components=2, perplexity=min(30, max(2, (len(x) - 1) / 3)), metric="cosine",
                          init="pca", random_state=seed).fit_transform(x)
    return Projection(coords=np.asarray(coords), groups=group_names(data), method=method, space=space, reference=x, mapper=mapper)
