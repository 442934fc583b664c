"""Where the repository's shipped files are: the demo checkpoints, the projection embeddings, the app's examples.

One place for these paths, below everything that uses them (the app's Studio, the timeline CLI), so that a
command-line tool can default to the shipped demo without importing the app's logic.
"""
from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CHECKPOINT = REPO_ROOT / "checkpoints" / "merclip-tiny-synthetic"
DEFAULT_EMBEDDINGS = REPO_ROOT / "assets" / "synthetic_test_embeddings.npz"
# The demo's embeddings of the real-ish test split (merclip.data.realish): real photographs and natural sentences
REALISH_EMBEDDINGS = REPO_ROOT / "assets" / "realish_test_embeddings.npz"
DEFAULT_LSGMER = REPO_ROOT / "checkpoints" / "lsgmer-tiny-synthetic"
EXAMPLES_DIR = REPO_ROOT / "assets" / "examples"
# The generated validation micro-F1 an epoch of the demo's recipe must keep to be eligible (issue #25 item 3: the
# issue-15 demo's 87.8 on the generated test split, less the 2 points the issue allows); scripts/train_demo.py and
# scripts/selection_log.py default to it.
GENERATED_FLOOR = 0.858
