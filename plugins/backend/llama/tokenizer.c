/* Vocabulary loading from GGUF and the tokenizer API: special-token
 * splitting, dispatch to the SPM or BPE encoder, and decoding of tokens
 * back to bytes. */
#include "tokenizer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"
#include "tok_unicode.h"

/* Far above any real vocabulary; keeps ids and offsets in 32 bits. */
#define VOCAB_MAX_TOKENS (1 << 24)
/* Longest text one tokenize call accepts: keeps encoder sizes in range. */
#define TOKENIZE_MAX_LEN ((size_t)1 << 28)

/* ------------------------------------------------------------ loading */

typedef struct loader {
    const gguf_file *f;
    llm_vocab *v;
    char *err;
    size_t err_cap;
} loader;

static bool fail(loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(loader *l, const char *fmt, ...) {
    if (!l->err || !l->err_cap) return false;
    int n = snprintf(l->err, l->err_cap, "%s: ", l->f->path ? l->f->path : "gguf");
    if (n >= 0 && (size_t)n < l->err_cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(l->err + n, l->err_cap - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* An array of strings, copied into t. */
static bool load_strings(loader *l, const char *key, str_table *t, bool required) {
    const gguf_kv *kv = gguf_find_kv(l->f, key);
    if (!kv) return required ? fail(l, "key '%s' is missing", key) : true;
    if (kv->type != GGUF_TYPE_ARRAY || kv->arr_type != GGUF_TYPE_STRING)
        return fail(l, "key '%s': expected an array of strings", key);
    if (kv->arr_count > VOCAB_MAX_TOKENS)
        return fail(l, "key '%s': %llu entries exceed the limit of %d", key,
                    (unsigned long long)kv->arr_count, VOCAB_MAX_TOKENS);
    uint32_t n = (uint32_t)kv->arr_count;
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) total += gguf_arr_str(l->f, kv, i).len;
    if (total > UINT32_MAX) return fail(l, "key '%s': strings too large", key);
    if (!str_table_init(t, n, (size_t)total)) return fail(l, "out of memory");
    uint32_t o = 0;
    for (uint32_t i = 0; i < n; i++) {
        gguf_str s = gguf_arr_str(l->f, kv, i);
        if (s.len) memcpy(t->pool + o, s.ptr, s.len);
        t->off[i] = o;
        t->len[i] = (uint32_t)s.len;
        o += (uint32_t)s.len;
    }
    return true;
}

/* A numeric array parallel to the tokens, or NULL when absent. */
static bool numeric_array(loader *l, const char *key, const gguf_kv **out) {
    const gguf_kv *kv = gguf_find_kv(l->f, key);
    *out = NULL;
    if (!kv) return true;
    if (kv->type != GGUF_TYPE_ARRAY || kv->arr_type == GGUF_TYPE_STRING ||
        kv->arr_type == GGUF_TYPE_ARRAY)
        return fail(l, "key '%s': expected a numeric array", key);
    if (kv->arr_count != (uint64_t)l->v->n_tokens)
        return fail(l, "key '%s': %llu entries, expected one per token (%d)", key,
                    (unsigned long long)kv->arr_count, l->v->n_tokens);
    *out = kv;
    return true;
}

static bool load_scores_and_types(loader *l) {
    llm_vocab *v = l->v;
    const gguf_kv *scores, *types;
    if (!numeric_array(l, "tokenizer.ggml.scores", &scores) ||
        !numeric_array(l, "tokenizer.ggml.token_type", &types))
        return false;
    v->scores = calloc((size_t)v->n_tokens, sizeof *v->scores);
    v->types = malloc((size_t)v->n_tokens);
    if (!v->scores || !v->types) return fail(l, "out of memory");
    for (int32_t i = 0; i < v->n_tokens; i++) {
        if (scores) v->scores[i] = (float)gguf_arr_num(scores, (uint64_t)i);
        double t = types ? gguf_arr_num(types, (uint64_t)i) : TOKTYPE_NORMAL;
        v->types[i] = t >= TOKTYPE_NORMAL && t <= TOKTYPE_BYTE ? (uint8_t)t : TOKTYPE_NORMAL;
    }
    return true;
}

/* Optional token id key; absent leaves *id. */
static bool load_id(loader *l, const char *key, weft_token *id) {
    if (!gguf_find_kv(l->f, key)) return true;
    uint32_t u;
    if (!gguf_get_u32(l->f, key, &u)) return fail(l, "key '%s': expected a token id", key);
    if (u >= (uint32_t)l->v->n_tokens)
        return fail(l, "key '%s': token id %u out of range (%d tokens)", key, u,
                    l->v->n_tokens);
    *id = (weft_token)u;
    return true;
}

static bool load_flag(loader *l, const char *key, bool *out) {
    if (!gguf_find_kv(l->f, key)) return true;
    if (!gguf_get_bool(l->f, key, out)) return fail(l, "key '%s': expected a bool", key);
    return true;
}

static bool load_special_ids(loader *l) {
    llm_vocab *v = l->v;
    bool spm = v->model == VOCAB_SPM;
    /* llama.cpp's SPM defaults; BPE has none. */
    v->bos = spm && v->n_tokens > 1 ? 1 : -1;
    v->eos = spm && v->n_tokens > 2 ? 2 : -1;
    v->unk = spm ? 0 : -1;
    v->eot = -1;
    v->add_bos = spm || v->pre == PRETOK_LLAMA3;
    v->add_eos = false;
    v->add_space_prefix = spm;
    return load_id(l, "tokenizer.ggml.bos_token_id", &v->bos) &&
           load_id(l, "tokenizer.ggml.eos_token_id", &v->eos) &&
           load_id(l, "tokenizer.ggml.unknown_token_id", &v->unk) &&
           load_id(l, "tokenizer.ggml.eot_token_id", &v->eot) &&
           load_flag(l, "tokenizer.ggml.add_bos_token", &v->add_bos) &&
           load_flag(l, "tokenizer.ggml.add_eos_token", &v->add_eos) &&
           load_flag(l, "tokenizer.ggml.add_space_prefix", &v->add_space_prefix);
}

static bool load_model_kind(loader *l) {
    llm_vocab *v = l->v;
    gguf_str s;
    if (!gguf_get_str(l->f, "tokenizer.ggml.model", &s))
        return fail(l, "key 'tokenizer.ggml.model' is missing or not a string");
    if (gguf_str_eq(s, "llama")) v->model = VOCAB_SPM;
    else if (gguf_str_eq(s, "gpt2")) v->model = VOCAB_BPE;
    else
        return fail(l, "tokenizer model '%.*s' is not supported (expected llama or gpt2)",
                    (int)(s.len > 64 ? 64 : s.len), s.ptr);
    v->pre = PRETOK_GPT2;
    v->pre_name = "gpt-2";
    if (v->model == VOCAB_SPM || !gguf_get_str(l->f, "tokenizer.ggml.pre", &s)) return true;
    static const struct {
        const char *name;
        pretok_kind kind;
    } pres[] = {{"default", PRETOK_GPT2}, {"gpt-2", PRETOK_GPT2},   {"llama3", PRETOK_LLAMA3},
                {"llama-bpe", PRETOK_LLAMA3}, {"qwen2", PRETOK_QWEN2}, {"smollm", PRETOK_SMOLLM}};
    for (size_t i = 0; i < sizeof pres / sizeof pres[0]; i++)
        if (gguf_str_eq(s, pres[i].name)) {
            v->pre = pres[i].kind;
            v->pre_name = pres[i].name;
            v->ignore_merges = v->pre == PRETOK_LLAMA3;
            return true;
        }
    return fail(l, "pre-tokenizer '%.*s' (tokenizer.ggml.pre) is not supported "
                   "(supported: default, gpt-2, llama3, llama-bpe, qwen2, smollm)",
                (int)(s.len > 64 ? 64 : s.len), s.ptr);
}

static bool load_merges(loader *l) {
    llm_vocab *v = l->v;
    if (!load_strings(l, "tokenizer.ggml.merges", &v->merges, true)) return false;
    for (uint32_t i = 0; i < v->merges.n; i++) {
        const char *m = v->merges.pool + v->merges.off[i];
        uint32_t n = v->merges.len[i];
        if (n < 3 || !memchr(m + 1, ' ', n - 2))
            return fail(l, "key 'tokenizer.ggml.merges': entry %u is not \"left right\"", i);
    }
    /* Repeated merges keep their first (best) rank. */
    if (!str_map_build(&v->merge_rank, &v->merges, false)) return fail(l, "out of memory");
    return true;
}

/* "<0xXX>" -> XX, else -1. */
static int parse_byte_piece(const char *s, size_t n) {
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return -1;
    int v = 0;
    for (int i = 3; i < 5; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10
              : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

static void find_byte_tokens(llm_vocab *v) {
    for (int b = 0; b < 256; b++) {
        v->byte_token[b] = -1;
        char buf[8];
        size_t n;
        if (v->model == VOCAB_BPE) {
            n = utf8_encode(bpe_byte_to_cpt((uint8_t)b), buf);
        } else {
            n = (size_t)snprintf(buf, sizeof buf, "<0x%02X>", b);
        }
        int64_t id = str_map_find(&v->by_text, buf, n);
        if (id < 0 && v->model == VOCAB_SPM) { /* llama.cpp: the byte itself */
            buf[0] = (char)b;
            id = str_map_find(&v->by_text, buf, 1);
        }
        v->byte_token[b] = (weft_token)id;
    }
}

static bool is_eog_text(const char *s, size_t n) {
    static const char *const names[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
                                        "<|endoftext|>", "<|eom_id|>", "<EOT>"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0) return true;
    return false;
}

static void compute_attrs(llm_vocab *v) {
    for (int32_t i = 0; i < v->n_tokens; i++) {
        uint32_t a;
        switch (v->types[i]) {
        case TOKTYPE_UNKNOWN: a = WEFT_TOKEN_UNKNOWN; break;
        case TOKTYPE_CONTROL:
        case TOKTYPE_UNUSED: a = WEFT_TOKEN_CONTROL; break;
        case TOKTYPE_BYTE: a = WEFT_TOKEN_BYTE; break;
        default: a = WEFT_TOKEN_NORMAL; break;
        }
        /* End-of-turn markers of common chat templates end generation too. */
        bool special = v->types[i] == TOKTYPE_CONTROL || v->types[i] == TOKTYPE_USER_DEFINED;
        if (special && is_eog_text(v->text.pool + v->text.off[i], v->text.len[i]))
            a |= WEFT_TOKEN_EOG;
        v->attrs[i] = a;
    }
    if (v->eos >= 0) v->attrs[v->eos] |= WEFT_TOKEN_EOG;
    if (v->eot >= 0) v->attrs[v->eot] |= WEFT_TOKEN_EOG;
}

static bool is_special_type(uint8_t t) {
    return t == TOKTYPE_CONTROL || t == TOKTYPE_USER_DEFINED || t == TOKTYPE_UNKNOWN;
}

typedef struct special_key {
    uint8_t first;
    uint32_t len;
    int32_t id;
} special_key;

/* By first byte, then longest first, then id. */
static int cmp_special(const void *a, const void *b) {
    const special_key *x = a, *y = b;
    if (x->first != y->first) return x->first < y->first ? -1 : 1;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static bool build_specials(loader *l) {
    llm_vocab *v = l->v;
    size_t n = 0;
    for (int32_t i = 0; i < v->n_tokens; i++)
        if (is_special_type(v->types[i]) && v->text.len[i] > 0) n++;
    special_key *keys = malloc((n ? n : 1) * sizeof *keys);
    v->special_ids = malloc((n ? n : 1) * sizeof *v->special_ids);
    if (!keys || !v->special_ids) {
        free(keys);
        return fail(l, "out of memory");
    }
    n = 0;
    for (int32_t i = 0; i < v->n_tokens; i++)
        if (is_special_type(v->types[i]) && v->text.len[i] > 0)
            keys[n++] = (special_key){(uint8_t)v->text.pool[v->text.off[i]], v->text.len[i], i};
    qsort(keys, n, sizeof *keys, cmp_special);
    size_t k = 0;
    for (int b = 0; b < 256; b++) {
        v->special_start[b] = (uint32_t)k;
        for (; k < n && keys[k].first == b; k++) v->special_ids[k] = keys[k].id;
    }
    v->special_start[256] = (uint32_t)k;
    free(keys);
    return true;
}

static bool load_all(loader *l) {
    llm_vocab *v = l->v;
    if (!load_model_kind(l) || !load_strings(l, "tokenizer.ggml.tokens", &v->text, true))
        return false;
    if (v->text.n == 0) return fail(l, "key 'tokenizer.ggml.tokens' is empty");
    v->n_tokens = (int32_t)v->text.n;
    if (!load_scores_and_types(l) || !load_special_ids(l)) return false;
    if (v->model == VOCAB_BPE && !load_merges(l)) return false;
    /* Repeated texts: the last id wins, as in llama.cpp. */
    if (!str_map_build(&v->by_text, &v->text, true)) return fail(l, "out of memory");
    v->attrs = malloc((size_t)v->n_tokens * sizeof *v->attrs);
    if (!v->attrs) return fail(l, "out of memory");
    find_byte_tokens(v);
    compute_attrs(v);
    return build_specials(l);
}

llm_vocab *vocab_load(const gguf_file *f, char *err, size_t err_cap) {
    if (!f) return NULL;
    llm_vocab *v = calloc(1, sizeof *v);
    loader l = {.f = f, .v = v, .err = err, .err_cap = err_cap};
    if (!v) {
        fail(&l, "out of memory");
        return NULL;
    }
    if (load_all(&l)) return v;
    vocab_free(v);
    return NULL;
}

void vocab_free(llm_vocab *v) {
    if (!v) return;
    str_map_free(&v->by_text);
    str_map_free(&v->merge_rank);
    str_table_free(&v->text);
    str_table_free(&v->merges);
    free(v->scores);
    free(v->types);
    free(v->attrs);
    free(v->special_ids);
    free(v);
}

/* ------------------------------------------------------------ accessors */

int32_t vocab_n_tokens(const llm_vocab *v) { return v->n_tokens; }
weft_token vocab_bos(const llm_vocab *v) { return v->bos; }
weft_token vocab_eos(const llm_vocab *v) { return v->eos; }
weft_token vocab_eot(const llm_vocab *v) { return v->eot; }
bool vocab_add_bos(const llm_vocab *v) { return v->add_bos && v->bos >= 0; }
const char *vocab_model_name(const llm_vocab *v) {
    return v->model == VOCAB_SPM ? "llama" : "gpt2";
}
const char *vocab_pre_name(const llm_vocab *v) {
    return v->model == VOCAB_SPM ? "default" : v->pre_name;
}

static bool valid_id(const llm_vocab *v, weft_token t) { return t >= 0 && t < v->n_tokens; }

uint32_t vocab_token_attr(const llm_vocab *v, weft_token t) {
    return valid_id(v, t) ? v->attrs[t] : 0;
}

const char *vocab_token_text(const llm_vocab *v, weft_token t, size_t *len) {
    if (!valid_id(v, t)) {
        *len = 0;
        return "";
    }
    *len = v->text.len[t];
    return v->text.pool + v->text.off[t];
}

/* ------------------------------------------------------------ encoding */

/* Longest special token whose text starts s; -1 if none. Control and
 * unknown tokens count only with parse_special. */
static weft_token match_special(const llm_vocab *v, const char *s, size_t n, bool parse_special) {
    uint8_t b = (uint8_t)s[0];
    for (uint32_t k = v->special_start[b]; k < v->special_start[b + 1]; k++) {
        int32_t id = v->special_ids[k];
        uint32_t len = v->text.len[id];
        if (!parse_special && v->types[id] != TOKTYPE_USER_DEFINED) continue;
        if (len <= n && memcmp(s, v->text.pool + v->text.off[id], len) == 0) return id;
    }
    return -1;
}

static weft_status encode_raw(const llm_vocab *v, const char *s, size_t n, bool after_special,
                              tok_out *out) {
    if (n == 0) return WEFT_OK;
    if (v->model == VOCAB_SPM)
        return spm_encode(v, s, n, v->add_space_prefix && after_special, out);
    return bpe_encode(v, s, n, out);
}

/* Splits text at special tokens and encodes the stretches between them. */
static weft_status encode_text(const llm_vocab *v, const char *text, size_t len,
                               bool parse_special, tok_out *out) {
    bool after_special = true; /* SPM: the dummy prefix goes on the first stretch */
    size_t raw = 0;
    for (size_t pos = 0; pos < len;) {
        weft_token id = match_special(v, text + pos, len - pos, parse_special);
        if (id < 0) {
            pos++;
            continue;
        }
        weft_status st = encode_raw(v, text + raw, pos - raw, after_special, out);
        if (st != WEFT_OK) return st;
        tok_push(out, id);
        after_special = true;
        pos += v->text.len[id];
        raw = pos;
    }
    return encode_raw(v, text + raw, len - raw, after_special, out);
}

weft_status vocab_tokenize(const llm_vocab *v, const char *text, size_t len, bool add_special,
                           bool parse_special, weft_token *out, size_t cap, size_t *n_out) {
    if (n_out) *n_out = 0;
    if (!v || !n_out || (!text && len) || (!out && cap)) return WEFT_ERR_INVALID;
    if (len > TOKENIZE_MAX_LEN) return WEFT_ERR_INVALID;
    tok_out o = {.ids = out, .cap = cap, .n = 0};
    if (add_special && vocab_add_bos(v)) tok_push(&o, v->bos);
    weft_status st = encode_text(v, text, len, parse_special, &o);
    if (st != WEFT_OK) return st;
    if (add_special && v->add_eos && v->eos >= 0) tok_push(&o, v->eos);
    *n_out = o.n;
    return o.n > cap ? WEFT_ERR_INVALID : WEFT_OK;
}

/* ------------------------------------------------------------ decoding */

/* Bounded byte writer: counts what does not fit. */
typedef struct byte_out {
    char *buf;
    size_t cap, n;
} byte_out;

static void put(byte_out *o, const char *s, size_t n) {
    if (o->n < o->cap) memcpy(o->buf + o->n, s, n < o->cap - o->n ? n : o->cap - o->n);
    o->n += n;
}

/* SPM piece: U+2581 -> ' '. */
static void decode_spm(const char *s, size_t n, byte_out *o) {
    for (size_t i = 0; i < n;) {
        if (n - i >= 3 && memcmp(s + i, "\xe2\x96\x81", 3) == 0) {
            put(o, " ", 1);
            i += 3;
        } else {
            put(o, s + i, 1);
            i++;
        }
    }
}

/* Byte-level BPE piece: each code point back to its byte; code points
 * outside the mapping (not produced by GPT-2 BPE) are kept as UTF-8. */
static void decode_bpe(const char *s, size_t n, byte_out *o) {
    for (size_t i = 0, k; i < n; i += k) {
        uint32_t cp = utf8_decode((const uint8_t *)s + i, n - i, &k);
        int b = cp == UTF8_INVALID ? -1 : bpe_cpt_to_byte(cp);
        if (b >= 0) {
            char c = (char)b;
            put(o, &c, 1);
        } else {
            put(o, s + i, k);
        }
    }
}

weft_status vocab_token_bytes(const llm_vocab *v, weft_token t, bool special, char *buf,
                              size_t cap, size_t *len) {
    if (len) *len = 0;
    if (!v || !len || (!buf && cap) || !valid_id(v, t)) return WEFT_ERR_INVALID;
    byte_out o = {.buf = buf, .cap = cap, .n = 0};
    const char *s = v->text.pool + v->text.off[t];
    size_t n = v->text.len[t];
    uint8_t type = v->types[t];
    int byte = type == TOKTYPE_BYTE && v->model == VOCAB_SPM ? parse_byte_piece(s, n) : -1;
    if (byte >= 0) {
        char c = (char)byte;
        put(&o, &c, 1);
    } else if (type == TOKTYPE_CONTROL || type == TOKTYPE_UNKNOWN || type == TOKTYPE_UNUSED) {
        if (special) put(&o, s, n);
    } else if (type == TOKTYPE_USER_DEFINED) {
        put(&o, s, n);
    } else if (v->model == VOCAB_SPM) {
        decode_spm(s, n, &o);
    } else {
        decode_bpe(s, n, &o);
    }
    *len = o.n;
    return o.n > cap ? WEFT_ERR_INVALID : WEFT_OK;
}
