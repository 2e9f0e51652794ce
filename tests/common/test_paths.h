/* Where tests find shared models and test data: $WEFT_MODELS and
 * $WEFT_TESTDATA override the defaults beside the source tree. */
#ifndef WEFT_TEST_PATHS_H
#define WEFT_TEST_PATHS_H
#include <stdio.h>
#include <stdlib.h>

static inline const char *test_models_dir(void) {
    const char *e = getenv("WEFT_MODELS");
    return (e && *e) ? e : WEFT_TEST_MODELS_DIR;
}
static inline const char *test_testdata_dir(void) {
    const char *e = getenv("WEFT_TESTDATA");
    return (e && *e) ? e : WEFT_TEST_TESTDATA_DIR;
}
/* Writes "<models>/<rel>" into buf. */
static inline const char *test_model_path(char *buf, size_t cap, const char *rel) {
    snprintf(buf, cap, "%s/%s", test_models_dir(), rel);
    return buf;
}
/* WEFT_TEST_QUICK=1 (set by .ci/run for the sanitizer run): the heaviest
 * suites use a fifth of their prompts or samples, at least `min`. Memory
 * errors show on any input; the plain run keeps the full counts the proofs
 * need (50 prompts, 20,000 samples). */
static inline long test_quick(long n, long min) {
    const char *e = getenv("WEFT_TEST_QUICK");
    if (!e || *e != '1') return n;
    return n / 5 < min ? min : n / 5;
}
#endif
