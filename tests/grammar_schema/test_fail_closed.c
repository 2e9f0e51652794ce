/* Fail-closed: a keyword the front-end cannot enforce is a compile error
 * naming it and its JSON pointer (RFC 6901 escapes included); with
 * lenient: true the same message becomes a warning and the compilation
 * succeeds. A malformed schema is an error even when lenient. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include <stdio.h>
#include <string.h>

#include "schema_harness.h"

typedef struct refusal {
    const char *schema;
    const char *message; /* the whole error, as an operator reads it */
} refusal;

static const refusal REFUSALS[] = {
    {"{\"properties\": {\"a\": {\"not\": {\"multipleOf\": 3}}}}",
     "/grammar/schema/properties/a/not: keyword 'not' is not supported"},
    {"{\"properties\": {\"a/b~c\": {\"not\": {\"format\": \"email\"}}}}",
     "/grammar/schema/properties/a~1b~0c/not: keyword 'not' is not supported"},
    {"{\"type\": \"array\", \"contains\": {\"type\": \"string\"}}", "/grammar/schema/contains: keyword 'contains' is not supported"},
    {"{\"propertyNames\": {\"format\": \"email\"}}",
     "/grammar/schema/propertyNames: keyword 'propertyNames' is not supported here (only string lengths, patterns and "
     "values)"},
    {"{\"unevaluatedProperties\": false}", "/grammar/schema/unevaluatedProperties: keyword 'unevaluatedProperties' is not supported"},
    {"{\"items\": [{}], \"unevaluatedItems\": false}", "/grammar/schema/unevaluatedItems: keyword 'unevaluatedItems' is not supported"},
    {"{\"$defs\": {\"a\": {\"$dynamicAnchor\": \"a\"}}, \"$dynamicRef\": \"#a\"}",
     "/grammar/schema/$dynamicRef: keyword '$dynamicRef' is not supported"},
    {"{\"type\": \"array\", \"uniqueItems\": true}",
     "/grammar/schema/uniqueItems: keyword 'uniqueItems' is not supported (unless maxItems <= 1)"},
    {"{\"oneOf\": [{\"format\": \"date\"}, {\"pattern\": \"^2\"}]}",
     "/grammar/schema/oneOf: keyword 'oneOf' is not supported here: branches 1 and 0 may both match"},
    {"{\"if\": {\"format\": \"date\"}, \"then\": {\"maxLength\": 2}}",
     "/grammar/schema/if: keyword 'if' is not supported here: its negation cannot be expressed"},
    {"{\"$ref\": \"http://example.com/other.json#/a\"}",
     "/grammar/schema/$ref: $ref 'http://example.com/other.json#/a' is not a reference within this schema (remote "
     "references are not supported)"},
    {"{\"type\": \"number\", \"multipleOf\": 0.3}",
     "/grammar/schema/multipleOf: 'multipleOf' 0.3 is not supported (only integers and powers of ten are)"},
    {"{\"type\": \"integer\", \"multipleOf\": 3, \"maximum\": 1e15}",
     "/grammar/schema/multipleOf: 'multipleOf' 3 is not supported with these bounds"},
    {"{\"type\": \"string\", \"pattern\": \"a\", \"format\": \"json-pointer\"}",
     "/grammar/schema/format: this 'format' together with 'pattern', 'not' or lengths is not supported"},
    {"{\"patternProperties\": {\"a\": {}, \"b\": {}, \"c\": {}, \"d\": {}, \"e\": {\"type\": \"null\"}}}",
     "/grammar/schema/patternProperties/e: more than 4 'patternProperties' are not supported"},
};

Test(fail_closed, unsupported_keywords_name_their_pointer) {
    sh h;
    sh_init(&h);
    for (size_t i = 0; i < sizeof REFUSALS / sizeof REFUSALS[0]; i++) {
        weft_status st = sh_compile(&h, REFUSALS[i].schema, NULL);
        cr_expect_eq(st, WEFT_ERR_UNSUPPORTED, "%s: status %d (%s)", REFUSALS[i].schema, st, sh_error(&h));
        cr_expect_str_eq(sh_error(&h), REFUSALS[i].message, "%s", REFUSALS[i].schema);
        cr_expect_null(h.g);
    }
    sh_free(&h);
}

Test(fail_closed, lenient_warns_and_compiles) {
    sh h;
    sh_init(&h);
    js_options opt = JS_OPTIONS_DEFAULT;
    opt.lenient = true;
    for (size_t i = 0; i < sizeof REFUSALS / sizeof REFUSALS[0]; i++) {
        weft_status st = sh_compile(&h, REFUSALS[i].schema, &opt);
        cr_expect_eq(st, WEFT_OK, "%s: %s", REFUSALS[i].schema, sh_error(&h));
        cr_expect_geq(h.warnings.n, 1, "%s: no warning", REFUSALS[i].schema);
        char expected[1024];
        snprintf(expected, sizeof expected, "%s (ignored: lenient)", REFUSALS[i].message);
        bool found = false;
        for (size_t k = 0; k < h.warnings.n; k++) found |= strcmp(h.warnings.msg[k], expected) == 0;
        cr_expect(found, "%s: warning '%s' missing (first: %s)", REFUSALS[i].schema, expected,
                  h.warnings.n ? h.warnings.msg[0] : "none");
    }
    sh_free(&h);
}

Test(fail_closed, lenient_ignores_only_the_keyword) {
    /* the not is dropped; the type beside it still holds */
    sh h;
    sh_init(&h);
    js_options opt = JS_OPTIONS_DEFAULT;
    opt.lenient = true;
    cr_assert_eq(sh_compile(&h, "{\"type\": \"string\", \"not\": {\"format\": \"date\"}}", &opt), WEFT_OK);
    cr_expect(sh_accepts(&h, "\"2024-01-01\""));
    cr_expect_not(sh_accepts(&h, "1"));
    sh_free(&h);
}

typedef struct malformed {
    const char *schema, *message;
} malformed;

static const malformed MALFORMED[] = {
    {"{\"minLength\": -1}", "/grammar/schema/minLength: 'minLength' must be a non-negative integer"},
    {"{\"type\": \"integr\"}", "/grammar/schema/type: unknown type 'integr'"},
    {"{\"properties\": {\"a\": 3}}", "/grammar/schema/properties/a: a schema must be an object or a boolean"},
    {"{\"$ref\": \"#/definitions/missing\"}", "/grammar/schema/$ref: $ref '#/definitions/missing' does not resolve"},
    {"{\"multipleOf\": 0}", "/grammar/schema/multipleOf: 'multipleOf' must be > 0"},
    {"{\"anyOf\": []}", "/grammar/schema/anyOf: 'anyOf' must be a non-empty array of schemas"},
};

Test(fail_closed, malformed_schemas_fail_even_when_lenient) {
    sh h;
    sh_init(&h);
    js_options opt = JS_OPTIONS_DEFAULT;
    opt.lenient = true;
    for (size_t i = 0; i < sizeof MALFORMED / sizeof MALFORMED[0]; i++) {
        for (int lenient = 0; lenient < 2; lenient++) {
            weft_status st = sh_compile(&h, MALFORMED[i].schema, lenient ? &opt : NULL);
            cr_expect_eq(st, WEFT_ERR_INVALID, "%s: status %d", MALFORMED[i].schema, st);
            cr_expect_str_eq(sh_error(&h), MALFORMED[i].message, "%s", MALFORMED[i].schema);
        }
    }
    sh_free(&h);
}

Test(fail_closed, unknown_formats_are_annotations) {
    /* 2020-12 Validation §7.2.3: a format it does not know, an
     * implementation must not fail on; it is reported as a warning */
    sh h;
    sh_init(&h);
    cr_assert_eq(sh_compile(&h, "{\"type\": \"string\", \"format\": \"int32\"}", NULL), WEFT_OK, "%s", sh_error(&h));
    cr_expect_eq(h.warnings.n, 1);
    cr_expect(sh_accepts(&h, "\"anything\""));
    sh_free(&h);
}

/* ---- adversarial schemas: an error or a grammar, quickly, never a crash
 * or a hang (each of these once overflowed a buffer or the stack, or ran
 * for minutes) ---- */

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* A schema text built by appending pieces (big enough for these tests). */
typedef struct text {
    char *s;
    size_t n;
} text;

static void put(text *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    t->s = realloc(t->s, t->n + (size_t)k + 1);
    cr_assert_not_null(t->s);
    va_start(ap, fmt);
    vsnprintf(t->s + t->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    t->n += (size_t)k;
}

Test(fail_closed, duplicate_keys_are_malformed) {
    /* a key twice: the host reads the first, validators often the last */
    sh h;
    sh_init(&h);
    text t = {0};
    put(&t, "{");
    for (int i = 0; i < 14; i++) put(&t, "%s\"anyOf\": [true]", i ? ", " : "");
    put(&t, "}");
    cr_expect_eq(sh_compile(&h, t.s, NULL), WEFT_ERR_INVALID);
    cr_expect_str_eq(sh_error(&h),
                     "/grammar/schema/anyOf: the key 'anyOf' appears twice in one object (RFC 8259 §4: its meaning is "
                     "ambiguous)");
    cr_expect_eq(sh_compile(&h, "{\"properties\": {\"a\": {\"type\": \"string\"}, \"a\": {\"type\": \"integer\"}}}", NULL),
                 WEFT_ERR_INVALID);
    free(t.s);
    sh_free(&h);
}

Test(fail_closed, long_property_names) {
    sh h;
    sh_init(&h);
    text t = {0};
    char *name = malloc(300001);
    cr_assert_not_null(name);
    memset(name, 'a', 300000);
    name[300000] = 0;
    /* other keys allowed: they must differ from the name, which is refused */
    put(&t, "{\"properties\": {\"%s\": {\"type\": \"integer\"}}}", name);
    cr_expect_eq(sh_compile(&h, t.s, NULL), WEFT_ERR_UNSUPPORTED);
    cr_expect_str_eq(sh_error(&h), "/grammar/schema: a property name or string value of more than 1024 characters is "
                                   "not supported where other keys or values may appear");
    /* no other key: the name is a literal */
    t.n = 0;
    put(&t, "{\"properties\": {\"%s\": {\"type\": \"integer\"}}, \"additionalProperties\": false}", name);
    cr_assert_eq(sh_compile(&h, t.s, NULL), WEFT_OK, "%s", sh_error(&h));
    t.n = 0;
    put(&t, "{\"%s\":1}", name);
    cr_expect(sh_accepts(&h, t.s));
    free(name);
    free(t.s);
    sh_free(&h);
}

Test(fail_closed, compile_time_and_memory_are_bounded) {
    sh h;
    sh_init(&h);
    h.lim.max_ms = 300;
    /* 200 oneOf branches that may overlap: 40,000 subtractions */
    text t = {0};
    put(&t, "{\"oneOf\": [");
    for (int i = 0; i < 200; i++)
        put(&t, "%s{\"properties\": {\"k%d\": {\"type\": \"integer\", \"minimum\": %d}}}", i ? "," : "", i, i);
    put(&t, "]}");
    double t0 = now_ms();
    cr_expect_eq(sh_compile(&h, t.s, NULL), WEFT_ERR_INVALID);
    cr_expect(strstr(sh_error(&h), "than the limit (max_"), "%s", sh_error(&h));
    cr_expect_lt(now_ms() - t0, 3000, "%.0f ms", now_ms() - t0);
    /* one patternProperties regex of 2^15 states against 300 names:
     * compiled once, refused as too large */
    h.lim.max_ms = 0;
    t.n = 0;
    put(&t, "{\"patternProperties\": {\"(a|b)*a(a|b){14}\": {\"type\": \"string\"}}, \"properties\": {");
    for (int i = 0; i < 300; i++) put(&t, "%s\"p%d\": {}", i ? "," : "", i);
    put(&t, "}}");
    t0 = now_ms();
    cr_expect_eq(sh_compile(&h, t.s, NULL), WEFT_ERR_UNSUPPORTED, "%s", sh_error(&h));
    cr_expect_lt(now_ms() - t0, 3000, "%.0f ms", now_ms() - t0);
    /* a pattern with a long length bound: a long chain of product states */
    t0 = now_ms();
    cr_expect_eq(sh_compile(&h, "{\"type\": \"string\", \"pattern\": \"^a\", \"maxLength\": 15000}", NULL),
                 WEFT_ERR_UNSUPPORTED);
    cr_expect_lt(now_ms() - t0, 3000, "%.0f ms", now_ms() - t0);
    free(t.s);
    sh_free(&h);
}

Test(fail_closed, huge_counts_and_long_reference_chains) {
    sh h;
    sh_init(&h);
    /* (n + 1) (max + 1) rules would overflow */
    cr_expect_eq(sh_compile(&h, "{\"properties\": {\"a\": {}}, \"minProperties\": 7, \"maxProperties\": "
                                "9223372036854775813}", NULL),
                 WEFT_ERR_UNSUPPORTED);
    /* 3,000 definitions, each referring to the next: rules, not recursion */
    text t = {0};
    put(&t, "{\"$ref\": \"#/$defs/d0\", \"$defs\": {");
    for (int i = 0; i < 3000; i++)
        put(&t, "\"d%d\": {\"type\": \"array\", \"maxItems\": 1, \"items\": {\"$ref\": \"#/$defs/d%d\"}}, ", i, i + 1);
    put(&t, "\"d3000\": {\"type\": \"integer\"}}}");
    cr_assert_eq(sh_compile(&h, t.s, NULL), WEFT_OK, "%s", sh_error(&h));
    t.n = 0;
    for (int i = 0; i < 3000; i++) put(&t, "[");
    put(&t, "7");
    for (int i = 0; i < 3000; i++) put(&t, "]");
    cr_expect(sh_accepts(&h, t.s));
    t.s[t.n - 1] = 0;
    cr_expect_not(sh_accepts(&h, t.s));
    free(t.s);
    sh_free(&h);
}
