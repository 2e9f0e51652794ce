/* The Markov test backend itself (tests/markov/markov.c): every other core
 * test trusts it, so its tokenizer, tree evaluation, position checks, KV
 * rollback and context limit are checked here against markov_logits. */
#include <criterion/criterion.h>
#include <string.h>

#include "core_harness.h"
#include "host.h"
#include "markov_model.h"

typedef struct mk {
    weft_registry *reg;
    const weft_component_desc *desc;
    const weft_backend_vtable *vt;
    weft_runtime *rt;
    weft_env *env;
    void *self;
} mk;

static void mk_open(mk *m, int64_t n_vocab, int64_t n_ctx) {
    memset(m, 0, sizeof *m);
    m->reg = weft_registry_new();
    char path[1024], err[WEFT_ERR_CAP] = "";
    cr_assert_eq(weft_registry_load(m->reg, th_fixture_path(path, sizeof path, "weft-backend-markov.so"), err, sizeof err),
                 WEFT_OK, "%s", err);
    m->desc = weft_registry_find(m->reg, WEFT_KIND_BACKEND, "markov")->desc;
    m->vt = m->desc->vtable;
    weft_value args[8] = {0};
    cr_assert_leq(m->desc->n_params, 8);
    for (size_t i = 0; i < m->desc->n_params; i++) {
        const char *n = m->desc->params[i].name;
        args[i].present = true;
        if (!strcmp(n, "n_vocab")) args[i].u.i = n_vocab;
        else if (!strcmp(n, "n_ctx")) args[i].u.i = n_ctx;
        else if (!strcmp(n, "seed")) args[i].u.i = 1;
        else if (!strcmp(n, "sharpness")) args[i].u.d = 3;
        else if (!strcmp(n, "eos_logit")) args[i].u.d = -4;
        else if (!strcmp(n, "n_layers")) args[i].u.i = 1;
        else cr_assert_fail("unexpected parameter %s", n);
    }
    m->rt = weft_runtime_new(1);
    m->env = weft_env_new(m->rt, "backend markov");
    cr_assert_eq(m->desc->create(m->env, args, &m->self), WEFT_OK, "%s", weft_env_error(m->env));
}

static void mk_close(mk *m) {
    m->desc->destroy(m->self);
    weft_env_free(m->env);
    weft_runtime_free(m->rt);
    weft_registry_free(m->reg);
}

static int64_t mk_action(mk *m, const char *name) {
    for (size_t i = 0; i < m->desc->n_actions; i++)
        if (!strcmp(m->desc->actions[i].name, name)) return ((int64_t(*)(void *))m->desc->actions[i].fn)(m->self);
    cr_assert_fail("no action %s", name);
    return -1;
}

/* The token of a character, independently of the backend's tokenizer. */
static weft_token T(char c) { return (weft_token)(strchr(markov_alphabet(), c) - markov_alphabet()) + 2; }

static void expect_row(const float *row, int32_t a, int32_t b, int32_t nv) {
    float want[MARKOV_MAX_VOCAB];
    markov_logits(1, 3, -4, nv, a, b, want);
    for (int32_t t = 0; t < nv; t++)
        cr_assert(row[t] == want[t], "logit %d after (%d, %d): %g, expected %g", t, a, b, row[t], want[t]);
}

Test(markov, info_and_tokenizer) {
    mk m;
    mk_open(&m, 16, 64);
    const weft_model_info *info = m.vt->info(m.self);
    cr_assert_eq(info->n_vocab, 16);
    cr_assert_eq(info->n_ctx, 64);
    cr_assert_eq(info->bos, 0);
    cr_assert_eq(info->eos, 1);
    weft_token ids[8];
    size_t n = 0;
    cr_assert_eq(m.vt->tokenize(m.self, "abn", 3, true, false, ids, 8, &n), WEFT_OK);
    cr_assert_eq(n, 4);
    weft_token want[] = {0, T('a'), T('b'), T('n')};
    cr_assert_arr_eq(ids, want, sizeof want);
    /* short buffer: the count needed, and an error */
    cr_assert_eq(m.vt->tokenize(m.self, "abn", 3, true, false, ids, 2, &n), WEFT_ERR_INVALID);
    cr_assert_eq(n, 4);
    /* 'o' is the 15th character: outside a 16-token vocabulary */
    cr_assert_eq(m.vt->tokenize(m.self, "ao", 2, false, false, ids, 8, &n), WEFT_ERR_INVALID);
    cr_assert_str_eq(weft_env_error(m.env), "byte 0x6f at offset 1 is not in the vocabulary (n_vocab 16: \"abcdefghijklmn\")");
    char buf[8];
    size_t len;
    cr_assert_eq(m.vt->token_bytes(m.self, T('k'), false, buf, sizeof buf, &len), WEFT_OK);
    cr_assert(len == 1 && buf[0] == 'k');
    cr_assert_eq(m.vt->token_bytes(m.self, 1, false, buf, sizeof buf, &len), WEFT_OK);
    cr_assert_eq(len, 0);
    cr_assert_eq(m.vt->token_bytes(m.self, 1, true, buf, sizeof buf, &len), WEFT_OK);
    cr_assert(len == 4 && !memcmp(buf, "</s>", 4));
    cr_assert_eq(m.vt->token_bytes(m.self, 16, false, buf, sizeof buf, &len), WEFT_ERR_INVALID);
    cr_assert(m.vt->token_attr(m.self, 1) & WEFT_TOKEN_EOG);
    cr_assert(!(m.vt->token_attr(m.self, 0) & WEFT_TOKEN_EOG));
    cr_assert_eq(m.vt->token_attr(m.self, 5), WEFT_TOKEN_NORMAL);
    mk_close(&m);
}

/* A tree's rows follow their parents; kv_keep of a path makes the cache that
 * path, and the next batch continues from its last token. */
Test(markov, tree_eval_and_keep) {
    mk m;
    mk_open(&m, 16, 64);
    const int32_t nv = 16;
    weft_token pre[] = {0, T('a'), T('b')};
    weft_batch b = {.struct_size = sizeof b, .n_tokens = 3, .tokens = pre};
    cr_assert_eq(m.vt->eval(m.self, &b), WEFT_OK, "%s", weft_env_error(m.env));
    /* root c; d and e under it; f under e */
    weft_token tok[] = {T('c'), T('d'), T('e'), T('f')};
    int32_t par[] = {-1, 0, 0, 2}, pos[] = {3, 4, 4, 5}, rows[] = {0, 1, 2, 3};
    float logits[4 * 16];
    weft_batch t = {.struct_size = sizeof t, .n_tokens = 4, .tokens = tok, .positions = pos, .parents = par,
                    .n_out = 4, .out_rows = rows, .logits = logits};
    cr_assert_eq(m.vt->eval(m.self, &t), WEFT_OK, "%s", weft_env_error(m.env));
    expect_row(logits + 0 * nv, T('b'), T('c'), nv);
    expect_row(logits + 1 * nv, T('c'), T('d'), nv);
    expect_row(logits + 2 * nv, T('c'), T('e'), nv);
    expect_row(logits + 3 * nv, T('e'), T('f'), nv);
    cr_assert_eq(m.vt->kv_len(m.self), 7);
    /* an unresolved tree may not be extended */
    weft_token g = T('g');
    int32_t gpos = 6;
    weft_batch next = {.struct_size = sizeof next, .n_tokens = 1, .tokens = &g, .positions = &gpos,
                       .n_out = 1, .out_rows = rows, .logits = logits};
    cr_assert_eq(m.vt->eval(m.self, &next), WEFT_ERR_INVALID);
    /* keeping rows that are not a path is refused, the cache unchanged */
    int32_t not_path[] = {0, 1, 3};
    cr_assert_eq(m.vt->kv_keep(m.self, 4, not_path, 3), WEFT_ERR_INVALID);
    cr_assert_eq(m.vt->kv_len(m.self), 7);
    int32_t path[] = {0, 2, 3};
    cr_assert_eq(m.vt->kv_keep(m.self, 4, path, 3), WEFT_OK, "%s", weft_env_error(m.env));
    cr_assert_eq(m.vt->kv_len(m.self), 6);
    cr_assert_eq(m.vt->eval(m.self, &next), WEFT_OK, "%s", weft_env_error(m.env));
    expect_row(logits, T('f'), T('g'), nv);
    /* roll back to the prefix and branch differently */
    cr_assert_eq(m.vt->kv_keep(m.self, 4, NULL, 0), WEFT_OK);
    cr_assert_eq(m.vt->kv_len(m.self), 3);
    weft_token h = T('h');
    weft_batch after = {.struct_size = sizeof after, .n_tokens = 1, .tokens = &h, .n_out = 1, .out_rows = rows,
                        .logits = logits};
    cr_assert_eq(m.vt->eval(m.self, &after), WEFT_OK, "%s", weft_env_error(m.env));
    expect_row(logits, T('b'), T('h'), nv);
    cr_assert_eq(mk_action(&m, "eval_count"), 4);
    cr_assert_eq(mk_action(&m, "eval_tokens"), 3 + 4 + 1 + 1);
    mk_close(&m);
}

Test(markov, first_token_has_no_predecessor) {
    mk m;
    mk_open(&m, 8, 16);
    weft_token tok = 0;
    int32_t row = 0;
    float logits[8];
    weft_batch b = {.struct_size = sizeof b, .n_tokens = 1, .tokens = &tok, .n_out = 1, .out_rows = &row,
                    .logits = logits};
    cr_assert_eq(m.vt->eval(m.self, &b), WEFT_OK);
    expect_row(logits, -1, 0, 8);
    cr_assert(logits[MARKOV_BOS] == -INFINITY, "BOS is never predicted");
    cr_assert(logits[MARKOV_EOS] == -4.0f);
    mk_close(&m);
}

Test(markov, positions_and_parents_are_checked) {
    mk m;
    mk_open(&m, 16, 64);
    weft_token tok[] = {0, T('a'), T('b')};
    int32_t bad_pos[] = {0, 1, 1};
    weft_batch b = {.struct_size = sizeof b, .n_tokens = 3, .tokens = tok, .positions = bad_pos};
    cr_assert_eq(m.vt->eval(m.self, &b), WEFT_ERR_INVALID);
    cr_assert_str_eq(weft_env_error(m.env), "eval: row 2 has position 1, but the token before it is at 1");
    cr_assert_eq(m.vt->kv_len(m.self), 0, "a refused batch leaves the cache as it was");
    int32_t bad_par[] = {-1, 1, 0};
    b = (weft_batch){.struct_size = sizeof b, .n_tokens = 3, .tokens = tok, .parents = bad_par};
    cr_assert_eq(m.vt->eval(m.self, &b), WEFT_ERR_INVALID);
    cr_assert_eq(m.vt->kv_len(m.self), 0);
    weft_token bad_tok[] = {0, 16};
    b = (weft_batch){.struct_size = sizeof b, .n_tokens = 2, .tokens = bad_tok};
    cr_assert_eq(m.vt->eval(m.self, &b), WEFT_ERR_INVALID);
    int32_t rows[] = {1, 0};
    float logits[2 * 16];
    b = (weft_batch){.struct_size = sizeof b, .n_tokens = 3, .tokens = tok, .n_out = 2, .out_rows = rows,
                     .logits = logits};
    cr_assert_eq(m.vt->eval(m.self, &b), WEFT_ERR_INVALID, "out_rows must ascend");
    cr_assert_eq(m.vt->kv_len(m.self), 0);
    mk_close(&m);
}

Test(markov, context_full_leaves_the_cache) {
    mk m;
    mk_open(&m, 16, 8);
    weft_token tok[9] = {0, 2, 3, 4, 5, 6, 7, 8, 9};
    weft_batch b = {.struct_size = sizeof b, .n_tokens = 9, .tokens = tok};
    cr_assert_eq(m.vt->eval(m.self, &b), WEFT_ERR_CONTEXT_FULL);
    cr_assert_eq(m.vt->kv_len(m.self), 0);
    b.n_tokens = 8;
    cr_assert_eq(m.vt->eval(m.self, &b), WEFT_OK);
    b.n_tokens = 1;
    b.tokens = tok + 8;
    cr_assert_eq(m.vt->eval(m.self, &b), WEFT_ERR_CONTEXT_FULL);
    cr_assert_eq(m.vt->kv_len(m.self), 8);
    cr_assert_eq(m.vt->kv_keep(m.self, 9, NULL, 0), WEFT_ERR_INVALID, "cannot drop more than it holds");
    mk_close(&m);
}
