/* GGUF reader: real files (v1 and v3) and a corpus of hand-made corrupt
 * files, each of which must fail with an error naming what is wrong. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "gguf.h"
#include "gguf_builder.h"
#include "test_paths.h"

/* ------------------------------------------------------------ real files */

static gguf_file *open_model(const char *rel) {
    char path[1024], err[512] = "";
    gguf_file *f = gguf_open(test_model_path(path, sizeof path, rel), err, sizeof err);
    cr_assert(f, "%s", err);
    return f;
}

static void check_stories(const gguf_file *f) {
    cr_assert_eq(f->n_kv, 18);
    cr_assert_eq(f->n_tensors, 48);
    cr_assert_eq(f->alignment, 32);
    cr_assert_eq(f->data_offset % 32, 0);
    gguf_str s;
    cr_assert(gguf_get_str(f, "general.architecture", &s));
    cr_assert(gguf_str_eq(s, "llama"));
    uint32_t u = 0;
    cr_assert(gguf_get_u32(f, "llama.embedding_length", &u));
    cr_assert_eq(u, 64);
    cr_assert(gguf_get_u32(f, "llama.attention.head_count_kv", &u));
    cr_assert_eq(u, 4);
    float eps = 0;
    cr_assert(gguf_get_f32(f, "llama.attention.layer_norm_rms_epsilon", &eps));
    cr_assert_float_eq(eps, 1e-5f, 1e-9f);
    cr_assert_not(gguf_get_str(f, "llama.block_count", &s), "type mismatch must fail");
    cr_assert_null(gguf_find_kv(f, "no.such.key"));

    const gguf_kv *toks = gguf_find_kv(f, "tokenizer.ggml.tokens");
    cr_assert(toks);
    cr_assert_eq(toks->type, GGUF_TYPE_ARRAY);
    cr_assert_eq(toks->arr_type, GGUF_TYPE_STRING);
    cr_assert_eq(toks->arr_count, 512);
    cr_assert(gguf_str_eq(gguf_arr_str(f, toks, 3), "<0x00>"));
    cr_assert_null(gguf_arr_str(f, toks, 512).ptr);
    const gguf_kv *types = gguf_find_kv(f, "tokenizer.ggml.token_type");
    cr_assert_eq(gguf_arr_num(types, 1), 3.0); /* BOS is a control token */

    const gguf_tensor *t = gguf_find_tensor(f, "token_embd.weight");
    cr_assert(t);
    cr_assert_eq(t->type, GGML_TYPE_F32);
    cr_assert_eq(t->n_dims, 2);
    cr_assert_eq(t->ne[0], 64);
    cr_assert_eq(t->ne[1], 512);
    cr_assert_eq(t->ne[2], 1);
    cr_assert_eq(t->n_bytes, 64 * 512 * 4);
    t = gguf_find_tensor(f, "blk.4.ffn_down.weight");
    cr_assert(t);
    cr_assert_eq(t->ne[0], 172);
    cr_assert_eq(t->ne[1], 64);
    t = gguf_find_tensor(f, "output_norm.weight");
    cr_assert(t);
    cr_assert_eq(t->n_dims, 1);
    cr_assert_eq(t->ne[0], 64);
    cr_assert_null(gguf_find_tensor(f, "blk.5.attn_q.weight"));
}

Test(gguf, stories_v1_and_v3_agree) {
    gguf_file *v1 = open_model("tinyllamas-stories-260k-f32.gguf");
    gguf_file *v3 = open_model("derived/stories260K-f32-v3.gguf");
    cr_assert_eq(v1->version, 1);
    cr_assert_eq(v3->version, 3);
    check_stories(v1);
    check_stories(v3);
    for (uint64_t i = 0; i < v1->n_tensors; i++) {
        const gguf_tensor *a = &v1->tensors[i];
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)a->name.len, a->name.ptr);
        const gguf_tensor *b = gguf_find_tensor(v3, name);
        cr_assert(b, "%s missing in v3", name);
        cr_assert_eq(a->n_bytes, b->n_bytes);
        cr_assert(memcmp(a->data, b->data, a->n_bytes) == 0, "%s data differs", name);
    }
    gguf_close(v1);
    gguf_close(v3);
}

Test(gguf, vocab_only_file) {
    gguf_file *f = open_model("ggml-vocab-gpt-2.gguf");
    cr_assert_eq(f->n_tensors, 0);
    const gguf_kv *m = gguf_find_kv(f, "tokenizer.ggml.merges");
    cr_assert_eq(m->arr_count, 50000);
    cr_assert(gguf_str_eq(gguf_arr_str(f, m, 0), "Ġ t"));
    gguf_close(f);
}

Test(gguf, type_traits) {
    cr_assert_eq(ggml_blck_size(GGML_TYPE_Q8_0), 32);
    cr_assert_eq(ggml_type_size(GGML_TYPE_Q8_0), 34);
    cr_assert_eq(ggml_type_size(GGML_TYPE_Q4_0), 18);
    cr_assert_eq(ggml_type_size(GGML_TYPE_Q4_K), 144);
    cr_assert_eq(ggml_type_size(GGML_TYPE_Q6_K), 210);
    cr_assert_eq(ggml_type_size(GGML_TYPE_Q8_K), 292);
    cr_assert_eq(ggml_blck_size(GGML_TYPE_Q2_K), 256);
    cr_assert_eq(ggml_type_size(GGML_TYPE_BF16), 2);
    cr_assert_eq(ggml_blck_size((ggml_type)99), 0);
    cr_assert_str_eq(ggml_type_name(GGML_TYPE_Q5_K), "Q5_K");
}

Test(gguf, missing_file) {
    char err[256] = "";
    cr_assert_null(gguf_open("/nonexistent/x.gguf", err, sizeof err));
    cr_assert(strstr(err, "/nonexistent/x.gguf") && strstr(err, "cannot open"), "%s", err);
}

/* ------------------------------------------------------------ built files */

typedef struct opts {
    uint32_t version;
    uint32_t align;
    uint32_t t_type, t_ndims;
    uint64_t t_ne[4];
    uint64_t t1_off;
    bool dup_key, dup_tensor;
    size_t data_trim;
} opts;

static opts defaults(uint32_t version) {
    return (opts){.version = version, .align = 32, .t_type = GGML_TYPE_F32, .t_ndims = 2,
                  .t_ne = {4, 2}, .t1_off = 32};
}

/* Six KV pairs (string, u32, alignment, f32, string array, int array) and two
 * tensors (F32 [4,2] at 0, Q8_0 [32] at t1_off); data ends the file. */
static gb build(opts o) {
    static const char *const toks[] = {"a", "bc", "<s>"};
    static const int32_t ids[] = {1, -2, 3};
    gb b = {0};
    gb_header(&b, o.version, 2, 6 + o.dup_key);
    gb_kv_str(&b, "general.architecture", "llama");
    gb_kv_u32(&b, "llama.block_count", 3);
    gb_kv_u32(&b, "general.alignment", o.align);
    gb_kv_f32(&b, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    gb_kv_strs(&b, "tokenizer.ggml.tokens", toks, 3);
    gb_kv_i32s(&b, "test.ids", ids, 3);
    if (o.dup_key) gb_kv_u32(&b, "llama.block_count", 4);
    gb_tensor(&b, "a.weight", o.t_ndims, o.t_ne, o.t_type, 0);
    uint64_t ne1[1] = {32};
    gb_tensor(&b, o.dup_tensor ? "a.weight" : "b.weight", 1, ne1, GGML_TYPE_Q8_0, o.t1_off);
    bool align_ok = o.align && !(o.align & (o.align - 1)) && o.align <= 4096;
    gb_pad(&b, align_ok ? o.align : 32);
    gb_fill(&b, 32 + 34 - o.data_trim, 0x3c);
    return b;
}

/* Opens an exact-size heap copy, so any overread is a heap overflow that
 * sanitizers and valgrind report. Returns whether the bytes were accepted. */
static bool accepts(const uint8_t *p, size_t n, char *err, size_t cap) {
    uint8_t *copy = malloc(n ? n : 1);
    if (n) memcpy(copy, p, n);
    gguf_file *f = gguf_open_memory(copy, n, "t.gguf", err, cap);
    gguf_close(f);
    free(copy);
    return f != NULL;
}

/* Builds, expects failure, and checks the message mentions each needle. */
static void expect_fail(gb b, const char *n1, const char *n2) {
    char err[512] = "";
    cr_assert_not(accepts(b.p, b.len, err, sizeof err), "corrupt file was accepted (expected '%s')", n1);
    cr_log_info("%s", err);
    cr_assert(strncmp(err, "t.gguf: ", 8) == 0, "error does not name the file: %s", err);
    cr_assert(strstr(err, n1), "error '%s' does not mention '%s'", err, n1);
    if (n2) cr_assert(strstr(err, n2), "error '%s' does not mention '%s'", err, n2);
    free(b.p);
}

static void check_valid(uint32_t version) {
    gb b = build(defaults(version));
    char err[512] = "";
    gguf_file *f = gguf_open_memory(b.p, b.len, "t.gguf", err, sizeof err);
    cr_assert(f, "%s", err);
    cr_assert_eq(f->version, version);
    uint32_t u;
    cr_assert(gguf_get_u32(f, "llama.block_count", &u));
    cr_assert_eq(u, 3);
    int64_t i64;
    cr_assert(gguf_get_i64(f, "llama.block_count", &i64));
    cr_assert_eq(i64, 3);
    const gguf_kv *ids = gguf_find_kv(f, "test.ids");
    cr_assert_eq(gguf_arr_num(ids, 1), -2.0);
    const gguf_kv *toks = gguf_find_kv(f, "tokenizer.ggml.tokens");
    cr_assert(gguf_str_eq(gguf_arr_str(f, toks, 2), "<s>"));
    const gguf_tensor *t = gguf_find_tensor(f, "b.weight");
    cr_assert(t);
    cr_assert_eq(t->n_bytes, 34);
    cr_assert_eq((const uint8_t *)t->data, b.p + f->data_offset + 32);
    cr_assert_eq(f->data_offset + 32 + 34, b.len);
    gguf_close(f);
    free(b.p);
}

Test(gguf_built, valid_v3) { check_valid(3); }
Test(gguf_built, valid_v2) { check_valid(2); }
Test(gguf_built, valid_v1) { check_valid(1); }

/* Every proper prefix of a valid file must be rejected cleanly. */
static void check_truncations(uint32_t version) {
    gb b = build(defaults(version));
    for (size_t n = 0; n < b.len; n++) {
        char err[512] = "";
        cr_assert_not(accepts(b.p, n, err, sizeof err), "prefix of %zu/%zu bytes accepted", n, b.len);
        cr_assert(strncmp(err, "t.gguf: ", 8) == 0 && strlen(err) > 12, "prefix %zu: '%s'", n,
                  err);
        /* No error buffer must also be safe. */
        cr_assert_null(gguf_open_memory(b.p, n, "t.gguf", NULL, 0));
    }
    free(b.p);
}

Test(gguf_built, truncated_every_length_v3) { check_truncations(3); }
Test(gguf_built, truncated_every_length_v1) { check_truncations(1); }

Test(gguf_corrupt, bad_magic) {
    gb b = build(defaults(3));
    memcpy(b.p, "GGUX", 4);
    expect_fail(b, "bad magic", "GGU");
}

Test(gguf_corrupt, empty_and_tiny) {
    char err[256] = "";
    cr_assert_null(gguf_open_memory(NULL, 0, "t.gguf", err, sizeof err));
    cr_assert(strstr(err, "magic"), "%s", err);
    cr_assert_null(gguf_open_memory("GG", 2, "t.gguf", err, sizeof err));
    cr_assert(strstr(err, "too short"), "%s", err);
}

Test(gguf_corrupt, bad_version) {
    gb b = build(defaults(3));
    b.p[4] = 4;
    expect_fail(b, "unsupported GGUF version 4", NULL);
    b = build(defaults(3));
    b.p[4] = 0;
    expect_fail(b, "version 0", NULL);
}

Test(gguf_corrupt, huge_kv_count) {
    gb b = {0};
    gb_header(&b, 3, 0, (uint64_t)1 << 40);
    gb_fill(&b, 64, 0);
    expect_fail(b, "key/value count 1099511627776", "implausible");
}

Test(gguf_corrupt, huge_tensor_count) {
    gb b = {0};
    gb_header(&b, 3, UINT64_MAX, 0);
    expect_fail(b, "tensor count", "implausible");
}

Test(gguf_corrupt, string_length_past_eof) {
    gb b = {0};
    gb_header(&b, 3, 0, 1);
    gb_str(&b, "general.name");
    gb_u32(&b, GGUF_TYPE_STRING);
    gb_count(&b, 1000);
    gb_bytes(&b, "abc", 3);
    expect_fail(b, "key 'general.name'", "length 1000");
}

Test(gguf_corrupt, key_length_past_eof) {
    gb b = {0};
    gb_header(&b, 3, 0, 1);
    gb_count(&b, UINT64_MAX);
    gb_bytes(&b, "abcdefgh", 8);
    expect_fail(b, "key/value pair 0", "extends past end of file");
}

Test(gguf_corrupt, huge_array_count) {
    gb b = {0};
    gb_header(&b, 3, 0, 1);
    gb_str(&b, "test.arr");
    gb_u32(&b, GGUF_TYPE_ARRAY);
    gb_u32(&b, GGUF_TYPE_UINT32);
    gb_count(&b, (uint64_t)1 << 62);
    gb_fill(&b, 16, 0);
    expect_fail(b, "key 'test.arr'", "extends past end of file");
}

Test(gguf_corrupt, huge_string_array_count) {
    gb b = {0};
    gb_header(&b, 3, 0, 1);
    gb_str(&b, "tokenizer.ggml.tokens");
    gb_u32(&b, GGUF_TYPE_ARRAY);
    gb_u32(&b, GGUF_TYPE_STRING);
    gb_count(&b, UINT64_MAX / 2);
    gb_fill(&b, 16, 0);
    expect_fail(b, "key 'tokenizer.ggml.tokens'", "cannot fit");
}

Test(gguf_corrupt, nested_array) {
    gb b = {0};
    gb_header(&b, 3, 0, 1);
    gb_str(&b, "test.nested");
    gb_u32(&b, GGUF_TYPE_ARRAY);
    gb_u32(&b, GGUF_TYPE_ARRAY);
    gb_count(&b, 1);
    gb_fill(&b, 16, 0);
    expect_fail(b, "key 'test.nested'", "nested arrays");
}

Test(gguf_corrupt, unknown_value_type) {
    gb b = {0};
    gb_header(&b, 3, 0, 1);
    gb_str(&b, "test.x");
    gb_u32(&b, 13);
    gb_fill(&b, 16, 0);
    expect_fail(b, "key 'test.x'", "unknown value type 13");
}

Test(gguf_corrupt, tensor_data_past_eof) {
    opts o = defaults(3);
    o.data_trim = 1;
    expect_fail(build(o), "tensor 'b.weight'", "extends past end of file");
}

Test(gguf_corrupt, huge_offset) {
    opts o = defaults(3);
    o.t1_off = UINT64_MAX - 31;
    expect_fail(build(o), "tensor 'b.weight'", "extends past end of file");
}

Test(gguf_corrupt, misaligned_offset) {
    opts o = defaults(3);
    o.t1_off = 33;
    expect_fail(build(o), "tensor 'b.weight'", "not a multiple of the alignment 32");
}

Test(gguf_corrupt, unknown_tensor_type) {
    opts o = defaults(3);
    o.t_type = 99;
    expect_fail(build(o), "tensor 'a.weight'", "unknown tensor type 99");
}

Test(gguf_corrupt, zero_dim) {
    opts o = defaults(3);
    o.t_ne[1] = 0;
    expect_fail(build(o), "tensor 'a.weight'", "dimension 1 is zero");
}

Test(gguf_corrupt, too_many_dims) {
    opts o = defaults(3);
    o.t_ndims = 5;
    expect_fail(build(o), "tensor 'a.weight'", "dimension count 5");
    o.t_ndims = 0;
    expect_fail(build(o), "tensor 'a.weight'", "dimension count 0");
}

Test(gguf_corrupt, element_count_overflow) {
    opts o = defaults(1); /* v1: 32-bit dims, so overflow needs four of them */
    o.t_ndims = 4;
    o.t_ne[0] = o.t_ne[1] = o.t_ne[2] = o.t_ne[3] = 0xffffffffu;
    expect_fail(build(o), "tensor 'a.weight'", "element count overflows");
    o = defaults(3);
    o.t_ne[0] = (uint64_t)1 << 62;
    o.t_ne[1] = 1;
    expect_fail(build(o), "tensor 'a.weight'", "byte size overflows");
}

Test(gguf_corrupt, row_not_multiple_of_block) {
    opts o = defaults(3);
    o.t_type = GGML_TYPE_Q8_0;
    expect_fail(build(o), "tensor 'a.weight'", "not a multiple of the Q8_0 block size 32");
}

Test(gguf_corrupt, duplicate_key) {
    opts o = defaults(3);
    o.dup_key = true;
    expect_fail(build(o), "key 'llama.block_count'", "duplicate key");
}

Test(gguf_corrupt, duplicate_tensor) {
    opts o = defaults(3);
    o.dup_tensor = true;
    expect_fail(build(o), "tensor 'a.weight'", "duplicate tensor");
}

Test(gguf_corrupt, bad_alignment) {
    opts o = defaults(3);
    o.align = 3;
    expect_fail(build(o), "general.alignment", "power of two");
    o.align = 0;
    expect_fail(build(o), "general.alignment", "found 0");
}

Test(gguf_corrupt, alignment_wrong_type) {
    gb b = {0};
    gb_header(&b, 3, 0, 1);
    gb_kv_str(&b, "general.alignment", "32");
    expect_fail(b, "general.alignment", "found string");
}

Test(gguf_corrupt, unprintable_names_escaped) {
    gb b = {0};
    gb_header(&b, 3, 0, 2);
    gb_kv_u32(&b, "k\x01\n", 1);
    gb_kv_u32(&b, "k\x01\n", 2);
    expect_fail(b, "key 'k\\x01\\x0a'", "duplicate");
}

/* ------------------------------------------------------------ fuzz finds */

/* fuzz_gguf: an 82-byte key of mostly NUL bytes overflowed the buffer that
 * escapes names for error messages. */
Test(gguf_regression, long_escaped_key_name) {
    static const uint8_t input[] = {
    0x47, 0x47, 0x55, 0x46, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x74, 0x6f, 0x6b, 0x65, 0x6e, 0x69, 0x7a, 0x65, 0x72, 0x2e, 0x67, 0x67, 0x6d, 0x6c, 0x2e, 0x6d,
    0x6f, 0x64, 0x65, 0x6c, 0x08, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x67, 0x70, 0x74, 0x32, 0x52, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x74,
    0x6f, 0x6b, 0x65, 0x6e, 0x69, 0x7a, 0x65, 0x72, 0x2e, 0x67, 0x67, 0x6d, 0x6c, 0x2e, 0x6d, 0x65,
    0x72, 0x67, 0x65, 0x73, 0x09, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0x20, 0x65, 0x03,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x6c, 0x20, 0x6c, 0x19, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x74, 0x6f, 0x6b, 0x65, 0x6e, 0x69, 0x7a, 0x65, 0x72, 0x2e, 0x67, 0x67, 0x6d, 0x6c,
    0x2e, 0x74, 0x6f, 0x6b, 0x65, 0x6e, 0x5f, 0x74, 0x79, 0x70, 0x65, 0x09, 0x00, 0x00, 0x00, 0x05,
    0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
    };
    char err[512] = "";
    cr_assert_not(accepts(input, sizeof input, err, sizeof err));
    cr_assert(strstr(err, "\\x00\\x00"), "%s", err);
}

/* Names of every length up to past the escape buffer, escaped or not. */
Test(gguf_regression, name_lengths) {
    for (size_t len = 1; len < 140; len++) {
        char name[160];
        for (size_t i = 0; i < len; i++) name[i] = (i % 3 == 2) ? '\x01' : 'k';
        name[len] = 0;
        gb b = {0};
        gb_header(&b, 3, 0, 2);
        gb_kv_u32(&b, name, 1);
        gb_kv_u32(&b, name, 2);
        char err[512] = "";
        cr_assert_not(accepts(b.p, b.len, err, sizeof err));
        cr_assert(strstr(err, "duplicate key"), "%s", err);
        cr_assert(len < 60 || strstr(err, "..."), "long name not shortened: %s", err);
        cr_assert(len > 40 || !strstr(err, "..."), "short name shortened: %s", err);
        free(b.p);
    }
}

/* ------------------------------------------------------------ fuzz seeds */

static void write_file(const char *dir, const char *name, gb b) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    cr_assert(fp, "cannot write %s", path);
    fwrite(b.p, 1, b.len, fp);
    fclose(fp);
    free(b.p);
}

/* Regenerates tests/fuzz/corpus/gguf when WEFT_GGUF_SEED_DIR is set. */
Test(gguf_built, write_fuzz_seeds) {
    const char *dir = getenv("WEFT_GGUF_SEED_DIR");
    if (!dir || !*dir) return;
    write_file(dir, "valid_v3.gguf", build(defaults(3)));
    write_file(dir, "valid_v2.gguf", build(defaults(2)));
    write_file(dir, "valid_v1.gguf", build(defaults(1)));
    opts o = defaults(3);
    o.t_type = GGML_TYPE_Q4_K;
    o.t_ne[0] = 256;
    o.t_ne[1] = 1;
    o.t1_off = 160;
    gb b = build(o);
    gb_fill(&b, 160 - 32, 0); /* room for the 144-byte Q4_K row */
    write_file(dir, "q4k_v3.gguf", b);

    /* Tiny vocabularies, so the fuzzer reaches the tokenizer loader. */
    static const char *const spm[] = {"<unk>", "<s>", "</s>", "<0x41>", "\xe2\x96\x81", "a",
                                      "\xe2\x96\x81" "a"};
    static const float scores[] = {0, 0, 0, 0, -1, -2, -0.5f};
    static const int32_t types[] = {2, 3, 3, 6, 1, 1, 1};
    b = (gb){0};
    gb_header(&b, 3, 0, 4);
    gb_kv_str(&b, "tokenizer.ggml.model", "llama");
    gb_kv_strs(&b, "tokenizer.ggml.tokens", spm, 7);
    gb_kv_f32s(&b, "tokenizer.ggml.scores", scores, 7);
    gb_kv_i32s(&b, "tokenizer.ggml.token_type", types, 7);
    write_file(dir, "vocab_spm.gguf", b);
    static const char *const bpe[] = {"H", "e", "l", "o", "\xc4\xa0", "He", "ll", "<|end|>"};
    static const char *const merges[] = {"H e", "l l"};
    static const int32_t btypes[] = {1, 1, 1, 1, 1, 1, 1, 3};
    b = (gb){0};
    gb_header(&b, 3, 0, 5);
    gb_kv_str(&b, "tokenizer.ggml.model", "gpt2");
    gb_kv_str(&b, "tokenizer.ggml.pre", "llama-bpe");
    gb_kv_strs(&b, "tokenizer.ggml.tokens", bpe, 8);
    gb_kv_strs(&b, "tokenizer.ggml.merges", merges, 2);
    gb_kv_i32s(&b, "tokenizer.ggml.token_type", btypes, 8);
    write_file(dir, "vocab_bpe.gguf", b);
}
