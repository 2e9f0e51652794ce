/* A plugin as it was written for ABI 1.0: a sampler, a drafter and a
 * verifier, compiled against the frozen headers in weft_abi_1_0/ and nothing
 * else (no SDK, whose code may have moved on). The current host must load
 * and run it unchanged.
 *
 * Built three ways (CMakeLists.txt):
 *   - as is: full 1.0 vtables;
 *   - ABI10_MINIMAL_VTABLES: each vtable's struct_size ends at its last
 *     mandatory method, as a plugin built before optional methods were added
 *     would declare. The optional slots beyond it hold traps, so a host that
 *     calls a method beyond struct_size fails the run;
 *   - against a generated "next minor" copy of the headers (ABI10_NEXT), which
 *     the host must refuse, naming both versions;
 *   - against the frozen 1.1 headers in weft_abi_1_1/ (ABI_FIXTURE_MINOR=1):
 *     the same source, a plugin of a later minor that uses none of its
 *     additions. */
#include <stddef.h>
#include <string.h>

#include <weft/weft_plugin.h>

#ifndef ABI_FIXTURE_MINOR
#define ABI_FIXTURE_MINOR 0
#endif
#ifndef ABI10_NEXT
_Static_assert(WEFT_ABI_MAJOR == 1 && WEFT_ABI_MINOR == ABI_FIXTURE_MINOR, "the frozen headers must stay the ABI they name");
#endif

#define END_OF(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))
#ifdef ABI10_MINIMAL_VTABLES
#define VT_SIZE(type, last_mandatory) END_OF(type, last_mandatory)
#else
#define VT_SIZE(type, last_mandatory) sizeof(type)
#endif

/* Every instance: the env (for errors and memory) and a misuse note. */
typedef struct inst {
    const weft_env *env;
    const char *misused; /* a method the host should never have called */
} inst;

static weft_status create(const weft_env *env, const weft_value *args, void **self) {
    (void)args;
    inst *s = env->host->calloc(1, sizeof *s);
    if (!s) return WEFT_ERR_NOMEM;
    s->env = env;
    *self = s;
    return WEFT_OK;
}

static void destroy(void *self) {
    if (self) ((inst *)self)->env->host->free(self);
}

/* ---- sampler: keep the highest logit (lowest id on ties) ---- */

static weft_status greedy_apply(void *self, const weft_sampler_ctx *ctx, weft_candidates *c) {
    inst *s = self;
    (void)ctx;
    if (s->misused) {
        s->env->host->error(s->env, "the host called %s(), which lies beyond this vtable's struct_size", s->misused);
        return WEFT_ERR_INTERNAL;
    }
    size_t best = 0;
    for (size_t i = 1; i < c->size; i++)
        if (c->data[i].logit > c->data[best].logit ||
            (c->data[i].logit == c->data[best].logit && c->data[i].id < c->data[best].id))
            best = i;
    if (c->size) c->data[0] = c->data[best], c->size = 1, c->sorted = true;
    return WEFT_OK;
}

#ifdef ABI10_MINIMAL_VTABLES
static void trap_accept(void *self, weft_token tok) {
    (void)tok;
    ((inst *)self)->misused = "accept";
}

static void trap_reset(void *self) { ((inst *)self)->misused = "reset"; }

static weft_status trap_clone(void *self, void **out) {
    inst *s = self;
    *out = NULL;
    s->env->host->error(s->env, "the host called clone(), which lies beyond this vtable's struct_size");
    return WEFT_ERR_INTERNAL;
}
#endif

static const weft_sampler_vtable greedy_vtable = {
    .struct_size = VT_SIZE(weft_sampler_vtable, apply),
    .apply = greedy_apply,
#ifdef ABI10_MINIMAL_VTABLES
    .accept = trap_accept,
    .reset = trap_reset,
    .clone = trap_clone,
#endif
};

/* ---- drafter: continue as the text did after the last token's previous
 * occurrence (a one-token prompt lookup) ---- */

static weft_status echo_draft(void *self, const weft_draft_ctx *ctx, weft_tree *out) {
    (void)self;
    out->n_nodes = 0;
    size_t n = ctx->n_history, budget = ctx->max_nodes < ctx->max_depth ? ctx->max_nodes : ctx->max_depth;
    if (budget > 4) budget = 4;
    if (n < 2 || budget == 0) return WEFT_OK;
    weft_token last = ctx->history[n - 1];
    for (size_t at = n - 1; at-- > 0;) {
        if (ctx->history[at] != last) continue;
        for (size_t k = 0; k < budget && at + 1 + k < n; k++) {
            out->tokens[k] = ctx->history[at + 1 + k];
            out->parents[k] = (int32_t)k - 1;
            out->flags[k] = 0;
            out->n_nodes = k + 1;
        }
        break;
    }
    return WEFT_OK;
}

#ifdef ABI10_MINIMAL_VTABLES
static weft_status trap_observe(void *self, const weft_observe *obs) {
    inst *s = self;
    (void)obs;
    s->env->host->error(s->env, "the host called observe(), which lies beyond this vtable's struct_size");
    return WEFT_ERR_INTERNAL;
}
#endif

static const weft_drafter_vtable echo_vtable = {
    .struct_size = VT_SIZE(weft_drafter_vtable, draft),
    .draft = echo_draft,
#ifdef ABI10_MINIMAL_VTABLES
    .observe = trap_observe,
#endif
};

/* ---- verifier: follow the target's most likely token down the tree ---- */

static weft_token argmax(const weft_dist *d) {
    weft_token best = -1;
    float p = -1;
    for (size_t i = 0; i < d->size; i++)
        if (d->data[i].p > p || (d->data[i].p == p && d->data[i].id < best)) p = d->data[i].p, best = d->data[i].id;
    return best;
}

static weft_status match_verify(void *self, const weft_verify_ctx *ctx, weft_verify_result *out) {
    inst *s = self;
    const weft_tree *t = ctx->tree;
    int32_t node = -1;
    out->n_accepted = 0;
    for (;;) {
        weft_token want = argmax(&ctx->target[node + 1]);
        if (want < 0) {
            s->env->host->error(s->env, "empty target at position %d", node + 1);
            return WEFT_ERR_INVALID;
        }
        int32_t child = -1;
        for (size_t i = 0; i < t->n_nodes && child < 0; i++)
            if (t->parents[i] == node && t->tokens[i] == want) child = (int32_t)i;
        if (child < 0) {
            out->next = want;
            return WEFT_OK;
        }
        out->accepted[out->n_accepted++] = node = child;
    }
}

static const weft_verifier_vtable match_vtable = {
    .struct_size = VT_SIZE(weft_verifier_vtable, verify),
    .verify = match_verify,
};

/* ---- descriptors ---- */

#define DESC(kind_, name_, doc_, vt_)                                                                          \
    {                                                                                                          \
        .struct_size = sizeof(weft_component_desc), .abi_major = WEFT_ABI_MAJOR, .abi_minor = WEFT_ABI_MINOR, \
        .kind = (kind_), .name = (name_), .version = "1.0", .description = (doc_), .create = create,          \
        .destroy = destroy, .vtable = (vt_)                                                                    \
    }

static const weft_component_desc descs[] = {
    DESC(WEFT_KIND_SAMPLER, "abi10-greedy", "ABI 1.0 fixture: keeps the most likely token", &greedy_vtable),
    DESC(WEFT_KIND_DRAFTER, "abi10-echo", "ABI 1.0 fixture: drafts what followed the last token before", &echo_vtable),
    DESC(WEFT_KIND_VERIFIER, "abi10-match", "ABI 1.0 fixture: accepts drafts that match the target's argmax",
         &match_vtable),
};

WEFT_EXPORT weft_status weft_plugin_entry(const weft_host *host, weft_registrar *reg, weft_register_fn host_register) {
    (void)host;
    for (size_t i = 0; i < sizeof descs / sizeof descs[0]; i++) {
        weft_status st = host_register(reg, &descs[i]);
        if (st != WEFT_OK) return st;
    }
    return WEFT_OK;
}
