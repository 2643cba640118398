#!/usr/bin/env bash
# The device check: on a machine with a CUDA GPU, install progfusion into a virtual
# environment that keeps the machine's own CUDA build of torch, then run the CUDA tests,
# benchmarks/bench_staging.py, benchmarks/bench_trainer.py (eager and compiled) and the
# paper preset of one figure, all within one time budget. It writes what it measured
# to OUT/gpu-check.md (a Markdown summary that benchmarks/README.md quotes) and
# OUT/gpu-check.log (every step's whole output), plus bench_trainer's JSON records and
# the figure's output as a tarball (to resume it later).
#
# Needs no network: the package is installed with --no-deps --no-index, so its
# dependencies (pyproject.toml's, and pytest and hypothesis for the tests) must already
# be installed for --python, or come as wheels in --wheels DIR; the summary names any
# that are missing.
#
# Run from anywhere; `bash benchmarks/gpu_check.sh --help` lists the options, and
# `--dry-run` prints the plan and checks it against the code (CI runs it).
set -uo pipefail  # not -e: a failed step is recorded and the next one runs

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# ---- parameters (flags; OUT may also come from the environment) -----------------------
OUT_DIR=${OUT:-$ROOT/benchmarks/results/gpu-$(date -u +%Y%m%dT%H%MZ)}
PY=python3                          # the interpreter that holds the machine's CUDA torch
VENV=${TMPDIR:-/tmp}/progfusion-gpu-venv
WHEELS=""                           # folder of wheels for missing dependencies
BUDGET=540                          # seconds for the whole check (under a 10-minute call)
SKIP=""                             # comma list of: tests,staging,trainer,figure
TESTS_K="cuda or device"            # pytest -k: the tests that need or concern a GPU
TESTS_S=150
STAGING_N=1024,4096
STAGING_S=60
TRAINER_N=4096
DESIGNS=late,pro
NAIVE_MAX=2
INIT=hashed
COMPILE=off,reduce-overhead         # one bench_trainer run per mode (off: eager)
TRAINER_S=120                       # per eager run; compiled runs get twice this
FIGURE=4
FIGURE_S=180                        # at most; less if the budget has less left
FIGURE_OUT=$ROOT/paper-out          # an existing folder resumes the figure
FIGURE_ARGS="--workers 8 --chunk 512"
DEVICE=cuda                         # cpu: try this script itself on a machine without a GPU
DRY_RUN=0

usage() {
  cat <<EOF
Usage: bash benchmarks/gpu_check.sh [options]

  --out DIR          results (default: \$OUT, else benchmarks/results/gpu-<UTC time>)
  --python PY        interpreter holding the machine's CUDA torch (default: $PY)
  --venv DIR         virtual environment to create (default: $VENV)
  --wheels DIR       install wheels from DIR first (offline), for missing dependencies
  --budget S         seconds for the whole check (default: $BUDGET)
  --skip LIST        steps to skip, comma-separated: tests,staging,trainer,figure
  --tests-k EXPR     pytest -k expression for the CUDA tests (default: "$TESTS_K")
  --tests-s S        time limit of the tests (default: $TESTS_S)
  --staging-n LIST   bench_staging.py --n (default: $STAGING_N)
  --staging-s S      time limit of bench_staging.py (default: $STAGING_S)
  --n LIST           bench_trainer.py --n (default: $TRAINER_N)
  --designs LIST     bench_trainer.py --designs (default: $DESIGNS)
  --naive-max K      bench_trainer.py --naive-max (default: $NAIVE_MAX)
  --init NAME        bench_trainer.py --init (default: $INIT)
  --compile LIST     one bench_trainer.py run per mode; off = eager (default: $COMPILE)
  --trainer-s S      time limit of an eager bench_trainer.py run; compiled: 2x (default: $TRAINER_S)
  --figure N         which figure of the paper preset: 4, 7 or 8 (default: $FIGURE)
  --figure-s S       time limit of the figure (default: $FIGURE_S; 0 skips it)
  --figure-out DIR   the figure's --out; an existing one is resumed (default: paper-out)
  --figure-args STR  further options of 'progfusion figure' (default: "$FIGURE_ARGS")
  --device NAME      cuda, or cpu to try this script on a machine without a GPU (default: $DEVICE)
  --dry-run          print the plan, check it against the code, and exit
  -h, --help         this text
EOF
}

die() { echo "gpu_check.sh: $*" >&2; exit 2; }
need_value() { if [ "$#" -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value"; fi; }
while [ "$#" -gt 0 ]; do
  case $1 in
    --dry-run) DRY_RUN=1; shift; continue ;;
    -h | --help) usage; exit 0 ;;
  esac
  case $1 in
    --out | --python | --venv | --wheels | --budget | --skip | --tests-k | --tests-s | --staging-n | \
      --staging-s | --n | --designs | --naive-max | --init | --compile | --trainer-s | --figure | \
      --figure-s | --figure-out | --figure-args | --device) need_value "$@" ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  case $1 in
    --out) OUT_DIR=$2 ;;
    --python) PY=$2 ;;
    --venv) VENV=$2 ;;
    --wheels) WHEELS=$2 ;;
    --budget) BUDGET=$2 ;;
    --skip) SKIP=$2 ;;
    --tests-k) TESTS_K=$2 ;;
    --tests-s) TESTS_S=$2 ;;
    --staging-n) STAGING_N=$2 ;;
    --staging-s) STAGING_S=$2 ;;
    --n) TRAINER_N=$2 ;;
    --designs) DESIGNS=$2 ;;
    --naive-max) NAIVE_MAX=$2 ;;
    --init) INIT=$2 ;;
    --compile) COMPILE=$2 ;;
    --trainer-s) TRAINER_S=$2 ;;
    --figure) FIGURE=$2 ;;
    --figure-s) FIGURE_S=$2 ;;
    --figure-out) FIGURE_OUT=$2 ;;
    --figure-args) FIGURE_ARGS=$2 ;;
    --device) DEVICE=$2 ;;
  esac
  shift 2
done

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
is_list() { [[ $1 =~ ^[0-9]+(,[0-9]+)*$ ]]; }
for v in BUDGET TESTS_S STAGING_S TRAINER_S FIGURE_S NAIVE_MAX; do
  is_uint "${!v}" || die "$v must be a whole number of seconds or models, got '${!v}'"
done
is_list "$STAGING_N" || die "--staging-n must be like 1024,4096, got '$STAGING_N'"
is_list "$TRAINER_N" || die "--n must be like 1024,4096, got '$TRAINER_N'"
[[ $FIGURE =~ ^[478]$ ]] || die "--figure must be 4, 7 or 8, got '$FIGURE'"
[[ $DEVICE =~ ^(cuda|cpu)$ ]] || die "--device must be cuda or cpu, got '$DEVICE'"
[[ ,$SKIP, =~ ^,((tests|staging|trainer|figure)(,|$))*$ ]] || [ -z "$SKIP" ] \
  || die "--skip takes tests,staging,trainer,figure; got '$SKIP'"
skipped() { [[ ,$SKIP, == *",$1,"* ]]; }
IFS=, read -r -a MODES <<<"$COMPILE"
read -r -a FIG_EXTRA <<<"$FIGURE_ARGS"
case $OUT_DIR in /*) ;; *) OUT_DIR=$PWD/$OUT_DIR ;; esac
case $FIGURE_OUT in /*) ;; *) FIGURE_OUT=$PWD/$FIGURE_OUT ;; esac

# ---- the plan: each step's command, with the venv's interpreter ----------------------
VPY=$VENV/bin/python
TESTS_CMD=("$VPY" -m pytest -q -p no:cacheprovider -rs -k "$TESTS_K" tests)
STAGING_CMD=("$VPY" benchmarks/bench_staging.py --device "$DEVICE" --n "$STAGING_N")
trainer_cmd() {  # $1: compile mode (off: eager)
  TRAINER_CMD=("$VPY" benchmarks/bench_trainer.py --device "$DEVICE" --n "$TRAINER_N"
    --designs "$DESIGNS" --naive-max "$NAIVE_MAX" --init "$INIT" --out "$OUT_DIR/trainer-$1.json")
  [ "$1" = off ] || TRAINER_CMD+=(--compile "$1")
}
FIGURE_CMD=("$VENV/bin/progfusion" figure "$FIGURE" --preset paper --device "$DEVICE"
  "${FIG_EXTRA[@]}" --out "$FIGURE_OUT" --quiet)

quoted() {  # a command as one would type it
  local a out=""
  for a in "$@"; do
    [[ $a =~ ^[A-Za-z0-9_./,:=+@%-]+$ ]] || a="'${a//\'/\'\\\'\'}'"
    out+=" $a"
  done
  echo "${out# }"
}
print_plan() {
  echo "gpu_check.sh plan (budget ${BUDGET}s in all; each limit is cut to what the budget has left)"
  echo "  results:      $OUT_DIR/gpu-check.md, gpu-check.log, trainer-<mode>.json, figure$FIGURE-out.tgz"
  echo "  device:       $DEVICE"
  echo "  install:      $PY -m venv --system-site-packages --without-pip $VENV (+ $PY's own site-packages, pip and setuptools)"
  [ -z "$WHEELS" ] || echo "                $VPY -m pip install --no-index --no-deps $WHEELS/*.whl"
  echo "                $VPY -m pip install --no-index --no-deps --no-build-isolation -e $ROOT"
  skipped tests || echo "  tests (${TESTS_S}s): $(quoted "${TESTS_CMD[@]}")"
  skipped staging || echo "  staging (${STAGING_S}s): $(quoted "${STAGING_CMD[@]}")"
  if ! skipped trainer; then
    for m in "${MODES[@]}"; do
      trainer_cmd "$m"
      echo "  trainer, $m ($(trainer_limit "$m")s): $(quoted "${TRAINER_CMD[@]}")"
    done
  fi
  if ! skipped figure && [ "$FIGURE_S" -gt 0 ]; then
    echo "  figure (${FIGURE_S}s at most, resumable): $(quoted "${FIGURE_CMD[@]}")"
  fi
}
trainer_limit() { if [ "$1" = off ]; then echo "$TRAINER_S"; else echo $((2 * TRAINER_S)); fi; }

# Static checks, no Python needed: every file the plan runs exists and every option it
# passes is still defined there, so a renamed option fails in CI rather than on a GPU.
check_plan() {
  local bad=0 f opt m
  for f in benchmarks/bench_staging.py benchmarks/bench_trainer.py figures/parser.py tests; do
    [ -e "$ROOT/$f" ] || { echo "missing: $f" >&2; bad=1; }
  done
  for opt in --device --n; do
    grep -q -- "\"$opt\"" "$ROOT/benchmarks/bench_staging.py" \
      || { echo "bench_staging.py has no $opt" >&2; bad=1; }
  done
  for opt in --device --n --designs --naive-max --init --out --compile; do
    grep -q -- "\"$opt\"" "$ROOT/benchmarks/bench_trainer.py" \
      || { echo "bench_trainer.py has no $opt" >&2; bad=1; }
  done
  for opt in --preset --device --out --quiet "${FIG_EXTRA[@]}"; do
    [[ $opt == --* ]] || continue
    grep -q -- "\"$opt\"" "$ROOT/figures/parser.py" || { echo "figures/parser.py has no $opt" >&2; bad=1; }
  done
  for m in "${MODES[@]}"; do
    [ "$m" = off ] || grep -q -- "\"$m\"" "$ROOT/models/training.py" \
      || { echo "models/training.py has no compile mode $m" >&2; bad=1; }
  done
  grep -q 'progfusion = "progfusion.figures.cli:main"' "$ROOT/pyproject.toml" \
    || { echo "pyproject.toml has no progfusion script" >&2; bad=1; }
  return "$bad"
}

if [ "$DRY_RUN" = 1 ]; then
  print_plan
  check_plan || die "the plan does not match the code (see above)"
  echo "dry run: plan checked, nothing run"
  exit 0
fi

# ---- the run -----------------------------------------------------------------------
cd "$ROOT" || exit 2
export PYTHONUNBUFFERED=1
mkdir -p "$OUT_DIR" || die "cannot create $OUT_DIR"
MD=$OUT_DIR/gpu-check.md
LOG=$OUT_DIR/gpu-check.log
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
START=$(date +%s)
FAILED=0
: >"$LOG"

left() { echo $((BUDGET - ($(date +%s) - START))); }
note() { echo "$*" | tee -a "$LOG"; }
md() { printf '%s\n' "$@" >>"$MD"; }

# run_step NAME LIMIT CMD...: runs CMD under `timeout` (SIGTERM to its process group,
# SIGKILL 15 s later), for at most LIMIT seconds or what the budget has left; its output
# goes to the terminal and the log as it comes, and its last lines, exit status and time
# to the summary. The figure keeps every finished stack when stopped (atomic part files).
STEP_RC=""
run_step() {
  local name=$1 limit=$2 remaining t0 secs status
  shift 2
  remaining=$(left)
  [ "$limit" -le "$((remaining - 15))" ] || limit=$((remaining - 15))
  STEP_RC=""
  if [ "$limit" -lt 20 ]; then
    note "== $name: skipped (budget spent)"
    md "### $name" "" "skipped: the budget (${BUDGET}s) was spent" ""
    return 0
  fi
  note "== $name (at most ${limit}s): $(quoted "$@")"
  t0=$(date +%s)
  timeout -k 15 "$limit" "$@" 2>&1 | tee "$WORK/step.txt" | tee -a "$LOG"
  STEP_RC=${PIPESTATUS[0]}
  secs=$(($(date +%s) - t0))
  case $STEP_RC in
    0) status="ok" ;;
    124 | 137) status="stopped by its ${limit}s limit" ;;
    *) status="failed (exit $STEP_RC)"; FAILED=1 ;;
  esac
  note "== $name: $status after ${secs}s"
  md "### $name" "" "\`$(quoted "$@")\`" "" "$status after ${secs}s; its last lines:" "" '```'
  tail -n 40 "$WORK/step.txt" >>"$MD"
  md '```' ""
}

COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null) || COMMIT=""
if [ -z "$COMMIT" ]; then
  COMMIT="unknown (not a git checkout)"
elif ! git -C "$ROOT" diff --quiet HEAD 2>/dev/null; then
  COMMIT="$COMMIT (with uncommitted changes)"
fi
{
  echo "# GPU check, $(date -u '+%Y-%m-%d %H:%M') UTC"
  echo
  echo "\`benchmarks/gpu_check.sh\` at commit $COMMIT, budget ${BUDGET}s."
  echo
} >"$MD"

# -- install: a venv that sees the machine's packages, progfusion installed into it ----
note "== install"
# one line per site-packages folder of $PY; addsitedir also runs the .pth files there
host_sites=$("$PY" -c 'import site
for p in site.getsitepackages(): print(f"import site; site.addsitedir({p!r})")') \
  || die "$PY cannot run"
host_torch=$("$PY" -c 'import torch; print(torch.__version__, torch.__file__)' 2>&1 | tail -n 1)
if [ -e "$VENV" ]; then  # remove only an earlier virtual environment
  [ -f "$VENV/pyvenv.cfg" ] || die "$VENV exists and is not a virtual environment"
  rm -rf "$VENV"
fi
# --system-site-packages alone sees the *base* interpreter's packages; when $PY is
# itself a virtual environment (as on our GPU machine), its packages (torch among
# them) are added by a .pth file, after the new venv's own. No pip of the venv's own:
# $PY's pip and setuptools build and install (a fresh venv's could be older).
"$PY" -m venv --system-site-packages --without-pip "$VENV" >>"$LOG" 2>&1 || die "cannot create $VENV"
venv_site=$("$VPY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
printf '%s\n' "$host_sites" >"$venv_site/_host_site_packages.pth"
if ! "$VPY" -m pip --version >>"$LOG" 2>&1; then
  note "$PY has no pip: the venv gets its own (ensurepip)"
  "$VPY" -m ensurepip >>"$LOG" 2>&1 || die "no pip for $VENV"
fi
pip_install() { "$VPY" -m pip install --no-index --no-deps --disable-pip-version-check "$@"; }
if [ -n "$WHEELS" ]; then
  pip_install "$WHEELS"/*.whl >>"$LOG" 2>&1 || note "installing the wheels in $WHEELS failed"
fi
if ! pip_install --no-build-isolation -e "$ROOT" >>"$LOG" 2>&1; then
  note "installing progfusion failed (see the log; it needs setuptools>=68 and wheel)"
  md "Install failed: \`pip install --no-index --no-deps --no-build-isolation -e .\` (see gpu-check.log)."
  exit 1
fi
venv_torch=$("$VPY" -c 'import torch; print(torch.__version__, torch.__file__)' 2>&1 | tail -n 1)
# what progfusion requires, then what its dev extra adds for the tests (but ruff), read
# from its installed metadata, that no distribution here provides: two lines
missing=$("$VPY" - <<'EOF'
import re
from importlib import metadata

def absent(name):
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return True
    return False

need, dev = [], []
for req in metadata.requires("progfusion") or []:
    name = re.match(r"[A-Za-z0-9._-]+", req).group()
    if "extra ==" not in req:
        need.append(name)
    elif '"dev"' in req and name != "ruff":
        dev.append(name)
print(" ".join(n for n in need if absent(n)))
print(" ".join(n for n in dev if absent(n)))
EOF
)
missing_run=$(sed -n 1p <<<"$missing")
missing_dev=$(sed -n 2p <<<"$missing")
missing="$missing_run${missing_run:+${missing_dev:+ }}$missing_dev"
"$VPY" - >"$WORK/env.txt" 2>&1 <<'EOF'
import os, platform, sys
import torch
print(f"- Python {platform.python_version()} ({sys.executable}), {os.cpu_count()} CPUs")
print(f"- torch {torch.__version__}, CUDA {torch.version.cuda}, "
      f"GPU: {torch.cuda.get_device_name() if torch.cuda.is_available() else 'none'}")
EOF
smi=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -n 1)
{
  echo "## Environment"
  echo
  cat "$WORK/env.txt"
  [ -z "$smi" ] || echo "- nvidia-smi: $smi"
  if [ "$host_torch" = "$venv_torch" ]; then
    echo "- the machine's torch was kept: \`$venv_torch\`"
  else
    echo "- **torch changed**: \`$host_torch\` for $PY, \`$venv_torch\` in the venv"
  fi
  echo "- missing dependencies: ${missing:-none}"
  echo
} >>"$MD"
tee -a "$LOG" <"$WORK/env.txt"
note "torch for $PY: $host_torch; in the venv: $venv_torch; missing: ${missing:-none}"
if [ -n "$missing_run" ]; then
  note "progfusion needs $missing_run, not installed here: bring wheels (--wheels DIR)"
  md "Nothing run: progfusion needs **$missing_run**, not installed here; download the" \
    "wheels elsewhere (\`pip download --no-deps -d wheels NAME\`) and pass \`--wheels wheels\`."
  exit 1
fi
[ -z "$missing_dev" ] || note "the tests need $missing_dev, not installed here (--wheels DIR)"
if [ "$DEVICE" = cuda ] \
  && ! "$VPY" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())' 2>>"$LOG"; then
  note "no CUDA device visible to torch in $VENV: nothing to measure"
  md "No CUDA device was visible to torch: nothing measured."
  exit 1
fi

# -- the steps ------------------------------------------------------------------------
md "## Steps" ""
skipped tests || run_step "CUDA tests" "$TESTS_S" "${TESTS_CMD[@]}"
skipped staging || run_step "bench_staging.py" "$STAGING_S" "${STAGING_CMD[@]}"
if ! skipped trainer; then
  for m in "${MODES[@]}"; do
    trainer_cmd "$m"
    run_step "bench_trainer.py, compile $m" "$(trainer_limit "$m")" "${TRAINER_CMD[@]}"
  done
fi
if ! skipped figure && [ "$FIGURE_S" -gt 0 ]; then
  run_step "figure $FIGURE, paper preset" "$FIGURE_S" "${FIGURE_CMD[@]}"
  if [ -d "$FIGURE_OUT" ]; then
    tar czf "$OUT_DIR/figure$FIGURE-out.tgz" -C "$(dirname "$FIGURE_OUT")" "$(basename "$FIGURE_OUT")"
    files=$(find "$FIGURE_OUT" -type f | wc -l)
    md "Figure output: $files files in \`$FIGURE_OUT\`, saved as \`figure$FIGURE-out.tgz\`$(
      [ "$STEP_RC" = 0 ] && echo '; the figure finished.' \
        || echo '; unfinished (resume by extracting it and running again).')" ""
  fi
fi

total=$(($(date +%s) - START))
md "Total: ${total}s of the ${BUDGET}s budget$([ "$FAILED" = 0 ] || echo '; a step failed')."
note "== done in ${total}s: $MD"
exit "$FAILED"
