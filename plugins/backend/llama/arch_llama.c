/* Llama 1/2/3, Mistral, TinyLlama, llama2.c exports: the reference shape. */
#include "arch.h"

const arch_desc arch_llama = {
    .name = "llama",
    .rope = ROPE_NORM,
    .qkv_bias = false,
    .rope_base = 10000.0f,
    .rms_eps = 1e-5f,
};
