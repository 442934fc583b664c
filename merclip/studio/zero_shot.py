"""The zero-shot panel: CLIP's label prompts against the frames and the transcript, no training. Without real CLIP
weights on the machine, the offline reference (wordllama for the words, the FER2013 network for the faces) runs
instead, so the panel still shows a baseline that no project data trained."""
from __future__ import annotations

import plotly.graph_objects as go

from ..serving import figures
from .panel import Panel


class ZeroShotPanel(Panel):

    def zero_shot(self, video, transcript=None, transcript_file=None, task="emotion", label_kind="word",
                  custom_labels="") -> tuple[go.Figure, str]:
        """(scores per label, a line saying which model scored them)."""
        clip = self.guard.clip(video, transcript, transcript_file, None)
        labels = self.guard.labels(task, label_kind, custom_labels)
        arch, source = self.models.zero_shot_arch, self.models.zero_shot_source()
        if source is None:
            note = (f"Zero-shot CLIP needs real {arch} weights, which are not on this machine: put open_clip's "
                    f"`openai` weights in the Hugging Face cache, or start the app with `--clip-weights FILE` "
                    f"(or set `MERCLIP_CLIP_WEIGHTS`).")
            return self._offline(clip, labels, note)
        zs = self.models.zero_shot(source).predict(clip.video, clip.transcript, labels,
                                                   transcript_file=clip.transcript_file)
        fig = figures.zero_shot_bars(labels, {"vision": zs.vision, "language": zs.language, "combined": zs.combined},
                                     f"zero-shot CLIP {arch} (no training)")
        return fig, f"Zero-shot CLIP from `{source}`: label prompts scored against the frames and the transcript."

    def _offline(self, clip, labels: list[str], note: str) -> tuple[go.Figure, str]:
        """The offline reference's scores, with `note` saying why CLIP did not run."""
        try:
            reference = self.models.offline_reference
        except ImportError:  # wordllama or OpenCV not installed: only the note can be shown
            return figures.message_figure("zero-shot CLIP needs real weights"), note
        zs = reference.predict_media(clip.video, clip.transcript, labels, media_cfg=self.models.media_cfg)
        fig = figures.zero_shot_bars(labels, {"face (FER2013)": zs.face, "language (wordllama)": zs.language,
                                              "combined": zs.combined}, "offline zero-shot reference (no training)")
        found = f"faces found in {zs.faces_found} of {zs.frames} frames. " + " ".join(zs.notes)
        return fig, (note + " Shown instead: an offline zero-shot reference from pretrained parts that ship with "
                     "packages: the transcript's wordllama similarity to each label, and the FER2013 face network's "
                     f"expression probabilities mapped onto the labels by the similarity of their names; {found}")
