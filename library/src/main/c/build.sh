#!/usr/bin/env bash
# Builds the native kernel of the fused LoRA-Pro step into the library's classes (called by the
# Maven build's profile native-kernel, library/pom.xml, where /usr/bin/gcc is found on Linux x86-64).
# Usage: build.sh JAVA_HOME HEADER_DIR OUTPUT_SO
# No -march: the object runs on any x86-64; only the kernel's functions use AVX2 and FMA (by
# target pragmas), and Java calls them after the library said the CPU has both.
set -euo pipefail
java_home="$1" headers="$2" output="$3"
source="$(dirname "$0")/lorapro_fused.c"
mkdir -p "$(dirname "$output")"
/usr/bin/gcc -std=c11 -O3 -fPIC -shared -ffp-contract=off -fvisibility=hidden -Wall -Wextra -Wno-unused-parameter \
    -I"$java_home/include" -I"$java_home/include/linux" -I"$headers" \
    -Wl,-z,noexecstack -o "$output.tmp" "$source" -lm
mv -f "$output.tmp" "$output"
