"""Figures that tell the truth about their numbers: one colour scale per figure, values where they fit."""
from __future__ import annotations

import dataclasses

import numpy as np

from merclip import viz
from merclip.predict import AttentionMap


def _position(axis, value: float) -> float:
    """Where on the colour bar (0 = bottom colour, 1 = top colour) plotly draws `value`."""
    return (value - axis.cmin) / (axis.cmax - axis.cmin)


def test_attention_layers_share_one_colour_scale_from_zero(studio, clips):
    result = studio.predictor.predict(clips["2s"], "well I am so happy today")
    near_equal = AttentionMap(layer=0, modality="V", weights=np.array([[0.2505, 0.2505, 0.2502, 0.2487]]),
                              items=["0.2s", "0.7s", "1.2s", "1.7s"])
    split = AttentionMap(layer=1, modality="A", weights=np.array([[0.44, 0.56]]), items=["seg 1", "seg 2"])
    absent = AttentionMap(layer=2, modality="L", weights=np.zeros((1, 0)), items=[])
    fig = viz.attention_maps(dataclasses.replace(result, attention=[near_equal, split, absent]))
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
