#!/usr/bin/env bash
# Context-Aware PoseFormer on BlazePose feature patches, and its context-free control.
#
# Stages (each resumes / is skipped when its output is complete):
#   1. render NTRAIN people from the mocap cache's train split and NVAL from its val split
#      (held-out motions), 256² (monopose data render);
#   2. run the frozen detector once per image and cache keypoints, validity and 5×5 patches of
#      the four feature levels per joint (float16, 279 kB/sample): monopose data capf-features;
#   3. train capf-blazepose-t1 and poseformer-ctxfree-synth identically (same data, detector 2D,
#      flips, STEPS steps with a cosine schedule), one after the other on both cores, and export
#      both to monopose/models/weights/.
#
# Usage: nohup scripts/train_capf.sh > cache/capf/train_capf.out 2>&1 &
# Environment: PY, MONOPOSE (default: next to PY), OUT (default cache/capf), NTRAIN (10240), NVAL (1500), STEPS (2200), TRAIN_MIN (30),
#              MOCAP (cache/mocap).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=${OUT:-cache/capf}
NTRAIN=${NTRAIN:-10240}
NVAL=${NVAL:-1500}
TRAIN_MIN=${TRAIN_MIN:-30}
STEPS=${STEPS:-2200}
MOCAP=${MOCAP:-cache/mocap}
MONOPOSE=${MONOPOSE:-$(dirname "$PY")/monopose}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p "$OUT"
log() { echo "[$(date -u +%FT%TZ)] $*" | tee -a "$OUT/train_capf.log"; }

# Two train render sets (seeds 0 and 2, NTRAIN/2 each) render and cache side by side, one
# process per core; the cache folder holds both (features-a*.npz, features-b*.npz).
HALF=$((NTRAIN / 2))
if [ "${SKIP_RENDER:-0}" != 1 ]; then
    log "render $NVAL val + $NTRAIN train people"
    "$MONOPOSE" data render --n "$NVAL" --out "$OUT/renders/val" --split val --seed 1 \
        --workers 1 --mocap "$MOCAP" > "$OUT/render_val.log" 2>&1 &
    "$MONOPOSE" data render --n "$HALF" --out "$OUT/renders/train_a" --split train --seed 0 \
        --workers 1 --mocap "$MOCAP" > "$OUT/render_train_a.log" 2>&1 &
    wait
    "$MONOPOSE" data render --n "$HALF" --out "$OUT/renders/train_b" --split train --seed 2 \
        --workers 1 --mocap "$MOCAP" > "$OUT/render_train_b.log" 2>&1 &
    "$MONOPOSE" data capf-features "$OUT/renders/val" "$OUT/features/val" \
        > "$OUT/cache_val.log" 2>&1
    wait
fi

log "feature cache"
"$MONOPOSE" data capf-features "$OUT/renders/train_a" "$OUT/features/train" --tag a \
    > "$OUT/cache_train_a.log" 2>&1 &
"$MONOPOSE" data capf-features "$OUT/renders/train_b" "$OUT/features/train" --tag b \
    > "$OUT/cache_train_b.log" 2>&1 &
wait
"$MONOPOSE" data capf-features "$OUT/renders/val" "$OUT/features/val" > "$OUT/cache_val.log" 2>&1

# The shipped weights: both models trained identically, the same STEPS (cosine schedule over
# them), one after the other on both cores; TRAIN_MIN only caps each run's wall-clock time.
log "train both models ($STEPS steps each, at most $TRAIN_MIN min each)"
for name in capf-blazepose-t1 poseformer-ctxfree-synth; do
    OMP_NUM_THREADS=2 "$MONOPOSE" train "monopose/train/configs/$name.yaml" \
        --set "data.cache=$OUT/features" --set "trainer.num_threads=2" \
        --max-time-min "$TRAIN_MIN" --max-steps "$STEPS" --resume \
        --run-dir "$OUT/runs/$name" > "$OUT/train_$name.log" 2>&1
done
log "done"
