"""The projection panel: the shipped test-set embeddings (t-SNE or UMAP) coloured by label, a clip placed among
them."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go

from ..config import DEFAULT_QUERY_WORD
from ..serving import figures
from .analysis import predict_clip
from .panel import Panel
from .requests import StudioError


@dataclass
class ProjectionPanel(Panel):
    embeddings: Path | None = None  # the test-set embeddings .npz, None when none are loaded

    def projection(self, video, transcript=None, transcript_file=None, audio=None, space="fused", method="UMAP",
                   progress=None) -> go.Figure:
        """Test-set embeddings in 2-D, with this clip (when given) placed by the method's own transform."""
        from ..serving.projection import fit

        if self.embeddings is None:
            raise StudioError("no test-set embeddings are loaded (start the app with --embeddings FILE.npz)")
        if progress:
            progress(0.2, desc=f"fitting {method} on the test-set embeddings")
        proj = fit(str(self.embeddings), space, method)
        clip_xy, note = None, ""
        if video:
            clip = self.guard.clip(video, transcript, transcript_file, audio)
            config = self.models.config
            result = predict_clip(self.models.predictor, clip, config.task, list(config.labels),
                                  DEFAULT_QUERY_WORD[config.task])
            vector = result.fused if space == "fused" else result.embeddings.get(space)
            if vector is not None:
                clip_xy, note = proj.place(vector)
        title = f"{method} of the shipped test-set {space} embeddings ({len(proj.groups)} clips)"
        return figures.projection_scatter(proj.coords, proj.groups, clip_xy, title, note)
