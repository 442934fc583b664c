"""The Studio service, the Gradio app over HTTP (gradio_client) and in a real browser (Playwright + chromium)."""
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from merclip.predict import Predictor
from merclip.errors import UserError
from merclip.studio import Studio, StudioError

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


EXAMPLE = ROOT / "assets" / "examples" / "happy_surprised.mp4"


def test_analyse_panel(studio):
    a = studio.analyse(str(EXAMPLE), "what a wonderful time", query_word="Emotion")
    assert list(a.result.probabilities) == ["happy", "sad", "angry", "surprise", "disgust", "fear"]
    assert a.bars.data[0].y == pytest.approx([a.result.probabilities[l] for l in a.result.labels])
    assert any(s.y0 == 0.6 for s in a.bars.layout.shapes)  # the threshold line
    assert a.similarity.data[0].z.shape == (4, 6) and list(a.similarity.data[0].y) == ["language", "vision", "audio", "fused"]
    assert len(a.attention.data) == 3 and len(a.attention.layout.images) == 4  # 3 heatmaps, 4 frame thumbnails
    vision = next(t for t in a.attention.data if t.x[0].endswith("s") and "-" not in t.x[0])  # frame times
    for image in a.attention.layout.images:  # drawn inside the vision heatmap's cells: outside its range they vanish
        assert image.xref == vision.xaxis and image.yref == vision.yaxis and image.x in vision.x
        assert -0.5 <= image.y - image.sizey / 2 and image.y + image.sizey / 2 <= len(vision.y) - 0.5
        assert image.source.startswith("data:image/png;base64,")
    assert a.attention.layout.title.text == "CMD attention" and a.attention.layout.xaxis.tickangle == -45
    assert "**Predicted:**" in a.summary and "Timings" in a.summary
    dropped = studio.analyse(str(EXAMPLE), "what a wonderful time", dropped=["vision"])
    assert "vision ✗ absent" in dropped.summary and dropped.result.probabilities != a.result.probabilities


def test_query_word_and_label_set_panels(studio):
    fig = studio.sweep_query_words(str(EXAMPLE), "hi", words=["Emotion", "(none)"], extra_word="Vibe")
    assert [t.name for t in fig.data] == ["Emotion", "(none)", "Vibe"]
    fig = studio.compare_label_sets(str(EXAMPLE), "hi", kind_a="word", kind_b="custom", custom_b="calm\nexcited\n\n")
    assert [len(t.y) for t in fig.data] == [6, 2]
    assert "A: word (paper)" in fig.layout.annotations[0].text
    sentiment = studio.analyse(str(EXAMPLE), "hi", task="sentiment", label_kind="phrase")
    assert sum(sentiment.result.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert "trained for emotion" in sentiment.summary


@pytest.mark.parametrize("method", ["t-SNE", "UMAP"])
def test_projection_places_the_clip(studio, method):
    fig = studio.projection(str(EXAMPLE), "hello", space="fused", method=method)
    star = [t for t in fig.data if t.name == "this clip"]
    assert len(star) == 1 and np.isfinite(star[0].x[0])
    assert sum(len(t.x) for t in fig.data if t.name != "this clip") == 60
    assert ("approximation" in fig.layout.title.text or "weighted mean" in fig.layout.title.text) == (method == "t-SNE")


@pytest.mark.parametrize("kwargs,text", [
    (dict(video=None), "upload or record a video clip first"),
    (dict(label_kind="custom", custom_labels="  \n"), "custom label set is empty"),
    (dict(label_kind="custom", custom_labels="only one"), "at least 2 non-empty labels"),
])
def test_studio_errors_are_messages(studio, kwargs, text):
    args = dict(video=str(EXAMPLE), transcript="hi")
    args.update(kwargs)
    with pytest.raises(UserError, match=text):
        studio.analyse(**args)


def test_zero_shot_without_real_weights_explains(studio, monkeypatch, tmp_path):
    monkeypatch.delenv("MERCLIP_CLIP_WEIGHTS", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    fig, text = studio.zero_shot(str(EXAMPLE), "hi")
    assert "needs real ViT-B-32 weights" in text and "--clip-weights" in text


def test_zero_shot_with_a_local_weights_file(tiny_ckpt, embeddings, tmp_path):
    import torch
    from safetensors.torch import save_file

    from merclip import backbone

    torch.manual_seed(0)
    clip = backbone.create_clip("merclip-tiny", None)
    path = tmp_path / "clip.safetensors"
    save_file({k: v.contiguous() for k, v in clip.state_dict().items()}, str(path))
    s = Studio(tiny_ckpt, embeddings, device="cpu", zero_shot_weights=str(path), zero_shot_arch="merclip-tiny")
    fig, text = s.zero_shot(str(EXAMPLE), "what a wonderful time")
    assert str(path) in text
    combined = [t for t in fig.data if t.name == "combined"][0]
    assert len(combined.y) == 6 and sum(combined.y) == pytest.approx(1.0, abs=1e-4)


def test_about_panel_labels_the_demo_model(studio):
    about = studio.about()
    assert "Demo model" in about and "not** a real-world emotion detector" in about and "merclip-tiny" in about
    # the shipped demo uses the `sequence` CMD: the panel must not pass it off as the paper's
    assert "`sequence` keys (this project's extension, not the paper's CMD" in about


def test_cmd_description_names_the_paper_cmd_and_the_extension():
    from merclip.config import ModelConfig
    from merclip.studio import cmd_keys_description

    assert "the paper's CMD" in cmd_keys_description(ModelConfig())
    assert "extension" in cmd_keys_description(ModelConfig(cmd_mode="sequence"))
    assert "not the paper's |m| layers" in cmd_keys_description(ModelConfig(modality_order=("V", "L"), cmd_layers=3))
    assert "no CMD" in cmd_keys_description(ModelConfig(use_cmd=False))


def test_shipped_demo_checkpoints_and_examples_load():
    s = Studio()  # the defaults: shipped checkpoints + shipped embeddings
    assert s.config.clip_model == "merclip-tiny" and s.embeddings is not None
    assert len(s.examples()) >= 3
    examples = {Path(v).stem: (v, t) for v, t in s.examples()}
    r = s.analyse(*examples["happy_surprised"]).result
    assert set(r.probabilities) == {"happy", "sad", "angry", "surprise", "disgust", "fear"}
    assert {"happy", "surprise"} <= set(r.predicted)  # the demo model reads its own generated cues
    assert s.lsgmer_checkpoint is not None and s.lsgmer_checkpoint.name == "lsgmer-tiny-synthetic"
    _, _, summary = s.lsgmer(*examples["angry_disgusted"])
    assert "**LSGMER predicts:**" in summary


def test_gradio_client_matches_predictor(served, tiny_ckpt):
    from gradio_client import Client, handle_file

    client = Client(served, verbose=False)
    out = client.predict(handle_file(str(EXAMPLE)), "what a wonderful time", None, None, "emotion", "word", "", "Mood",
                         [], "mean", api_name="/analyse")
    direct = Predictor.from_checkpoint(tiny_ckpt, device="cpu").predict(EXAMPLE, "what a wonderful time", query_word="Mood")
    assert out[2] == pytest.approx(direct.probabilities, abs=1e-5)
    assert "**Predicted:**" in out[1]
    sweep = client.predict(handle_file(str(EXAMPLE)), "what a wonderful time", None, None, "emotion", "word", "",
                           ["Emotion", "Mood"], "", api_name="/query_words")
    assert "Mood" in sweep["plot"]


def test_bad_input_over_http_is_a_message_and_the_server_stays_up(served, clips):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    client = Client(served, verbose=False)
    for path, text in ((clips["garbage"], "not a readable media file"), (clips["empty"], r"empty \(0 bytes\)"),
                       (clips["wav"], "has no video stream")):
        with pytest.raises(AppError, match=text):
            client.predict(handle_file(str(path)), "hi", None, None, "emotion", "word", "", "Emotion", [], "mean",
                           api_name="/analyse")
    ok = client.predict(handle_file(str(clips["noaudio"])), "hi", None, None, "emotion", "word", "", "Emotion", [],
                        "mean", api_name="/analyse")
    assert "audio ✗ absent" in ok[1]


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed (.ci/run installs it)")
def test_browser_runs_an_example_and_renders_plots(served, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(served, wait_until="networkidle")
        assert "MER-CLIP Studio" in page.content()
        page.get_by_text("Demo model trained on generated clips").wait_for()
        page.get_by_text((EXAMPLE.with_suffix(".txt")).read_text().strip()).first.click()  # the example's row
        page.wait_for_function("() => [...document.querySelectorAll('textarea')].some(t => t.value.includes('wonderful'))")
        page.locator("#analyse").click()
        page.locator("#bars .js-plotly-plot").wait_for(timeout=60000)
        page.get_by_text("Predicted:").wait_for(timeout=60000)
        bars_text = page.locator("#bars").inner_text()
        assert "happy" in bars_text and "threshold" in bars_text
        page.get_by_role("tab", name="Attention").click()
        page.locator("#attention .js-plotly-plot").wait_for(timeout=30000)
        assert "layer 1" in page.locator("#attention").inner_text()
        page.get_by_role("tab", name="Modalities").click()
        time.sleep(0.5)
        # a transcript file's words land in the box, where they can be read and edited
        srt = tmp_path / "words.srt"
        srt.write_text("1\n00:00:00,000 --> 00:00:02,000\nthe parcel finally arrived\n")
        page.locator("#transcript-file input[type=file]").set_input_files(str(srt))
        page.wait_for_function("() => [...document.querySelectorAll('textarea')]"
                               ".some(t => t.value === 'the parcel finally arrived')", timeout=30000)
        shot = tmp_path / "screenshot.png"  # never into the repository (docs/screenshot.png is refreshed by hand)
        page.screenshot(path=str(shot), full_page=True)
        # another clip: the previous clip's prediction must not stay on screen as if it were the new one's
        page.get_by_text((EXAMPLE.parent / "neutral.txt").read_text().strip()).first.click()
        page.get_by_text("Predicted:").wait_for(state="detached", timeout=30000)
        assert "happy" not in page.locator("#bars").inner_text()
        browser.close()
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_max_seconds_and_file_size_limits_are_enforced(tiny_ckpt, embeddings, clips):
    s = Studio(tiny_ckpt, embeddings, device="cpu", max_seconds=1.0)
    with pytest.raises(ValueError, match="limit is 1 s"):
        s.analyse(str(clips["2s"]), "hi")
    small = Studio(tiny_ckpt, embeddings, device="cpu", max_file_mb=0.001)
    with pytest.raises(ValueError, match="the limit is 0.001 MB"):
        small.analyse(str(clips["2s"]), "hi")


def test_app_cli_help_and_defaults():
    from app import parse_args

    args = parse_args([])
    assert args.host == "127.0.0.1" and args.max_seconds == 60.0 and args.max_file_mb == 100.0


def test_lsgmer_tab(studio, clips):
    bars, maps, summary = studio.lsgmer(str(EXAMPLE), "what a wonderful time")
    assert [t.name for t in bars.data] == ["prediction p_pred", "attribution p_attr"]
    assert sum(bars.data[0].y) == pytest.approx(1.0, abs=1e-4) and sum(bars.data[1].y) == pytest.approx(1.0, abs=1e-4)
    heat = [t for t in maps.data if t.type == "heatmap"]
    assert len(heat) == 2 and heat[0].z.shape[0] == 7  # 7 MELD labels x tokens
    assert "**LSGMER predicts:**" in summary and "APC" in summary
    _, maps, summary = studio.lsgmer(str(clips["noaudio"]), "hello")
    assert "no audio track" in summary and len([t for t in maps.data if t.type == "heatmap"]) == 1


def test_lsgmer_over_the_api(served):
    from gradio_client import Client, handle_file

    out = Client(served, verbose=False).predict(handle_file(str(EXAMPLE)), "what a wonderful time", None, None,
                                                api_name="/lsgmer")
    assert "LSGMER predicts" in out[2] and "label-signal attention" in out[1]["plot"]


def test_python_app_py_starts_on_the_shipped_defaults(clips):
    """What README's first command runs: main() with no arguments but a free port."""
    import socket as _socket

    from gradio_client import Client, handle_file

    import app

    with _socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    demo = app.main(["--port", str(port)], block=False)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        example = ROOT / "assets" / "examples" / "sad_afraid.mp4"
        out = client.predict(handle_file(str(example)), "the other day I really regret that it was terrifying", None,
                             None, "emotion", "word", "", "Emotion", [], "mean", api_name="/analyse")
        assert set(out[2]) == {"happy", "sad", "angry", "surprise", "disgust", "fear"}
        ls = client.predict(handle_file(str(example)), "it was terrifying", None, None, api_name="/lsgmer")
        assert "LSGMER predicts" in ls[2]
    finally:
        demo.close()


def test_warm_up_runs_the_whole_path_and_the_page_says_so_until_done(tiny_ckpt, embeddings, monkeypatch, caplog):
    """Issue 13 item 4: the first request used to pay ~7 s of first decode; warm-up now decodes and predicts an example."""
    s = Studio(tiny_ckpt, embeddings, device="cpu")
    assert "Warming up" in s.status() and not s.ready.is_set()
    s.warm_up(projections=False)
    assert s.ready.is_set() and s.status() == ""
    assert len(s.predictor._cache) == 1  # a shipped example was decoded and run through the towers
    broken = Studio(tiny_ckpt, embeddings, device="cpu")
    monkeypatch.setattr(broken, "analyse", lambda *a, **k: 1 / 0)
    broken.warm_up(projections=False)  # a failing warm-up is logged, and the page stops saying "warming up"
    assert broken.ready.is_set() and "warm-up failed" in caplog.text


def test_page_shows_warming_up_until_ready(tiny_ckpt, embeddings):
    import gradio as gr

    from app import build_app

    s = Studio(tiny_ckpt, embeddings, device="cpu")
    demo = build_app(s)
    warming = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "warming-up")
    assert "Warming up" in warming.value
    timers = [b for b in demo.blocks.values() if isinstance(b, gr.Timer)]
    assert len(timers) == 1 and timers[0].active


def test_live_controls_change_nothing_before_a_clip_is_loaded():
    """Touching a control before any upload must neither run an analysis nor raise 'upload a clip first'."""
    import gradio as gr

    import app

    calls = []

    def analyse(video, *rest, **kwargs):
        calls.append(video)
        raise AssertionError("no analysis without a clip")

    live = app.only_with_a_clip(analyse, 5)
    assert live(None, "text", None, None, "emotion") == tuple(gr.skip() for _ in range(5)) and calls == []
    assert live("", "text") == tuple(gr.skip() for _ in range(5)) and calls == []
    with pytest.raises(AssertionError):  # with a clip, it is the analysis that runs
        live("/uploads/clip.mp4", "text")
    assert calls == ["/uploads/clip.mp4"]


def test_zero_shot_tab_says_why_clip_cannot_run_without_weights(studio):
    import app

    assert studio.zero_shot_source() is None  # no weights can be on this machine
    demo = app.build_app(studio)
    texts = [getattr(block, "value", None) for block in demo.blocks.values()]
    assert any(isinstance(t, str) and "CLIP zero-shot cannot run here" in t for t in texts)
    labels = [getattr(block, "value", None) for block in demo.blocks.values() if block.__class__.__name__ == "Button"]
    assert "Run the offline zero-shot reference" in labels and not any("Run zero-shot CLIP" in str(l) for l in labels)


def test_a_transcript_file_goes_into_the_box_through_the_allow_list(tiny_ckpt, embeddings, tmp_path):
    """Its words are shown (and editable) before analysis; a file outside the allowed folders is never read."""
    uploads, outside = tmp_path / "uploads", tmp_path / "outside"
    uploads.mkdir(), outside.mkdir()
    (uploads / "talk.srt").write_text("1\n00:00:00,000 --> 00:00:01,500\nwhat a lovely day\n\n"
                                      "2\n00:00:01,500 --> 00:00:03,000\nI am so happy\n")
    (outside / "secret.txt").write_text("launch codes")
    s = Studio(tiny_ckpt, embeddings, device="cpu", allowed_roots=[uploads])
    assert s.transcript_file_text(str(uploads / "talk.srt")) == "what a lovely day I am so happy"
    with pytest.raises(UserError, match="not an uploaded file") as refused:
        s.transcript_file_text(str(outside / "secret.txt"))
    assert "launch" not in str(refused.value) and str(outside) not in str(refused.value)
