/* Internal: a configured pipeline and the buffers the decode loop reuses
 * (allocated once per pipeline, so the per-token path does not allocate). */
#ifndef WEFT_CORE_PIPELINE_H
#define WEFT_CORE_PIPELINE_H

#include "component.h"

typedef struct gen_settings {
    int64_t max_tokens;
    int64_t seed;
    int64_t max_draft_nodes; /* tree capacity */
    int64_t max_draft_depth;
    bool add_bos;
    bool parse_special;
    char **stop;
    size_t n_stop;
} gen_settings;

typedef struct decode_buffers {
    size_t cap;              /* tree capacity (nodes) */
    weft_token *history;     /* n_ctx + cap + 1 */
    size_t history_cap;
    weft_tree tree;          /* as drafted */
    weft_dist *draft_dists;  /* cap + 1 */
    int32_t *depth;          /* per node */
    weft_token *batch_tokens;
    int32_t *batch_pos, *batch_parents, *out_rows;
    float *logits;           /* (cap + 1) * n_vocab */
    weft_candidate *cands;   /* (cap + 1) * n_vocab */
    weft_dist *target;       /* cap + 1 */
    /* the tree the verifier sees (aux rows removed) */
    weft_tree vtree;
    weft_dist *vtarget, *vdraft;
    int32_t *vmap;           /* vtree node -> tree node */
    int32_t *remap;          /* tree node -> pruned tree node, or -1 */
    int32_t *accepted, *accepted_full;
    int32_t *keep_rows;
    weft_grammar_state **gstates; /* cap + 1 (position 0 = the committed state) */
    uint32_t *mask;
    weft_token *committed;   /* cap + 1 */
    /* Stateful samplers (WEFT_CAP_STATEFUL with clone and accept): one state
     * per position; position 0 is the instance itself, node positions hold
     * clones of their parent's state that accepted the node's token. */
    void ***sampler_states;  /* [n_samplers][cap + 1] */
} decode_buffers;

struct weft_pipeline {
    weft_registry *reg;
    weft_runtime *rt;
    int64_t n_build_warnings; /* logged while it was built */
    cJSON *root;
    char *models_dir;
    component_node *backend, *drafter, *verifier, *grammar, *kv;
    component_node **samplers;
    size_t n_samplers;
    cJSON *sampler_preset; /* a named chain ("samplers": "llama.cpp"), parsed */
    gen_settings gen;
    const weft_model_info *info;
    /* the vocabulary's bytes, built once (grammars, text-based samplers) */
    weft_vocab vocab;
    char fingerprint[128];
    char **vocab_bytes;
    uint32_t *vocab_len, *vocab_attr;
    weft_token *eog;
    size_t n_eog;
    decode_buffers buf;
    weft_rng rng;
};

/* Vtables of the pipeline's components. */
#define BACKEND_VT(p) ((const weft_backend_vtable *)(p)->backend->info->desc->vtable)
#define BACKEND_SELF(p) ((p)->backend->inst.self)

bool decode_buffers_init(weft_pipeline *p, char *err, size_t cap);
void decode_buffers_free(weft_pipeline *p);
bool vocab_init(weft_pipeline *p, char *err, size_t cap);

#endif
