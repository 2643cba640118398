#!/usr/bin/env bash
# One prepared device session (see benchmarks/README.md): the trainer's CUDA tests,
# the CUDA benchmark, then the paper preset on the GPU for the time left. Run from
# the repository root on a machine with a CUDA GPU and PyTorch; results go to $OUT.
# Usage: OUT=some/dir bash benchmarks/gpu_session.sh [seconds for the paper preset]
set -u
export PYTHONUNBUFFERED=1
OUT=${OUT:-gpu-out}; mkdir -p "$OUT"
PAPER_SECONDS=${1:-300}
# make the package importable without installing it (no network there)
PKG=$(mktemp -d); mkdir -p "$PKG/progfusion"
for d in theory synthetic models figures; do ln -s "$PWD/$d" "$PKG/progfusion/$d"; done
export PYTHONPATH="$PKG:$PWD"
python3 -c "import torch, progfusion.figures.cli as c; print('torch', torch.__version__, torch.cuda.get_device_name())" 2>&1 | tee "$OUT/env.txt"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >> "$OUT/env.txt" 2>&1
echo "== CUDA tests of the trainer"
timeout 150 python3 -m pytest -q -p no:cacheprovider tests/test_training.py -k cuda 2>&1 | tail -15 | tee "$OUT/tests_cuda.txt"
echo "== CUDA benchmark"
timeout 200 python3 benchmarks/bench_trainer.py --device cuda --n 1024,4096 --steps 300 \
  --samples 2048 --designs late,pro --naive-max 3 2>&1 | tee "$OUT/bench_cuda.txt"
echo "== paper preset on the GPU (${PAPER_SECONDS}s at most; resumable)"
start=$(date +%s)
timeout "$PAPER_SECONDS" python3 -m progfusion.figures.cli figures --preset paper --device cuda \
  --workers 8 --chunk 512 --out paper-out --quiet > "$OUT/paper_log.txt" 2>&1
echo "paper preset exit $? after $(( $(date +%s) - start ))s" | tee -a "$OUT/paper_log.txt"
tar czf "$OUT/paper-out.tgz" paper-out
ls -la "$OUT"
