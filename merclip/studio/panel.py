"""What every panel service of the Studio shares: the one model cache and the one request guard."""
from __future__ import annotations

from dataclasses import dataclass

from .models import ModelCache
from .requests import RequestGuard


@dataclass
class Panel:
    """A panel's service: it loads models only through `models` and takes request values only through `guard`."""

    models: ModelCache
    guard: RequestGuard
