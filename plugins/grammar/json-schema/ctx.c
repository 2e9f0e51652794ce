/* The compilation context (memory from malloc, like the engine's): an arena for everything pass 1 builds (freed in
 * one go when compilation ends), error and warning reporting with JSON
 * pointers, and the memo of schema locations. */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h" /* wg_now_ms: the clock the engine's own limit reads */
#include "js_internal.h"

struct js_chunk {
    js_chunk *next;
    size_t used, cap;
    max_align_t data[];
};

#define JS_CHUNK 65536
/* Working memory allowed per automaton state of max_states: pass 1 of an
 * adversarial schema (anyOf distributed over allOf, oneOf subtractions)
 * can grow much faster than the grammar it leads to. */
#define JS_ARENA_PER_STATE 64

void js_ctx_limits(js_ctx *c, const wg_limits *lim) {
    c->lim = lim ? *lim : (wg_limits){0};
    if (!c->lim.max_states) c->lim.max_states = WG_DEFAULT_MAX_STATES;
    if (!(c->lim.max_ms > 0)) c->lim.max_ms = WG_DEFAULT_MAX_MS;
    c->deadline = wg_now_ms() + c->lim.max_ms;
    c->max_arena = c->lim.max_states * JS_ARENA_PER_STATE;
}

/* A failure no probe may swallow: the limits hold for the whole compile. */
static bool budget_fail(js_ctx *c, const char *msg) {
    if (c->status != WEFT_OK) return false;
    c->status = WEFT_ERR_INVALID;
    c->h->error(c->env, "%s: %s", c->h->json_pointer(c->root), msg);
    return false;
}

bool js_budget_ok(js_ctx *c) {
    if (c->over_budget) return false;
    if (c->arena_bytes > c->max_arena) {
        c->over_budget = true;
        return budget_fail(c, "compiling the schema needs more working memory than the limit (max_states)");
    }
    if ((++c->ticks & 255) == 0 && wg_now_ms() > c->deadline) {
        c->over_budget = true;
        return budget_fail(c, "compiling the schema took longer than the limit (max_ms)");
    }
    return true;
}

wg_limits js_limits_left(const js_ctx *c, size_t max_states) {
    wg_limits l = c->lim;
    double left = c->deadline - wg_now_ms();
    l.max_ms = left > 1 ? left : 1; /* > 0: 0 would mean the default */
    if (max_states) l.max_states = max_states;
    return l;
}

void *js_new(js_ctx *c, size_t size) {
    if (!js_budget_ok(c)) return NULL;
    size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    js_chunk *k = c->chunks;
    if (!k || k->cap - k->used < size) {
        size_t cap = size > JS_CHUNK ? size : JS_CHUNK;
        c->arena_bytes += cap;
        if (!js_budget_ok(c)) return NULL;
        k = malloc(sizeof *k + cap);
        if (!k) {
            js_fail(c, c->root, WEFT_ERR_NOMEM, "out of memory");
            return NULL;
        }
        k->next = c->chunks;
        k->used = 0;
        k->cap = cap;
        c->chunks = k;
    }
    void *p = (char *)k->data + k->used;
    k->used += size;
    memset(p, 0, size);
    return p;
}

char *js_strdup(js_ctx *c, const char *s) {
    size_t n = strlen(s);
    char *d = js_new(c, n + 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

void *js_push(js_ctx *c, void **arr, size_t *n, size_t *cap, size_t elem) {
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        void *na = js_new(c, nc * elem);
        if (!na) return NULL;
        if (*n) memcpy(na, *arr, *n * elem);
        *arr = na;
        *cap = nc;
    }
    return (char *)*arr + (*n)++ * elem;
}

void js_ctx_release(js_ctx *c) {
    js_rx_cache_free(c); /* its array lives in the arena */
    for (js_chunk *k = c->chunks, *nx; k; k = nx) {
        nx = k->next;
        free(k);
    }
    c->chunks = NULL;
    free(c->memo);
    c->memo = NULL;
}

static const char *pointer_of(const js_ctx *c, const weft_json *at) {
    const char *p = at ? c->h->json_pointer(at) : NULL;
    return p && *p ? p : "/";
}

static void vmessage(const js_ctx *c, const weft_json *at, char *buf, size_t cap, const char *fmt,
                     va_list ap) {
    int k = snprintf(buf, cap, "%s: ", pointer_of(c, at));
    if (k < 0 || (size_t)k >= cap) k = 0;
    vsnprintf(buf + k, cap - (size_t)k, fmt, ap);
}

bool js_fail(js_ctx *c, const weft_json *at, weft_status st, const char *fmt, ...) {
    if (c->probing && st != WEFT_ERR_NOMEM) {
        c->probe_failed = true;
        return false;
    }
    if (c->status != WEFT_OK) return false; /* the first failure is the cause */
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vmessage(c, at, msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->status = st;
    c->h->error(c->env, "%s", msg);
    return false;
}

static void add_warning(js_ctx *c, const char *msg) {
    c->h->log(c->env, WEFT_LOG_WARN, "%s", msg);
    js_warnings *w = c->warn;
    if (!w) return;
    if (w->n == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 8;
        char **nm = realloc(w->msg, nc * sizeof *nm);
        if (!nm) return; /* a lost warning is still logged */
        w->msg = nm;
        w->cap = nc;
    }
    size_t n = strlen(msg);
    char *d = malloc(n + 1);
    if (!d) return;
    memcpy(d, msg, n + 1);
    w->msg[w->n++] = d;
}

bool js_unsupported(js_ctx *c, const weft_json *at, const char *fmt, ...) {
    if (c->probing) { /* the probe is inconclusive, nothing is reported */
        c->probe_failed = true;
        return false;
    }
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vmessage(c, at, msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!c->opt.lenient) {
        if (c->status == WEFT_OK) {
            c->status = WEFT_ERR_UNSUPPORTED;
            c->h->error(c->env, "%s", msg);
        }
        return false;
    }
    size_t n = strlen(msg);
    snprintf(msg + n, sizeof msg - n, " (ignored: lenient)");
    add_warning(c, msg);
    return true;
}

void js_warn(js_ctx *c, const weft_json *at, const char *fmt, ...) {
    if (c->probing) return;
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vmessage(c, at, msg, sizeof msg, fmt, ap);
    va_end(ap);
    add_warning(c, msg);
}

void js_warnings_free(js_warnings *w) {
    for (size_t i = 0; i < w->n; i++) free(w->msg[i]);
    free(w->msg);
    memset(w, 0, sizeof *w);
}

static size_t hash_ptr(const void *p) {
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (size_t)x;
}

js_memo *js_memo_get(js_ctx *c, const weft_json *json) {
    if (c->memo_n * 2 >= c->memo_cap) {
        size_t nc = c->memo_cap ? c->memo_cap * 2 : 256;
        js_memo *nm = calloc(nc, sizeof *nm);
        if (!nm) {
            js_fail(c, json, WEFT_ERR_NOMEM, "out of memory");
            return NULL;
        }
        for (size_t i = 0; i < c->memo_cap; i++) {
            if (!c->memo[i].json) continue;
            size_t j = hash_ptr(c->memo[i].json) & (nc - 1);
            while (nm[j].json) j = (j + 1) & (nc - 1);
            nm[j] = c->memo[i];
        }
        free(c->memo);
        c->memo = nm;
        c->memo_cap = nc;
    }
    size_t j = hash_ptr(json) & (c->memo_cap - 1);
    while (c->memo[j].json && c->memo[j].json != json) j = (j + 1) & (c->memo_cap - 1);
    if (!c->memo[j].json) {
        c->memo[j].json = json;
        c->memo_n++;
    }
    return &c->memo[j];
}
