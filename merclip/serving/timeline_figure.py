"""Plotly figure of an emotion timeline (merclip.serving.timeline): each label's probability over the clip's utterances."""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.colors import qualitative

from ..arguments import check_choice, check_threshold
from .figures import _plain, threshold_line


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def _hover_words(text: str, width: int = 60) -> str:
    """An utterance's words for the hover box: escaped (shown as typed), wrapped, and cut after four lines."""
    words, lines, line = (text or "(no words)").split(), [], ""
    for w in words:
        if len(line) + len(w) + 1 > width and line:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    lines.append(line)
    return "<br>".join(_plain(l) for l in lines[:4]) + ("…" if len(lines) > 4 else "")


def timeline_figure(timeline, task: str = "emotion", threshold: float | None = 0.6) -> go.Figure:
    """One line per label: the utterance's probability held flat over its span (gaps where nobody speaks), with
    the utterance's number, times and words on hover; the emotion threshold dashed."""
    check_threshold(threshold, allow_none=True)
    labels = timeline.labels[check_choice(task, list(timeline.labels), "task")]
    fig = go.Figure()
    palette = qualitative.Plotly + qualitative.D3
    for k, label in enumerate(labels):
        xs, ys, data = [], [], []
        for r in timeline.rows:
            p = r.scores[task][label]
            info = [r.index, _clock(r.start), _clock(r.end), _hover_words(r.text), ", ".join(r.predicted[task]) or "none"]
            xs += [r.start, r.end, None]
            ys += [p, p, None]
            data += [info, info, [None] * 5]
        fig.add_trace(go.Scatter(
            x=xs, y=ys, customdata=data, mode="lines+markers", name=_plain(label), connectgaps=False,
            line=dict(width=3, color=palette[k % len(palette)]), marker=dict(size=5),
            hovertemplate=(f"<b>{_plain(label)}</b> %{{y:.2f}}<br>utterance %{{customdata[0]}} "
                           "(%{customdata[1]}–%{customdata[2]})<br>%{customdata[3]}<br>"
                           "predicted: %{customdata[4]}<extra></extra>")))
    layout = dict(title=f"{task} over time: {_plain(timeline.video)} ({len(timeline.rows)} utterances; "
                        f"words: {_plain(timeline.engine)})",
                  xaxis=dict(title="time (s)", range=[0, max(timeline.duration, 1e-3)]),
                  yaxis=dict(title="probability", range=[0, 1.05]), hovermode="closest", height=420,
                  margin=dict(t=50, b=40, l=50, r=75), legend=dict(orientation="h", y=-0.2))
    if task == "emotion" and threshold is not None:
        layout.update(threshold_line(threshold))
    fig.update_layout(**layout)
    return fig
