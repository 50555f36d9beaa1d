#!/usr/bin/env bash
# Builds the render sets whose detector 2D the lifter configs with data.detected_renders mix into
# training (mpm-lift-t1-detected.yaml, mpm-lift-t1-floorsit-detected.yaml): 18,000 people from
# the train split of the mocap, rendered (monopose data render) and passed through BlazePose once
# (monopose data detect, which writes detections.npz into each folder). About 6 min of
# rendering and 10 min of detection on 2 cores. Both steps resume: complete shards and a
# complete detections.npz are kept.
#
# Usage (from anywhere):   scripts/build_detected_renders.sh
# Environment: MONOPOSE (the command, default .venv/bin/monopose), CACHE (mocap cache, default
#              cache/mocap), OUT (default cache/detfit).
set -euo pipefail
cd "$(dirname "$0")/.."
MONOPOSE=${MONOPOSE:-.venv/bin/monopose}
CACHE=${CACHE:-cache/mocap}
OUT=${OUT:-cache/detfit}
render() { "$MONOPOSE" data render --workers 2 --mocap "$CACHE" --split train "$@"; }

render --n 2500 --out "$OUT/floorsits" --seed 21 --floor-sits
render --n 5000 --out "$OUT/floorsits2" --seed 24 --floor-sits
render --n 1500 --out "$OUT/postures" --seed 22 --postures low,floor,lying
render --n 3000 --out "$OUT/postures2" --seed 25 --postures low,floor,lying
render --n 2000 --out "$OUT/general" --seed 23
render --n 4000 --out "$OUT/general2" --seed 26
# two detector processes, one core each
"$MONOPOSE" data detect "$OUT/floorsits" "$OUT/floorsits2" "$OUT/general2" &
"$MONOPOSE" data detect "$OUT/postures" "$OUT/postures2" "$OUT/general"
wait
