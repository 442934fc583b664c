"""The Studio service, the Gradio app over HTTP (gradio_client) and in a real browser (Playwright + chromium)."""
import shutil
from pathlib import Path

import numpy as np
import pytest

from merclip.errors import UserError
from merclip.predict import Predictor
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
    top = [t for t in fig.data if t.yaxis == "y"]
    assert [t.name for t in top] == ["Emotion", "(none)", "Vibe"]
    # below: each other word's change from the model's own query word, with the decimals it needs to show
    changes = {t.name: t for t in fig.data if t.yaxis == "y2"}
    assert set(changes) == {"(none)", "Vibe"} and "change from 'Emotion'" in fig.layout.annotations[1].text
    emotion = top[0].y
    for trace in changes.values():
        probs = next(t.y for t in top if t.name == trace.name)
        assert trace.y == pytest.approx([p - e for p, e in zip(probs, emotion)], abs=1e-9)
    largest = max(abs(d) for t in changes.values() for d in t.y)
    decimals = int(fig.layout.yaxis2.tickformat.split(".")[1][0])
    assert largest == 0 or 10 ** -decimals <= largest / 5  # ticks (and hover) resolve a fifth of the largest change
    assert all(f":+.{decimals + 1}f}}" in t.hovertemplate for t in changes.values())
    fig = studio.compare_label_sets(str(EXAMPLE), "hi", kind_a="word", kind_b="custom", custom_b="calm\nexcited\n\n")
    assert [len(t.y) for t in fig.data] == [6, 2]
    assert "A: word (paper)" in fig.layout.annotations[0].text
    fig = studio.compare_label_sets(str(EXAMPLE), "hi", kind_a="sentence", kind_b="custom", custom_b="calm, tense, excited")
    assert [len(t.y) for t in fig.data] == [6, 3]
    assert list(fig.data[0].x)[:2] == ["happy (…)", "sad (…)"]  # sentences: short axis names, full text on hover
    assert fig.data[0].hovertext[0].startswith("A state of feeling delighted")
    assert "A: sentence (paper)" in fig.layout.annotations[0].text
    sentiment = studio.analyse(str(EXAMPLE), "hi", task="sentiment", label_kind="phrase")
    assert sum(sentiment.result.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert "trained for emotion" in sentiment.summary


@pytest.mark.parametrize("method", ["t-SNE", "UMAP"])
def test_projection_places_the_clip(studio, method):
    fig = studio.projection(str(EXAMPLE), "hello", space="fused", method=method)
    star = [t for t in fig.data if t.name == "this clip"]
    assert len(star) == 1 and np.isfinite(star[0].x[0])
    assert sum(len(t.x) for t in fig.data if t.name != "this clip") == 60
    title = fig.layout.title.text.replace("<br>", " ")
    assert ("approximation" in title or "weighted mean" in title) == (method == "t-SNE")


@pytest.mark.parametrize("space", ["audio", "language"])
def test_projection_does_not_place_a_clip_by_a_modality_it_lacks(studio, clips, space):
    """A clip without audio (or transcript) has an all-zero embedding in that space: t-SNE's transform failed on it
    (an internal error) and UMAP put it somewhere; now it is left out and the note says why."""
    fig = studio.projection(str(clips["noaudio"]), "", space=space, method="t-SNE")
    assert not [t for t in fig.data if t.name == "this clip"]
    lacks = {"audio": "audio", "language": "transcript"}[space]
    title = fig.layout.title.text.replace("<br>", " ")
    assert f"this clip is not placed: it has no {lacks}, so no {space} embedding" in title


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


def test_zero_shot_without_real_weights_explains(studio, no_clip_weights):
    fig, text = studio.zero_shot(str(EXAMPLE), "hi")
    assert "needs real ViT-B-32 weights" in text and "--clip-weights" in text


def test_zero_shot_with_a_local_weights_file(tiny_ckpt, embeddings, tmp_path):
    import torch
    from safetensors.torch import save_file

    from merclip.pretrained import clip_towers

    torch.manual_seed(0)
    clip = clip_towers.create_clip("merclip-tiny", None)
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
    assert s.config.clip_model == "merclip-tiny-256" and s.embeddings is not None
    assert len(s.examples()) >= 3
    examples = {Path(v).stem: (v, t) for v, t in s.examples()}
    r = s.analyse(*examples["happy_surprised"]).result
    assert set(r.probabilities) == {"happy", "sad", "angry", "surprise", "disgust", "fear"}
    assert {"happy", "surprise"} <= set(r.predicted)  # the demo model reads its own generated cues
    checkpoint = s.models.lsgmer_checkpoint
    assert checkpoint is not None and checkpoint.name == "lsgmer-tiny-synthetic"
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


DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TABS = ["Modalities", "Attention", "Query words", "Label sets", "Projection", "LSGMER", "Zero-shot", "About"]


@pytest.fixture(scope="module")
def browser():
    """One headless Debian chromium for the module's browser tests (the app itself is the session's `served`)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        yield b
        b.close()


def _page(browser, url, viewport):
    phone = viewport["width"] < 600
    page = browser.new_page(viewport=viewport, is_mobile=phone, has_touch=phone)
    page.goto(url, wait_until="networkidle")
    page.get_by_text("Demo model trained on generated clips").wait_for()
    return page


def _in_view(page, selector: str) -> bool:
    """Whether the element's top part is on screen (the prediction is read from its top)."""
    return page.evaluate("""s => { const r = document.querySelector(s).getBoundingClientRect();
        return r.top >= -1 && r.top < innerHeight - 150 && r.height > 0; }""", selector)


def _toasts(page) -> list[str]:
    return page.locator("[data-testid='toast-body']").all_inner_texts()


def _plot(page, elem_id: str) -> dict:
    """What plotly drew in a gr.Plot: the traces' colour axes and marker colours, the plot's and panel's widths."""
    return page.evaluate("""id => { const gd = document.querySelector('#' + id + ' .js-plotly-plot');
        return {coloraxis: gd.data.map(t => t.coloraxis || null), colours: gd.data.map(t => t.marker && t.marker.color),
                types: gd.data.map(t => t.type), legend: [...gd.querySelectorAll('.legendpoints path')].map(
                    p => getComputedStyle(p).fill),
                width: gd.getBoundingClientRect().width,
                panel: document.querySelector('#' + id).getBoundingClientRect().width}; }""", elem_id)


def _analyse_an_example(page, example_text: str):
    page.get_by_text(example_text).first.click()  # the example's button
    page.wait_for_function("t => [...document.querySelectorAll('textarea')].some(a => a.value === t)", arg=example_text)
    page.locator("#analyse").click()  # at once: the example's change events may be handled after the result
    page.locator("#bars .js-plotly-plot").wait_for(timeout=60000)
    page.locator("#summary").get_by_text("Predicted:").wait_for(timeout=60000)


def test_browser_desktop_result_in_view_shared_scales_and_no_stale_results(served, browser, tmp_path):
    page = _page(browser, served, DESKTOP)
    happy = EXAMPLE.with_suffix(".txt").read_text().strip()
    _analyse_an_example(page, happy)
    assert _in_view(page, "#bars"), "after Analyse the prediction must be on screen"
    bars_text = page.locator("#bars").inner_text()
    assert "happy" in bars_text and "threshold" in bars_text
    page.wait_for_timeout(500)
    page.screenshot(path=str(tmp_path / "desktop.png"))

    # a plot redrawn while its tab is hidden (plotly then falls back to 700 px) gets the panel's width when shown
    page.get_by_role("tab", name="Attention").click()
    page.locator("#attention .js-plotly-plot").wait_for(timeout=30000)
    page.get_by_role("tab", name="Modalities").click()
    page.locator("#analyse").click()  # the attention plot is redrawn in its hidden tab
    page.locator("#summary").get_by_text("Predicted:").wait_for(timeout=30000)
    page.wait_for_timeout(500)
    page.get_by_role("tab", name="Attention").click()
    assert "layer 1" in page.locator("#attention").inner_text()
    page.wait_for_timeout(500)
    attention = _plot(page, "attention")
    print("attention plot", attention["width"], "panel", attention["panel"])
    assert set(attention["coloraxis"]) == {"coloraxis"}  # every layer on one colour scale
    assert abs(attention["width"] - attention["panel"]) < 0.02 * attention["panel"], attention

    # LSGMER: its label-signal maps share one scale too, and the legend's colours are the bars' colours
    page.get_by_role("tab", name="LSGMER").click()
    page.locator("#run-lsgmer").click()
    page.locator("#lsgmer-maps .js-plotly-plot").wait_for(timeout=60000)
    maps, bars = _plot(page, "lsgmer-maps"), _plot(page, "lsgmer-bars")
    assert set(c for c, t in zip(maps["coloraxis"], maps["types"]) if t == "heatmap") == {"coloraxis"}
    assert all(isinstance(c, str) for c in bars["colours"]) and len(bars["legend"]) == 2
    assert maps["width"] > 0.9 * maps["panel"], maps

    # custom labels separated by commas work, and editing them updates the result
    page.locator("#options").get_by_text("options:").click()
    page.locator("#options").get_by_text("custom", exact=True).click()  # none written yet: the old result stays
    page.locator("#custom-labels textarea").fill("calm, tense, excited")
    page.wait_for_function("() => ['calm', 'tense', 'excited'].every(w => "
                           "document.querySelector('#bars').innerText.includes(w))", timeout=30000)
    assert "Predicted:" in page.locator("#summary").inner_text()
    # a failed request leaves no earlier result on screen under an "Error" badge
    page.locator("#custom-labels textarea").fill("calm\ncalm")
    page.wait_for_timeout(800)
    assert "calm" in page.locator("#bars").inner_text()  # the live edit kept the previous result (and said why)
    page.locator("#analyse").click()
    page.locator("#summary").get_by_text("Predicted:").wait_for(state="detached", timeout=30000)
    assert any("duplicates" in t for t in _toasts(page))
    assert not any("Errno" in t or "/tmp/" in t for t in _toasts(page))

    # a transcript file's words land in the box, where they can be read and edited
    page.locator("#custom-labels textarea").fill("calm, tense, excited")
    page.locator("#analyse").click()
    page.locator("#summary").get_by_text("Predicted:").wait_for(timeout=30000)
    srt = tmp_path / "words.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:02,000\nthe parcel finally arrived\n")
    page.locator("#more-inputs").get_by_text("more inputs").click()
    page.locator("#transcript-file input[type=file]").set_input_files(str(srt))
    page.wait_for_function("() => [...document.querySelectorAll('textarea')]"
                           ".some(t => t.value === 'the parcel finally arrived')", timeout=30000)
    # ...and another transcript means the shown prediction is no longer this input's: it goes
    page.locator("#summary").get_by_text("Predicted:").wait_for(state="detached", timeout=30000)
    assert "calm" not in page.locator("#bars").inner_text()
    page.close()


def test_browser_phone_quiet_before_upload_result_in_view_and_new_clip_clears(served, browser, tmp_path):
    page = _page(browser, served, PHONE)
    # controls touched before any upload: no analysis, and no error message for a request nobody made
    page.locator("#options").get_by_text("options:").click()
    page.locator("#options").get_by_text("sentiment", exact=True).click()
    page.locator("#options").get_by_text("phrase", exact=True).click()
    page.locator("#options").get_by_text("audio", exact=True).click()
    page.locator("#custom-labels textarea").fill("calm, tense")
    page.get_by_role("tab", name="Attention").click()
    page.wait_for_timeout(1500)
    assert _toasts(page) == []
    page.locator("#options").get_by_text("emotion", exact=True).click()
    page.locator("#options").get_by_text("word", exact=True).click()
    page.locator("#options").get_by_text("audio", exact=True).click()
    page.locator("#options").get_by_text("options:").click()  # folded again
    # every result tab is a visible tab (none hidden behind an overflow menu)
    for name in TABS:
        assert page.get_by_role("tab", name=name).is_visible(), name

    happy = EXAMPLE.with_suffix(".txt").read_text().strip()
    _analyse_an_example(page, happy)
    assert _in_view(page, "#bars"), "after Analyse the prediction must be on screen, not below the examples"
    page.wait_for_timeout(500)
    page.screenshot(path=str(tmp_path / "phone.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # nothing wider than the phone
    # another clip: the previous clip's prediction must not stay on screen as if it were the new one's
    page.get_by_text((EXAMPLE.parent / "neutral.txt").read_text().strip()).first.click()
    page.locator("#summary").get_by_text("Predicted:").wait_for(state="detached", timeout=30000)
    assert "happy" not in page.locator("#bars").inner_text()
    assert (tmp_path / "phone.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page.close()


def test_browser_projects_an_uploaded_embeddings_file_by_its_own_labels(served, browser, tmp_path):
    from conftest import export_arrays
    from merclip.training.export import save_embeddings

    path = save_embeddings(tmp_path / "my_set.npz", export_arrays(["calm", "tense", "excited"], n=15))
    page = _page(browser, served, DESKTOP)
    page.get_by_role("tab", name="Projection").click()
    page.locator("#your-set").get_by_text("your set").click()
    page.locator("#embeddings-file input[type=file]").set_input_files(str(path))  # projected on upload
    page.locator("#projection-plot .js-plotly-plot").wait_for(timeout=30000)
    legend = page.locator("#projection-plot .legendtext").all_text_contents()
    assert sorted(legend) == ["calm", "excited", "tense"]
    assert "my_set.npz" in page.locator("#projection-plot .gtitle").text_content()
    assert _toasts(page) == []
    page.close()


def test_max_seconds_and_file_size_limits_are_enforced(tiny_ckpt, embeddings, clips):
    s = Studio(tiny_ckpt, embeddings, device="cpu", max_seconds=1.0)
    with pytest.raises(ValueError, match="limit is 1 s"):
        s.analyse(str(clips["2s"]), "hi")
    small = Studio(tiny_ckpt, embeddings, device="cpu", max_file_mb=0.001)
    with pytest.raises(ValueError, match="the limit is 0.001 MB"):
        small.analyse(str(clips["2s"]), "hi")


def test_app_cli_help_and_defaults(tiny_ckpt, embeddings):
    from app import parse_args

    args = parse_args([])
    assert args.host == "127.0.0.1" and args.max_seconds == 60.0 and args.max_file_mb == 100.0
    library = Studio(tiny_ckpt, embeddings, device="cpu")  # a Studio built in a notebook refuses what the page does
    assert (library.media_cfg.max_seconds, library.media_cfg.max_file_mb) == (args.max_seconds, args.max_file_mb)
    assert library.timeline_max_seconds == 60 * args.max_timeline_minutes


def test_timeline_limit_is_the_studios_own(tiny_ckpt, embeddings, clips):
    short = Studio(tiny_ckpt, embeddings, device="cpu", timeline_max_seconds=1.0)
    with pytest.raises(UserError, match="the timeline takes clips up to 0:01 "):
        short.timeline_utterances(str(clips["2s"]))


def test_studio_package_needs_no_gradio():
    """The service runs in a notebook without the web framework: only app.py imports gradio."""
    import subprocess
    import sys

    code = "import sys, merclip.studio; print('gradio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_timeline_downloads_live_in_one_folder_and_go_with_their_timeline():
    from merclip.serving.timeline import Timeline, TimelineRow
    from merclip.studio.timeline import TimelineStore

    def scored(name: str) -> Timeline:
        row = TimelineRow(1, 0.0, 2.0, f"{name} words", {"emotion": {"happy": 0.75}}, {"emotion": ["happy"]}, {}, [])
        return Timeline(f"/uploads/{name}.mp4", 2.0, "srt", "the .srt", {"emotion": ["happy"]}, [row], [], {})

    store = TimelineStore(kept=2)
    first, second, third = (store.add(scored(name)) for name in ("a", "b", "c"))
    workdir = store.workdir
    assert sorted(p.name for p in workdir.iterdir()) == sorted([second[0], third[0]])  # the evicted one's files went
    assert not first[1].exists() and not first[2].exists()
    with pytest.raises(StudioError, match="no longer in memory"):
        store.get(first[0])
    assert third[1] == workdir / third[0] / "c-timeline.csv"
    assert third[1].read_text().splitlines()[1] == "1,0.000,2.000,c words,0.75000,happy"
    assert store.get(second[0]).rows[0].text == "b words"
    store.close()
    assert not workdir.exists()


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
        # the shipped model (merclip-tiny-256) is a demo, and the page says so above the tabs
        banner = [b.value for b in demo.blocks.values() if getattr(b, "elem_id", None) == "demo-warning"]
        assert len(banner) == 1 and "not a real-world emotion detector" in banner[0], banner
    finally:
        demo.close()


def test_warm_up_runs_the_whole_path_and_the_page_says_so_until_done(tiny_ckpt, embeddings, monkeypatch, caplog):
    """Warm-up pays the first decode before the first user does: it decodes and predicts a shipped example."""
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

    from app_events import only_with_a_clip

    calls = []

    def analyse(video, *rest, **kwargs):
        calls.append(video)
        raise AssertionError("no analysis without a clip")

    live = only_with_a_clip(analyse, 5)
    assert live(None, "text", None, None, "emotion") == tuple(gr.skip() for _ in range(5)) and calls == []
    assert live("", "text") == tuple(gr.skip() for _ in range(5)) and calls == []
    with pytest.raises(AssertionError):  # with a clip, it is the analysis that runs
        live("/uploads/clip.mp4", "text")
    assert calls == ["/uploads/clip.mp4"]


def test_a_late_change_event_keeps_the_result_of_the_very_input_it_shows(studio):
    """The clip / transcript change handler, called (as on a cold app under load) after Analyse's result for that
    same input: that result stays (gr.skip); another input, or another page's analysis, empties it."""
    import gradio as gr

    import app

    demo = app.build_app(studio)
    analyse = next(f for f in demo.fns.values() if f.api_name == "analyse")
    changes = [f for f in demo.fns.values() if f.name == "stale"]
    assert len(changes) == 2  # one for the clip, one for the transcript, covering every panel
    clear = changes[0]
    shown = [clear.outputs.index(o) for o in analyse.outputs]  # where Analyse's outputs are among the cleared

    class Page:  # what gradio passes as gr.Request; only the session matters here
        def __init__(self, session):
            self.session_hash = session

    text = "what a wonderful time"
    result = analyse.fn(str(EXAMPLE), text, None, None, "emotion", "word", "", "Emotion", [], "mean", Page("a"))
    assert "**Predicted:**" in result[1]
    late = clear.fn(str(EXAMPLE), text, Page("a"))
    assert len(late) == len(clear.outputs) and len(shown) == 5
    assert [late[i] for i in shown] == [gr.skip()] * 5  # the very input analysed: its result stays
    assert all(v is None for i, v in enumerate(late) if i not in shown)  # the other panels show nothing of it
    assert set(clear.fn(str(EXAMPLE), "other words", Page("a"))) == {None}  # another transcript: cleared
    assert set(clear.fn(str(EXAMPLE.with_name("neutral.mp4")), text, Page("a"))) == {None}  # another clip
    assert set(clear.fn(str(EXAMPLE), text, Page("b"))) == {None}  # another page never analysed it
    assert set(clear.fn(str(EXAMPLE), text, None)) == {None}


def test_zero_shot_tab_says_why_clip_cannot_run_without_weights(studio, no_clip_weights):
    import app

    assert studio.zero_shot_source() is None  # the caches the fixture points at are empty
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


def test_custom_labels_split_on_lines_or_commas(studio):
    from merclip.studio import parse_labels

    assert parse_labels("calm, tense, excited") == ["calm", "tense", "excited"]
    assert parse_labels("calm\ntense\n\n") == ["calm", "tense"]
    # several lines: a sentence label keeps its commas
    assert parse_labels("I feel calm, relaxed\nI feel tense") == ["I feel calm, relaxed", "I feel tense"]
    assert parse_labels(" , ,\n") == []
    r = studio.analyse(str(EXAMPLE), "hi", label_kind="custom", custom_labels="calm, tense, excited").result
    assert r.labels == ["calm", "tense", "excited"]


def test_messages_carry_no_errno_paths_or_missing_controls():
    from merclip.studio import public_message

    raw = ("cannot read 'clip.mp4': it is not a readable media file ([Errno 1094995529] Invalid data found when "
           "processing input: '/tmp/gradio/3f2a9c/clip.mp4')")
    shown = public_message(raw)
    assert "Errno" not in shown and "/tmp" not in shown and "'clip.mp4'" in shown
    assert public_message("see /home/user/runs/best/config.json") == "see config.json"
    too_long = public_message("'a.mp4' is 75.0 s long; the limit is 60 s (trim the clip, or analyse its first window "
                              "with long_clip='window')")
    assert "long_clip" not in too_long and "trim the clip" in too_long
    assert public_message("the limit is 0.5 MB (1/2 of it)") == "the limit is 0.5 MB (1/2 of it)"


def test_audio_segments_are_labelled_within_the_clip(studio, clips):
    from merclip.serving.items import segment_labels

    assert segment_labels(2, 2.0, 3.0) == ["0-2s", "2-3s"]
    assert segment_labels(3, 1.5) == ["0-1.5s", "1.5-3s", "3-4.5s"]
    r = studio.predictor.predict(clips["5s"], "hello there")
    audio = next(a for a in r.attention if a.modality == "A")
    assert audio.items == ["0-2s", "2-4s", "4-5s"]


def test_about_names_the_current_device_and_no_outside_file(studio):
    about = studio.about()
    assert "loads on first request" not in about and "**Device:** cpu" in about
    assert "seeds/" not in about and "/tmp" not in about and "/home" not in about


def test_heads_are_named_alike_in_the_chooser_and_the_plot(studio):
    choices = studio.head_choices()
    assert choices[:2] == [("mean of heads", "mean"), ("all heads", "all")]
    a = studio.analyse(str(EXAMPLE), "hi", head="all")
    plotted = list(a.attention.data[0].y)
    assert [name for name, _ in choices[2:]] == plotted  # "head 1" in both, for index 0
    one = studio.analyse(str(EXAMPLE), "hi", head=choices[3][1])
    assert list(one.attention.data[0].y) == [choices[3][0]]


# The public API, pinned: each endpoint's parameter names in order, and the component each one is read from. A
# reordered or shifted input list (as slices of one shared list of components would allow) fails here.
CLIP = [("video", "Video"), ("transcript", "Textbox"), ("transcript_file", "File"), ("audio", "Audio")]
API = {
    "/analyse": CLIP + [("task", "Radio"), ("label_kind", "Radio"), ("custom_labels", "Textbox"),
                        ("query_word", "Dropdown"), ("dropped", "Checkboxgroup"), ("head", "Dropdown")],
    "/query_words": CLIP + [("task", "Radio"), ("label_kind", "Radio"), ("custom_labels", "Textbox"),
                            ("words", "Checkboxgroup"), ("extra_word", "Textbox")],
    "/label_sets": CLIP + [("task", "Radio"), ("kind_a", "Radio"), ("custom_a", "Textbox"), ("kind_b", "Radio"),
                           ("custom_b", "Textbox"), ("query_word", "Dropdown")],
    "/projection": CLIP + [("space", "Radio"), ("method", "Radio")],
    "/projection_realish": CLIP + [("space", "Radio"), ("method", "Radio")],
    "/projection_upload": CLIP + [("space", "Radio"), ("method", "Radio"), ("embeddings_file", "File")],
    "/lsgmer": CLIP,
    "/zero_shot": CLIP[:3] + [("task", "Radio"), ("label_kind", "Radio"), ("custom_labels", "Textbox")],
    "/timeline_utterances": [("video", "Video"), ("srt", "File")],
    "/timeline": [("video", "Video"), ("srt", "File"), ("rows", "Dataframe"), ("task", "Radio")],
}
LABEL_OF = {"video": "clip", "transcript": "transcript", "transcript_file": "transcript file", "audio": "voice recording",
            "task": "task", "label_kind": "label set", "custom_labels": "custom labels", "query_word": "query word",
            "dropped": "drop modalities", "head": "heads", "words": "query words", "extra_word": "another word",
            "kind_a": "set A", "custom_a": "custom A", "kind_b": "set B", "custom_b": "custom B", "space": "embedding",
            "method": "method", "srt": "subtitles", "rows": "utterances", "embeddings_file": "your embeddings"}


def test_public_api_parameters_are_pinned(studio):
    import app

    info = app.build_app(studio).get_api_info()["named_endpoints"]
    assert set(info) == set(API)
    for endpoint, expected in API.items():
        params = info[endpoint]["parameters"]
        assert [(p["parameter_name"], p["component"]) for p in params] == expected, endpoint
        for p in params:  # each name is read from its own control, not its neighbour
            assert LABEL_OF[p["parameter_name"]] in p["label"], (endpoint, p["parameter_name"], p["label"])
