/* Quantized KV rows as KIVI stores them (Liu et al. 2024, "KIVI: A
 * Tuning-Free Asymmetric 2bit Quantization for KV Cache"): keys per channel
 * over groups of KVQ_GROUP slots, because key outliers sit in fixed
 * channels; values per token. Codes are asymmetric, x ~ min + code * scale,
 * 8 bits (WEFT_KV_Q8_0) or 4 bits two per byte (WEFT_KV_Q4); scales and
 * minima are fp16. */
#ifndef WEFT_LLAMA_KVQUANT_H
#define WEFT_LLAMA_KVQUANT_H

#include <stddef.h>
#include <stdint.h>
#include <weft/backend.h>

enum { KVQ_GROUP = 32 };

/* Bytes of one quantized row's codes. */
size_t kvq_code_bytes(weft_kv_type t, int head_dim);

/* Keys of one group: rows[0..KVQ_GROUP) of head_dim floats into codes[i];
 * sm gets head_dim fp16 scales then head_dim fp16 minima. */
void kvq_quantize_keys(weft_kv_type t, const float *const *rows, int head_dim, uint8_t *const *codes,
                       uint16_t *sm);
/* One value row; sm gets its fp16 scale and minimum. */
void kvq_quantize_value(weft_kv_type t, const float *row, int head_dim, uint8_t *code, uint16_t *sm);

/* Decodes one row. per_channel: sm holds head_dim scales then head_dim
 * minima (keys), else one scale and one minimum (values). */
void kvq_dequantize(weft_kv_type t, const uint8_t *code, const uint16_t *sm, int per_channel, int head_dim,
                    float *dst);

#endif
