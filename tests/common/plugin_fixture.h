/* Test fixture for plugins: loads the built .so the way the host does
 * (dlopen + weft_plugin_entry), finds a descriptor by (kind, name) and
 * creates an instance, filling parameters from their declared defaults
 * unless a test overrides them by name. */
#ifndef WEFT_TEST_PLUGIN_FIXTURE_H
#define WEFT_TEST_PLUGIN_FIXTURE_H

#include <weft/weft_plugin.h>

#include "host.h"

#define PF_MAX_PARAMS 32

typedef struct pf_arg {
    const char *name;
    weft_value value;
} pf_arg;

#define PF_INT(n, v) ((pf_arg){.name = (n), .value = {.present = true, .u.i = (v)}})
#define PF_DOUBLE(n, v) ((pf_arg){.name = (n), .value = {.present = true, .u.d = (v)}})
#define PF_BOOL(n, v) ((pf_arg){.name = (n), .value = {.present = true, .u.b = (v)}})
#define PF_STRING(n, v) ((pf_arg){.name = (n), .value = {.present = true, .u.s = (v)}})
/* pf_create(&fx, PF_ARGS(PF_INT("k", 3), PF_DOUBLE("t", 0.5))) */
#define PF_ARGS(...) (const pf_arg[]){__VA_ARGS__}, sizeof((const pf_arg[]){__VA_ARGS__}) / sizeof(pf_arg)
#define PF_NO_ARGS NULL, 0

typedef struct pf {
    void *dl;
    const weft_component_desc *desc;
    weft_runtime *rt;
    weft_env *env;
    void *self; /* the instance, after pf_create */
    weft_value args[PF_MAX_PARAMS];
    char strings[PF_MAX_PARAMS][256]; /* unquoted STRING defaults */
} pf;

/* Loads <plugin dir>/weft-<kind>-<name>.so and finds the descriptor; false
 * (with a message on stderr) on any failure. Plugin dir: $WEFT_PLUGIN_DIR or
 * WEFT_TEST_PLUGIN_DIR. */
bool pf_load(pf *fx, weft_kind kind, const char *name);
/* Creates the instance from defaults plus `n` overrides; returns create()'s
 * status (message: pf_error). An override naming no parameter is INVALID. */
weft_status pf_create(pf *fx, const pf_arg *overrides, size_t n);
/* pf_load + pf_create; aborts the test (cr_assert) on failure. */
void pf_open(pf *fx, weft_kind kind, const char *name, const pf_arg *overrides, size_t n);
/* The message the plugin last reported through host->error. */
const char *pf_error(const pf *fx);
/* Destroys the instance (if any) and unloads. */
void pf_close(pf *fx);

/* NULL if the descriptor is well formed (ABI version, sizes, version "1.0"
 * style fields, one-line description, documented params with parseable
 * defaults, a vtable), else a description of the first problem. */
const char *pf_check_descriptor(const weft_component_desc *d);

/* ---- samplers ---- */

/* Candidates with ids 0..n-1 and the given logits, stored in buf[n]. */
weft_candidates pf_cands(weft_candidate *buf, const float *logits, size_t n);
/* Runs the sampler's apply() as at the root of a one-token history. */
weft_status pf_apply(pf *fx, weft_candidates *c);
/* The kept ids in ascending order into out (room for c->size); the count. */
size_t pf_kept_ids(const weft_candidates *c, weft_token *out);
/* Asserts what the core relies on after a sampler: size within [1, n0],
 * distinct ids, no NaN or +inf logits, and a softmax with finite p summing
 * to 1. Computes p in place. */
void pf_assert_sane(weft_candidates *c, size_t n0);

/* Runs apply() on a fixed set of extreme inputs (-inf, +-1e30, +-FLT_MAX,
 * all equal, all -inf) and asserts pf_assert_sane on each. */
void pf_assert_extremes(pf *fx);

/* ---- draft trees and verifiers ---- */

#define PF_TREE_CAP 64

/* A draft tree with its own storage. */
typedef struct pf_tree {
    weft_tree t;
    weft_token tokens[PF_TREE_CAP];
    int32_t parents[PF_TREE_CAP];
    uint32_t flags[PF_TREE_CAP];
    float draft_p[PF_TREE_CAP];
    weft_dist dists[PF_TREE_CAP + 1];
} pf_tree;

/* An empty tree (draft_dists set, all unknown). */
void pf_tree_init(pf_tree *tr);
/* Appends a node under `parent` (-1: the root); returns its index. */
int32_t pf_tree_add(pf_tree *tr, int32_t parent, weft_token tok);
/* A one-hot distribution on t, stored in *slot. */
weft_dist pf_onehot(weft_candidate *slot, weft_token t);

/* Runs verify() on the tree; result->accepted points into `accepted`. */
weft_status pf_verify(pf *fx, const weft_tree *t, const weft_dist *target, weft_rng *rng,
                      int32_t accepted[PF_TREE_CAP], weft_verify_result *result);

/* The kind's vtable, typed. */
#define PF_SAMPLER(fx) ((const weft_sampler_vtable *)(fx)->desc->vtable)
#define PF_VERIFIER(fx) ((const weft_verifier_vtable *)(fx)->desc->vtable)
#define PF_DRAFTER(fx) ((const weft_drafter_vtable *)(fx)->desc->vtable)

#endif
