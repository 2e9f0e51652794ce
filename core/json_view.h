/* weft_json: a read-only view of a cJSON subtree, with the JSON pointer of
 * every node, handed to plugins so they never see cJSON itself. */
#ifndef WEFT_CORE_JSON_VIEW_H
#define WEFT_CORE_JSON_VIEW_H

#include <cjson/cJSON.h>
#include <weft/abi.h>

/* Builds the view of `node` (not copied: node must outlive the view). */
weft_json *json_view_build(const cJSON *node, const char *pointer);
void json_view_free(weft_json *j);

weft_json_type json_view_type(const weft_json *j);
bool json_view_bool(const weft_json *j);
double json_view_number(const weft_json *j);
const char *json_view_string(const weft_json *j);
size_t json_view_count(const weft_json *j);
const weft_json *json_view_item(const weft_json *j, size_t i);
const char *json_view_key(const weft_json *j, size_t i);
const weft_json *json_view_get(const weft_json *j, const char *key);
const char *json_view_pointer(const weft_json *j);

/* Parses text; on malformed JSON returns NULL and writes
 * "origin:line:col: malformed JSON near byte N" to err. */
cJSON *json_parse_located(const char *text, size_t len, const char *origin, char *err, size_t cap);

/* Appends "/token" to base with RFC 6901 escaping (~ -> ~0, / -> ~1). */
char *json_pointer_join(const char *base, const char *token);
char *json_pointer_index(const char *base, size_t index);

#endif
