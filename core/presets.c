/* Named sampler chains.
 *
 * "llama.cpp" is the chain llama.cpp's CLI builds with default settings
 * (common/common.h, common_params_sampling::samplers and its defaults;
 * common/sampling.cpp, common_sampler_init), in its order:
 *   penalties   last_n 64, repeat 1.0, frequency 0.0, presence 0.0  (off)
 *   dry         multiplier 0.0 (off), base 1.75, allowed_length 2,
 *               penalty_last_n 64, breakers "\n" ":" "\"" "*"
 *   top-n-sigma n -1.0 (off)
 *   top-k       40
 *   typical     p 1.0 (off)
 *   top-p       0.95
 *   min-p       0.05
 *   xtc         probability 0.0 (off), threshold 0.1
 *   temperature 0.8   (llama.cpp's temp-ext with dynatemp range 0)
 * llama.cpp's min_keep 0 is min_keep 1 here: every rule above keeps at
 * least one token either way, so the sets are the same. llama.cpp then draws
 * with its `dist` sampler; in weft the verifier draws. The samplers that are
 * off cost one comparison each, and stay in the chain so that a user who
 * copies it can switch them on in place. */
#include "presets.h"

#include <string.h>

static const char llama_cpp[] =
    "["
    "{\"use\": \"penalties\", \"last_n\": 64, \"repeat\": 1.0, \"frequency\": 0.0, \"presence\": 0.0},"
    "{\"use\": \"dry\", \"multiplier\": 0.0, \"base\": 1.75, \"allowed_length\": 2, \"penalty_last_n\": 64,"
    " \"sequence_breakers\": [\"\\n\", \":\", \"\\\"\", \"*\"]},"
    "{\"use\": \"top-n-sigma\", \"n\": -1.0},"
    "{\"use\": \"top-k\", \"k\": 40},"
    "{\"use\": \"typical\", \"p\": 1.0},"
    "{\"use\": \"top-p\", \"p\": 0.95},"
    "{\"use\": \"min-p\", \"p\": 0.05},"
    "{\"use\": \"xtc\", \"probability\": 0.0, \"threshold\": 0.1},"
    "{\"use\": \"temperature\", \"t\": 0.8}"
    "]";

static const struct {
    const char *name, *json;
} presets[] = {
    {"llama.cpp", llama_cpp},
    {"greedy", "[{\"use\": \"greedy\"}]"},
};

const char *sampler_preset_json(const char *name) {
    for (size_t i = 0; name && i < sizeof presets / sizeof *presets; i++)
        if (strcmp(presets[i].name, name) == 0) return presets[i].json;
    return NULL;
}

const char *sampler_preset_names(void) { return "llama.cpp, greedy"; }
