"""MER-CLIP Studio: the Gradio Blocks app. Layout and wiring only; the logic lives in merclip.studio.

    python app.py                                  # the shipped demo model, offline
    python app.py --checkpoint runs/mosei/best     # any MER-CLIP checkpoint
"""
from __future__ import annotations

import argparse
import functools
import logging
import os
import threading
import uuid

import gradio as gr

from merclip.errors import UserError
from merclip.labels import QUERY_WORDS
from merclip.projection import METHODS, SPACES
from merclip.studio import DEFAULT_CHECKPOINT, DEFAULT_EMBEDDINGS, DEFAULT_LSGMER, NO_WORD, Studio, app_allowed_roots

log = logging.getLogger("merclip.app")
QUERY_CHOICES = [w or NO_WORD for w in QUERY_WORDS]
LABEL_KINDS = ["word", "phrase", "sentence", "custom"]
MODALITY_TOGGLES = ["language", "vision", "audio"]


def friendly(fn):
    """Show request problems as a message in the page (never a traceback); keep serving after anything.

    Only the project's own user errors (`merclip.errors.UserError`: media, transcript, label, checkpoint and Studio
    problems) are the user's to fix and are shown as-is. Anything else is a bug, even a ValueError (numpy and torch
    raise those too): its traceback goes to the log under a short id, and the user sees only that id, so that neither
    a server path nor a misleading "bad input" message reaches the page.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except UserError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        except Exception:  # a bug: log it with an id, tell the user briefly, stay up
            error_id = uuid.uuid4().hex[:8]
            log.exception("unexpected error %s in %s", error_id, fn.__name__)
            raise gr.Error(f"internal error (id {error_id}): this is a bug in the app, not a problem with your input; "
                           "it has been logged under that id, and the app is still running", print_exception=False) from None

    return wrapper


def only_with_a_clip(fn, n_outputs: int):
    """For live controls: re-run `fn` when a clip is loaded; before any upload, change nothing on the page.

    Without this, every control touched before an upload ran an analysis and stacked red "upload a clip first"
    messages, for a request the user never made.
    """

    @functools.wraps(fn)
    def wrapper(video, *args, **kwargs):
        if not video:
            return tuple(gr.skip() for _ in range(n_outputs))
        return fn(video, *args, **kwargs)

    return wrapper


def stale_outputs(n_outputs: int):
    """A handler that empties the main panel's `n_outputs` outputs: shown after the clip they describe changed,
    they would be read as the new clip's results (a neutral face beside "happy, surprise")."""

    def clear():
        return tuple(None for _ in range(n_outputs))

    return clear


def build_app(studio: Studio) -> gr.Blocks:
    # delete_cache: uploads older than an hour are removed every hour, so a long-running Space does not fill its disk
    with gr.Blocks(title="MER-CLIP Studio", delete_cache=(3600, 3600)) as demo:
        gr.Markdown("# MER-CLIP Studio\nMultimodal emotion recognition with a CLIP label encoder: upload or record a "
                    "short talking clip, give its transcript, and see what each modality contributes.")
        if studio.config.clip_model == "merclip-tiny":
            gr.Markdown("> ⚠️ **Demo model trained on generated clips** (cartoon faces, synthetic voices): not a "
                        "real-world emotion detector. See *About*.", elem_id="demo-warning")
        warming = gr.Markdown(studio.status(), elem_id="warming-up")
        warm_timer = gr.Timer(1.0, active=not studio.ready.is_set())

        def warm_status():  # polled until the warm-up thread is done, then the timer stops
            done = studio.ready.is_set()
            return studio.status(), gr.Timer(active=not done)

        warm_timer.tick(warm_status, None, [warming, warm_timer], api_visibility="private", show_progress="hidden",
                        concurrency_limit=None)
        demo.load(warm_status, None, [warming, warm_timer], api_visibility="private", show_progress="hidden")
        with gr.Row():
            with gr.Column(scale=1):
                video = gr.Video(label="clip (upload or webcam)", sources=["upload", "webcam"], include_audio=True)
                audio = gr.Audio(label="separate voice recording (optional; replaces the clip's audio)",
                                 sources=["microphone", "upload"], type="filepath")
                transcript = gr.Textbox(label="transcript", lines=2, placeholder="what is said in the clip")
                transcript_file = gr.File(label="…or a transcript file (.txt / .srt)", file_types=[".txt", ".srt"],
                                          type="filepath", elem_id="transcript-file")
                with gr.Row():
                    task = gr.Radio(["emotion", "sentiment"], value=studio.config.task, label="task")
                    label_kind = gr.Radio(LABEL_KINDS, value="word", label="label set")
                custom_labels = gr.Textbox(label="custom labels (one per line; used when 'custom' is chosen)", lines=3)
                query_word = gr.Dropdown(QUERY_CHOICES, value=studio.config.query_word or NO_WORD, allow_custom_value=True,
                                         label="emotion-query word (or type any word)")
                dropped = gr.CheckboxGroup(MODALITY_TOGGLES, value=[], label="drop modalities")
                run = gr.Button("Analyse", variant="primary", elem_id="analyse")
                if studio.examples():
                    gr.Examples(studio.examples(), inputs=[video, transcript], label="examples (generated clips)")
            with gr.Column(scale=1):
                bars = gr.Plot(label="prediction", elem_id="bars")
                summary = gr.Markdown(label="summary", elem_id="summary")
                probabilities = gr.JSON(label="probabilities", visible=False)
        inputs = [video, transcript, transcript_file, audio, task, label_kind, custom_labels, query_word, dropped]
        with gr.Tabs():
            with gr.Tab("Modalities"):
                similarity = gr.Plot(label="per-modality cosine similarity to each label")
            with gr.Tab("Attention"):
                head = gr.Dropdown(["mean", "all"] + [str(h) for h in range(studio.config.cmd_heads)], value="mean",
                                   label="heads")
                attention = gr.Plot(label="CMD attention", elem_id="attention")
            with gr.Tab("Query words"):
                words = gr.CheckboxGroup(QUERY_CHOICES, value=["Emotion", "Sentiment", "Mood", NO_WORD], label="query words")
                extra_word = gr.Textbox(label="another word", placeholder="e.g. Vibe")
                sweep_btn = gr.Button("Compare query words")
                sweep_plot = gr.Plot()
            with gr.Tab("Label sets"):
                with gr.Row():
                    kind_a = gr.Radio(LABEL_KINDS, value="word", label="set A")
                    kind_b = gr.Radio(LABEL_KINDS, value="sentence", label="set B")
                with gr.Row():
                    custom_a = gr.Textbox(label="custom A (one per line)", lines=3)
                    custom_b = gr.Textbox(label="custom B (one per line)", lines=3)
                labels_btn = gr.Button("Compare label sets")
                labels_plot = gr.Plot()
            with gr.Tab("Projection"):
                with gr.Row():
                    space = gr.Radio(list(SPACES), value="fused", label="embedding")
                    method = gr.Radio(list(METHODS), value="t-SNE", label="method")
                proj_btn = gr.Button("Project test set (and this clip)")
                proj_plot = gr.Plot()
            with gr.Tab("LSGMER (audio + text)"):
                gr.Markdown("The second model family, LSGMER: audio and transcript only, with label-signal enhancement "
                            "and the attribution-prediction consistency (APC) constraint.")
                ls_btn = gr.Button("Run LSGMER", elem_id="run-lsgmer")
                with gr.Row():
                    ls_bars = gr.Plot(label="LSGMER prediction and attribution")
                    ls_text = gr.Markdown()
                ls_maps = gr.Plot(label="label-signal attention")
            with gr.Tab("Zero-shot"):
                if studio.zero_shot_source() is None:  # say why before the click, not after it
                    gr.Markdown(f"No real {studio.zero_shot_arch} weights on this machine, so CLIP zero-shot cannot run "
                                "here (start the app with `--clip-weights FILE` for it). The button runs the offline "
                                "zero-shot reference instead: wordllama's pretrained word embeddings for the transcript "
                                "and the FER2013 face network for the frames, neither trained on this project's data.")
                    zs_btn = gr.Button("Run the offline zero-shot reference", elem_id="run-zero-shot")
                else:
                    zs_btn = gr.Button(f"Run zero-shot CLIP ({studio.zero_shot_arch})", elem_id="run-zero-shot")
                zs_plot = gr.Plot()
                zs_text = gr.Markdown()
            build_timeline_tab(studio, panels=[bars, summary, probabilities, similarity, attention])
            with gr.Tab("About"):
                gr.Markdown(studio.about())

        @friendly
        def analyse(video, transcript, transcript_file, audio, task, label_kind, custom_labels, query_word, dropped, head,
                    progress=gr.Progress()):
            a = studio.analyse(video, transcript, transcript_file, audio, task, label_kind, custom_labels, query_word,
                               dropped, head, progress=progress)
            return a.bars, a.summary, a.result.probabilities, a.similarity, a.attention

        outputs = [bars, summary, probabilities, similarity, attention]
        run.click(analyse, inputs + [head], outputs, api_name="analyse")
        live_analyse = only_with_a_clip(analyse, len(outputs))

        @friendly
        def transcript_from_file(path):
            return studio.transcript_file_text(path), None  # the words into the box; the file slot empties

        # What is analysed is visible: a transcript file's words go into the (editable) box, so a typed text and a
        # file never silently disagree.
        transcript_file.upload(transcript_from_file, transcript_file, [transcript, transcript_file],
                               api_visibility="private")
        # No stale results: a new clip (or an example) clears the previous clip's prediction and panels.
        video.change(stale_outputs(len(outputs)), None, outputs, api_visibility="private", show_progress="hidden")

        for control in (query_word, dropped, label_kind, task, head):  # live: cached features make these cheap
            control.change(live_analyse, inputs + [head], outputs, api_visibility="private", show_progress="minimal",
                           trigger_mode="always_last")

        sweep_btn.click(friendly(studio.sweep_query_words), inputs[:7] + [words, extra_word], sweep_plot, api_name="query_words")
        labels_btn.click(friendly(studio.compare_label_sets),
                         inputs[:5] + [kind_a, custom_a, kind_b, custom_b, query_word], labels_plot, api_name="label_sets")

        @friendly
        def project(video, transcript, transcript_file, audio, space, method, progress=gr.Progress()):
            return studio.projection(video, transcript, transcript_file, audio, space, method, progress=progress)

        proj_btn.click(project, inputs[:4] + [space, method], proj_plot, api_name="projection")
        ls_btn.click(friendly(studio.lsgmer), inputs[:4], [ls_bars, ls_maps, ls_text], api_name="lsgmer")
        zs_btn.click(friendly(studio.zero_shot), inputs[:3] + [task, label_kind, custom_labels], [zs_plot, zs_text],
                     api_name="zero_shot")
    return demo


def build_timeline_tab(studio: Studio, panels=None) -> None:
    """The Timeline tab (issue #17): a long clip's utterances (from an .srt, or found by voice activity detection and
    transcribed offline), editable, then each utterance scored: a timeline per label, a table, CSV/JSON downloads.
    Choosing an utterance shows it in `panels` (the main panel's bars, summary, probabilities, modality similarity
    and attention), when given. Endpoints: /timeline_utterances (step 1) and /timeline (step 2)."""
    minutes = studio.timeline_max_seconds / 60
    with gr.Tab("Timeline"):
        gr.Markdown(f"An emotion timeline over a long clip (up to {minutes:g} min: an interview, a vlog, a call). "
                    "Utterances come from the subtitles when given; otherwise voice activity detection (silero-vad) "
                    "finds them and an offline speech recogniser writes their words, which you can correct before "
                    "scoring.")
        with gr.Row():
            tl_video = gr.Video(label="long clip (upload or webcam)", sources=["upload", "webcam"], include_audio=True,
                                elem_id="timeline-video")
            tl_srt = gr.File(label="subtitles (.srt, optional)", file_types=[".srt"], type="filepath",
                             elem_id="timeline-srt")
        tl_find = gr.Button("1. Find utterances and their words", elem_id="timeline-find")
        tl_found = gr.Markdown(elem_id="timeline-found")
        tl_utterances = gr.Dataframe(headers=["start (s)", "end (s)", "words"], datatype=["number", "number", "str"],
                                     type="array", interactive=True, label="utterances (editable)",
                                     elem_id="timeline-utterances")
        with gr.Row():
            tl_task = gr.Radio(["emotion", "sentiment"], value="emotion", label="show")
            tl_run = gr.Button("2. Score the timeline", variant="primary", elem_id="timeline-run")
        tl_plot = gr.Plot(label="probability of each label over time", elem_id="timeline-plot")
        tl_summary = gr.Markdown(elem_id="timeline-summary")
        tl_table = gr.Dataframe(interactive=False, label="per utterance", elem_id="timeline-table")
        with gr.Row():
            tl_csv = gr.File(label="CSV", interactive=False)
            tl_json = gr.File(label="JSON", interactive=False)
        tl_pick = gr.Dropdown(choices=[], label="show one utterance in the main panels (prediction, modalities, "
                                               "attention)", elem_id="timeline-pick")
        tl_state = gr.Textbox(visible=False)  # the scored timeline's token (Studio keeps the timeline)

    @friendly
    def find(video, srt, progress=gr.Progress()):
        rows, message = studio.timeline_utterances(video, srt, progress=progress)
        return rows, message

    @friendly
    def score(video, srt, rows, task, progress=gr.Progress()):
        view = studio.timeline(video, srt, rows, task, progress=progress)
        return (view.figure, view.summary, {"headers": view.headers, "data": view.rows}, view.csv_path,
                view.json_path, gr.Dropdown(choices=view.choices, value=None), view.token)

    @friendly
    def redraw(token, task):
        from merclip.timeline_viz import timeline_figure

        if not token:
            return gr.skip(), gr.skip()
        timeline = studio.timeline_by_token(token)
        return (timeline_figure(timeline, task, studio.config.emotion_threshold),
                {"headers": studio.timeline_headers(timeline, task), "data": timeline.table(task)})

    def clear():
        return None, "", None, None, "", None, None, gr.Dropdown(choices=[], value=None), ""

    tl_find.click(find, [tl_video, tl_srt], [tl_utterances, tl_found], api_name="timeline_utterances")
    tl_run.click(score, [tl_video, tl_srt, tl_utterances, tl_task],
                 [tl_plot, tl_summary, tl_table, tl_csv, tl_json, tl_pick, tl_state], api_name="timeline")
    tl_task.change(redraw, [tl_state, tl_task], [tl_plot, tl_table], api_visibility="private", show_progress="hidden")
    for source in (tl_video, tl_srt):  # a new clip or subtitle file: the old utterances and results are stale
        source.change(clear, None, [tl_utterances, tl_found, tl_plot, tl_table, tl_summary, tl_csv, tl_json, tl_pick,
                                    tl_state], api_visibility="private", show_progress="hidden")
    if panels is not None:
        @friendly
        def pick(token, choice, task):
            if not token or not choice:
                return tuple(gr.skip() for _ in panels)
            return studio.timeline_pick(token, choice, task)

        tl_pick.change(pick, [tl_state, tl_pick, tl_task], panels, api_visibility="private", show_progress="minimal")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="MER-CLIP Studio (Gradio app).")
    parser.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT), help="MER-CLIP checkpoint directory")
    parser.add_argument("--embeddings", default=str(DEFAULT_EMBEDDINGS), help="test-set embeddings .npz for projections")
    parser.add_argument("--lsgmer-checkpoint", default=str(DEFAULT_LSGMER), help="LSGMER checkpoint for its tab")
    parser.add_argument("--device", help="cpu / cuda (default: cuda when available)")
    parser.add_argument("--clip-weights", help="real CLIP weights file for the zero-shot baseline (or $MERCLIP_CLIP_WEIGHTS)")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="longest clip accepted (refused beyond)")
    parser.add_argument("--max-file-mb", type=float, default=100.0, help="largest upload accepted")
    parser.add_argument("--max-timeline-minutes", type=float, default=10.0,
                        help="longest clip the Timeline tab accepts (refused beyond, from the file's header)")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        help="bind address (localhost unless told otherwise)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    return parser.parse_args(argv)


def main(argv=None, block: bool = True) -> gr.Blocks:
    """Start the app as `python app.py` does; block=False returns the running app (tests)."""
    args = parse_args(argv)
    studio = Studio(args.checkpoint, args.embeddings, device=args.device, zero_shot_weights=args.clip_weights,
                    max_seconds=args.max_seconds, allowed_roots=app_allowed_roots(),
                    max_file_mb=args.max_file_mb, lsgmer_checkpoint=args.lsgmer_checkpoint)
    studio.timeline_max_seconds = 60 * args.max_timeline_minutes
    threading.Thread(target=studio.warm_up, daemon=True, name="warm-up").start()
    demo = build_app(studio).queue(default_concurrency_limit=2)
    demo.launch(server_name=args.host, server_port=args.port, max_file_size=int(args.max_file_mb * 2**20),
                prevent_thread_lock=not block, quiet=not block)
    return demo


if __name__ == "__main__":
    main()
