/* KIVI-style asymmetric KV quantization (see kvquant.h). */
#include "kvquant.h"

#include <math.h>

#include "kernels.h"

static int levels(weft_kv_type t) { return t == WEFT_KV_Q4 ? 15 : 255; }

size_t kvq_code_bytes(weft_kv_type t, int head_dim) {
    return t == WEFT_KV_Q4 ? (size_t)(head_dim + 1) / 2 : (size_t)head_dim;
}

static void put(weft_kv_type t, uint8_t *code, int d, int q) {
    if (t != WEFT_KV_Q4) code[d] = (uint8_t)q;
    else if (d & 1) code[d >> 1] = (uint8_t)((code[d >> 1] & 0x0f) | (q << 4));
    else code[d >> 1] = (uint8_t)((code[d >> 1] & 0xf0) | q);
}

static int get(weft_kv_type t, const uint8_t *code, int d) {
    return t != WEFT_KV_Q4 ? code[d] : (code[d >> 1] >> ((d & 1) * 4)) & 0x0f;
}

/* Scale and minimum of [lo, hi], rounded through fp16 first so that codes
 * are chosen against the values decoding will use. */
static void range(weft_kv_type t, float lo, float hi, uint16_t *s16, uint16_t *m16, float *s, float *m) {
    *m16 = fp32_to_fp16(lo);
    *m = fp16_to_fp32(*m16);
    float sc = (hi - *m) / (float)levels(t);
    *s16 = fp32_to_fp16(sc > 0 ? sc : 0);
    *s = fp16_to_fp32(*s16);
}

static int code_of(weft_kv_type t, float x, float s, float m) {
    if (!(s > 0)) return 0;
    const float q = roundf((x - m) / s);
    return q < 0 ? 0 : q > levels(t) ? levels(t) : (int)q;
}

void kvq_quantize_keys(weft_kv_type t, const float *const *rows, int head_dim, uint8_t *const *codes,
                       uint16_t *sm) {
    for (int d = 0; d < head_dim; d++) {
        float lo = rows[0][d], hi = rows[0][d];
        for (int i = 1; i < KVQ_GROUP; i++) {
            lo = fminf(lo, rows[i][d]);
            hi = fmaxf(hi, rows[i][d]);
        }
        float s, m;
        range(t, lo, hi, &sm[d], &sm[head_dim + d], &s, &m);
        for (int i = 0; i < KVQ_GROUP; i++) put(t, codes[i], d, code_of(t, rows[i][d], s, m));
    }
}

void kvq_quantize_value(weft_kv_type t, const float *row, int head_dim, uint8_t *code, uint16_t *sm) {
    float lo = row[0], hi = row[0];
    for (int d = 1; d < head_dim; d++) lo = fminf(lo, row[d]), hi = fmaxf(hi, row[d]);
    float s, m;
    range(t, lo, hi, &sm[0], &sm[1], &s, &m);
    for (int d = 0; d < head_dim; d++) put(t, code, d, code_of(t, row[d], s, m));
}

void kvq_dequantize(weft_kv_type t, const uint8_t *code, const uint16_t *sm, int per_channel, int head_dim,
                    float *dst) {
    if (per_channel) {
        for (int d = 0; d < head_dim; d++)
            dst[d] = fp16_to_fp32(sm[head_dim + d]) + (float)get(t, code, d) * fp16_to_fp32(sm[d]);
        return;
    }
    const float s = fp16_to_fp32(sm[0]), m = fp16_to_fp32(sm[1]);
    for (int d = 0; d < head_dim; d++) dst[d] = m + (float)get(t, code, d) * s;
}
