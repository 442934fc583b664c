#!/usr/bin/env bash
# Every GPU measurement of issue #7 in one call of the device tool; results and logs land in $OUT.
#
#   bash bench/gpu_all.sh [inference|training|scaling|all]      (default: all; each part fits a 10-minute call)
#
# The device machine's image has torch but not open_clip, and it cannot reach PyPI. Once per checkout, here:
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux2014_x86_64 -d .whl open_clip_torch==3.3.0 ftfy==6.3.1 wcwidth==0.2.13
# then call the device tool with: command "bash bench/gpu_all.sh", carry [".whl"].
# Back here, draw the scaling sweep:  python bench/plot_scaling.py <files_at>/scaling.json --out docs/
# and copy the printed lines into docs/benchmarks.md with the machine (machine.txt).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench-out}
PART=${1:-all}
mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        || { echo "installing the carried wheels failed" >&2; exit 1; }
    export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD:${PYTHONPATH:-}
{ nvidia-smi || true; python3 -c "import torch, open_clip; print('torch', torch.__version__, 'open_clip', open_clip.__version__,
  torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU')"; } > "$OUT/machine.txt" 2>&1
status=0
# BENCH_ARGS (e.g. "--smoke --device cpu") is passed to every benchmark: the test suite runs this script that way.
run() { echo "== $*" | tee -a "$OUT/log.txt"; python3 "$@" ${BENCH_ARGS:-} 2>&1 | tee -a "$OUT/log.txt" || status=1; }
if [[ $PART == all || $PART == inference ]]; then run bench/batched_inference.py --check --out "$OUT/batched.json"; fi
if [[ $PART == all || $PART == training ]]; then run bench/throughput.py --out "$OUT/throughput.json"; fi
if [[ $PART == all || $PART == scaling ]]; then run bench/scaling.py --out "$OUT/scaling.json"; fi
exit $status
