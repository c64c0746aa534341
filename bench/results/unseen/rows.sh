#!/bin/bash
# The rows of bench/results/unseen/README.md: the shipped general corrector (`--corrector general`)
# and the baselines on three tasks written after it was trained. Two queues side by side, one
# torch thread each: `rows.sh rows` (the corrector's and the baselines' rows) and `rows.sh recipe`
# (a corrector trained on each task alone, then its row). Every row is one `correct generate`
# that resumes; a finished row (its metrics.json) is skipped. Outputs go to runs/unseen/.
cd "$(dirname "$0")/../../.." && . .venv/bin/activate
OUT=runs/unseen
TASKS="time-functions match-reports slogan-rules"
row() {  # task name options...
  t=$1; name=$2; shift 2
  d=$OUT/$t/$name; mkdir -p $d
  [ -f $d/metrics.json ] && return
  cmd="correct generate --task docs/examples/$t/$t.yaml --split test --limit 200 --generator smollm2 --shots 3 --seed 0 --threads 1 $* --output $d/eval.jsonl --metrics $d/metrics.json"
  echo "$cmd" > $d/generate.txt; echo "\$ $cmd"
  r=""; [ -f $d/eval.jsonl ] && r="--resume"; $cmd $r 2>&1 | tail -3
}
R="--rounds 3 --no-baseline"
if [ "$1" = rows ]; then
  for t in $TASKS; do row $t none --rounds 0 --no-baseline; done
  for t in $TASKS; do row $t general-failing --corrector general --refine failing $R; done
  for t in $TASKS; do row $t general-failing-best-of-4 --corrector general --refine failing --correction-samples 4 $R; done
  for t in $TASKS; do row $t vote@4 --rounds 0 --baseline-samples 4 --baseline-temperature 0.7; done
  for t in $TASKS; do row $t best@8 --rounds 0 --baseline-samples 8 --baseline-temperature 0.7 --baseline-pick best; done
  for t in $TASKS; do row $t self-failing-best-of-4 --corrector self --refine failing --correction-samples 4 $R; done
  for t in $TASKS; do row $t self-failing --corrector self --refine failing $R; done
elif [ "$1" = recipe ]; then
  for t in $TASKS; do
    d=$OUT/$t/train-recipe
    cmd="correct train --task docs/examples/$t/$t.yaml --generator smollm2 --shots 3 --init smollm2 \
      --lora-r 16 --learning-rate 0.0005 --limit 600 --samples 4 --temperature 0.5 --iterations 2 --steps 100 \
      --batch-size 8 --explore 200 --eval-limit 0 --seed 0 --threads 1 --output $d --resume"
    # train.json (the command) is written once training has finished: a later run skips it
    [ -f $d/train.json ] || { $cmd 2>&1 | tail -3; [ ${PIPESTATUS[0]} = 0 ] \
      && python -c 'import json,sys; print(json.dumps({"command": " ".join(sys.argv[1].split())}))' "$cmd" > $d/train.json; }
    row $t recipe --corrector $d $R
  done
fi
echo "ROWS $1 DONE"
