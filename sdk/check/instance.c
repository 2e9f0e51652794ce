/* Instances for the checker, made by the core's own config code
 * (core/component.c, compiled into the checker): a component gets exactly
 * the values, files and nested components a pipeline would give it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "component.h"

struct chk_instance {
    weft_runtime *rt;
    component_node *node;
};

static bool declares(const weft_component_desc *d, const char *key) {
    for (size_t i = 0; i < d->n_params; i++)
        if (strcmp(d->params[i].name, key) == 0) return true;
    return false;
}

/* A --param value: JSON when it parses, else the bare text as a string. */
static cJSON *param_value(const char *text) {
    cJSON *v = cJSON_Parse(text);
    return v ? v : cJSON_CreateString(text);
}

/* {"use": name, ...the --param values for it} */
static cJSON *config_for(const chk_options *opt, const weft_component_desc *d) {
    cJSON *cfg = cJSON_CreateObject();
    if (!cfg || !cJSON_AddStringToObject(cfg, "use", d->name)) return cJSON_Delete(cfg), NULL;
    for (size_t i = 0; i < opt->n_params; i++) {
        const chk_param *p = &opt->params[i];
        if ((p->component && strcmp(p->component, d->name)) || !declares(d, p->key)) continue;
        cJSON_DeleteItemFromObjectCaseSensitive(cfg, p->key); /* the last one given wins */
        cJSON_AddItemToObject(cfg, p->key, param_value(p->value));
    }
    if (d->kind == WEFT_KIND_BACKEND && opt->model && declares(d, "model") &&
        !cJSON_GetObjectItemCaseSensitive(cfg, "model"))
        cJSON_AddStringToObject(cfg, "model", opt->model);
    return cfg;
}

chk_instance *chk_instance_new(const chk_subject *s, weft_kind kind, const char *name, char *err,
                               size_t cap, bool *needs_params) {
    if (needs_params) *needs_params = false;
    const weft_component_info *info = weft_registry_find(s->reg, kind, name);
    if (!info) {
        snprintf(err, cap, "no %s named '%s' is loaded", weft_kind_name(kind), name);
        return NULL;
    }
    chk_instance *in = calloc(1, sizeof *in);
    cJSON *cfg = config_for(s->opt, info->desc);
    if (in) in->rt = weft_runtime_new(1);
    if (!in || !cfg || !in->rt) {
        snprintf(err, cap, "out of memory");
        cJSON_Delete(cfg);
        chk_instance_free(in);
        return NULL;
    }
    config_ctx ctx = {.reg = s->reg, .rt = in->rt, .models_dir = s->opt->models_dir, .err = err, .cap = cap};
    in->node = component_from_json(&ctx, cfg, "", kind);
    if (!in->node && needs_params) {
        /* More parameters could help when a required one is missing, or when
         * none was given and some have no default ("one of a, b" rules). */
        bool given = cJSON_GetArraySize(cfg) > 1, missing_required = false, undefaulted = false;
        for (size_t i = 0; i < info->desc->n_params; i++) {
            const weft_param_desc *p = &info->desc->params[i];
            bool absent = !p->def && !cJSON_GetObjectItemCaseSensitive(cfg, p->name);
            missing_required |= absent && (p->flags & WEFT_PARAM_REQUIRED);
            undefaulted |= absent;
        }
        *needs_params = missing_required || (!given && undefaulted);
    }
    cJSON_Delete(cfg);
    if (!in->node) {
        chk_instance_free(in);
        return NULL;
    }
    return in;
}

chk_instance *chk_subject_new(const chk_subject *s, char *err, size_t cap, bool *needs_params) {
    return chk_instance_new(s, s->desc->kind, s->desc->name, err, cap, needs_params);
}

weft_instance *chk_inst(chk_instance *i) { return &i->node->inst; }

const char *chk_instance_error(const chk_instance *i) { return weft_env_error(i->node->env); }

void chk_instance_clear_error(chk_instance *i) { weft_env_clear_error(i->node->env); }

void chk_instance_free(chk_instance *i) {
    if (!i) return;
    component_free(i->node);
    weft_runtime_free(i->rt);
    free(i);
}

chk_instance *chk_open(const chk_subject *s, chk_result *r) {
    char err[WEFT_ERR_CAP];
    chk_instance *in = chk_subject_new(s, err, sizeof err, NULL);
    if (!in) chk_skip(r, "no instance (see lifecycle.create): %s", err);
    return in;
}

chk_instance *chk_backend_new(const chk_subject *s, char *why, size_t cap) {
    if (!s->opt->model && !s->opt->backend) {
        snprintf(why, cap, "no backend (pass --model FILE, or --backend NAME for one without a model)");
        return NULL;
    }
    const char *name = s->opt->backend ? s->opt->backend : "llama";
    char err[WEFT_ERR_CAP];
    chk_instance *b = chk_instance_new(s, WEFT_KIND_BACKEND, name, err, sizeof err, NULL);
    if (!b) snprintf(why, cap, "cannot make backend '%s': %s", name, err);
    return b;
}

bool chk_param_default_ok(const chk_subject *s, const weft_param_desc *p, char *err, size_t cap) {
    weft_param_desc one = *p;
    one.flags &= ~WEFT_PARAM_FILE; /* a default file need not exist here */
    component_node *scratch = calloc(1, sizeof *scratch);
    char *pointer = malloc(strlen(p->name) + 2);
    cJSON *v = p->def ? cJSON_Parse(p->def) : NULL;
    bool ok = false;
    if (!scratch || !pointer) snprintf(err, cap, "out of memory");
    else if (!v) snprintf(err, cap, "default %s is not valid JSON", p->def ? p->def : "(none)");
    else {
        sprintf(pointer, "/%s", p->name);
        scratch->pointer = strdup("");
        config_ctx ctx = {.reg = s->reg, .err = err, .cap = cap}; /* no runtime: validate only */
        weft_value val = {0};
        ok = param_from_json(&ctx, scratch, &one, v, pointer, &val);
    }
    cJSON_Delete(v);
    free(pointer);
    if (scratch) component_free(scratch);
    return ok;
}
