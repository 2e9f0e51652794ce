/* Tokenizers of the llama backend: SentencePiece-style BPE by score
 * ("llama") and byte-level BPE by merge rank ("gpt2"), built from the
 * tokenizer.ggml.* keys of a GGUF file and behaving like llama.cpp's.
 *
 * A vocab copies everything it needs: the gguf_file may be closed after
 * vocab_load. A loaded vocab is immutable, so it may be shared by threads. */
#ifndef WEFT_LLAMA_TOKENIZER_H
#define WEFT_LLAMA_TOKENIZER_H

#include <weft/backend.h>

#include "gguf.h"

typedef struct llm_vocab llm_vocab;

/* NULL on failure, with a message naming the file and key in err. */
llm_vocab *vocab_load(const gguf_file *f, char *err, size_t err_cap);
void vocab_free(llm_vocab *v);

int32_t vocab_n_tokens(const llm_vocab *v);
weft_token vocab_bos(const llm_vocab *v); /* -1 if none */
weft_token vocab_eos(const llm_vocab *v); /* -1 if none */
weft_token vocab_eot(const llm_vocab *v); /* -1 if none */
bool vocab_add_bos(const llm_vocab *v);
const char *vocab_model_name(const llm_vocab *v); /* "llama" or "gpt2" */
const char *vocab_pre_name(const llm_vocab *v);   /* BPE split rules: "gpt-2", "llama3", ... */

/* Encodes text. Writes up to cap ids and sets *n_out to the number needed;
 * WEFT_ERR_INVALID when that exceeds cap. add_special adds BOS (and EOS)
 * as the vocab asks. parse_special makes control-token texts such as "<s>"
 * map to their tokens; user-defined tokens always do (as in llama.cpp). */
weft_status vocab_tokenize(const llm_vocab *v, const char *text, size_t len, bool add_special,
                           bool parse_special, weft_token *out, size_t cap, size_t *n_out);

/* Raw bytes of one token: byte tokens give their byte, SPM "▁" gives a space,
 * byte-level BPE pieces are mapped back to bytes; control and unknown tokens
 * give "" unless `special`. Writes up to cap bytes, sets *len to the full
 * length; WEFT_ERR_INVALID when it does not fit or t is out of range. */
weft_status vocab_token_bytes(const llm_vocab *v, weft_token t, bool special, char *buf,
                              size_t cap, size_t *len);

/* WEFT_TOKEN_* flags; 0 for an out-of-range id. */
uint32_t vocab_token_attr(const llm_vocab *v, weft_token t);

/* The token's stored text (e.g. "▁the", "<0x0A>", "Ġthe"), not NUL-terminated. */
const char *vocab_token_text(const llm_vocab *v, weft_token t, size_t *len);

#endif
