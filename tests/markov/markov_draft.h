/* The draft distribution of the Markov test drafters (tests/fixtures
 * random_drafter, tests/verifiers wor_drafter): q(. | t) is the softmax of
 * skew * markov_unit(seed, -1, t, j), ids in order. */
#ifndef WEFT_TEST_MARKOV_DRAFT_H
#define WEFT_TEST_MARKOV_DRAFT_H

#include <math.h>
#include <weft/dist.h>

#include "markov_model.h"

static inline void markov_draft_q(uint64_t seed, double skew, weft_token t, size_t nv, weft_candidate *q) {
    double mx = -INFINITY, sum = 0;
    for (size_t j = 0; j < nv; j++) {
        double l = skew * markov_unit(seed, -1, t, (int32_t)j);
        q[j] = (weft_candidate){.id = (weft_token)j, .logit = (float)l};
        if (l > mx) mx = l;
    }
    for (size_t j = 0; j < nv; j++) sum += exp((double)q[j].logit - mx);
    for (size_t j = 0; j < nv; j++) q[j].p = (float)(exp((double)q[j].logit - mx) / sum);
}

#endif
