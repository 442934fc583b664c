"""The Studio's models, loaded on first use and shared by every panel and every user.

One lock guards all four slots, so two first requests load a model once; the lock is never held while a model
predicts. The checkpoints' configs and weight headers are read at construction, so a bad `--checkpoint` (missing,
truncated, config not JSON) fails before the app serves.
"""
from __future__ import annotations

import threading
from pathlib import Path

from ..config import MediaConfig, ModelConfig
from ..models.checkpoint import check_checkpoint
from ..models.lsgmer import LSGMERConfig
from ..serving.predictor import Predictor


class ModelCache:
    """MER-CLIP predictor, LSGMER predictor, zero-shot CLIP and the offline zero-shot reference, each built once."""

    def __init__(self, checkpoint: str | Path, media_cfg: MediaConfig, device: str | None = None,
                 lsgmer_checkpoint: str | Path | None = None, zero_shot_weights: str | None = None,
                 zero_shot_arch: str = "ViT-B-32"):
        self.checkpoint = Path(checkpoint)
        # a missing, truncated or damaged checkpoint is a CheckpointError here, before the app serves
        self.config = check_checkpoint(self.checkpoint, ModelConfig.family)
        self.media_cfg = media_cfg
        self.device = device
        # a missing folder means no LSGMER tab results (the panel says so), not a failed start; a damaged one fails
        self.lsgmer_checkpoint = Path(lsgmer_checkpoint) if lsgmer_checkpoint and Path(lsgmer_checkpoint).is_dir() \
            else None
        if self.lsgmer_checkpoint is not None:
            check_checkpoint(self.lsgmer_checkpoint, LSGMERConfig.family)
        self.zero_shot_weights = zero_shot_weights
        self.zero_shot_arch = zero_shot_arch
        self._lock = threading.Lock()
        self._predictor: Predictor | None = None
        self._lsgmer = None  # merclip.serving.lsgmer_predictor.LSGMERPredictor
        self._zero_shot = None  # merclip.pretrained.zeroshot.ZeroShotCLIP
        self._offline_reference = None  # merclip.pretrained.offline_zeroshot.OfflineZeroShot

    @property
    def threshold(self) -> float:
        """The emotion threshold every figure draws: the model config's, the one its decisions use."""
        return self.config.emotion_threshold

    @property
    def predictor(self) -> Predictor:
        with self._lock:
            if self._predictor is None:
                self._predictor = Predictor.from_checkpoint(self.checkpoint, device=self.device,
                                                            media_cfg=self.media_cfg)
            return self._predictor

    @property
    def lsgmer(self):
        """The LSGMER predictor; only asked for when `lsgmer_checkpoint` is set."""
        from ..serving.lsgmer_predictor import LSGMERPredictor

        with self._lock:
            if self._lsgmer is None:
                self._lsgmer = LSGMERPredictor.from_checkpoint(self.lsgmer_checkpoint, device=self.device,
                                                               media_cfg=self.media_cfg)
            return self._lsgmer

    def zero_shot_source(self) -> str | None:
        """Where real CLIP weights for zero-shot are (a file or a cache tag), or None when this machine has none."""
        from ..pretrained.zeroshot import real_weights_source

        return real_weights_source(self.zero_shot_weights, self.zero_shot_arch)

    def zero_shot(self, source: str):
        """Zero-shot CLIP from `source`, on the MER-CLIP predictor's device."""
        from ..pretrained.zeroshot import ZeroShotCLIP

        device = self.predictor.device  # outside the lock: the predictor property takes it too
        with self._lock:
            if self._zero_shot is None:
                self._zero_shot = ZeroShotCLIP(self.zero_shot_arch, source, device=device)
            return self._zero_shot

    @property
    def offline_reference(self):
        """The offline zero-shot reference from packaged pretrained parts (ImportError without wordllama / OpenCV)."""
        from ..pretrained.offline_zeroshot import OfflineZeroShot

        with self._lock:
            if self._offline_reference is None:
                self._offline_reference = OfflineZeroShot.from_packages()
            return self._offline_reference

    def device_name(self) -> str:
        """The device the models run on: the loaded predictor's, or the one it will load on (never 'not yet')."""
        if self._predictor is not None:
            return str(self._predictor.device)
        from ..device import select_device

        return str(select_device(self.device))
