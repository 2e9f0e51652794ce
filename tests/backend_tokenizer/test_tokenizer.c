/* Tokenizers: llama.cpp's test vectors for the SPM and GPT-2 vocabularies,
 * decode round trips, special tokens, buffer handling and bad input. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "test_paths.h"
#include "tok_unicode.h"
#include "tokenizer.h"

#define SEP "\n__ggml_vocab_test__\n"

static llm_vocab *load_vocab(const char *rel) {
    char path[1024], err[512] = "";
    gguf_file *f = gguf_open(test_model_path(path, sizeof path, rel), err, sizeof err);
    cr_assert(f, "%s", err);
    llm_vocab *v = vocab_load(f, err, sizeof err);
    cr_assert(v, "%s", err);
    gguf_close(f); /* the vocab must not need the file any more */
    return v;
}

static char *read_all(const char *rel, size_t *len) {
    char path[1024];
    FILE *fp = fopen(test_model_path(path, sizeof path, rel), "rb");
    cr_assert(fp, "cannot open %s", path);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    cr_assert_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = 0;
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

/* Tokenizes into a fresh array (caller frees). */
static weft_token *encode(const llm_vocab *v, const char *s, size_t len, bool add_special,
                          bool parse_special, size_t *n) {
    size_t need = 0;
    weft_status st = vocab_tokenize(v, s, len, add_special, parse_special, NULL, 0, &need);
    cr_assert(st == WEFT_OK || st == WEFT_ERR_INVALID);
    weft_token *ids = malloc((need + 1) * sizeof *ids);
    cr_assert_eq(vocab_tokenize(v, s, len, add_special, parse_special, ids, need, n), WEFT_OK);
    cr_assert_eq(*n, need);
    return ids;
}

/* Concatenated bytes of ids (caller frees). */
static char *decode(const llm_vocab *v, const weft_token *ids, size_t n, bool special,
                    size_t *len) {
    size_t cap = 16, o = 0;
    char *buf = malloc(cap);
    for (size_t i = 0; i < n; i++) {
        size_t k;
        weft_status st = vocab_token_bytes(v, ids[i], special, buf + o, cap - o, &k);
        if (st != WEFT_OK) {
            cr_assert_eq(st, WEFT_ERR_INVALID);
            cap = 2 * (o + k) + 16;
            buf = realloc(buf, cap);
            cr_assert_eq(vocab_token_bytes(v, ids[i], special, buf + o, cap - o, &k), WEFT_OK);
        }
        o += k;
    }
    *len = o;
    return buf;
}

/* Runs every case of <vocab>.inp against <vocab>.out; returns the count. */
static int check_vectors(const char *vocab_rel) {
    llm_vocab *v = load_vocab(vocab_rel);
    char rel[256];
    size_t in_len, out_len;
    snprintf(rel, sizeof rel, "%s.inp", vocab_rel);
    char *inp = read_all(rel, &in_len);
    snprintf(rel, sizeof rel, "%s.out", vocab_rel);
    char *out = read_all(rel, &out_len);
    char *text = inp, *line = out;
    int cases = 0;
    for (;;) {
        char *sep = strstr(text, SEP);
        size_t tlen = sep ? (size_t)(sep - text) : strlen(text);
        char *nl = strchr(line, '\n');
        cr_assert(nl || !sep, "case %d: .out has fewer lines than .inp", cases);
        if (nl) *nl = 0;
        size_t n;
        weft_token *ids = encode(v, text, tlen, false, false, &n);
        size_t k = 0;
        for (char *p = line, *end; *p; p = end) {
            long want = strtol(p, &end, 10);
            if (end == p) break;
            cr_assert(k < n, "case %d '%.*s': too few ids (%zu)", cases, (int)tlen, text, n);
            cr_assert_eq(ids[k], want, "case %d '%.*s': id %zu is %d, expected %ld", cases,
                         (int)tlen, text, k, ids[k], want);
            k++;
        }
        cr_assert_eq(k, n, "case %d '%.*s': %zu ids, expected %zu", cases, (int)tlen, text, n, k);
        free(ids);
        cases++;
        if (!sep) break;
        text = sep + strlen(SEP);
        line = nl + 1;
    }
    free(inp);
    free(out);
    vocab_free(v);
    return cases;
}

Test(tokenizer, spm_vectors) { cr_assert_eq(check_vectors("ggml-vocab-llama-spm.gguf"), 47); }
Test(tokenizer, gpt2_vectors) { cr_assert_eq(check_vectors("ggml-vocab-gpt-2.gguf"), 47); }

/* Decoding the tokens of s gives s back (SPM: after its dummy space). */
static void check_round_trip(const llm_vocab *v, const char *s, size_t len) {
    size_t n, dlen;
    weft_token *ids = encode(v, s, len, false, false, &n);
    char *d = decode(v, ids, n, false, &dlen);
    size_t skip = strcmp(vocab_model_name(v), "llama") == 0 && len > 0 ? 1 : 0;
    cr_assert_eq(dlen, len + skip, "'%.*s': decoded %zu bytes, expected %zu", (int)len, s, dlen,
                 len + skip);
    if (skip) cr_assert_eq(d[0], ' ');
    cr_assert(memcmp(d + skip, s, len) == 0, "'%.*s' decoded as '%.*s'", (int)len, s, (int)dlen,
              d);
    free(ids);
    free(d);
}

static const char *const round_trip_texts[] = {
    "Hello world",
    "  leading and trailing  ",
    "tabs\tand\nnewlines\r\n",
    "Führer Cửa Việt нещо на Български",
    "我想在apple工作1314151天～",
    "🦙🚀😶\u200d🌫️ emoji",
    "\xf0\x9d\x94\x98\xf0\x9f\xa7\xa0 rare 4-byte characters",
    "invalid \xff\xfe utf-8 \xc3 and \x80 stray",
    "<s> </s> <|endoftext|> look special but are text",
    "' era I've 'RE 3.14 333333",
};

static void round_trips(const char *vocab_rel) {
    llm_vocab *v = load_vocab(vocab_rel);
    for (size_t i = 0; i < sizeof round_trip_texts / sizeof round_trip_texts[0]; i++)
        check_round_trip(v, round_trip_texts[i], strlen(round_trip_texts[i]));
    char all[256];
    for (int i = 0; i < 256; i++) all[i] = (char)(i == 0 ? 1 : i);
    check_round_trip(v, all, sizeof all);
    vocab_free(v);
}

Test(tokenizer, spm_round_trip) { round_trips("ggml-vocab-llama-spm.gguf"); }
Test(tokenizer, gpt2_round_trip) { round_trips("ggml-vocab-gpt-2.gguf"); }

/* A character missing from the vocabulary is split into byte tokens, each
 * holding one byte of its UTF-8 sequence. */
Test(tokenizer, spm_byte_fallback) {
    llm_vocab *v = load_vocab("ggml-vocab-llama-spm.gguf");
    const char *s = "\xf0\x9f\xa7\xa0"; /* U+1F9E0, not a piece */
    size_t n;
    weft_token *ids = encode(v, s, strlen(s), false, false, &n);
    cr_assert_eq(n, 5); /* "▁" then four byte tokens */
    for (size_t i = 1; i < 5; i++) {
        cr_assert(vocab_token_attr(v, ids[i]) & WEFT_TOKEN_BYTE);
        char b;
        size_t len;
        cr_assert_eq(vocab_token_bytes(v, ids[i], false, &b, 1, &len), WEFT_OK);
        cr_assert_eq(len, 1);
        cr_assert_eq((uint8_t)b, (uint8_t)s[i - 1]);
    }
    free(ids);
    vocab_free(v);
}

Test(tokenizer, spm_metadata_and_bos) {
    llm_vocab *v = load_vocab("ggml-vocab-llama-spm.gguf");
    cr_assert_eq(vocab_n_tokens(v), 32000);
    cr_assert_str_eq(vocab_model_name(v), "llama");
    cr_assert_eq(vocab_bos(v), 1);
    cr_assert_eq(vocab_eos(v), 2);
    cr_assert(vocab_add_bos(v));
    size_t n;
    weft_token *ids = encode(v, "", 0, true, false, &n);
    cr_assert_eq(n, 1);
    cr_assert_eq(ids[0], 1);
    free(ids);
    ids = encode(v, "Hello", 5, true, false, &n);
    cr_assert_eq(n, 2);
    cr_assert_eq(ids[0], 1);
    cr_assert_eq(ids[1], 15043); /* "▁Hello" */
    free(ids);
    vocab_free(v);
}

Test(tokenizer, stories_v1_vocab) {
    llm_vocab *v = load_vocab("tinyllamas-stories-260k-f32.gguf");
    cr_assert_eq(vocab_n_tokens(v), 512);
    size_t n;
    weft_token *ids = encode(v, "Once upon a time", 16, true, false, &n);
    weft_token want[] = {1, 403, 407, 261, 378}; /* from SOURCES.md */
    cr_assert_eq(n, 5);
    cr_assert_arr_eq(ids, want, sizeof want);
    free(ids);
    vocab_free(v);
}

Test(tokenizer, attrs) {
    llm_vocab *v = load_vocab("ggml-vocab-llama-spm.gguf");
    cr_assert_eq(vocab_token_attr(v, 0), WEFT_TOKEN_UNKNOWN);
    cr_assert_eq(vocab_token_attr(v, 1), WEFT_TOKEN_CONTROL);
    cr_assert_eq(vocab_token_attr(v, 2), WEFT_TOKEN_CONTROL | WEFT_TOKEN_EOG);
    cr_assert_eq(vocab_token_attr(v, 13), WEFT_TOKEN_BYTE);
    cr_assert_eq(vocab_token_attr(v, 15043), WEFT_TOKEN_NORMAL);
    cr_assert_eq(vocab_token_attr(v, 32000), 0);
    cr_assert_eq(vocab_token_attr(v, -1), 0);
    vocab_free(v);
    v = load_vocab("ggml-vocab-gpt-2.gguf");
    cr_assert_eq(vocab_token_attr(v, 50256), WEFT_TOKEN_CONTROL | WEFT_TOKEN_EOG);
    cr_assert_eq(vocab_token_attr(v, 220), WEFT_TOKEN_NORMAL);
    cr_assert_not(vocab_add_bos(v));
    cr_assert_str_eq(vocab_model_name(v), "gpt2");
    vocab_free(v);
}

static void expect_bytes(const llm_vocab *v, weft_token t, bool special, const char *want) {
    char buf[64];
    size_t len;
    cr_assert_eq(vocab_token_bytes(v, t, special, buf, sizeof buf, &len), WEFT_OK);
    cr_assert_eq(len, strlen(want), "token %d: %zu bytes '%.*s', expected '%s'", t, len, (int)len,
                 buf, want);
    cr_assert(memcmp(buf, want, len) == 0);
}

Test(tokenizer, token_bytes) {
    llm_vocab *v = load_vocab("ggml-vocab-llama-spm.gguf");
    expect_bytes(v, 13, false, "\n");        /* <0x0A> */
    expect_bytes(v, 15043, false, " Hello"); /* ▁Hello */
    expect_bytes(v, 1, false, "");
    expect_bytes(v, 1, true, "<s>");
    expect_bytes(v, 0, false, "");
    vocab_free(v);
    v = load_vocab("ggml-vocab-gpt-2.gguf");
    expect_bytes(v, 220, false, " ");
    expect_bytes(v, 198, false, "\n");
    expect_bytes(v, 50256, false, "");
    expect_bytes(v, 50256, true, "<|endoftext|>");
    vocab_free(v);
}

/* Encodes s with parse_special and checks the ids. */
static void expect_ids(const llm_vocab *v, const char *s, bool parse_special,
                       const weft_token *want, size_t n_want) {
    size_t n;
    weft_token *ids = encode(v, s, strlen(s), false, parse_special, &n);
    cr_assert_eq(n, n_want, "'%s': %zu ids, expected %zu", s, n, n_want);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(ids[i], want[i], "'%s': id %zu is %d, expected %d", s, i, ids[i], want[i]);
    free(ids);
}

Test(tokenizer, parse_special_spm) {
    llm_vocab *v = load_vocab("ggml-vocab-llama-spm.gguf");
    /* After a special token the dummy prefix comes again, as in llama.cpp. */
    weft_token with[] = {1, 15043, 2};
    expect_ids(v, "<s>Hello</s>", true, with, 3);
    size_t n;
    weft_token *ids = encode(v, "<s>Hello</s>", 12, false, false, &n);
    for (size_t i = 0; i < n; i++) cr_assert(ids[i] != 1 && ids[i] != 2);
    free(ids);
    /* Adjacent specials and text after them. */
    weft_token adj[] = {1, 1, 15043, 2};
    expect_ids(v, "<s><s>Hello</s>", true, adj, 4);
    vocab_free(v);
}

Test(tokenizer, parse_special_gpt2) {
    llm_vocab *v = load_vocab("ggml-vocab-gpt-2.gguf");
    size_t n_a, n_b;
    weft_token *a = encode(v, "Hello", 5, false, false, &n_a);
    weft_token *b = encode(v, " world", 6, false, false, &n_b);
    size_t n;
    weft_token *ids = encode(v, "Hello<|endoftext|> world", 24, false, true, &n);
    cr_assert_eq(n, n_a + 1 + n_b);
    cr_assert_arr_eq(ids, a, n_a * sizeof *a);
    cr_assert_eq(ids[n_a], 50256);
    cr_assert_arr_eq(ids + n_a + 1, b, n_b * sizeof *b);
    free(ids);
    ids = encode(v, "Hello<|endoftext|> world", 24, false, false, &n);
    for (size_t i = 0; i < n; i++) cr_assert_neq(ids[i], 50256);
    free(ids);
    free(a);
    free(b);
    vocab_free(v);
}

Test(tokenizer, buffer_too_small) {
    llm_vocab *v = load_vocab("ggml-vocab-gpt-2.gguf");
    const char *s = "Hello world, how are you?";
    size_t n_full;
    weft_token *full = encode(v, s, strlen(s), false, false, &n_full);
    cr_assert_gt(n_full, 3);
    weft_token small[3] = {-7, -7, -7};
    size_t n = 0;
    cr_assert_eq(vocab_tokenize(v, s, strlen(s), false, false, small, 2, &n), WEFT_ERR_INVALID);
    cr_assert_eq(n, n_full);
    cr_assert_eq(small[0], full[0]);
    cr_assert_eq(small[1], full[1]);
    cr_assert_eq(small[2], -7, "wrote past cap");
    cr_assert_eq(vocab_tokenize(v, s, strlen(s), false, false, NULL, 0, &n), WEFT_ERR_INVALID);
    cr_assert_eq(n, n_full);
    cr_assert_eq(vocab_tokenize(v, "", 0, false, false, NULL, 0, &n), WEFT_OK);
    cr_assert_eq(n, 0);
    /* token_bytes: short buffer reports the full length, writes within cap */
    char buf[4] = "xxx";
    size_t len;
    cr_assert_eq(vocab_token_bytes(v, 50256, true, buf, 2, &len), WEFT_ERR_INVALID);
    cr_assert_eq(len, strlen("<|endoftext|>"));
    cr_assert_eq(buf[2], 'x');
    free(full);
    vocab_free(v);
}

Test(tokenizer, invalid_ids_and_args) {
    llm_vocab *v = load_vocab("ggml-vocab-llama-spm.gguf");
    char buf[16];
    size_t len = 99;
    cr_assert_eq(vocab_token_bytes(v, -1, false, buf, sizeof buf, &len), WEFT_ERR_INVALID);
    cr_assert_eq(vocab_token_bytes(v, 32000, false, buf, sizeof buf, &len), WEFT_ERR_INVALID);
    cr_assert_eq(vocab_token_bytes(v, INT32_MAX, false, buf, sizeof buf, &len), WEFT_ERR_INVALID);
    size_t n;
    cr_assert_eq(vocab_tokenize(v, NULL, 3, false, false, NULL, 0, &n), WEFT_ERR_INVALID);
    vocab_free(v);
}

/* ------------------------------------------------------------ pre-tokenizers */

#include "tok_internal.h"

typedef struct split_case {
    pretok_kind kind;
    const char *text;
    const char *words; /* joined by '|' */
} split_case;

/* Expected splits generated with Python's `regex` module and the patterns in
 * tok_pretok.c (smollm: re.split on \p{N}, then the GPT-2 pattern). */
static const split_case split_cases[] = {
    {PRETOK_GPT2, "Hello world", "Hello| world"},
    {PRETOK_GPT2, "  Hello  world  ", " | Hello| | world|  "},
    {PRETOK_GPT2, "I've 'RE 'll 's 'S 'Ll", "I|'ve| '|RE| '|ll| '|s| '|S| '|Ll"},
    {PRETOK_GPT2, "123456789 a12b 1234", "123456789| a|12|b| 1234"},
    {PRETOK_GPT2, "x\x0d""\x0a""\x0d""\x0a""  y", "x|\x0d""\x0a""\x0d""\x0a"" | y"},
    {PRETOK_GPT2, "\x09""\x09""foo\x0a""", "\x09""|\x09""|foo|\x0a"""},
    {PRETOK_GPT2, "don't STOP'S", "don|'t| STOP|'|S"},
    {PRETOK_GPT2, "ab!!\x3f""\x3f"" ..c", "ab|!!\x3f""\x3f""| ..|c"},
    {PRETOK_GPT2, "\xc3""\x9c""n\xc3""\xaf""c\xc3""\xb6""d\xc3""\xa9"" \xe4""\xb8""\xad""\xe6""\x96""\x87""\xe5""\xad""\x97"" \xd9""\xa1""\xd9""\xa2""\xd9""\xa3"" \xc2""\xbd"" \xc2""\xb2""x", "\xc3""\x9c""n\xc3""\xaf""c\xc3""\xb6""d\xc3""\xa9""| \xe4""\xb8""\xad""\xe6""\x96""\x87""\xe5""\xad""\x97""| \xd9""\xa1""\xd9""\xa2""\xd9""\xa3""| \xc2""\xbd""| \xc2""\xb2""|x"},
    {PRETOK_GPT2, "a  \x0a"" b", "a|  \x0a""| b"},
    {PRETOK_GPT2, "   ", "   "},
    {PRETOK_GPT2, "emoji \xf0""\x9f""\xa6""\x99""\xf0""\x9f""\xa6""\x99""! ok", "emoji| \xf0""\x9f""\xa6""\x99""\xf0""\x9f""\xa6""\x99""!| ok"},
    {PRETOK_GPT2, "3.14159", "3|.|14159"},
    {PRETOK_GPT2, "'", "'"},
    {PRETOK_GPT2, "'s", "'s"},
    {PRETOK_GPT2, " '", " '"},
    {PRETOK_GPT2, "x'", "x|'"},
    {PRETOK_GPT2, "a\x0a""\x0a""\x0a""b", "a|\x0a""\x0a""|\x0a""|b"},
    {PRETOK_GPT2, " \x0a""", " \x0a"""},
    {PRETOK_GPT2, "!!\x0a""\x0a""x", "!!|\x0a""|\x0a""|x"},
    {PRETOK_GPT2, " 12 x  34\x09""\x09""5", " 12| x| | 34|\x09""|\x09""|5"},
    {PRETOK_GPT2, "hello\x09""world ", "hello|\x09""|world| "},
    {PRETOK_GPT2, "\xc2""\xa0""nbsp\xe3""\x80""\x80""ideographic", "\xc2""\xa0""|nbsp|\xe3""\x80""\x80""|ideographic"},
    {PRETOK_GPT2, "\xd0""\x9f""\xd1""\x80""\xd0""\xb8""\xd0""\xb2""\xd0""\xb5""\xd1""\x82"", \xd0""\xbc""\xd0""\xb8""\xd1""\x80""! 123", "\xd0""\x9f""\xd1""\x80""\xd0""\xb8""\xd0""\xb2""\xd0""\xb5""\xd1""\x82""|,| \xd0""\xbc""\xd0""\xb8""\xd1""\x80""|!| 123"},
    {PRETOK_GPT2, "\xe0""\xa4""\x95""\xe0""\xa4""\xbf"" \xe0""\xa4""\xb9""\xe0""\xa4""\xbf""\xe0""\xa4""\x82""\xe0""\xa4""\xa6""\xe0""\xa5""\x80""", "\xe0""\xa4""\x95""|\xe0""\xa4""\xbf""| \xe0""\xa4""\xb9""|\xe0""\xa4""\xbf""\xe0""\xa4""\x82""|\xe0""\xa4""\xa6""|\xe0""\xa5""\x80"""},
    {PRETOK_GPT2, "\x0a"" \x0a""\x0a"" \x0a""\x0a""\x0a"" \x09"" \x09""\x09"" \x09""\x0a""  \x0a""   \x0a""    \x0a""     \x0a""", "\x0a"" \x0a""\x0a"" \x0a""\x0a""\x0a"" \x09"" \x09""\x09"" \x09""\x0a""  \x0a""   \x0a""    \x0a""     \x0a"""},
    {PRETOK_LLAMA3, "Hello world", "Hello| world"},
    {PRETOK_LLAMA3, "  Hello  world  ", " | Hello| | world|  "},
    {PRETOK_LLAMA3, "I've 'RE 'll 's 'S 'Ll", "I|'ve| '|RE| '|ll| '|s| '|S| '|Ll"},
    {PRETOK_LLAMA3, "123456789 a12b 1234", "123|456|789| a|12|b| |123|4"},
    {PRETOK_LLAMA3, "x\x0d""\x0a""\x0d""\x0a""  y", "x|\x0d""\x0a""\x0d""\x0a""| | y"},
    {PRETOK_LLAMA3, "\x09""\x09""foo\x0a""", "\x09""|\x09""foo|\x0a"""},
    {PRETOK_LLAMA3, "don't STOP'S", "don|'t| STOP|'S"},
    {PRETOK_LLAMA3, "ab!!\x3f""\x3f"" ..c", "ab|!!\x3f""\x3f""| ..|c"},
    {PRETOK_LLAMA3, "\xc3""\x9c""n\xc3""\xaf""c\xc3""\xb6""d\xc3""\xa9"" \xe4""\xb8""\xad""\xe6""\x96""\x87""\xe5""\xad""\x97"" \xd9""\xa1""\xd9""\xa2""\xd9""\xa3"" \xc2""\xbd"" \xc2""\xb2""x", "\xc3""\x9c""n\xc3""\xaf""c\xc3""\xb6""d\xc3""\xa9""| \xe4""\xb8""\xad""\xe6""\x96""\x87""\xe5""\xad""\x97""| |\xd9""\xa1""\xd9""\xa2""\xd9""\xa3""| |\xc2""\xbd""| |\xc2""\xb2""|x"},
    {PRETOK_LLAMA3, "a  \x0a"" b", "a|  \x0a""| b"},
    {PRETOK_LLAMA3, "   ", "   "},
    {PRETOK_LLAMA3, "emoji \xf0""\x9f""\xa6""\x99""\xf0""\x9f""\xa6""\x99""! ok", "emoji| \xf0""\x9f""\xa6""\x99""\xf0""\x9f""\xa6""\x99""!| ok"},
    {PRETOK_LLAMA3, "3.14159", "3|.|141|59"},
    {PRETOK_LLAMA3, "'", "'"},
    {PRETOK_LLAMA3, "'s", "'s"},
    {PRETOK_LLAMA3, " '", " '"},
    {PRETOK_LLAMA3, "x'", "x|'"},
    {PRETOK_LLAMA3, "a\x0a""\x0a""\x0a""b", "a|\x0a""\x0a""\x0a""|b"},
    {PRETOK_LLAMA3, " \x0a""", " \x0a"""},
    {PRETOK_LLAMA3, "!!\x0a""\x0a""x", "!!\x0a""\x0a""|x"},
    {PRETOK_LLAMA3, " 12 x  34\x09""\x09""5", " |12| x| | |34|\x09""|\x09""|5"},
    {PRETOK_LLAMA3, "hello\x09""world ", "hello|\x09""world| "},
    {PRETOK_LLAMA3, "\xc2""\xa0""nbsp\xe3""\x80""\x80""ideographic", "\xc2""\xa0""nbsp|\xe3""\x80""\x80""ideographic"},
    {PRETOK_LLAMA3, "\xd0""\x9f""\xd1""\x80""\xd0""\xb8""\xd0""\xb2""\xd0""\xb5""\xd1""\x82"", \xd0""\xbc""\xd0""\xb8""\xd1""\x80""! 123", "\xd0""\x9f""\xd1""\x80""\xd0""\xb8""\xd0""\xb2""\xd0""\xb5""\xd1""\x82""|,| \xd0""\xbc""\xd0""\xb8""\xd1""\x80""|!| |123"},
    {PRETOK_LLAMA3, "\xe0""\xa4""\x95""\xe0""\xa4""\xbf"" \xe0""\xa4""\xb9""\xe0""\xa4""\xbf""\xe0""\xa4""\x82""\xe0""\xa4""\xa6""\xe0""\xa5""\x80""", "\xe0""\xa4""\x95""|\xe0""\xa4""\xbf""| \xe0""\xa4""\xb9""|\xe0""\xa4""\xbf""\xe0""\xa4""\x82""|\xe0""\xa4""\xa6""|\xe0""\xa5""\x80"""},
    {PRETOK_LLAMA3, "\x0a"" \x0a""\x0a"" \x0a""\x0a""\x0a"" \x09"" \x09""\x09"" \x09""\x0a""  \x0a""   \x0a""    \x0a""     \x0a""", "\x0a"" \x0a""\x0a"" \x0a""\x0a""\x0a"" \x09"" \x09""\x09"" \x09""\x0a""  \x0a""   \x0a""    \x0a""     \x0a"""},
    {PRETOK_QWEN2, "Hello world", "Hello| world"},
    {PRETOK_QWEN2, "  Hello  world  ", " | Hello| | world|  "},
    {PRETOK_QWEN2, "I've 'RE 'll 's 'S 'Ll", "I|'ve| '|RE| '|ll| '|s| '|S| '|Ll"},
    {PRETOK_QWEN2, "123456789 a12b 1234", "1|2|3|4|5|6|7|8|9| a|1|2|b| |1|2|3|4"},
    {PRETOK_QWEN2, "x\x0d""\x0a""\x0d""\x0a""  y", "x|\x0d""\x0a""\x0d""\x0a""| | y"},
    {PRETOK_QWEN2, "\x09""\x09""foo\x0a""", "\x09""|\x09""foo|\x0a"""},
    {PRETOK_QWEN2, "don't STOP'S", "don|'t| STOP|'S"},
    {PRETOK_QWEN2, "ab!!\x3f""\x3f"" ..c", "ab|!!\x3f""\x3f""| ..|c"},
    {PRETOK_QWEN2, "\xc3""\x9c""n\xc3""\xaf""c\xc3""\xb6""d\xc3""\xa9"" \xe4""\xb8""\xad""\xe6""\x96""\x87""\xe5""\xad""\x97"" \xd9""\xa1""\xd9""\xa2""\xd9""\xa3"" \xc2""\xbd"" \xc2""\xb2""x", "\xc3""\x9c""n\xc3""\xaf""c\xc3""\xb6""d\xc3""\xa9""| \xe4""\xb8""\xad""\xe6""\x96""\x87""\xe5""\xad""\x97""| |\xd9""\xa1""|\xd9""\xa2""|\xd9""\xa3""| |\xc2""\xbd""| |\xc2""\xb2""|x"},
    {PRETOK_QWEN2, "a  \x0a"" b", "a|  \x0a""| b"},
    {PRETOK_QWEN2, "   ", "   "},
    {PRETOK_QWEN2, "emoji \xf0""\x9f""\xa6""\x99""\xf0""\x9f""\xa6""\x99""! ok", "emoji| \xf0""\x9f""\xa6""\x99""\xf0""\x9f""\xa6""\x99""!| ok"},
    {PRETOK_QWEN2, "3.14159", "3|.|1|4|1|5|9"},
    {PRETOK_QWEN2, "'", "'"},
    {PRETOK_QWEN2, "'s", "'s"},
    {PRETOK_QWEN2, " '", " '"},
    {PRETOK_QWEN2, "x'", "x|'"},
    {PRETOK_QWEN2, "a\x0a""\x0a""\x0a""b", "a|\x0a""\x0a""\x0a""|b"},
    {PRETOK_QWEN2, " \x0a""", " \x0a"""},
    {PRETOK_QWEN2, "!!\x0a""\x0a""x", "!!\x0a""\x0a""|x"},
    {PRETOK_QWEN2, " 12 x  34\x09""\x09""5", " |1|2| x| | |3|4|\x09""|\x09""|5"},
    {PRETOK_QWEN2, "hello\x09""world ", "hello|\x09""world| "},
    {PRETOK_QWEN2, "\xc2""\xa0""nbsp\xe3""\x80""\x80""ideographic", "\xc2""\xa0""nbsp|\xe3""\x80""\x80""ideographic"},
    {PRETOK_QWEN2, "\xd0""\x9f""\xd1""\x80""\xd0""\xb8""\xd0""\xb2""\xd0""\xb5""\xd1""\x82"", \xd0""\xbc""\xd0""\xb8""\xd1""\x80""! 123", "\xd0""\x9f""\xd1""\x80""\xd0""\xb8""\xd0""\xb2""\xd0""\xb5""\xd1""\x82""|,| \xd0""\xbc""\xd0""\xb8""\xd1""\x80""|!| |1|2|3"},
    {PRETOK_QWEN2, "\xe0""\xa4""\x95""\xe0""\xa4""\xbf"" \xe0""\xa4""\xb9""\xe0""\xa4""\xbf""\xe0""\xa4""\x82""\xe0""\xa4""\xa6""\xe0""\xa5""\x80""", "\xe0""\xa4""\x95""|\xe0""\xa4""\xbf""| \xe0""\xa4""\xb9""|\xe0""\xa4""\xbf""\xe0""\xa4""\x82""|\xe0""\xa4""\xa6""|\xe0""\xa5""\x80"""},
    {PRETOK_QWEN2, "\x0a"" \x0a""\x0a"" \x0a""\x0a""\x0a"" \x09"" \x09""\x09"" \x09""\x0a""  \x0a""   \x0a""    \x0a""     \x0a""", "\x0a"" \x0a""\x0a"" \x0a""\x0a""\x0a"" \x09"" \x09""\x09"" \x09""\x0a""  \x0a""   \x0a""    \x0a""     \x0a"""},
    {PRETOK_SMOLLM, "Hello world", "Hello| world"},
    {PRETOK_SMOLLM, "  Hello  world  ", " | Hello| | world|  "},
    {PRETOK_SMOLLM, "I've 'RE 'll 's 'S 'Ll", "I|'ve| '|RE| '|ll| '|s| '|S| '|Ll"},
    {PRETOK_SMOLLM, "123456789 a12b 1234", "1|2|3|4|5|6|7|8|9| a|1|2|b| |1|2|3|4"},
    {PRETOK_SMOLLM, "x\x0d""\x0a""\x0d""\x0a""  y", "x|\x0d""\x0a""\x0d""\x0a"" | y"},
    {PRETOK_SMOLLM, "\x09""\x09""foo\x0a""", "\x09""|\x09""|foo|\x0a"""},
    {PRETOK_SMOLLM, "don't STOP'S", "don|'t| STOP|'|S"},
    {PRETOK_SMOLLM, "ab!!\x3f""\x3f"" ..c", "ab|!!\x3f""\x3f""| ..|c"},
    {PRETOK_SMOLLM, "\xc3""\x9c""n\xc3""\xaf""c\xc3""\xb6""d\xc3""\xa9"" \xe4""\xb8""\xad""\xe6""\x96""\x87""\xe5""\xad""\x97"" \xd9""\xa1""\xd9""\xa2""\xd9""\xa3"" \xc2""\xbd"" \xc2""\xb2""x", "\xc3""\x9c""n\xc3""\xaf""c\xc3""\xb6""d\xc3""\xa9""| \xe4""\xb8""\xad""\xe6""\x96""\x87""\xe5""\xad""\x97""| |\xd9""\xa1""|\xd9""\xa2""|\xd9""\xa3""| |\xc2""\xbd""| |\xc2""\xb2""|x"},
    {PRETOK_SMOLLM, "a  \x0a"" b", "a|  \x0a""| b"},
    {PRETOK_SMOLLM, "   ", "   "},
    {PRETOK_SMOLLM, "emoji \xf0""\x9f""\xa6""\x99""\xf0""\x9f""\xa6""\x99""! ok", "emoji| \xf0""\x9f""\xa6""\x99""\xf0""\x9f""\xa6""\x99""!| ok"},
    {PRETOK_SMOLLM, "3.14159", "3|.|1|4|1|5|9"},
    {PRETOK_SMOLLM, "'", "'"},
    {PRETOK_SMOLLM, "'s", "'s"},
    {PRETOK_SMOLLM, " '", " '"},
    {PRETOK_SMOLLM, "x'", "x|'"},
    {PRETOK_SMOLLM, "a\x0a""\x0a""\x0a""b", "a|\x0a""\x0a""|\x0a""|b"},
    {PRETOK_SMOLLM, " \x0a""", " \x0a"""},
    {PRETOK_SMOLLM, "!!\x0a""\x0a""x", "!!|\x0a""|\x0a""|x"},
    {PRETOK_SMOLLM, " 12 x  34\x09""\x09""5", " |1|2| x|  |3|4|\x09""\x09""|5"},
    {PRETOK_SMOLLM, "hello\x09""world ", "hello|\x09""|world| "},
    {PRETOK_SMOLLM, "\xc2""\xa0""nbsp\xe3""\x80""\x80""ideographic", "\xc2""\xa0""|nbsp|\xe3""\x80""\x80""|ideographic"},
    {PRETOK_SMOLLM, "\xd0""\x9f""\xd1""\x80""\xd0""\xb8""\xd0""\xb2""\xd0""\xb5""\xd1""\x82"", \xd0""\xbc""\xd0""\xb8""\xd1""\x80""! 123", "\xd0""\x9f""\xd1""\x80""\xd0""\xb8""\xd0""\xb2""\xd0""\xb5""\xd1""\x82""|,| \xd0""\xbc""\xd0""\xb8""\xd1""\x80""|!| |1|2|3"},
    {PRETOK_SMOLLM, "\xe0""\xa4""\x95""\xe0""\xa4""\xbf"" \xe0""\xa4""\xb9""\xe0""\xa4""\xbf""\xe0""\xa4""\x82""\xe0""\xa4""\xa6""\xe0""\xa5""\x80""", "\xe0""\xa4""\x95""|\xe0""\xa4""\xbf""| \xe0""\xa4""\xb9""|\xe0""\xa4""\xbf""\xe0""\xa4""\x82""|\xe0""\xa4""\xa6""|\xe0""\xa5""\x80"""},
    {PRETOK_SMOLLM, "\x0a"" \x0a""\x0a"" \x0a""\x0a""\x0a"" \x09"" \x09""\x09"" \x09""\x0a""  \x0a""   \x0a""    \x0a""     \x0a""", "\x0a"" \x0a""\x0a"" \x0a""\x0a""\x0a"" \x09"" \x09""\x09"" \x09""\x0a""  \x0a""   \x0a""    \x0a""     \x0a"""},

};

typedef struct joined {
    char buf[1024];
    size_t n;
} joined;

static weft_status join_word(void *ctx, const char *w, size_t len) {
    joined *j = ctx;
    if (j->n) j->buf[j->n++] = '|';
    cr_assert_lt(j->n + len, sizeof j->buf);
    memcpy(j->buf + j->n, w, len);
    j->n += len;
    j->buf[j->n] = 0;
    return WEFT_OK;
}

Test(pretok, regex_equivalence) {
    for (size_t i = 0; i < sizeof split_cases / sizeof split_cases[0]; i++) {
        const split_case *c = &split_cases[i];
        joined j = {.n = 0};
        j.buf[0] = 0;
        cr_assert_eq(pretok_split(c->kind, c->text, strlen(c->text), join_word, &j), WEFT_OK);
        cr_assert_str_eq(j.buf, c->words, "kind %d, text '%s'", (int)c->kind, c->text);
    }
}

/* ------------------------------------------------------------ built vocabs */

#include "../backend_gguf/gguf_builder.h"

static void gb_kv_bool(gb *b, const char *key, bool v) {
    gb_str(b, key);
    gb_u32(b, 7 /* BOOL */);
    uint8_t c = v;
    gb_bytes(b, &c, 1);
}

/* A byte-level BPE vocab: the 256 byte symbols, then "he", "hel", "hell",
 * "hello"; merges up to "hel l" and optionally "hell o". */
static gb bpe_file(const char *pre, bool last_merge, int n_extra_kv) {
    static const char *const merges[] = {"h e", "he l", "hel l", "hell o"};
    const char *toks[260];
    static char texts[256][4];
    for (int b = 0; b < 256; b++) {
        texts[b][utf8_encode(bpe_byte_to_cpt((uint8_t)b), texts[b])] = 0;
        toks[b] = texts[b];
    }
    toks[256] = "he";
    toks[257] = "hel";
    toks[258] = "hell";
    toks[259] = "hello";
    gb b = {0};
    gb_header(&b, 3, 0, 4 + (uint64_t)n_extra_kv);
    gb_kv_str(&b, "tokenizer.ggml.model", "gpt2");
    gb_kv_str(&b, "tokenizer.ggml.pre", pre);
    gb_kv_strs(&b, "tokenizer.ggml.tokens", toks, 260);
    gb_kv_strs(&b, "tokenizer.ggml.merges", merges, last_merge ? 4 : 3);
    return b;
}

static llm_vocab *load_built(gb *b, char *err, size_t cap) {
    gguf_file *f = gguf_open_memory(b->p, b->len, "v.gguf", err, cap);
    cr_assert(f, "%s", err);
    llm_vocab *v = vocab_load(f, err, cap);
    gguf_close(f);
    return v;
}

Test(vocab_built, bpe_merges_and_ignore_merges) {
    char err[256] = "";
    weft_token hello[] = {259}, hell_o[] = {258, 'o'}; /* token b is byte b */
    gb b = bpe_file("gpt-2", true, 0);
    llm_vocab *v = load_built(&b, err, sizeof err);
    cr_assert(v, "%s", err);
    expect_ids(v, "hello", false, hello, 1);
    vocab_free(v);
    free(b.p);
    /* Without the last merge, gpt-2 stops at "hell" + "o" ... */
    b = bpe_file("gpt-2", false, 0);
    v = load_built(&b, err, sizeof err);
    cr_assert(v, "%s", err);
    expect_ids(v, "hello", false, hell_o, 2);
    vocab_free(v);
    free(b.p);
    /* ... but llama3 takes a whole word that is a token as is. */
    b = bpe_file("llama3", false, 0);
    v = load_built(&b, err, sizeof err);
    cr_assert(v, "%s", err);
    expect_ids(v, "hello", false, hello, 1);
    cr_assert_str_eq(vocab_pre_name(v), "llama3");
    vocab_free(v);
    free(b.p);
}

static void expect_load_error(gb b, const char *needle) {
    char err[256] = "";
    llm_vocab *v = load_built(&b, err, sizeof err);
    cr_assert_null(v, "vocab accepted (expected '%s')", needle);
    cr_assert(strncmp(err, "v.gguf: ", 8) == 0, "error does not name the file: %s", err);
    cr_assert(strstr(err, needle), "error '%s' does not mention '%s'", err, needle);
    free(b.p);
}

Test(vocab_built, errors) {
    gb b = {0};
    gb_header(&b, 3, 0, 0);
    expect_load_error(b, "tokenizer.ggml.model");

    b = (gb){0};
    gb_header(&b, 3, 0, 1);
    gb_kv_str(&b, "tokenizer.ggml.model", "bert");
    expect_load_error(b, "'bert' is not supported");

    expect_load_error(bpe_file("weird", true, 0), "pre-tokenizer 'weird'");

    b = bpe_file("gpt-2", true, 1);
    gb_kv_u32(&b, "tokenizer.ggml.bos_token_id", 260);
    expect_load_error(b, "bos_token_id': token id 260 out of range");

    b = bpe_file("gpt-2", true, 1);
    gb_kv_i32s(&b, "tokenizer.ggml.scores", (const int32_t[]){1, 2}, 2);
    expect_load_error(b, "tokenizer.ggml.scores': 2 entries");

    b = bpe_file("gpt-2", true, 1);
    gb_kv_u32(&b, "tokenizer.ggml.add_bos_token", 1);
    expect_load_error(b, "add_bos_token': expected a bool");

    static const char *const bad_merge[] = {"abc"};
    b = (gb){0};
    gb_header(&b, 3, 0, 3);
    gb_kv_str(&b, "tokenizer.ggml.model", "gpt2");
    gb_kv_strs(&b, "tokenizer.ggml.tokens", bad_merge, 1);
    gb_kv_strs(&b, "tokenizer.ggml.merges", bad_merge, 1);
    expect_load_error(b, "merges': entry 0");

    b = (gb){0};
    gb_header(&b, 3, 0, 2);
    gb_kv_str(&b, "tokenizer.ggml.model", "llama");
    gb_kv_strs(&b, "tokenizer.ggml.tokens", bad_merge, 0);
    expect_load_error(b, "is empty");
}

Test(vocab_built, add_bos_flag) {
    char err[256] = "";
    gb b = bpe_file("gpt-2", true, 2);
    gb_kv_u32(&b, "tokenizer.ggml.bos_token_id", 256);
    gb_kv_bool(&b, "tokenizer.ggml.add_bos_token", true);
    llm_vocab *v = load_built(&b, err, sizeof err);
    cr_assert(v, "%s", err);
    cr_assert(vocab_add_bos(v));
    size_t n;
    weft_token *ids = encode(v, "hello", 5, true, false, &n);
    cr_assert_eq(n, 2);
    cr_assert_eq(ids[0], 256);
    free(ids);
    vocab_free(v);
    free(b.p);
}

/* fuzz_tokenizer: SPM cannot distinguish a literal U+2581 from an escaped
 * space, so it decodes as ' ' (llama.cpp and SentencePiece do the same). */
Test(tokenizer_regression, spm_literal_space_marker) {
    llm_vocab *v = load_vocab("ggml-vocab-llama-spm.gguf");
    const char *s = "a\xe2\x96\x81" "b";
    size_t n, len;
    weft_token *ids = encode(v, s, strlen(s), false, false, &n);
    char *d = decode(v, ids, n, false, &len);
    cr_assert_eq(len, 4);
    cr_assert(memcmp(d, " a b", 4) == 0);
    free(ids);
    free(d);
    vocab_free(v);
}
