/* Pipelines: the top-level JSON document, its sections, and the components
 * it instantiates. `weft check` runs the same code without instantiating. */
#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actions.h"
#include "presets.h"
#include "json_view.h"
#include "util.h"

#define P_INT(n, lo, hi, d, doc) \
    {sizeof(weft_param_desc), n, WEFT_TYPE_INT, WEFT_PARAM_HAS_MIN | WEFT_PARAM_HAS_MAX, lo, hi, d, doc, 0, NULL}
#define P_BOOL(n, d, doc) {sizeof(weft_param_desc), n, WEFT_TYPE_BOOL, 0, 0, 0, d, doc, 0, NULL}
#define P_JSON(n, doc) {sizeof(weft_param_desc), n, WEFT_TYPE_JSON, 0, 0, 0, NULL, doc, 0, NULL}

/* The "generate" section is validated like a component's parameters. */
static const weft_param_desc generate_params[] = {
    P_INT("max_tokens", 0, 1e9, "128", "tokens to generate at most"),
    P_INT("seed", 0, 9007199254740991.0, "0", "random seed (sampling, verification)"),
    P_INT("max_draft_nodes", 0, 256, "64", "draft tree capacity per step"),
    P_INT("max_draft_depth", 0, 64, "16", "longest draft path per step"),
    P_BOOL("add_bos", "true", "add the model's BOS token to the prompt"),
    P_BOOL("parse_special", "false", "map special-token text in the prompt to special tokens"),
    P_JSON("stop", "strings that end generation (not included in the output)"),
};
enum { G_MAX_TOKENS, G_SEED, G_NODES, G_DEPTH, G_BOS, G_SPECIAL, G_STOP, G_COUNT };

static const weft_param_desc top_params[] = {
    P_INT("weft", 1, 1, NULL, "pipeline format version (1)"),
    P_INT("threads", 0, 256, "0", "worker threads (0 = all cores)"),
    P_JSON("backend", "the model backend"),
    P_JSON("drafter", "draft proposer (omit for plain decoding)"),
    P_JSON("verifier", "draft verifier (default: speculative-sampling)"),
    P_JSON("samplers", "ordered sampler chain, or a preset name (default: [greedy])"),
    P_JSON("grammar", "output constraint"),
    P_JSON("kv", "KV-cache compressor"),
    P_JSON("generate", "generation settings"),
    P_JSON("plugin_path", "extra plugin folders"),
    P_JSON("actions", "declared actions to call after loading"),
    {sizeof(weft_param_desc), "description", WEFT_TYPE_STRING, 0, 0, 0, NULL, "free text", 0, NULL},
};
enum { T_WEFT, T_THREADS, T_BACKEND, T_DRAFTER, T_VERIFIER, T_SAMPLERS, T_GRAMMAR, T_KV, T_GENERATE,
       T_PLUGIN_PATH, T_ACTIONS, T_DESCRIPTION, T_COUNT };

static bool stop_strings(weft_pipeline *p, const cJSON *v, char *err, size_t cap) {
    if (!v) return true;
    if (!cJSON_IsArray(v)) return fail_msg(err, cap, "/generate/stop: expected an array of strings");
    size_t n = (size_t)cJSON_GetArraySize(v), i = 0;
    p->gen.stop = calloc(n + 1, sizeof *p->gen.stop);
    if (!p->gen.stop) return fail_msg(err, cap, "out of memory");
    for (const cJSON *s = v->child; s; s = s->next, i++) {
        if (!cJSON_IsString(s) || !*s->valuestring)
            return fail_msg(err, cap, "/generate/stop/%zu: expected a non-empty string", i);
        p->gen.stop[p->gen.n_stop++] = strdup(s->valuestring);
    }
    return true;
}

static const char *default_models_dir(const weft_options *opt) {
    if (opt && opt->models_dir) return opt->models_dir;
    const char *e = getenv("WEFT_MODELS");
    return e && *e ? e : "../shared/models";
}

/* A section given as a component, or a default one ("use" only). */
static component_node *section(config_ctx *ctx, const cJSON *v, const char *pointer, weft_kind kind,
                               const char *default_use) {
    if (v) return component_from_json(ctx, v, pointer, kind);
    cJSON *def = cJSON_CreateObject();
    cJSON_AddStringToObject(def, "use", default_use);
    component_node *c = component_from_json(ctx, def, pointer, kind);
    cJSON_Delete(def);
    return c;
}

static bool build(weft_pipeline *p, const weft_options *opt, bool instantiate, char *err, size_t cap) {
    const cJSON *root = p->root;
    if (!cJSON_IsObject(root)) return fail_msg(err, cap, "/: a pipeline is a JSON object");
    config_ctx ctx = {.reg = p->reg, .models_dir = p->models_dir, .err = err, .cap = cap};
    component_node scratch = {.pointer = ""};
    weft_value top[T_COUNT] = {0}, gen[G_COUNT] = {0};
    bool ok = params_from_object(&ctx, &scratch, top_params, T_COUNT, root, "", "a pipeline", NULL, top);
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(root, "generate");
    if (ok && g && !cJSON_IsObject(g)) ok = fail_msg(err, cap, "/generate: expected an object");
    cJSON *empty = cJSON_CreateObject();
    if (ok) ok = params_from_object(&ctx, &scratch, generate_params, G_COUNT, g ? g : empty, "/generate",
                                    "the generate section", NULL, gen);
    cJSON_Delete(empty);
    if (ok) {
        p->gen.max_tokens = gen[G_MAX_TOKENS].u.i;
        p->gen.seed = gen[G_SEED].u.i;
        p->gen.max_draft_nodes = gen[G_NODES].u.i;
        p->gen.max_draft_depth = gen[G_DEPTH].u.i;
        p->gen.add_bos = gen[G_BOS].u.b;
        p->gen.parse_special = gen[G_SPECIAL].u.b;
        ok = stop_strings(p, cJSON_GetObjectItemCaseSensitive(g, "stop"), err, cap);
    }
    /* extra plugin folders come before components are looked up */
    const cJSON *pp = cJSON_GetObjectItemCaseSensitive(root, "plugin_path");
    if (ok && pp) {
        if (!cJSON_IsArray(pp)) ok = fail_msg(err, cap, "/plugin_path: expected an array of folder names");
        int i = 0;
        for (const cJSON *d = pp->child; ok && d; d = d->next, i++) {
            if (!cJSON_IsString(d)) ok = fail_msg(err, cap, "/plugin_path/%d: expected a string", i);
            else weft_registry_scan(p->reg, d->valuestring, NULL, 0);
        }
    }
    int threads = ok ? (int)top[T_THREADS].u.i : 1;
    if (opt && opt->n_threads > 0) threads = opt->n_threads;
    if (threads == 0) threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (ok && instantiate) {
        p->rt = weft_runtime_new(threads > 0 ? threads : 1);
        if (!p->rt) ok = fail_msg(err, cap, "out of memory");
        else if (opt && opt->log_level) p->rt->log_level = opt->log_level;
        if (p->rt) p->rt->shared = weft_registry_shared(p->reg);
        ctx.rt = p->rt;
    }
#define GET(k) cJSON_GetObjectItemCaseSensitive(root, k)
    if (ok && !GET("backend")) ok = fail_msg(err, cap, "/: missing required section \"backend\"");
    if (ok) ok = (p->backend = section(&ctx, GET("backend"), "/backend", WEFT_KIND_BACKEND, NULL)) != NULL;
    if (ok && GET("drafter")) ok = (p->drafter = section(&ctx, GET("drafter"), "/drafter", WEFT_KIND_DRAFTER, NULL)) != NULL;
    if (ok) ok = (p->verifier = section(&ctx, GET("verifier"), "/verifier", WEFT_KIND_VERIFIER, "speculative-sampling")) != NULL;
    if (ok && GET("grammar")) ok = (p->grammar = section(&ctx, GET("grammar"), "/grammar", WEFT_KIND_GRAMMAR, NULL)) != NULL;
    if (ok && GET("kv")) ok = (p->kv = section(&ctx, GET("kv"), "/kv", WEFT_KIND_KV_COMPRESSOR, NULL)) != NULL;
    const cJSON *ss = GET("samplers");
    if (ok && cJSON_IsString(ss)) {
        /* a named chain; its nodes must outlive the pipeline (JSON views) */
        const char *pj = sampler_preset_json(ss->valuestring);
        if (!pj)
            ok = fail_msg(err, cap, "/samplers: unknown preset \"%s\" (presets: %s)", ss->valuestring,
                          sampler_preset_names());
        else if (!(ss = p->sampler_preset = cJSON_Parse(pj)))
            ok = fail_msg(err, cap, "out of memory");
    }
    if (ok && ss && !cJSON_IsArray(ss))
        ok = fail_msg(err, cap, "/samplers: expected an array of sampler objects or a preset name");
    if (ok) {
        size_t n = ss ? (size_t)cJSON_GetArraySize(ss) : 1;
        p->samplers = calloc(n ? n : 1, sizeof *p->samplers);
        if (!p->samplers) ok = fail_msg(err, cap, "out of memory");
        if (ok && !ss) ok = (p->samplers[p->n_samplers++] = section(&ctx, NULL, "/samplers/0", WEFT_KIND_SAMPLER, "greedy")) != NULL;
        size_t i = 0;
        for (const cJSON *s = ss ? ss->child : NULL; ok && s; s = s->next, i++) {
            char *sp = json_pointer_index("/samplers", i);
            ok = (p->samplers[p->n_samplers] = component_from_json(&ctx, s, sp, WEFT_KIND_SAMPLER)) != NULL;
            if (ok) p->n_samplers++;
            free(sp);
        }
    }
#undef GET
    component_storage_free(&scratch);
    return ok;
}

static weft_status pipeline_call(weft_pipeline *p, const char *component, const char *action, const cJSON *args,
                                 const char *entry, bool dry_run, char *result, size_t result_cap, char *err,
                                 size_t cap);

/* Calls (or, in check mode, type-checks) the "actions" section. */
static bool run_config_actions(weft_pipeline *p, bool dry_run, char *err, size_t cap) {
    const cJSON *acts = cJSON_GetObjectItemCaseSensitive(p->root, "actions");
    if (!acts) return true;
    if (!cJSON_IsArray(acts)) return fail_msg(err, cap, "/actions: expected an array");
    int i = 0;
    for (const cJSON *a = acts->child; a; a = a->next, i++) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(a, "component");
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(a, "action");
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(a, "args");
        if (!cJSON_IsString(c) || !cJSON_IsString(n))
            return fail_msg(err, cap, "/actions/%d: expected {\"component\": \"/drafter\", \"action\": \"name\", \"args\": [...]}", i);
        char where[64];
        snprintf(where, sizeof where, "/actions/%d", i);
        if (pipeline_call(p, c->valuestring, n->valuestring, args, where, dry_run, NULL, 0, err, cap) != WEFT_OK)
            return false;
    }
    return true;
}

static weft_pipeline *pipeline_parse(weft_registry *reg, const char *json, size_t len, const char *origin,
                                     const weft_options *opt, char *err, size_t cap) {
    weft_pipeline *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->reg = reg;
    p->models_dir = strdup(default_models_dir(opt));
    p->root = json_parse_located(json, len, origin ? origin : "<pipeline>", err, cap);
    if (!p->root) {
        weft_pipeline_free(p);
        return NULL;
    }
    return p;
}

weft_status weft_pipeline_check(weft_registry *reg, const char *json, size_t len, const char *origin,
                                const weft_options *opt, char *err, size_t cap) {
    weft_pipeline *p = pipeline_parse(reg, json, len, origin, opt, err, cap);
    if (!p) return WEFT_ERR_INVALID;
    bool ok = build(p, opt, false, err, cap) && run_config_actions(p, true, err, cap);
    weft_pipeline_free(p);
    return ok ? WEFT_OK : WEFT_ERR_INVALID;
}

weft_pipeline *weft_pipeline_new(weft_registry *reg, const char *json, size_t len, const char *origin,
                                 const weft_options *opt, char *err, size_t cap) {
    weft_pipeline *p = pipeline_parse(reg, json, len, origin, opt, err, cap);
    if (!p) return NULL;
    if (!build(p, opt, true, err, cap) || !run_config_actions(p, false, err, cap) || !decode_buffers_init(p, err, cap) ||
        !vocab_init(p, err, cap)) {
        weft_pipeline_free(p);
        return NULL;
    }
    p->n_build_warnings = p->rt->n_warnings; /* reported with every request's stats */
    return p;
}

void weft_pipeline_free(weft_pipeline *p) {
    if (!p) return;
    decode_buffers_free(p);
    if (p->vocab_bytes) /* p->info belongs to the backend: read it before it goes */
        for (int32_t i = 0; p->info && i < p->info->n_vocab; i++) free(p->vocab_bytes[i]);
    free(p->vocab_bytes);
    free(p->vocab_len);
    free(p->vocab_attr);
    free(p->eog);
    /* users of the backend go first */
    component_free(p->drafter);
    component_free(p->verifier);
    component_free(p->grammar);
    component_free(p->kv);
    for (size_t i = 0; i < p->n_samplers; i++) component_free(p->samplers[i]);
    free(p->samplers);
    component_free(p->backend);
    for (size_t i = 0; i < p->gen.n_stop; i++) free(p->gen.stop[i]);
    free(p->gen.stop);
    weft_runtime_free(p->rt);
    cJSON_Delete(p->sampler_preset);
    cJSON_Delete(p->root);
    free(p->models_dir);
    free(p);
}

static component_node *find_any(weft_pipeline *p, const char *pointer) {
    component_node *tops[] = {p->backend, p->drafter, p->verifier, p->grammar, p->kv};
    for (size_t i = 0; i < WEFT_COUNT(tops); i++) {
        component_node *f = component_find(tops[i], pointer);
        if (f) return f;
    }
    for (size_t i = 0; i < p->n_samplers; i++) {
        component_node *f = component_find(p->samplers[i], pointer);
        if (f) return f;
    }
    return NULL;
}

/* entry: the pointer of the "actions" entry the call comes from, or NULL for
 * calls through the API; messages point into the entry when there is one. */
static weft_status pipeline_call(weft_pipeline *p, const char *component, const char *action, const cJSON *args,
                                 const char *entry, bool dry_run, char *result, size_t result_cap, char *err,
                                 size_t cap) {
    char at[96] = "";
    component_node *c = find_any(p, component);
    if (!c) {
        if (entry) snprintf(at, sizeof at, "%s/component: ", entry);
        fail_msg(err, cap, "%sno component at %s (use a JSON pointer such as /drafter or /samplers/0)", at, component);
        return WEFT_ERR_INVALID;
    }
    const weft_action_desc *a = action_find(c->info->desc, action);
    if (!a) {
        char list[256] = "";
        for (size_t i = 0; i < c->info->desc->n_actions; i++) {
            size_t l = strlen(list);
            snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", c->info->desc->actions[i].name);
        }
        if (entry) snprintf(at, sizeof at, "%s/action", entry);
        fail_msg(err, cap, "%s: %s '%s' has no action '%s' (actions: %s)", entry ? at : component,
                 weft_kind_name(c->info->desc->kind), c->info->desc->name, action, *list ? list : "none");
        return WEFT_ERR_INVALID;
    }
    if (entry) snprintf(at, sizeof at, "%s/args", entry);
    if (!dry_run) weft_env_clear_error(c->env);
    return action_invoke(a, c->inst.self, args, entry ? at : NULL, component, dry_run, result, result_cap, err, cap);
}

weft_status weft_pipeline_call(weft_pipeline *p, const char *component, const char *action, const char *args_json,
                               char *result, size_t result_cap, char *err, size_t cap) {
    cJSON *args = NULL;
    if (args_json && !(args = cJSON_Parse(args_json))) {
        fail_msg(err, cap, "%s: arguments of action '%s' are not valid JSON", component, action);
        return WEFT_ERR_INVALID;
    }
    weft_status st = pipeline_call(p, component, action, args, NULL, false, result, result_cap, err, cap);
    cJSON_Delete(args);
    return st;
}
