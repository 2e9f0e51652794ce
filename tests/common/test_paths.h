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
#endif
