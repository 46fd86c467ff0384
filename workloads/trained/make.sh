#!/bin/sh
# Regenerate the bundled trained workloads: train ResNet-20 (width 0.5, 16x16 input) on the
# digits that ship with scikit-learn, baseline first (the teacher of the other three), then
# trace every exported checkpoint. Run from the repository root; one torch thread, about
# 8 minutes on one core. Training is deterministic: the same torch build on the same kind of
# CPU gives the same checkpoints; tracing a checkpoint is byte-identical everywhere.
set -e
OUT=workloads/trained
RUNS=${RUNS:-runs/trained}
NET="resnet20 --width 0.5 --resolution 16 --data digits --epochs 30,10,5 --lr 0.1,0.01,0.001 --threads 1"
accelsim train $NET --variant baseline --run $RUNS/baseline --export $OUT/checkpoints/resnet20_0.5_16px_baseline_digits.pt
TEACHER="--teacher $OUT/checkpoints/resnet20_0.5_16px_baseline_digits.pt"
accelsim train $NET --variant twn $TEACHER --run $RUNS/twn --export $OUT/checkpoints/resnet20_0.5_16px_twn_digits.pt
accelsim train $NET --variant strassen $TEACHER --run $RUNS/strassen --export $OUT/checkpoints/resnet20_0.5_16px_strassen_r1_digits.pt
accelsim train $NET --variant hybrid --alpha 0.5 $TEACHER --run $RUNS/hybrid --export $OUT/checkpoints/resnet20_0.5_16px_hybrid_a0.5_r1_digits.pt
for ck in $OUT/checkpoints/*.pt; do
    name=$(basename "$ck" .pt)
    accelsim trace --checkpoint "$ck" -o "$OUT/$name.json"
done
