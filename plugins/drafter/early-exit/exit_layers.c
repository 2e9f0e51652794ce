/* Candidate exit layers (exit_layers.h). */
#include "exit_layers.h"

size_t exit_layers(int32_t n_layers, const int64_t *asked, size_t n_asked, int32_t *out) {
    size_t n = 0;
    if (n_asked > 0) {
        /* insertion into a sorted, distinct list */
        for (size_t i = 0; i < n_asked && n < EXIT_MAX_LAYERS; i++) {
            int64_t l = asked[i];
            if (l < 1 || l >= n_layers) continue;
            size_t at = 0;
            while (at < n && out[at] < l) at++;
            if (at < n && out[at] == l) continue;
            for (size_t k = n; k > at; k--) out[k] = out[k - 1];
            out[at] = (int32_t)l;
            n++;
        }
        return n;
    }
    int32_t span = n_layers - 1; /* layers 1 .. n_layers - 1 */
    if (span <= 0) return 0;
    int32_t want = span < 8 ? span : 8;
    for (int32_t i = 0; i < want; i++) {
        /* evenly over [1, n_layers - 1], both ends included */
        int32_t l = want == 1 ? 1 : 1 + (int32_t)((int64_t)i * (span - 1) / (want - 1));
        if (n == 0 || out[n - 1] != l) out[n++] = l;
    }
    return n;
}
