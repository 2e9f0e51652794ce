/* penalties: repetition, frequency and presence penalties over the last
 * `last_n` tokens, with llama.cpp's semantics (llama_sampler_penalties). For
 * a token seen c > 0 times in the window:
 *   repetition (Keskar et al. 2019, CTRL §4.1): l /= repeat if l > 0, else
 *     l *= repeat (llama.cpp's fix: dividing a negative logit would raise it);
 *   frequency and presence (OpenAI API): l -= c * frequency + presence.
 *
 * The window is read from ctx->history (prompt, committed tokens, then the
 * draft path to the node), not accumulated by accept(): apply() is a pure
 * function of the history, so it is exact under speculation. The prompt is
 * part of the window, as in llama.cpp's CLI, which feeds the prompt to its
 * samplers before generating. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include <weft/sdk.h>

typedef struct penalties {
    weft_state base;
    int64_t last_n; /* -1: the whole history */
    double repeat, frequency, presence;
    /* scratch: the window's distinct tokens, their counts, their slots */
    weft_token *ids;
    int32_t *counts;
    ptrdiff_t *pos;
    size_t cap_ids, cap_counts, cap_pos;
} penalties;

enum { P_LAST_N, P_REPEAT, P_FREQUENCY, P_PRESENCE };

static const weft_param_desc params[] = {
    WEFT_PARAM_INT_MIN("last_n", -1, "64", "Tokens of history to penalise: 0 = off, -1 = the whole history"),
    WEFT_PARAM_DOUBLE_MIN("repeat", 0, "1.0", "Repetition penalty (> 0): positive logits /= repeat, others *= repeat; 1 = off"),
    WEFT_PARAM("frequency", WEFT_TYPE_DOUBLE, 0, 0, 0, "0.0", "Subtracted once per occurrence in the window; 0 = off"),
    WEFT_PARAM("presence", WEFT_TYPE_DOUBLE, 0, 0, 0, "0.0", "Subtracted once from every token in the window; 0 = off"),
};

static void penalties_destroy(void *self) {
    penalties *s = self;
    if (!s) return;
    weft_free(s->base.env, s->ids);
    weft_free(s->base.env, s->counts);
    weft_free(s->base.env, s->pos);
    weft_state_free(s);
}

static weft_status penalties_create(const weft_env *env, const weft_value *args, void **self) {
    double repeat = args[P_REPEAT].u.d;
    if (!(repeat > 0) || !isfinite(repeat) || args[P_LAST_N].u.i < -1) {
        weft_error(env, "need repeat > 0 and last_n >= -1, got repeat=%g last_n=%lld", repeat,
                   (long long)args[P_LAST_N].u.i);
        return WEFT_ERR_INVALID;
    }
    penalties *s = weft_state_new(env, sizeof *s);
    if (!s) return WEFT_ERR_NOMEM;
    s->last_n = args[P_LAST_N].u.i;
    s->repeat = repeat;
    s->frequency = args[P_FREQUENCY].u.d;
    s->presence = args[P_PRESENCE].u.d;
    /* a fixed window gets its scratch now; -1 grows with the history */
    size_t n = s->last_n > 0 ? (size_t)s->last_n : 0;
    if (n && (!weft_scratch_reserve(env, (void **)&s->ids, &s->cap_ids, n, sizeof *s->ids) ||
              !weft_scratch_reserve(env, (void **)&s->counts, &s->cap_counts, n, sizeof *s->counts) ||
              !weft_scratch_reserve(env, (void **)&s->pos, &s->cap_pos, n, sizeof *s->pos))) {
        penalties_destroy(s);
        return WEFT_ERR_NOMEM;
    }
    *self = s;
    return WEFT_OK;
}

static int cmp_token(const void *a, const void *b) {
    weft_token x = *(const weft_token *)a, y = *(const weft_token *)b;
    return (x > y) - (x < y);
}

static float clamp_finite(double v) { return v > FLT_MAX ? FLT_MAX : v < -FLT_MAX ? -FLT_MAX : (float)v; }

static weft_status penalties_apply(void *self, const weft_sampler_ctx *ctx, weft_candidates *c) {
    penalties *s = self;
    if (s->last_n == 0 || (s->repeat == 1 && s->frequency == 0 && s->presence == 0)) return WEFT_OK;
    size_t n = s->last_n < 0 || (size_t)s->last_n > ctx->n_history ? ctx->n_history : (size_t)s->last_n;
    if (n == 0) return WEFT_OK;
    const weft_env *env = s->base.env;
    if (!weft_scratch_reserve(env, (void **)&s->ids, &s->cap_ids, n, sizeof *s->ids) ||
        !weft_scratch_reserve(env, (void **)&s->counts, &s->cap_counts, n, sizeof *s->counts) ||
        !weft_scratch_reserve(env, (void **)&s->pos, &s->cap_pos, n, sizeof *s->pos))
        return WEFT_ERR_NOMEM;
    /* distinct tokens of the window with their counts, ascending */
    for (size_t i = 0; i < n; i++) s->ids[i] = ctx->history[ctx->n_history - n + i];
    qsort(s->ids, n, sizeof *s->ids, cmp_token);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && s->ids[m - 1] == s->ids[i]) {
            s->counts[m - 1]++;
        } else {
            s->ids[m] = s->ids[i];
            s->counts[m++] = 1;
        }
    }
    weft_cands_locate(c, s->ids, m, s->pos);
    bool changed = false;
    for (size_t j = 0; j < m; j++) {
        if (s->pos[j] < 0) continue;
        weft_candidate *cd = &c->data[s->pos[j]];
        if (isinf(cd->logit)) continue; /* -inf stays impossible */
        double l = cd->logit;
        l = l <= 0 ? l * s->repeat : l / s->repeat;
        l -= s->counts[j] * s->frequency + s->presence;
        cd->logit = clamp_finite(l);
        changed = true;
    }
    if (changed) c->sorted = false;
    return WEFT_OK;
}

static weft_status penalties_clone(void *self, void **out) {
    const penalties *s = self;
    const weft_value args[] = {
        [P_LAST_N] = {.present = true, .u.i = s->last_n},
        [P_REPEAT] = {.present = true, .u.d = s->repeat},
        [P_FREQUENCY] = {.present = true, .u.d = s->frequency},
        [P_PRESENCE] = {.present = true, .u.d = s->presence},
    };
    return penalties_create(s->base.env, args, out);
}

static const weft_sampler_vtable penalties_vtable = {
    .struct_size = sizeof(weft_sampler_vtable),
    .apply = penalties_apply,
    .clone = penalties_clone,
};

static const weft_component_desc penalties_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_SAMPLER,
    .name = "penalties",
    .version = "1.0",
    .description = "Repetition, frequency and presence penalties over the last N tokens (llama.cpp semantics)",
    .flags = WEFT_CAP_NEEDS_HISTORY,
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .create = penalties_create,
    .destroy = penalties_destroy,
    .vtable = &penalties_vtable,
};

static const weft_component_desc *const components[] = {&penalties_desc};
WEFT_PLUGIN_DEFINE(components)
