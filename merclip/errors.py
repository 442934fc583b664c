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
