/* broken-mask: the grammar [0-9]+ whose fill_mask() looks only at a token's
 * first byte while accept() checks every byte, so a token such as "1." is
 * in the mask yet rejected. weft-plugin-check's grammar.mask-accept must
 * catch it. A state is the number of digits accepted so far. */
#include <stdlib.h>
#include <string.h>

#include <weft/sdk.h>

typedef struct digits {
    weft_state base;
    const weft_vocab *vocab;
} digits;

struct weft_grammar_state {
    size_t n;
};

static weft_status bm_create(const weft_env *env, const weft_value *args, void **self) {
    (void)args;
    *self = weft_state_new(env, sizeof(digits));
    return *self ? WEFT_OK : WEFT_ERR_NOMEM;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool is_eog(const weft_vocab *v, weft_token t) {
    for (size_t i = 0; i < v->n_eog; i++)
        if (v->eog[i] == t) return true;
    return false;
}

static weft_status bm_set_vocab(void *self, const weft_vocab *vocab) {
    ((digits *)self)->vocab = vocab;
    return WEFT_OK;
}

static weft_status bm_state_new(void *self, weft_grammar_state **out) {
    digits *g = self;
    *out = weft_calloc(g->base.env, 1, sizeof **out);
    return *out ? WEFT_OK : WEFT_ERR_NOMEM;
}

static weft_status bm_state_fork(void *self, const weft_grammar_state *st, weft_grammar_state **out) {
    weft_status s = bm_state_new(self, out);
    if (s == WEFT_OK) **out = *st;
    return s;
}

static void bm_state_free(void *self, weft_grammar_state *st) { weft_free(((digits *)self)->base.env, st); }

static weft_status bm_accept(void *self, weft_grammar_state *st, weft_token t) {
    const weft_vocab *v = ((digits *)self)->vocab;
    if (t < 0 || t >= v->n_vocab) return WEFT_ERR_INVALID;
    if (is_eog(v, t)) return st->n ? WEFT_OK : WEFT_ERR_INVALID;
    if (!v->len[t]) return WEFT_ERR_INVALID;
    for (uint32_t i = 0; i < v->len[t]; i++)
        if (!is_digit(v->bytes[t][i])) return WEFT_ERR_INVALID;
    st->n++;
    return WEFT_OK;
}

static weft_status bm_rollback(void *self, weft_grammar_state *st, size_t n) {
    (void)self;
    if (n > st->n) return WEFT_ERR_INVALID;
    st->n -= n;
    return WEFT_OK;
}

static weft_status bm_fill_mask(void *self, const weft_grammar_state *st, uint32_t *mask) {
    const weft_vocab *v = ((digits *)self)->vocab;
    memset(mask, 0, (size_t)(v->n_vocab + 31) / 32 * sizeof *mask);
    for (weft_token t = 0; t < v->n_vocab; t++) {
        bool ok = is_eog(v, t) ? st->n > 0 : v->len[t] && is_digit(v->bytes[t][0]); /* the defect: first byte only */
        if (ok) mask[t / 32] |= 1u << (t % 32);
    }
    return WEFT_OK;
}

static bool bm_is_accepting(void *self, const weft_grammar_state *st) {
    (void)self;
    return st->n > 0;
}

static const weft_grammar_vtable bm_vtable = {
    .struct_size = sizeof(weft_grammar_vtable),
    .set_vocab = bm_set_vocab,
    .state_new = bm_state_new,
    .state_fork = bm_state_fork,
    .state_free = bm_state_free,
    .accept = bm_accept,
    .rollback = bm_rollback,
    .fill_mask = bm_fill_mask,
    .is_accepting = bm_is_accepting,
};

static const weft_component_desc bm_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_GRAMMAR,
    .name = "broken-mask",
    .version = "1.0",
    .description = "Test fixture: digits whose mask checks only the first byte of a token (disagrees with accept)",
    .create = bm_create,
    .destroy = weft_state_free,
    .vtable = &bm_vtable,
};

static const weft_component_desc *const components[] = {&bm_desc};
WEFT_PLUGIN_DEFINE(components)
