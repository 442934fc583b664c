"""Figures that tell the truth about their numbers: one colour scale per figure, values where they fit."""
from __future__ import annotations

import dataclasses

import numpy as np

from merclip.serving import figures
from merclip.serving.predictor import AttentionMap


def _position(axis, value: float) -> float:
    """Where on the colour bar (0 = bottom colour, 1 = top colour) plotly draws `value`."""
    return (value - axis.cmin) / (axis.cmax - axis.cmin)


def test_attention_layers_share_one_colour_scale_from_zero(studio, clips):
    result = studio.predictor.predict(clips["2s"], "well I am so happy today")
    near_equal = AttentionMap(layer=0, modality="V", weights=np.array([[0.2505, 0.2505, 0.2502, 0.2487]]),
                              items=["0.2s", "0.7s", "1.2s", "1.7s"])
    split = AttentionMap(layer=1, modality="A", weights=np.array([[0.44, 0.56]]), items=["seg 1", "seg 2"])
    absent = AttentionMap(layer=2, modality="L", weights=np.zeros((1, 0)), items=[])
    fig = figures.attention_maps(dataclasses.replace(result, attention=[near_equal, split, absent]))
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert len(heatmaps) == 2 and all(t.coloraxis == "coloraxis" for t in heatmaps)
    axis = fig.layout.coloraxis
    assert axis.cmin == 0 and axis.cmax == 0.56  # the largest weight any layer shows
    # the four near-equal frames now get near-equal colours (they were yellow, yellow, green and black)
    positions = [_position(axis, w) for w in near_equal.weights[0]]
    assert max(positions) - min(positions) < 0.01 and min(positions) > 0.4
    # an audio split of 0.44 / 0.56 no longer reads as 0 / 1: 0.44 is drawn well above the scale's bottom
    assert abs(_position(axis, 0.44) - 0.44 / 0.56) < 1e-9 and _position(axis, 0.0) == 0.0
    assert heatmaps[1].texttemplate == "%{z:.2f}"  # values printed in the cells where they fit
    assert heatmaps[0].texttemplate is None  # frame cells hold thumbnails
    notes = [a for a in fig.layout.annotations if a.text == "modality absent in this clip"]
    assert len(notes) == 1 and notes[0].yref == "y3 domain"  # in the absent layer's own row


def _lsgmer_result(label_attention):
    from merclip.serving.lsgmer_predictor import LSGMERResult

    labels = ["neutral", "joy", "sadness"]
    return LSGMERResult(labels=labels, probabilities={"neutral": 0.2, "joy": 0.7, "sadness": 0.1},
                        attribution={"neutral": 0.3, "joy": 0.5, "sadness": 0.2}, apc=0.05,
                        label_attention=label_attention, items={"L": ["hi", "there"], "A": ["0-2s", "2-3s"]},
                        timings={})


def test_lsgmer_label_signal_maps_share_one_colour_scale_and_legend_matches_bars():
    text = np.array([[0.1, 0.9], [0.5, 0.5], [0.3, 0.7]])
    audio = np.array([[0.44, 0.56], [0.2, 0.8], [0.6, 0.4]])
    result = _lsgmer_result({"L": text, "A": audio})
    maps = figures.label_signal_maps(result)
    heatmaps = [t for t in maps.data if t.type == "heatmap"]
    assert len(heatmaps) == 2 and all(t.coloraxis == "coloraxis" for t in heatmaps)
    assert maps.layout.coloraxis.cmin == 0 and maps.layout.coloraxis.cmax == 0.9  # the largest weight of both maps
    bars = figures.lsgmer_bars(result)
    # one colour per trace: the legend's swatch is the colour of every bar it names
    assert [t.marker.color for t in bars.data] == [figures.PREDICTION_COLOUR, figures.ATTRIBUTION_COLOUR]
    assert "<b>joy</b>" in bars.layout.xaxis.ticktext


def test_threshold_comes_from_the_caller_and_stays_off_the_values(studio, clips):
    result = studio.predictor.predict(clips["2s"], "well I am so happy today")
    result = dataclasses.replace(result, probabilities=dict(zip(result.labels, [0.55, 0.75, 0.1, 0.2, 0.3, 0.4])))
    fig = figures.prediction_bars(result, 0.7)
    assert [s.y0 for s in fig.layout.shapes] == [0.7] and fig.layout.shapes[0].layer == "below"
    assert "0.7" in fig.layout.annotations[0].text and fig.layout.annotations[0].x == 1  # in the right margin
    # a value just under the line is printed inside its bar, not on the line
    assert list(fig.data[0].textposition) == ["outside", "outside", "outside", "outside", "outside", "outside"]
    near = figures.prediction_bars(dataclasses.replace(result, probabilities=dict(zip(result.labels, [0.65, 0.75, 0.1, 0.2, 0.3, 0.4]))), 0.7)
    assert near.data[0].textposition[0] == "inside" and near.data[0].textangle == 0
    assert not figures.prediction_bars(result).layout.shapes  # no threshold given: none drawn (viz has none of its own)
    sets = figures.label_set_comparison({"A": result, "B": result}, 0.7)
    assert [(s.y0, s.xref, s.yref) for s in sets.layout.shapes] == [(0.7, "x domain", "y"), (0.7, "x2 domain", "y2")]


def test_long_labels_get_short_axis_names():
    from merclip.labels import label_set

    sentences = list(label_set("emotion", "sentence"))
    assert figures.short_names(sentences) == [f"{w} (…)" for w in label_set("emotion", "word")]
    names = figures.short_names(["a rather long custom label here", "a rather long custom label there", "calm"])
    assert names[2] == "calm" and names[0] != names[1] and all(len(n) <= figures.SHORT_NAME_CHARS + 3 for n in names)


def test_projection_colours_tell_the_labels_apart():
    coords = np.arange(12, dtype=float).reshape(6, 2)
    fig = figures.projection_scatter(coords, ["happy", "angry", "sad", "fear", "surprise", "disgust"], None, "t")
    colours = {t.name: t.marker.color for t in fig.data}
    assert len(set(colours.values())) == 6 and colours["happy"] != colours["angry"]
