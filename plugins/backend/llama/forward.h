/* The transformer forward pass over a batch of tokens (llama2.c's
 * forward(), batched): scratch buffers ("RunState") are allocated once for
 * max_batch tokens; larger batches run in chunks of that size. */
#ifndef WEFT_LLAMA_FORWARD_H
#define WEFT_LLAMA_FORWARD_H

#include <weft/weft_plugin.h>

#include "kvcache.h"
#include "model.h"

typedef struct forward_state forward_state;

/* env supplies parallel_for (NULL: run on the calling thread). */
forward_state *forward_new(const model *m, kv_cache *kv, int max_batch, const weft_env *env,
                           char *err, size_t err_cap);
void forward_free(forward_state *fs);

/* weft_backend_vtable.eval: appends the batch to the cache. Validates the
 * whole batch first; on error the cache is unchanged. Readings of the ABI:
 *   - positions NULL: row i gets (position of the newest entry) + 1 + i,
 *     which is the cache length until a compaction drops entries but keeps
 *     their positions;
 *   - hidden_layer h < n_layers: the residual stream after layer h (0-based);
 *     h == n_layers: the final-normed state the LM head reads;
 *   - ATTN_ACCUM: each query's probabilities are added to its layer's sums
 *     (kv_view().attn_accum, [slot][head]); sums persist across evals, move
 *     with their slots in kv_keep/kv_compact, start at 0 for new slots. */
weft_status forward_eval(forward_state *fs, const weft_batch *batch, char *err, size_t err_cap);

/* RoPE parameters of the model (also used to re-position cached keys). */
rope_params model_rope(const model *m);

#endif
