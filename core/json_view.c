#include "json_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct weft_json {
    const cJSON *node;
    char *pointer;
    weft_json *children;
    size_t n_children;
};

char *json_pointer_join(const char *base, const char *token) {
    size_t n = strlen(base) + 2;
    for (const char *p = token; *p; p++) n += (*p == '~' || *p == '/') ? 2 : 1;
    char *out = malloc(n), *w = out;
    if (!out) return NULL;
    w += sprintf(w, "%s/", base);
    for (const char *p = token; *p; p++) {
        if (*p == '~') w += sprintf(w, "~0");
        else if (*p == '/') w += sprintf(w, "~1");
        else *w++ = *p;
    }
    *w = 0;
    return out;
}

char *json_pointer_index(const char *base, size_t index) {
    char tok[32];
    snprintf(tok, sizeof tok, "%zu", index);
    return json_pointer_join(base, tok);
}

cJSON *json_parse_located(const char *text, size_t len, const char *origin, char *err, size_t cap) {
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (root) return root;
    size_t off = end ? (size_t)(end - text) : 0, line = 1, col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') line++, col = 1;
        else col++;
    }
    snprintf(err, cap, "%s:%zu:%zu: malformed JSON near byte %zu", origin, line, col, off);
    return NULL;
}

static bool build_into(weft_json *j, const cJSON *node, char *pointer) {
    j->node = node;
    j->pointer = pointer;
    if (!pointer) return false;
    if (!cJSON_IsArray(node) && !cJSON_IsObject(node)) return true;
    j->n_children = (size_t)cJSON_GetArraySize(node);
    if (j->n_children == 0) return true;
    j->children = calloc(j->n_children, sizeof *j->children);
    if (!j->children) return false;
    size_t i = 0;
    for (const cJSON *c = node->child; c; c = c->next, i++) {
        char *p = cJSON_IsObject(node) ? json_pointer_join(pointer, c->string)
                                       : json_pointer_index(pointer, i);
        if (!build_into(&j->children[i], c, p)) return false;
    }
    return true;
}

static void free_into(weft_json *j) {
    for (size_t i = 0; i < j->n_children; i++) free_into(&j->children[i]);
    free(j->children);
    free(j->pointer);
}

weft_json *json_view_build(const cJSON *node, const char *pointer) {
    weft_json *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    if (!build_into(j, node, strdup(pointer))) {
        json_view_free(j);
        return NULL;
    }
    return j;
}

void json_view_free(weft_json *j) {
    if (!j) return;
    free_into(j);
    free(j);
}

weft_json_type json_view_type(const weft_json *j) {
    const cJSON *n = j ? j->node : NULL;
    if (cJSON_IsBool(n)) return WEFT_JSON_BOOL;
    if (cJSON_IsNumber(n)) return WEFT_JSON_NUMBER;
    if (cJSON_IsString(n)) return WEFT_JSON_STRING;
    if (cJSON_IsArray(n)) return WEFT_JSON_ARRAY;
    if (cJSON_IsObject(n)) return WEFT_JSON_OBJECT;
    return WEFT_JSON_NULL;
}

bool json_view_bool(const weft_json *j) { return j && cJSON_IsTrue(j->node); }
double json_view_number(const weft_json *j) {
    return j && cJSON_IsNumber(j->node) ? j->node->valuedouble : 0.0;
}
const char *json_view_string(const weft_json *j) {
    return j && cJSON_IsString(j->node) ? j->node->valuestring : NULL;
}
size_t json_view_count(const weft_json *j) { return j ? j->n_children : 0; }
const weft_json *json_view_item(const weft_json *j, size_t i) {
    return j && i < j->n_children ? &j->children[i] : NULL;
}
const char *json_view_key(const weft_json *j, size_t i) {
    return j && i < j->n_children && cJSON_IsObject(j->node) ? j->children[i].node->string : NULL;
}
const weft_json *json_view_get(const weft_json *j, const char *key) {
    if (!j || !cJSON_IsObject(j->node) || !key) return NULL;
    for (size_t i = 0; i < j->n_children; i++)
        if (strcmp(j->children[i].node->string, key) == 0) return &j->children[i];
    return NULL;
}
const char *json_view_pointer(const weft_json *j) { return j ? j->pointer : ""; }
