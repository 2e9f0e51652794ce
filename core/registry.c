/* Plugin loading and the component registry. A plugin file is dlopen'd, its
 * entry symbol registers components into a pending list, and only when every
 * descriptor passes the ABI checks are they added (all or nothing). */
#include "registry.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "util.h"

typedef struct plugin_file {
    char *path;
    void *handle;
} plugin_file;

struct weft_registry {
    plugin_file *files;
    size_t n_files;
    weft_component_info *items;
    size_t n_items;
    weft_shared_store *shared; /* host->shared of its pipelines: outlives them */
};

/* What the entry registers while it runs. */
struct weft_registrar {
    weft_registry *reg;
    const char *path;
    const weft_component_desc *pending[64];
    size_t n_pending;
    char *err;
    size_t cap;
    bool failed;
};

const char *weft_kind_name(weft_kind kind) {
    switch (kind) {
    case WEFT_KIND_BACKEND: return "backend";
    case WEFT_KIND_DRAFTER: return "drafter";
    case WEFT_KIND_VERIFIER: return "verifier";
    case WEFT_KIND_SAMPLER: return "sampler";
    case WEFT_KIND_GRAMMAR: return "grammar";
    case WEFT_KIND_KV_COMPRESSOR: return "kv-compressor";
    }
    return "unknown-kind";
}

const char *weft_type_name(weft_type t) {
    static const char *names[] = {"void",   "bool", "integer",   "number",         "string",
                                  "json",   "component", "component list", "integer list"};
    return (unsigned)t < WEFT_COUNT(names) ? names[t] : "unknown-type";
}

const char *weft_status_name(weft_status st) {
    switch (st) {
    case WEFT_OK: return "ok";
    case WEFT_ERR_INVALID: return "invalid";
    case WEFT_ERR_NOMEM: return "out of memory";
    case WEFT_ERR_IO: return "i/o error";
    case WEFT_ERR_UNSUPPORTED: return "unsupported";
    case WEFT_ERR_CONTEXT_FULL: return "context full";
    case WEFT_ERR_ABI: return "abi mismatch";
    case WEFT_ERR_INTERNAL: return "internal error";
    case WEFT_ERR_CANCELLED: return "cancelled";
    }
    return "unknown status";
}

#define END_OF(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

size_t registry_min_vtable_size(weft_kind kind) {
    switch (kind) {
    case WEFT_KIND_BACKEND: return END_OF(weft_backend_vtable, kv_keep);
    case WEFT_KIND_DRAFTER: return END_OF(weft_drafter_vtable, draft);
    case WEFT_KIND_VERIFIER: return END_OF(weft_verifier_vtable, verify);
    case WEFT_KIND_SAMPLER: return END_OF(weft_sampler_vtable, apply);
    case WEFT_KIND_GRAMMAR: return END_OF(weft_grammar_vtable, is_accepting);
    case WEFT_KIND_KV_COMPRESSOR: return END_OF(weft_kv_vtable, plan);
    }
    return 0;
}

/* Mandatory methods are non-NULL. */
static const char *missing_method(const weft_component_desc *d) {
    const void *v = d->vtable;
#define NEED(type, f)                          \
    if (!((const type *)v)->f) return #f;
    switch (d->kind) {
    case WEFT_KIND_BACKEND:
        NEED(weft_backend_vtable, info) NEED(weft_backend_vtable, tokenize)
        NEED(weft_backend_vtable, token_bytes) NEED(weft_backend_vtable, eval)
        NEED(weft_backend_vtable, kv_len) NEED(weft_backend_vtable, kv_keep) break;
    case WEFT_KIND_DRAFTER: NEED(weft_drafter_vtable, draft) break;
    case WEFT_KIND_VERIFIER: NEED(weft_verifier_vtable, verify) break;
    case WEFT_KIND_SAMPLER: NEED(weft_sampler_vtable, apply) break;
    case WEFT_KIND_GRAMMAR:
        NEED(weft_grammar_vtable, set_vocab) NEED(weft_grammar_vtable, state_new)
        NEED(weft_grammar_vtable, state_fork) NEED(weft_grammar_vtable, state_free)
        NEED(weft_grammar_vtable, accept) NEED(weft_grammar_vtable, rollback)
        NEED(weft_grammar_vtable, fill_mask) NEED(weft_grammar_vtable, is_accepting) break;
    case WEFT_KIND_KV_COMPRESSOR:
        NEED(weft_kv_vtable, signals) NEED(weft_kv_vtable, schedule) NEED(weft_kv_vtable, plan)
        break;
    }
#undef NEED
    return NULL;
}

static bool valid_name(const char *s) {
    if (!s || !*s || strlen(s) > 64) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
            return false;
    return true;
}

static bool check_params(const weft_component_desc *d, char *err, size_t cap) {
    if (d->n_params && !d->params) return fail_msg(err, cap, "n_params is %zu but params is NULL", d->n_params);
    for (size_t i = 0; i < d->n_params; i++) {
        const weft_param_desc *p = &d->params[i];
        if (p->struct_size < END_OF(weft_param_desc, doc))
            return fail_msg(err, cap, "parameter %zu: descriptor too small (%zu bytes)", i, p->struct_size);
        if (!p->name || !*p->name) return fail_msg(err, cap, "parameter %zu has no name", i);
        if (strcmp(p->name, "use") == 0)
            return fail_msg(err, cap, "parameter name 'use' is reserved");
        if (p->type < WEFT_TYPE_BOOL || p->type > WEFT_TYPE_INT_LIST)
            return fail_msg(err, cap, "parameter '%s' has unknown type %d", p->name, (int)p->type);
        for (size_t j = 0; j < i; j++)
            if (strcmp(d->params[j].name, p->name) == 0)
                return fail_msg(err, cap, "parameter '%s' declared twice", p->name);
    }
    if (d->n_actions && !d->actions) return fail_msg(err, cap, "n_actions is %zu but actions is NULL", d->n_actions);
    for (size_t i = 0; i < d->n_actions; i++) {
        const weft_action_desc *a = &d->actions[i];
        if (a->struct_size < END_OF(weft_action_desc, fn) || !a->name || !a->fn)
            return fail_msg(err, cap, "action %zu: incomplete descriptor", i);
        if (a->n_args > 16 || (a->n_args && !a->arg_types))
            return fail_msg(err, cap, "action '%s': bad argument list", a->name);
        for (size_t j = 0; j < a->n_args; j++)
            if (a->arg_types[j] < WEFT_TYPE_BOOL || a->arg_types[j] > WEFT_TYPE_STRING)
                return fail_msg(err, cap, "action '%s': argument %zu has a type actions cannot take", a->name, j);
        if (a->ret > WEFT_TYPE_STRING)
            return fail_msg(err, cap, "action '%s': unsupported return type", a->name);
    }
    return true;
}

bool registry_check_desc(const weft_component_desc *d, char *err, size_t cap) {
    if (!d) return fail_msg(err, cap, "registered a NULL descriptor");
    size_t need = END_OF(weft_component_desc, vtable);
    if (d->struct_size < need)
        return fail_msg(err, cap,
                        "component descriptor too small (struct_size %zu, ABI %d.%d needs at least %zu)",
                        d->struct_size, WEFT_ABI_MAJOR, WEFT_ABI_MINOR, need);
    const char *nm = d->name ? d->name : "?";
    if (d->abi_major != WEFT_ABI_MAJOR)
        return fail_msg(err, cap,
                        "component '%s' was built for weft ABI %u.%u, but this host implements ABI %d.%d "
                        "(major versions must match)",
                        nm, d->abi_major, d->abi_minor, WEFT_ABI_MAJOR, WEFT_ABI_MINOR);
    if (d->abi_minor > WEFT_ABI_MINOR)
        return fail_msg(err, cap,
                        "component '%s' was built for weft ABI %u.%u, newer than this host's ABI %d.%d "
                        "(upgrade weft)",
                        nm, d->abi_major, d->abi_minor, WEFT_ABI_MAJOR, WEFT_ABI_MINOR);
    if (d->kind < WEFT_KIND_BACKEND || d->kind > WEFT_KIND_KV_COMPRESSOR)
        return fail_msg(err, cap, "component '%s' has unknown kind %d", nm, (int)d->kind);
    if (!valid_name(d->name))
        return fail_msg(err, cap, "component name '%s' is not [a-z0-9_-]{1,64}", nm);
    if (!d->create || !d->destroy || !d->vtable)
        return fail_msg(err, cap, "%s '%s' lacks create, destroy or vtable", weft_kind_name(d->kind), nm);
    size_t vt_size = *(const size_t *)d->vtable, vt_need = registry_min_vtable_size(d->kind);
    if (vt_size < vt_need)
        return fail_msg(err, cap, "%s '%s': vtable too small (struct_size %zu, needs at least %zu)",
                        weft_kind_name(d->kind), nm, vt_size, vt_need);
    const char *miss = missing_method(d);
    if (miss) return fail_msg(err, cap, "%s '%s': mandatory method %s is NULL", weft_kind_name(d->kind), nm, miss);
    char perr[512];
    if (!check_params(d, perr, sizeof perr))
        return fail_msg(err, cap, "%s '%s': %s", weft_kind_name(d->kind), nm, perr);
    return true;
}

static weft_status host_register(weft_registrar *r, const weft_component_desc *d) {
    if (r->failed) return WEFT_ERR_INVALID;
    char why[700];
    if (!registry_check_desc(d, why, sizeof why)) {
        fail_msg(r->err, r->cap, "%s: %s", r->path, why);
        r->failed = true;
        return WEFT_ERR_ABI;
    }
    const weft_component_info *dup = weft_registry_find(r->reg, d->kind, d->name);
    for (size_t i = 0; !dup && i < r->n_pending; i++)
        if (r->pending[i]->kind == d->kind && strcmp(r->pending[i]->name, d->name) == 0) {
            fail_msg(r->err, r->cap, "%s: %s '%s' is registered twice by this file", r->path,
                     weft_kind_name(d->kind), d->name);
            r->failed = true;
            return WEFT_ERR_INVALID;
        }
    if (dup) {
        fail_msg(r->err, r->cap, "%s: %s '%s' is already registered by %s", r->path,
                 weft_kind_name(d->kind), d->name, dup->file);
        r->failed = true;
        return WEFT_ERR_INVALID;
    }
    if (r->n_pending == WEFT_COUNT(r->pending)) {
        fail_msg(r->err, r->cap, "%s: more than %zu components in one file", r->path, WEFT_COUNT(r->pending));
        r->failed = true;
        return WEFT_ERR_INVALID;
    }
    r->pending[r->n_pending++] = d;
    return WEFT_OK;
}

weft_registry *weft_registry_new(void) {
    weft_registry *reg = calloc(1, sizeof *reg);
    if (reg && !(reg->shared = weft_shared_store_new())) {
        free(reg);
        return NULL;
    }
    return reg;
}

weft_shared_store *weft_registry_shared(weft_registry *reg) { return reg->shared; }

void weft_registry_free(weft_registry *reg) {
    if (!reg) return;
    weft_shared_store_free(reg->shared); /* destroy() is plugin code: before dlclose */
    free(reg->items);
    for (size_t i = 0; i < reg->n_files; i++) {
        dlclose(reg->files[i].handle);
        free(reg->files[i].path);
    }
    free(reg->files);
    free(reg);
}

weft_status weft_registry_load(weft_registry *reg, const char *path, char *err, size_t cap) {
    for (size_t i = 0; i < reg->n_files; i++)
        if (strcmp(reg->files[i].path, path) == 0) return WEFT_OK; /* already loaded */
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fail_msg(err, cap, "cannot load plugin %s: %s", path, dlerror());
        return WEFT_ERR_IO;
    }
    weft_entry_fn entry;
    *(void **)&entry = dlsym(h, WEFT_ENTRY_SYMBOL);
    if (!entry) {
        fail_msg(err, cap, "%s: not a weft plugin (no symbol '%s')", path, WEFT_ENTRY_SYMBOL);
        dlclose(h);
        return WEFT_ERR_ABI;
    }
    weft_registrar r = {.reg = reg, .path = path, .err = err, .cap = cap};
    weft_status st = entry(weft_host_table(), &r, host_register);
    if (st == WEFT_OK && r.failed) st = WEFT_ERR_ABI;
    if (st != WEFT_OK || r.n_pending == 0) {
        if (!r.failed)
            fail_msg(err, cap, st != WEFT_OK ? "%s: plugin entry failed (%s)" : "%s: plugin registered no component%s",
                     path, st != WEFT_OK ? weft_status_name(st) : "");
        dlclose(h);
        return st != WEFT_OK ? st : WEFT_ERR_INVALID;
    }
    plugin_file *nf = realloc(reg->files, (reg->n_files + 1) * sizeof *nf);
    weft_component_info *ni = realloc(reg->items, (reg->n_items + r.n_pending) * sizeof *ni);
    if (nf) reg->files = nf;
    if (ni) reg->items = ni;
    char *p = strdup(path);
    if (!nf || !ni || !p) {
        free(p);
        dlclose(h);
        return WEFT_ERR_NOMEM;
    }
    reg->files[reg->n_files++] = (plugin_file){p, h};
    for (size_t i = 0; i < r.n_pending; i++)
        reg->items[reg->n_items++] = (weft_component_info){r.pending[i], p};
    return WEFT_OK;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int weft_registry_scan(weft_registry *reg, const char *dir, char *err, size_t cap) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    char *names[512];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < WEFT_COUNT(names)) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "weft-", 5) == 0 && len > 3 && strcmp(e->d_name + len - 3, ".so") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str); /* load order must not depend on the file system */
    int loaded = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096], one[WEFT_ERR_CAP] = "";
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        free(names[i]);
        if (weft_registry_load(reg, path, one, sizeof one) == WEFT_OK) loaded++;
        else if (err) append_line(err, cap, one);
    }
    return loaded;
}

/* The builtin plugins that belong to the libweft in use: the build tree's
 * for the build tree's library, else <its folder>/weft/plugins, wherever the
 * prefix was installed or moved (`cmake --install --prefix P`). */
static const char *builtin_plugin_dir(char *buf, size_t cap) {
    Dl_info info;
    char lib[4096], build[4096];
    if (!dladdr((void *)weft_registry_new, &info) || !info.dli_fname || !realpath(info.dli_fname, lib))
        return WEFT_INSTALL_PLUGIN_DIR;
    char *slash = strrchr(lib, '/');
    if (!slash) return WEFT_INSTALL_PLUGIN_DIR;
    *slash = 0;
    if (realpath(WEFT_BUILD_LIB_DIR, build) && strcmp(lib, build) == 0) return WEFT_BUILD_PLUGIN_DIR;
    size_t n = strlen(lib);
    if (n + sizeof "/weft/plugins" > cap) return WEFT_INSTALL_PLUGIN_DIR;
    memcpy(buf, lib, n);
    memcpy(buf + n, "/weft/plugins", sizeof "/weft/plugins");
    return buf;
}

int weft_registry_scan_defaults(weft_registry *reg, char *err, size_t cap) {
    int n = 0;
    const char *env = getenv("WEFT_PLUGIN_PATH");
    if (env && *env) {
        char *copy = strdup(env), *save = NULL;
        for (char *dir = copy ? strtok_r(copy, ":", &save) : NULL; dir; dir = strtok_r(NULL, ":", &save))
            n += weft_registry_scan(reg, dir, err, cap);
        free(copy);
    }
    char buf[4096];
    n += weft_registry_scan(reg, builtin_plugin_dir(buf, sizeof buf), err, cap);
    return n;
}

size_t weft_registry_count(const weft_registry *reg) { return reg->n_items; }

const weft_component_info *weft_registry_at(const weft_registry *reg, size_t i) {
    return i < reg->n_items ? &reg->items[i] : NULL;
}

const weft_component_info *weft_registry_find(const weft_registry *reg, weft_kind kind,
                                              const char *name) {
    for (size_t i = 0; i < reg->n_items; i++)
        if (reg->items[i].desc->kind == kind && strcmp(reg->items[i].desc->name, name) == 0)
            return &reg->items[i];
    return NULL;
}

const weft_component_info *weft_registry_find_any(const weft_registry *reg, const char *name) {
    for (size_t i = 0; i < reg->n_items; i++)
        if (strcmp(reg->items[i].desc->name, name) == 0) return &reg->items[i];
    return NULL;
}
