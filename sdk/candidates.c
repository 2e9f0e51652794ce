/* Candidate-set and distribution helpers shared by every sampler and verifier. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "weft/sdk.h"

static int cmp_logit_desc(const void *a, const void *b) {
    const weft_candidate *x = a, *y = b;
    if (x->logit > y->logit) return -1;
    if (x->logit < y->logit) return 1;
    return (x->id > y->id) - (x->id < y->id); /* deterministic order on ties */
}

void weft_cands_sort(weft_candidates *c) {
    if (!c->sorted) qsort(c->data, c->size, sizeof *c->data, cmp_logit_desc);
    c->sorted = true;
}

static bool better(const weft_candidate *x, const weft_candidate *y) {
    return cmp_logit_desc(x, y) < 0;
}

/* Min-heap on "better" of the k best seen so far; root is the worst kept. */
static void sift_down(weft_candidate *h, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && better(&h[m], &h[l])) m = l;
        if (r < n && better(&h[m], &h[r])) m = r;
        if (m == i) return;
        weft_candidate t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

void weft_cands_top_k(weft_candidates *c, size_t k) {
    if (k >= c->size || c->sorted) {
        weft_cands_sort(c);
        if (k < c->size) c->size = k;
        return;
    }
    if (k == 0) {
        c->size = 0;
        return;
    }
    weft_candidate *h = c->data; /* heap lives in the first k slots */
    for (size_t i = k / 2; i-- > 0;) sift_down(h, k, i);
    for (size_t i = k; i < c->size; i++) {
        if (better(&c->data[i], &h[0])) {
            h[0] = c->data[i];
            sift_down(h, k, 0);
        }
    }
    c->size = k;
    c->sorted = false;
    weft_cands_sort(c);
}

void weft_cands_partial_sort(weft_candidates *c, size_t k) {
    if (c->sorted) return;
    if (k >= c->size) {
        weft_cands_sort(c);
        return;
    }
    if (k == 0) return;
    /* as weft_cands_top_k, but evicted candidates are swapped behind the
     * heap instead of overwritten, so the set keeps every member */
    weft_candidate *h = c->data;
    for (size_t i = k / 2; i-- > 0;) sift_down(h, k, i);
    for (size_t i = k; i < c->size; i++) {
        if (better(&c->data[i], &h[0])) {
            weft_candidate t = h[0];
            h[0] = c->data[i];
            c->data[i] = t;
            sift_down(h, k, 0);
        }
    }
    qsort(h, k, sizeof *h, cmp_logit_desc);
}

static int cmp_token_asc(const void *a, const void *b) {
    weft_token x = *(const weft_token *)a, y = *(const weft_token *)b;
    return (x > y) - (x < y);
}

void weft_cands_locate(const weft_candidates *c, const weft_token *ids, size_t m, ptrdiff_t *pos) {
    size_t missing = 0;
    for (size_t j = 0; j < m; j++) {
        weft_token t = ids[j];
        pos[j] = t >= 0 && (size_t)t < c->size && c->data[t].id == t ? (ptrdiff_t)t : -1;
        missing += pos[j] < 0;
    }
    if (missing == 0) return;
    for (size_t i = 0; i < c->size; i++) {
        const weft_token *hit = bsearch(&c->data[i].id, ids, m, sizeof *ids, cmp_token_asc);
        if (hit) pos[hit - ids] = (ptrdiff_t)i;
    }
}

double weft_cands_logsumexp(const weft_candidates *c) {
    float mx = -INFINITY;
    for (size_t i = 0; i < c->size; i++)
        if (c->data[i].logit > mx) mx = c->data[i].logit;
    if (mx == -INFINITY || mx == INFINITY) return mx;
    double sum = 0;
    for (size_t i = 0; i < c->size; i++) sum += exp((double)c->data[i].logit - mx);
    return (double)mx + log(sum);
}

void weft_cands_temperature(weft_candidates *c, double t) {
    if (!(t > 0)) {
        weft_cands_keep_argmax(c);
        return;
    }
    for (size_t i = 0; i < c->size; i++) {
        float l = c->data[i].logit;
        if (isinf(l)) continue;
        double v = (double)l / t;
        c->data[i].logit = v > FLT_MAX ? FLT_MAX : v < -FLT_MAX ? -FLT_MAX : (float)v;
    }
}

void weft_cands_keep_argmax(weft_candidates *c) {
    ptrdiff_t best = weft_cands_argmax(c);
    if (best < 0) return;
    c->data[0] = c->data[best];
    c->size = 1;
    c->sorted = true;
}

float weft_cands_softmax(weft_candidates *c) {
    float mx = -INFINITY;
    for (size_t i = 0; i < c->size; i++)
        if (c->data[i].logit > mx) mx = c->data[i].logit;
    if (c->size == 0 || mx == -INFINITY) {
        /* nothing can be drawn: uniform over the set, which the core rejects */
        for (size_t i = 0; i < c->size; i++) c->data[i].p = 1.0f / (float)c->size;
        return mx;
    }
    double sum = 0;
    for (size_t i = 0; i < c->size; i++) {
        float e = expf(c->data[i].logit - mx);
        c->data[i].p = e;
        sum += e;
    }
    float inv = (float)(1.0 / sum);
    for (size_t i = 0; i < c->size; i++) c->data[i].p *= inv;
    return mx;
}

ptrdiff_t weft_cands_argmax(const weft_candidates *c) {
    if (c->size == 0) return -1;
    if (c->sorted) return 0;
    size_t best = 0;
    for (size_t i = 1; i < c->size; i++)
        if (better(&c->data[i], &c->data[best])) best = i;
    return (ptrdiff_t)best;
}

float weft_dist_prob(const weft_dist *d, weft_token t) {
    for (size_t i = 0; i < d->size; i++)
        if (d->data[i].id == t) return d->data[i].p;
    return 0.0f;
}

weft_token weft_dist_argmax(const weft_dist *d) {
    if (d->size == 0) return -1;
    size_t best = 0;
    for (size_t i = 1; i < d->size; i++) {
        const weft_candidate *x = &d->data[i], *y = &d->data[best];
        if (x->p > y->p || (x->p == y->p && x->id < y->id)) best = i;
    }
    return d->data[best].id;
}

weft_token weft_dist_sample(const weft_dist *d, double u) {
    if (d->size == 0) return -1;
    double acc = 0;
    for (size_t i = 0; i < d->size; i++) {
        acc += d->data[i].p;
        if (u < acc) return d->data[i].id;
    }
    /* rounding left u above the total: the last token with p > 0 */
    for (size_t i = d->size; i-- > 0;)
        if (d->data[i].p > 0) return d->data[i].id;
    return d->data[d->size - 1].id;
}
