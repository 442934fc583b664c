"""The LSGMER panel: the second model family on the same clip (audio + transcript only), its label-signal
attention and its attribution-prediction consistency (APC)."""
from __future__ import annotations

import plotly.graph_objects as go

from ..serving import figures
from .panel import Panel
from .requests import StudioError, md_text, timings_details


class LSGMERPanel(Panel):

    def lsgmer(self, video, transcript=None, transcript_file=None, audio=None) -> tuple[go.Figure, go.Figure, str]:
        """(prediction and attribution bars, label-signal attention maps, summary markdown)."""
        checkpoint = self.models.lsgmer_checkpoint
        if checkpoint is None:
            raise StudioError("no LSGMER checkpoint is loaded (start the app with --lsgmer-checkpoint DIR)")
        clip = self.guard.clip(video, transcript, transcript_file, audio)
        r = self.models.lsgmer.predict(clip.video, clip.transcript, audio=clip.audio,
                                       transcript_file=clip.transcript_file)
        summary = "\n\n".join([f"**LSGMER predicts:** {r.predicted} · **APC:** {r.apc:.3f} "
                               "(0 when the attribution agrees with the prediction)",
                               f"Checkpoint: `{checkpoint.name}` (audio + transcript; the frames are not used)",
                               *[f"- {md_text(n)}" for n in r.notes], timings_details(r.timings)])
        return figures.lsgmer_bars(r), figures.label_signal_maps(r), summary
