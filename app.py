"""MER-CLIP Studio: the Gradio Blocks app. Layout and wiring only: the logic lives in merclip.studio, the events'
common behaviour (errors as messages, live controls, long jobs' turns, stale results) in app_events.py, the Timeline
tab in app_timeline.py.

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
    ShownResults,
    friendly,
    keep_result_while_labels_are_edited,
    long_job,
    named_inputs,
    only_with_a_clip,
    stale_outputs,
)
from merclip.arguments import positive_float, user_errors_exit
from merclip.device import select_device
from app_timeline import timeline_tab
from merclip.labels import QUERY_WORDS
from merclip.serving.projection import METHODS, SPACES
from merclip.shipped import DEFAULT_CHECKPOINT, DEFAULT_EMBEDDINGS, DEFAULT_LSGMER, REPO_ROOT
from merclip.spaces_support import gpu_entry, startup_device
from merclip.studio import DEFAULT_MAX_FILE_MB, DEFAULT_MAX_SECONDS, DEFAULT_TIMELINE_MINUTES, NO_WORD, LongJobs, Studio
from merclip.studio.about import DEMO_BANNER, is_demo_model
from merclip.studio.housekeeping import MAX_AGE_S, SWEEP_EVERY_S, every, remove_empty_folders

QUERY_CHOICES = [w or NO_WORD for w in QUERY_WORDS]
LABEL_KINDS = ["word", "phrase", "sentence", "custom"]
MODALITY_TOGGLES = ["language", "vision", "audio"]
# Requests waiting in gradio's queue, all events together; one more is refused with gradio's "This application is
# currently busy. Please try again." Long jobs wait at their own gates (LongJobs), not here.
QUEUE_MAX_SIZE = 64
# Sessions whose state gradio keeps (a copy of every component's config and its last outputs, plots included; every
# page load and every API call is a session): with gradio's default of 10,000, memory grows with use for days. This
# app keeps no gr.State, so a session let go of loses nothing a later request needs.
SESSIONS_KEPT = 256


@dataclass
class Main:
    """The main panel's components: the clip and its options (shared by every tab) and the prediction; and what
    every panel shares: the record of the inputs their results describe, and the long jobs' gates."""

    inputs: dict  # parameter name -> component
    run: gr.Button
    bars: gr.Plot
    summary: gr.Markdown
    probabilities: gr.JSON
    shown: ShownResults
    jobs: LongJobs


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
    @long_job(main.jobs.comparison)
    @main.shown.records("query_words")
    @gpu_entry  # a GPU is attached for this call on a ZeroGPU Space; nothing elsewhere
    def query_words(video, transcript=None, transcript_file=None, audio=None, task="emotion", label_kind="word",
                    custom_labels="", words=("Emotion",), extra_word=""):
        return studio.sweep_query_words(video, transcript, transcript_file, audio, task, label_kind, custom_labels,
                                        words, extra_word)

    named = main.inputs | dict(words=words, extra_word=extra_word)
    button.click(query_words, named_inputs(query_words, named), plot, api_name="query_words", concurrency_limit=None)
    main.shown.panel("query_words", [plot])


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
    @long_job(main.jobs.comparison)
    @main.shown.records("label_sets")
    @gpu_entry  # a GPU is attached for this call on a ZeroGPU Space; nothing elsewhere
    def label_sets(video, transcript=None, transcript_file=None, audio=None, task="emotion", kind_a="word", custom_a="",
                   kind_b="sentence", custom_b="", query_word=None):
        return studio.compare_label_sets(video, transcript, transcript_file, audio, task, kind_a, custom_a, kind_b,
                                         custom_b, query_word)

    named = main.inputs | dict(kind_a=kind_a, custom_a=custom_a, kind_b=kind_b, custom_b=custom_b)
    button.click(label_sets, named_inputs(label_sets, named), plot, api_name="label_sets", concurrency_limit=None)
    main.shown.panel("label_sets", [plot])


def shipped_projection(studio: Studio, main: Main, shipped_set: str):
    """The handler that projects one of the shipped sets (merclip.studio.projection.SHIPPED_SETS)."""
    @friendly
    @long_job(main.jobs.comparison)
    @main.shown.records("projection")
    @gpu_entry  # a GPU is attached for this call on a ZeroGPU Space; nothing elsewhere
    def projection(video, transcript, transcript_file, audio, space, method, progress=gr.Progress()):
        return studio.projection(video, transcript, transcript_file, audio, space, method, progress=progress,
                                 shipped_set=shipped_set)
    return projection


def projection_tab(studio: Studio, main: Main) -> None:
    """The shipped sets' projections: the generated test split (`/projection`) and the real-ish test split
    (`/projection_realish`), and your own set's from an uploaded export .npz (`/projection_upload`); separate
    endpoints, so that `/projection` keeps its parameters."""
    with gr.Tab("Projection") as tab:
        with gr.Row():
            space = gr.Radio(list(SPACES), value="fused", label="embedding")
            method = gr.Radio(list(METHODS), value="t-SNE", label="method")
        with gr.Row():
            button = gr.Button("Project test set (and this clip)", elem_id="run-projection")
            realish_button = gr.Button("Project the real-ish test split (and this clip)",
                                       elem_id="run-projection-realish")
        with gr.Accordion("your set: an embeddings .npz", open=False, elem_id="your-set"):
            embeddings_file = gr.File(label="your embeddings (.npz from python -m merclip.export, or "
                                      "python -m merclip.predict DIR --embeddings FILE.npz)", file_types=[".npz"],
                                      elem_id="embeddings-file")
            own_button = gr.Button("Project your set (and this clip)", elem_id="run-projection-upload")
        plot = gr.Plot(label="projection", elem_id="projection-plot")
    tab.select(None, js=RESIZE_PLOTS)

    projection = shipped_projection(studio, main, "generated")
    projection_realish = shipped_projection(studio, main, "realish")

    @friendly
    @gpu_entry
    def projection_upload(video, transcript, transcript_file, audio, space, method, embeddings_file,
                          progress=gr.Progress()):
        if not embeddings_file:  # this button projects your set only: never the shipped one in its place
            raise gr.Error("upload an embeddings .npz first", print_exception=False)
        return studio.projection(video, transcript, transcript_file, audio, space, method, progress=progress,
                                 embeddings_file=embeddings_file)

    named = main.inputs | dict(space=space, method=method, embeddings_file=embeddings_file)
    button.click(projection, named_inputs(projection, named), plot, api_name="projection", show_progress="full",
                 concurrency_limit=None)
    realish_button.click(projection_realish, named_inputs(projection_realish, named), plot,
                         api_name="projection_realish", show_progress="full", concurrency_limit=None)
    gr.on([embeddings_file.upload, own_button.click], projection_upload, named_inputs(projection_upload, named), plot,
          api_name="projection_upload", show_progress="full", concurrency_limit=None)  # an upload is projected at once
    embeddings_file.clear(stale_outputs(1), None, plot, api_visibility="private")
    main.shown.panel("projection", [plot])


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
    @main.shown.records("lsgmer")
    @gpu_entry  # a GPU is attached for this call on a ZeroGPU Space; nothing elsewhere
    def lsgmer(video, transcript=None, transcript_file=None, audio=None):
        return studio.lsgmer(video, transcript, transcript_file, audio)

    button.click(lsgmer, named_inputs(lsgmer, main.inputs), [bars, maps, text], api_name="lsgmer")
    main.shown.panel("lsgmer", [bars, maps, text])


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
    @main.shown.records("zero_shot")
    @gpu_entry  # a GPU is attached for this call on a ZeroGPU Space; nothing elsewhere
    def zero_shot(video, transcript=None, transcript_file=None, task="emotion", label_kind="word", custom_labels=""):
        return studio.zero_shot(video, transcript, transcript_file, task, label_kind, custom_labels)

    button.click(zero_shot, named_inputs(zero_shot, main.inputs), [plot, text], api_name="zero_shot")
    main.shown.panel("zero_shot", [plot, text])


def about_tab(studio: Studio) -> gr.Markdown:
    with gr.Tab("About"):
        about = gr.Markdown(studio.about())
    return about


def wire_analyse(studio: Studio, main: Main, head: gr.Dropdown, similarity: gr.Plot, attention: gr.Plot) -> None:
    """The Analyse button (the public `analyse` endpoint) and the live controls that re-run it on a loaded clip."""

    @friendly
    @main.shown.records("analyse")
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
                    head, request: gr.Request = None):
        if label_kind != "custom":  # the box is only read for the 'custom' label set
            return tuple(gr.skip() for _ in outputs)
        return live(video, transcript, transcript_file, audio, task, label_kind, custom_labels, query_word, dropped,
                    head, request)

    clear_on_failure(named["custom_labels"].change(live_custom, inputs, outputs, api_visibility="private",
                                                   show_progress="minimal", trigger_mode="always_last"))
    main.shown.panel("analyse", outputs)


def build_app(studio: Studio, jobs: LongJobs | None = None) -> gr.Blocks:
    """The page over `studio`; `jobs`: the long jobs' gates (default: the served app's)."""
    # delete_cache: gradio removes the uploads and the files the app returned once they are an hour old (the folders
    # it leaves empty go by `housekeeping`, which `main` runs), so a long-running Space does not fill its disk
    with gr.Blocks(title="MER-CLIP Studio", delete_cache=(SWEEP_EVERY_S, MAX_AGE_S)) as demo:
        gr.Markdown("# MER-CLIP Studio\nMultimodal emotion recognition with a CLIP label encoder: upload or record a "
                    "short talking clip, give its transcript, and see what each modality contributes.")
        if is_demo_model(studio.config):
            gr.Markdown(DEMO_BANNER, elem_id="demo-warning")
        warming_up(studio, demo)
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=320):
                inputs, run = input_column(studio)
            with gr.Column(scale=3, min_width=320):
                bars = gr.Plot(label="prediction", elem_id="bars")
                summary = gr.Markdown(label="summary", elem_id="summary")
                probabilities = gr.JSON(label="probabilities", visible=False)
                main = Main(inputs, run, bars, summary, probabilities, ShownResults(), jobs or LongJobs())
                with gr.Tabs(overflow_behavior="wrap", elem_id="result-tabs"):
                    similarity = modalities_tab()
                    head, attention = attention_tab(studio)
                    query_words_tab(studio, main)
                    label_sets_tab(studio, main)
                    projection_tab(studio, main)
                    lsgmer_tab(studio, main)
                    zero_shot_tab(studio, main)
                    timeline_tab(studio, [bars, summary, probabilities, similarity, attention], main.jobs)
                    about_tab(studio)
        wire_analyse(studio, main, head, similarity, attention)
        main.shown.wire(inputs["video"], inputs["transcript"])  # after every panel has registered its outputs
        wire_transcript_file(studio, main)
    return demo


def queued(demo: gr.Blocks) -> gr.Blocks:
    """The queue as the app serves it: two of each event at a time (long jobs: see LongJobs), a bounded queue."""
    return demo.queue(default_concurrency_limit=2, max_size=QUEUE_MAX_SIZE)


def housekeeping(studio: Studio):
    """The served app's timer: timelines unused for an hour, and the folders gradio's delete_cache emptied."""
    return every(SWEEP_EVERY_S, [studio.sweep, lambda: remove_empty_folders(get_upload_folder(), MAX_AGE_S)])


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
    with user_errors_exit("app.py"):  # a missing or damaged checkpoint, a bad --device: one line, exit status 2
        # on a ZeroGPU Space the model moves to CUDA here, at start-up, not inside the @spaces.GPU functions
        device = startup_device(args.device)
        select_device(device)  # 'tpu', or 'cuda' on a machine without one: refused before the page is built
        studio = Studio(args.checkpoint, args.embeddings, device=device,
                        zero_shot_weights=args.clip_weights, max_seconds=args.max_seconds,
                        allowed_roots=app_allowed_roots(), max_file_mb=args.max_file_mb,
                        lsgmer_checkpoint=args.lsgmer_checkpoint, timeline_max_seconds=60 * args.max_timeline_minutes)
    threading.Thread(target=studio.warm_up, daemon=True, name="warm-up").start()
    demo = queued(build_app(studio))
    demo.launch(server_name=args.host, server_port=args.port, max_file_size=int(args.max_file_mb * 2**20),
                prevent_thread_lock=not block, quiet=not block, state_session_capacity=SESSIONS_KEPT,
                app_kwargs={"lifespan": housekeeping(studio)})
    return demo


if __name__ == "__main__":
    main()
