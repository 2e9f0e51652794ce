/* A component configured from pipeline JSON: its validated parameter values,
 * nested components, and (once instantiated) the live instance. */
#ifndef WEFT_CORE_COMPONENT_H
#define WEFT_CORE_COMPONENT_H

#include <cjson/cJSON.h>
#include <weft/weft.h>

#include "host.h"

typedef struct component_node component_node;

struct component_node {
    const weft_component_info *info;
    char *pointer;       /* JSON pointer of its config, e.g. "/samplers/1" */
    weft_value *args;    /* one per declared parameter */
    /* storage the args point into */
    weft_json **views;
    size_t n_views;
    char **strings;
    size_t n_strings;
    component_node **children;
    size_t n_children;
    weft_instance ***child_lists; /* COMPONENT_LIST arrays */
    size_t n_child_lists;
    int64_t **int_lists;
    size_t n_int_lists;
    cJSON **defaults; /* parsed declared defaults that JSON views point into */
    size_t n_defaults;
    /* the live instance (instantiated only) */
    weft_env *env;
    weft_instance inst;
    bool created;
};

typedef struct config_ctx {
    weft_registry *reg;
    weft_runtime *rt;  /* NULL: validate only */
    const char *models_dir;
    char *err;
    size_t cap;
} config_ctx;

/* Validates `obj` as a component of `kind` at `pointer` and, when ctx->rt is
 * set, instantiates it (nested components first). NULL on error (message in
 * ctx->err, prefixed with the JSON pointer). */
component_node *component_from_json(config_ctx *ctx, const cJSON *obj, const char *pointer,
                                    weft_kind kind);
void component_free(component_node *c);
/* Frees what a node's values point into (not the node, its children or its
 * instance): for scratch nodes that only hold values. */
void component_storage_free(component_node *c);

/* Validates `value` against one declared parameter, writing the result into
 * *out. Shared by components and the pipeline's own sections. */
bool param_from_json(config_ctx *ctx, component_node *owner, const weft_param_desc *p,
                     const cJSON *value, const char *pointer, weft_value *out);

/* Checks an object's keys against declared parameters and converts them all
 * (defaults for absent ones). `what` names the owner in messages. */
bool params_from_object(config_ctx *ctx, component_node *owner, const weft_param_desc *params,
                        size_t n, const cJSON *obj, const char *pointer, const char *what,
                        const char *skip_key, weft_value *out);

/* Finds the component at a JSON pointer within a tree of nodes. */
component_node *component_find(component_node *root, const char *pointer);

/* Formats the last instance error as "<kind> '<name>' (<pointer>): <msg>". */
void component_error(const component_node *c, const char *what, weft_status st, char *err,
                     size_t cap);

#endif
