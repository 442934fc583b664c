"""Vision input: frames sampled at uniformly spaced times by one seeking decoder, then resized, centre-cropped and
CLIP-normalised as open_clip's eval transform does."""
from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import torch
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


def video_stream(container):
    """The container's first video stream, set up to decode with this process's threads (`set_threads`). By default
    FFmpeg keeps PyAV's own choice, slice threads on every core: frame threads cost more CPU for slower decodes of a
    few picked frames (docs/benchmarks.md)."""
    stream = container.streams.video[0]
    if FRAME_POOL.threads:
        stream.codec_context.thread_count = FRAME_POOL.threads
    return stream


def frame_image(frame, reformatter: VideoReformatter | None = None) -> Image.Image:
    """A decoded video frame as an RGB PIL image: the pixels of PyAV's `frame.to_image()` (the same conversion to
    rgb24) without its row-by-row copies in Python. Pass one `reformatter` for all the frames of a stream: a frame's
    own sets up a new FFmpeg scaler each time."""
    rgb = (reformatter.reformat(frame, format="rgb24") if reformatter is not None else frame.reformat(format="rgb24"))
    return Image.fromarray(rgb.to_ndarray())


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
        self._image = (None, None)  # the frame converted last, and its image
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

        Each distinct frame's image is made once; `prepare(image, index)`, where given, is applied to it as soon as
        it is decoded (`index`: the first place it fills), and the list holds its results instead of the images."""
        picked, taken = [], (None, None)  # a frame repeats for consecutive places only (short clips)
        for index in range(num_frames):
            frame = self.pick_frame(start + (index + 0.5) * (end - start) / num_frames, end)
            if frame is not taken[0]:
                image = self.image(frame)
                taken = (frame, image if prepare is None else prepare(image, index))
            picked.append(taken[1])
        return picked

    def pick(self, target: float, stop: float) -> Image.Image:
        """The image of `pick_frame(target, stop)`."""
        return self.image(self.pick_frame(target, stop))

    def image(self, frame) -> Image.Image:
        if self._image[0] is not frame:
            self._image = (frame, frame_image(frame, self._reformatter))
        return self._image[1]

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


def _thumbnail(frame: Image.Image, size: int = 96) -> Image.Image:
    """A frame for display, at most `size` px a side, aspect kept. Box filter: antialiased like a bicubic downscale,
    at a third of its cost, and a thumbnail is for the eye only."""
    frame = frame if frame.mode == "RGB" else frame.convert("RGB")
    w, h = frame.size
    scale = min(1.0, size / max(w, h))
    return frame.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BOX)


def _resize_and_crop(img: Image.Image, image_size: int, thumbnail: bool = False):
    """One frame through open_clip's eval transform up to the tensor: the (S, S, 3) uint8 crop, and with `thumbnail`
    its thumbnail too (from the smaller of the frame and its resized copy)."""
    if img.mode != "RGB":
        img = img.convert("RGB")
    w, h = img.size
    # sizes and offsets rounded as torchvision's Resize / CenterCrop round them (open_clip's eval transform),
    # so a pretrained tower sees exactly the pixels it was trained on (a 640x480 frame becomes 298x224, not 299)
    short, long = min(w, h), max(w, h)
    long = int(image_size * long / short)
    resized = img.resize((image_size, long) if w <= h else (long, image_size), Image.BICUBIC)
    rw, rh = resized.size
    left, top = int(round((rw - image_size) / 2.0)), int(round((rh - image_size) / 2.0))
    crop = np.array(resized.crop((left, top, left + image_size, top + image_size)))  # writable: torch reads it
    if not thumbnail:
        return crop, None
    return crop, _thumbnail(resized if rw * rh < w * h else img)


def _resize_frames(frames: list[Image.Image], image_size: int, thumbnails: bool = False) -> tuple[list, list]:
    """`_resize_and_crop` of the distinct frames (short clips repeat them) on the frame pool: (crops, thumbnails)."""
    distinct = list({id(f): f for f in frames}.values())
    done = FRAME_POOL.map_sharing(functools.partial(_resize_and_crop, image_size=image_size, thumbnail=thumbnails),
                                  distinct)
    by_id = {id(f): out for f, out in zip(distinct, done)}
    return [by_id[id(f)][0] for f in frames], [by_id[id(f)][1] for f in frames]


def _stack_normalised(crops: list[np.ndarray], mean, std) -> torch.Tensor:
    # One uint8 stack, then one float tensor written in place: cheaper than stacking permuted float views.
    images = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2)  # (T, 3, S, S) uint8, a view
    return normalise_into_channels(images, mean, std, value_range=255.0)


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
    the frame pool the moment it is decoded, while this thread decodes the next ones. Face crops are made after
    decoding: OpenCV's detector already runs on every core."""
    pool = FRAME_POOL.executor()
    if cfg.face_crop or pool is None:
        return frame_inputs(sample(None), cfg, mean, std)
    out = torch.empty((cfg.num_frames, 3, cfg.image_size, cfg.image_size))  # (T, 3, S, S), one slot a frame
    inference = torch.is_inference_mode_enabled()  # thread-local: the pool writes `out` in the caller's mode

    def into_slot(image: Image.Image, index: int) -> tuple[int, Image.Image]:
        crop, thumbnail = _resize_and_crop(image, cfg.image_size, thumbnail=True)  # (S, S, 3) uint8
        with torch.inference_mode(inference):
            normalise_into_channels(torch.from_numpy(crop).permute(2, 0, 1)[None], mean, std, 255.0,
                                    out=out[index:index + 1])
        return index, thumbnail

    jobs = sample(lambda image, index: Offloaded(pool, into_slot, image, index))
    for job in reversed(list({id(job): job for job in jobs}.values())):
        job.take_back()  # the decoding is done: this thread resizes what the pool has not started, newest first
    thumbnails = []
    for index, job in enumerate(jobs):
        first, thumbnail = job.result()  # a frame repeated (short clips) was written once, to its first slot
        if first != index:
            out[index] = out[first]
        thumbnails.append(thumbnail)
    return out, thumbnails, []
