#!/usr/bin/env bash
# MeTRAbs on the frozen BlazePose network, and the 2.5D baseline of the truncation experiment.
#
# Stages (each resumes / is skipped when its output is complete):
#   1. the rendered people of scripts/train_capf.sh (RENDERS, default cache/capf/renders:
#      train_a, train_b = 10,240 train-split people; val = 1,500 held-out-motion people);
#   2. crop feature cache: CROPS random training crops per person (framing jitter, partial
#      visibility, roll, flip; monopose.metrabs.augment) through the frozen landmark network,
#      and the fixed truncation crops of the val renders (whole body, 20 % and 40 % cut off),
#      two processes (monopose data metrabs-crops; 161 kB per crop);
#   3. train metrabs-blazepose (exported to monopose/models/weights/) and the 2.5D baseline
#      (exported to runs/) identically (STEPS steps), side by side on one core each.
#
# Usage: nohup scripts/train_metrabs.sh > cache/metrabs/train_metrabs.out 2>&1 &
# Environment: PY, MONOPOSE (default: next to PY), RENDERS (cache/capf/renders), OUT (cache/metrabs), CROPS (2), STEPS (3000), TRAIN_MIN (50).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
MONOPOSE=${MONOPOSE:-$(dirname "$PY")/monopose}
RENDERS=${RENDERS:-cache/capf/renders}
OUT=${OUT:-cache/metrabs}
CROPS=${CROPS:-2}
TRAIN_MIN=${TRAIN_MIN:-50}
STEPS=${STEPS:-3000}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p "$OUT"
log() { echo "[$(date -u +%FT%TZ)] $*" | tee -a "$OUT/train_metrabs.log"; }

for d in train_a train_b val; do
    [ -d "$RENDERS/$d" ] || { echo "missing $RENDERS/$d: run scripts/train_capf.sh first" >&2; exit 1; }
done
log "crop feature caches"
for p in 0 1; do
    ( "$MONOPOSE" data metrabs-crops "$RENDERS/train_a" "$RENDERS/train_b" --out "$OUT/train" \
          --crops "$CROPS" --part "$p/2" > "$OUT/build_train_$p.log" 2>&1 &&
      "$MONOPOSE" data metrabs-crops "$RENDERS/val" --out "$OUT/val_trunc" --mode eval \
          --part "$p/2" > "$OUT/build_val_$p.log" 2>&1 ) &
done
wait
log "train metrabs-blazepose and the 2.5D baseline (${TRAIN_MIN} min each, side by side)"
for cfg in metrabs-blazepose metrabs-blazepose-25d; do
    "$MONOPOSE" train "monopose/train/configs/$cfg.yaml" --max-time-min "$TRAIN_MIN" \
        --max-steps "$STEPS" --resume --run-dir "runs/$cfg" > "$OUT/train_$cfg.log" 2>&1 &
done
wait
log "done"
