"""Why a clip cannot be used: every media failure is a `MediaError` whose message names the file and the problem,
so that the app can show it as-is."""
from __future__ import annotations

from ..errors import UserError


class MediaError(UserError):
    """Base class: the input clip cannot be used; the message says why."""


class UnsupportedFileTypeError(MediaError):
    pass


class UnreadableMediaError(MediaError):
    pass


class EmptyMediaError(MediaError):
    pass


class NoVideoStreamError(MediaError):
    pass


class MediaTooLongError(MediaError):
    pass


class TranscriptError(MediaError):
    pass


class FileTooLargeError(MediaError):
    pass
