/* streaming: attention sinks plus a recent window (Xiao et al. 2023,
 * "Efficient Streaming Language Models with Attention Sinks"). With
 * reposition (the default) positions are re-assigned inside the cache and
 * keys re-rotated, so generation runs past the trained context. */
#include "evict.h"

static const kvc_method STREAMING = {.signals = WEFT_KV_NEEDS_POSITIONS};

static const weft_param_desc PARAMS[] = {KVC_PARAMS("4", "0", "true")};

static weft_status create(const weft_env *env, const weft_value *args, void **self) {
    return kvc_create(env, args, &STREAMING, self);
}

static const weft_component_desc DESC = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_KV_COMPRESSOR,
    .name = "streaming",
    .version = "1.0",
    .description = "Keep the attention sinks and the most recent entries (StreamingLLM)",
    .params = PARAMS,
    .n_params = WEFT_COUNT_OF(PARAMS),
    .create = create,
    .destroy = kvc_destroy,
    .vtable = &kvc_vtable,
};

static const weft_component_desc *const COMPONENTS[] = {&DESC};
WEFT_PLUGIN_DEFINE(COMPONENTS)
