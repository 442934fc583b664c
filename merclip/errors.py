"""The project's user-error hierarchy: problems with a request that the user can fix, with a message for them.

Anything raised as a `UserError` is shown to the user as-is; anything else is a bug and the app logs it with an
id instead of presenting it as bad input (numpy and torch raise ValueError for bugs too, so ValueError alone
cannot tell the two apart). `UserError` subclasses ValueError so that callers catching ValueError keep working.
"""
from __future__ import annotations


class UserError(ValueError):
    """Base class: the request cannot be served as given; the message says why, naming no server path."""


class LabelError(UserError):
    """A label set cannot be used (too few, duplicates, too many, too long)."""


class NothingToPredictError(UserError):
    """Every modality the model reads is absent from the clip or dropped: a prediction would be the model's bias."""


def ensure_something_left(present: dict[str, bool], dropped=(), reads=("L", "V", "A"), what: str = "the clip") -> None:
    """Refuse a prediction with nothing behind it. `present` maps 'L'/'V'/'A' to whether `what` has that modality,
    `dropped` lists those removed by request, `reads` those the model uses. Why: a model fed only absent inputs
    still outputs its bias (MER-CLIP said disgust 0.69, fear 0.86; LSGMER said joy), which looks like an answer."""
    names = {"L": "transcript", "V": "video frames", "A": "audio"}
    if any(present.get(m, False) and m not in dropped for m in reads):
        return
    missing = [names[m] + (" (dropped)" if m in dropped else "") for m in reads]
    raise NothingToPredictError(f"nothing left to predict from: {what} has no {', no '.join(missing)}; "
                                "keep or add at least one of them")


def check_text(text: str, what: str, error: type[UserError] = UserError) -> str:
    """`text`, once every character in it can be encoded (as UTF-8, as every tokenizer reads it).

    Why: a JSON request may carry a lone UTF-16 surrogate ("\\ud800"), which Python keeps in a str but the
    tokenizers refuse with a TypeError deep in the text tower, shown as an internal error. The message names the
    place, not the character, so that it is itself plain text."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise error(f"{what} holds U+{ord(text[exc.start]):04X} at character {exc.start + 1}, half of a UTF-16 "
                    "surrogate pair and not a character on its own: remove it") from None
    return text
