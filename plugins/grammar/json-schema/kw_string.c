/* minLength, maxLength, pattern, format (2020-12 Validation §6.3, §7). */
#include "js_internal.h"

bool js_kw_string(js_ctx *c, js_node *n, const weft_json *s, const char *kw, const weft_json *v) {
    (void)s;
    js_str *t = &n->str;
    uint64_t k;
    if (strcmp(kw, "minLength") == 0) {
        if (!js_get_count(c, v, &k)) return false;
        if (k > t->min_len) t->min_len = k;
    } else if (strcmp(kw, "maxLength") == 0) {
        if (!js_get_count(c, v, &k)) return false;
        if (k < t->max_len) t->max_len = k;
    } else if (strcmp(kw, "pattern") == 0) {
        if (!js_get_string(c, v, "'pattern'")) return false;
        const weft_json **slot = js_new(c, (t->n_patterns + 1) * sizeof *slot);
        if (!slot) return false;
        if (t->n_patterns) memcpy(slot, t->patterns, t->n_patterns * sizeof *slot);
        slot[t->n_patterns++] = v;
        t->patterns = slot;
    } else { /* format */
        const char *name = js_get_string(c, v, "'format'");
        if (!name) return false;
        js_format f = js_format_lookup(name);
        /* §7.2.1: by default "format" is an annotation; asserting the
         * formats we can express is the format-assertion vocabulary
         * (§7.2.2), which unknown formats do not join (§7.2.3) */
        if (!c->opt.format_assert) return true;
        if (f == JF_NONE) {
            js_warn(c, v, "format '%s' is not known: not enforced (an annotation)", name);
            return true;
        }
        t->format = f;
        t->format_at = v;
    }
    return true;
}
