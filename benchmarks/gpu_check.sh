#!/usr/bin/env bash
# The GPU check, in one go, for whoever has a CUDA GPU at hand:
#   1. the CUDA tests (tests/test_dcn_device.py, tests/test_hardware.py; those marked "needs a CUDA GPU"
#      are skipped everywhere else),
#   2. the course run on the GPU: 5,500 steps of batch 50, full monitoring (every 100 steps),
#      5 evaluations and checkpoints, precision auto,
#   3. the same run with monitoring only at the first and last step (monitoring's share of the run),
#   4. the same run with --deterministic (its cost),
# and prints wall time, ms per step and test accuracy of each run, and the GPU's name.
# When the tests pass with none skipped, a dated line with the GPU, torch, CUDA and commit is appended to
# benchmarks/gpu_check_passed.txt (commit it: it is the record of when the CUDA tests last passed, and on what).
#
#   PYTHON=/path/to/python-with-cuda-torch benchmarks/gpu_check.sh [--quick]
#
# PYTHON must have a CUDA build of torch and this project's dependencies (numpy, tensorboard, tqdm,
# pytest): `make setup` installs the CPU-only wheel. MNIST comes from $BACKPROPLAB_DATA, else
# ../shared/data/mnist, else the download cache. --quick: 550-step runs (a smoke test of the script).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
STEPS=5500
[ "${1:-}" = "--quick" ] && STEPS=550
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
# Reproducible cuBLAS products for --deterministic (must be set before cuBLAS starts).
export CUBLAS_WORKSPACE_CONFIG=${CUBLAS_WORKSPACE_CONFIG:-:4096:8}
if [ -z "${BACKPROPLAB_DATA:-}" ] && [ -e ../shared/data/mnist/train-images-idx3-ubyte.gz ]; then
  export BACKPROPLAB_DATA="$(cd ../shared/data/mnist && pwd)"
fi

if ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  echo "gpu_check: no CUDA GPU visible to $PYTHON (torch $("$PYTHON" -c 'import torch; print(torch.__version__)')); nothing to check" >&2
  exit 1
fi
DEVICE=$("$PYTHON" -c 'import torch; print(f"GPU {torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}")')
echo "$DEVICE"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

echo "== CUDA tests"
"$PYTHON" -m pytest -q -p no:cacheprovider tests/test_dcn_device.py tests/test_hardware.py -rs | tee "$OUT/tests.log"
if grep -q " skipped" "$OUT/tests.log"; then
  echo "gpu_check: tests were skipped (listed above), so the CUDA tests have not all passed; nothing recorded" >&2
  exit 1
fi
RECORD=benchmarks/gpu_check_passed.txt
printf '%s  %s  %s  commit %s\n' "$(date -u +%Y-%m-%dT%H:%MZ)" "$(tail -n 1 "$OUT/tests.log")" "$DEVICE" \
  "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" >>"$RECORD"
echo "recorded in $RECORD (when the CUDA tests last passed, and on what):"
tail -n 3 "$RECORD"
run() {  # name, extra flags...
  local name=$1; shift
  echo "== $name: $STEPS steps $*"
  local t0 t1
  t0=$(date +%s.%N)
  "$PYTHON" -m backproplab.cli dcn --device cuda --steps "$STEPS" --quiet --out "$OUT/$name" --overwrite "$@"
  t1=$(date +%s.%N)
  "$PYTHON" - "$OUT/$name/metrics.json" "$t0" "$t1" "$name" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
process = float(sys.argv[3]) - float(sys.argv[2])
print(f"RESULT {sys.argv[4]}: wall {m['wall_seconds']:.1f} s (training loop; {process:.1f} s for the whole "
      f"process), {1e3 * m['wall_seconds'] / m['steps_done']:.2f} ms/step, test accuracy {m['test_accuracy']:.2%}, "
      f"{m['precision']} on {m['device']} ({m['gpu_name']}), deterministic {m['deterministic']}")
EOF
}
run course
run unmonitored --monitor-every "$STEPS"
run deterministic --deterministic

"$PYTHON" - "$OUT" <<'EOF'
import json, sys
from pathlib import Path
walls = {name: json.loads((Path(sys.argv[1]) / name / "metrics.json").read_text())["wall_seconds"]
         for name in ("course", "unmonitored", "deterministic")}
print(f"monitoring: {(walls['course'] - walls['unmonitored']) / walls['course']:.1%} of the course run "
      f"(goal: under 5%); --deterministic costs {walls['deterministic'] / walls['course'] - 1:+.1%} wall time; "
      f"course run within 20 s: {'yes' if walls['course'] <= 20 else 'no'} ({walls['course']:.1f} s)")
EOF
