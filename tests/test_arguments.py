"""Every public entry point refuses a bad argument before any work, with a message naming the argument, the value
and what is allowed; full modality names work beside the letters.

One table row per (entry point, argument, bad value, expected message fragment). Every decoder and model call the
entry points could reach is replaced by a tripwire, so a row passes only when the refusal comes first.
"""
from __future__ import annotations

import importlib
import re
from types import SimpleNamespace

import numpy as np
import pytest

from merclip.arguments import ArgumentError, check_modalities
from merclip.errors import UserError
from merclip.serving import timeline as tl
from merclip.serving.predictor import Predictor


class WorkStarted(Exception):
    """Raised by a tripwire: a decoder or a model was called before the arguments were refused."""


def _tripwire(name):
    def fired(*args, **kwargs):
        raise WorkStarted(f"{name} was called before the bad argument was refused")
    return fired


@pytest.fixture(scope="module")
def predictor(tiny_model):
    return Predictor(tiny_model, device="cpu")


@pytest.fixture(scope="module")
def lsgmer(tiny_lsgmer_ckpt):
    from merclip.serving.lsgmer_predictor import LSGMERPredictor

    return LSGMERPredictor.from_checkpoint(tiny_lsgmer_ckpt, device="cpu")


def _fake_timeline() -> tl.Timeline:
    """A scored timeline of one utterance (its results are never read by the rows that use it)."""
    row = tl.TimelineRow(1, 0.0, 2.0, "hi", {"emotion": {"happy": 0.7, "sad": 0.2}, "sentiment": {"positive": 0.6,
                         "negative": 0.4}}, {"emotion": ["happy"], "sentiment": ["positive"]}, {}, [])
    return tl.Timeline("clip.mp4", 2.0, "given", "given", {"emotion": ["happy", "sad"],
                       "sentiment": ["positive", "negative"]}, [row], [], {}, {"emotion": [None], "sentiment": [None]})


@pytest.fixture
def work(monkeypatch, predictor, lsgmer, studio, clips):
    """The entry points with every decoding and model call replaced by a tripwire."""
    import merclip.media
    import merclip.pretrained.offline_zeroshot as offline
    import merclip.pretrained.zeroshot as zeroshot
    import merclip.serving.lsgmer_predictor as lsgmer_mod
    import merclip.serving.predictor as predictor_mod
    import merclip.studio.timeline as studio_timeline

    # the timeline package exports functions under its modules' names (`segment`): import the modules themselves
    score, segment = (importlib.import_module(f"merclip.serving.timeline.{m}") for m in ("score", "segment"))

    for module, names in ((predictor_mod, ["load_clip"]), (lsgmer_mod, ["load_clip"]), (zeroshot, ["load_clip"]),
                          (score, ["check_long_clip", "read_track"]), (segment, ["check_long_clip", "read_track"]),
                          (studio_timeline, ["segment", "analyse", "predict_timeline"]),
                          (merclip.media, ["probe", "read_frames"])):
        for name in names:
            monkeypatch.setattr(module, name, _tripwire(f"{module.__name__}.{name}"))
    for name in ("encode_modality", "predict_from_features"):
        monkeypatch.setattr(predictor.model, name, _tripwire(f"MERCLIP.{name}"))
    monkeypatch.setattr(lsgmer.model, "forward", _tripwire("LSGMER.forward"))
    monkeypatch.setattr(studio.models.predictor, "predict", _tripwire("the Studio's Predictor.predict"))
    for name in ("language_scores", "fer_probabilities"):
        monkeypatch.setattr(offline.OfflineZeroShot, name, _tripwire(f"OfflineZeroShot.{name}"))
    # the zero-shot models' checks come before they touch their weights: no weights are loaded for these rows
    zs, reference = object.__new__(zeroshot.ZeroShotCLIP), object.__new__(offline.OfflineZeroShot)
    video = str(clips["2s"])
    return SimpleNamespace(predictor=predictor, lsgmer=lsgmer, studio=studio, video=video, zero_shot=zs,
                           reference=reference, timeline=_fake_timeline(), one=[tl.Utterance(0.0, 1.0, "hi")])


def _config(**changes) -> tl.TimelineConfig:
    """A timeline config whose fields were changed after it was made (construction checks them too)."""
    cfg = tl.TimelineConfig()
    for name, value in changes.items():
        setattr(cfg, name, value)
    return cfg


MODALITIES = "choose from L, V, A or language, vision, audio"
TASKS = "choose one of emotion, sentiment"
ROWS = [
    # Predictor.predict
    ("predict", "drop_modalities", lambda w: w.predictor.predict(w.video, "hi", drop_modalities=("smell",)),
     f"drop_modalities: unknown modality 'smell'; {MODALITIES}"),
    ("predict", "drop_modalities", lambda w: w.predictor.predict(w.video, "hi", drop_modalities=5),
     "drop_modalities must be a list of modalities"),
    ("predict", "task", lambda w: w.predictor.predict(w.video, "hi", task="emotions"),
     f"unknown task 'emotions': {TASKS}"),
    ("predict", "labels", lambda w: w.predictor.predict(w.video, "hi", labels=["calm"]),
     "a label set needs at least 2 non-empty labels"),
    ("predict", "labels", lambda w: w.predictor.predict(w.video, "hi", labels=7), "labels must be a list of labels"),
    ("predict", "query_word", lambda w: w.predictor.predict(w.video, "hi", query_word=5),
     "query_word must be a word (text) or None; got int 5"),
    ("predict", "video", lambda w: w.predictor.predict(None, "hi"), "video is required"),
    ("predict", "audio", lambda w: w.predictor.predict(w.video, "hi", audio=3), "audio must be a file path; got int"),
    # Predictor.predict_batch
    ("predict_batch", "batch_size", lambda w: w.predictor.predict_batch([w.video], ["hi"], batch_size=0),
     "batch_size must be a positive integer; got 0"),
    ("predict_batch", "batch_size", lambda w: w.predictor.predict_batch([w.video], ["hi"], batch_size=2.5),
     "batch_size must be a positive integer; got 2.5"),
    ("predict_batch", "drop_modalities",
     lambda w: w.predictor.predict_batch([w.video], ["hi"], drop_modalities=["vision", "smell"]),
     f"drop_modalities: unknown modality 'smell'; {MODALITIES}"),
    ("predict_batch", "task", lambda w: w.predictor.predict_batch([w.video], ["hi"], task="emotions"),
     f"unknown task 'emotions': {TASKS}"),
    ("predict_batch", "transcripts", lambda w: w.predictor.predict_batch([w.video, w.video], ["hi"]),
     "must be as many: got 2 videos, 1 transcripts"),
    ("predict_batch", "videos", lambda w: w.predictor.predict_batch([w.video, None], ["hi", "ho"]),
     "videos[1] is required"),
    # Predictor.features
    ("features", "video", lambda w: w.predictor.features(None, "hi"), "video is required"),
    ("features", "transcript_file", lambda w: w.predictor.features(w.video, None, transcript_file=5),
     "transcript_file must be a file path; got int"),
    # LSGMER
    ("lsgmer.predict", "video", lambda w: w.lsgmer.predict(None, "hi"), "video is required"),
    ("lsgmer.predict", "audio", lambda w: w.lsgmer.predict(w.video, "hi", audio=["a.wav"]),
     "audio must be a file path; got list"),
    # timeline functions
    ("timeline.analyse", "tasks", lambda w: tl.analyse(w.predictor, w.video, tasks=("emotions",)),
     f"unknown task 'emotions' in tasks: {TASKS}"),
    ("timeline.analyse", "tasks", lambda w: tl.analyse(w.predictor, w.video, tasks=()),
     "tasks is empty: give at least one of emotion, sentiment"),
    ("timeline.analyse", "cfg.batch_size", lambda w: tl.analyse(w.predictor, w.video, cfg=_config(batch_size=0)),
     "batch_size must be a positive integer; got 0"),
    ("timeline.segment", "cfg.max_duration", lambda w: tl.segment(w.video, cfg=_config(max_duration=-60.0)),
     "max_duration must be a positive finite number; got -60.0"),
    ("timeline.segment", "cfg.transcriber", lambda w: tl.segment(w.video, cfg=_config(transcriber="whisperx")),
     "transcriber must be one of auto, whisper, pocketsphinx, none; got 'whisperx'"),
    ("timeline.predict_timeline", "tasks", lambda w: tl.predict_timeline(w.predictor, w.video, w.one, tasks="joy"),
     f"unknown task 'joy' in tasks: {TASKS}"),
    ("timeline.predict_timeline", "labels",
     lambda w: tl.predict_timeline(w.predictor, w.video, w.one, labels={"emotions": ["a", "b"]}),
     "labels names tasks that are not scored: ['emotions']; tasks: emotion, sentiment"),
    ("timeline.predict_timeline", "labels",
     lambda w: tl.predict_timeline(w.predictor, w.video, w.one, labels={"emotion": ["calm"]}),
     "a label set needs at least 2 non-empty labels for the emotion task"),
    ("timeline.predict_timeline", "cfg.vad_threshold",
     lambda w: tl.predict_timeline(w.predictor, w.video, w.one, cfg=_config(vad_threshold=1.5)),
     "vad_threshold must be a number between 0 and 1 (both excluded); got 1.5"),
    ("TimelineConfig", "max_duration", lambda w: tl.TimelineConfig(max_duration=0),
     "max_duration must be a positive finite number; got 0"),
    ("timeline_figure", "task", lambda w: tl_figure(w.timeline, "emotions"),
     "task must be one of emotion, sentiment; got 'emotions'"),
    ("timeline_figure", "threshold", lambda w: tl_figure(w.timeline, "emotion", threshold=1.0),
     "threshold must be a number between 0 and 1 (both excluded); got 1.0"),
    # zero-shot CLIP and the offline reference
    ("ZeroShotCLIP.predict", "labels", lambda w: w.zero_shot.predict(w.video, "hi", ["happy"]),
     "a label set needs at least 2 non-empty labels"),
    ("ZeroShotCLIP.predict", "labels", lambda w: w.zero_shot.predict(w.video, "hi", None), "labels is required"),
    ("ZeroShotCLIP.predict", "video", lambda w: w.zero_shot.predict(None, "hi", ["a", "b"]), "video is required"),
    ("OfflineZeroShot.predict", "labels", lambda w: w.reference.predict([np.zeros((8, 8, 3))], "hi", "happy"),
     "a label set is a list of labels, not one string"),
    ("OfflineZeroShot.predict_media", "num_frames",
     lambda w: w.reference.predict_media(w.video, "hi", ["a", "b"], num_frames=0),
     "num_frames must be a positive integer; got 0"),
    # the Studio
    ("Studio.analyse", "task", lambda w: w.studio.analyse(w.video, "hi", task="emotions"),
     f"unknown task 'emotions': {TASKS}"),
    ("Studio.analyse", "label_kind", lambda w: w.studio.analyse(w.video, "hi", label_kind="poem"),
     "no 'poem' label set for task 'emotion'"),
    ("Studio.analyse", "custom_labels",
     lambda w: w.studio.analyse(w.video, "hi", label_kind="custom", custom_labels="calm"),
     "a label set needs at least 2 non-empty labels"),
    ("Studio.analyse", "custom_labels",
     lambda w: w.studio.analyse(w.video, "hi", label_kind="custom", custom_labels=["calm", "tense"]),
     "custom_labels must be text (one label per line); got list"),
    ("Studio.analyse", "query_word", lambda w: w.studio.analyse(w.video, "hi", query_word=5),
     "query_word must be a word (text) or None; got int 5"),
    ("Studio.analyse", "dropped", lambda w: w.studio.analyse(w.video, "hi", dropped=["smell"]),
     f"dropped: unknown modality 'smell'; {MODALITIES}"),
    ("Studio.analyse", "head", lambda w: w.studio.analyse(w.video, "hi", head="99"), "heads must be 'mean', 'all'"),
    ("Studio.sweep_query_words", "words", lambda w: w.studio.sweep_query_words(w.video, "hi", words=["Mood", 5]),
     "query_word must be a word (text) or None; got int 5"),
    ("Studio.compare_label_sets", "query_word",
     lambda w: w.studio.compare_label_sets(w.video, "hi", query_word=["Mood"]),
     "query_word must be a word (text) or None; got list"),
    ("Studio.zero_shot", "task", lambda w: w.studio.zero_shot(w.video, "hi", task="feelings"),
     f"unknown task 'feelings': {TASKS}"),
    ("Studio.timeline", "task", lambda w: w.studio.timeline(w.video, None, [[0, 1, "hi"]], "emotions"),
     "task must be 'emotion' or 'sentiment'"),
    ("Studio.timeline_redraw", "task", lambda w: w.studio.timeline_redraw(w.timeline, "emotions"),
     "task must be one of emotion, sentiment; got 'emotions'"),
    ("Studio.timeline_pick", "task", lambda w: w.studio.timeline_pick(w.timeline, "1", "emotions"),
     "task must be one of emotion, sentiment; got 'emotions'"),
]


def tl_figure(timeline, task, threshold=0.6):
    from merclip.serving.timeline_figure import timeline_figure

    return timeline_figure(timeline, task, threshold)


@pytest.mark.parametrize("entry, argument, call, fragment", ROWS, ids=[f"{r[0]}-{r[1]}" for r in ROWS])
def test_a_bad_argument_is_refused_before_any_work(work, entry, argument, call, fragment):
    with pytest.raises(UserError, match=re.escape(fragment)):
        call(work)


def test_modality_names_and_letters_are_the_same_request(predictor, clips):
    by_letter = predictor.predict(clips["2s"], "so happy", drop_modalities=("V",))
    by_name = predictor.predict(clips["2s"], "so happy", drop_modalities=("vision",))
    assert by_name.probabilities == by_letter.probabilities
    assert by_name.present == {"language": True, "vision": False, "audio": True}
    assert by_name.notes == by_letter.notes and "vision modality dropped by request" in by_name.notes
    mixed = predictor.predict_batch([clips["2s"]], ["so happy"], drop_modalities=["Language", "A"])[0]
    letters = predictor.predict(clips["2s"], "so happy", drop_modalities="LA")
    assert np.allclose(list(mixed.probabilities.values()), list(letters.probabilities.values()), atol=1e-6)
    assert mixed.present == letters.present == {"language": False, "vision": True, "audio": False}


def test_the_studio_takes_the_pages_modality_names(studio, clips):
    result = studio.analyse(str(clips["2s"]), "so happy", dropped=["vision", "audio"]).result
    assert result.present == {"language": True, "vision": False, "audio": False}


@pytest.mark.parametrize("given, letters", [((), ()), (None, ()), (["vision"], ("V",)), ("vision", ("V",)),
                                            ("LV", ("L", "V")), (["AUDIO", "a", "l"], ("A", "L"))])
def test_modalities_come_out_as_letters_in_the_order_given(given, letters):
    assert check_modalities(given) == letters


def test_argument_errors_are_user_errors_for_the_app():
    assert issubclass(ArgumentError, UserError) and issubclass(ArgumentError, ValueError)


def test_a_model_config_threshold_outside_zero_to_one_is_refused():
    from merclip.config import ModelConfig

    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="emotion_threshold must be between 0 and 1"):
            ModelConfig(emotion_threshold=bad)


def _train(argv):
    from merclip.training.loop import main

    return main(["--root", "data", "--out", "out", *argv])


def _evaluate(argv):
    from merclip.training.evaluate import main

    return main(["--checkpoint", "ck", "--root", "data", *argv])


def _export(argv):
    from merclip.training.export import main

    return main(["--checkpoint", "ck", "--root", "data", "--out", "e.npz", *argv])


def _ablate(argv):
    from merclip.training.ablate import main

    return main(["--grid", "components", "--root", "data", "--out", "out", *argv])


def _timeline(argv):
    return tl.main(["clip.mp4", "--out", "t.json", *argv])


def _app(argv):
    from app import parse_args

    return parse_args(argv)


def _predict(argv):
    from merclip.serving.batch_predict import main

    return main(["clips", "--out", "p.csv", *argv])


def _synthetic(argv):
    from merclip.data.synthetic import main

    return main(["--out", "gen", *argv])


def _check(argv):
    from merclip.data.check import main

    return main(["--dataset", "folder", "--root", "data", *argv])


CLI_ROWS = [
    (_timeline, ["--batch-size", "0"], "argument --batch-size: must be a positive integer, got '0'"),
    (_timeline, ["--tasks", "emotions"], "argument --tasks: unknown task 'emotions' in the task list"),
    (_timeline, ["--max-minutes", "-1"], "argument --max-minutes: must be a positive number, got '-1'"),
    (_timeline, ["--transcriber", "whisperx"], "argument --transcriber: invalid choice: 'whisperx'"),
    (_train, ["--epochs", "0"], "argument --epochs: must be a positive integer, got '0'"),
    (_train, ["--lr", "-1"], "argument --lr: must be a positive number, got '-1'"),
    (_train, ["--lr", "nan"], "argument --lr: must be a positive number, got 'nan'"),
    (_train, ["--batch-size", "0"], "argument --batch-size: must be a positive integer, got '0'"),
    (_train, ["--limit", "0"], "argument --limit: must be a positive integer, got '0'"),
    (_train, ["--num-frames", "0"], "argument --num-frames: must be a positive integer, got '0'"),
    (_train, ["--modalities", "LLX"], "argument --modalities: must be distinct letters from L, V, A"),
    (_train, ["--workers", "-2"], "argument --workers: must be an integer >= 0, got '-2'"),
    (_evaluate, ["--batch-size", "0"], "argument --batch-size: must be a positive integer, got '0'"),
    (_evaluate, ["--limit", "0"], "argument --limit: must be a positive integer, got '0'"),
    (_export, ["--batch-size", "-4"], "argument --batch-size: must be a positive integer, got '-4'"),
    (_ablate, ["--epochs", "0"], "argument --epochs: must be a positive integer, got '0'"),
    (_ablate, ["--lr", "0"], "argument --lr: must be a positive number, got '0'"),
    # data options that were float / int / a lambda, refused only after the model was built (a ValueError traceback)
    (_train, ["--mismatched", "-1"],
     "argument --mismatched: must be a number between 0 and 1 (both included), got '-1'"),
    (_train, ["--valid-fraction", "1"],
     "argument --valid-fraction: must be a number between 0 and 1 (both excluded), got '1'"),
    (_train, ["--audio-segments", "0"], "argument --audio-segments: must be a positive integer or 'all', got '0'"),
    (_evaluate, ["--mismatched", "nan"], "argument --mismatched: must be a number between 0 and 1 (both included)"),
    (_check, ["--valid-fraction", "2"], "argument --valid-fraction: must be a number between 0 and 1 (both excluded)"),
    (_predict, ["--batch-size", "0"], "argument --batch-size: must be a positive integer, got '0'"),
    (_predict, [], "dataset folder 'clips' does not exist"),  # a user error ends predict as it ends the others
    (_synthetic, ["--n", "-5"], "argument --n: must be a positive integer, got '-5'"),
    (_synthetic, ["--splits", "tests"], "argument --splits: must be split names from train, valid, test"),
    # a model family on a dataset it cannot read: an AttributeError after the cache was filled and the run folder made
    (_train, ["--model", "lsgmer"], "--dataset synthetic cannot be read by a LSGMER (--model lsgmer) model"),
    (_train, ["--dataset", "meld"], "--dataset meld cannot be read by a MER-CLIP model"),
    (_app, ["--max-seconds", "0"], "argument --max-seconds: must be a positive number, got '0'"),
    (_app, ["--max-timeline-minutes", "-5"], "argument --max-timeline-minutes: must be a positive number, got '-5'"),
]


@pytest.mark.parametrize("command, argv, fragment", CLI_ROWS,
                         ids=[f"{c.__name__[1:]}{'-'.join(a)}" for c, a, _ in CLI_ROWS])
def test_a_bad_command_line_option_is_a_clean_argparse_error(command, argv, fragment, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the rows' relative outputs (out, gen, p.csv) land here if a refusal ever fails
    with pytest.raises(SystemExit) as exit_:
        command(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"error: {fragment}" in err and "Traceback" not in err


def test_an_unknown_or_absent_device_is_a_user_error(monkeypatch):
    """torch's RuntimeError for 'tpu', or for 'cuda' on a machine without one at the first tensor moved, was a
    traceback in every command; ZeroGPU attaches its GPU later, so 'cuda' is trusted there."""
    import torch

    from merclip.device import DeviceError, select_device

    assert select_device("cpu") == torch.device("cpu")
    with pytest.raises(DeviceError, match="unknown device 'tpu': use cpu, cuda or cuda:N"):
        select_device("tpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)
    with pytest.raises(DeviceError, match="device 'cuda:1' was asked for, but no CUDA GPU is available here"):
        select_device("cuda:1")
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    assert select_device("cuda") == torch.device("cuda")
    assert issubclass(DeviceError, UserError)


@pytest.mark.parametrize("command", ["train", "evaluate", "export"])
def test_a_bad_device_ends_each_command_with_one_line_before_the_model_loads(command, tmp_path, monkeypatch,
                                                                                capsys):
    import merclip.training.evaluate as evaluate
    import merclip.training.export as export
    import merclip.training.loop as loop

    monkeypatch.chdir(tmp_path)
    for module, name in ((evaluate, "load_checkpoint"), (export, "load_checkpoint"), (loop, "build_from_config")):
        monkeypatch.setattr(module, name, _tripwire(f"{module.__name__}.{name}"))
    run = {"train": _train, "evaluate": _evaluate, "export": _export}[command]
    with pytest.raises(SystemExit) as exit_:
        run(["--device", "tpu", "--clip-model", "merclip-tiny"] if command == "train" else ["--device", "tpu"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "error: unknown device 'tpu'" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # no run folder
