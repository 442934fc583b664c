"""How the Studio app's events behave, whatever the panel: user errors as messages and bugs logged under an id
(`friendly`), live controls that wait for a clip or for a finished label set, outputs emptied when their input
changes, and inputs paired with a handler's parameters by name. The js snippets do what only the browser can."""
from __future__ import annotations

import functools
import inspect
import logging
import uuid

import gradio as gr

from merclip.errors import LabelError, UserError
from merclip.studio import EmptyLabelSetError, public_message

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


def stale_outputs(n_outputs: int):
    """A handler that empties `n_outputs` result outputs: shown after the clip or transcript they describe changed
    (or after a failed request), they would be read as the new input's results."""

    def clear():
        return None if n_outputs == 1 else tuple(None for _ in range(n_outputs))

    return clear


def named_inputs(fn, components: dict[str, gr.components.Component]) -> list:
    """The components for `fn`'s parameters, by name and in its order (gradio passes inputs by position, and the
    API names them after the parameters: a list built by hand could silently pair a name with another input)."""
    params = [p for p in inspect.signature(fn).parameters.values() if p.name != "progress"]
    return [components[p.name] for p in params]
