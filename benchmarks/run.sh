#!/usr/bin/env bash
# Runs one benchmark and prints its JSON lines on stdout; they are also appended to
# benchmarks/results/<bench>.jsonl (each line carries a timestamp, the machine and its load).
#
#   benchmarks/run.sh optimizer-step [--warmup N] [--steps N] [--methods ...] [--bandwidth-mib 512,4096]
#                                    [--shapes llama-2-7b|tinyllama] [--rank 8]
#   benchmarks/run.sh train-step     [--warmup N] [--steps N] [--methods full,lora,lora-pro,lora-pro-efficient]
#   benchmarks/run.sh memory         [--steps N] [--methods ...]   (one JVM per method)
#   benchmarks/run.sh loss-curve     [--steps N] [--methods lora-pro,lora-pro-bf16,lora-pro-tensor]
#   benchmarks/run.sh scale          [--models ...] [--methods ...] [--frozen fp32,fp16] [--steps N] [--batch N]
#                                    [--seq N] [--models-dir DIR] [--work-dir DIR] [--rss-limit-gb X]
#                                    (one `lorapro train` process per case; then the plot:)
#   benchmarks/run.sh scale-plot     [--in benchmarks/results/scale.jsonl] [--out docs/scale.png]
#   benchmarks/run.sh gram           [--warmup N] [--steps N] [--ranks 8,16,64]
#   benchmarks/run.sh native-probe   [--rows N] [--cols N] [--steps N]
#                                    (the fused step's pass in C, probes/fused-step.c: 1 and 2 threads,
#                                    moments cold and hot, software prefetch none/l2/llc; needs gcc and AVX-512 or AVX2)
#
# Environment: JAVA_HOME (the JDK to run, e.g. to compare two), JAVA_OPTS (extra JVM flags), MVN_PROFILE
# (e.g. cuda: no CPU natives on the class path).
set -euo pipefail

bench="${1:-}"
case "$bench" in
  optimizer-step|train-step|memory|loss-curve|scale|scale-plot|gram|native-probe) shift ;;
  *) echo "usage: $0 optimizer-step|train-step|memory|loss-curve|scale|scale-plot|gram|native-probe [options]" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if [[ "$bench" == native-probe ]]; then
  # no Java: a C probe of the fused step's pass, to compare with the Java kernel on this machine
  if ! command -v gcc > /dev/null; then
    echo "native-probe needs gcc (Debian: apt-get install gcc)" >&2
    exit 2
  fi
  mkdir -p benchmarks/target benchmarks/results
  gcc -O3 -march=native -pthread benchmarks/probes/fused-step.c -o benchmarks/target/fused-step -lm
  # -dirty for changed sources only: the results this script appends to are tracked files too
  commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  if [[ "$commit" != unknown && -n "$(git status --porcelain --untracked-files=no -- . ':(exclude)benchmarks/results' 2>/dev/null)" ]]; then
    commit="$commit-dirty"
  fi
  for threads in 1 2; do
    for setting in "cold none" "cold l2" "cold llc" "hot none"; do
      read -r moments prefetch <<< "$setting"
      benchmarks/target/fused-step --threads "$threads" --moments "$moments" --prefetch "$prefetch" --commit "$commit" "$@" \
        | tee -a benchmarks/results/native-probe.jsonl
    done
  done
  exit 0
fi
profile=()
if [[ "${MVN_PROFILE:-}" == cuda ]]; then
  profile=(-Dcuda)   # no CPU natives on the class path
fi

cpfile="$(mktemp)"
trap 'rm -f "$cpfile"' EXIT
# The benchmarks module and what it needs (the library, packaged), and its runtime class path.
./mvnw -B -q ${profile[@]+"${profile[@]}"} -pl benchmarks -am -DskipTests package dependency:build-classpath \
  -DincludeScope=runtime -Dmdep.outputFile="$cpfile" >&2
classpath="benchmarks/target/classes:$(cat "$cpfile")"

export OPT_OUT_TRACKING=true
mkdir -p benchmarks/results
results="benchmarks/results/$bench.jsonl"

# jdk.incubator.vector: the fused optimizer step's Vector API kernel (without it the plain-loop kernel runs)
# optimizer-step's Java bandwidth pass holds two arrays of 8x the last-level cache on the heap (7.5 GiB
# where a VM reports its host's 480 MiB L3): a larger default heap than the JVM's quarter of memory
heap=()
if [[ "$bench" == optimizer-step ]]; then
  heap=(-XX:MaxRAMPercentage=60)   # an -Xmx in JAVA_OPTS still wins
fi
# the JVM of JAVA_HOME when it is set, as the lorapro launcher does (e.g. to compare two JDKs)
java_cmd="java"
if [[ -n "${JAVA_HOME:-}" ]]; then
  java_cmd="$JAVA_HOME/bin/java"
fi
run_java() {
  # shellcheck disable=SC2086
  "$java_cmd" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED ${heap[@]+"${heap[@]}"} ${JAVA_OPTS:-} \
    -Dai.djl.offline=true -cp "$classpath" \
    ai.lorapro.benchmarks.Bench "$@" | tee -a "$results"
}

if [[ "$bench" == scale-plot ]]; then
  # shellcheck disable=SC2086
  "$java_cmd" ${JAVA_OPTS:-} -Djava.awt.headless=true -cp "$classpath" ai.lorapro.benchmarks.Bench scale-plot "$@"
elif [[ "$bench" == memory ]]; then
  methods="full,lora,lora-pro,lora-pro-efficient"
  args=()
  while [[ $# -gt 0 ]]; do
    if [[ "$1" == --methods ]]; then methods="$2"; shift 2; else args+=("$1"); shift; fi
  done
  IFS=',' read -r -a list <<< "$methods"
  for method in "${list[@]}"; do
    run_java memory --method "$method" ${args[@]+"${args[@]}"}
  done
else
  run_java "$bench" "$@"
fi
