#!/bin/bash
# After general6's corrector is trained: stop the bench and run its held-out rows in the order
# that matters for issue 24's transfer target (the bench, rerun, reuses every finished row).
cd /work/main && . .venv/bin/activate
OUT=runs/general6
while [ ! -f $OUT/corrector/train.json ]; do sleep 20; done
sleep 5
for pid in $(pgrep -f "bench/general.py --out $OUT"); do pkill -P $pid; kill $pid; done; sleep 2
row() {  # task name extra-options...
  t=$1; name=$2; shift 2
  d=$OUT/$t/$name; mkdir -p $d
  [ -f $d/metrics.json ] && return
  cmd="correct generate --task docs/examples/$t/$t.yaml --split test --limit 200 --generator smollm2 --shots 3 --seed 0 $* --output $d/eval.jsonl --metrics $d/metrics.json"
  echo "$cmd" > $d/generate.txt; echo "\$ $cmd"
  r=""; [ -f $d/eval.jsonl ] && r="--resume"; $cmd $r 2>&1 | tail -3
}
C="--corrector $OUT/corrector --refine failing"
R="--rounds 3 --no-baseline"
row constrained-sentences general-failing-best-of-4 $C --correction-samples 4 $R
row dictionaries general-failing-best-of-4 $C --correction-samples 4 $R
row order-forms general-failing-best-of-8 $C --correction-samples 8 $R
for t in constrained-sentences dictionaries order-forms; do row $t general-failing $C $R; done
row order-forms general-failing-best-of-4 $C --correction-samples 4 $R
row long-sentences general-failing $C $R
row long-sentences general-failing-best-of-4 $C --correction-samples 4 $R
echo ROWS DONE
