"""The Studio app's Timeline tab: an emotion timeline over a long clip, in two public steps (/timeline_utterances,
/timeline) that take turns at the timeline gate, and the private re-draw, clear and pick events."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from app_events import RESIZE_PLOTS, friendly, long_job, named_inputs
from merclip.spaces_support import gpu_entry
from merclip.studio import LongJobs, Studio


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


def timeline_tab(studio: Studio, panels: list, jobs: LongJobs) -> None:
    """An emotion timeline over a long clip's utterances (from an .srt, or found by voice activity detection and
    transcribed offline), editable before scoring. Choosing an utterance shows it in `panels` (the main panel's
    bars, summary, probabilities, modality similarity and attention)."""
    wire_timeline(studio, timeline_layout(studio), panels, jobs)


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
        # allow_custom_value: gradio checks a choice against the choices it kept for the page's session, which it
        # may have let go of (SESSIONS_KEPT); the Studio checks the utterance itself
        pick = gr.Dropdown(choices=[], label="show one utterance in the main panels (prediction, modalities, "
                                            "attention)", elem_id="timeline-pick", allow_custom_value=True)
        token = gr.Textbox(visible=False)  # the Studio keeps the scored timeline; the page holds only its name
    tab.select(None, js=RESIZE_PLOTS)
    return TimelineTab(video, srt, find, found, utterances, task, run, plot, summary, table, csv_file, json_file,
                       pick, token)


def wire_timeline(studio: Studio, tab: TimelineTab, panels: list, jobs: LongJobs) -> None:
    """The two public steps (/timeline_utterances, /timeline), long jobs taking turns at the timeline gate, and the
    private re-draw, clear and pick events."""

    @friendly
    @long_job(jobs.timeline)
    @gpu_entry  # a GPU is attached for this call on a ZeroGPU Space; nothing elsewhere
    def timeline_utterances(video, srt=None, progress=gr.Progress()):
        return studio.timeline_utterances(video, srt, progress=progress)

    @friendly
    @long_job(jobs.timeline)
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
                   api_name="timeline_utterances", concurrency_limit=None)
    tab.run.click(timeline, named_inputs(timeline, named), scored, api_name="timeline", concurrency_limit=None)
    private = dict(api_visibility="private", show_progress="hidden")
    tab.task.change(redraw, named_inputs(redraw, named), [tab.plot, tab.table], **private)
    for source in (tab.video, tab.srt):  # a new clip or subtitle file: the old utterances and results are stale
        source.change(clear_timeline, None, [tab.utterances, tab.found, *scored], **private)
    tab.pick.change(show_utterance, named_inputs(show_utterance, named), panels, api_visibility="private",
                    show_progress="minimal")


def clear_timeline():
    """Empty utterances, their line, and every scored output (the chooser loses its choices)."""
    return None, "", None, "", None, None, None, gr.Dropdown(choices=[], value=None), ""
