/* Rules for every component: what its descriptor declares (beyond the checks
 * the host makes when it loads a file), and that it can be created. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static bool one_line(const char *s) { return s && *s && !strchr(s, '\n'); }

/* File-name stem of a kind: weft-<stem>-<name>.so (KV compressors: "kv"). */
static bool kind_matches(weft_kind k, const char *stem, size_t len) {
    const char *full = weft_kind_name(k);
    return (strlen(full) == len && !strncmp(full, stem, len)) ||
           (k == WEFT_KIND_KV_COMPRESSOR && len == 2 && !strncmp(stem, "kv", 2));
}

/* A file named weft-*.so must be weft-<kind>-<name>.so for one of its
 * components: that is how `weft plugins` users find what a file holds. */
static bool file_name_ok(const chk_subject *s, char *why, size_t cap) {
    char *copy = strdup(s->info->file);
    if (!copy) return true;
    const char *base = basename(copy);
    size_t n = strlen(base);
    bool ok = true;
    if (!strncmp(base, "weft-", 5) && n > 9 && !strcmp(base + n - 3, ".so")) {
        ok = false;
        for (size_t i = 0; i < weft_registry_count(s->reg) && !ok; i++) {
            const weft_component_info *c = weft_registry_at(s->reg, i);
            if (strcmp(c->file, s->info->file)) continue;
            size_t nl = strlen(c->desc->name);
            if (n <= 9 + nl) continue;
            size_t kl = n - 9 - nl; /* "weft-" <kind> "-" <name> ".so" */
            ok = base[5 + kl] == '-' && kind_matches(c->desc->kind, base + 5, kl) &&
                 !strncmp(base + 6 + kl, c->desc->name, strlen(c->desc->name));
        }
        if (!ok) snprintf(why, cap, "file %s is not named weft-<kind>-<name>.so after any component it registers", base);
    }
    free(copy);
    return ok;
}

static void rule_metadata(const chk_subject *s, chk_result *r) {
    const weft_component_desc *d = s->desc;
    char why[300];
    if (!d->version || !*d->version) chk_fail(r, "no version string");
    else if (!one_line(d->description)) chk_fail(r, "the description is missing or not one line");
    else if (!file_name_ok(s, why, sizeof why)) chk_fail(r, "%s", why);
    else chk_pass(r, "version %s, ABI %u.%u", d->version, d->abi_major, d->abi_minor);
}

static void rule_params(const chk_subject *s, chk_result *r) {
    const weft_component_desc *d = s->desc;
    size_t n_def = 0;
    for (size_t i = 0; i < d->n_params; i++) {
        const weft_param_desc *p = &d->params[i];
        char err[WEFT_ERR_CAP];
        if (!one_line(p->doc)) {
            chk_fail(r, "parameter '%s': the doc is missing or not one line", p->name);
            return;
        }
        if ((p->flags & WEFT_PARAM_HAS_MIN) && (p->flags & WEFT_PARAM_HAS_MAX) && p->min > p->max) {
            chk_fail(r, "parameter '%s': min %g > max %g", p->name, p->min, p->max);
            return;
        }
        if (p->choices && !p->choices[0]) {
            chk_fail(r, "parameter '%s': an empty list of choices", p->name);
            return;
        }
        if ((p->type == WEFT_TYPE_COMPONENT || p->type == WEFT_TYPE_COMPONENT_LIST) &&
            (p->nested_kind < WEFT_KIND_BACKEND || p->nested_kind > WEFT_KIND_KV_COMPRESSOR)) {
            chk_fail(r, "parameter '%s': nested_kind %d is not a kind", p->name, (int)p->nested_kind);
            return;
        }
        if (!p->def) continue;
        if (p->flags & WEFT_PARAM_REQUIRED) {
            chk_fail(r, "parameter '%s' is required yet has a default (%s), which is then never used", p->name, p->def);
            return;
        }
        if (!chk_param_default_ok(s, p, err, sizeof err)) {
            chk_fail(r, "parameter '%s': its default %s does not satisfy its own declaration: %s", p->name, p->def, err);
            return;
        }
        n_def++;
    }
    chk_pass(r, "%zu parameters, %zu defaults valid", d->n_params, n_def);
}

static void rule_actions(const chk_subject *s, chk_result *r) {
    const weft_component_desc *d = s->desc;
    for (size_t i = 0; i < d->n_actions; i++) {
        const weft_action_desc *a = &d->actions[i];
        if (!one_line(a->doc)) {
            chk_fail(r, "action '%s': the doc is missing or not one line", a->name);
            return;
        }
        for (size_t j = 0; j < a->n_args; j++)
            if (!a->arg_names || !a->arg_names[j] || !*a->arg_names[j]) {
                chk_fail(r, "action '%s': argument %zu has no name (`weft plugins describe` shows names)", a->name, j);
                return;
            }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(d->actions[j].name, a->name)) {
                chk_fail(r, "action '%s' is declared twice", a->name);
                return;
            }
    }
    chk_pass(r, "%zu actions", d->n_actions);
}

/* Capabilities a kind may claim, from the comments in abi.h. */
static uint64_t allowed_flags(weft_kind k) {
    switch (k) {
    case WEFT_KIND_VERIFIER: return WEFT_CAP_LOSSLESS | WEFT_CAP_LOSSLESS_GREEDY | WEFT_CAP_TREES;
    case WEFT_KIND_DRAFTER: return WEFT_CAP_TREES | WEFT_CAP_DRAFT_PROBS | WEFT_CAP_AUX_ROWS;
    case WEFT_KIND_SAMPLER: return WEFT_CAP_NEEDS_HISTORY | WEFT_CAP_STATEFUL;
    default: return 0;
    }
}

static void rule_flags(const chk_subject *s, chk_result *r) {
    const weft_component_desc *d = s->desc;
    uint64_t extra = d->flags & ~allowed_flags(d->kind);
    if (extra) {
        chk_fail(r, "capability bits 0x%llx mean nothing for a %s", (unsigned long long)extra, weft_kind_name(d->kind));
        return;
    }
    if (d->kind == WEFT_KIND_SAMPLER && (d->flags & WEFT_CAP_STATEFUL)) {
        const weft_sampler_vtable *v = d->vtable;
        /* the core keeps one state per draft position only through clone and accept */
        if (!WEFT_HAS_METHOD(v, weft_sampler_vtable, accept) || !WEFT_HAS_METHOD(v, weft_sampler_vtable, clone)) {
            chk_fail(r, "claims stateful but lacks accept() or clone(), so speculation cannot keep it exact");
            return;
        }
    }
    chk_pass(r, "flags 0x%llx", (unsigned long long)d->flags);
}

/* The host's message for a create() that failed without calling
 * host->error ends with "create failed (<status>)" (core/component.c). */
static bool silent_failure(const char *err) {
    static const weft_status all[] = {WEFT_ERR_INVALID, WEFT_ERR_NOMEM, WEFT_ERR_IO, WEFT_ERR_UNSUPPORTED,
                                      WEFT_ERR_CONTEXT_FULL, WEFT_ERR_ABI, WEFT_ERR_INTERNAL, WEFT_ERR_CANCELLED};
    size_t n = strlen(err);
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        char tail[64];
        int k = snprintf(tail, sizeof tail, "create failed (%s)", weft_status_name(all[i]));
        if ((size_t)k <= n && !strcmp(err + n - (size_t)k, tail)) return true;
    }
    return false;
}

/* Two live instances at once (no global state), then both destroyed. */
static void rule_create(const chk_subject *s, chk_result *r) {
    char err[WEFT_ERR_CAP];
    bool needs = false;
    chk_instance *a = chk_subject_new(s, err, sizeof err, &needs);
    if (!a) {
        if (needs) chk_skip(r, "needs parameters without defaults (pass --param KEY=VALUE): %s", err);
        else if (silent_failure(err)) chk_fail(r, "create failed without a message (call host->error first): %s", err);
        else chk_fail(r, "cannot create with its defaults: %s", err);
        return;
    }
    chk_instance *b = chk_subject_new(s, err, sizeof err, NULL);
    if (!b) chk_fail(r, "a second instance cannot be created while the first lives: %s", err);
    else if (chk_inst(b)->self == chk_inst(a)->self && chk_inst(a)->self)
        chk_fail(r, "two instances share one state pointer (global state?)");
    else chk_pass(r, "two instances created and destroyed");
    chk_instance_free(b);
    chk_instance_free(a);
}

const chk_rule chk_common_rules[] = {
    {"desc.metadata", rule_metadata},
    {"desc.params", rule_params},
    {"desc.actions", rule_actions},
    {"desc.flags", rule_flags},
    {"lifecycle.create", rule_create},
};
const size_t chk_n_common_rules = sizeof chk_common_rules / sizeof chk_common_rules[0];
