#!/usr/bin/env bash
# Real sizes: peak memory and step time of `lorapro train` on a large model, one configuration per
# call, appended as a JSON line to benchmarks/results/real-sizes.jsonl.
#
#   benchmarks/real-sizes.sh MODEL_DIR DATA_FILE METHOD [--fp16-frozen]
#
# Runs `lorapro train ... --max-steps 4 --global-batch 4 --micro-batch 4 --max-seq-length 64` under
# /usr/bin/time -v (peak RSS, checkpoint included) with OMP_NUM_THREADS=1, and reads the mean step
# time of steps 2..4 from the progress lines. `parse LOG MODEL METHOD FP16` re-reads a saved log.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
results="$root/benchmarks/results/real-sizes.jsonl"

seconds() { # H:MM:SS or MM:SS -> seconds
    awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }' <<<"$1"
}

parse() { # LOG MODEL METHOD FP16
    local log=$1 model=$2 method=$3 fp16=$4
    local peak_kb first last steps step_s wall load_before load_after
    peak_kb=$(awk '/Maximum resident set size/ {print $NF}' "$log")
    first=$(grep -o 'step 1/[0-9]* .*elapsed [0-9:]*' "$log" | awk '{print $NF}' | head -1)
    last=$(grep -o 'step [0-9]*/[0-9]* .*elapsed [0-9:]*' "$log" | tail -1)
    steps=$(awk '{split($2, a, "/"); print a[1]}' <<<"$last")
    # the progress lines' elapsed times are whole seconds; their mean over steps 2..N need not be
    step_s=$(awk -v a="$(seconds "$(awk '{print $NF}' <<<"$last")")" -v b="$(seconds "$first")" -v n="$steps" \
        'BEGIN { printf "%.2f", (n > 1 ? (a - b) / (n - 1) : 0) }')
    wall=$(seconds "$(awk '/Elapsed \(wall clock\)/ {print $NF}' "$log")" | cut -d. -f1)
    load_before=$(awk -F'load average: ' '/^load before/ {split($2, a, ","); print a[1]}' "$log")
    load_after=$(awk -F'load average: ' '/^load after/ {split($2, a, ","); print a[1]}' "$log")
    printf '{"bench":"real-sizes","model":"%s","method":"%s","fp16_frozen":%s,"peak_rss_bytes":%d,"steps_logged":%d,"step_s_mean_after_first":%s,"wall_s":%d,"omp_threads":1,"load_avg_1m_before":%s,"load_avg_1m_after":%s,"timestamp":"%s","machine":"%s"}\n' \
        "$model" "$method" "$fp16" $((peak_kb * 1024)) "$steps" "$step_s" "$wall" "$load_before" "$load_after" \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(getconf _NPROCESSORS_ONLN) cores"
}

if [[ "${1:-}" == parse ]]; then
    shift
    parse "$@" >>"$results"
    exit 0
fi

if (( $# < 3 )); then
    echo "usage: benchmarks/real-sizes.sh MODEL_DIR DATA_FILE METHOD [--fp16-frozen]" >&2
    exit 2
fi
model=$1 data=$2 method=$3 fp16=false
extra=()
if [[ "${4:-}" == --fp16-frozen ]]; then fp16=true; extra=(--fp16-frozen); fi
out=$(mktemp -d)
log="$out/run.log"
echo "load before: $(uptime)" >"$log"
if ! OMP_NUM_THREADS=1 /usr/bin/time -v "$root/lorapro" train --model "$model" --data "$data" --out "$out/run" \
    --method "$method" --max-steps 4 --global-batch 4 --micro-batch 4 --max-seq-length 64 --log-interval 1 \
    ${extra[@]+"${extra[@]}"} >>"$log" 2>&1; then
    echo "real-sizes: the run failed; its log (kept): $log" >&2
    tail -n 5 "$log" >&2
    exit 1
fi
echo "load after: $(uptime)" >>"$log"
parse "$log" "$(basename "$model")" "$method" "$fp16" | tee -a "$results"
rm -rf "$out"
