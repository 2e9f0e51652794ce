/* Residual distributions: the working copies that recursive rejection
 * sampling reshapes after each rejected draft token (Leviathan et al. 2023,
 * Alg. 1; Miao et al. 2023, SpecInfer §4; Jeon et al. 2024, RSD §3). */
#include "weft/sdk.h"

/* Residual mass below this fraction of the current mass is rounding noise
 * (p <= q everywhere means p == q): keep p instead. Reaching that branch
 * has probability below the same bound, so the bias is negligible. */
#define RESIDUAL_EPS 1e-6

void weft_residual_init(weft_residual *r, const weft_env *env) {
    *r = (weft_residual){.env = env};
}

void weft_residual_free(weft_residual *r) {
    weft_free(r->env, r->w);
    weft_free(r->env, r->ids);
    weft_residual_init(r, r->env);
}

/* Grows the buffers to hold d (weft_scratch_reserve: geometrically, so once
 * the vocabulary has been seen, loading allocates nothing). */
static weft_status reserve(weft_residual *r, const weft_dist *d) {
    weft_token max_id = -1;
    for (size_t i = 0; i < d->size; i++) {
        if (d->data[i].id < 0) {
            weft_error(r->env, "negative token id %d in a distribution", d->data[i].id);
            return WEFT_ERR_INVALID;
        }
        if (d->data[i].id > max_id) max_id = d->data[i].id;
    }
    size_t old = r->w_cap;
    if (!weft_scratch_reserve(r->env, (void **)&r->w, &r->w_cap, (size_t)max_id + 1, sizeof *r->w) ||
        !weft_scratch_reserve(r->env, (void **)&r->ids, &r->ids_cap, d->size, sizeof *r->ids))
        return WEFT_ERR_NOMEM;
    for (size_t i = old; i < r->w_cap; i++) r->w[i] = 0; /* zero outside the support */
    return WEFT_OK;
}

weft_status weft_residual_load(weft_residual *r, const weft_dist *d) {
    weft_residual_clear(r);
    weft_status st = reserve(r, d);
    if (st != WEFT_OK) return st;
    for (size_t i = 0; i < d->size; i++) {
        const weft_candidate *c = &d->data[i];
        if (!(c->p > 0)) continue;
        if (r->w[c->id] == 0) r->ids[r->n_ids++] = c->id; /* += tolerates repeated ids */
        r->w[c->id] += c->p;
        r->total += c->p;
    }
    return WEFT_OK;
}

void weft_residual_clear(weft_residual *r) {
    for (size_t i = 0; i < r->n_ids; i++) r->w[r->ids[i]] = 0;
    r->n_ids = 0;
    r->total = 0;
}

static double weight(const weft_residual *r, weft_token x) {
    return x >= 0 && (size_t)x < r->w_cap ? r->w[x] : 0;
}

double weft_residual_prob(const weft_residual *r, weft_token x) {
    return r->total > 0 ? weight(r, x) / r->total : 0;
}

/* Kept unnormalised: w <- max(0, w - q * total), total <- the mass left. */
void weft_residual_subtract(weft_residual *p, const weft_residual *q) {
    if (!(q->total > 0)) return;
    double scale = p->total / q->total, removed = 0;
    for (size_t i = 0; i < q->n_ids; i++) {
        double w = weight(p, q->ids[i]), qt = q->w[q->ids[i]] * scale;
        removed += w < qt ? w : qt;
    }
    double rest = p->total - removed;
    if (!(rest > RESIDUAL_EPS * p->total)) return;
    for (size_t i = 0; i < q->n_ids; i++) {
        weft_token id = q->ids[i];
        double w = weight(p, id), qt = q->w[id] * scale;
        if (w > 0) p->w[id] = w > qt ? w - qt : 0;
    }
    p->total = rest;
}

/* Mass left beside x is real (not a difference of two roundings), however
 * small; only when x is the whole support does r stay as it is. */
void weft_residual_remove(weft_residual *r, weft_token x) {
    double w = weight(r, x);
    if (w <= 0 || !(r->total - w > 0)) return;
    r->w[x] = 0;
    r->total -= w;
}

weft_token weft_residual_sample(const weft_residual *r, double u) {
    double target = u * r->total, acc = 0;
    for (size_t i = 0; i < r->n_ids; i++) {
        acc += r->w[r->ids[i]];
        if (target < acc) return r->ids[i];
    }
    for (size_t i = r->n_ids; i-- > 0;) /* rounding: the last token left */
        if (r->w[r->ids[i]] > 0) return r->ids[i];
    return -1;
}
