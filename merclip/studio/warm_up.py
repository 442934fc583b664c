"""Warm-up: the one-off costs of a first request, paid before the first user comes; and the page's line about it."""
from __future__ import annotations

import logging
from pathlib import Path

from .about import example_rows

log = logging.getLogger("merclip.studio")

WARMING_UP = ("⏳ **Warming up** (loading the model and decoding an example): the first analysis may take a few "
              "seconds longer until this line disappears.")


def warm_up(studio, projections: bool = True) -> None:
    """Run the whole request path of `studio` (a `merclip.studio.Studio`) once on a shipped example: model load, the
    built-in label sets' and query words' embeddings, the first video and audio decode (PyAV's and librosa/numba's
    start-up), the towers and the figures. `studio.ready` is set then, so the page stops saying "warming up"; the
    projections are prepared after it: each method's fit and the placing of a clip among the points (UMAP's
    transform is compiled on first use). A failure is logged and ends the warm-up: warming up is an optimisation,
    never a reason not to serve."""
    rows = example_rows()
    example, text = (Path(rows[0][0]), rows[0][1]) if rows else (None, "")
    try:
        studio.predictor.warm_up_text()  # loads the model, then embeds the built-in label sets and query words
        if example is not None:
            studio.analyse(str(example), text, task=studio.config.task)
    except Exception:  # noqa: BLE001 - logged with its traceback; the app serves regardless
        log.exception("warm-up failed (the app still serves; first requests are slower)")
        return
    finally:
        studio.ready.set()
    if projections and studio.embeddings is not None:
        _warm_projections(studio, example, text)


def _warm_projections(studio, example: Path | None, text: str) -> None:
    """Fit every projection method (and place the example among the points, when there is one)."""
    from ..serving.projection import METHODS, fit

    try:
        for method in METHODS:
            if example is not None:
                studio.projection(str(example), text, space="fused", method=method)
            else:
                fit(str(studio.embeddings), "fused", method)
    except Exception:  # noqa: BLE001
        log.exception("warming up the projections failed (the first projection request is slower)")
