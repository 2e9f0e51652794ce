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
