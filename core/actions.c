#include "actions.h"

#include <ffi.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_view.h"
#include "registry.h"
#include "util.h"

const weft_action_desc *action_find(const weft_component_desc *d, const char *name) {
    for (size_t i = 0; i < d->n_actions; i++)
        if (strcmp(d->actions[i].name, name) == 0) return &d->actions[i];
    return NULL;
}

static ffi_type *ffi_of(weft_type t) {
    switch (t) {
    case WEFT_TYPE_BOOL: return &ffi_type_uint8;
    case WEFT_TYPE_INT: return &ffi_type_sint64;
    case WEFT_TYPE_DOUBLE: return &ffi_type_double;
    case WEFT_TYPE_STRING: return &ffi_type_pointer;
    default: return &ffi_type_void;
    }
}

typedef union {
    uint8_t b;
    int64_t i;
    double d;
    const char *s;
} arg_slot;

/* Integers must be exact in a double, as in component parameters. */
#define MAX_EXACT_INT 9007199254740992.0

static bool convert_arg(const weft_action_desc *a, size_t i, const cJSON *v, const char *args_pointer,
                        const char *owner, arg_slot *slot, char *err, size_t cap) {
    weft_type t = a->arg_types[i];
    const char *name = a->arg_names && a->arg_names[i] ? a->arg_names[i] : "?";
    bool ok;
    switch (t) {
    case WEFT_TYPE_BOOL: ok = cJSON_IsBool(v); if (ok) slot->b = cJSON_IsTrue(v); break;
    case WEFT_TYPE_INT:
        ok = cJSON_IsNumber(v) && floor(v->valuedouble) == v->valuedouble && fabs(v->valuedouble) <= MAX_EXACT_INT;
        if (ok) slot->i = (int64_t)v->valuedouble;
        break;
    case WEFT_TYPE_DOUBLE: ok = cJSON_IsNumber(v); if (ok) slot->d = v->valuedouble; break;
    case WEFT_TYPE_STRING: ok = cJSON_IsString(v); if (ok) slot->s = v->valuestring; break;
    default: ok = false;
    }
    if (ok) return true;
    char *ip = args_pointer ? json_pointer_index(args_pointer, i) : NULL;
    char *got = cJSON_PrintUnformatted(v);
    fail_msg(err, cap, "%s: action '%s' argument %zu ('%s') expects %s, got %s", ip ? ip : owner, a->name, i, name,
             t == WEFT_TYPE_INT ? "an integer" : weft_type_name(t), got ? got : "?");
    free(ip);
    cJSON_free(got);
    return false;
}

weft_status action_invoke(const weft_action_desc *a, void *self, const cJSON *args, const char *args_pointer,
                          const char *owner, bool dry_run, char *result, size_t result_cap, char *err, size_t cap) {
    size_t n = args ? (size_t)cJSON_GetArraySize(args) : 0;
    const char *pointer = args_pointer ? args_pointer : owner;
    if (args && !cJSON_IsArray(args)) {
        fail_msg(err, cap, "%s: arguments of action '%s' must be an array", pointer, a->name);
        return WEFT_ERR_INVALID;
    }
    if (n != a->n_args) {
        fail_msg(err, cap, "%s: action '%s' takes %zu argument%s, got %zu", pointer, a->name, a->n_args,
                 a->n_args == 1 ? "" : "s", n);
        return WEFT_ERR_INVALID;
    }
    ffi_type *types[17];
    void *values[17];
    arg_slot slots[17];
    types[0] = &ffi_type_pointer;
    values[0] = &self;
    size_t i = 0;
    for (const cJSON *v = args ? args->child : NULL; v; v = v->next, i++) {
        if (!convert_arg(a, i, v, args_pointer, owner, &slots[i + 1], err, cap)) return WEFT_ERR_INVALID;
        types[i + 1] = ffi_of(a->arg_types[i]);
        values[i + 1] = &slots[i + 1];
    }
    if (dry_run) return WEFT_OK;
    ffi_cif cif;
    if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, (unsigned)(n + 1), ffi_of(a->ret), types) != FFI_OK) {
        fail_msg(err, cap, "%s: cannot prepare a call to action '%s'", pointer, a->name);
        return WEFT_ERR_INTERNAL;
    }
    /* libffi widens small integral returns to ffi_arg */
    union {
        ffi_arg word;
        int64_t i;
        double d;
        const char *s;
    } ret = {0};
    ffi_call(&cif, a->fn, &ret, values);
    if (result && result_cap) {
        switch (a->ret) {
        case WEFT_TYPE_BOOL: snprintf(result, result_cap, "%s", (uint8_t)ret.word ? "true" : "false"); break;
        case WEFT_TYPE_INT: snprintf(result, result_cap, "%lld", (long long)ret.i); break;
        case WEFT_TYPE_DOUBLE: snprintf(result, result_cap, "%.17g", ret.d); break;
        case WEFT_TYPE_STRING: {
            cJSON *s = cJSON_CreateString(ret.s ? ret.s : "");
            char *txt = s ? cJSON_PrintUnformatted(s) : NULL;
            snprintf(result, result_cap, "%s", txt ? txt : "\"\"");
            cJSON_free(txt);
            cJSON_Delete(s);
            break;
        }
        default: snprintf(result, result_cap, "null");
        }
    }
    return WEFT_OK;
}
