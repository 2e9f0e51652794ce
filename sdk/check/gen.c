/* Generated inputs: the checker's small vocabulary, random distributions and
 * histories, all drawn from libweft's deterministic generator so that every
 * run with the same --seed sees the same inputs. */
#include <math.h>
#include <string.h>

#include "check.h"

/* Token 0 ends generation, 1 is a BOS; then characters a grammar over JSON,
 * numbers or words can use, and multi-byte tokens that span several of them
 * (and that a mask computed from first bytes gets wrong: "1."). */
static const char *const texts[CHK_VOCAB] = {
    "", "", "\n", " ", ":", "\"", "*", ",", ".", "{", "}", "[", "]", "-",
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
    "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t",
    "u", "v", "w", "x", "y", "z",
    "1.", "the", " a", "true", "false", "null", "\":", "{\"", "12", "\n\n", "\xc3\xa9",
};

const weft_vocab *chk_vocab(void) {
    static uint32_t len[CHK_VOCAB], attrs[CHK_VOCAB];
    static const weft_token eog[] = {CHK_EOG};
    static weft_vocab v;
    if (!v.struct_size) { /* immutable once built; rules only read it */
        for (int t = 0; t < CHK_VOCAB; t++) {
            len[t] = (uint32_t)strlen(texts[t]);
            attrs[t] = t == CHK_EOG ? WEFT_TOKEN_CONTROL | WEFT_TOKEN_EOG : t == 1 ? WEFT_TOKEN_CONTROL : WEFT_TOKEN_NORMAL;
        }
        v = (weft_vocab){.struct_size = sizeof v, .n_vocab = CHK_VOCAB, .bytes = texts, .len = len, .attrs = attrs,
                         .eog = eog, .n_eog = 1, .fingerprint = "weft-plugin-check-v1"};
    }
    return &v;
}

double chk_uniform(weft_rng *rng) { return weft_rng_uniform(rng); }

uint32_t chk_below(weft_rng *rng, uint32_t n) { return n ? (uint32_t)(weft_rng_next(rng) % n) : 0; }

double chk_normal(weft_rng *rng) {
    double u = 1.0 - weft_rng_uniform(rng), v = weft_rng_uniform(rng); /* u in (0, 1] */
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

void chk_random_dist(weft_rng *rng, int32_t n_vocab, size_t support, weft_candidate *out) {
    double sum = 0;
    for (size_t i = 0; i < support; i++) {
        weft_token t;
        bool fresh;
        do { /* distinct ids */
            t = (weft_token)chk_below(rng, (uint32_t)n_vocab);
            fresh = true;
            for (size_t j = 0; j < i; j++) fresh &= out[j].id != t;
        } while (!fresh);
        double w = exp(1.5 * chk_normal(rng)); /* uneven, as model outputs are */
        out[i] = (weft_candidate){.id = t, .logit = (float)log(w), .p = (float)w};
        sum += w;
    }
    float total = 0;
    for (size_t i = 0; i < support; i++) total += out[i].p = (float)(out[i].p / sum);
    out[0].p += 1.0f - total; /* exact float sum */
    if (out[0].p <= 0) out[0].p = 1e-7f;
}

weft_token chk_draw(weft_rng *rng, const weft_candidate *d, size_t n) {
    double u = chk_uniform(rng), c = 0;
    for (size_t i = 0; i < n; i++)
        if (u < (c += d[i].p)) return d[i].id;
    return d[n - 1].id;
}

void chk_pattern_new(weft_rng *rng, int32_t n_vocab, chk_pattern *p) {
    p->len = 2 + chk_below(rng, 5);
    for (size_t i = 0; i < p->len; i++) p->tokens[i] = 2 + (weft_token)chk_below(rng, (uint32_t)(n_vocab - 2));
    p->n_vocab = n_vocab;
}

weft_token chk_pattern_at(weft_rng *rng, const chk_pattern *p, size_t i) {
    if (chk_below(rng, 8) == 0) return 2 + (weft_token)chk_below(rng, (uint32_t)(p->n_vocab - 2)); /* noise */
    return p->tokens[i % p->len];
}

void chk_history(weft_rng *rng, int32_t n_vocab, weft_token *out, size_t n) {
    chk_pattern p;
    chk_pattern_new(rng, n_vocab, &p);
    for (size_t i = 0; i < n; i++) out[i] = chk_pattern_at(rng, &p, i);
}
