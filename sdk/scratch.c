/* Scratch buffers that grow rarely: per-token methods must not allocate in
 * steady state (docs/abi.md §7), but some sizes (a history window, a
 * vocabulary) are only known on the first call. */
#include "weft/sdk.h"

bool weft_scratch_reserve(const weft_env *env, void **buf, size_t *cap, size_t n, size_t elem) {
    if (n <= *cap) return true;
    size_t want = *cap ? *cap : 16;
    while (want < n && want <= SIZE_MAX / 2) want *= 2;
    void *p = elem && want <= SIZE_MAX / elem ? env->host->realloc(*buf, want * elem) : NULL;
    if (!p) {
        weft_error(env, "out of memory (%zu bytes of scratch)", want * elem);
        return false;
    }
    *buf = p;
    *cap = want;
    return true;
}
