/* The corpus behind the static automaton: read a corpus file, tokenize it,
 * build its automaton once and cache it next to the file.
 *
 * Formats (docs/drafters.md):
 *   - token ids: the first line is exactly "weft-tokens"; every further line
 *     is one document of whitespace-separated decimal token ids;
 *   - text: anything else, UTF-8; documents are separated by blank lines and
 *     tokenized one by one with the target's tokenizer (no BOS).
 * The cache is "<corpus>.weft-sam"; it is used only when its fingerprint (the
 * corpus bytes and, for text, the tokenizer) matches, else rebuilt. */
#ifndef WEFT_SAM_CORPUS_H
#define WEFT_SAM_CORPUS_H

#include "frozen.h"

/* `backend` tokenizes text corpora (may be NULL for token-id files). */
weft_status corpus_open(sam_frozen *f, const weft_env *env, const char *path, const weft_instance *backend);

#endif
