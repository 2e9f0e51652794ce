/* Rotary position embedding (Su et al. 2021, "RoFormer"). Pair j of a head
 * turns by pos * scale * base^(-2j / n_rot). ROPE_NORM pairs dims
 * (2j, 2j+1), ROPE_NEOX pairs (j, j + n_rot/2); dims >= n_rot stay as they
 * are. Used by the forward pass and by KV re-positioning, so both agree. */
#ifndef WEFT_LLAMA_ROPE_H
#define WEFT_LLAMA_ROPE_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "arch.h"

typedef struct rope_params {
    rope_style style;
    int n_rot;
    float base;
    float scale; /* linear position scaling (1 / factor) */
} rope_params;

/* cs[j] = cos, cs[n_rot/2 + j] = sin of pair j's angle at `pos`. Angles are
 * computed in double: positions in the thousands times float frequencies
 * would otherwise lose several bits. */
static inline void rope_angles(const rope_params *rp, int32_t pos, float *cs) {
    const int half = rp->n_rot / 2;
    for (int j = 0; j < half; j++) {
        double freq = pow((double)rp->base, -2.0 * j / rp->n_rot);
        double a = (double)pos * (double)rp->scale * freq;
        cs[j] = (float)cos(a);
        cs[half + j] = (float)sin(a);
    }
}

/* Rotates n_heads consecutive heads of head_dim floats; `inverse` turns
 * them back (used to move cached keys to a new position). */
static inline void rope_apply(const rope_params *rp, float *x, int n_heads, int head_dim,
                              const float *cs, bool inverse) {
    const int half = rp->n_rot / 2;
    const float sgn = inverse ? -1.0f : 1.0f;
    for (int h = 0; h < n_heads; h++) {
        float *v = x + (size_t)h * head_dim;
        for (int j = 0; j < half; j++) {
            const int i0 = rp->style == ROPE_NORM ? 2 * j : j;
            const int i1 = rp->style == ROPE_NORM ? 2 * j + 1 : j + half;
            const float c = cs[j], s = sgn * cs[half + j];
            const float a = v[i0], b = v[i1];
            v[i0] = a * c - b * s;
            v[i1] = a * s + b * c;
        }
    }
}

#endif
