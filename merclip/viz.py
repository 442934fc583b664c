"""Plotly figures for MER-CLIP results. Pure functions: data in, figure out (no model calls here)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .predict import PredictionResult

ON_COLOUR, OFF_COLOUR = "#d62728", "#9ecae1"
MODALITY_TITLES = {"L": "language (tokens)", "V": "vision (frames)", "A": "audio (2-s segments)"}


def _wrap(text: str, width: int = 28) -> str:
    """Long labels (sentences) wrapped onto several axis lines."""
    words, lines, line = text.split(), [], ""
    for w in words:
        if len(line) + len(w) + 1 > width and line:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    lines.append(line)
    return "<br>".join(lines[:4]) + ("…" if len(lines) > 4 else "")


def prediction_bars(result: PredictionResult, threshold: float = 0.6, title: str | None = None) -> go.Figure:
    """Probabilities per label, decided labels highlighted; the emotion threshold drawn as a line."""
    labels = result.labels
    probs = [result.probabilities[l] for l in labels]
    colours = [ON_COLOUR if result.decisions[l] else OFF_COLOUR for l in labels]
    fig = go.Figure(go.Bar(x=[_wrap(l) for l in labels], y=probs, marker_color=colours,
                           text=[f"{p:.2f}" for p in probs], textposition="outside",
                           hovertext=labels, hovertemplate="%{hovertext}: %{y:.3f}<extra></extra>"))
    if result.task == "emotion":
        fig.add_hline(y=threshold, line_dash="dash", line_color="black",
                      annotation_text=f"threshold {threshold}", annotation_position="top left")
    decided = ", ".join(result.predicted) or "none"
    fig.update_layout(title=title or f"{result.task}: {decided}", yaxis=dict(range=[0, 1.1], title="probability"),
                      margin=dict(t=50, b=10, l=10, r=10), height=340, showlegend=False)
    return fig


def modality_similarity(result: PredictionResult) -> go.Figure:
    """Heatmap: cosine similarity of each modality's embedding (and the fused one) with every label."""
    sims = result.modality_label_similarity()
    rows = list(sims)
    z = np.stack([sims[r] for r in rows])
    names = [f"{r}{'' if r == 'fused' or result.present.get(r, True) else ' (absent)'}" for r in rows]
    fig = go.Figure(go.Heatmap(z=z, x=[_wrap(l, 18) for l in result.labels], y=names, colorscale="RdBu", zmid=0,
                               texttemplate="%{z:.2f}", colorbar=dict(title="cos")))
    fig.update_layout(title="cosine similarity with each label", height=300, margin=dict(t=40, b=10, l=10, r=10))
    return fig


def attention_maps(result: PredictionResult, head: str | int = "mean") -> go.Figure:
    """One heatmap per CMD layer: the query's cross-attention over that modality's items.

    head='mean' averages the heads (one row per layer); 'all' shows every head as a row; an int picks one head.
    Frames are drawn as thumbnails under the vision layer's axis.
    """
    maps = result.attention
    if not maps:
        fig = go.Figure()
        fig.add_annotation(text="this model has no cross-modal decoder (ablation): no attention maps",
                           showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
        return fig.update_layout(height=200)
    fig = make_subplots(rows=len(maps), cols=1, vertical_spacing=0.16,
                        subplot_titles=[f"layer {a.layer + 1}: {MODALITY_TITLES[a.modality]}" for a in maps])
    for i, a in enumerate(maps, start=1):
        w = a.weights  # (heads, T)
        if w.shape[1] == 0:
            fig.add_annotation(text="modality absent in this clip", showarrow=False, row=i, col=1,
                               x=0.5, y=0.5, xref=f"x{i if i > 1 else ''} domain", yref=f"y{i if i > 1 else ''} domain")
            continue
        if head == "mean":
            z, ylabels = w.mean(0, keepdims=True), ["mean"]
        elif head == "all":
            z, ylabels = w, [f"head {h + 1}" for h in range(w.shape[0])]
        else:
            h = int(head)
            z, ylabels = w[h : h + 1], [f"head {h + 1}"]
        items = [f"{j}:{t}" for j, t in enumerate(a.items)]  # unique tick labels, even for repeated tokens
        fig.add_trace(go.Heatmap(z=z, x=items, y=ylabels, colorscale="Viridis", showscale=i == 1, zmin=0,
                                 hovertemplate="%{x}<br>%{y}: %{z:.3f}<extra></extra>"), row=i, col=1)
        fig.update_xaxes(tickangle=-45, row=i, col=1, ticktext=[t for t in a.items], tickvals=items)
        if a.modality == "V" and result.thumbnails:
            xref = f"x{i if i > 1 else ''}"
            yref = f"y{i if i > 1 else ''}"
            for j, thumb in enumerate(result.thumbnails[: len(items)]):
                fig.add_layout_image(source=thumb, x=items[j], y=len(ylabels) - 0.5, xref=xref, yref=yref,
                                     sizex=1, sizey=len(ylabels), xanchor="center", yanchor="bottom", layer="above")
    fig.update_layout(height=230 * len(maps) + 60, margin=dict(t=40, b=20, l=10, r=10), title_text="CMD attention")
    return fig


def query_word_comparison(results: Mapping[str, PredictionResult]) -> go.Figure:
    """Grouped bars: the same clip's label probabilities under each query word."""
    fig = go.Figure()
    for word, r in results.items():
        fig.add_trace(go.Bar(name=word, x=[_wrap(l) for l in r.labels], y=[r.probabilities[l] for l in r.labels]))
    first = next(iter(results.values()), None)
    if first is not None and first.task == "emotion":
        fig.add_hline(y=0.6, line_dash="dash", line_color="black")
    fig.update_layout(barmode="group", title="prediction per emotion-query word", yaxis=dict(range=[0, 1], title="probability"),
                      height=360, margin=dict(t=50, b=10, l=10, r=10), legend_title_text="query word")
    return fig


def label_set_comparison(results: Mapping[str, PredictionResult], threshold: float = 0.6) -> go.Figure:
    """Side-by-side bars for the same clip under different label sets."""
    names = list(results)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, shared_yaxes=True)
    for c, name in enumerate(names, start=1):
        r = results[name]
        fig.add_trace(go.Bar(x=[_wrap(l, 20) for l in r.labels], y=[r.probabilities[l] for l in r.labels],
                             marker_color=[ON_COLOUR if r.decisions[l] else OFF_COLOUR for l in r.labels],
                             hovertext=r.labels, hovertemplate="%{hovertext}: %{y:.3f}<extra></extra>", showlegend=False),
                      row=1, col=c)
        if r.task == "emotion":
            fig.add_hline(y=threshold, line_dash="dash", line_color="black", row=1, col=c)
    fig.update_yaxes(range=[0, 1.05])
    fig.update_layout(title="label sets side by side", height=420, margin=dict(t=60, b=10, l=10, r=10))
    return fig


def projection_scatter(coords: np.ndarray, groups: Sequence[str], clip_xy: np.ndarray | None, title: str,
                       note: str = "") -> go.Figure:
    """Test-set embeddings in 2-D coloured by label, the current clip as a star."""
    fig = go.Figure()
    groups = np.asarray(groups)
    for g in sorted(set(groups.tolist())):
        m = groups == g
        fig.add_trace(go.Scatter(x=coords[m, 0], y=coords[m, 1], mode="markers", name=g, marker=dict(size=7, opacity=0.7)))
    if clip_xy is not None:
        fig.add_trace(go.Scatter(x=[clip_xy[0]], y=[clip_xy[1]], mode="markers+text", name="this clip", text=["this clip"],
                                 textposition="top center",
                                 marker=dict(symbol="star", size=20, color="black", line=dict(color="yellow", width=2))))
    fig.update_layout(title=title + (f"<br><sup>{note}</sup>" if note else ""), height=480,
                      margin=dict(t=70, b=10, l=10, r=10), xaxis=dict(showticklabels=False), yaxis=dict(showticklabels=False))
    return fig


def message_figure(text: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    return fig.update_layout(height=200, xaxis=dict(visible=False), yaxis=dict(visible=False))


def lsgmer_bars(result) -> go.Figure:
    """LSGMER's prediction next to the APC attribution distribution (they agree when APC is small)."""
    fig = go.Figure()
    fig.add_trace(go.Bar(name="prediction p_pred", x=result.labels, y=[result.probabilities[l] for l in result.labels],
                         marker_color=[ON_COLOUR if l == result.predicted else OFF_COLOUR for l in result.labels]))
    fig.add_trace(go.Bar(name="attribution p_attr", x=result.labels, y=[result.attribution[l] for l in result.labels],
                         marker_color="#7f7f7f"))
    fig.update_layout(barmode="group", yaxis=dict(range=[0, 1], title="probability"), height=340,
                      title=f"LSGMER: {result.predicted} · APC (JS divergence) {result.apc:.3f}",
                      margin=dict(t=50, b=10, l=10, r=10))
    return fig


def label_signal_maps(result) -> go.Figure:
    """Label-signal attention of LSGMER's LSE: labels (rows) x transcript tokens / audio segments (columns)."""
    if not result.label_attention:
        return message_figure("this LSGMER was trained without label signal enhancement (ablation): no label attention")
    names = {"L": "labels × transcript tokens", "A": "labels × audio segments"}
    fig = make_subplots(rows=1, cols=2, subplot_titles=[names["L"], names["A"]], column_widths=[0.7, 0.3])
    for col, m in enumerate(("L", "A"), start=1):
        z = result.label_attention[m]
        if z.shape[1] == 0:
            continue
        items = [f"{j}:{t}" for j, t in enumerate(result.items[m])]
        fig.add_trace(go.Heatmap(z=z, x=items, y=result.labels, colorscale="Viridis", zmin=0, showscale=col == 1,
                                 hovertemplate="%{y} · %{x}: %{z:.3f}<extra></extra>"), row=1, col=col)
        fig.update_xaxes(tickangle=-45, tickvals=items, ticktext=result.items[m], row=1, col=col)
    fig.update_layout(height=360, margin=dict(t=40, b=20, l=10, r=10), title_text="LSGMER label-signal attention")
    return fig
