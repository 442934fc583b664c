"""The projection panel: a set's embeddings (t-SNE or UMAP) coloured by its own labels, a clip placed among them.
The set is a shipped one (the generated test split, or the real-ish test split: real photographs and natural
sentences, whose layout says what the model separates in clips it was not trained on), or an uploaded embeddings
file (the export .npz format), checked like any upload."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import plotly.graph_objects as go

from ..config import DEFAULT_QUERY_WORD
from ..serving import figures
from ..serving.embeddings_file import EmbeddingsFileError
from .analysis import predict_clip
from .panel import Panel
from .requests import StudioError

# An upload's arrays may take this many times the upload size limit once unpacked: float vectors hardly compress,
# so only a crafted file (a zip bomb) comes near it.
UNPACKED_PER_UPLOADED = 4


SHIPPED_SETS = {"generated": "the generated test split", "realish": "the real-ish test split"}
# what a clip lacks when its embedding in a space is absent (the t-SNE transform of its zero vector failed on NaNs,
# and UMAP placed it somewhere meaningless)
ABSENT_INPUT = {"language": "transcript", "vision": "video frames", "audio": "audio"}


@dataclass
class ProjectionPanel(Panel):
    embeddings: Path | None = None  # the generated test split's embeddings .npz, None when none are loaded
    realish_embeddings: Path | None = None  # the real-ish test split's, None when none are loaded

    def projection(self, video, transcript=None, transcript_file=None, audio=None, space="fused", method="UMAP",
                   progress=None, embeddings_file=None, shipped_set="generated") -> go.Figure:
        """A set's embeddings in 2-D, coloured by the set's labels, with this clip (when given) placed by the
        method's own transform. The set: `embeddings_file` (an uploaded export .npz) when given, else the shipped
        set `shipped_set` names (SHIPPED_SETS)."""
        from ..serving.projection import fit

        path, name, max_bytes = self._source(embeddings_file, shipped_set)
        if progress:
            progress(0.2, desc=f"fitting {method} on {name}")
        try:
            proj = fit(path, space, method, max_bytes=max_bytes)
        except EmbeddingsFileError as exc:
            raise StudioError(str(exc)) from None
        clip_xy, note = self._place(proj, space, video, transcript, transcript_file, audio) if video else (None, "")
        title = f"{method} of {name} {space} embeddings ({len(proj.groups)} clips)"
        return figures.projection_scatter(proj.coords, proj.groups, clip_xy, title, note)

    def _source(self, embeddings_file, shipped_set: str) -> tuple[str, str, int | None]:
        """The file to project, its name for the title, and the most its arrays may take unpacked (None: no limit,
        for the app's own files)."""
        if embeddings_file:
            path = self.guard.embeddings_file(embeddings_file)
            limit = int(UNPACKED_PER_UPLOADED * self.guard.media_cfg.max_file_mb * 2**20)
            return path, f"'{Path(path).name}'", limit
        if shipped_set not in SHIPPED_SETS:
            raise StudioError(f"unknown set {shipped_set!r}: choose one of {', '.join(SHIPPED_SETS)}")
        path = self.embeddings if shipped_set == "generated" else self.realish_embeddings
        if path is None:
            raise StudioError(f"no embeddings of {SHIPPED_SETS[shipped_set]} are loaded (start the app with "
                              "--embeddings FILE.npz, or upload an embeddings file)")
        return str(path), SHIPPED_SETS[shipped_set] + "'s", None

    def _place(self, proj, space: str, video, transcript, transcript_file, audio) -> tuple[np.ndarray | None, str]:
        """The clip's 2-D position among the set's points and how it was placed; unplaced, and the note says why,
        when its embedding is not as wide as the set's (a set exported by another model)."""
        clip = self.guard.clip(video, transcript, transcript_file, audio)
        config = self.models.config
        result = predict_clip(self.models.predictor, clip, config.task, list(config.labels),
                              DEFAULT_QUERY_WORD[config.task])
        vector = result.fused if space == "fused" else result.embeddings.get(space)
        if vector is None:
            return None, f"this clip is not placed: the model gives it no {space} embedding"
        if not result.present.get(space, True):  # its embedding is all zeros: no direction, nowhere to be placed
            return None, f"this clip is not placed: it has no {ABSENT_INPUT.get(space, space)}, so no {space} embedding"
        width = proj.reference.shape[1]
        if vector.shape[-1] != width:
            return None, (f"this clip is not placed: its {space} embedding has {vector.shape[-1]} dimensions and the "
                          f"set's have {width} (a set from another model)")
        return proj.place(vector)
