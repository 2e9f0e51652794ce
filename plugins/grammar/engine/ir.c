/* The IR builder: rules and expressions as handles into flat arrays. A
 * failed call poisons the builder (wg_compile reports the first failure), so
 * front-ends can build whole expressions without checking every handle. */
#include <time.h>

#include "internal.h"

void wg_set_error(wg_error *err, const char *fmt, ...) {
    if (!err) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

double wg_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

bool wg_vec_reserve(wg_vec *a, size_t n) {
    if (n <= a->cap) return true;
    size_t c = a->cap ? a->cap : 16;
    while (c < n) c *= 2;
    uint32_t *v = realloc(a->v, c * sizeof *v);
    if (!v) return false;
    a->v = v;
    a->cap = c;
    return true;
}

void wg_vec_free(wg_vec *a) {
    free(a->v);
    *a = (wg_vec){0};
}

/* Grows *arr (element size sz) to hold n elements. */
static bool grow(void **arr, size_t *cap, size_t n, size_t sz) {
    if (n <= *cap) return true;
    size_t c = *cap ? *cap : 32;
    while (c < n) c *= 2;
    void *p = realloc(*arr, c * sz);
    if (!p) return false;
    *arr = p;
    *cap = c;
    return true;
}

static int32_t fail(wg_builder *b, const char *msg) {
    if (!b->failed) snprintf(b->fail_msg, sizeof b->fail_msg, "%s", msg);
    b->failed = true;
    return -1;
}

wg_builder *wg_builder_new(void) { return calloc(1, sizeof(wg_builder)); }

void wg_builder_free(wg_builder *b) {
    if (!b) return;
    for (size_t i = 0; i < b->n_rules; i++) free(b->rules[i].name);
    free(b->rules);
    free(b->names);
    free(b->nodes);
    free(b->bytes);
    free(b->ranges);
    free(b->items);
    free(b);
}

static wg_expr add_node(wg_builder *b, wg_node n) {
    if (b->failed) return -1;
    if (b->n_nodes >= INT32_MAX - 1 ||
        !grow((void **)&b->nodes, &b->cap_nodes, b->n_nodes + 1, sizeof *b->nodes))
        return fail(b, "out of memory building the grammar");
    b->nodes[b->n_nodes] = n;
    return (wg_expr)b->n_nodes++;
}

static bool valid_expr(const wg_builder *b, wg_expr e) { return e >= 0 && (size_t)e < b->n_nodes; }

static uint32_t hash_name(const char *s) {
    uint32_t h = 2166136261u;
    while (*s) h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

/* Slot of `name` in the name table: its rule + 1, or the empty slot. */
static size_t name_slot(const wg_builder *b, const char *name) {
    size_t h = hash_name(name) & (b->names_cap - 1);
    while (b->names[h] && strcmp(b->rules[b->names[h] - 1].name, name) != 0) h = (h + 1) & (b->names_cap - 1);
    return h;
}

static wg_rule add_rule(wg_builder *b, const char *name) {
    if (b->failed) return -1;
    if (!grow((void **)&b->rules, &b->cap_rules, b->n_rules + 1, sizeof *b->rules))
        return fail(b, "out of memory building the grammar");
    if ((b->n_rules + 1) * 2 > b->names_cap) { /* rehash at load 1/2 */
        size_t cap = b->names_cap ? b->names_cap * 2 : 64;
        uint32_t *t = calloc(cap, sizeof *t);
        if (!t) return fail(b, "out of memory building the grammar");
        free(b->names);
        b->names = t;
        b->names_cap = cap;
        for (size_t i = 0; i < b->n_rules; i++) b->names[name_slot(b, b->rules[i].name)] = (uint32_t)i + 1;
    }
    char *copy = strdup(name);
    if (!copy) return fail(b, "out of memory building the grammar");
    b->rules[b->n_rules] = (wg_rule_def){.name = copy, .body = -1};
    b->names[name_slot(b, copy)] = (uint32_t)b->n_rules + 1;
    return (wg_rule)b->n_rules++;
}

wg_rule wg_rule_named(wg_builder *b, const char *name) {
    if (!name) return fail(b, "rule name is NULL");
    wg_rule r = wg_rule_find(b, name);
    return r >= 0 ? r : add_rule(b, name);
}

wg_rule wg_rule_find(const wg_builder *b, const char *name) {
    if (!name || !b->names_cap) return -1;
    uint32_t id = b->names[name_slot(b, name)];
    return id ? (wg_rule)(id - 1) : -1;
}

wg_rule wg_rule_fresh(wg_builder *b, const char *hint) {
    char name[96];
    for (;;) {
        snprintf(name, sizeof name, "%.80s-%u", hint ? hint : "rule", ++b->n_fresh);
        if (wg_rule_find(b, name) < 0) return add_rule(b, name);
    }
}

bool wg_rule_define(wg_builder *b, wg_rule r, wg_expr body) {
    if (r < 0 || (size_t)r >= b->n_rules) {
        fail(b, "defining an invalid rule handle");
        return false;
    }
    if (!valid_expr(b, body)) {
        fail(b, "defining a rule with an invalid expression");
        return false;
    }
    if (b->rules[r].body >= 0) return false;
    b->rules[r].body = body;
    return true;
}

bool wg_rule_is_defined(const wg_builder *b, wg_rule r) {
    return r >= 0 && (size_t)r < b->n_rules && b->rules[r].body >= 0;
}

const char *wg_rule_name(const wg_builder *b, wg_rule r) {
    return r >= 0 && (size_t)r < b->n_rules ? b->rules[r].name : NULL;
}

wg_expr wg_empty(wg_builder *b) { return add_node(b, (wg_node){.kind = WG_E_EMPTY}); }
wg_expr wg_nothing(wg_builder *b) { return add_node(b, (wg_node){.kind = WG_E_NOTHING}); }

wg_expr wg_lit(wg_builder *b, const void *bytes, size_t n) {
    if (b->failed) return -1;
    if (n == 0) return wg_empty(b);
    if (n > UINT32_MAX / 2 || !grow((void **)&b->bytes, &b->cap_bytes, b->n_bytes + n, 1))
        return fail(b, "out of memory building the grammar");
    memcpy(b->bytes + b->n_bytes, bytes, n);
    wg_expr e = add_node(b, (wg_node){.kind = WG_E_BYTES, .off = (uint32_t)b->n_bytes, .n = (uint32_t)n});
    if (e >= 0) b->n_bytes += n;
    return e;
}

wg_expr wg_lit_str(wg_builder *b, const char *s) { return wg_lit(b, s, s ? strlen(s) : 0); }

static int cmp_pair(const void *x, const void *y) {
    const uint32_t *a = x, *c = y;
    return (a[0] > c[0]) - (a[0] < c[0]);
}

/* Appends the positive set [lo, hi] minus surrogates to tmp pairs. */
static size_t push_range(uint32_t *out, size_t k, uint32_t lo, uint32_t hi) {
    if (lo > hi) return k;
    if (lo < 0xD800 && hi > 0xDFFF) {
        out[k++] = lo, out[k++] = 0xD7FF;
        out[k++] = 0xE000, out[k++] = hi;
    } else if (hi < 0xD800 || lo > 0xDFFF) {
        out[k++] = lo, out[k++] = hi;
    } else {
        if (lo < 0xD800) out[k++] = lo, out[k++] = 0xD7FF;
        if (hi > 0xDFFF) out[k++] = 0xE000, out[k++] = hi;
    }
    return k;
}

size_t wg_class_normalize(const uint32_t *ranges, size_t n, bool negated, uint32_t **res) {
    *res = NULL;
    uint32_t *pairs = malloc((2 * n + 2) * sizeof *pairs);
    uint32_t *out = malloc((4 * n + 8) * sizeof *out);
    if (!pairs || !out) {
        free(pairs);
        free(out);
        return SIZE_MAX;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t lo = ranges[2 * i], hi = ranges[2 * i + 1];
        if (lo > hi) {
            uint32_t t = lo;
            lo = hi;
            hi = t;
        }
        if (lo > 0x10FFFF) continue;
        if (hi > 0x10FFFF) hi = 0x10FFFF;
        pairs[m++] = lo;
        pairs[m++] = hi;
    }
    if (m) qsort(pairs, m / 2, 2 * sizeof *pairs, cmp_pair);
    /* merge overlapping and adjacent ranges */
    size_t w = 0;
    for (size_t i = 0; i < m; i += 2) {
        if (w && pairs[i] <= pairs[w - 1] + 1) {
            if (pairs[i + 1] > pairs[w - 1]) pairs[w - 1] = pairs[i + 1];
        } else {
            pairs[w++] = pairs[i];
            pairs[w++] = pairs[i + 1];
        }
    }
    size_t k = 0;
    if (!negated) {
        for (size_t i = 0; i < w; i += 2) k = push_range(out, k, pairs[i], pairs[i + 1]);
    } else {
        uint32_t next = 0;
        for (size_t i = 0; i < w; i += 2) {
            if (pairs[i] > next) k = push_range(out, k, next, pairs[i] - 1);
            next = pairs[i + 1] + 1;
        }
        if (next <= 0x10FFFF) k = push_range(out, k, next, 0x10FFFF);
    }
    free(pairs);
    *res = out;
    return k / 2;
}

wg_expr wg_class(wg_builder *b, const uint32_t *ranges, size_t n, bool negated) {
    if (b->failed) return -1;
    if (n > (1u << 24) || (n && !ranges)) return fail(b, "bad character class");
    uint32_t *out;
    size_t k = wg_class_normalize(ranges, n, negated, &out);
    if (k == SIZE_MAX || !grow((void **)&b->ranges, &b->cap_ranges, b->n_ranges + 2 * k, sizeof *b->ranges)) {
        free(out);
        return fail(b, "out of memory building the grammar");
    }
    if (k) memcpy(b->ranges + b->n_ranges, out, 2 * k * sizeof *out);
    free(out);
    wg_expr e = add_node(b, (wg_node){.kind = WG_E_CLASS, .off = (uint32_t)b->n_ranges, .n = (uint32_t)k});
    if (e >= 0) b->n_ranges += 2 * k;
    return e;
}

wg_expr wg_any_char(wg_builder *b) { return wg_class(b, NULL, 0, true); }

wg_expr wg_byte_range(wg_builder *b, uint8_t lo, uint8_t hi) {
    if (lo > hi) return wg_nothing(b);
    return add_node(b, (wg_node){.kind = WG_E_BYTE_RANGE, .a = lo, .b = hi});
}

wg_expr wg_ref(wg_builder *b, wg_rule r) {
    if (b->failed) return -1;
    if (r < 0 || (size_t)r >= b->n_rules) return fail(b, "reference to an invalid rule handle");
    return add_node(b, (wg_node){.kind = WG_E_REF, .a = (uint32_t)r});
}

static wg_expr list(wg_builder *b, wg_kind kind, const wg_expr *items, size_t n) {
    if (b->failed) return -1;
    if (n && !items) return fail(b, "NULL expression list");
    for (size_t i = 0; i < n; i++)
        if (!valid_expr(b, items[i])) return fail(b, "invalid expression handle in a sequence or alternation");
    if (n == 1) return items[0];
    if (n == 0) return kind == WG_E_SEQ ? wg_empty(b) : wg_nothing(b);
    if (!grow((void **)&b->items, &b->cap_items, b->n_items + n, sizeof *b->items))
        return fail(b, "out of memory building the grammar");
    memcpy(b->items + b->n_items, items, n * sizeof *items);
    wg_expr e = add_node(b, (wg_node){.kind = kind, .off = (uint32_t)b->n_items, .n = (uint32_t)n});
    if (e >= 0) b->n_items += n;
    return e;
}

wg_expr wg_seq(wg_builder *b, const wg_expr *items, size_t n) { return list(b, WG_E_SEQ, items, n); }
wg_expr wg_alt(wg_builder *b, const wg_expr *items, size_t n) { return list(b, WG_E_ALT, items, n); }
wg_expr wg_seq2(wg_builder *b, wg_expr x, wg_expr y) { return wg_seq(b, (wg_expr[]){x, y}, 2); }
wg_expr wg_alt2(wg_builder *b, wg_expr x, wg_expr y) { return wg_alt(b, (wg_expr[]){x, y}, 2); }

wg_expr wg_repeat(wg_builder *b, wg_expr e, uint32_t min, uint32_t max) {
    if (b->failed) return -1;
    if (!valid_expr(b, e)) return fail(b, "invalid expression handle in a repetition");
    if (max < min) return fail(b, "repetition with max < min");
    if (min == 1 && max == 1) return e;
    if (max == 0) return wg_empty(b);
    return add_node(b, (wg_node){.kind = WG_E_REPEAT, .a = (uint32_t)e, .off = min, .n = max});
}
