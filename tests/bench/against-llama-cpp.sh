#!/bin/bash
# One round of weft against llama.cpp on the same models, 1 and 2 threads:
# llama-bench (-p 512 -n 128 -r 2), then weft-bench-backend. The table in
# docs/performance.md ("Where the backend stands") is two such rounds.
#
#   LLAMA_BIN=/path/to/llama.cpp/build/bin tests/bench/against-llama-cpp.sh MODEL.gguf...
#
# LLAMA_BIN: the folder holding llama-bench and its libraries (required).
# WEFT_BUILD: weft's build folder (default build-rel). Random-weight models
# of the issue's shape come from weft-make-gguf (docs/performance.md).
set -euo pipefail
: "${LLAMA_BIN:?set LLAMA_BIN to the llama.cpp build/bin folder}"
build=${WEFT_BUILD:-build-rel}
[ $# -gt 0 ] || { echo "usage: LLAMA_BIN=DIR $0 MODEL.gguf..." >&2; exit 2; }
for model in "$@"; do
    for threads in 1 2; do
        echo "== $(basename "$model") T$threads"
        LD_LIBRARY_PATH="$LLAMA_BIN" "$LLAMA_BIN/llama-bench" -m "$model" -p 512 -n 128 -t "$threads" -r 2 2>&1 |
            grep -E "pp512|tg128" | awk -F'|' '{print "llama", $7, $8}'
        "$build/tests/bench/weft-bench-backend" "$model" --threads "$threads" | grep -E "prefill|decode 128|wall:"
    done
done
