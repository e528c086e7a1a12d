#!/usr/bin/env bash
# Builds a separate project that depends on the installed library alone (consumer/pom.xml), runs the
# README's QuickStart in it, and checks that nothing of the command line, the plots or the tests leaks
# into a user's dependencies. Run after `./mvnw install` (CI does both).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/src/main/java/ai/lorapro/examples"
cp "$root/consumer/pom.xml" "$work/pom.xml"
cp "$root/examples/src/main/java/ai/lorapro/examples/QuickStart.java" "$work/src/main/java/ai/lorapro/examples/"
# the version the build just installed (the parent pom's own), whatever consumer/pom.xml says
version="$(sed -n '/<artifactId>lorapro-parent<\/artifactId>/,/<version>/s/.*<version>\(.*\)<\/version>.*/\1/p' "$root/pom.xml")"
if [[ -z "$version" ]]; then
    echo "consumer: cannot read the version of lorapro-parent in $root/pom.xml" >&2
    exit 1
fi
mvn=("$root/mvnw" -B -q -f "$work/pom.xml" "-Dlorapro.version=$version")
# The wrapper looks for .mvn beside the project it builds.
cp -r "$root/.mvn" "$work/.mvn"

"${mvn[@]}" dependency:tree -Dscope=runtime -DoutputFile="$work/tree.txt" >/dev/null
echo "consumer runtime dependencies:"
sed 's/^/  /' "$work/tree.txt"
if grep -Eiq 'picocli|xchart|pdfbox|junit|opentest4j|graphics2d|slf4j-simple:.*:compile' "$work/tree.txt"; then
    echo "consumer: the library brings a dependency a user must not get:" >&2
    grep -Ei 'picocli|xchart|pdfbox|junit|opentest4j|graphics2d' "$work/tree.txt" >&2
    exit 1
fi
if [[ "$(grep -c 'pytorch-native-cpu' "$work/tree.txt")" != 1 ]]; then
    echo "consumer: expected exactly the one native jar the consumer chose" >&2
    exit 1
fi

# Where the build compiled the native kernel of the fused step (library/pom.xml, profile native-kernel:
# Linux x86-64 with /usr/bin/gcc), the jar must carry it and QuickStart must run on it, loaded from the
# jar: =native makes the first full-mode step fail if it cannot.
kernel=()
if [[ "$(uname -s)-$(uname -m)" == Linux-x86_64 && -e /usr/bin/gcc ]]; then
    if ! "${JAVA_HOME:+$JAVA_HOME/bin/}jar" tf "$root/library/target/lorapro-$version.jar" \
            | grep -qx 'ai/lorapro/optim/native/linux-x86_64/liblorapro_fused.so'; then
        echo "consumer: the library jar has no native kernel although this machine builds it" >&2
        exit 1
    fi
    kernel=(-Dlorapro.fused.kernel=native)
fi
out="$("${mvn[@]}" ${kernel[@]+"${kernel[@]}"} compile exec:java 2>&1)"
echo "$out" | tail -3
last="$(echo "$out" | grep -E '^step 20 loss' || true)"
first="$(echo "$out" | grep -E '^step 1 loss' || true)"
if [[ -z "$first" || -z "$last" ]]; then
    echo "consumer: QuickStart did not print its 20 steps" >&2
    echo "$out" >&2
    exit 1
fi
awk -v a="${first##* }" -v b="${last##* }" 'BEGIN { if (!(b < a)) { print "consumer: loss did not fall: " a " -> " b > "/dev/stderr"; exit 1 } }'
echo "consumer: ok (QuickStart loss ${first##* } -> ${last##* }${kernel[@]+, on the native kernel})"
