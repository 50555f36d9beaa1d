#!/usr/bin/env bash
# Reruns the whole shipped training of the lifters on ../shared/mocap (through the mocap cache).
#
# Two lanes run side by side (one torch thread each; the development machines have 2 cores):
#   lane A: mpm-pretrain (20 min) -> mpm-lift-t1 (45 min) -> mpm-lift-t1-complete (25 min, the
#           second fine-tuning stage with the 3D completion term; exports mpm-lift-t1 again)
#           -> mpm-lift-t1-scratch (30 min)
#   lane B: poseformer-t1 (15 min) -> poseformer-t1-imageframe (15 min, the ablation control of
#           perspective-aware lifting, exported to runs/ablation) -> baseline-t1 (10 min)
#           -> mpm-lift-t27 (20 min, after lane A's pre-training)
# i.e. about 90 min for the default model and 120 min in all (plus start-up and validation).
# STOP_AFTER_DEFAULT=1 ends lane A after mpm-lift-t1-complete.
# Every stage has a wall-clock budget (trainer.max_time_min in its YAML), checkpoints into
# runs/<name>/checkpoints/ and resumes from last.ckpt, so rerunning this script after an
# interruption continues where it stopped. A finished stage (runs/<name>/summary.json exists) is
# skipped unless RETRAIN=1 (which resumes it, e.g. after raising its budget). Logs: runs/*.log.
# Exported weights: monopose/models/weights/<name>.safetensors + .json.
#
# Usage (from anywhere):   nohup scripts/train_all.sh > runs/train_all.out 2>&1 &
# Environment: PY (python, default .venv/bin/python), MONOPOSE (the command, default the one next
#              to PY), RUNS (run folder, default runs; the
#              fine-tuning configs read runs/mpm-pretrain/checkpoints/last.ckpt),
#              CACHE (mocap cache, default cache/mocap; built from ../shared/mocap if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
MONOPOSE=${MONOPOSE:-$(dirname "$PY")/monopose}
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
    if "$MONOPOSE" train "$CONFIGS/$name.yaml" --resume --run-dir "$RUNS/$name" \
        >> "$RUNS/$name.log" 2>&1; then
        end=$(date +%s)
        log "done  $name in $(( (end - start) / 60 )) min $(( (end - start) % 60 )) s: $(grep -E "^$name: " "$RUNS/$name.log" | tail -n 1)"
    else
        log "FAILED $name (see $RUNS/$name.log)"
        return 1
    fi
}

# Fine-tuning the temporal model needs the pre-trained checkpoint of lane A.
wait_for() { while [ ! -f "$RUNS/$1/summary.json" ]; do sleep 30; done; }
lane_a() {
    stage mpm-pretrain && stage mpm-lift-t1 && stage mpm-lift-t1-complete \
        && { [ "${STOP_AFTER_DEFAULT:-0}" = 1 ] || stage mpm-lift-t1-scratch; }
}
lane_b() {
    stage poseformer-t1 && stage poseformer-t1-imageframe && stage baseline-t1 \
        && wait_for mpm-pretrain && stage mpm-lift-t27
}

log "train_all: start"
lane_a & pid_a=$!
lane_b & pid_b=$!
status=0
wait "$pid_a" || status=1
wait "$pid_b" || status=1
log "train_all: end (status $status)"
exit "$status"
