/* weft-make-gguf: writes a random-weight llama/qwen2 GGUF of a given shape,
 * or re-quantizes an existing GGUF. For tests and benchmarks.
 *
 *   weft-make-gguf --dim 768 --layers 12 --heads 12 --kv-heads 12 --ffn 2048 \
 *                  --vocab 32000 --type q8_0 --seed 1 -o out.gguf
 *   weft-make-gguf --from in.gguf --type q4_0 -o out.gguf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "random_model.h"

static void usage(void) {
    fprintf(stderr,
            "usage: weft-make-gguf [--arch llama|qwen2] [--dim N] [--layers N] [--heads N]\n"
            "                      [--kv-heads N] [--ffn N] [--vocab N] [--ctx N] [--tied]\n"
            "                      [--type f32|f16|q8_0|q4_0] [--seed N] -o OUT.gguf\n"
            "       weft-make-gguf --from IN.gguf --type f16|q8_0|q4_0 -o OUT.gguf\n");
}

static bool parse_type(const char *s, ggml_type *t) {
    static const struct { const char *name; ggml_type t; } types[] = {
        {"f32", GGML_TYPE_F32}, {"f16", GGML_TYPE_F16}, {"q8_0", GGML_TYPE_Q8_0}, {"q4_0", GGML_TYPE_Q4_0}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(s, types[i].name)) return *t = types[i].t, true;
    return false;
}

int main(int argc, char **argv) {
    rm_spec s = {.arch = "llama", .dim = 768, .n_layers = 12, .n_heads = 12, .n_kv_heads = 12,
                 .ffn = 2048, .vocab = 32000, .ctx = 2048, .type = GGML_TYPE_F32, .seed = 1};
    const char *out = NULL, *from = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int *num = !strcmp(a, "--dim")        ? &s.dim
                   : !strcmp(a, "--layers")   ? &s.n_layers
                   : !strcmp(a, "--heads")    ? &s.n_heads
                   : !strcmp(a, "--kv-heads") ? &s.n_kv_heads
                   : !strcmp(a, "--ffn")      ? &s.ffn
                   : !strcmp(a, "--vocab")    ? &s.vocab
                   : !strcmp(a, "--ctx")      ? &s.ctx
                                              : NULL;
        if (!strcmp(a, "--tied")) {
            s.tied = true;
            continue;
        }
        if (!v) return usage(), 2;
        if (num) *num = atoi(v);
        else if (!strcmp(a, "--type")) {
            if (!parse_type(v, &s.type)) return fprintf(stderr, "unknown type '%s'\n", v), 2;
        } else if (!strcmp(a, "--seed")) s.seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--arch")) s.arch = v;
        else if (!strcmp(a, "-o")) out = v;
        else if (!strcmp(a, "--from")) from = v;
        else return usage(), 2;
        i++;
    }
    if (!out) return usage(), 2;
    char err[1024];
    bool ok = from ? rm_requantize(from, out, s.type, err, sizeof err) : rm_write(&s, out, err, sizeof err);
    if (!ok) {
        fprintf(stderr, "weft-make-gguf: %s\n", err);
        return 1;
    }
    return 0;
}
