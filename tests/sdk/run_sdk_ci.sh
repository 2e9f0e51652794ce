#!/bin/sh
# The SDK's CI proof (docs/sdk.md): install weft into a fresh prefix and use
# it the way a third party would.
#   sh tests/sdk/run_sdk_ci.sh BUILD_DIR [MODEL] [STEP]
# MODEL (a GGUF file; relative names are looked up in $WEFT_MODELS, else
# ../shared/models) makes the template's test decode; "" skips that.
# Steps (default: all):
#   template        build sdk/template out of tree with CMake (find_package)
#                   and with its Makefile (pkg-config), run its test (through
#                   the installed runner; with MODEL it decodes) and
#                   weft-plugin-check on what was built
#   embed           build a program against weft::weft and load a plugin
#   runner-plugins  the installed runner loads the installed plugins (the
#                   builtins and the template's, installed into the prefix)
#                   and not those of the build tree
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$(cd "$1" && pwd)
model=${2:-}
step=${3:-all}
models=${WEFT_MODELS:-$src/../shared/models}
case $model in
"" | /*) ;;
*) model=$models/$model ;;
esac
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
want() { [ "$step" = all ] || [ "$step" = "$1" ]; }
run() { # quiet unless it fails
    "$@" >"$tmp/log" 2>&1 || {
        cat "$tmp/log" >&2
        fail "$*"
    }
}
[ -z "$model" ] || [ -f "$model" ] || fail "model not found: $model (set WEFT_MODELS)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/weft-sdk-ci.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
run cmake --install "$build" --prefix "$prefix"
echo "installed into $prefix"

if want template; then
    run cmake -S "$src/sdk/template" -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS=-Werror \
        -DEXAMPLE_MODEL="$model"
    run cmake --build "$tmp/cmake"
    (cd "$tmp/cmake" && ctest --output-on-failure) || fail "the template's test (CMake build)"
    echo "template: CMake build and test ok"
    make -s -C "$src/sdk/template" O="$tmp/make" PKG_CONFIG_PATH="$prefix/lib/pkgconfig" \
        CFLAGS="-O2 -Wall -Wextra -Werror" check MODEL="$model" || fail "the template's Makefile build and test"
    "$prefix/bin/weft-plugin-check" -q "$tmp/make"/weft-*.so || fail "weft-plugin-check on the Makefile build"
    echo "template: Makefile build, test and weft-plugin-check ok"
fi

if want embed; then
    run cmake -S "$here/embed" -B "$tmp/embed" -DCMAKE_PREFIX_PATH="$prefix"
    run cmake --build "$tmp/embed"
    "$tmp/embed/embed" "$prefix/lib/weft/plugins/weft-sampler-greedy.so" | grep -q "^sampler greedy " ||
        fail "a program linked with weft::weft cannot load an installed plugin"
    echo "embed: weft::weft ok"
fi

if want runner-plugins; then
    run cmake -S "$src/sdk/template" -B "$tmp/cmake-installed" -DCMAKE_PREFIX_PATH="$prefix"
    run cmake --build "$tmp/cmake-installed"
    run cmake --install "$tmp/cmake-installed" --prefix "$prefix"
    for name in greedy example-epsilon; do
        file=$("$prefix/bin/weft" plugins describe "$name" | sed -n 's/^  file: //p')
        case $file in
        "$prefix/lib/weft/plugins/"*) ;;
        *) fail "the installed runner loads '$name' from '${file:-nowhere}', not from $prefix/lib/weft/plugins
  (libweft's default plugin folder must be found relative to the installed library, docs/sdk.md)" ;;
        esac
    done
    echo "runner-plugins: the installed runner uses the installed plugins"
fi
echo "sdk ci: ok"
