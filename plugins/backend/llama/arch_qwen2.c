/* Qwen2 / Qwen2.5: llama plus biases on q, k, v and NeoX-style (half-split)
 * RoPE, as in llama.cpp's LLM_ARCH_QWEN2. */
#include "arch.h"

const arch_desc arch_qwen2 = {
    .name = "qwen2",
    .rope = ROPE_NEOX,
    .qkv_bias = true,
    .rope_base = 10000.0f,
    .rms_eps = 1e-6f,
};
