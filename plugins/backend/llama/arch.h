/* Per-architecture differences as data. forward() is written once; an
 * architecture says where it departs from llama. Adding one = a small
 * arch_<name>.c defining an arch_desc, plus an entry in ARCHES (model.c). */
#ifndef WEFT_LLAMA_ARCH_H
#define WEFT_LLAMA_ARCH_H

#include <stdbool.h>

typedef enum rope_style {
    ROPE_NORM = 0, /* rotate adjacent pairs (2i, 2i+1): llama / Meta layout */
    ROPE_NEOX = 1, /* rotate (i, i + n_rot/2): GPT-NeoX, Qwen2 */
} rope_style;

typedef struct arch_desc {
    const char *name;  /* general.architecture; also the prefix of its hyperparameter keys */
    rope_style rope;
    bool qkv_bias;     /* attn_{q,k,v}.bias present and added after the projections */
    float rope_base;   /* when <name>.rope.freq_base is absent */
    float rms_eps;     /* when <name>.attention.layer_norm_rms_epsilon is absent */
} arch_desc;

extern const arch_desc arch_llama;
extern const arch_desc arch_qwen2;

#endif
