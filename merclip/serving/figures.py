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

from ..arguments import check_threshold
from .predictor import PredictionResult

ON_COLOUR, OFF_COLOUR = "#d62728", "#9ecae1"
# the segment length is in each audio item's own label ("0-2s", "2-3s"), from the media config, not in the title
MODALITY_TITLES = {"L": "language (tokens)", "V": "vision (frames)", "A": "audio (segments)"}
# One colour per label wherever a figure colours by label (projections): distinct for the labels that matter most
# to tell apart (happy vs angry were blue and purple in plotly's default cycle); other labels take the fallback cycle.
LABEL_COLOURS = {"happy": "#f2b701", "sad": "#1f77b4", "angry": "#d62728", "surprise": "#e377c2", "disgust": "#2ca02c",
                 "fear": "#9467bd", "neutral": "#7f7f7f", "joy": "#f2b701", "sadness": "#1f77b4", "anger": "#d62728",
                 "positive": "#2ca02c", "negative": "#d62728", "none": "#c7c7c7"}
FALLBACK_COLOURS = ["#17becf", "#8c564b", "#ff9896", "#bcbd22", "#393b79", "#637939", "#843c39", "#7b4173"]
# The plot's tool bar keeps only "download as PNG": zoom, pan and lasso mean little on bar charts and heat maps, and
# on a phone the full bar covered the figure's title.
MODEBAR = dict(remove=["zoom", "pan", "select", "lasso", "zoomin", "zoomout", "autoscale", "resetscale"])
SHORT_NAME_CHARS = 16  # labels longer than this get a short axis name (the full label stays in the hover text)


def _plain(text: str) -> str:
    """User-given words (labels, query words, transcript tokens) for plotly, which renders a subset of HTML in axis,
    hover and title text: escaped, so that "<b>calm</b>" shows as typed instead of as markup."""
    return html.escape(str(text), quote=False)


@functools.lru_cache(maxsize=1)
def _built_in_short_names() -> dict[str, str]:
    """Each built-in phrase or sentence label -> the word label it describes ('A feeling of deep sorrow…' -> 'sad')."""
    from ..labels import label_set

    names = {}
    for task in ("emotion", "sentiment"):
        words = label_set(task, "word")
        for kind in ("phrase", "sentence"):
            names.update(zip(label_set(task, kind), words))
    return names


def short_names(labels: Sequence[str], width: int = SHORT_NAME_CHARS) -> list[str]:
    """Axis names for labels: a short label as it is; a built-in phrase or sentence as the word it describes; any
    other long label as its first words and "…". Names stay unique (a repeat gets its position appended), and are
    escaped (see `_plain`). The full label belongs in the hover text."""
    built_in = _built_in_short_names()
    out = []
    for label in labels:
        if len(label) <= width:
            name = label
        elif label in built_in:
            name = f"{built_in[label]} (…)"
        else:
            name, words = "", label.split()
            for w in words:
                if name and len(name) + len(w) + 1 > width - 1:
                    break
                name = f"{name} {w}".strip()
            name = name[: width - 1] + "…"
        out.append(name)
    seen: dict[str, int] = {}
    for i, name in enumerate(out):
        if name in seen or out.count(name) > 1:
            out[i] = f"{name} #{i + 1}"
        seen[name] = i
    return [_plain(n) for n in out]


def label_colour(label: str, i: int = 0) -> str:
    return LABEL_COLOURS.get(label.lower(), FALLBACK_COLOURS[i % len(FALLBACK_COLOURS)])


def wrap_lines(text: str, width: int) -> str:
    """A title over several lines of at most about `width` characters (plotly does not wrap: on a phone a long title
    ran off the plot). The text is escaped (see `_plain`)."""
    lines, line = [], ""
    for word in str(text).split():
        if line and len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "<br>".join(_plain(l) for l in lines)


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


def prediction_bars(result: PredictionResult, threshold: float | None = None, title: str | None = None) -> go.Figure:
    """Probabilities per label, decided labels highlighted. `threshold` is the model config's emotion threshold,
    drawn as a line for emotion results (None: no line; viz has no threshold of its own). Long labels get short
    axis names, the full label on hover."""
    check_threshold(threshold, allow_none=True)
    labels = result.labels
    probs = [result.probabilities[l] for l in labels]
    colours = [ON_COLOUR if result.decisions[l] else OFF_COLOUR for l in labels]
    emotion = result.task == "emotion" and threshold is not None
    fig = go.Figure(go.Bar(x=short_names(labels), y=probs, marker_color=colours,
                           text=[f"{p:.2f}" for p in probs], textposition=_value_positions(probs, threshold if emotion else None),
                           textangle=0, cliponaxis=False, hovertext=[_plain(l) for l in labels],
                           hovertemplate="%{hovertext}: %{y:.3f}<extra></extra>"))
    decided = ", ".join(_plain(p) for p in short_names(result.predicted)) or "none"
    fig.update_layout(title=title or f"{result.task}: {decided}", yaxis=dict(range=[0, 1.1], title="probability"),
                      margin=dict(t=50, b=10, l=10, r=75 if emotion else 10), height=340, modebar=MODEBAR,
                      showlegend=False, **(threshold_line(threshold) if emotion else {}))
    return fig


def _value_positions(values: Sequence[float], threshold: float | None) -> list[str]:
    """Where each bar prints its value: above the bar, except just under the threshold, where the value would sit on
    the threshold line: there it goes inside the bar's top."""
    if threshold is None:
        return ["outside"] * len(values)
    return ["inside" if threshold - 0.09 <= v < threshold else "outside" for v in values]


def threshold_line(threshold: float, yref: str = "y", label: bool = True, xref: str = "paper") -> dict:
    """Layout entries for a dashed threshold line across the plot, below the bars and their values, labelled just
    right of the plot area (inside, the label sat on top of the first bar; the caller leaves a right margin for it).

    What fig.add_hline draws, as plain layout entries: add_hline costs ~4 ms per call in plotly's validation,
    paid again on every redraw of the main panel.
    """
    line = dict(type="line", xref=xref, x0=0, x1=1, yref=yref, y0=threshold, y1=threshold, layer="below",
                line=dict(dash="dash", color="black", width=1))
    notes = [dict(text=f"threshold<br>{threshold:g}", xref="paper", x=1, xanchor="left", yref=yref, y=threshold,
                  yanchor="middle", showarrow=False, align="left")] if label else []
    return {"shapes": [line], "annotations": notes}


def modality_similarity(result: PredictionResult) -> go.Figure:
    """Heatmap: cosine similarity of each modality's embedding (and the fused one) with every label."""
    sims = result.modality_label_similarity()
    rows = list(sims)
    z = np.stack([sims[r] for r in rows])
    names = [f"{r}{'' if r == 'fused' or result.present.get(r, True) else ' (absent)'}" for r in rows]
    fig = go.Figure(go.Heatmap(z=z, x=short_names(result.labels), y=names, colorscale="RdBu", zmid=0,
                               texttemplate="%{z:.2f}", colorbar=dict(title="cos"),
                               customdata=[[_plain(l) for l in result.labels]] * len(rows),
                               hovertemplate="%{y} · %{customdata}: %{z:.3f}<extra></extra>"))
    fig.update_layout(title="cosine similarity with each label", height=300, margin=dict(t=40, b=10, l=10, r=10),
                      modebar=MODEBAR)
    return fig


VALUES_IN_CELLS_UP_TO = 12  # items per row up to which each cell also prints its value


def shared_colour_axis(top: float, title: str) -> dict:
    """A Viridis colour axis from 0 to `top` (the largest value any subplot shows), so that every subplot reads
    on the same scale and its one colour bar tells the truth about all of them."""
    return dict(colorscale="Viridis", cmin=0.0, cmax=max(top, 1e-6), colorbar=dict(title=dict(text=title), thickness=14))


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
            z, ylabels = w, [head_name(h) for h in range(w.shape[0])]
        else:
            h = int(head)
            z, ylabels = w[h : h + 1], [head_name(h)]
        items = [f"{j}:{_plain(t)}" for j, t in enumerate(a.items)]  # unique tick labels, even for repeated tokens
        fits = len(items) <= VALUES_IN_CELLS_UP_TO and a.modality != "V"  # frames' cells hold their thumbnails
        traces.append(go.Heatmap(z=z, x=items, y=ylabels, coloraxis="coloraxis", xaxis=xref, yaxis=yref,
                                 texttemplate="%{z:.2f}" if fits else None, textfont=dict(size=10),
                                 hovertemplate="%{x}<br>%{y}: %{z:.3f}<extra></extra>"))
        layout[f"xaxis{i if i > 1 else ''}"].update(tickangle=-45, ticktext=[_plain(t) for t in a.items], tickvals=items)
        if a.modality == "V" and result.thumbnails:
            # inside their own cells, on the bottom row: images outside an axis' range are clipped away
            images += [dict(source=image_data_uri(thumb), x=items[j], y=0, xref=xref, yref=yref, sizex=0.9,
                            sizey=0.7, xanchor="center", yanchor="middle", layer="above")
                       for j, thumb in enumerate(result.thumbnails[: len(items)])]
    layout.update(height=230 * len(maps) + 60, margin=dict(t=40, b=20, l=10, r=10), title=dict(text="CMD attention"),
                  images=images, annotations=layout.get("annotations", []) + notes,
                  coloraxis=shared_colour_axis(top, "attention"), modebar=MODEBAR)
    return go.Figure(data=traces, layout=layout)


def head_name(h: int) -> str:
    """An attention head's name, the same in the plot and in the app's head chooser (head 1 is index 0)."""
    return f"head {h + 1}"


@functools.lru_cache(maxsize=16)
def _stacked_subplots_json(titles: tuple[str, ...]) -> str:
    fig = make_subplots(rows=len(titles), cols=1, vertical_spacing=0.16, subplot_titles=list(titles))
    return json.dumps(fig.layout.to_plotly_json())


def _stacked_subplots_layout(titles: tuple[str, ...]) -> dict:
    """make_subplots' layout (axis domains, subplot titles) for one column of plots, as a fresh plain dict."""
    return json.loads(_stacked_subplots_json(titles))


def query_word_comparison(results: Mapping[str, PredictionResult], threshold: float | None = None,
                          reference: str | None = None) -> go.Figure:
    """The same clip under each query word: the probabilities (top) and, below, each word's change from the
    `reference` word's probabilities (default: the first word), printed with enough decimals to show it (the bars
    on top often agree to two decimals, which made the sweep look like it did nothing). `threshold`: the model
    config's emotion threshold, drawn as a line (None: none)."""
    check_threshold(threshold, allow_none=True)
    words = list(results)
    reference = reference if reference in results else words[0]
    ref = results[reference]
    labels = ref.labels
    names = short_names(labels)
    hover = [_plain(l) for l in labels]
    others = [w for w in words if w != reference]
    diffs = {w: [results[w].probabilities[l] - ref.probabilities[l] for l in labels] for w in others}
    largest = max((abs(d) for ds in diffs.values() for d in ds), default=0.0)
    decimals = 3 if largest >= 0.01 else min(6, 2 - int(np.floor(np.log10(largest)))) if largest > 0 else 3
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12, row_heights=[0.5, 0.5],
                        subplot_titles=["probability per query word",
                                        f"change from '{_plain(reference)}'" if others else
                                        "choose a second word to see what it changes"])
    for i, w in enumerate(words):
        colour = FALLBACK_COLOURS[i % len(FALLBACK_COLOURS)] if w != reference else "#444444"
        fig.add_trace(go.Bar(name=_plain(w), x=names, y=[results[w].probabilities[l] for l in labels], hovertext=hover,
                             marker_color=colour, legendgroup=w,
                             hovertemplate=f"{_plain(w)} · %{{hovertext}}: %{{y:.{decimals + 1}f}}<extra></extra>"),
                      row=1, col=1)
        if w in diffs:
            fig.add_trace(go.Bar(name=_plain(w), x=names, y=diffs[w], hovertext=hover, marker_color=colour,
                                 legendgroup=w, showlegend=False,
                                 hovertemplate=(f"{_plain(w)} − {_plain(reference)} · %{{hovertext}}: "
                                                f"%{{y:+.{decimals + 1}f}}<extra></extra>")), row=2, col=1)
    if ref.task == "emotion" and threshold is not None:
        line = threshold_line(threshold, label=False)
        fig.update_layout(shapes=line["shapes"])
    span = largest * 1.35 if largest > 0 else 1.0
    fig.update_yaxes(range=[0, 1.05], title_text="probability", row=1, col=1)
    fig.update_yaxes(range=[-span, span], title_text="difference", zeroline=True, zerolinecolor="black",
                     tickformat=f"+.{decimals}f", row=2, col=1)
    fig.update_layout(barmode="group", title="emotion-query words compared" if ref.task == "emotion"
                      else "query words compared", height=560, margin=dict(t=70, b=10, l=10, r=10),
                      legend=dict(title_text="query word", orientation="h", y=-0.08), modebar=MODEBAR)
    return fig


def label_set_comparison(results: Mapping[str, PredictionResult], threshold: float | None = None) -> go.Figure:
    """Side-by-side bars for the same clip under different label sets (long labels: short names, full on hover)."""
    check_threshold(threshold, allow_none=True)
    names = list(results)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=[_plain(n) for n in names], shared_yaxes=True)
    shapes = []
    for c, name in enumerate(names, start=1):
        r = results[name]
        probs = [r.probabilities[l] for l in r.labels]
        fig.add_trace(go.Bar(x=short_names(r.labels), y=probs, text=[f"{p:.2f}" for p in probs],
                             textposition=_value_positions(probs, threshold if r.task == "emotion" else None),
                             textangle=0, cliponaxis=False,
                             marker_color=[ON_COLOUR if r.decisions[l] else OFF_COLOUR for l in r.labels],
                             hovertext=[_plain(l) for l in r.labels], hovertemplate="%{hovertext}: %{y:.3f}<extra></extra>", showlegend=False),
                      row=1, col=c)
        if r.task == "emotion" and threshold is not None:
            suffix = "" if c == 1 else str(c)  # across this subplot only, not the gap between subplots
            shapes += threshold_line(threshold, yref=f"y{suffix}", label=False, xref=f"x{suffix} domain")["shapes"]
    fig.update_yaxes(range=[0, 1.1])
    fig.update_layout(title="label sets side by side" + (f" (dashed: threshold {threshold:g})" if shapes else ""), height=420,
                      margin=dict(t=60, b=10, l=10, r=10), shapes=shapes, modebar=MODEBAR)
    return fig


def projection_scatter(coords: np.ndarray, groups: Sequence[str], clip_xy: np.ndarray | None, title: str,
                       note: str = "") -> go.Figure:
    """Test-set embeddings in 2-D coloured by label, the current clip as a star."""
    fig = go.Figure()
    groups = np.asarray(groups)
    for i, g in enumerate(sorted(set(groups.tolist()))):
        m = groups == g
        fig.add_trace(go.Scatter(x=coords[m, 0], y=coords[m, 1], mode="markers", name=_plain(g),
                                 marker=dict(size=7, opacity=0.75, color=label_colour(g, i))))
    if clip_xy is not None:
        fig.add_trace(go.Scatter(x=[clip_xy[0]], y=[clip_xy[1]], mode="markers+text", name="this clip", text=["this clip"],
                                 textposition="top center",
                                 marker=dict(symbol="star", size=20, color="black", line=dict(color="yellow", width=2))))
    fig.update_layout(title=wrap_lines(title, 44) + (f"<br><sup>{wrap_lines(note, 60)}</sup>" if note else ""),
                      height=520, modebar=MODEBAR, margin=dict(t=90, b=10, l=10, r=10),
                      legend=dict(orientation="h", y=-0.02, yanchor="top"),
                      xaxis=dict(showticklabels=False), yaxis=dict(showticklabels=False))
    return fig


def message_figure(text: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    return fig.update_layout(height=200, xaxis=dict(visible=False), yaxis=dict(visible=False))


PREDICTION_COLOUR, ATTRIBUTION_COLOUR = "#1f77b4", "#7f7f7f"


def lsgmer_bars(result) -> go.Figure:
    """LSGMER's prediction next to the APC attribution distribution (they agree when APC is small). One colour per
    trace, so the legend's colours are the bars' colours; the predicted label is named in bold on the axis."""
    labels = result.labels
    ticks = [f"<b>{_plain(l)}</b>" if l == result.predicted else _plain(l) for l in labels]
    fig = go.Figure()
    fig.add_trace(go.Bar(name="prediction p_pred", x=labels, y=[result.probabilities[l] for l in labels],
                         marker_color=PREDICTION_COLOUR, hovertemplate="%{x}: %{y:.3f}<extra>p_pred</extra>"))
    fig.add_trace(go.Bar(name="attribution p_attr", x=labels, y=[result.attribution[l] for l in labels],
                         marker_color=ATTRIBUTION_COLOUR, hovertemplate="%{x}: %{y:.3f}<extra>p_attr</extra>"))
    fig.update_layout(barmode="group", yaxis=dict(range=[0, 1], title="probability"), height=340,
                      xaxis=dict(tickvals=labels, ticktext=ticks),
                      title=f"LSGMER: {_plain(result.predicted)} · APC {result.apc:.3f}",
                      margin=dict(t=50, b=10, l=10, r=10), legend=dict(orientation="h", y=-0.15), modebar=MODEBAR)
    return fig


def zero_shot_bars(labels: Sequence[str], scores: Mapping[str, Mapping[str, float] | None], title: str) -> go.Figure:
    """Grouped bars of zero-shot scores, one trace per source (vision, language, combined, ...); empty sources are
    left out."""
    fig = go.Figure()
    names = short_names(labels)
    for name, by_label in scores.items():
        if by_label:
            fig.add_trace(go.Bar(name=_plain(name), x=names, y=[by_label[l] for l in labels],
                                 hovertext=[_plain(l) for l in labels],
                                 hovertemplate="%{hovertext}: %{y:.3f}<extra></extra>"))
    fig.update_layout(barmode="group", title=_plain(title), height=360, margin=dict(t=50, b=10, l=10, r=10),
                      legend=dict(orientation="h", y=-0.15), modebar=MODEBAR)
    return fig


def label_signal_maps(result) -> go.Figure:
    """Label-signal attention of LSGMER's LSE: labels (rows) x transcript tokens, then labels x audio segments,
    stacked (side by side, their titles and label names ran into each other on a phone), on one colour scale."""
    if not result.label_attention:
        return message_figure("this LSGMER was trained without label signal enhancement (ablation): no label attention")
    names = {"L": "labels × transcript tokens", "A": "labels × audio segments"}
    fig = make_subplots(rows=2, cols=1, subplot_titles=[names["L"], names["A"]], vertical_spacing=0.22)
    top = max((float(np.max(z)) for z in result.label_attention.values() if np.size(z)), default=1.0)
    for row, m in enumerate(("L", "A"), start=1):
        z = result.label_attention[m]
        if z.shape[1] == 0:
            fig.add_annotation(text="modality absent in this clip", showarrow=False, x=0.5, y=0.5,
                               xref=f"x{row if row > 1 else ''} domain", yref=f"y{row if row > 1 else ''} domain")
            continue
        items = [f"{j}:{_plain(t)}" for j, t in enumerate(result.items[m])]
        fig.add_trace(go.Heatmap(z=z, x=items, y=[_plain(l) for l in result.labels], coloraxis="coloraxis",
                                 texttemplate="%{z:.2f}" if len(items) <= VALUES_IN_CELLS_UP_TO else None,
                                 textfont=dict(size=10),
                                 hovertemplate="%{y} · %{x}: %{z:.3f}<extra></extra>"), row=row, col=1)
        fig.update_xaxes(tickangle=-45, tickvals=items, ticktext=[_plain(t) for t in result.items[m]], row=row, col=1)
    fig.update_layout(height=620, margin=dict(t=60, b=20, l=10, r=10), title_text="LSGMER label-signal attention",
                      coloraxis=shared_colour_axis(top, "attention"), modebar=MODEBAR)
    return fig
