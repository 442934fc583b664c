"""MER-CLIP Studio: the Gradio Blocks app. Layout and wiring only: the logic lives in merclip.studio, the events'
common behaviour (errors as messages, live controls, stale outputs) in app_events.py.

    python app.py                                  # the shipped demo model, offline
    python app.py --checkpoint runs/mosei/best     # any MER-CLIP checkpoint

One builder per panel; each wires its own handler to components looked up by the handler's parameter names
(`named_inputs`), so the public API's parameters (`analyse`, `query_words`, `label_sets`, `projection`, `lsgmer`,
`zero_shot`) cannot be reordered or shifted by editing a list of components.
"""
from __future__ import annotations

import argparse
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder

from app_events import (
    RESIZE_PLOTS,
    SCROLL_TO_RESULT,
    friendly,
    keep_result_while_labels_are_edited,
    named_inputs,
    only_with_a_clip,
    stale_outputs,
)
from merclip.arguments import positive_float, user_errors_exit
from merclip.labels import QUERY_WORDS
from merclip.serving.projection import METHODS, SPACES
from merclip.shipped import DEFAULT_CHECKPOINT, DEFAULT_EMBEDDINGS, DEFAULT_LSGMER, REPO_ROOT
from merclip.spaces_support import gpu_entry, startup_device
from merclip.studio import DEFAULT_MAX_FILE_MB, DEFAULT_MAX_SECONDS, DEFAULT_TIMELINE_MINUTES, NO_WORD, Studio

QUERY_CHOICES = [w or NO_WORD for w in QUERY_WORDS]
LABEL_KINDS = ["word", "phrase", "sentence", "custom"]
MODALITY_TOGGLES = ["language", "vision", "audio"]


@dataclass
class Main:
    """The main panel's components: the clip and its options (shared by every tab) and the prediction."""

    inputs: dict  # parameter name -> component
    run: gr.Button
    bars: gr.Plot
    summary: gr.Markdown
    probabilities: gr.JSON


def input_column(studio: Studio) -> tuple[dict, gr.Button]:
    """Clip and transcript, the Analyse button right under them, then the options and examples, folded."""
    video = gr.Video(label="clip (upload or webcam)", sources=["upload", "webcam"], include_audio=True, height=260,
                     elem_id="clip")
    transcript = gr.Textbox(label="transcript", lines=2, placeholder="what is said in the clip", elem_id="transcript")
    run = gr.Button("Analyse", variant="primary", elem_id="analyse")
    with gr.Accordion("options: task, labels, query word, modalities", open=False, elem_id="options"):
        with gr.Row():
            task = gr.Radio(["emotion", "sentiment"], value=studio.config.task, label="task")
            label_kind = gr.Radio(LABEL_KINDS, value="word", label="label set")
        custom_labels = gr.Textbox(label="custom labels (one per line, or separated by commas; used when 'custom' "
                                         "is chosen)", lines=3, placeholder="calm, tense, excited",
                                   elem_id="custom-labels")
        query_word = gr.Dropdown(QUERY_CHOICES, value=studio.config.query_word or NO_WORD, allow_custom_value=True,
                                 label="emotion-query word (or type any word)")
        dropped = gr.CheckboxGroup(MODALITY_TOGGLES, value=[], label="drop modalities")
    with gr.Accordion("more inputs: a transcript file, a separate voice recording", open=False, elem_id="more-inputs"):
        transcript_file = gr.File(label="…or a transcript file (.txt / .srt)", file_types=[".txt", ".srt"],
                                  type="filepath", elem_id="transcript-file")
        audio = gr.Audio(label="separate voice recording (optional; replaces the clip's audio)",
                         sources=["microphone", "upload"], type="filepath")
    examples = studio.examples()
    if examples:
        # one compact button per example (its transcript), not a table of blown-up thumbnails
        gr.Examples(examples, inputs=[video, transcript], label="examples (generated clips)",
                    example_labels=[text for _, text in examples])
    inputs = dict(video=video, transcript=transcript, transcript_file=transcript_file, audio=audio, task=task,
                  label_kind=label_kind, custom_labels=custom_labels, query_word=query_word, dropped=dropped)
    return inputs, run


def modalities_tab() -> gr.Plot:
    with gr.Tab("Modalities") as tab:
        similarity = gr.Plot(label="per-modality cosine similarity to each label", elem_id="similarity")
    tab.select(None, js=RESIZE_PLOTS)
    return similarity


def attention_tab(studio: Studio) -> tuple[gr.Dropdown, gr.Plot]:
    with gr.Tab("Attention") as tab:
        head = gr.Dropdown(studio.head_choices(), value="mean", label="heads")
        attention = gr.Plot(label="CMD attention", elem_id="attention")
    tab.select(None, js=RESIZE_PLOTS)
    return head, attention


def query_words_tab(studio: Studio, main: Main) -> None:
    with gr.Tab("Query words") as tab:
        words = gr.CheckboxGroup(QUERY_CHOICES, value=["Emotion", "Sentiment", "Mood", NO_WORD], label="query words")
        extra_word = gr.Textbox(label="another word", placeholder="e.g. Vibe")
        button = gr.Button("Compare query words", elem_id="run-query-words")
        plot = gr.Plot(label="query words compared", elem_id="query-words-plot")
    tab.select(None, js=RESIZE_PLOTS)

    @friendly
    @gpu_entry  # a GPU is attached for this call on a ZeroGPU Space; nothing elsewhere
    def query_words(video, transcript=None, transcript_file=None, audio=None, task="emotion", label_kind="word",
                    custom_labels="", words=("Emotion",), extra_word=""):
        return studio.sweep_query_words(video, transcript, transcript_file, audio, task, label_kind, custom_labels,
                                        words, extra_word)

    named = main.inputs | dict(words=words, extra_word=extra_word)
    button.click(query_words, named_inputs(query_words, named), plot, api_name="query_words")
    clear_when_input_changes(main, [plot])


def label_sets_tab(studio: Studio, main: Main) -> None:
    with gr.Tab("Label sets") as tab:
        with gr.Row():
            kind_a = gr.Radio(LABEL_KINDS, value="word", label="set A")
            kind_b = gr.Radio(LABEL_KINDS, value="sentence", label="set B")
        with gr.Row():
            custom_a = gr.Textbox(label="custom A (one per line, or comma-separated)", lines=3)
            custom_b = gr.Textbox(label="custom B (one per line, or comma-separated)", lines=3)
        button = gr.Button("Compare label sets", elem_id="run-label-sets")
        plot = gr.Plot(label="label sets compared", elem_id="label-sets-plot")
    tab.select(None, js=RESIZE_PLOTS)

    @friendly
    @gpu_entry  # a GPU is attached for this call on a ZeroGPU Space; nothing elsewhere
    def label_sets(video, transcript=None, transcript_file=None, audio=None, task="emotion", kind_a="word", custom_a="",
                   kind_b="sentence", custom_b="", query_word=None):
        return studio.compare_label_sets(video, transcript, transcript_file, audio, task, kind_a, custom_a, kind_b,
                                         custom_b, query_word)

    named = main.inputs | dict(kind_a=kind_a, custom_a=custom_a, kind_b=kind_b, custom_b=custom_b)
    button.click(label_sets, named_inputs(label_sets, named), plot, api_name="label_sets")
    clear_when_input_changes(main, [plot])


def projection_tab(studio: Studio, main: Main) -> None:
    """The shipped test set's projection (`/projection`), and your own set's from an uploaded export .npz
    (`/projection_upload`: a separate endpoint, so that `/projection` keeps its parameters)."""
    with gr.Tab("Projection") as tab:
        with gr.Row():
            space = gr.Radio(list(SPACES), value="fused", label="embedding")
            method = gr.Radio(list(METHODS), value="t-SNE", label="method")
        button = gr.Button("Project test set (and this clip)", elem_id="run-projection")
        with gr.Accordion("your set: an embeddings .npz", open=False, elem_id="your-set"):
            embeddings_file = gr.File(label="your embeddings (.npz from python -m merclip.export, or "
                                      "python -m merclip.predict DIR --embeddings FILE.npz)", file_types=[".npz"],
                                      elem_id="embeddings-file")
            own_button = gr.Button("Project your set (and this clip)", elem_id="run-projection-upload")
        plot = gr.Plot(label="projection", elem_id="projection-plot")
    tab.select(None, js=RESIZE_PLOTS)

    @friendly
    @gpu_entry  # a GPU is attached for this call on a ZeroGPU Space; nothing elsewhere
    def projection(video, transcript, transcript_file, audio, space, method, progress=gr.Progress()):
        return studio.projection(video, transcript, transcript_file, audio, space, method, progress=progress)

    @friendly
    @gpu_entry
    def projection_upload(video, transcript, transcript_file, audio, space, method, embeddings_file,
                          progress=gr.Progress()):
        if not embeddings_file:  # this button projects your set only: never the shipped one in its place
            raise gr.Error("upload an embeddings .npz first", print_exception=False)
        return studio.projection(video, transcript, transcript_file, audio, space, method, progress=progress,
                                 embeddings_file=embeddings_file)

    named = main.inputs | dict(space=space, method=method, embeddings_file=embeddings_file)
    button.click(projection, named_inputs(projection, named), plot, api_name="projection", show_progress="full")
    gr.on([embeddings_file.upload, own_button.click], projection_upload, named_inputs(projection_upload, named), plot,
          api_name="projection_upload", show_progress="full")  # an upload is projected at once
    embeddings_file.clear(stale_outputs(1), None, plot, api_visibility="private")
    clear_when_input_changes(main, [plot])


def lsgmer_tab(studio: Studio, main: Main) -> None:
    with gr.Tab("LSGMER") as tab:
        gr.Markdown("The second model family, LSGMER: audio and transcript only, with label-signal enhancement "
                    "and the attribution-prediction consistency (APC) constraint.")
        button = gr.Button("Run LSGMER", elem_id="run-lsgmer")
        bars = gr.Plot(label="LSGMER prediction and attribution", elem_id="lsgmer-bars")
        text = gr.Markdown(elem_id="lsgmer-summary")
        maps = gr.Plot(label="label-signal attention", elem_id="lsgmer-maps")
    tab.select(None, js=RESIZE_PLOTS)

    @friendly
    @gpu_entry  # a GPU is attached for this call on a ZeroGPU Space; nothing elsewhere
    def lsgmer(video, transcript=None, transcript_file=None, audio=None):
        return studio.lsgmer(video, transcript, transcript_file, audio)

    button.click(lsgmer, named_inputs(lsgmer, main.inputs), [bars, maps, text], api_name="lsgmer")
    clear_when_input_changes(main, [bars, maps, text])


def zero_shot_tab(studio: Studio, main: Main) -> None:
    with gr.Tab("Zero-shot") as tab:
        if studio.zero_shot_source() is None:  # say why before the click, not after it
            gr.Markdown(f"No real {studio.zero_shot_arch} weights on this machine, so CLIP zero-shot cannot run "
                        "here (start the app with `--clip-weights FILE` for it). The button runs the offline "
                        "zero-shot reference instead: wordllama's pretrained word embeddings for the transcript "
                        "and the FER2013 face network for the frames, neither trained on this project's data.")
            button = gr.Button("Run the offline zero-shot reference", elem_id="run-zero-shot")
        else:
            button = gr.Button(f"Run zero-shot CLIP ({studio.zero_shot_arch})", elem_id="run-zero-shot")
        plot = gr.Plot(label="zero-shot scores", elem_id="zero-shot-plot")
        text = gr.Markdown()
    tab.select(None, js=RESIZE_PLOTS)

    @friendly
    @gpu_entry  # a GPU is attached for this call on a ZeroGPU Space; nothing elsewhere
    def zero_shot(video, transcript=None, transcript_file=None, task="emotion", label_kind="word", custom_labels=""):
        return studio.zero_shot(video, transcript, transcript_file, task, label_kind, custom_labels)

    button.click(zero_shot, named_inputs(zero_shot, main.inputs), [plot, text], api_name="zero_shot")
    clear_when_input_changes(main, [plot, text])


@dataclass
class TimelineTab:
    """The Timeline tab's components: step 1 (the clip, its subtitles, the editable utterances), step 2 (the scored
    timeline: plot, summary, table, downloads) and the utterance chooser; `token` names the kept timeline."""

    video: gr.Video
    srt: gr.File
    find: gr.Button
    found: gr.Markdown
    utterances: gr.Dataframe
    task: gr.Radio
    run: gr.Button
    plot: gr.Plot
    summary: gr.Markdown
    table: gr.Dataframe
    csv_file: gr.File
    json_file: gr.File
    pick: gr.Dropdown
    token: gr.Textbox


def timeline_tab(studio: Studio, panels: list) -> None:
    """An emotion timeline over a long clip's utterances (from an .srt, or found by voice activity detection and
    transcribed offline), editable before scoring. Choosing an utterance shows it in `panels` (the main panel's
    bars, summary, probabilities, modality similarity and attention)."""
    wire_timeline(studio, timeline_layout(studio), panels)


def timeline_layout(studio: Studio) -> TimelineTab:
    with gr.Tab("Timeline") as tab:
        gr.Markdown(f"An emotion timeline over a long clip (up to {studio.timeline_max_seconds / 60:g} min: an "
                    "interview, a vlog, a call). Utterances come from the subtitles when given; otherwise voice "
                    "activity detection (silero-vad) finds them and an offline speech recogniser writes their words, "
                    "which you can correct before scoring.")
        video = gr.Video(label="long clip (upload or webcam)", sources=["upload", "webcam"], include_audio=True,
                         elem_id="timeline-video", height=260)
        srt = gr.File(label="subtitles (.srt, optional)", file_types=[".srt"], type="filepath", elem_id="timeline-srt")
        find = gr.Button("1. Find utterances and their words", elem_id="timeline-find")
        found = gr.Markdown(elem_id="timeline-found")
        utterances = gr.Dataframe(headers=["start (s)", "end (s)", "words"], datatype=["number", "number", "str"],
                                  type="array", interactive=True, label="utterances (editable)",
                                  elem_id="timeline-utterances")
        with gr.Row():
            task = gr.Radio(["emotion", "sentiment"], value="emotion", label="task shown")
            run = gr.Button("2. Score the timeline", variant="primary", elem_id="timeline-run")
        plot = gr.Plot(label="probability of each label over time", elem_id="timeline-plot")
        summary = gr.Markdown(elem_id="timeline-summary")
        table = gr.Dataframe(interactive=False, label="per utterance", elem_id="timeline-table")
        with gr.Row():
            csv_file = gr.File(label="CSV", interactive=False)
            json_file = gr.File(label="JSON", interactive=False)
        pick = gr.Dropdown(choices=[], label="show one utterance in the main panels (prediction, modalities, "
                                            "attention)", elem_id="timeline-pick")
        token = gr.Textbox(visible=False)  # the Studio keeps the scored timeline; the page holds only its name
    tab.select(None, js=RESIZE_PLOTS)
    return TimelineTab(video, srt, find, found, utterances, task, run, plot, summary, table, csv_file, json_file,
                       pick, token)


def wire_timeline(studio: Studio, tab: TimelineTab, panels: list) -> None:
    """The two public steps (/timeline_utterances, /timeline) and the private re-draw, clear and pick events."""

    @friendly
    @gpu_entry  # a GPU is attached for this call on a ZeroGPU Space; nothing elsewhere
    def timeline_utterances(video, srt=None, progress=gr.Progress()):
        return studio.timeline_utterances(video, srt, progress=progress)

    @friendly
    @gpu_entry
    def timeline(video, srt=None, rows=None, task="emotion", progress=gr.Progress()):
        view = studio.timeline(video, srt, rows, task, progress=progress)
        return (view.figure, view.summary, {"headers": view.headers, "data": view.rows}, view.csv_path,
                view.json_path, gr.Dropdown(choices=view.choices, value=None), view.token)

    @friendly
    def redraw(token, task):
        if not token:
            return gr.skip(), gr.skip()
        return studio.timeline_redraw(token, task)

    @friendly
    @gpu_entry
    def show_utterance(token, choice, task):
        if not token or not choice:
            return tuple(gr.skip() for _ in panels)
        return studio.timeline_pick(token, choice, task)

    named = dict(video=tab.video, srt=tab.srt, rows=tab.utterances, task=tab.task, token=tab.token, choice=tab.pick)
    scored = [tab.plot, tab.summary, tab.table, tab.csv_file, tab.json_file, tab.pick, tab.token]
    tab.find.click(timeline_utterances, named_inputs(timeline_utterances, named), [tab.utterances, tab.found],
                   api_name="timeline_utterances")
    tab.run.click(timeline, named_inputs(timeline, named), scored, api_name="timeline")
    private = dict(api_visibility="private", show_progress="hidden")
    tab.task.change(redraw, named_inputs(redraw, named), [tab.plot, tab.table], **private)
    for source in (tab.video, tab.srt):  # a new clip or subtitle file: the old utterances and results are stale
        source.change(clear_timeline, None, [tab.utterances, tab.found, *scored], **private)
    tab.pick.change(show_utterance, named_inputs(show_utterance, named), panels, api_visibility="private",
                    show_progress="minimal")


def clear_timeline():
    """Empty utterances, their line, and every scored output (the chooser loses its choices)."""
    return None, "", None, "", None, None, None, gr.Dropdown(choices=[], value=None), ""


def about_tab(studio: Studio) -> gr.Markdown:
    with gr.Tab("About"):
        about = gr.Markdown(studio.about())
    return about


def clear_when_input_changes(main: Main, outputs: list) -> None:
    """No stale results: a new clip (or example) or another transcript empties `outputs`, which described the old."""
    for source in (main.inputs["video"], main.inputs["transcript"]):
        source.change(stale_outputs(len(outputs)), None, outputs, api_visibility="private", show_progress="hidden",
                      queue=False)


def wire_analyse(studio: Studio, main: Main, head: gr.Dropdown, similarity: gr.Plot, attention: gr.Plot) -> None:
    """The Analyse button (the public `analyse` endpoint) and the live controls that re-run it on a loaded clip."""

    @friendly
    @gpu_entry  # a GPU is attached for this call on a ZeroGPU Space; nothing elsewhere
    def analyse(video, transcript, transcript_file, audio, task, label_kind, custom_labels, query_word, dropped, head,
                progress=gr.Progress()):
        a = studio.analyse(video, transcript, transcript_file, audio, task, label_kind, custom_labels, query_word,
                           dropped, head, progress=progress)
        return a.bars, a.summary, a.result.probabilities, a.similarity, a.attention

    named = main.inputs | dict(head=head)
    inputs = named_inputs(analyse, named)
    outputs = [main.bars, main.summary, main.probabilities, similarity, attention]
    def clear_on_failure(event) -> None:
        """A failed request leaves no result on the page that it did not produce (the old one under an "Error" badge)."""
        event.failure(stale_outputs(len(outputs)), None, outputs, api_visibility="private", show_progress="hidden",
                      queue=False)

    clear_on_failure(main.run.click(analyse, inputs, outputs, api_name="analyse", js=SCROLL_TO_RESULT))

    live = friendly(only_with_a_clip(keep_result_while_labels_are_edited(analyse.__wrapped__, len(outputs)),
                                     len(outputs)))
    for name in ("query_word", "dropped", "label_kind", "task", "head"):  # live: cached features make these cheap
        clear_on_failure(named[name].change(live, inputs, outputs, api_visibility="private", show_progress="minimal",
                                            trigger_mode="always_last"))

    def live_custom(video, transcript, transcript_file, audio, task, label_kind, custom_labels, query_word, dropped,
                    head):
        if label_kind != "custom":  # the box is only read for the 'custom' label set
            return tuple(gr.skip() for _ in outputs)
        return live(video, transcript, transcript_file, audio, task, label_kind, custom_labels, query_word, dropped,
                    head)

    clear_on_failure(named["custom_labels"].change(live_custom, inputs, outputs, api_visibility="private",
                                                   show_progress="minimal", trigger_mode="always_last"))
    clear_when_input_changes(main, outputs)


def build_app(studio: Studio) -> gr.Blocks:
    # delete_cache: uploads older than an hour are removed every hour, so a long-running Space does not fill its disk
    with gr.Blocks(title="MER-CLIP Studio", delete_cache=(3600, 3600)) as demo:
        gr.Markdown("# MER-CLIP Studio\nMultimodal emotion recognition with a CLIP label encoder: upload or record a "
                    "short talking clip, give its transcript, and see what each modality contributes.")
        if studio.config.clip_model == "merclip-tiny":
            gr.Markdown("> ⚠️ **Demo model trained on generated clips** (cartoon faces, espeak-ng voices; pretrained word "
                        "and face parts): not a real-world emotion detector. See *About*.", elem_id="demo-warning")
        warming_up(studio, demo)
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=320):
                inputs, run = input_column(studio)
            with gr.Column(scale=3, min_width=320):
                bars = gr.Plot(label="prediction", elem_id="bars")
                summary = gr.Markdown(label="summary", elem_id="summary")
                probabilities = gr.JSON(label="probabilities", visible=False)
                main = Main(inputs, run, bars, summary, probabilities)
                with gr.Tabs(overflow_behavior="wrap", elem_id="result-tabs"):
                    similarity = modalities_tab()
                    head, attention = attention_tab(studio)
                    query_words_tab(studio, main)
                    label_sets_tab(studio, main)
                    projection_tab(studio, main)
                    lsgmer_tab(studio, main)
                    zero_shot_tab(studio, main)
                    timeline_tab(studio, [bars, summary, probabilities, similarity, attention])
                    about_tab(studio)
        wire_analyse(studio, main, head, similarity, attention)
        wire_transcript_file(studio, main)
    return demo


def warming_up(studio: Studio, demo: gr.Blocks) -> None:
    """A "warming up" line, polled until the warm-up thread is done; then the timer stops."""
    warming = gr.Markdown(studio.status(), elem_id="warming-up")
    warm_timer = gr.Timer(1.0, active=not studio.ready.is_set())

    def warm_status():
        done = studio.ready.is_set()
        return studio.status(), gr.Timer(active=not done)

    warm_timer.tick(warm_status, None, [warming, warm_timer], api_visibility="private", show_progress="hidden",
                    concurrency_limit=None)
    demo.load(warm_status, None, [warming, warm_timer], api_visibility="private", show_progress="hidden")


def wire_transcript_file(studio: Studio, main: Main) -> None:
    """What is analysed is visible: a transcript file's words go into the (editable) box, so a typed text and a
    file never silently disagree; the file slot empties."""
    transcript_file = main.inputs["transcript_file"]

    @friendly
    def transcript_from_file(path):
        return studio.transcript_file_text(path), None

    transcript_file.upload(transcript_from_file, transcript_file, [main.inputs["transcript"], transcript_file],
                           api_visibility="private")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="MER-CLIP Studio (Gradio app).")
    parser.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT), help="MER-CLIP checkpoint directory")
    parser.add_argument("--embeddings", default=str(DEFAULT_EMBEDDINGS), help="test-set embeddings .npz for projections")
    parser.add_argument("--lsgmer-checkpoint", default=str(DEFAULT_LSGMER), help="LSGMER checkpoint for its tab")
    parser.add_argument("--device", help="cpu / cuda (default: cuda when available)")
    parser.add_argument("--clip-weights", help="real CLIP weights file for the zero-shot baseline (or $MERCLIP_CLIP_WEIGHTS)")
    parser.add_argument("--max-seconds", type=positive_float, default=DEFAULT_MAX_SECONDS,
                        help="longest clip accepted (refused beyond)")
    parser.add_argument("--max-file-mb", type=positive_float, default=DEFAULT_MAX_FILE_MB,
                        help="largest upload accepted")
    parser.add_argument("--max-timeline-minutes", type=positive_float, default=DEFAULT_TIMELINE_MINUTES,
                        help="longest clip the Timeline tab accepts (refused beyond, from the file's header)")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        help="bind address (localhost unless told otherwise)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    return parser.parse_args(argv)


def app_allowed_roots() -> list[Path]:
    """What the served app may read: gradio's upload folder and this repo's assets (the examples)."""
    return [Path(get_upload_folder()), REPO_ROOT / "assets"]


def main(argv=None, block: bool = True) -> gr.Blocks:
    """Start the app as `python app.py` does; block=False returns the running app (tests)."""
    args = parse_args(argv)
    with user_errors_exit("app.py"):  # a missing or damaged checkpoint: one line on stderr, exit status 2
        # on a ZeroGPU Space the model moves to CUDA here, at start-up, not inside the @spaces.GPU functions
        studio = Studio(args.checkpoint, args.embeddings, device=startup_device(args.device),
                        zero_shot_weights=args.clip_weights, max_seconds=args.max_seconds,
                        allowed_roots=app_allowed_roots(), max_file_mb=args.max_file_mb,
                        lsgmer_checkpoint=args.lsgmer_checkpoint, timeline_max_seconds=60 * args.max_timeline_minutes)
    threading.Thread(target=studio.warm_up, daemon=True, name="warm-up").start()
    demo = build_app(studio).queue(default_concurrency_limit=2)
    demo.launch(server_name=args.host, server_port=args.port, max_file_size=int(args.max_file_mb * 2**20),
                prevent_thread_lock=not block, quiet=not block)
    return demo


if __name__ == "__main__":
    main()
