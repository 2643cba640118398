#!/usr/bin/env bash
# Second device session: the CUDA benchmark with the hashed initialisation, then the
# rest of the paper preset's Figure 4 (resuming the tables in paper-out/).
set -u
export PYTHONUNBUFFERED=1
OUT=${OUT:-gpu-out}; mkdir -p "$OUT"
PKG=$(mktemp -d); mkdir -p "$PKG/progfusion"
for d in theory synthetic models figures; do ln -s "$PWD/$d" "$PKG/progfusion/$d"; done
export PYTHONPATH="$PKG:$PWD"
timeout 85 python3 benchmarks/bench_trainer.py --device cuda --n 4096 --steps 300 \
  --samples 2048 --designs late,pro --naive-max 2 --init hashed 2>&1 | tee "$OUT/bench_cuda_hashed.txt"
timeout "${1:-150}" python3 -m progfusion.figures.cli figure 4 --preset paper --device cuda \
  --workers 8 --chunk 512 --out paper-out --quiet > "$OUT/fig4_log.txt" 2>&1
echo "figure 4 exit $?" >> "$OUT/fig4_log.txt"
tar czf "$OUT/fig4-parts.tgz" paper-out/figure4.parts paper-out/figure4.csv
