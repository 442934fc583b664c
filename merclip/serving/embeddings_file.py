"""An embeddings file in the export format (merclip.training.export) read as untrusted input: someone's own set,
uploaded to the Studio's projection.

Read in two steps. First only each array's .npy header (its dtype and shape, a few bytes): a pickled object array
is refused before anything could unpickle it, a file whose arrays would expand beyond `max_bytes` (a zip bomb) is
refused before anything is allocated, and the shapes are checked against each other. Then the arrays, with
`np.load(allow_pickle=False)`, and their values (finite vectors, class indices in range).
"""
from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..training.export import load_embeddings

REQUIRED = ("ids", "fused", "label_names")
EMBEDDINGS = ("fused", "language", "vision", "audio")
MIN_CLIPS = 4  # UMAP's spectral start needs more points than its 2 dimensions + 1
WRITERS = "python -m merclip.export, or python -m merclip.predict DIR --embeddings FILE.npz"


class EmbeddingsFileError(UserError):
    """The file is not a usable export .npz; the message names the key or the mismatch."""


def array_headers(path: str | Path) -> dict[str, tuple[np.dtype, tuple[int, ...]]]:
    """Each array's (dtype, shape), read from the .npy headers inside the .npz without loading any array."""
    name = Path(path).name
    if not zipfile.is_zipfile(path):
        raise EmbeddingsFileError(f"'{name}' is not an .npz file (a zip of .npy arrays, as {WRITERS} write)")
    headers = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.infolist():
                if not member.filename.endswith(".npy"):  # np.load would read it whole, past the size check
                    raise EmbeddingsFileError(f"'{name}' holds '{member.filename}', which is not a .npy array")
                with archive.open(member) as f:
                    headers[member.filename[:-4]] = _npy_header(f)
    except EmbeddingsFileError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise EmbeddingsFileError(f"'{name}' is not a readable .npz file ({type(exc).__name__})") from None
    return headers


def _npy_header(f) -> tuple[np.dtype, tuple[int, ...]]:
    """One .npy member's (dtype, shape); ValueError for anything but a version 1 or 2 header."""
    version = np.lib.format.read_magic(f)
    read = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}.get(version)
    if read is None:
        raise ValueError(f"unsupported .npy version {version}")
    shape, _, dtype = read(f)
    return dtype, shape


def check_headers(name: str, headers: dict[str, tuple[np.dtype, tuple[int, ...]]], max_bytes: int | None) -> None:
    """Refuse pickled arrays, missing keys, an oversized file and shapes that disagree, from the headers alone."""
    pickled = [k for k, (dtype, _) in headers.items() if dtype.hasobject]
    if pickled:
        raise EmbeddingsFileError(f"'{name}' holds pickled Python objects in {', '.join(map(repr, pickled))}: they "
                                  f"are never unpickled here; write the file with {WRITERS}")
    missing = [k for k in REQUIRED if k not in headers]
    if missing:
        raise EmbeddingsFileError(f"'{name}' has no {' or '.join(map(repr, missing))} array (an embeddings file "
                                  f"holds {', '.join(REQUIRED)} and the per-clip arrays that {WRITERS} write)")
    size = sum(dtype.itemsize * math.prod(shape) for dtype, shape in headers.values())
    if max_bytes is not None and size > max_bytes:
        raise EmbeddingsFileError(f"'{name}' unpacks to {size / 2**20:.3g} MB of arrays; the limit is "
                                  f"{max_bytes / 2**20:.3g} MB")
    _check_shapes(name, {k: shape for k, (_, shape) in headers.items()},
                  {k: dtype.kind for k, (dtype, _) in headers.items()})


def _check_shapes(name: str, shapes: dict[str, tuple[int, ...]], kinds: dict[str, str]) -> None:
    """One row per clip in every per-clip array, one column per label in the per-label ones; numbers where numbers
    belong."""
    def refuse(problem: str):
        raise EmbeddingsFileError(f"'{name}': {problem}")

    ids, names = shapes["ids"], shapes["label_names"]
    if len(ids) != 1 or ids[0] < MIN_CLIPS:
        refuse(f"'ids' must list the clips, at least {MIN_CLIPS} of them (it has shape {ids})")
    if len(names) != 1 or names[0] < 1 or kinds["label_names"] not in "US":
        refuse(f"'label_names' must be a list of label names (it has shape {names})")
    n, labels = ids[0], names[0]
    exact = {"probs": [(n, labels)], "sentiment": [(n,)], "targets": [(n,), (n, labels)]}
    for key in [k for k in (*EMBEDDINGS, *exact, "label_embeddings") if k in shapes]:
        shape, per_label = shapes[key], key == "label_embeddings"
        if kinds[key] not in "biuf":
            refuse(f"'{key}' must hold numbers")
        rows = labels if per_label else n
        if shape[:1] != (rows,):
            refuse(f"'{key}' has {shape[0] if shape else 0} rows; expected {rows}, one per "
                   + ("label in 'label_names'" if per_label else "clip in 'ids'"))
        if (key in EMBEDDINGS or per_label) and (len(shape) != 2 or shape[1] < 1):
            refuse(f"'{key}' has shape {shape}; expected one vector per row, ({rows}, width)")
        if key in exact and shape not in exact[key]:
            refuse(f"'{key}' has shape {shape}; expected {' or '.join(map(str, exact[key]))} ({n} clips, "
                   f"{labels} label names)")


def read_embeddings_file(path: str | Path, max_bytes: int | None = None) -> dict[str, np.ndarray]:
    """The arrays of an embeddings file, once its headers, shapes and values are checked (EmbeddingsFileError
    otherwise). `max_bytes`: the most memory its arrays may take once unpacked (None: no limit)."""
    name = Path(path).name
    check_headers(name, array_headers(path), max_bytes)
    try:
        data = load_embeddings(path)  # allow_pickle=False: the headers said there is nothing to unpickle
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:  # a damaged member (its CRC, its length)
        raise EmbeddingsFileError(f"'{name}' is not a readable .npz file ({type(exc).__name__})") from None
    for key in [k for k in EMBEDDINGS if k in data]:
        if not np.isfinite(data[key]).all():
            raise EmbeddingsFileError(f"'{name}': '{key}' holds NaN or infinite values")
    targets, labels = data.get("targets"), len(data["label_names"])
    if targets is not None and targets.ndim == 1 and not (np.isin(targets, np.arange(labels)).all()):
        raise EmbeddingsFileError(f"'{name}': 'targets' holds a class index outside 0 to {labels - 1} (one index per "
                                  f"clip into the {labels} label names)")
    return data
