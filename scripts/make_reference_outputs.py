"""Write tests/reference/shipped_outputs.safetensors: the shipped checkpoints' outputs on fixed inputs.

    python scripts/make_reference_outputs.py

Run it once, and again only when a model's outputs are meant to change (retrained checkpoint, a deliberate fix);
commit the new file with that change. tests/test_reference.py only reads it. CPU, fp32, a few seconds.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from merclip.models.checkpoint import WEIGHTS_NAME, load_checkpoint  # noqa: E402
from merclip.models.reference import SHIPPED, file_sha256, reference_outputs  # noqa: E402

OUT = ROOT / "tests" / "reference" / "shipped_outputs.safetensors"


def main(argv: list[str] | None = None) -> None:
    # a parser for --help alone: without one, `--help` (or any argument) ran the script and overwrote the tracked
    # reference file that tests/test_reference.py checks the shipped models against
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                            epilog="Takes no arguments; writes tests/reference/shipped_outputs.safetensors."
                            ).parse_args(argv)
    torch.set_num_threads(1)  # one summation order
    tensors, digests = {}, {}
    for name in SHIPPED:
        ckpt = ROOT / "checkpoints" / name
        outputs = reference_outputs(load_checkpoint(ckpt))
        tensors.update({f"{name}/{k}": v for k, v in outputs.items()})
        digests[name] = file_sha256(ckpt / WEIGHTS_NAME)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(OUT), metadata={"checkpoint_sha256": json.dumps(digests),
                                           "torch": torch.__version__, "made_by": "scripts/make_reference_outputs.py"})
    print(f"wrote {len(tensors)} tensors to {OUT.relative_to(ROOT)} ({OUT.stat().st_size / 1024:.1f} KiB)")


if __name__ == "__main__":
    main()
