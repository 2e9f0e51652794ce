/* A small GGUF v3 writer for tests and tools: collect key/values and
 * tensors, then write the file. Tensor data is either borrowed (must stay
 * valid until gw_write) or produced on demand by a callback, so a tool can
 * stream a model larger than it wants to hold in memory. */
#ifndef WEFT_TEST_GGUF_WRITER_H
#define WEFT_TEST_GGUF_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gguf.h"

typedef struct gguf_writer gguf_writer;

/* Fills the nbytes of tensor `index` (in the order added). */
typedef void (*gw_fill_fn)(void *ctx, size_t index, void *dst, size_t nbytes);

gguf_writer *gw_new(void);
void gw_free(gguf_writer *w);

void gw_kv_u32(gguf_writer *w, const char *key, uint32_t v);
void gw_kv_f32(gguf_writer *w, const char *key, float v);
void gw_kv_bool(gguf_writer *w, const char *key, bool v);
void gw_kv_str(gguf_writer *w, const char *key, const char *v);
void gw_kv_strs(gguf_writer *w, const char *key, const char *const *v, size_t n);
void gw_kv_f32s(gguf_writer *w, const char *key, const float *v, size_t n);
void gw_kv_i32s(gguf_writer *w, const char *key, const int32_t *v, size_t n);
/* Copies one key/value of an open file as it is. */
void gw_kv_copy(gguf_writer *w, const gguf_file *f, const gguf_kv *kv);

/* A tensor of shape ne[0..n_dims) (ne[0] contiguous) and type t; data is
 * borrowed, or NULL with fill set. */
void gw_tensor(gguf_writer *w, const char *name, uint32_t n_dims, const uint64_t *ne, ggml_type t,
               const void *data, gw_fill_fn fill, void *ctx);

/* false with a message in err. */
bool gw_write(gguf_writer *w, const char *path, char *err, size_t err_cap);

#endif
