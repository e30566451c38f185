#!/usr/bin/env bash
# kd_quality on a one-GPU machine: the three dataset/split runs side by side, each
# writing its JSON after every seed (so a run cut short keeps what it finished).
# Usage, from the repository root: bench/run_kd_gpu.sh OUT_DIR   (VIGIL_DATA_ROOT must hold
# upfall-s1)
set -u
out=${1:?output folder}
common=(--device cuda --workers 4 --epochs 25 --teacher-epochs 30 --patience 8)
export OMP_NUM_THREADS=2 PYTHONUNBUFFERED=1
python3 -m bench.kd_quality --dataset synthetic "${common[@]}" --work /tmp/kd-synth \
  --out "$out/kd_synthetic.json" >"$out/synthetic.log" 2>&1 &
python3 -m bench.kd_quality --dataset upfall --split trials_1_2_to_3 "${common[@]}" \
  --work /tmp/kd-trial --out "$out/kd_upfall_trial.json" >"$out/trial.log" 2>&1 &
python3 -m bench.kd_quality --dataset upfall --split camera_1_to_2 "${common[@]}" \
  --work /tmp/kd-camera --out "$out/kd_upfall_camera.json" >"$out/camera.log" 2>&1 &
wait
ls "$out"/kd_upfall_*.json >/dev/null 2>&1 && python3 -m bench.kd_quality --dataset upfall \
  --merge "$out"/kd_upfall_*.json --out "$out/kd_upfall.json"
grep -h "seed" "$out"/*.log | grep "clip acc"
