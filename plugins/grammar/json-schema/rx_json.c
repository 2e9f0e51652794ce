/* `pattern` inside a JSON string: the engine's regex translation matches
 * decoded characters, but the grammar reads their JSON text, so every
 * character the regex admits is re-expressed in its canonical encoding
 * (json_chars.c): a '"' becomes \", a newline \n, and so on.
 *
 * STOPGAP: the engine exposes no way to map a regex's characters, so this
 * file reads the builder's expression nodes through the engine's
 * internal.h. It should become an engine option of wg_regex_to_ir (see the
 * report / docs/json-schema.md) and this file should then go away. */
#include <stdlib.h>

#include "internal.h"
#include "js_internal.h"

typedef struct rx_map {
    js_ctx *c;
    wg_expr *memo; /* node id -> mapped expression, -2 = not yet */
    uint64_t *min, *max;
    size_t n;
} rx_map;

static uint64_t sat_add(uint64_t a, uint64_t b) { return a > JS_NO_MAX - b ? JS_NO_MAX : a + b; }
static uint64_t sat_mul(uint64_t a, uint64_t b) {
    if (a == 0 || b == 0) return 0;
    return a > JS_NO_MAX / b ? JS_NO_MAX : a * b;
}

/* Maps node e (of the original regex, ids < m->n); sets its length range. */
static wg_expr map(rx_map *m, wg_expr e) {
    wg_builder *b = m->c->b;
    if (e < 0 || (size_t)e >= m->n) return -1;
    if (m->memo[e] != -2) return m->memo[e];
    wg_node nd = b->nodes[e]; /* a copy: building below may move the array */
    wg_expr r = -1;
    uint64_t lo = 0, hi = 0;
    switch ((wg_kind)nd.kind) {
    case WG_E_EMPTY: r = wg_empty(b); break;
    case WG_E_NOTHING: r = wg_nothing(b); lo = JS_NO_MAX; break;
    case WG_E_BYTES: {
        /* escapes are all ASCII, so UTF-8 can be mapped byte by byte */
        char *txt = malloc(nd.n * 6 + 1);
        char *src = malloc(nd.n + 1);
        if (txt && src) {
            if (nd.n) memcpy(src, b->bytes + nd.off, nd.n);
            src[nd.n] = 0;
            if (memchr(src, 0, nd.n)) { /* a NUL character: one literal per byte */
                r = -1;
            } else {
                js_json_encode(src, txt, nd.n * 6 + 1);
                r = wg_lit_str(b, txt);
                lo = hi = js_utf8_length(src);
            }
        }
        free(txt);
        free(src);
        break;
    }
    case WG_E_CLASS: {
        uint32_t *rg = malloc((2 * nd.n + 1) * sizeof *rg);
        if (rg) {
            if (nd.n) memcpy(rg, b->ranges + nd.off, 2 * nd.n * sizeof *rg);
            r = js_json_chars(m->c, rg, nd.n, false);
            lo = hi = 1;
        }
        free(rg);
        break;
    }
    case WG_E_SEQ:
    case WG_E_ALT: {
        wg_expr *items = calloc(nd.n + 1, sizeof *items);
        if (!items) break;
        if (nd.n) memcpy(items, b->items + nd.off, nd.n * sizeof *items);
        bool seq = nd.kind == WG_E_SEQ;
        lo = seq ? 0 : JS_NO_MAX;
        bool ok = true;
        for (size_t i = 0; i < nd.n && ok; i++) ok = (items[i] = map(m, items[i])) >= 0;
        if (ok) {
            r = seq ? wg_seq(b, items, nd.n) : wg_alt(b, items, nd.n);
            /* lengths from the original children */
            for (size_t i = 0; i < nd.n; i++) {
                wg_expr ch = b->items[nd.off + i];
                uint64_t a = m->min[ch], z = m->max[ch];
                if (seq) lo = sat_add(lo, a), hi = sat_add(hi, z);
                else lo = a < lo ? a : lo, hi = z > hi ? z : hi;
            }
        }
        free(items);
        break;
    }
    case WG_E_REPEAT: {
        wg_expr ch = map(m, (wg_expr)nd.a);
        if (ch < 0) break;
        r = wg_repeat(b, ch, nd.off, nd.n);
        lo = sat_mul(m->min[nd.a], nd.off);
        hi = nd.n == WG_INF ? (m->max[nd.a] ? JS_NO_MAX : 0) : sat_mul(m->max[nd.a], nd.n);
        break;
    }
    default: break; /* raw bytes or rule references: not a character-level regex */
    }
    m->memo[e] = r;
    m->min[e] = lo;
    m->max[e] = hi;
    return r;
}

wg_expr js_regex_json(js_ctx *c, const weft_json *at, const char *regex, uint64_t *min_len, uint64_t *max_len) {
    wg_builder *b = c->b;
    wg_error err = {{0}};
    wg_expr e = wg_regex_to_ir(b, regex, false, &err);
    if (e < 0) {
        js_unsupported(c, at, "'pattern' is not supported: %s", err.msg[0] ? err.msg : "cannot translate it");
        return -1;
    }
    rx_map m = {.c = c, .n = b->n_nodes};
    m.memo = malloc(m.n * sizeof *m.memo);
    m.min = malloc(m.n * sizeof *m.min);
    m.max = malloc(m.n * sizeof *m.max);
    wg_expr r = -1;
    if (m.memo && m.min && m.max) {
        for (size_t i = 0; i < m.n; i++) m.memo[i] = -2;
        r = map(&m, e);
        if (r >= 0) *min_len = m.min[e], *max_len = m.max[e];
    }
    free(m.memo);
    free(m.min);
    free(m.max);
    if (r < 0) js_unsupported(c, at, "'pattern' is not supported: it does not translate to characters");
    return r;
}
