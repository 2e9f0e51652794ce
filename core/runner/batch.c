/* The batch reader (batch.h). */
#include "batch.h"

#include <stdlib.h>
#include <string.h>

/* JSON numbers are doubles: an integer is exact up to 2^53. */
#define MAX_EXACT_INT 9007199254740992.0

static bool fail(char *err, size_t cap, const char *msg) {
    snprintf(err, cap, "%s", msg);
    return false;
}

/* A non-negative integer field; absent leaves *out as is. */
static bool int_field(const cJSON *obj, const char *key, int64_t *out, char *err, size_t cap) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) return true;
    double d = v->valuedouble;
    if (!cJSON_IsNumber(v) || !(d >= 0 && d <= MAX_EXACT_INT) || (double)(int64_t)d != d) {
        snprintf(err, cap, "\"%s\" must be an integer >= 0", key);
        return false;
    }
    *out = (int64_t)d;
    return true;
}

bool batch_parse_line(const char *line, size_t len, long lineno, batch_item *item, char *err, size_t cap) {
    memset(item, 0, sizeof *item);
    item->max_tokens = item->seed = -1;
    item->json = cJSON_ParseWithLength(line, len);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(item->json, "id");
    if (id) { /* any JSON value: it is echoed, and its text is the --resume key */
        item->id = cJSON_PrintUnformatted(id);
    } else {
        char num[32];
        snprintf(num, sizeof num, "%ld", lineno);
        item->id = strdup(num);
    }
    if (!item->id) return fail(err, cap, "out of memory");
    if (!cJSON_IsObject(item->json)) return fail(err, cap, "expected a JSON object with a string \"prompt\"");
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(item->json, "prompt");
    if (!cJSON_IsString(prompt)) return fail(err, cap, "expected a JSON object with a string \"prompt\"");
    if (!int_field(item->json, "max_tokens", &item->max_tokens, err, cap) ||
        !int_field(item->json, "seed", &item->seed, err, cap))
        return false;
    item->prompt = prompt->valuestring;
    item->prompt_len = strlen(prompt->valuestring);
    return true;
}

void batch_item_free(batch_item *item) {
    cJSON_Delete(item->json);
    free(item->id);
    memset(item, 0, sizeof *item);
}

bool batch_read_line(FILE *f, char **buf, size_t *cap, size_t max, size_t *len, bool *over, size_t *consumed) {
    size_t n = 0, kept = 0;
    int c = EOF;
    *over = false;
    if (!*buf) {
        if (!(*buf = malloc(4096))) return false;
        *cap = 4096;
    }
    while ((c = getc(f)) != EOF) {
        ++*consumed;
        if (c == '\n') break;
        n++;
        if (n > max) {
            *over = true; /* consume the rest, keep nothing more */
            continue;
        }
        if (kept + 2 > *cap) {
            size_t nc = *cap ? *cap * 2 : 4096;
            char *nb = realloc(*buf, nc);
            if (!nb) return false;
            *buf = nb;
            *cap = nc;
        }
        (*buf)[kept++] = (char)c;
    }
    if (c == EOF && n == 0) return false;
    (*buf)[kept] = 0;
    *len = n;
    return true;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The id of one complete output record, or NULL when it is not one. */
static char *record_id(const char *line, size_t len) {
    cJSON *o = cJSON_ParseWithLength(line, len);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    char *s = cJSON_IsObject(o) && id ? cJSON_PrintUnformatted(id) : NULL;
    cJSON_Delete(o);
    return s;
}

bool batch_ids_scan(batch_ids *set, const char *text, size_t len, size_t *valid_len) {
    size_t at = 0;
    bool ok = true;
    while (ok && at < len) {
        const char *nl = memchr(text + at, '\n', len - at);
        if (!nl) break; /* cut off before its newline */
        size_t n = (size_t)(nl - (text + at));
        char *id = record_id(text + at, n);
        if (!id) break;
        if (set->n == set->cap) {
            size_t nc = set->cap ? set->cap * 2 : 64;
            char **ni = realloc(set->ids, nc * sizeof *ni);
            if (!ni) {
                free(id);
                ok = false;
                break;
            }
            set->ids = ni;
            set->cap = nc;
        }
        set->ids[set->n++] = id;
        at += n + 1;
    }
    if (set->n) qsort(set->ids, set->n, sizeof *set->ids, cmp_str);
    *valid_len = at;
    return ok;
}

bool batch_ids_has(const batch_ids *set, const char *id) {
    return set->n && bsearch(&id, set->ids, set->n, sizeof *set->ids, cmp_str);
}

void batch_ids_free(batch_ids *set) {
    for (size_t i = 0; i < set->n; i++) free(set->ids[i]);
    free(set->ids);
    memset(set, 0, sizeof *set);
}
