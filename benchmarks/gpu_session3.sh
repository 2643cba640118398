#!/usr/bin/env bash
# Prepared device session for issue 4's GPU target (2,000 late-fusion trainings/s at
# N = 4,096): the CUDA tests (trainer, staged data copy), the staging benchmark, then
# bench_trainer at N = 4,096 with the hashed initialisation, eager and compiled with
# CUDA graphs. About 6-8 minutes. Run from the repository root on a CUDA machine:
#   OUT=some/dir bash benchmarks/gpu_session3.sh
set -u
export PYTHONUNBUFFERED=1
OUT=${OUT:-gpu-out}; mkdir -p "$OUT"
# make the package importable without installing it (no network there)
PKG=$(mktemp -d); mkdir -p "$PKG/progfusion"
for d in theory synthetic models figures; do ln -s "$PWD/$d" "$PKG/progfusion/$d"; done
export PYTHONPATH="$PKG:$PWD"
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())" 2>&1 | tee "$OUT/env.txt"
echo "== CUDA tests"
timeout 150 python3 -m pytest -q -p no:cacheprovider tests/test_training.py tests/test_data.py \
  -k cuda 2>&1 | tail -15 | tee "$OUT/tests_cuda.txt"
echo "== staging benchmark"
timeout 90 python3 benchmarks/bench_staging.py --device cuda --n 1024,4096 2>&1 | tee "$OUT/bench_staging.txt"
echo "== trainer, eager"
timeout 120 python3 benchmarks/bench_trainer.py --device cuda --n 4096 --designs late,pro \
  --naive-max 2 --init hashed 2>&1 | tee "$OUT/bench_cuda_eager.txt"
echo "== trainer, compiled (CUDA graphs)"
timeout 240 python3 benchmarks/bench_trainer.py --device cuda --n 4096 --designs late,pro \
  --naive-max 2 --init hashed --compile reduce-overhead 2>&1 | tee "$OUT/bench_cuda_compiled.txt"
