/* streaming: attention sinks plus a recent window (Xiao et al. 2023,
 * "Efficient Streaming Language Models with Attention Sinks"). With
 * reposition (the default) positions are re-assigned inside the cache and
 * keys re-rotated, so generation runs past the trained context. */
#include "evict.h"

static const kvc_method STREAMING = {.signals = WEFT_KV_NEEDS_POSITIONS};

KVC_DEFINE_PLUGIN("streaming",
                  "Keep the attention sinks and the most recent entries (StreamingLLM)",
                  STREAMING, "4", "0", "true")
