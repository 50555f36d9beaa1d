#!/usr/bin/env bash
# Reruns the whole shipped training of the lifters on ../shared/mocap (through the mocap cache).
#
# Two lanes run side by side (one torch thread each; the development machines have 2 cores):
#   lane A: mpm-pretrain (15 min) -> mpm-lift-t1 (30 min) -> mpm-lift-t27 (18 min)
#   lane B: baseline-t1 (8 min) -> poseformer-t1 (12 min) -> mpm-lift-t1-scratch (30 min)
# i.e. about 65 min of wall-clock in all (plus start-up and final validation of each stage).
# Every stage has a wall-clock budget (trainer.max_time_min in its YAML), checkpoints into
# runs/<name>/checkpoints/ and resumes from last.ckpt, so rerunning this script after an
# interruption continues where it stopped. A finished stage (runs/<name>/summary.json exists) is
# skipped unless RETRAIN=1 (which resumes it, e.g. after raising its budget). Logs: runs/*.log.
# Exported weights: monopose/models/weights/<name>.safetensors + .json.
#
# Usage (from anywhere):   nohup scripts/train_all.sh > runs/train_all.out 2>&1 &
# Environment: PY (python, default .venv/bin/python), RUNS (run folder, default runs; the
#              fine-tuning configs read runs/mpm-pretrain/checkpoints/last.ckpt),
#              CACHE (mocap cache, default cache/mocap; built from ../shared/mocap if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-runs}
CACHE=${CACHE:-cache/mocap}
CONFIGS=monopose/train/configs
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p "$RUNS"

log() { echo "[$(date -u +%FT%TZ)] $*" | tee -a "$RUNS/train_all.log"; }

if [ ! -f "$CACHE/mocap.npz" ]; then
    log "building the mocap cache in $CACHE"
    "$PY" -c "import sys; from monopose.data.mocap_cache import build_mocap_cache as b; \
print(b(None, sys.argv[1], progress=False))" "$CACHE" >> "$RUNS/cache.log" 2>&1
fi

stage() {
    local name=$1 start end
    if [ -f "$RUNS/$name/summary.json" ] && [ "${RETRAIN:-0}" != 1 ]; then
        log "skip  $name (finished: $RUNS/$name/summary.json)"
        return 0
    fi
    start=$(date +%s)
    log "start $name"
    if "$PY" -m monopose.train "$CONFIGS/$name.yaml" --resume --run-dir "$RUNS/$name" \
        >> "$RUNS/$name.log" 2>&1; then
        end=$(date +%s)
        log "done  $name in $(( (end - start) / 60 )) min $(( (end - start) % 60 )) s: $(grep -E "^$name: " "$RUNS/$name.log" | tail -n 1)"
    else
        log "FAILED $name (see $RUNS/$name.log)"
        return 1
    fi
}

lane_a() { stage mpm-pretrain && stage mpm-lift-t1 && stage mpm-lift-t27; }
lane_b() { stage baseline-t1 && stage poseformer-t1 && stage mpm-lift-t1-scratch; }

log "train_all: start"
lane_a & pid_a=$!
lane_b & pid_b=$!
status=0
wait "$pid_a" || status=1
wait "$pid_b" || status=1
log "train_all: end (status $status)"
exit "$status"
