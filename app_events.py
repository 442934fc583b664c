"""How the Studio app's events behave, whatever the panel: user errors as messages and bugs logged under an id
(`friendly`), live controls that wait for a clip or for a finished label set, long jobs that take turns
(`long_job`), results emptied when their input changes (`ShownResults`), and inputs paired with a handler's
parameters by name. The js snippets do what only the browser can."""
from __future__ import annotations

import functools
import hashlib
import inspect
import logging
import uuid

import gradio as gr

from merclip.errors import LabelError, UserError
from merclip.memo import LockedLRU
from merclip.studio import EmptyLabelSetError, JobGate, public_message

log = logging.getLogger("merclip.app")

# Page behaviour that only the browser can do, as small js snippets run on an event before (or instead of) Python.
# After a click on Analyse, bring the prediction into view when it is not (on a phone it is below the inputs).
SCROLL_TO_RESULT = """(...args) => {
    const el = document.querySelector('#bars');
    if (el) {
        const top = el.getBoundingClientRect().top;
        if (top < 0 || top > window.innerHeight * 0.5) el.scrollIntoView({block: 'start'});
    }
    return args;
}"""
# A plot drawn while its tab was hidden is laid out at a guessed width; the plots are responsive, so a resize
# event after the tab is shown redraws them at the panel's real width.
RESIZE_PLOTS = """() => {
    for (const ms of [30, 200]) setTimeout(() => window.dispatchEvent(new Event('resize')), ms);
}"""


def friendly(fn):
    """Show request problems as a message in the page (never a traceback); keep serving after anything.

    Only the project's own user errors (`merclip.errors.UserError`: media, transcript, label, checkpoint and Studio
    problems) are the user's to fix, shown without errno numbers or server paths (`public_message`). Anything else
    is a bug, even a ValueError (numpy and torch raise those too): its traceback goes to the log under a short id,
    and the user sees only that id, so that neither a server path nor a misleading "bad input" message reaches the
    page.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except UserError as exc:
            raise gr.Error(public_message(str(exc)), print_exception=False) from None
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


def keep_result_while_labels_are_edited(fn, n_outputs: int):
    """For live controls: an empty or not yet valid custom label set (none, one, a duplicate: the user is most likely
    typing) keeps the previous result on the page and says why, instead of replacing it with an error."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (EmptyLabelSetError, LabelError) as exc:
            gr.Warning(f"{public_message(str(exc))}; the result shown is the previous one", duration=6)
            return tuple(gr.skip() for _ in range(n_outputs))

    return wrapper


def long_job(gate: JobGate):
    """For a long job's handler: wait for a turn at `gate` (the page says how many jobs are ahead), or be told at
    once that the app is busy. Its event needs no gradio concurrency limit: the gate is the limit, and a job left
    in gradio's queue could only wait there, never be told."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            def say_wait(ahead: int) -> None:
                gr.Info(f"{ahead} of other visitors' {gate.what} ahead of yours: it starts when one is done",
                        duration=8)

            with gate.turn(on_wait=say_wait):
                return fn(*args, **kwargs)

        return wrapper

    return decorate


def input_key(video, transcript) -> str:
    """What a result describes: the clip's server path and the transcript (hashed: it may be long)."""
    return f"{video or ''}|{hashlib.sha1((transcript or '').encode()).hexdigest()}"


class ShownResults:
    """The input (clip and transcript) each page's panels last showed a result for, and the one change handler that
    empties every panel whose result describes another input.

    Kept server-side by session, not in the page (a gr.State would also hold a heartbeat stream open per page): a
    change event's values are read by the browser when it sends the event, so a key kept in the page would be read
    then too. On a cold app under load, an example's clip change can reach the server after the result of Analyse on
    that very example; its key, read here when the change is handled, is then already that result's, and the result
    stays.
    """

    def __init__(self, sessions: int = 4096):
        self._shown: LockedLRU[dict[str, str]] = LockedLRU(sessions)  # session -> panel -> input_key
        self._panels: list[tuple[str, list]] = []  # (panel, its result outputs), in the change handler's order

    def panel(self, name: str, outputs: list) -> None:
        """Register a panel's result outputs (before `wire`)."""
        self._panels.append((name, list(outputs)))

    def record(self, name: str, request, video, transcript) -> None:
        """`name` now shows a result for (video, transcript) in `request`'s page."""
        session = getattr(request, "session_hash", None)
        if session:
            self._shown.get_or_compute(session, dict)[name] = input_key(video, transcript)

    def records(self, name: str):
        """For a panel's handler: on success, `record` the input. The handler gains a `request` parameter, before
        `progress`, that gradio fills (it is not part of the public API)."""

        def decorate(fn):
            params = list(inspect.signature(fn).parameters.values())
            at = next((i for i, p in enumerate(params) if p.name == "progress"), len(params))
            request = inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None,
                                        annotation=gr.Request)
            signature = inspect.signature(fn).replace(parameters=params[:at] + [request] + params[at:])

            @functools.wraps(fn)
            def wrapper(*args, **kwargs):
                bound = signature.bind(*args, **kwargs)
                bound.apply_defaults()
                arguments = dict(bound.arguments)
                page = arguments.pop("request")
                out = fn(**arguments)
                self.record(name, page, arguments.get("video"), arguments.get("transcript"))
                return out

            wrapper.__signature__ = signature
            wrapper.__annotations__ = {**getattr(fn, "__annotations__", {}), "request": gr.Request}
            return wrapper

        return decorate

    def stale(self, video, transcript, request: gr.Request = None) -> tuple:
        """The change handler: each panel's outputs kept (gr.skip) when they show this very input, else emptied."""
        shown = self._shown.get(getattr(request, "session_hash", None) or "") or {}
        key = input_key(video, transcript)
        return tuple(gr.skip() if shown.get(name) == key else None for name, outputs in self._panels for _ in outputs)

    def wire(self, video: gr.components.Component, transcript: gr.components.Component) -> None:
        """One change handler for every registered panel, on a new clip (or example) and on another transcript."""
        outputs = [o for _, panel_outputs in self._panels for o in panel_outputs]
        for source in (video, transcript):
            source.change(self.stale, [video, transcript], outputs, api_visibility="private", show_progress="hidden",
                          queue=False)


def stale_outputs(n_outputs: int):
    """A handler that empties `n_outputs` result outputs after a failed request: left on the page, they would be read
    as the failed request's results."""

    def clear():
        return None if n_outputs == 1 else tuple(None for _ in range(n_outputs))

    return clear


def named_inputs(fn, components: dict[str, gr.components.Component]) -> list:
    """The components for `fn`'s parameters, by name and in its order (gradio passes inputs by position, and the
    API names them after the parameters: a list built by hand could silently pair a name with another input).
    `progress` and `request` are gradio's to fill."""
    params = [p for p in inspect.signature(fn).parameters.values() if p.name not in ("progress", "request")]
    return [components[p.name] for p in params]
