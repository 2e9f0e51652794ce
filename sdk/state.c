/* Flat plugin state blocks that free and clone themselves. */
#include <string.h>

#include "weft/sdk.h"

void *weft_state_new(const weft_env *env, size_t size) {
    if (size < sizeof(weft_state)) size = sizeof(weft_state);
    weft_state *s = weft_calloc(env, 1, size);
    if (!s) {
        weft_error(env, "out of memory (%zu bytes of state)", size);
        return NULL;
    }
    s->env = env;
    s->size = size;
    return s;
}

void weft_state_free(void *self) {
    weft_state *s = self;
    if (s) weft_free(s->env, s);
}

weft_status weft_state_clone(void *self, void **out) {
    const weft_state *s = self;
    *out = NULL;
    void *copy = weft_alloc(s->env, s->size);
    if (!copy) {
        weft_error(s->env, "out of memory (%zu bytes of state)", s->size);
        return WEFT_ERR_NOMEM;
    }
    memcpy(copy, s, s->size);
    *out = copy;
    return WEFT_OK;
}

weft_p_keep *weft_p_keep_new(const weft_env *env, const weft_value *args, size_t size) {
    const double p = args[0].u.d;
    const int64_t min_keep = args[1].u.i;
    if (!(p >= 0 && p <= 1) || min_keep < 1) {
        weft_error(env, "need 0 <= p <= 1 and min_keep >= 1, got p=%g min_keep=%lld", p, (long long)min_keep);
        return NULL;
    }
    weft_p_keep *s = weft_state_new(env, size < sizeof *s ? sizeof *s : size);
    if (!s) return NULL;
    s->p = p;
    s->min_keep = (size_t)min_keep;
    return s;
}
