"""Plotly figures for MER-CLIP results. Pure functions: data in, figure out (no model calls here)."""
from __future__ import annotations

import base64
import functools
import html
import io
import json
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .predict import PredictionResult

ON_COLOUR, OFF_COLOUR = "#d62728", "#9ecae1"
MODALITY_TITLES = {"L": "language (tokens)", "V": "vision (frames)", "A": "audio (2-s segments)"}


def _plain(text: str) -> str:
    """User-given words (labels, query words, transcript tokens) for plotly, which renders a subset of HTML in axis,
    hover and title text: escaped, so that "<b>calm</b>" shows as typed instead of as markup."""
    return html.escape(str(text), quote=False)


def _wrap(text: str, width: int = 28) -> str:
    """Long labels (sentences) wrapped onto several axis lines (each line escaped: see `_plain`)."""
    words, lines, line = text.split(), [], ""
    for w in words:
        if len(line) + len(w) + 1 > width and line:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    lines.append(line)
    return "<br>".join(_plain(l) for l in lines[:4]) + ("…" if len(lines) > 4 else "")


def image_data_uri(image) -> str:
    """A PIL image as a PNG data URI, encoded once per image object (kept on the image itself).

    Plotly would PNG-encode a PIL image on every figure build; the thumbnails of a cached clip are redrawn on
    every query-word or label-set swap, so their encoding is kept for as long as the image lives.
    """
    uri = getattr(image, "_merclip_data_uri", None)
    if uri is None:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        uri = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
        image._merclip_data_uri = uri
    return uri


def prediction_bars(result: PredictionResult, threshold: float = 0.6, title: str | None = None) -> go.Figure:
    """Probabilities per label, decided labels highlighted; the emotion threshold drawn as a line."""
    labels = result.labels
    probs = [result.probabilities[l] for l in labels]
    colours = [ON_COLOUR if result.decisions[l] else OFF_COLOUR for l in labels]
    fig = go.Figure(go.Bar(x=[_wrap(l) for l in labels], y=probs, marker_color=colours,
                           text=[f"{p:.2f}" for p in probs], textposition="outside",
                           hovertext=[_plain(l) for l in labels], hovertemplate="%{hovertext}: %{y:.3f}<extra></extra>"))
    decided = ", ".join(_plain(p) for p in result.predicted) or "none"
    fig.update_layout(title=title or f"{result.task}: {decided}", yaxis=dict(range=[0, 1.1], title="probability"),
                      margin=dict(t=50, b=10, l=10, r=75 if result.task == "emotion" else 10), height=340,
                      showlegend=False, **(threshold_line(threshold) if result.task == "emotion" else {}))
    return fig


def threshold_line(threshold: float) -> dict:
    """Layout entries for a dashed threshold line across the plot, labelled just right of the plot area (inside,
    the label sat on top of the first bar; the caller leaves a right margin for it).

    What fig.add_hline draws, as plain layout entries: add_hline costs ~4 ms per call in plotly's validation,
    paid again on every redraw of the main panel.
    """
    return {"shapes": [dict(type="line", xref="paper", x0=0, x1=1, yref="y", y0=threshold, y1=threshold,
                            line=dict(dash="dash", color="black"))],
            "annotations": [dict(text=f"threshold<br>{threshold}", xref="paper", x=1, xanchor="left", yref="y",
                                 y=threshold, yanchor="middle", showarrow=False, align="left")]}


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


VALUES_IN_CELLS_UP_TO = 16  # items per row up to which each cell also prints its value


def shared_colour_axis(top: float, title: str) -> dict:
    """A Viridis colour axis from 0 to `top` (the largest value any subplot shows), so that every subplot reads
    on the same scale and its one colour bar tells the truth about all of them."""
    return dict(colorscale="Viridis", cmin=0.0, cmax=max(top, 1e-6), colorbar=dict(title=dict(text=title)))


def attention_maps(result: PredictionResult, head: str | int = "mean") -> go.Figure:
    """One heatmap per CMD layer: the query's cross-attention over that modality's items.

    head='mean' averages the heads (one row per layer); 'all' shows every head as a row; an int picks one head.
    Frames are drawn as thumbnails inside the vision layer's cells, the attention colour around them.
    """
    maps = result.attention
    if not maps:
        fig = go.Figure()
        fig.add_annotation(text="this model has no cross-modal decoder (ablation): no attention maps",
                           showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
        return fig.update_layout(height=200)
    layout = _stacked_subplots_layout(tuple(f"layer {a.layer + 1}: {MODALITY_TITLES[a.modality]}" for a in maps))
    # The figure is built from plain dicts and validated once: each make_subplots / add_trace(row=...) /
    # update_xaxes(row=...) / add_layout_image call re-validates it, which made this panel the slowest part of a
    # query-word swap (26 ms of plotly for 2 ms of model).
    traces, images, notes = [], [], []
    # One colour scale for every layer, from 0 to the largest weight shown: per-layer min-max scaling drew four
    # near-equal weights (0.2505 / 0.2505 / 0.2502 / 0.2487) as yellow, yellow, green and black.
    top = max((float(a.weights.max()) for a in maps if a.weights.size), default=1.0)
    for i, a in enumerate(maps, start=1):
        xref, yref = f"x{i if i > 1 else ''}", f"y{i if i > 1 else ''}"
        w = a.weights  # (heads, T)
        if w.shape[1] == 0:
            notes.append(dict(text="modality absent in this clip", showarrow=False, x=0.5, y=0.5,
                              xref=f"{xref} domain", yref=f"{yref} domain"))
            continue
        if head == "mean":
            z, ylabels = w.mean(0, keepdims=True), ["mean"]
        elif head == "all":
            z, ylabels = w, [f"head {h + 1}" for h in range(w.shape[0])]
        else:
            h = int(head)
            z, ylabels = w[h : h + 1], [f"head {h + 1}"]
        items = [f"{j}:{_plain(t)}" for j, t in enumerate(a.items)]  # unique tick labels, even for repeated tokens
        fits = len(items) <= VALUES_IN_CELLS_UP_TO and a.modality != "V"  # frames' cells hold their thumbnails
        traces.append(go.Heatmap(z=z, x=items, y=ylabels, coloraxis="coloraxis", xaxis=xref, yaxis=yref,
                                 texttemplate="%{z:.2f}" if fits else None,
                                 hovertemplate="%{x}<br>%{y}: %{z:.3f}<extra></extra>"))
        layout[f"xaxis{i if i > 1 else ''}"].update(tickangle=-45, ticktext=[_plain(t) for t in a.items], tickvals=items)
        if a.modality == "V" and result.thumbnails:
            # inside their own cells, on the bottom row: images outside an axis' range are clipped away
            images += [dict(source=image_data_uri(thumb), x=items[j], y=0, xref=xref, yref=yref, sizex=0.9,
                            sizey=0.7, xanchor="center", yanchor="middle", layer="above")
                       for j, thumb in enumerate(result.thumbnails[: len(items)])]
    layout.update(height=230 * len(maps) + 60, margin=dict(t=40, b=20, l=10, r=10), title=dict(text="CMD attention"),
                  images=images, annotations=layout.get("annotations", []) + notes,
                  coloraxis=shared_colour_axis(top, "attention"))
    return go.Figure(data=traces, layout=layout)


@functools.lru_cache(maxsize=16)
def _stacked_subplots_json(titles: tuple[str, ...]) -> str:
    fig = make_subplots(rows=len(titles), cols=1, vertical_spacing=0.16, subplot_titles=list(titles))
    return json.dumps(fig.layout.to_plotly_json())


def _stacked_subplots_layout(titles: tuple[str, ...]) -> dict:
    """make_subplots' layout (axis domains, subplot titles) for one column of plots, as a fresh plain dict."""
    return json.loads(_stacked_subplots_json(titles))


def query_word_comparison(results: Mapping[str, PredictionResult]) -> go.Figure:
    """Grouped bars: the same clip's label probabilities under each query word."""
    fig = go.Figure()
    for word, r in results.items():
        fig.add_trace(go.Bar(name=_plain(word), x=[_wrap(l) for l in r.labels], y=[r.probabilities[l] for l in r.labels]))
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
                             hovertext=[_plain(l) for l in r.labels], hovertemplate="%{hovertext}: %{y:.3f}<extra></extra>", showlegend=False),
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
    top = max((float(np.max(z)) for z in result.label_attention.values() if np.size(z)), default=1.0)
    for col, m in enumerate(("L", "A"), start=1):
        z = result.label_attention[m]
        if z.shape[1] == 0:
            fig.add_annotation(text="modality absent in this clip", showarrow=False, x=0.5, y=0.5,
                               xref=f"x{col if col > 1 else ''} domain", yref=f"y{col if col > 1 else ''} domain")
            continue
        items = [f"{j}:{_plain(t)}" for j, t in enumerate(result.items[m])]
        fig.add_trace(go.Heatmap(z=z, x=items, y=result.labels, coloraxis="coloraxis",
                                 texttemplate="%{z:.2f}" if len(items) <= VALUES_IN_CELLS_UP_TO else None,
                                 hovertemplate="%{y} · %{x}: %{z:.3f}<extra></extra>"), row=1, col=col)
        fig.update_xaxes(tickangle=-45, tickvals=items, ticktext=[_plain(t) for t in result.items[m]], row=1, col=col)
    fig.update_layout(height=360, margin=dict(t=40, b=20, l=10, r=10), title_text="LSGMER label-signal attention",
                      coloraxis=shared_colour_axis(top, "attention"))
    return fig
