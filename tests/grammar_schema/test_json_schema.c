/* The JSON Schema front-end, keyword by keyword: each case is a schema with
 * instances that validate and instances that do not (by the 2020-12
 * specification, RFC 8259 and the RFCs behind the formats); the grammar
 * must accept exactly the first. Instances are written compactly unless a
 * case says flexible. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_harness.h"

#define MAXI 24

typedef struct kase {
    const char *name;
    const char *schema;
    const char *valid[MAXI];
    const char *invalid[MAXI];
} kase;

static void run(const kase *k, size_t n, const js_options *opt) {
    sh h;
    sh_init(&h);
    for (size_t i = 0; i < n; i++) {
        weft_status st = sh_compile(&h, k[i].schema, opt);
        cr_expect_eq(st, WEFT_OK, "%s: %s", k[i].name, sh_error(&h));
        if (st != WEFT_OK) continue;
        for (size_t j = 0; j < MAXI && k[i].valid[j]; j++)
            cr_expect(sh_accepts(&h, k[i].valid[j]), "%s: rejects valid %s", k[i].name, k[i].valid[j]);
        for (size_t j = 0; j < MAXI && k[i].invalid[j]; j++)
            cr_expect_not(sh_accepts(&h, k[i].invalid[j]), "%s: accepts invalid %s", k[i].name, k[i].invalid[j]);
    }
    sh_free(&h);
}

#define RUN(cases, opt) run(cases, sizeof cases / sizeof cases[0], opt)

Test(json_schema, types_enum_const) {
    static const kase K[] = {
        {"true schema", "true", {"null", "1", "\"x\"", "[1,{}]", "{\"a\":[]}", "-0.5e-3"}, {"", "nul", "[1,]", "{a:1}"}},
        {"false schema", "false", {NULL}, {"null", "{}", "0"}},
        {"type list", "{\"type\":[\"integer\",\"null\",\"boolean\"]}", {"1", "-7", "null", "true", "3.0"},
         {"1.5", "\"1\"", "[]", "{}"}},
        {"integer", "{\"type\":\"integer\"}", {"0", "-0", "12", "12.00"}, {"12.5", "1e2x", "01", "+1", "\"1\""}},
        {"enum", "{\"enum\":[\"a\",1,null,[1,2],{\"k\":true}]}", {"\"a\"", "1", "1.0", "null", "[1,2]", "{\"k\":true}"},
         {"\"b\"", "2", "[2,1]", "{\"k\":false}", "true"}},
        {"enum filtered by type", "{\"type\":\"string\",\"enum\":[\"a\",1]}", {"\"a\""}, {"1"}},
        {"const object any order", "{\"const\":{\"a\":1,\"b\":[true]}}", {"{\"a\":1,\"b\":[true]}", "{\"b\":[true],\"a\":1}"},
         {"{\"a\":1}", "{\"a\":1,\"b\":[true],\"c\":0}"}},
        {"const escapes", "{\"const\":\"q\\\"\\\\\\n\\u0001\"}", {"\"q\\\"\\\\\\n\\u0001\""}, {"\"q\\\"\\\\\\u000a\\u0001\""}},
    };
    RUN(K, NULL);
}

Test(json_schema, strings) {
    static const kase K[] = {
        /* lengths count characters (RFC 8259 §7), an escape is one */
        {"lengths", "{\"type\":\"string\",\"minLength\":2,\"maxLength\":3}",
         {"\"ab\"", "\"abc\"", "\"\\n\\t\"", "\"\xc3\xa9\xc3\xa9\"", "\"\xf0\x9f\x98\x80\xf0\x9f\x98\x80\""},
         {"\"a\"", "\"abcd\"", "\"\xc3\xa9\"", "\"a\nb\""}},
        {"long max", "{\"type\":\"string\",\"maxLength\":1000}", {"\"\"", "\"abc\""}, {"1"}},
        {"pattern unanchored", "{\"type\":\"string\",\"pattern\":\"b+c\"}", {"\"abbcd\"", "\"bc\""}, {"\"ac\"", "\"cb\""}},
        {"pattern anchored", "{\"type\":\"string\",\"pattern\":\"^[0-9]{3}$\"}", {"\"123\""}, {"\"1234\"", "\"12a\""}},
        {"pattern with quote", "{\"pattern\":\"^a\\\"b$\"}", {"\"a\\\"b\""}, {"\"a\"b\"", "\"ab\""}},
        {"pattern with lengths", "{\"type\":\"string\",\"pattern\":\"b\",\"minLength\":2,\"maxLength\":3}",
         {"\"ab\"", "\"bbb\"", "\"\\\"b\""}, {"\"b\"", "\"abcd\"", "\"aa\""}},
        {"two patterns", "{\"allOf\":[{\"pattern\":\"^a\"},{\"pattern\":\"z$\"}]}", {"\"az\"", "\"abcz\""}, {"\"a\"", "\"za\""}},
        {"not pattern", "{\"type\":\"string\",\"not\":{\"pattern\":\"[0-9]\"}}", {"\"abc\"", "\"\""}, {"\"a1\"", "\"9\""}},
        {"not enum with lengths", "{\"maxLength\":2,\"not\":{\"enum\":[\"ab\"]}}", {"\"a\"", "\"ba\""}, {"\"ab\"", "\"abc\""}},
        {"pattern implies lengths", "{\"type\":\"string\",\"pattern\":\"^[a-z]{2,4}$\",\"minLength\":1,\"maxLength\":5}",
         {"\"ab\"", "\"abcd\""}, {"\"a\"", "\"abcde\""}},
        /* `[]` is the empty class (ECMA-262), so no string matches; combining
         * it with maxLength stepped an automaton without byte ranges (a NULL
         * array: undefined behaviour, found by fuzz_schema) */
        {"empty class with maxLength", "{\"type\":\"string\",\"pattern\":\"^[]-z]+!z$\",\"maxLength\":3}", {NULL},
         {"\"]!z\"", "\"a!z\"", "\"\""}},
        /* canonical encoding: each character one way */
        {"canonical", "{\"type\":\"string\"}", {"\"a\\\"\\\\\\b\\f\\n\\r\\t\\u001f/\x7f\""},
         {"\"\\u0041\"", "\"\\/\"", "\"\\u000A\"", "\"\x01\"", "\"\\x\""}},
    };
    RUN(K, NULL);
}

Test(json_schema, formats) {
    static const kase K[] = {
        {"date", "{\"format\":\"date\"}", {"\"2024-02-29\"", "\"2000-02-29\"", "\"1999-12-31\"", "\"2023-04-30\"", "1"},
         {"\"2023-02-29\"", "\"1900-02-29\"", "\"2023-04-31\"", "\"2023-13-01\"", "\"2023-1-01\""}},
        {"date-time", "{\"format\":\"date-time\"}", {"\"1985-04-12T23:20:50.52Z\"", "\"1996-12-19T16:39:57-08:00\""},
         {"\"1985-04-12 23:20:50Z\"", "\"1985-04-12T24:00:00Z\"", "\"1985-04-12T23:20:50\""}},
        {"time", "{\"format\":\"time\"}", {"\"08:30:06Z\"", "\"23:59:59.999+05:30\""}, {"\"8:30:06Z\"", "\"08:60:00Z\""}},
        {"duration", "{\"format\":\"duration\"}", {"\"P4DT12H30M5S\"", "\"PT1M\"", "\"P2W\"", "\"P1Y2M\""},
         {"\"P\"", "\"PT\"", "\"P1W2D\"", "\"4D\""}},
        {"uuid", "{\"format\":\"uuid\"}", {"\"2eb8aa08-aa98-11ea-b4aa-73b441d16380\""},
         {"\"2eb8aa08aa9811eab4aa73b441d16380\"", "\"2eb8aa08-aa98-11ea-b4aa-73b441d1638\""}},
        {"email", "{\"format\":\"email\"}", {"\"joe.bloggs@example.com\"", "\"a+b@x.io\""},
         {"\"joe@\"", "\"@example.com\"", "\"a..b@example.com\"", "\"joe\""}},
        {"hostname", "{\"format\":\"hostname\"}", {"\"www.example.com\"", "\"a-b.c\""}, {"\"-a.com\"", "\"a..b\"", "\"a_b\""}},
        {"ipv4", "{\"format\":\"ipv4\"}", {"\"192.168.0.1\"", "\"0.0.0.0\""}, {"\"256.1.1.1\"", "\"1.2.3\"", "\"01.2.3.4\""}},
        {"ipv6", "{\"format\":\"ipv6\"}", {"\"::1\"", "\"fe80::1:2\"", "\"1:2:3:4:5:6:7:8\"", "\"::ffff:192.0.2.1\""},
         {"\"1:2:3:4:5:6:7:8:9\"", "\"1::2::3\"", "\"12345::\""}},
        {"uri", "{\"format\":\"uri\"}", {"\"http://a.b/c?d#e\"", "\"urn:isbn:0451450523\"", "\"mailto:a@b.c\""},
         {"\"//a.b/c\"", "\"/c\"", "\"http://a b\"", "\"1http:x\""}},
        {"uri-reference", "{\"format\":\"uri-reference\"}", {"\"/c\"", "\"../a?b\"", "\"#f\"", "\"http://x\""}, {"\"a:b c\"", "\"\\\\\""}},
        {"json-pointer", "{\"format\":\"json-pointer\"}", {"\"\"", "\"/a~0b/c~1\"", "\"/\\\"\""}, {"\"a\"", "\"/a~2\""}},
        {"format and pattern", "{\"format\":\"date\",\"pattern\":\"^2024-\"}", {"\"2024-02-29\""}, {"\"2023-01-01\"", "\"2024-13-01\""}},
        {"format and lengths", "{\"format\":\"email\",\"maxLength\":6}", {"\"a@b.co\""}, {"\"ab@c.com\"", "\"abcdef\""}},
        {"regex subset", "{\"format\":\"regex\"}", {"\"abc\"", "\"a\\\\.b\""}, {"\"[\""}},
    };
    RUN(K, NULL);
    /* format-annotation (the default vocabulary) asserts nothing */
    static const kase A[] = {{"annotation", "{\"format\":\"date\"}", {"\"no date\""}, {NULL}}};
    js_options opt = JS_OPTIONS_DEFAULT;
    opt.format_assert = false;
    RUN(A, &opt);
}

Test(json_schema, numbers) {
    static const kase K[] = {
        {"integer range", "{\"type\":\"integer\",\"minimum\":-12,\"maximum\":305}",
         {"-12", "-1", "0", "9", "10", "99", "100", "299", "305", "305.0"}, {"-13", "306", "310", "1000", "-100", "5.5"}},
        {"exclusive", "{\"type\":\"number\",\"exclusiveMinimum\":0.25,\"exclusiveMaximum\":10}",
         {"0.26", "0.250001", "1", "9.999", "9"}, {"0.25", "0.2500", "0.2", "10", "10.0", "-1"}},
        {"draft4 exclusive", "{\"$schema\":\"http://json-schema.org/draft-04/schema#\",\"minimum\":1,\"exclusiveMinimum\":true}",
         {"1.5", "2"}, {"1", "0"}},
        {"negative fractions", "{\"minimum\":-2.5,\"maximum\":-0.5}", {"-2.5", "-1", "-0.5", "-0.75"}, {"-2.6", "-0.4", "0", "1"}},
        {"big bounds", "{\"type\":\"integer\",\"maximum\":9223372036854775807}", {"0", "-99999999999999999999", "9223372036854774784"},
         {"9223372036854775808", "99999999999999999999"}},
        {"multipleOf integer", "{\"type\":\"integer\",\"multipleOf\":7}", {"0", "7", "-14", "700"}, {"1", "15", "-6"}},
        {"multipleOf range", "{\"multipleOf\":5,\"minimum\":0,\"maximum\":20}", {"0", "5", "20"}, {"25", "-5", "3"}},
        {"multipleOf decimal", "{\"type\":\"number\",\"multipleOf\":0.01,\"minimum\":0}", {"0", "1.5", "2.25"}, {"1.001", "-1"}},
    };
    RUN(K, NULL);
}

/* Bounded numbers against an independent oracle: strtod on texts with
 * few significant digits, where binary and decimal order agree. */
Test(json_schema, number_range_oracle) {
    static const char *const SCHEMAS[] = {
        "{\"minimum\":-3.75,\"maximum\":12.5}",
        "{\"exclusiveMinimum\":-1,\"maximum\":0}",
        "{\"minimum\":0.001,\"exclusiveMaximum\":0.1}",
        "{\"type\":\"integer\",\"minimum\":-55,\"exclusiveMaximum\":1000}",
    };
    static const double LO[] = {-3.75, -1, 0.001, -55}, HI[] = {12.5, 0, 0.1, 1000};
    static const bool LO_X[] = {false, true, false, false}, HI_X[] = {false, false, true, true};
    sh h;
    sh_init(&h);
    uint64_t rng = 12345;
    for (size_t s = 0; s < 4; s++) {
        cr_assert_eq(sh_compile(&h, SCHEMAS[s], NULL), WEFT_OK, "%s", sh_error(&h));
        for (int i = 0; i < 400; i++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            int digits = (int)(rng >> 60) % 4;
            double x = ((double)((int64_t)(rng >> 20) % 2400000) - 700000) / 1000.0 / (i % 3 ? 1 : 100);
            char text[64];
            snprintf(text, sizeof text, "%.*f", digits, x);
            double v = strtod(text, NULL);
            bool want = (LO_X[s] ? v > LO[s] : v >= LO[s]) && (HI_X[s] ? v < HI[s] : v <= HI[s]);
            if (s == 3) want = want && floor(v) == v;
            cr_expect_eq(sh_accepts(&h, text), want, "%s: %s", SCHEMAS[s], text);
        }
    }
    sh_free(&h);
}

Test(json_schema, arrays) {
    static const kase K[] = {
        {"items and counts", "{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":1,\"maxItems\":3}",
         {"[1]", "[1,2,3]"}, {"[]", "[1,2,3,4]", "[1,\"a\"]"}},
        {"prefixItems", "{\"prefixItems\":[{\"type\":\"string\"},{\"type\":\"boolean\"}],\"items\":false}",
         {"[]", "[\"a\"]", "[\"a\",true]"}, {"[1]", "[\"a\",true,1]", "[true]"}},
        {"prefixItems then items", "{\"prefixItems\":[{\"const\":0}],\"items\":{\"type\":\"string\"},\"minItems\":2}",
         {"[0,\"a\"]", "[0,\"a\",\"b\"]"}, {"[0]", "[0,1]", "[\"a\",\"b\"]"}},
        {"draft-7 tuple", "{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"items\":[{\"type\":\"null\"}],"
                          "\"additionalItems\":{\"type\":\"integer\"}}",
         {"[null]", "[null,1,2]"}, {"[1]", "[null,\"x\"]"}},
        {"many items", "{\"type\":\"array\",\"maxItems\":100,\"minItems\":40}",
         {"[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]"}, {"[1,1]"}},
        {"uniqueItems trivially", "{\"uniqueItems\":true,\"maxItems\":1}", {"[]", "[1]"}, {"[1,1]"}},
    };
    RUN(K, NULL);
}

Test(json_schema, objects) {
    static const kase K[] = {
        {"required and optional, any order",
         "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":\"string\"}},\"required\":[\"a\"],"
         "\"additionalProperties\":false}",
         {"{\"a\":1}", "{\"a\":1,\"b\":\"x\"}", "{\"b\":\"x\",\"a\":1}"}, {"{}", "{\"b\":\"x\"}", "{\"a\":1,\"c\":2}", "{\"a\":\"1\"}"}},
        {"additional by default", "{\"properties\":{\"a\":{\"type\":\"integer\"}}}",
         {"{}", "{\"x\":[1]}", "{\"a\":1,\"x\":null}", "{\"x\":null,\"a\":1}", "{\"ab\":\"s\"}", "\"not an object\""},
         {"{\"a\":\"1\"}", "{\"x\":1,\"a\":\"1\"}"}},
        {"additional schema", "{\"properties\":{\"a\":{}},\"additionalProperties\":{\"type\":\"boolean\"}}",
         {"{\"a\":1,\"b\":true}"}, {"{\"b\":1}"}},
        {"patternProperties", "{\"patternProperties\":{\"^x-\":{\"type\":\"integer\"}},\"additionalProperties\":false}",
         {"{}", "{\"x-a\":1,\"x-b\":2}"}, {"{\"x-a\":\"1\"}", "{\"y\":1}"}},
        {"declared and patterns", "{\"properties\":{\"y\":{\"minimum\":5}},\"patternProperties\":{\"^x\":{\"type\":\"integer\"}},"
                                  "\"additionalProperties\":false}",
         {"{\"y\":6}", "{\"x1\":1,\"y\":5.5}", "{\"y\":5,\"xa\":2}"}, {"{\"y\":4}", "{\"x1\":1.5}", "{\"z\":1}"}},
        {"pattern meets declared", "{\"properties\":{\"x1\":{\"minimum\":5}},\"patternProperties\":{\"^x\":{\"type\":\"integer\"}},"
                                   "\"additionalProperties\":false}",
         {"{\"x1\":6}", "{\"x2\":1,\"x1\":5}"}, {"{\"x1\":6.5}", "{\"x1\":4}", "{\"y\":1}"}},
        {"patterns and additional", "{\"patternProperties\":{\"^a\":{\"type\":\"integer\"},\"b$\":{\"minimum\":3}},"
                                    "\"additionalProperties\":{\"type\":\"string\"}}",
         {"{\"a1\":1,\"xb\":4,\"ab\":3,\"z\":\"s\"}", "{}"},
         {"{\"a1\":\"s\"}", "{\"xb\":2}", "{\"ab\":3.5}", "{\"ab\":2}", "{\"z\":1}"}},
        {"propertyNames", "{\"properties\":{\"abcd\":{},\"ab\":{}},\"propertyNames\":{\"maxLength\":3,\"pattern\":\"^[a-z]\"}}",
         {"{}", "{\"ab\":1,\"xyz\":2}", "{\"a\":null}"}, {"{\"abcd\":1}", "{\"wxyz\":1}", "{\"1\":1}"}},
        {"propertyNames enum", "{\"propertyNames\":{\"enum\":[\"a\",\"b\"]}}", {"{\"a\":1,\"b\":2}", "{}"}, {"{\"c\":1}"}},
        {"min/maxProperties", "{\"minProperties\":1,\"maxProperties\":2}", {"{\"a\":1}", "{\"a\":1,\"b\":2}"},
         {"{}", "{\"a\":1,\"b\":2,\"c\":3}"}},
        {"escaped names", "{\"properties\":{\"a\\\"b\":{\"type\":\"null\"}},\"required\":[\"a\\\"b\"]}", {"{\"a\\\"b\":null}"},
         {"{\"a\\\"b\":1}", "{}"}},
        {"required undeclared", "{\"required\":[\"k\"],\"additionalProperties\":{\"type\":\"string\"}}", {"{\"k\":\"v\"}"},
         {"{\"k\":1}", "{}"}},
    };
    RUN(K, NULL);
}

Test(json_schema, applicators) {
    static const kase K[] = {
        {"allOf merge", "{\"allOf\":[{\"properties\":{\"a\":{\"type\":\"integer\"}},\"required\":[\"a\"]},"
                        "{\"properties\":{\"a\":{\"minimum\":3},\"b\":{\"type\":\"string\"}}}]}",
         {"{\"a\":3}", "{\"a\":4,\"b\":\"x\"}", "{\"b\":\"x\",\"a\":4}"}, {"{\"a\":2}", "{\"a\":3.5}", "{\"b\":\"x\"}"}},
        {"anyOf", "{\"anyOf\":[{\"type\":\"string\",\"maxLength\":1},{\"type\":\"integer\"}]}", {"\"a\"", "5"}, {"\"ab\"", "1.5"}},
        {"oneOf disjoint", "{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"number\"}]}", {"\"a\"", "1"}, {"null"}},
        {"oneOf made exclusive", "{\"type\":\"object\",\"oneOf\":[{\"required\":[\"a\"]},{\"required\":[\"b\"]}]}",
         {"{\"a\":1}", "{\"b\":1}"}, {"{\"a\":1,\"b\":1}", "{}"}},
        {"not", "{\"not\":{\"type\":\"string\"}}", {"1", "null", "{}"}, {"\"a\""}},
        {"not integer", "{\"not\":{\"type\":\"integer\"}}", {"1.5", "-0.25", "\"1\"", "null"}, {"1", "2.0", "-3"}},
        {"oneOf integer or small", "{\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"number\",\"maximum\":0}]}",
         {"5", "-0.5"}, {"-1", "0", "1.5"}},
        {"not enum", "{\"type\":\"string\",\"not\":{\"enum\":[\"ab\",\"b\"]}}", {"\"a\"", "\"abc\"", "\"\"", "\"ba\""},
         {"\"ab\"", "\"b\""}},
        {"if then else", "{\"if\":{\"properties\":{\"k\":{\"const\":1}},\"required\":[\"k\"]},\"then\":{\"required\":[\"t\"]},"
                         "\"else\":{\"required\":[\"e\"]}}",
         {"{\"k\":1,\"t\":0}", "{\"k\":2,\"e\":0}", "{\"e\":0}"}, {"{\"k\":1,\"e\":0}", "{\"k\":2,\"t\":0}"}},
        {"dependentRequired", "{\"dependentRequired\":{\"a\":[\"b\"]}}", {"{}", "{\"b\":1}", "{\"a\":1,\"b\":1}"}, {"{\"a\":1}"}},
        {"ref and defs", "{\"$defs\":{\"n\":{\"type\":\"integer\"}},\"properties\":{\"x\":{\"$ref\":\"#/$defs/n\"}}}",
         {"{\"x\":1}"}, {"{\"x\":\"1\"}"}},
        {"pointer escapes", "{\"definitions\":{\"a/b\":{\"const\":1},\"c~d\":{\"const\":2},\"e%f\":{\"const\":3}},"
                            "\"anyOf\":[{\"$ref\":\"#/definitions/a~1b\"},{\"$ref\":\"#/definitions/c~0d\"},"
                            "{\"$ref\":\"#/definitions/e%25f\"}]}",
         {"1", "2", "3"}, {"4"}},
        {"recursion", "{\"type\":\"object\",\"properties\":{\"next\":{\"$ref\":\"#\"},\"v\":{\"type\":\"integer\"}},"
                      "\"additionalProperties\":false}",
         {"{}", "{\"next\":{\"next\":{\"v\":1}}}"}, {"{\"next\":{\"v\":\"1\"}}", "{\"next\":1}"}},
        {"recursive intersection", "{\"$defs\":{\"a\":{\"type\":\"object\",\"properties\":{\"x\":{\"$ref\":\"#/$defs/a\"},"
                                   "\"v\":{\"type\":\"integer\"}}},\"b\":{\"properties\":{\"x\":{\"$ref\":\"#/$defs/b\"},"
                                   "\"v\":{\"minimum\":0}}}},\"allOf\":[{\"$ref\":\"#/$defs/a\"},{\"$ref\":\"#/$defs/b\"}]}",
         {"{\"x\":{\"v\":1}}", "{\"x\":{\"x\":{\"v\":0}},\"v\":2}"}, {"{\"x\":{\"v\":-1}}", "{\"x\":{\"x\":{\"v\":1.5}}}", "1"}},
        {"anchor", "{\"$defs\":{\"x\":{\"$anchor\":\"pos\",\"minimum\":0}},\"$ref\":\"#pos\"}", {"0", "5"}, {"-1"}},
    };
    RUN(K, NULL);
}

Test(json_schema, whitespace) {
    static const kase FLEX[] = {
        {"flexible", "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"array\"}}}",
         {"{\"a\": [1, 2]}", " {\n  \"a\" : [ ]\n} ", "{}"}, {"{\"a\" [1]}", "{ , }"}},
    };
    js_options flex = sh_flexible();
    RUN(FLEX, &flex);
    static const kase COMPACT[] = {{"compact", "{\"type\":\"array\"}", {"[1,2]", "[]"}, {"[1, 2]", " []", "[ ]"}}};
    RUN(COMPACT, NULL);
    static const kase BOUND[] = {{"bounded", "{\"type\":\"array\"}", {"[  1]", "[1,  2]"}, {"[   1]"}}};
    flex.max_whitespace = 2;
    RUN(BOUND, &flex);
}

Test(json_schema, strict_properties) {
    static const kase K[] = {
        {"strict", "{\"properties\":{\"a\":{}}}", {"{\"a\":1}", "{}"}, {"{\"b\":1}"}},
    };
    js_options opt = JS_OPTIONS_DEFAULT;
    opt.strict_properties = true;
    RUN(K, &opt);
}
