"""Faults at start and during work: a damaged checkpoint stops every command with one line and exit status 2; an
output that cannot be written says so and leaves the app serving; an interrupted write never shows under the
file's final name."""
from __future__ import annotations

import errno
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from merclip.files import OutputError, atomic_write, check_writable, write_text_atomic
from merclip.models.checkpoint import CheckpointError, CheckpointNotFoundError, check_checkpoint, load_checkpoint
from merclip.serving import timeline as tl
from merclip.studio import StudioError, public_message
from merclip.studio.timeline import TimelineStore

ROOT = Path(__file__).resolve().parents[1]


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def _truncated(ck: Path) -> None:
    weights = ck / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])


def _damaged(kind: str, good: Path, tmp_path: Path) -> tuple[Path, str]:
    """A checkpoint folder damaged in one way, and what its error must say."""
    if kind == "missing":
        return tmp_path / "nowhere", "no MER-CLIP checkpoint at"
    ck = _copy(good, tmp_path / kind)
    config = ck / "config.json"
    if kind == "truncated":
        _truncated(ck)
        return ck, "model.safetensors' is corrupt or truncated"
    if kind == "config not JSON":
        config.write_text('{"clip_model": "merclip-tiny", ')
        return ck, "config.json' is not valid JSON"
    if kind == "config a list":
        config.write_text("[1, 2]")
        return ck, "config.json' is not a model config (a JSON object), but a JSON list"
    if kind == "config unknown field":
        config.write_text(json.dumps({**json.loads(config.read_text()), "colour": "blue"}))
        return ck, "config.json' does not describe a merclip model: unknown ModelConfig fields ['colour']"
    if kind == "config bad value":
        config.write_text(json.dumps({**json.loads(config.read_text()), "emotion_threshold": 2}))
        return ck, "config.json' does not describe a merclip model: emotion_threshold must be between 0 and 1"
    if kind == "config not UTF-8":
        config.write_bytes(b"\xff\xfe{")
        return ck, "config.json' cannot be read"
    raise AssertionError(kind)


KINDS = ["missing", "truncated", "config not JSON", "config a list", "config unknown field", "config bad value",
         "config not UTF-8"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_damaged_checkpoint_is_a_checkpoint_error_naming_it(kind, tiny_ckpt, tmp_path):
    path, fragment = _damaged(kind, tiny_ckpt, tmp_path)
    for read in (check_checkpoint, load_checkpoint):
        with pytest.raises(CheckpointError, match=re.escape(fragment)):
            read(path)
    if kind == "missing":
        with pytest.raises(CheckpointNotFoundError):
            check_checkpoint(path)


def test_check_checkpoint_reads_no_tensor_and_refuses_another_family(tiny_ckpt, tiny_lsgmer_ckpt):
    assert check_checkpoint(tiny_ckpt).clip_model == "merclip-tiny"
    with pytest.raises(CheckpointError, match="is a lsgmer checkpoint, not merclip"):
        check_checkpoint(tiny_lsgmer_ckpt, family="merclip")


def _app(ck):
    from app import main

    main(["--checkpoint", str(ck), "--lsgmer-checkpoint", "none", "--embeddings", "none"], block=False)


def _evaluate(ck):
    from merclip.training.evaluate import main

    main(["--checkpoint", str(ck), "--root", "no-data", "--device", "cpu"])


def _timeline(ck, video, out):
    tl.main([str(video), "--checkpoint", str(ck), "--out", str(out), "--device", "cpu"])


@pytest.mark.parametrize("kind", ["missing", "truncated", "config not JSON"])
@pytest.mark.parametrize("command", ["app", "evaluate", "timeline"])
def test_a_damaged_checkpoint_stops_each_command_with_one_line(command, kind, tiny_ckpt, clips, tmp_path, capsys):
    path, fragment = _damaged(kind, tiny_ckpt, tmp_path)
    run = {"app": lambda: _app(path), "evaluate": lambda: _evaluate(path),
           "timeline": lambda: _timeline(path, clips["2s"], tmp_path / "t.json")}[command]
    with pytest.raises(SystemExit) as exit_:
        run()
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and ": error: " in err and fragment in err.strip().splitlines()[-1]
    assert not (tmp_path / "t.json").exists()


@pytest.mark.parametrize("device, fragment", [("tpu", "unknown device 'tpu'"),
                                              ("cuda:7", "device 'cuda:7' was asked for")])
def test_the_app_refuses_a_device_it_cannot_use_with_one_line(device, fragment, tiny_ckpt, capsys, monkeypatch):
    """Checked with the other start-up options: the page was built first, and its About text asked for the device."""
    import torch

    from app import main

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)
    with pytest.raises(SystemExit) as exit_:
        main(["--checkpoint", str(tiny_ckpt), "--lsgmer-checkpoint", "none", "--embeddings", "none",
              "--device", device], block=False)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"app.py: error: {fragment}" in err


PROCESSES = {  # command line -> the one error line it must print
    "app": (["app.py", "--checkpoint", "{truncated}"],
            "app.py: error: checkpoint '{truncated}/model.safetensors' is corrupt or truncated"),
    "evaluate": (["-m", "merclip.evaluate", "--checkpoint", "{not_json}", "--root", "x"],
                 "error: '{not_json}/config.json' is not valid JSON"),
    "timeline": (["-m", "merclip.timeline", "{video}", "--checkpoint", "{missing}", "--out", "{out}"],
                 "python -m merclip.timeline: error: no MER-CLIP checkpoint at '{missing}'"),
}


def test_a_damaged_checkpoint_as_a_process_exits_2_without_a_traceback(tiny_ckpt, clips, tmp_path):
    names = {"truncated": _damaged("truncated", tiny_ckpt, tmp_path)[0],
             "not_json": _damaged("config not JSON", tiny_ckpt, tmp_path)[0], "missing": tmp_path / "nowhere",
             "video": clips["2s"], "out": tmp_path / "t.json"}
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    started = {name: subprocess.Popen([sys.executable, *(a.format(**names) for a in argv)], cwd=ROOT, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for name, (argv, _) in PROCESSES.items()}  # side by side: each is mostly its imports
    for name, process in started.items():
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 2, (name, stderr)
        assert "Traceback" not in stderr and PROCESSES[name][1].format(**names) in stderr, (name, stderr)
        assert len([line for line in stderr.splitlines() if "error:" in line]) == 1, (name, stderr)
    assert not names["out"].exists()


# ---- outputs that cannot be written ------------------------------------------------------------------------------
@pytest.fixture
def read_only(tmp_path, monkeypatch) -> Path:
    """A folder no file can be created in. As root, permissions do not stop a write, so there the refusal the kernel
    gives everyone else (EACCES) is given by the temporary-file call that every write here goes through."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "probe").touch()
    except PermissionError:
        pass
    else:  # root
        (folder / "probe").unlink()
        import tempfile

        real = tempfile.mkstemp

        def refusing(*args, dir=None, **kwargs):
            if dir is not None and Path(dir) == folder:
                raise PermissionError(errno.EACCES, "Permission denied", str(folder))
            return real(*args, dir=dir, **kwargs)

        monkeypatch.setattr(tempfile, "mkstemp", refusing)
    yield folder
    folder.chmod(0o755)


@pytest.fixture
def full_disk(monkeypatch):
    """Every text write fails half-way with ENOSPC, as on a full disk."""
    monkeypatch.setattr(pathlib.Path, "write_text", _full_disk_write)


def test_an_unwritable_out_is_refused_before_the_model_loads(read_only, clips, monkeypatch, capsys):
    from merclip.serving.predictor import Predictor

    def no_load(*args, **kwargs):
        raise AssertionError("the model was loaded for a timeline that could not be written")

    monkeypatch.setattr(Predictor, "from_checkpoint", no_load)
    for out, fragment in ((read_only / "t.json", "permission denied"),
                          (read_only / "missing" / "t.json", "the folder '" + str(read_only / "missing") + "'")):
        with pytest.raises(SystemExit) as exit_:
            tl.main([str(clips["2s"]), "--out", str(out)])
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert f"error: cannot write the timeline JSON to '{out}'" in err and fragment in err
        assert not out.exists()


def test_a_full_disk_at_the_end_of_a_timeline_is_said_and_leaves_no_file(clips, tmp_path, monkeypatch, capsys):
    from merclip.serving.predictor import Predictor
    from merclip.serving.timeline import cli

    monkeypatch.setattr(Predictor, "from_checkpoint", lambda *a, **k: object())
    monkeypatch.setattr(cli, "analyse", lambda *a, **k: _timeline_of_one())
    out = tmp_path / "t.json"
    with monkeypatch.context() as m:
        m.setattr(pathlib.Path, "write_text", _full_disk_write)
        with pytest.raises(SystemExit) as exit_:
            tl.main([str(clips["2s"]), "--out", str(out)])
    assert exit_.value.code == 2
    assert f"error: could not write the timeline to '{out}' (the disk is full)" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing under the final name, no temporary file left behind


def _full_disk_write(self, data, encoding=None, errors=None, newline=None):
    """Path.write_text on a disk that fills half-way through."""
    with open(self, "w", encoding=encoding) as f:
        f.write(data[: len(data) // 2])
    raise OSError(errno.ENOSPC, "No space left on device", str(self))


def _timeline_of_one() -> tl.Timeline:
    row = tl.TimelineRow(1, 0.0, 2.0, "hi", {"emotion": {"happy": 0.7, "sad": 0.2}}, {"emotion": ["happy"]}, {}, [])
    return tl.Timeline("clip.mp4", 2.0, "given", "given", {"emotion": ["happy", "sad"]}, [row], [], {"total": 0.1})


def test_a_studio_timeline_on_a_full_disk_is_a_message_and_the_studio_keeps_serving(studio, clips, monkeypatch):
    import merclip.studio.timeline as studio_timeline

    monkeypatch.setattr(studio_timeline, "predict_timeline", lambda *a, **k: _timeline_of_one())
    kept_before = len(studio._timeline.store._timelines)
    with monkeypatch.context() as m:
        m.setattr(pathlib.Path, "write_text", _full_disk_write)
        with pytest.raises(StudioError, match=r"could not write the timeline files \(disk full or read-only: "
                                              r"the disk is full\)") as err:
            studio.timeline(str(clips["2s"]), None, [[0, 1, "hi"]], "emotion")
    assert "/" not in public_message(str(err.value))  # no server path reaches the page
    assert len(studio._timeline.store._timelines) == kept_before  # nothing half-made is kept
    workdir = studio._timeline.store.workdir
    assert all(any(f.name.endswith(".json") for f in d.iterdir()) for d in workdir.iterdir())
    assert studio.analyse(str(clips["2s"]), "so happy").result.probabilities  # still serving


def test_the_timeline_store_writes_again_once_there_is_room():
    store = TimelineStore(kept=2)
    try:
        token, csv_path, json_path = store.add(_timeline_of_one())
        assert json.loads(json_path.read_text())["video"] == "clip.mp4" and csv_path.read_text().startswith("index")
        assert store.get(token).video == "clip.mp4"
    finally:
        store.close()


def test_the_timeline_store_answers_a_token_that_is_not_text_with_a_message():
    """The page sends the token from a hidden textbox; a hand-made request may send a list or a number instead."""
    store = TimelineStore(kept=2)
    try:
        tl = _timeline_of_one()
        assert store.get(tl) is tl  # the app's own calls may pass the timeline itself
        for token in (["abc"], 7, {"token": "abc"}):
            with pytest.raises(StudioError, match="that timeline is no longer in memory"):
                store.get(token)
    finally:
        store.close()


# ---- interrupted writes -----------------------------------------------------------------------------------------
KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from merclip.files import atomic_write

def half_then_killed(tmp):
    with open(tmp, "w") as f:
        f.write("{\\"half\\": ")
        f.flush()
        os.fsync(f.fileno())
    os.kill(os.getpid(), signal.SIGKILL)  # as `kill -9` during a timeline's write

atomic_write(Path(sys.argv[1]), half_then_killed)
"""


@pytest.mark.parametrize("existing", [None, '{"old": true}'])
def test_a_write_killed_half_way_is_never_visible_under_the_final_name(existing, tmp_path):
    target = tmp_path / "timeline.json"
    if existing is not None:
        target.write_text(existing)
    done = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(target)], cwd=ROOT, capture_output=True)
    assert done.returncode == -signal.SIGKILL
    if existing is None:
        assert not target.exists()
    else:
        assert target.read_text() == existing  # the old file whole, never the half-written one
    leftovers = [p.name for p in tmp_path.iterdir() if p != target]
    assert leftovers and all(n.startswith(".timeline.json.") and n.endswith(".tmp") for n in leftovers)


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path, full_disk):
    target = tmp_path / "t.csv"
    target.write_bytes(b"old")
    with pytest.raises(OSError, match="No space left"):
        write_text_atomic(target, "new contents")
    assert target.read_bytes() == b"old" and list(tmp_path.iterdir()) == [target]


def test_check_writable_names_what_is_wrong(tmp_path, read_only):
    assert check_writable(tmp_path / "ok.json") == tmp_path / "ok.json"
    assert list(tmp_path.iterdir()) == [read_only]  # the probe file is gone
    with pytest.raises(OutputError, match="it is a folder"):
        check_writable(tmp_path)
    with pytest.raises(OutputError, match="permission denied"):
        check_writable(read_only / "t.json", "timeline JSON")
    atomic_write(tmp_path / "x.bin", lambda tmp: Path(tmp).write_bytes(b"1"))
    assert (tmp_path / "x.bin").read_bytes() == b"1" and oct((tmp_path / "x.bin").stat().st_mode)[-3:] == "644"


def test_check_folder_writable_and_make_parents_name_what_is_wrong(tmp_path, read_only):
    from merclip.files import check_folder_writable

    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    assert check_folder_writable(tmp_path / "new" / "run") == tmp_path / "new" / "run"  # made later, by the run
    assert check_writable(tmp_path / "new" / "e.npz", make_parents=True) == tmp_path / "new" / "e.npz"
    with pytest.raises(OutputError, match="notes.txt': it is a file, not a folder"):
        check_folder_writable(a_file, "run folder")
    with pytest.raises(OutputError, match=f"'{a_file}' is a file, not a folder"):
        check_folder_writable(a_file / "run")
    with pytest.raises(OutputError, match=f"'{a_file}' is a file, not a folder"):
        check_writable(a_file / "sub" / "e.npz", make_parents=True)
    with pytest.raises(OutputError, match="permission denied"):
        check_folder_writable(read_only / "run")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "read-only"]  # nothing made, no probe left


def _no_work(monkeypatch):
    """Every command's model build and checkpoint load fails the test: the refusals must come first."""
    import merclip.training.ablate as ablate
    import merclip.training.evaluate as evaluate
    import merclip.training.export as export
    import merclip.training.loop as loop

    def fired(*args, **kwargs):
        raise AssertionError("work started before the output was refused")

    for module, name in ((evaluate, "load_checkpoint"), (export, "load_checkpoint"), (loop, "build_from_config"),
                         (ablate, "run_grid")):
        monkeypatch.setattr(module, name, fired)


def test_an_output_that_cannot_be_written_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    """An --out that is a folder, lies under a file or in a missing folder failed only after the evaluation with a
    traceback (evaluate), or was written elsewhere as <folder>.npz (export); a run folder that is a file failed
    after the data was decoded (train, ablate)."""
    from merclip.training.ablate import main as ablate
    from merclip.training.evaluate import main as evaluate
    from merclip.training.export import main as export
    from merclip.training.loop import main as train

    _no_work(monkeypatch)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    data = ["--root", str(tmp_path / "data"), "--device", "cpu"]
    tiny = ["--clip-model", "merclip-tiny"]
    cases = [
        (evaluate, ["--out", str(tmp_path / "missing" / "m.json")], "the folder '" + str(tmp_path / "missing")),
        (evaluate, ["--out", str(tmp_path)], "it is a folder"),
        (export, ["--out", str(tmp_path)], "it is a folder"),
        (export, ["--out", str(a_file / "e.npz")], f"'{a_file}' is a file, not a folder"),
        (train, ["--out", str(a_file), *tiny], "cannot write the run folder to"),
        (ablate, ["--grid", "components", "--out", str(a_file), *tiny], "cannot write the ablation folder to"),
    ]
    for main, argv, fragment in cases:
        with pytest.raises(SystemExit) as exit_:
            main([*data, *argv])
        assert exit_.value.code == 2, argv
        err = capsys.readouterr().err
        assert fragment in err and "Traceback" not in err, (argv, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_export_reports_the_file_numpy_writes(tmp_path):
    from merclip.training.export import save_embeddings

    written = save_embeddings(tmp_path / "emb", {"ids": np.array(["a"])})
    assert written == tmp_path / "emb.npz" and written.is_file()  # was reported as 'emb', a file that is not there


@pytest.mark.parametrize("module", ["synthetic", "realish"])
def test_a_dataset_writer_refuses_an_out_that_is_a_file(module, tmp_path, capsys):
    """It was a NotADirectoryError / FileExistsError traceback (synthetic after making part of the layout)."""
    import importlib

    main = importlib.import_module(f"merclip.data.{module}").main
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    with pytest.raises(SystemExit) as exit_:
        main(["--out", str(a_file / "set")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"'{a_file}' is a file, not a folder" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == [a_file]
