/* XTC, "Exclude Top Choices" (p-e-w, oobabooga text-generation-webui PR
 * #6335; llama.cpp's llama_sampler_xtc): with probability `probability`,
 * remove every token whose probability is >= threshold except the least
 * likely of them, so the text leaves its most predictable path while staying
 * among viable tokens. No-op when fewer than two tokens reach the
 * threshold, when threshold > 0.5 (at most one token can reach it), or when
 * fewer than min_keep tokens would remain.
 *
 * The coin. llama.cpp draws it from the sampler's own generator, one draw
 * per call. ctx->rng will not do here: it is one stream shared with the
 * drafter, the verifier and every draft node, so a draw at a node would
 * depend on how many draws came before (tree shape, drafter, verifier) and a
 * speculative run would not reproduce plain decoding. Instead the coin for
 * the token at absolute position k is a hash of (seed, the prompt, k):
 *   - deterministic per seed, as llama.cpp's (which takes the same `seed`);
 *   - a pure function of ctx->history, so every draft node at position k
 *     sees the coin plain decoding would: exact under any drafter and
 *     verifier, token for token;
 *   - independent across positions and prompts (splitmix64 finaliser).
 * The request's seed does not reach samplers (ABI 1.0); change `seed` to
 * get another coin sequence for the same prompt. */
#include <math.h>

#include <weft/sdk.h>

typedef struct xtc {
    weft_state base;
    double probability, threshold;
    size_t min_keep;
    uint64_t seed;
} xtc;

enum { P_PROBABILITY, P_THRESHOLD, P_MIN_KEEP, P_SEED };

static const weft_param_desc params[] = {
    WEFT_PARAM_DOUBLE("probability", 0, 1, "0.5", "Chance that top choices are removed at a position; 0 = off"),
    WEFT_PARAM_DOUBLE("threshold", 0, 1, "0.1", "Tokens with probability >= threshold are top choices; > 0.5 = off"),
    WEFT_PARAM_INT_MIN("min_keep", 1, "1", "Keep at least this many tokens"),
    WEFT_PARAM("seed", WEFT_TYPE_INT, 0, 0, 0, "0", "Picks the coin sequence (a hash key)"),
};

static weft_status xtc_create(const weft_env *env, const weft_value *args, void **self) {
    double pr = args[P_PROBABILITY].u.d, th = args[P_THRESHOLD].u.d;
    if (!(pr >= 0 && pr <= 1) || !(th >= 0 && th <= 1) || args[P_MIN_KEEP].u.i < 1) {
        weft_error(env, "need probability and threshold in [0, 1] and min_keep >= 1");
        return WEFT_ERR_INVALID;
    }
    xtc *s = weft_state_new(env, sizeof *s);
    if (!s) return WEFT_ERR_NOMEM;
    s->probability = pr;
    s->threshold = th;
    s->min_keep = (size_t)args[P_MIN_KEEP].u.i;
    s->seed = (uint64_t)args[P_SEED].u.i;
    *self = s;
    return WEFT_OK;
}

/* splitmix64's finaliser (Steele et al. 2014). */
static uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* The coin in [0, 1) for the token after history[0..n_history). */
static double coin(const xtc *s, const weft_sampler_ctx *ctx) {
    uint64_t h = mix(s->seed ^ 0x78746321u); /* "xtc!": apart from other hashes of the seed */
    size_t np = ctx->n_prompt < ctx->n_history ? ctx->n_prompt : ctx->n_history;
    for (size_t i = 0; i < np; i++) h = mix(h ^ (uint32_t)ctx->history[i]);
    h = mix(h ^ (uint64_t)ctx->n_history);
    return (double)(h >> 11) * 0x1.0p-53;
}

/* p >= threshold, in logit space; a token with p = 0 is never a top choice
 * (threshold 0 would otherwise keep an impossible token). */
static bool is_top(float logit, double cut) { return logit >= cut && logit > -INFINITY; }

static weft_status xtc_apply(void *self, const weft_sampler_ctx *ctx, weft_candidates *c) {
    const xtc *s = self;
    if (s->probability <= 0 || s->threshold > 0.5 || c->size < 2) return WEFT_OK;
    if (coin(s, ctx) > s->probability) return WEFT_OK; /* llama.cpp: chance > probability -> no-op */
    double lse = weft_cands_logsumexp(c);
    if (!isfinite(lse)) return WEFT_OK;
    /* the top choices; `last` is the least likely of them (in the SDK's
     * order: logit descending, id ascending) */
    const double cut = lse + log(s->threshold);
    size_t n_top = 0, last = 0;
    for (size_t i = 0; i < c->size; i++) {
        const weft_candidate *x = &c->data[i];
        if (!is_top(x->logit, cut)) continue;
        const weft_candidate *y = &c->data[last];
        if (n_top++ == 0 || x->logit < y->logit || (x->logit == y->logit && x->id > y->id)) last = i;
    }
    if (n_top < 2 || c->size - (n_top - 1) < s->min_keep) return WEFT_OK;
    size_t w = 0; /* stable compaction keeps `sorted` valid */
    for (size_t i = 0; i < c->size; i++)
        if (i == last || !is_top(c->data[i].logit, cut)) c->data[w++] = c->data[i];
    c->size = w;
    return WEFT_OK;
}

static const weft_sampler_vtable xtc_vtable = {
    .struct_size = sizeof(weft_sampler_vtable),
    .apply = xtc_apply,
    .clone = weft_state_clone,
};

static const weft_component_desc xtc_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_SAMPLER,
    .name = "xtc",
    .version = "1.0",
    .description = "Exclude Top Choices: sometimes drop all likely tokens but the least likely of them",
    .flags = WEFT_CAP_NEEDS_HISTORY,
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .create = xtc_create,
    .destroy = weft_state_free,
    .vtable = &xtc_vtable,
};

static const weft_component_desc *const components[] = {&xtc_desc};
WEFT_PLUGIN_DEFINE(components)
