/* weft-grammar-json-schema.so as the host loads it: the descriptor, create
 * from a JSON `schema` parameter, the grammar vtable over a small
 * vocabulary (masks agree with accept, end-of-generation only where the
 * JSON text is complete, fork and rollback), the fail-closed error, the
 * warnings()/warning(i) actions, and schema_file (parsed by the host). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "json_view.h"
#include "plugin_fixture.h"

#define VT(fx) ((const weft_grammar_vtable *)(fx)->desc->vtable)

/* A vocabulary of JSON pieces; the last token ends generation. */
static const char *const PIECES[] = {"{", "}", "\"", "a", ":", "1", "\"a\"", "{\"a\":", "x", " ", ""};
#define N_PIECES (sizeof PIECES / sizeof PIECES[0])
enum { T_OPEN, T_CLOSE, T_QUOTE, T_A, T_COLON, T_ONE, T_KEY, T_OPEN_KEY, T_X, T_SPACE, T_EOS };

typedef struct fixture {
    pf fx;
    cJSON *doc;
    weft_json *view;
    uint32_t len[N_PIECES], attrs[N_PIECES];
    weft_token eog[1];
    weft_vocab vocab;
} fixture;

static weft_status open_with(fixture *f, const char *schema, bool lenient) {
    memset(f, 0, sizeof *f);
    cr_assert(pf_load(&f->fx, WEFT_KIND_GRAMMAR, "json-schema"));
    f->doc = cJSON_Parse(schema);
    cr_assert(f->doc);
    f->view = json_view_build(f->doc, "/grammar/schema");
    pf_arg args[] = {
        {.name = "schema", .value = {.present = true, .u.json = f->view}},
        PF_BOOL("lenient", lenient),
    };
    return pf_create(&f->fx, args, 2);
}

static void set_vocab(fixture *f) {
    for (size_t i = 0; i < N_PIECES; i++) {
        f->len[i] = (uint32_t)strlen(PIECES[i]);
        f->attrs[i] = i == T_EOS ? WEFT_TOKEN_CONTROL | WEFT_TOKEN_EOG : WEFT_TOKEN_NORMAL;
    }
    f->eog[0] = T_EOS;
    f->vocab = (weft_vocab){.struct_size = sizeof f->vocab, .n_vocab = (int32_t)N_PIECES, .bytes = PIECES,
                            .len = f->len, .attrs = f->attrs, .eog = f->eog, .n_eog = 1, .fingerprint = "pieces"};
    cr_assert_eq(VT(&f->fx)->set_vocab(f->fx.self, &f->vocab), WEFT_OK, "%s", pf_error(&f->fx));
}

static void close_fixture(fixture *f) {
    pf_close(&f->fx);
    json_view_free(f->view);
    cJSON_Delete(f->doc);
}

/* The mask as a bit set of pieces. */
static uint32_t mask_of(fixture *f, weft_grammar_state *st) {
    uint32_t m[1] = {0};
    cr_assert_eq(VT(&f->fx)->fill_mask(f->fx.self, st, m), WEFT_OK);
    return m[0];
}

#define BIT(t) (1u << (t))

Test(plugin, descriptor) {
    pf fx;
    cr_assert(pf_load(&fx, WEFT_KIND_GRAMMAR, "json-schema"));
    const char *problem = pf_check_descriptor(fx.desc);
    cr_expect_null(problem, "%s", problem);
    cr_expect_eq(fx.desc->n_actions, 2);
    pf_close(&fx);
}

Test(plugin, masks_follow_the_schema) {
    fixture f;
    cr_assert_eq(open_with(&f, "{\"type\":\"object\",\"properties\":{\"a\":{\"const\":1}},\"required\":[\"a\"],"
                               "\"additionalProperties\":false}",
                           false),
                 WEFT_OK, "%s", pf_error(&f.fx));
    set_vocab(&f);
    const weft_grammar_vtable *vt = VT(&f.fx);
    weft_grammar_state *st;
    cr_assert_eq(vt->state_new(f.fx.self, &st), WEFT_OK);
    /* {"a":1} by the pieces: the mask holds exactly the tokens that fit */
    cr_expect_eq(mask_of(&f, st), BIT(T_OPEN) | BIT(T_OPEN_KEY));
    cr_assert_eq(vt->accept(f.fx.self, st, T_OPEN), WEFT_OK);
    cr_expect_eq(mask_of(&f, st), BIT(T_QUOTE) | BIT(T_KEY));
    cr_expect_eq(vt->accept(f.fx.self, st, T_X), WEFT_ERR_INVALID, "x is not a key");
    cr_assert_eq(vt->accept(f.fx.self, st, T_KEY), WEFT_OK);
    cr_assert_eq(vt->accept(f.fx.self, st, T_COLON), WEFT_OK);
    /* a fork continues on its own */
    weft_grammar_state *fork;
    cr_assert_eq(vt->state_fork(f.fx.self, st, &fork), WEFT_OK);
    cr_assert_eq(vt->accept(f.fx.self, fork, T_ONE), WEFT_OK);
    cr_expect_eq(mask_of(&f, st), BIT(T_ONE));
    cr_assert_eq(vt->accept(f.fx.self, st, T_ONE), WEFT_OK);
    cr_expect_not(vt->is_accepting(f.fx.self, st));
    cr_expect_eq(mask_of(&f, st), BIT(T_CLOSE));
    cr_assert_eq(vt->accept(f.fx.self, st, T_CLOSE), WEFT_OK);
    cr_expect(vt->is_accepting(f.fx.self, st));
    cr_expect_eq(mask_of(&f, st), BIT(T_EOS), "only the end may follow a complete text");
    /* rollback two tokens: back before "1}" */
    cr_assert_eq(vt->rollback(f.fx.self, st, 2), WEFT_OK);
    cr_expect_eq(mask_of(&f, st), BIT(T_ONE));
    vt->state_free(f.fx.self, fork);
    vt->state_free(f.fx.self, st);
    close_fixture(&f);
}

Test(plugin, unsupported_keyword_fails_create) {
    fixture f;
    weft_status st = open_with(&f, "{\"properties\":{\"a\":{\"not\":{\"multipleOf\":3}}}}", false);
    cr_expect_eq(st, WEFT_ERR_UNSUPPORTED);
    cr_expect(strstr(pf_error(&f.fx), "/grammar/schema/properties/a/not: keyword 'not' is not supported"), "%s",
              pf_error(&f.fx));
    close_fixture(&f);
}

Test(plugin, warning_actions) {
    fixture f;
    cr_assert_eq(open_with(&f, "{\"properties\":{\"a\":{\"not\":{\"multipleOf\":3}},\"b\":{\"contains\":{}}}}", true),
                 WEFT_OK, "%s", pf_error(&f.fx));
    const weft_action_desc *count = &f.fx.desc->actions[0], *one = &f.fx.desc->actions[1];
    cr_assert_str_eq(count->name, "warnings");
    cr_assert_str_eq(one->name, "warning");
    int64_t n = ((int64_t(*)(void *))count->fn)(f.fx.self);
    cr_expect_eq(n, 2);
    const char *w0 = ((const char *(*)(void *, int64_t))one->fn)(f.fx.self, 0);
    cr_expect(strstr(w0, "/grammar/schema/properties/a/not: keyword 'not' is not supported"), "%s", w0);
    const char *w9 = ((const char *(*)(void *, int64_t))one->fn)(f.fx.self, 9);
    cr_expect_str_eq(w9, "");
    close_fixture(&f);
}

/* A schema file in the temp folder; returns its path (static). */
static const char *write_schema_file(const char *text) {
    static char path[64];
    snprintf(path, sizeof path, "/tmp/weft-schema-%d.json", (int)getpid());
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

Test(plugin, schema_file) {
    fixture f;
    memset(&f, 0, sizeof f);
    const char *path = write_schema_file("{\"type\": \"object\", \"properties\": {\"a\": {\"const\": 1}},\n"
                                         " \"required\": [\"a\"], \"additionalProperties\": false}\n");
    cr_assert(pf_load(&f.fx, WEFT_KIND_GRAMMAR, "json-schema"));
    cr_assert_eq(pf_create(&f.fx, PF_ARGS(PF_STRING("schema_file", path))), WEFT_OK, "%s", pf_error(&f.fx));
    set_vocab(&f);
    const weft_grammar_vtable *vt = VT(&f.fx);
    weft_grammar_state *st;
    cr_assert_eq(vt->state_new(f.fx.self, &st), WEFT_OK);
    static const weft_token text[] = {T_OPEN_KEY, T_ONE, T_CLOSE};
    for (size_t i = 0; i < 3; i++) cr_assert_eq(vt->accept(f.fx.self, st, text[i]), WEFT_OK, "token %zu", i);
    cr_expect(vt->is_accepting(f.fx.self, st));
    vt->state_free(f.fx.self, st);
    pf_close(&f.fx);
    unlink(path);
}

Test(plugin, schema_file_errors) {
    pf fx;
    cr_assert(pf_load(&fx, WEFT_KIND_GRAMMAR, "json-schema"));
    /* malformed JSON: the host names the line and column */
    const char *path = write_schema_file("{\"type\": \"object\",\n  \"properties\": {\"a\": }\n}\n");
    cr_expect_eq(pf_create(&fx, PF_ARGS(PF_STRING("schema_file", path))), WEFT_ERR_INVALID);
    char expected[128];
    snprintf(expected, sizeof expected, "%s:2:", path);
    cr_expect(strstr(pf_error(&fx), expected), "%s", pf_error(&fx));
    /* a keyword it cannot enforce: the pointer names the file */
    write_schema_file("{\"properties\": {\"a\": {\"not\": {\"multipleOf\": 3}}}}");
    cr_expect_eq(pf_create(&fx, PF_ARGS(PF_STRING("schema_file", path))), WEFT_ERR_UNSUPPORTED);
    snprintf(expected, sizeof expected, "%s#/properties/a/not: keyword 'not' is not supported", path);
    cr_expect(strstr(pf_error(&fx), expected), "%s", pf_error(&fx));
    unlink(path);
    /* a missing file, and neither or both of schema and schema_file */
    cr_expect_eq(pf_create(&fx, PF_ARGS(PF_STRING("schema_file", "/nonexistent/s.json"))), WEFT_ERR_IO);
    cr_expect(strstr(pf_error(&fx), "/nonexistent/s.json: No such file"), "%s", pf_error(&fx));
    cr_expect_eq(pf_create(&fx, PF_NO_ARGS), WEFT_ERR_INVALID);
    cr_expect(strstr(pf_error(&fx), "exactly one of 'schema'"), "%s", pf_error(&fx));
    pf_close(&fx);
}
