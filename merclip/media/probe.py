"""File checks before any decoding: type, size, streams and duration from the container header, keyframe times."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av

from .errors import (
    EmptyMediaError,
    FileTooLargeError,
    UnreadableMediaError,
    UnsupportedFileTypeError,
)

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".mpg", ".mpeg", ".ogv")
AUDIO_SUFFIXES = (".wav", ".mp3", ".flac", ".m4a", ".ogg", ".aac", ".opus")
MEDIA_SUFFIXES = VIDEO_SUFFIXES + AUDIO_SUFFIXES


@dataclass
class MediaInfo:
    path: Path
    duration: float
    has_video: bool
    has_audio: bool


def open_media(path: Path):
    """The file opened by PyAV; an unreadable file is an `UnreadableMediaError` naming it."""
    try:
        return av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise UnreadableMediaError(f"cannot read '{path.name}': it is not a readable media file ({exc})") from exc


def check_file(path: str | Path, allowed: tuple[str, ...] = MEDIA_SUFFIXES) -> Path:
    """The path, once it is an existing, non-empty file of an allowed type."""
    path = Path(path)
    if not path.exists():
        raise UnreadableMediaError(f"file not found: '{path.name}'")
    if path.is_dir():
        raise UnreadableMediaError(f"'{path.name}' is a folder, not a media file")
    if path.suffix.lower() not in allowed:
        raise UnsupportedFileTypeError(
            f"unsupported file type '{path.suffix or '(none)'}' for '{path.name}': expected one of {', '.join(allowed)}"
        )
    if path.stat().st_size == 0:
        raise EmptyMediaError(f"'{path.name}' is empty (0 bytes)")
    return path


def file_identity(path: str | Path) -> str:
    """A file's identity for caches: resolved path, size and modification time (a rewritten file is a new key)."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        return f"{path}|missing"  # the decoder reports it
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


def check_size(path: str | Path, max_mb: float, allowed: tuple[str, ...] = MEDIA_SUFFIXES) -> None:
    """Refuse oversized files (and any `check_file` refuses) before any decoding work."""
    path = check_file(path, allowed)
    size_mb = path.stat().st_size / 2**20
    if size_mb > max_mb:
        raise FileTooLargeError(f"'{path.name}' is {size_mb:.1f} MB; the limit is {max_mb:g} MB")


def probe(path: str | Path) -> MediaInfo:
    """Streams and duration from the container header, without decoding (cheap, so long files fail fast)."""
    path = check_file(path)
    with open_media(path) as container:
        return describe(container, path)


def describe(container, path: Path) -> MediaInfo:
    """`probe` of a container already open (load_clip reads the header and the audio track through one open)."""
    fmt = container.format.name
    if fmt.endswith("_pipe") or fmt.startswith("image2"):
        raise UnsupportedFileTypeError(f"'{path.name}' is a still image ({fmt.replace('_pipe', '')}), not a video clip")
    has_video = len(container.streams.video) > 0
    has_audio = len(container.streams.audio) > 0
    if not has_video and not has_audio:
        raise EmptyMediaError(f"'{path.name}' has no video or audio stream")
    duration = container.duration / 1e6 if container.duration else 0.0
    if not duration:
        stream = (container.streams.video or container.streams.audio)[0]
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
    return MediaInfo(path=path, duration=float(duration), has_video=has_video, has_audio=has_audio)


def keyframe_times(path: Path, stop_after: float) -> list[float]:
    """Presentation times of the video keyframes up to `stop_after` s, read from the packets (no decoding)."""
    times = []
    with open_media(path) as container:
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            if packet.pts is None or packet.time_base is None:
                continue
            t = float(packet.pts * packet.time_base)
            if t > stop_after:
                break
            if packet.is_keyframe:
                times.append(t)
    return sorted(times)


def packet_duration(path: Path, cap: float) -> float:
    """A container without a duration in its header (webcam webm): the last packet time, read without decoding and
    given up just past `cap` (so a 2-hour recording is still refused quickly)."""
    last = 0.0
    with open_media(path) as container:
        for packet in container.demux():
            if packet.pts is not None and packet.time_base is not None:
                last = max(last, float((packet.pts + (packet.duration or 0)) * packet.time_base))
                if last > cap:
                    break
    return last
