/* GGUF reader: memory-maps a file and validates everything it reads (magic,
 * version, counts, string lengths, tensor shapes, types, offsets, alignment)
 * against the file size. Supports GGUF v1, v2 and v3. All errors are reported
 * as text naming the file and the key or tensor at fault. */
#ifndef WEFT_GGUF_H
#define WEFT_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum gguf_value_type {
    GGUF_TYPE_UINT8 = 0,
    GGUF_TYPE_INT8 = 1,
    GGUF_TYPE_UINT16 = 2,
    GGUF_TYPE_INT16 = 3,
    GGUF_TYPE_UINT32 = 4,
    GGUF_TYPE_INT32 = 5,
    GGUF_TYPE_FLOAT32 = 6,
    GGUF_TYPE_BOOL = 7,
    GGUF_TYPE_STRING = 8,
    GGUF_TYPE_ARRAY = 9,
    GGUF_TYPE_UINT64 = 10,
    GGUF_TYPE_INT64 = 11,
    GGUF_TYPE_FLOAT64 = 12,
} gguf_value_type;

/* ggml tensor types (numbering as in ggml). */
typedef enum ggml_type {
    GGML_TYPE_F32 = 0,
    GGML_TYPE_F16 = 1,
    GGML_TYPE_Q4_0 = 2,
    GGML_TYPE_Q4_1 = 3,
    GGML_TYPE_Q5_0 = 6,
    GGML_TYPE_Q5_1 = 7,
    GGML_TYPE_Q8_0 = 8,
    GGML_TYPE_Q8_1 = 9,
    GGML_TYPE_Q2_K = 10,
    GGML_TYPE_Q3_K = 11,
    GGML_TYPE_Q4_K = 12,
    GGML_TYPE_Q5_K = 13,
    GGML_TYPE_Q6_K = 14,
    GGML_TYPE_Q8_K = 15,
    GGML_TYPE_BF16 = 30,
    /* In-memory layouts of the llama backend's kernels (kernels.h), never
     * valid in a file: this file's type table does not know them. */
    WEFT_TYPE_Q8_0_SPLIT = 1000,
    WEFT_TYPE_Q4_0_X8 = 1001,
    WEFT_TYPE_Q8_0_X8 = 1002,
    WEFT_TYPE_Q4_K_X8 = 1003,
    WEFT_TYPE_Q6_K_X8 = 1004,
} ggml_type;

typedef struct gguf_str {
    const char *ptr; /* points into the mapping, NOT NUL-terminated */
    uint64_t len;
} gguf_str;

typedef struct gguf_kv {
    gguf_str key;
    gguf_value_type type;
    /* scalar value (type != ARRAY), widened */
    union {
        uint64_t u64;
        int64_t i64;
        double f64;
        bool b;
        gguf_str str;
    } v;
    /* array (type == ARRAY) */
    gguf_value_type arr_type;
    uint64_t arr_count;
    const uint8_t *arr_data; /* raw element data in the file; strings are
                                (u64|u32 len, bytes) records, see gguf_arr_str */
} gguf_kv;

#define GGUF_MAX_DIMS 4

typedef struct gguf_tensor {
    gguf_str name;
    uint32_t n_dims;
    uint64_t ne[GGUF_MAX_DIMS]; /* ne[0] is the contiguous (row) dimension; unused dims = 1 */
    ggml_type type;
    uint64_t offset;            /* relative to data section */
    const void *data;           /* absolute pointer in the mapping */
    uint64_t n_bytes;
} gguf_tensor;

typedef struct gguf_file {
    char *path;
    const uint8_t *map;
    size_t map_size;
    uint32_t version;
    uint64_t n_kv, n_tensors;
    gguf_kv *kv;
    gguf_tensor *tensors;
    uint64_t alignment;
    uint64_t data_offset;
    /* Precomputed string offsets for string arrays, parallel to kv[]:
     * NULL for non-string-arrays. str_index[i][j] = gguf_str of element j. */
    gguf_str **str_index;
} gguf_file;

/* Open and validate. On failure returns NULL and writes a message into err. */
gguf_file *gguf_open(const char *path, char *err, size_t err_cap);
/* Same, from a buffer (not copied; must outlive the gguf_file). For fuzzing. */
gguf_file *gguf_open_memory(const void *data, size_t size, const char *name, char *err,
                            size_t err_cap);
void gguf_close(gguf_file *f);
/* gguf_open keeps the file's bytes in its own read-only anonymous copy when
 * it can. gguf_unseal makes that copy writable, for rewriting tensor data in
 * place at load time (false, and nothing changes, for a file mapping or a
 * caller's buffer); gguf_seal makes it read-only again. */
bool gguf_unseal(gguf_file *f);
void gguf_seal(gguf_file *f);

/* Lookups; NULL / -1 when absent. */
const gguf_kv *gguf_find_kv(const gguf_file *f, const char *key);
const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name);

/* Typed getters: return false (and leave *out) if absent or of an
 * incompatible type. Integer getters accept any integer type in range. */
bool gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out);
bool gguf_get_i64(const gguf_file *f, const char *key, int64_t *out);
bool gguf_get_f32(const gguf_file *f, const char *key, float *out);
bool gguf_get_bool(const gguf_file *f, const char *key, bool *out);
bool gguf_get_str(const gguf_file *f, const char *key, gguf_str *out);

/* Array element access; arrays were validated at open. */
gguf_str gguf_arr_str(const gguf_file *f, const gguf_kv *kv, uint64_t i);
double gguf_arr_num(const gguf_kv *kv, uint64_t i); /* numeric arrays */

/* Block size (elements) and bytes per block of a ggml type; 0 if unknown. */
size_t ggml_blck_size(ggml_type t);
size_t ggml_type_size(ggml_type t);
const char *ggml_type_name(ggml_type t);

bool gguf_str_eq(gguf_str s, const char *c);

#endif
