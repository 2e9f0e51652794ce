#!/bin/sh
# The template's test, through an installed weft:
#   sh test/run_tests.sh WEFT PLUGIN_DIR [MODEL.gguf]
# WEFT is the runner (its weft-plugin-check beside it is used too), PLUGIN_DIR
# holds the built .so files. With a model it also decodes: greedy output with
# the example drafter must equal greedy output without it (lossless
# speculation) with some drafts accepted, and a sampled pipeline with the
# example sampler must run.
set -eu
weft=$1
dir=$2
model=${3:-}
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$weft" plugins -P "$dir" >"$tmp/list" || fail "weft plugins -P $dir"
grep -q "^sampler  *example-epsilon " "$tmp/list" || fail "example-epsilon not listed by weft plugins"
grep -q "^drafter  *example-bigram " "$tmp/list" || fail "example-bigram not listed by weft plugins"
"$weft" plugins describe example-epsilon -P "$dir" >"$tmp/describe" || fail "weft plugins describe example-epsilon"
grep -q "epsilon  *number in \[0, 1\]" "$tmp/describe" || fail "example-epsilon's parameter is not described"

check=$(dirname "$weft")/weft-plugin-check
if [ -x "$check" ]; then
    "$check" -q "$dir"/weft-*.so || fail "weft-plugin-check found problems (above)"
else
    echo "note: no weft-plugin-check beside $weft; conformance not checked"
fi

if [ -n "$model" ]; then
    backend="\"backend\": {\"use\": \"llama\", \"model\": \"$model\"}, \"generate\": {\"max_tokens\": 48}"
    echo "{$backend, \"samplers\": [{\"use\": \"greedy\"}]}" >"$tmp/plain.json"
    echo "{$backend, \"samplers\": [{\"use\": \"greedy\"}], \"drafter\": {\"use\": \"example-bigram\"}}" >"$tmp/spec.json"
    echo "{$backend, \"samplers\": [{\"use\": \"example-epsilon\", \"epsilon\": 0.01}, {\"use\": \"temperature\", \"t\": 0.8}]}" >"$tmp/sampled.json"
    prompt="Once upon a time"
    plain=$("$weft" run "$tmp/plain.json" -P "$dir" -q -p "$prompt") || fail "weft run (plain)"
    spec=$("$weft" run "$tmp/spec.json" -P "$dir" -q -S "$tmp/stats.json" -p "$prompt") ||
        fail "weft run (with example-bigram)"
    [ -n "$plain" ] || fail "no text generated"
    [ "$plain" = "$spec" ] || fail "greedy output changed with example-bigram drafting:
  plain: $plain
  spec:  $spec"
    grep -Eq '"accepted":[[:space:]]*[1-9]' "$tmp/stats.json" || fail "example-bigram never had a draft accepted"
    "$weft" run "$tmp/sampled.json" -P "$dir" -q -s 3 -p "$prompt" >"$tmp/sampled.txt" || fail "weft run (example-epsilon)"
    [ -s "$tmp/sampled.txt" ] || fail "no text sampled with example-epsilon"
else
    echo "note: no model given; decoding not tested"
fi
echo "template plugins: ok"
