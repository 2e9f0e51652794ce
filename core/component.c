/* Validating component configs against declared parameters, and creating
 * the components. Every error starts with the JSON pointer of the value at
 * fault: "/samplers/1/k: expected integer >= 0, got -3". */
#include "component.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json_view.h"
#include "util.h"

static bool perr(config_ctx *ctx, const char *pointer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool perr(config_ctx *ctx, const char *pointer, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fail_msg(ctx->err, ctx->cap, "%s: %s", *pointer ? pointer : "/", msg);
}

/* Short rendering of a JSON value for messages: -3, "yes", an object, ... */
static void describe(const cJSON *v, char *buf, size_t cap) {
    if (cJSON_IsNumber(v)) snprintf(buf, cap, "%.17g", v->valuedouble);
    else if (cJSON_IsString(v)) snprintf(buf, cap, "\"%.60s\"", v->valuestring);
    else if (cJSON_IsBool(v)) snprintf(buf, cap, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsNull(v)) snprintf(buf, cap, "null");
    else if (cJSON_IsArray(v)) snprintf(buf, cap, "an array");
    else if (cJSON_IsObject(v)) snprintf(buf, cap, "an object");
    else snprintf(buf, cap, "an invalid value");
}

static void bounds_text(const weft_param_desc *p, const char *noun, char *buf, size_t cap) {
    bool lo = p->flags & WEFT_PARAM_HAS_MIN, hi = p->flags & WEFT_PARAM_HAS_MAX;
    if (lo && hi) snprintf(buf, cap, "%s in [%.17g, %.17g]", noun, p->min, p->max);
    else if (lo) snprintf(buf, cap, "%s >= %.17g", noun, p->min);
    else if (hi) snprintf(buf, cap, "%s <= %.17g", noun, p->max);
    else snprintf(buf, cap, "%s", noun);
}

static bool in_bounds(const weft_param_desc *p, double x) {
    if ((p->flags & WEFT_PARAM_HAS_MIN) && x < p->min) return false;
    if ((p->flags & WEFT_PARAM_HAS_MAX) && x > p->max) return false;
    return true;
}

static bool is_integer(const cJSON *v) {
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) && floor(v->valuedouble) == v->valuedouble &&
           fabs(v->valuedouble) <= 9007199254740992.0; /* 2^53: exact in a double */
}

static char *keep_string(component_node *o, const char *s) {
    char **ns = realloc(o->strings, (o->n_strings + 1) * sizeof *ns);
    if (!ns) return NULL;
    o->strings = ns;
    return o->strings[o->n_strings++] = strdup(s);
}

static bool resolve_file(config_ctx *ctx, component_node *o, const char *name, const char *pointer,
                         weft_value *out) {
    char cand[2][4096];
    int n = 0;
    snprintf(cand[n++], sizeof cand[0], "%s", name);
    if (name[0] != '/' && ctx->models_dir) snprintf(cand[n++], sizeof cand[0], "%s/%s", ctx->models_dir, name);
    for (int i = 0; i < n; i++)
        if (access(cand[i], R_OK) == 0) {
            out->u.s = keep_string(o, cand[i]);
            return out->u.s != NULL;
        }
    return perr(ctx, pointer, "file not found: %s (searched %s%s%s)", name, cand[0], n > 1 ? ", " : "",
                n > 1 ? cand[1] : "");
}

bool param_from_json(config_ctx *ctx, component_node *o, const weft_param_desc *p, const cJSON *v,
                     const char *pointer, weft_value *out) {
    char got[96], want[128];
    describe(v, got, sizeof got);
    out->present = true;
    switch (p->type) {
    case WEFT_TYPE_BOOL:
        if (!cJSON_IsBool(v)) return perr(ctx, pointer, "expected boolean, got %s", got);
        out->u.b = cJSON_IsTrue(v);
        return true;
    case WEFT_TYPE_INT:
        bounds_text(p, "integer", want, sizeof want);
        if (!is_integer(v) || !in_bounds(p, v->valuedouble))
            return perr(ctx, pointer, "expected %s, got %s", want, got);
        out->u.i = (int64_t)v->valuedouble;
        return true;
    case WEFT_TYPE_DOUBLE:
        bounds_text(p, "number", want, sizeof want);
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || !in_bounds(p, v->valuedouble))
            return perr(ctx, pointer, "expected %s, got %s", want, got);
        out->u.d = v->valuedouble;
        return true;
    case WEFT_TYPE_STRING:
        if (!cJSON_IsString(v)) return perr(ctx, pointer, "expected string, got %s", got);
        if (p->choices) {
            bool ok = false;
            char list[256] = "";
            for (const char *const *c = p->choices; *c; c++) {
                ok |= strcmp(*c, v->valuestring) == 0;
                size_t l = strlen(list);
                snprintf(list + l, sizeof list - l, "%s\"%s\"", l ? ", " : "", *c);
            }
            if (!ok) return perr(ctx, pointer, "expected one of %s, got %s", list, got);
        }
        if (p->flags & WEFT_PARAM_FILE) return resolve_file(ctx, o, v->valuestring, pointer, out);
        out->u.s = keep_string(o, v->valuestring);
        return out->u.s != NULL;
    case WEFT_TYPE_JSON: {
        weft_json *j = json_view_build(v, pointer);
        weft_json **nv = j ? realloc(o->views, (o->n_views + 1) * sizeof *nv) : NULL;
        if (!nv) {
            json_view_free(j);
            return perr(ctx, pointer, "out of memory");
        }
        o->views = nv;
        o->views[o->n_views++] = j;
        out->u.json = j;
        return true;
    }
    case WEFT_TYPE_COMPONENT: {
        component_node *c = component_from_json(ctx, v, pointer, p->nested_kind);
        component_node **nc = c ? realloc(o->children, (o->n_children + 1) * sizeof *nc) : NULL;
        if (!nc) {
            component_free(c);
            return false;
        }
        o->children = nc;
        o->children[o->n_children++] = c;
        out->u.component = ctx->rt ? &c->inst : NULL;
        return true;
    }
    case WEFT_TYPE_COMPONENT_LIST:
    case WEFT_TYPE_INT_LIST: {
        if (!cJSON_IsArray(v)) return perr(ctx, pointer, "expected an array, got %s", got);
        size_t n = (size_t)cJSON_GetArraySize(v);
        bounds_text(p, "length", want, sizeof want);
        if (!in_bounds(p, (double)n)) return perr(ctx, pointer, "expected an array of %s, got %zu items", want, n);
        bool comp = p->type == WEFT_TYPE_COMPONENT_LIST;
        void *items = calloc(n ? n : 1, comp ? sizeof(weft_instance *) : sizeof(int64_t));
        if (!items) return perr(ctx, pointer, "out of memory");
        if (comp) {
            weft_instance ***nl = realloc(o->child_lists, (o->n_child_lists + 1) * sizeof *nl);
            if (!nl) return free(items), perr(ctx, pointer, "out of memory");
            o->child_lists = nl;
            o->child_lists[o->n_child_lists++] = items;
        } else {
            int64_t **nl = realloc(o->int_lists, (o->n_int_lists + 1) * sizeof *nl);
            if (!nl) return free(items), perr(ctx, pointer, "out of memory");
            o->int_lists = nl;
            o->int_lists[o->n_int_lists++] = items;
        }
        size_t i = 0;
        for (const cJSON *it = v->child; it; it = it->next, i++) {
            char *ip = json_pointer_index(pointer, i);
            bool ok;
            if (comp) {
                weft_param_desc one = *p;
                one.type = WEFT_TYPE_COMPONENT;
                weft_value cv = {0};
                ok = param_from_json(ctx, o, &one, it, ip, &cv);
                ((weft_instance **)items)[i] = cv.u.component;
            } else {
                char g[96];
                describe(it, g, sizeof g);
                ok = is_integer(it) || perr(ctx, ip, "expected integer, got %s", g);
                if (ok) ((int64_t *)items)[i] = (int64_t)it->valuedouble;
            }
            free(ip);
            if (!ok) return false;
        }
        if (comp) {
            out->u.components.items = items;
            out->u.components.count = n;
        } else {
            out->u.ints.items = items;
            out->u.ints.count = n;
        }
        return true;
    }
    default: return perr(ctx, pointer, "parameter '%s' has unsupported type", p->name);
    }
}

bool params_from_object(config_ctx *ctx, component_node *o, const weft_param_desc *params, size_t n,
                        const cJSON *obj, const char *pointer, const char *what, const char *skip_key,
                        weft_value *out) {
    for (const cJSON *it = obj->child; it; it = it->next) {
        if (skip_key && strcmp(it->string, skip_key) == 0) continue;
        bool known = false;
        for (size_t i = 0; i < n && !known; i++) known = strcmp(params[i].name, it->string) == 0;
        if (!known) {
            char list[512] = "";
            for (size_t i = 0; i < n; i++) {
                size_t l = strlen(list);
                snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", params[i].name);
            }
            char *kp = json_pointer_join(pointer, it->string);
            perr(ctx, kp ? kp : pointer, "unknown parameter '%s' for %s (%s%s)", it->string, what,
                 n ? "parameters: " : "it takes no parameters", list);
            free(kp);
            return false;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const weft_param_desc *p = &params[i];
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, p->name);
        char *kp = json_pointer_join(pointer, p->name);
        if (!kp) return perr(ctx, pointer, "out of memory");
        bool ok = true;
        cJSON *def = NULL;
        if (!v && p->def) {
            def = cJSON_Parse(p->def);
            if (!def) ok = perr(ctx, kp, "default of parameter '%s' of %s is not valid JSON: %s", p->name, what, p->def);
            v = def;
        }
        if (ok && v) ok = param_from_json(ctx, o, p, v, kp, &out[i]);
        else if (ok && (p->flags & WEFT_PARAM_REQUIRED))
            ok = perr(ctx, pointer, "missing required parameter '%s' of %s", p->name, what);
        if (def) { /* a JSON default's view points into it: keep it as long as the node */
            cJSON **nd = realloc(o->defaults, (o->n_defaults + 1) * sizeof *nd);
            if (nd) {
                o->defaults = nd;
                o->defaults[o->n_defaults++] = def;
            } else {
                cJSON_Delete(def);
                ok = ok && perr(ctx, kp, "out of memory");
            }
        }
        free(kp);
        if (!ok) return false;
    }
    return true;
}

static bool unknown_component(config_ctx *ctx, const char *pointer, weft_kind kind, const char *name) {
    const weft_component_info *other = weft_registry_find_any(ctx->reg, name);
    if (other)
        return perr(ctx, pointer, "'%s' is a %s, not a %s", name, weft_kind_name(other->desc->kind),
                    weft_kind_name(kind));
    char list[512] = "";
    for (size_t i = 0; i < weft_registry_count(ctx->reg); i++) {
        const weft_component_info *c = weft_registry_at(ctx->reg, i);
        if (c->desc->kind != kind) continue;
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", l ? ", " : "", c->desc->name);
    }
    return perr(ctx, pointer, "unknown %s '%s' (available: %s)", weft_kind_name(kind), name,
                *list ? list : "none found; set WEFT_PLUGIN_PATH");
}

static bool instantiate(config_ctx *ctx, component_node *c) {
    const weft_component_desc *d = c->info->desc;
    char name[256];
    snprintf(name, sizeof name, "%s '%s' (%s)", weft_kind_name(d->kind), d->name, c->pointer);
    c->env = weft_env_new(ctx->rt, name);
    if (!c->env) return perr(ctx, c->pointer, "out of memory");
    void *self = NULL;
    weft_status st = d->create(c->env, c->args, &self);
    if (st != WEFT_OK) {
        component_error(c, "create", st, ctx->err, ctx->cap);
        return false;
    }
    c->inst = (weft_instance){.struct_size = sizeof c->inst, .desc = d, .self = self, .env = c->env};
    c->created = true;
    return true;
}

component_node *component_from_json(config_ctx *ctx, const cJSON *obj, const char *pointer, weft_kind kind) {
    char got[96];
    describe(obj, got, sizeof got);
    if (!cJSON_IsObject(obj)) {
        perr(ctx, pointer, "expected a %s object such as {\"use\": \"name\"}, got %s", weft_kind_name(kind), got);
        return NULL;
    }
    const cJSON *use = cJSON_GetObjectItemCaseSensitive(obj, "use");
    char *up = json_pointer_join(pointer, "use");
    if (!use || !cJSON_IsString(use)) {
        describe(use, got, sizeof got);
        if (!use) perr(ctx, pointer, "missing \"use\": which %s to load", weft_kind_name(kind));
        else perr(ctx, up, "expected the name of a %s, got %s", weft_kind_name(kind), got);
        free(up);
        return NULL;
    }
    const weft_component_info *info = weft_registry_find(ctx->reg, kind, use->valuestring);
    if (!info) {
        unknown_component(ctx, up, kind, use->valuestring);
        free(up);
        return NULL;
    }
    free(up);
    component_node *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->info = info;
    c->pointer = strdup(pointer);
    c->args = calloc(info->desc->n_params + 1, sizeof *c->args);
    char what[160];
    snprintf(what, sizeof what, "%s '%s'", weft_kind_name(kind), info->desc->name);
    if (!c->pointer || !c->args ||
        !params_from_object(ctx, c, info->desc->params, info->desc->n_params, obj, pointer, what, "use", c->args) ||
        (ctx->rt && !instantiate(ctx, c))) {
        component_free(c);
        return NULL;
    }
    return c;
}

void component_storage_free(component_node *c) {
    for (size_t i = 0; i < c->n_views; i++) json_view_free(c->views[i]);
    free(c->views);
    for (size_t i = 0; i < c->n_strings; i++) free(c->strings[i]);
    free(c->strings);
    for (size_t i = 0; i < c->n_child_lists; i++) free(c->child_lists[i]);
    free(c->child_lists);
    for (size_t i = 0; i < c->n_int_lists; i++) free(c->int_lists[i]);
    free(c->int_lists);
    for (size_t i = 0; i < c->n_defaults; i++) cJSON_Delete(c->defaults[i]);
    free(c->defaults);
}

void component_free(component_node *c) {
    if (!c) return;
    if (c->created) c->info->desc->destroy(c->inst.self);
    /* children after the parent: the parent may use them until destroy() */
    for (size_t i = 0; i < c->n_children; i++) component_free(c->children[i]);
    free(c->children);
    component_storage_free(c);
    weft_env_free(c->env);
    free(c->args);
    free(c->pointer);
    free(c);
}

component_node *component_find(component_node *root, const char *pointer) {
    if (!root) return NULL;
    if (strcmp(root->pointer, pointer) == 0) return root;
    for (size_t i = 0; i < root->n_children; i++) {
        component_node *f = component_find(root->children[i], pointer);
        if (f) return f;
    }
    return NULL;
}

void component_error(const component_node *c, const char *what, weft_status st, char *err, size_t cap) {
    const char *msg = c->env ? weft_env_error(c->env) : "";
    fail_msg(err, cap, "%s: %s failed (%s)%s%s", c->env ? weft_env_name(c->env) : c->pointer, what,
             weft_status_name(st), *msg ? ": " : "", msg);
}
