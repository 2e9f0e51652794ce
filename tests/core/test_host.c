/* Host services that plugins call directly: json_parse (ABI 1.1). */
#include <criterion/criterion.h>
#include <string.h>

#include "host.h"

static weft_env *env_new(void) {
    weft_env *env = weft_env_new(NULL, "grammar test");
    cr_assert(env);
    return env;
}

Test(host, json_parse_gives_pointed_nodes) {
    weft_env *env = env_new();
    const weft_host *h = env->host;
    cr_assert(WEFT_HAS_METHOD(h, weft_host, json_parse));
    const char *text = "{\"properties\": {\"a/b\": {\"type\": \"string\"}}, \"items\": [1, true]}";
    const weft_json *root = h->json_parse(env, text, strlen(text), "s.json");
    cr_assert(root);
    cr_assert_eq(h->json_type(root), WEFT_JSON_OBJECT);
    cr_assert_str_eq(h->json_pointer(root), "s.json#");
    const weft_json *ab = h->json_get(h->json_get(root, "properties"), "a/b");
    cr_assert_str_eq(h->json_pointer(ab), "s.json#/properties/a~1b");
    cr_assert_str_eq(h->json_string(h->json_get(ab, "type")), "string");
    const weft_json *items = h->json_get(root, "items");
    cr_assert_eq(h->json_count(items), 2);
    cr_assert_str_eq(h->json_pointer(h->json_item(items, 1)), "s.json#/items/1");
    cr_assert(h->json_bool(h->json_item(items, 1)));
    /* a second document lives beside the first until the env goes */
    const weft_json *two = h->json_parse(env, "[2]", 3, NULL);
    cr_assert(two);
    cr_assert_eq(h->json_number(h->json_item(two, 0)), 2.0);
    cr_assert_str_eq(h->json_string(h->json_get(ab, "type")), "string");
    weft_env_free(env); /* frees both (the ASan run checks) */
}

Test(host, json_parse_names_the_place_of_an_error) {
    weft_env *env = env_new();
    const char *text = "{\n  \"a\": 1,\n  \"b\": ]\n}";
    cr_assert_null(env->host->json_parse(env, text, strlen(text), "bad.json"));
    cr_assert_str_eq(weft_env_error(env), "bad.json:3:8: malformed JSON near byte 19");
    /* the length bounds the text: a valid prefix is not enough */
    weft_env_clear_error(env);
    cr_assert_null(env->host->json_parse(env, "[1, 2]", 4, "cut"));
    cr_assert(strstr(weft_env_error(env), "cut:1:4: malformed JSON"), "%s", weft_env_error(env));
    weft_env_free(env);
}
