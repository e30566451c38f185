#!/usr/bin/env bash
# Regenerate every benchmark JSON under bench/results/, one after the other, then render
# docs/BENCHMARKS.md from them (python -m bench.report).
#
#   bench/run_all.sh                 # everything; distillation in the quick CPU setting
#   bench/run_all.sh --kd full       # distillation as reported (hours on a CPU; see below)
#   bench/run_all.sh --kd skip       # keep the kd_*.json that are there
#   bench/run_all.sh --only soak     # one benchmark (repeatable), then the report
#
# Needs PostgreSQL on 127.0.0.1:5432 (trust auth; each benchmark makes and drops its own
# database), the mosquitto binaries, and the venv (`pip install -e '.[cloud,dev]'`).
# Each JSON records its own wall time (wall_s). The longest parts: the soak (SOAK_MINUTES,
# default 10) and, on a first run, the student that edge_throughput trains and
# alert_latency reuses (cached in bench/runs/edge; its train_wall_s is in both JSONs).
#
# Distillation (--kd):
#   quick  bench.kd_quality --dataset synthetic --seeds 0 --clips-per-class 20 --epochs 5
#          --teacher-epochs 5 --no-sweep -> kd_synthetic_quick.json: a CPU-feasible check
#          that the pipeline runs end to end, NOT the quality figure;
#   full   bench.kd_quality --dataset synthetic, and --dataset upfall when VIGIL_DATA_ROOT
#          (default ../shared/data) holds upfall-s1: three seeds with the sweep, 1-2 hours
#          per seed on this VM; on a GPU machine use bench/run_kd_gpu.sh instead;
#   skip   nothing.
# A benchmark that fails is reported at the end and the others still run; the exit
# status is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-.venv/bin/python}
KD=quick
ONLY=()
while [ $# -gt 0 ]; do
  case "$1" in
    --kd) KD=${2:?--kd quick|full|skip}; shift 2 ;;
    --only) ONLY+=("${2:?--only NAME}"); shift 2 ;;
    -h|--help) sed -n '2,/^set -uo/{/^set -uo/!p}' "$0"; exit 0 ;;
    *) echo "run_all: unknown argument $1" >&2; exit 2 ;;
  esac
done

case "$KD" in quick|full|skip) ;; *) echo "run_all: --kd quick|full|skip, not $KD" >&2; exit 2 ;; esac

failed=()
wanted() {
  [ ${#ONLY[@]} -eq 0 ] && return 0
  local name
  for name in "${ONLY[@]}"; do [ "$name" = "$1" ] && return 0; done
  return 1
}
run() {  # run NAME COMMAND...: one benchmark, its failure noted, never fatal
  local name=$1; shift
  wanted "$name" || return 0
  echo "== $name: $*"
  local started=$SECONDS
  if ! "$@"; then failed+=("$name"); fi
  echo "== $name: $((SECONDS - started)) s"
}
optional() {  # optional NAME MODULE ARGS...: another engineer's benchmark, if it exists yet
  local name=$1 module=$2; shift 2
  local script="${module//.//}.py"
  if [ -f "$script" ]; then run "$name" "$PY" -m "$module" "$@"; else echo "== $name: $script absent, skipped"; fi
}

run edge_throughput "$PY" -m bench.edge_throughput
run ingest "$PY" -m bench.ingest
run ingest_rate8000 "$PY" -m bench.ingest --rate 8000 --seconds 30 \
  --out bench/results/ingest_rate8000.json
run alert_latency "$PY" -m bench.alert_latency
run window_phase "$PY" -m bench.window_phase
run soak "$PY" -m bench.soak --minutes "${SOAK_MINUTES:-10}"
optional faults bench.faults
# Falls in datasets and people never seen: every split, 3 seeds (hours on this VM; the
# landmark cache, .benchdata/pose, is filled on the first run).
if [ -f "${VIGIL_DATA_ROOT:-../shared/data}/le2i-coffee/manifest.csv" ]; then
  run generalise "$PY" -m bench.generalise --unlabeled-heldout
else
  echo "== generalise: no le2i-coffee under ${VIGIL_DATA_ROOT:-../shared/data}, skipped"
fi
optional bad_inputs bench.bad_inputs

case "$KD" in
  quick)
    run kd_quality "$PY" -m bench.kd_quality --dataset synthetic --seeds 0 \
      --clips-per-class 20 --epochs 5 --teacher-epochs 5 --no-sweep \
      --out bench/results/kd_synthetic_quick.json ;;
  full)
    run kd_quality "$PY" -m bench.kd_quality --dataset synthetic
    if [ -f "${VIGIL_DATA_ROOT:-../shared/data}/upfall-s1/manifest.csv" ]; then
      run kd_upfall "$PY" -m bench.kd_quality --dataset upfall
    else
      echo "== kd_upfall: no upfall-s1 under ${VIGIL_DATA_ROOT:-../shared/data}, skipped"
    fi ;;
  skip) echo "== kd_quality: skipped (--kd skip)" ;;
esac

"$PY" -m bench.report || failed+=(report)
if [ ${#failed[@]} -gt 0 ]; then
  echo "run_all: failed: ${failed[*]}" >&2
  exit 1
fi
echo "run_all: every benchmark ran; docs/BENCHMARKS.md regenerated"
