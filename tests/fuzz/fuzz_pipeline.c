/* libFuzzer target: pipeline JSON parsing and validation against the
 * builtin plugins' declared parameters (weft_pipeline_check). */
#include <stdint.h>
#include <stdlib.h>

#include <weft/weft.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static weft_registry *reg; /* loaded once: plugins are immutable after load */
    if (!reg) {
        reg = weft_registry_new();
        weft_registry_scan(reg, WEFT_BUILD_PLUGIN_DIR, NULL, 0);
    }
    char err[WEFT_ERR_CAP];
    weft_options opt = {.models_dir = WEFT_TEST_MODELS_DIR};
    weft_pipeline_check(reg, (const char *)data, size, "fuzz.json", &opt, err, sizeof err);
    return 0;
}
