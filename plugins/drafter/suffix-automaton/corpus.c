/* Corpus file -> tokens -> static automaton, with its cache (corpus.h). */
#include "corpus.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID_MAGIC "weft-tokens"
#define CACHE_SUFFIX ".weft-sam"
/* Text whose tokens identify a tokenizer well enough for the cache key. */
#define PROBE "Once upon a time, 12 \"quick\" foxes jumped over the lazy dog's bowl.\n"

static uint64_t fnv1a(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}
#define FNV_BASIS 0xcbf29ce484222325ull

static char *read_all(const weft_env *env, const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        weft_error(env, "corpus %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (size >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = weft_alloc(env, (size_t)size + 1))) {
        if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
            weft_free(env, buf);
            buf = NULL;
        } else {
            buf[size] = 0;
            *n = (size_t)size;
        }
    }
    fclose(f);
    if (!buf) weft_error(env, "corpus %s: cannot read it", path);
    return buf;
}

static bool is_ids(const char *text, size_t n) {
    size_t m = strlen(ID_MAGIC);
    return n >= m && memcmp(text, ID_MAGIC, m) == 0 && (n == m || text[m] == '\n' || text[m] == '\r');
}

/* Token-id corpus into the automaton; one document per line. */
static weft_status push_ids(sam *s, const char *text, const char *path) {
    const char *p = strchr(text, '\n');
    size_t line = 1;
    bool open_doc = false;
    while (p && *p) {
        if (*p == '\n') {
            line++;
            p++;
            if (open_doc) {
                weft_status st = sam_push(s, FROZEN_SEP);
                if (st != WEFT_OK) return st;
                open_doc = false;
            }
            continue;
        }
        if (*p == ' ' || *p == '\t' || *p == '\r') {
            p++;
            continue;
        }
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > INT32_MAX) {
            weft_error(s->env, "corpus %s:%zu: expected a token id, got '%.16s'", path, line, p);
            return WEFT_ERR_IO;
        }
        weft_status st = sam_push(s, (weft_token)v);
        if (st != WEFT_OK) return st;
        open_doc = true;
        p = end;
    }
    return open_doc ? sam_push(s, FROZEN_SEP) : WEFT_OK;
}

typedef struct tokenizer {
    const weft_instance *backend;
    weft_token *buf;
    size_t cap;
} tokenizer;

static weft_status tokenize(const weft_env *env, tokenizer *tz, const char *text, size_t len, size_t *n) {
    const weft_backend_vtable *be = tz->backend->desc->vtable;
    for (;;) {
        weft_status st = be->tokenize(tz->backend->self, text, len, false, false, tz->buf, tz->cap, n);
        if (st == WEFT_OK && *n <= tz->cap) return WEFT_OK;
        if (*n <= tz->cap) {
            weft_error(env, "corpus: the tokenizer failed (status %d)", st);
            return st == WEFT_OK ? WEFT_ERR_INTERNAL : st;
        }
        weft_token *b = env->host->realloc(tz->buf, *n * sizeof *b);
        if (!b) {
            weft_error(env, "corpus: out of memory for %zu tokens", *n);
            return WEFT_ERR_NOMEM;
        }
        tz->buf = b;
        tz->cap = *n;
    }
}

/* Text corpus into the automaton: each blank-line-separated document on its
 * own, without the line breaks around it. */
static weft_status push_text(sam *s, tokenizer *tz, const char *text, size_t n, const char *path) {
    size_t at = 0;
    while (at < n) {
        while (at < n && (text[at] == '\n' || text[at] == '\r')) at++;
        const char *end = strstr(text + at, "\n\n");
        size_t stop = end ? (size_t)(end - text) : n, len = stop - at, got = 0;
        while (len > 0 && (text[at + len - 1] == '\n' || text[at + len - 1] == '\r')) len--;
        if (len > 0) {
            weft_status st = tokenize(s->env, tz, text + at, len, &got);
            if (st != WEFT_OK) {
                weft_error(s->env, "corpus %s: the tokenizer refused the document at byte %zu (status %d)", path, at,
                           st);
                return st;
            }
            for (size_t i = 0; st == WEFT_OK && i < got; i++) st = sam_push(s, tz->buf[i]);
            if (st == WEFT_OK && got) st = sam_push(s, FROZEN_SEP);
            if (st != WEFT_OK) return st;
        }
        at = stop;
    }
    return WEFT_OK;
}

/* The tokenizer's identity: the model's name and size, and how it splits
 * PROBE (or that it refuses it: some vocabularies lack its characters). */
static void tokenizer_fingerprint(const weft_env *env, tokenizer *tz, uint64_t *h) {
    const weft_backend_vtable *be = tz->backend->desc->vtable;
    const weft_model_info *info = be->info(tz->backend->self);
    const char *name = tz->backend->desc->name;
    *h = fnv1a(*h, name, strlen(name));
    if (info && info->name) *h = fnv1a(*h, info->name, strlen(info->name));
    if (info) *h = fnv1a(*h, &info->n_vocab, sizeof info->n_vocab);
    size_t n = 0;
    weft_status st = tokenize(env, tz, PROBE, strlen(PROBE), &n);
    *h = st == WEFT_OK ? fnv1a(*h, tz->buf, n * sizeof *tz->buf) : fnv1a(*h, &st, sizeof st);
}

weft_status corpus_open(sam_frozen *f, const weft_env *env, const char *path, const weft_instance *backend) {
    size_t n = 0;
    char *text = read_all(env, path, &n);
    if (!text) return WEFT_ERR_IO;
    bool ids = is_ids(text, n);
    tokenizer tz = {.backend = backend};
    uint64_t fp = fnv1a(FNV_BASIS, text, n);
    weft_status st = WEFT_OK;
    if (!ids && !backend) {
        weft_error(env, "corpus %s: a text corpus needs the target's tokenizer", path);
        st = WEFT_ERR_INVALID;
    } else if (!ids) {
        tokenizer_fingerprint(env, &tz, &fp);
    }
    char cache[4096];
    if (st == WEFT_OK && (size_t)snprintf(cache, sizeof cache, "%s%s", path, CACHE_SUFFIX) >= sizeof cache) {
        weft_error(env, "corpus %s: path too long", path);
        st = WEFT_ERR_INVALID;
    }
    if (st == WEFT_OK && frozen_map(f, env, cache, fp) == WEFT_OK) {
        weft_log(env, WEFT_LOG_INFO, "corpus automaton mapped from %s (%zu tokens)", cache, f->n_tok);
    } else if (st == WEFT_OK) {
        sam s;
        sam_init(&s, env, (size_t)INT32_MAX / 4);
        st = ids ? push_ids(&s, text, path) : push_text(&s, &tz, text, n, path);
        if (st == WEFT_OK) st = frozen_build(f, env, &s, fp);
        sam_free(&s);
        if (st == WEFT_OK && frozen_save(f, cache) != WEFT_OK)
            weft_log(env, WEFT_LOG_WARN, "cannot write the corpus cache %s; it will be rebuilt next run", cache);
        else if (st == WEFT_OK)
            weft_log(env, WEFT_LOG_INFO, "corpus automaton built (%zu tokens) and cached in %s", f->n_tok, cache);
    }
    weft_free(env, tz.buf);
    weft_free(env, text);
    return st;
}
