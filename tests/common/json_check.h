/* Criterion checks on JSON reports (cJSON): a missing key or a value of
 * the wrong type fails the test with the key's name. */
#ifndef WEFT_TEST_JSON_CHECK_H
#define WEFT_TEST_JSON_CHECK_H

#include <cjson/cJSON.h>
#include <criterion/criterion.h>

static inline const cJSON *json_get(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert_not_null(v, "no \"%s\" in the report", key);
    return v;
}

static inline double json_num(const cJSON *o, const char *key) {
    const cJSON *v = json_get(o, key);
    cr_assert(cJSON_IsNumber(v), "\"%s\" is not a number", key);
    return v->valuedouble;
}

static inline const char *json_str(const cJSON *o, const char *key) {
    const cJSON *v = json_get(o, key);
    cr_assert(cJSON_IsString(v), "\"%s\" is not a string", key);
    return v->valuestring;
}

#endif
