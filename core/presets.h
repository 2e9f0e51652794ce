/* Named sampler chains, so a pipeline can say "samplers": "llama.cpp". */
#ifndef WEFT_CORE_PRESETS_H
#define WEFT_CORE_PRESETS_H

/* The JSON array text of the named chain, or NULL for an unknown name. The
 * text is static. Names: "llama.cpp" (llama.cpp's default CLI chain, order
 * and values) and "greedy". */
__attribute__((visibility("default"))) const char *sampler_preset_json(const char *name);

/* The known names, comma-separated, for error messages. */
__attribute__((visibility("default"))) const char *sampler_preset_names(void);

#endif
