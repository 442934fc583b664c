"""The offline zero-shot reference: wordllama for language, FER (mapped onto any labels) for the face."""
import numpy as np
import pytest
import torch

pytest.importorskip("wordllama")
pytest.importorskip("cv2")
skimage_data = pytest.importorskip("skimage.data")

from merclip.config import EMOTION_LABELS  # noqa: E402
from merclip.pretrained.offline_zeroshot import (
    NO_FACE_IN_ANY_FRAME,
    OfflineZeroShot,
    OfflineZeroShotConfig,
    class_to_label_map,
)

LABELS = list(EMOTION_LABELS)


@pytest.fixture(scope="module")
def ref():
    return OfflineZeroShot.from_packages()


def _top(scores: dict[str, float]) -> str:
    return max(scores, key=scores.get)


def test_embedder_is_wordllamas_own_embedding(ref):
    from wordllama import WordLlama

    from merclip.pretrained.wordllama_text import wordllama_dir

    wl = WordLlama.load(cache_dir=wordllama_dir(), disable_download=True)
    texts = ["I am so happy today, everything went wonderfully", "fear"]
    np.testing.assert_allclose(ref.embedder.embed(texts).numpy(), wl.embed(texts, norm=True), atol=1e-3)


@pytest.mark.parametrize("sentence, emotion", [
    ("I am so happy today, everything went wonderfully", "happy"),
    ("I'm scared something bad will happen", "fear"),
])
def test_language_reads_plain_sentences(ref, sentence, emotion):
    scores = ref.predict([], sentence, LABELS)
    assert scores.face is None and _top(scores.language) == emotion
    assert abs(sum(scores.combined.values()) - 1) < 1e-5


def test_astronaut_face_maps_onto_happy(ref):
    result = ref.predict([skimage_data.astronaut()], None, LABELS)
    assert result.faces_found == 1 and not result.notes
    assert _top(result.fer) == "happy" and _top(result.face) == "happy" and result.face["happy"] > 0.9


def test_class_map_rows_and_neutral(ref):
    cfg = OfflineZeroShotConfig()
    m = class_to_label_map(ref.embedder, LABELS, cfg)  # (7, 6): FER classes x labels
    torch.testing.assert_close(m.sum(-1), torch.ones(7))
    assert m[3, LABELS.index("happy")] > 0.99 and m[5, LABELS.index("surprise")] > 0.99  # same words
    torch.testing.assert_close(m[6], torch.full((6,), 1 / 6))  # 'neutral' is near no emotion word: spread evenly


def test_custom_labels_and_no_face_note(ref):
    grey = np.full((96, 96, 3), 120, np.uint8)
    result = ref.predict([grey, grey], "I can't sit still, tonight is going to be amazing", ["calm", "tense", "excited"])
    assert result.notes == [NO_FACE_IN_ANY_FRAME] and result.faces_found == 0 and result.frames == 2
    assert set(result.combined) == {"calm", "tense", "excited"} and abs(sum(result.combined.values()) - 1) < 1e-5


def test_predict_media_on_a_written_clip(ref, tmp_path):
    from merclip.data.writer import write_video

    frames = np.repeat(skimage_data.astronaut()[None], 4, axis=0)  # (4, 512, 512, 3)
    video = write_video(tmp_path / "astronaut.mp4", frames, fps=2, audio=None)
    result = ref.predict_media(video, "I am so happy today, everything went wonderfully", LABELS, num_frames=2)
    assert result.faces_found == 2 and _top(result.combined) == "happy"


def test_studio_shows_the_offline_reference_without_clip_weights(studio, no_clip_weights):
    from pathlib import Path

    example = Path(__file__).resolve().parents[1] / "assets" / "examples" / "happy_surprised.mp4"
    fig, text = studio.zero_shot(str(example), "I am so happy today, everything went wonderfully")
    assert "needs real ViT-B-32 weights" in text and "offline zero-shot reference" in text
    names = [t.name for t in fig.data]
    assert names == ["face (FER2013)", "language (wordllama)", "combined"]
    combined = fig.data[-1]
    assert len(combined.y) == 6 and sum(combined.y) == pytest.approx(1.0, abs=1e-4)
    language = dict(zip(fig.data[1].x, fig.data[1].y))
    assert max(language, key=language.get) == "happy"
