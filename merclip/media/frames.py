"""Vision input: frames sampled at uniformly spaced times by one seeking decoder, then resized, centre-cropped and
CLIP-normalised as open_clip's eval transform does.

The resize is open_clip's filter (bicubic, Keys a = -0.5, widened by the shrink factor as PIL widens it) on its sizes
and crop offsets. By default torch's uint8 antialiased bicubic computes it, several times faster than PIL's, with
shorter fixed-point weights: its pixels are PIL's to within 2 uint8 levels, on at most 1% of the values (white
noise, the worst case for rounding; tests/test_media.py holds this, docs/benchmarks.md has the figures).
`EXACT_RESIZE = True` runs PIL's own resize instead: open_clip's pixels bit for bit."""
from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import torch
import torch.nn.functional as F
from av.video.reformatter import VideoReformatter
from PIL import Image

from ..config import MediaConfig
from .decoded import normalise_into_channels
from .errors import EmptyMediaError, UnreadableMediaError
from .probe import keyframe_times, open_media
from .threads import FRAME_POOL, Offloaded

SEEK_MIN_GAP_SECONDS = 1.0  # closer targets: finding the keyframes costs about what seeking saves (docs/benchmarks.md)
_EPS = 1e-6
FrameInputs = tuple[torch.Tensor | None, list, list[str]]  # (CLIP-normalised (T, 3, S, S) or None, thumbnails, notes)
EXACT_RESIZE = False  # True: PIL's resize, open_clip's pixels bit for bit (see the module's docstring)


def video_stream(container):
    """The container's first video stream, set up to decode with this process's threads (`set_threads`). By default
    FFmpeg keeps PyAV's own choice, slice threads on every core: frame threads cost more CPU for slower decodes of a
    few picked frames (docs/benchmarks.md)."""
    stream = container.streams.video[0]
    if FRAME_POOL.threads:
        stream.codec_context.thread_count = FRAME_POOL.threads
    return stream


def frame_array(frame, reformatter: VideoReformatter | None = None) -> np.ndarray:
    """A decoded video frame as (H, W, 3) uint8 RGB, the pixels of PyAV's `frame.to_image()` (the same conversion to
    rgb24), in a buffer of its own. Pass one `reformatter` for all the frames of a stream: a frame's own sets up a
    new FFmpeg scaler each time."""
    rgb = (reformatter.reformat(frame, format="rgb24") if reformatter is not None else frame.reformat(format="rgb24"))
    return rgb.to_ndarray()


def frame_image(frame, reformatter: VideoReformatter | None = None) -> Image.Image:
    """`frame_array` as an RGB PIL image."""
    return Image.fromarray(frame_array(frame, reformatter))


def _time(frame) -> float:
    return frame.time if frame.time is not None else 0.0


class FrameSampler:
    """Picks, for each target time, the first frame at or after it (the last frame before `stop` where that one lies
    past `stop`, or the stream ends first): the frame a decode from the start gives.

    One decoder for the file; targets are best given in time order: then it runs forward, and seeks to a keyframe
    instead of decoding up to it when the target lies at least `min_seek_gap` s ahead (None: never). A target behind
    the decoder seeks back. A seek that does not land on the keyframe it aimed at (a poor index) turns seeking off
    and decodes from the start. Only the last two frames are held. `horizon`: no target lies past it.
    """

    def __init__(self, path: str | Path, horizon: float, min_seek_gap: float | None = SEEK_MIN_GAP_SECONDS):
        self.path, self.horizon, self.min_seek_gap = Path(path), horizon, min_seek_gap
        self.decoded = self.seeks = 0
        self._keyframes: list[float] | None = None  # looked up on the first seek
        self._reformatter = VideoReformatter()  # one FFmpeg scaler for every frame converted
        self._rgb = (None, None)  # the frame converted last, and its (H, W, 3) uint8 RGB array
        self.container = None
        self._restart()

    def close(self) -> None:
        self.container.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def sample(self, start: float, end: float, num_frames: int, prepare: Callable | None = None) -> list:
        """Frames at the centres of `num_frames` equal parts of [start, end], as the same cut in its own file gives.

        Each distinct frame is converted once, to a PIL image; `prepare(rgb, index)`, where given, is applied instead
        to its (H, W, 3) uint8 RGB array as soon as it is decoded (`index`: the first place it fills), and the list
        holds its results. No PIL image is made then: the resize reads the array."""
        picked, taken = [], (None, None)  # a frame repeats for consecutive places only (short clips)
        for index in range(num_frames):
            frame = self.pick_frame(start + (index + 0.5) * (end - start) / num_frames, end)
            if frame is not taken[0]:
                taken = (frame, self.image(frame) if prepare is None else prepare(self.rgb(frame), index))
            picked.append(taken[1])
        return picked

    def pick(self, target: float, stop: float) -> Image.Image:
        """The image of `pick_frame(target, stop)`."""
        return self.image(self.pick_frame(target, stop))

    def image(self, frame) -> Image.Image:
        return Image.fromarray(self.rgb(frame))

    def rgb(self, frame) -> np.ndarray:
        """`frame_array(frame)`, converted once for consecutive calls."""
        if self._rgb[0] is not frame:
            self._rgb = (frame, frame_array(frame, self._reformatter))
        return self._rgb[1]

    def pick_frame(self, target: float, stop: float):
        """The first frame at or after `target` (the last one before `stop` where that one lies past it)."""
        if self._behind(target):
            self._rewind(target)
        elif self.cur is None or _time(self.cur) + _EPS < target:
            self._skip_ahead(target)
        while (self.cur is None or _time(self.cur) + _EPS < target) and self._advance():
            pass
        if self.cur is None:
            raise EmptyMediaError(f"'{self.path.name}' has a video stream with no decodable frames")
        if _time(self.cur) > stop + _EPS and self.prev is not None:
            return self.prev
        return self.cur

    def _behind(self, target: float) -> bool:
        """Whether the frame for `target` may lie before the decoder's current frame."""
        if self.cur is None:
            return False
        if self.prev is not None:
            return _time(self.prev) + _EPS >= target
        return self._after_seek and _time(self.cur) > target + _EPS  # frames before a keyframe sought are unseen

    def _skip_ahead(self, target: float) -> None:
        position = _time(self.cur) if self.cur is not None else 0.0
        if self.min_seek_gap is None or target - position < self.min_seek_gap:
            return
        key = self._keyframe_before(target)
        if key is not None and key > position + _EPS:
            self._seek(key)

    def _rewind(self, target: float) -> None:
        key = self._keyframe_before(target) if self.min_seek_gap is not None else None
        if key is None:
            self._restart()
        else:
            self._seek(key)

    def _keyframe_before(self, t: float) -> float | None:
        if self._keyframes is None:
            self._keyframes = keyframe_times(self.path, self.horizon)
        before = [k for k in self._keyframes if k <= t + _EPS]
        return before[-1] if before else None

    def _restart(self) -> None:
        """Decode from the start of the file."""
        if self.container is not None:
            self.container.close()
        self.container = open_media(self.path)
        self.stream = video_stream(self.container)
        self._frames = self.container.decode(self.stream)
        self.prev = self.cur = None
        self._after_seek = False

    def _seek(self, key: float) -> None:
        """Decode from keyframe `key` on; a seek that lands elsewhere turns seeking off and decodes from the start."""
        try:
            self.container.seek(max(0, int(round(key / self.stream.time_base))), stream=self.stream, backward=True)
        except av.error.FFmpegError as exc:
            raise self._corrupt(exc) from exc
        self._frames = self.container.decode(self.stream)
        self.prev = self.cur = None
        self.seeks += 1
        if not self._advance() or self.cur.time is None or abs(self.cur.time - key) > 1e-3:
            self.min_seek_gap = None
            self._restart()
        else:
            self._after_seek = True

    def _advance(self) -> bool:
        try:
            frame = next(self._frames, None)
        except av.error.FFmpegError as exc:
            raise self._corrupt(exc) from exc
        if frame is None:
            return False
        self.prev, self.cur = self.cur, frame
        self.decoded += 1
        return True

    def _corrupt(self, exc: Exception) -> UnreadableMediaError:
        return UnreadableMediaError(f"'{self.path.name}' is corrupt: video decoding failed ({exc})")


def read_frames(path: str | Path, num_frames: int, duration: float, max_seconds: float,
                seek: bool | None = None, prepare: Callable | None = None) -> list:
    """`num_frames` RGB frames at uniformly spaced times (segment centres) over the first `duration` s.

    Only the frames needed are decoded: the sampler seeks over keyframes (phone and web videos have one every 1-2 s)
    instead of decoding up to them, and picks exactly the frames of a decode from the start (`seek=False`;
    tests/test_media.py compares them). `seek=None` seeks where the next target lies at least SEEK_MIN_GAP_SECONDS
    ahead, `seek=True` wherever a keyframe lies between. A clip shorter than `num_frames` frames repeats frames.
    `prepare(image, index)`: see `FrameSampler.sample`.
    """
    span = min(duration, max_seconds) if duration > 0 else max_seconds
    gap = {None: SEEK_MIN_GAP_SECONDS, True: 0.0, False: None}[seek]
    with FrameSampler(path, span, gap) as sampler:
        return sampler.sample(0.0, span, num_frames, prepare)


def _thumbnail(rgb: torch.Tensor, size: int = 96) -> Image.Image:
    """A (3, H, W) uint8 frame for display, at most `size` px a side, aspect kept: antialiased bilinear, for the eye
    only."""
    h, w = rgb.shape[-2:]
    scale = min(1.0, size / max(w, h))
    small = (max(1, round(h * scale)), max(1, round(w * scale)))
    if small != (h, w):
        rgb = F.interpolate(rgb[None], size=small, mode="bilinear", antialias=True)[0]
    return Image.fromarray(rgb.permute(1, 2, 0).contiguous().numpy())


def _rgb_tensor(frame) -> torch.Tensor:
    """A frame, PIL image (any mode) or (H, W, 3) uint8 RGB array, as a (3, H, W) uint8 tensor (a view of the array)."""
    if isinstance(frame, Image.Image):
        frame = np.array(frame if frame.mode == "RGB" else frame.convert("RGB"))  # a copy torch may write
    return torch.from_numpy(frame).permute(2, 0, 1)


def _bicubic(rgb: torch.Tensor, size: tuple[int, int], exact: bool) -> torch.Tensor:
    """(3, H, W) uint8 -> (3, h, w) uint8 at `size` (h, w): open_clip's bicubic, by PIL (`exact`) or by torch."""
    if size == tuple(rgb.shape[-2:]):
        return rgb  # both leave a frame of the target size as it is
    if exact:
        image = Image.fromarray(rgb.permute(1, 2, 0).numpy()).resize(size[::-1], Image.BICUBIC)
        return torch.from_numpy(np.array(image)).permute(2, 0, 1)
    return F.interpolate(rgb[None], size=size, mode="bicubic", antialias=True)[0]


def _resize_and_crop(frame, image_size: int, thumbnail: bool = False, exact: bool | None = None):
    """One frame (PIL image or (H, W, 3) uint8 RGB array) through open_clip's eval transform up to the tensor: the
    (3, S, S) uint8 crop (a view), and with `thumbnail` its thumbnail too (from the smaller of the frame and its
    resized copy). `exact`: PIL's resize (None: `EXACT_RESIZE`)."""
    rgb = _rgb_tensor(frame)  # (3, H, W) uint8
    h, w = rgb.shape[-2:]
    # sizes and offsets rounded as torchvision's Resize / CenterCrop round them (open_clip's eval transform),
    # so a pretrained tower sees the pixels it was trained on (a 640x480 frame becomes 298x224, not 299)
    short, long = min(w, h), max(w, h)
    long = int(image_size * long / short)
    rh, rw = (long, image_size) if w <= h else (image_size, long)
    resized = _bicubic(rgb, (rh, rw), EXACT_RESIZE if exact is None else exact)  # (3, rh, rw) uint8
    top, left = int(round((rh - image_size) / 2.0)), int(round((rw - image_size) / 2.0))
    crop = resized[:, top:top + image_size, left:left + image_size]  # (3, S, S)
    if not thumbnail:
        return crop, None
    return crop, _thumbnail(resized if rw * rh < w * h else rgb)


def _resize_frames(frames: list, image_size: int, thumbnails: bool = False) -> tuple[list, list]:
    """`_resize_and_crop` of the distinct frames (short clips repeat them) on the frame pool: (crops, thumbnails)."""
    distinct = list({id(f): f for f in frames}.values())
    done = FRAME_POOL.map_sharing(functools.partial(_resize_and_crop, image_size=image_size, thumbnail=thumbnails),
                                  distinct)
    by_id = {id(f): out for f, out in zip(distinct, done)}
    return [by_id[id(f)][0] for f in frames], [by_id[id(f)][1] for f in frames]


def _stack_normalised(crops: list[torch.Tensor], mean, std) -> torch.Tensor:
    """(3, S, S) uint8 crops -> CLIP-normalised (T, 3, S, S) float32: one uint8 stack, then one float tensor written
    in place (cheaper than stacking float copies)."""
    return normalise_into_channels(torch.stack(crops), mean, std, value_range=255.0)


def frames_to_tensor(frames: list[Image.Image], image_size: int, mean, std) -> torch.Tensor:
    """Resize the shortest side to `image_size`, centre-crop, normalise: CLIP's eval preprocessing."""
    return _stack_normalised(_resize_frames(frames, image_size)[0], mean, std)


def frame_inputs(frames: list[Image.Image], cfg: MediaConfig, mean, std) -> FrameInputs:
    """Sampled frames -> (CLIP-normalised (T, 3, S, S) or None, thumbnails, notes), cropped to the face first where
    `cfg.face_crop` (the FER vision tower)."""
    if not frames:
        return None, [], []
    notes: list[str] = []
    if cfg.face_crop:
        from .faces import crop_face_images

        frames, notes = crop_face_images(frames, cfg.image_size)
    crops, thumbnails = _resize_frames(frames, cfg.image_size, thumbnails=True)
    return _stack_normalised(crops, mean, std), thumbnails, list(notes)


def video_inputs(path: Path, duration: float, cfg: MediaConfig, mean, std) -> FrameInputs:
    """A clip file's sampled frames -> `frame_inputs(read_frames(...))`, each frame prepared as it is decoded."""
    return pipelined_frame_inputs(
        lambda prepare: read_frames(path, cfg.num_frames, duration, cfg.max_seconds, prepare=prepare), cfg, mean, std)


def pipelined_frame_inputs(sample: Callable[[Callable | None], list], cfg: MediaConfig, mean, std) -> FrameInputs:
    """`frame_inputs(sample(None))` exactly (tests/test_media.py compares them), where `sample(prepare)` gives the
    `cfg.num_frames` frames (`FrameSampler.sample`): each frame is resized, cropped and normalised into its slot on
    the frame pool the moment it is decoded, while this thread decodes the next ones (with no pool, this thread
    does it after decoding; either way from the decoder's RGB arrays, with no PIL image made). Face crops are made
    after decoding: OpenCV's detector already runs on every core."""
    pool = FRAME_POOL.executor()
    if cfg.face_crop:
        return frame_inputs(sample(None), cfg, mean, std)
    out = torch.empty((cfg.num_frames, 3, cfg.image_size, cfg.image_size))  # (T, 3, S, S), one slot a frame
    inference = torch.is_inference_mode_enabled()  # thread-local: the pool writes `out` in the caller's mode

    def into_slot(rgb: np.ndarray, index: int) -> tuple[int, Image.Image]:
        crop, thumbnail = _resize_and_crop(rgb, cfg.image_size, thumbnail=True)  # (3, S, S) uint8
        with torch.inference_mode(inference):
            normalise_into_channels(crop[None], mean, std, 255.0, out=out[index:index + 1])
        return index, thumbnail

    jobs = sample(lambda rgb, index: Offloaded(pool, into_slot, rgb, index))
    for job in reversed(list({id(job): job for job in jobs}.values())):
        job.take_back()  # the decoding is done: this thread resizes what the pool has not started, newest first
    thumbnails = []
    for index, job in enumerate(jobs):
        first, thumbnail = job.result()  # a frame repeated (short clips) was written once, to its first slot
        if first != index:
            out[index] = out[first]
        thumbnails.append(thumbnail)
    return out, thumbnails, []
