/* Host services that plugins call directly: json_parse and shared (ABI
 * 1.1); warnings counted for the run statistics. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* ---- shared (ABI 1.1) ---- */

typedef struct made {
    int n_made, n_destroyed;
} made;

static made counts;

static void *make_int(void *arg) {
    __atomic_fetch_add(&counts.n_made, 1, __ATOMIC_SEQ_CST);
    struct timespec ts = {0, 2000000}; /* long enough for concurrent callers to wait */
    nanosleep(&ts, NULL);
    int *x = malloc(sizeof *x);
    *x = *(int *)arg;
    return x;
}

static void destroy_int(void *obj) {
    counts.n_destroyed++;
    free(obj);
}

static void *make_nothing(void *arg) {
    (void)arg;
    return NULL;
}

Test(host, shared_makes_one_object_per_key) {
    counts = (made){0};
    weft_runtime *rt = weft_runtime_new(1);
    weft_env *a = weft_env_new(rt, "grammar a"), *b = weft_env_new(rt, "grammar b");
    const weft_host *h = a->host;
    cr_assert(WEFT_HAS_METHOD(h, weft_host, shared));
    int one = 1, two = 2;
    int *x = h->shared(a, "k/1", make_int, &one, destroy_int);
    int *y = h->shared(b, "k/1", make_int, &two, destroy_int); /* another instance, same key */
    int *z = h->shared(b, "k/2", make_int, &two, destroy_int);
    cr_assert(x && x == y, "the same key gives the same object");
    cr_assert_eq(*y, 1, "made by the first caller");
    cr_assert(z && z != x && *z == 2);
    cr_assert_eq(counts.n_made, 2);
    /* a failed make keeps nothing: the next caller makes it */
    cr_assert_null(h->shared(a, "k/3", make_nothing, NULL, destroy_int));
    cr_assert_not_null(h->shared(a, "k/3", make_int, &one, destroy_int));
    cr_assert_eq(weft_shared_store_count(rt->shared, "k/"), 3);
    weft_env *bare = weft_env_new(NULL, "no runtime"); /* nowhere to keep it: build a private copy */
    cr_assert_null(h->shared(bare, "k/1", make_int, &one, destroy_int));
    weft_env_free(bare);
    weft_env_free(a);
    weft_env_free(b);
    cr_assert_eq(counts.n_destroyed, 0, "objects outlive the instances");
    weft_runtime_free(rt);
    cr_assert_eq(counts.n_destroyed, 3, "and go with the store");
}

typedef struct race {
    weft_env *env;
    int *got;
} race;

static void *racer(void *arg) {
    race *r = arg;
    static int seven = 7;
    r->got = r->env->host->shared(r->env, "race", make_int, &seven, destroy_int);
    return NULL;
}

Test(host, shared_is_made_once_under_concurrent_callers) {
    counts = (made){0};
    weft_runtime *rt = weft_runtime_new(1);
    enum { N = 8 };
    pthread_t t[N];
    race r[N];
    for (int i = 0; i < N; i++) {
        r[i] = (race){.env = weft_env_new(rt, "racer")};
        pthread_create(&t[i], NULL, racer, &r[i]);
    }
    for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < N; i++) {
        cr_assert(r[i].got && r[i].got == r[0].got);
        weft_env_free(r[i].env);
    }
    cr_assert_eq(counts.n_made, 1);
    weft_runtime_free(rt);
    cr_assert_eq(counts.n_destroyed, 1);
}

/* ---- warnings, for the run statistics ---- */

Test(host, warnings_are_counted_per_runtime_whatever_the_level) {
    weft_runtime *rt = weft_runtime_new(1);
    rt->log_level = WEFT_LOG_ERROR; /* not printed, still counted */
    weft_env *a = weft_env_new(rt, "grammar 'json-schema' (/grammar)"), *b = weft_env_new(rt, "sampler 'x' (/samplers/0)");
    a->host->log(a, WEFT_LOG_WARN, "keyword '%s' ignored", "dependentSchemas");
    a->host->log(a, WEFT_LOG_INFO, "not a warning");
    b->host->log(b, WEFT_LOG_WARN, "odd");
    for (int i = 0; i < WEFT_RUNTIME_KEPT_WARNINGS; i++) b->host->log(b, WEFT_LOG_WARN, "more %d", i);
    weft_stats st = {0};
    cr_assert(weft_runtime_warnings_to_stats(rt, &st));
    cr_assert_eq(st.n_warnings, 2 + WEFT_RUNTIME_KEPT_WARNINGS);
    cr_assert_eq(st.n_kept, WEFT_RUNTIME_KEPT_WARNINGS);
    cr_assert_str_eq(st.warnings[0].component, "grammar 'json-schema' (/grammar)");
    cr_assert_str_eq(st.warnings[0].message, "keyword 'dependentSchemas' ignored");
    cr_assert_str_eq(st.warnings[1].component, "sampler 'x' (/samplers/0)");
    char *json = weft_stats_json(&st);
    cr_assert(strstr(json, "\"warnings\":34"), "%s", json);
    cr_assert(strstr(json, "{\"component\":\"grammar 'json-schema' (/grammar)\",\"message\":\"keyword 'dependentSchemas' "
                           "ignored\"}"), "%s", json);
    free(json);
    free((void *)st.warnings);
    /* a request starts again from the first ones */
    weft_runtime_warnings_truncate(rt, 1);
    st = (weft_stats){0};
    cr_assert(weft_runtime_warnings_to_stats(rt, &st));
    cr_assert_eq(st.n_warnings, 1);
    cr_assert_eq(st.n_kept, 1);
    free((void *)st.warnings);
    weft_env_free(a);
    weft_env_free(b);
    weft_runtime_free(rt);
}
