"""2-D projections of exported embeddings (t-SNE / UMAP) with a new clip placed among them.

Both methods learn a map that takes new points: UMAP's `transform`, and openTSNE's, which places a new point by
optimising its t-SNE objective against the fitted map of the test clips, the map itself held fixed (scikit-learn's
t-SNE has no such step). Either way the clip joins an existing map rather than refitting it, and the figure's note
says how it was placed. Fits are cached per (file identity, space, method), the identity being the file's path,
size and modification time: the first call costs seconds, later ones nothing, and a rewritten file or another
upload is never served an earlier file's map.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..media import file_identity
from .embeddings_file import EmbeddingsFileError, array_headers, check_headers, read_embeddings_file

METHODS = ("t-SNE", "UMAP")
SPACES = ("fused", "language", "vision", "audio")
TSNE_NOTE = ("openTSNE transform: the clip is optimised into the fixed t-SNE map of the test clips (an approximation: "
             "the map is not refitted with it)")
UMAP_NOTE = "UMAP transform of the clip's embedding"
_lock = threading.Lock()


def tsne_perplexity(n: int) -> float:
    """t-SNE's perplexity for n points: 30, or less for small sets (it needs about 3 x perplexity neighbours)."""
    return float(min(30.0, max(1.0, (n - 1) / 3)))


@dataclass
class Projection:
    coords: np.ndarray  # (N, 2)
    groups: list[str]  # colour group per point
    method: str
    space: str
    reference: np.ndarray  # (N, D) normalised embeddings the fit used
    mapper: object  # the fitted UMAP, or openTSNE's TSNEEmbedding: each maps new points

    def place(self, embedding: np.ndarray) -> tuple[np.ndarray, str]:
        """The clip's 2-D position (embedding (D,)), and how it was placed."""
        x = (embedding / (np.linalg.norm(embedding) + 1e-8)).astype(np.float32)[None]  # (1, D)
        if self.method == "UMAP":
            return np.asarray(self.mapper.transform(x))[0], UMAP_NOTE
        # openTSNE's transform defaults to perplexity 5, too high for the smallest sets
        perplexity = min(5.0, tsne_perplexity(len(self.reference)))
        return np.asarray(self.mapper.transform(x, perplexity=perplexity))[0], TSNE_NOTE


def group_names(data: dict[str, np.ndarray]) -> list[str]:
    """Colour group per clip, by the file's own label names: the class of a class index (sentiment), or the present
    label of a row of flags (emotion; the most probable when several are present, 'none' when none is). A file
    without targets has no labels to colour by: every clip is 'none'."""
    names = [str(n) for n in data["label_names"]]
    targets = data.get("targets")
    if targets is None:
        return ["none"] * len(data["ids"])
    if targets.ndim == 1:
        return [names[int(t)] for t in targets]
    scores = data.get("probs", targets)  # without probabilities: the first present label
    out = []
    for row, p in zip(targets, scores):
        present = np.flatnonzero(row > 0)
        out.append("none" if present.size == 0 else names[present[np.argmax(p[present])]])
    return out


def fit(path: str, space: str, method: str, seed: int = 0, max_bytes: int | None = None) -> Projection:
    """The 2-D map of `path`'s `space` embeddings, cached by the file's identity. `max_bytes`: the most memory the
    file's arrays may take unpacked (an upload's limit; None for the app's own files)."""
    if max_bytes is not None:  # checked on every request, cached or not (the headers only: cheap)
        check_headers(Path(path).name, array_headers(path), max_bytes)
    return _fit(file_identity(path), str(path), space, method, seed)


def _check_projectable(name: str, space: str, width: int, zero_rows: np.ndarray) -> None:
    """Refuse what has no cosine map (EmbeddingsFileError): openTSNE failed inside on both (its PCA start needs 2
    dimensions; a zero vector's cosine distance is NaN), an internal error instead of a message about the file."""
    if width < 2:
        raise EmbeddingsFileError(f"'{name}': its '{space}' embeddings have {width} dimension; a 2-D map needs "
                                  "at least 2")
    if zero_rows.size:
        raise EmbeddingsFileError(f"'{name}': {zero_rows.size} of its clips have an all-zero '{space}' embedding "
                                  f"(the first: row {zero_rows[0] + 1}), which has no direction to map: project "
                                  "another embedding, or leave those clips out")


@lru_cache(maxsize=16)  # bounded: each map holds its file's vectors; uploads push the oldest maps out
def _fit(identity: str, path: str, space: str, method: str, seed: int) -> Projection:
    """One fit; `identity` (path, size, mtime) is the cache key that tells one version of a file from another."""
    if method not in METHODS:
        raise UserError(f"unknown projection {method!r}; choose t-SNE or UMAP")
    if space not in SPACES:
        raise UserError(f"unknown embedding {space!r}; choose one of {', '.join(SPACES)}")
    data = read_embeddings_file(path)
    if space not in data:
        raise UserError(f"the embeddings file has no '{space}' embeddings (has: {[s for s in SPACES if s in data]})")
    x = data[space]
    # norms in float64: in float32 a vector of values near 1e20 has an infinite norm and normalises to zeros
    norms = np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True)
    _check_projectable(Path(path).name, space, x.shape[1], np.flatnonzero(norms[:, 0] == 0))
    x = (x / (norms + 1e-8)).astype(np.float32)
    with _lock:  # numba / openTSNE fits are not worth running twice in parallel
        if method == "UMAP":
            import umap

            mapper = umap.UMAP(n_components=2, n_neighbors=min(15, len(x) - 1), metric="cosine", random_state=seed)
            coords = mapper.fit_transform(x)
        else:
            from openTSNE import TSNE

            mapper = TSNE(n_components=2, perplexity=tsne_perplexity(len(x)), metric="cosine", initialization="pca",
                          random_state=seed, n_jobs=1, verbose=False).fit(x)
            # openTSNE's transform first centres the map's bounding box, in place: centred now, the cached map (and
            # a figure drawn before any clip was placed) never moves
            mapper -= (np.max(mapper, axis=0) + np.min(mapper, axis=0)) / 2
            coords = np.array(mapper)  # a copy: the figure's points are not the mapper's memory
    return Projection(coords=np.asarray(coords), groups=group_names(data), method=method, space=space, reference=x,
                      mapper=mapper)
