/* Calling declared actions: JSON arguments are type-checked against the
 * action's declared C signature and marshalled with libffi (the way GObject's
 * generic marshaller works), so no per-plugin glue is needed. */
#ifndef WEFT_CORE_ACTIONS_H
#define WEFT_CORE_ACTIONS_H

#include <cjson/cJSON.h>
#include <weft/abi.h>

/* args: a JSON array (NULL = no arguments). args_pointer: the JSON pointer
 * of that array for messages ("/actions/0/args"), or NULL when the arguments
 * did not come from a document; `owner` (the component's pointer) is named
 * then. dry_run: type-check only (weft check). The result is written as JSON
 * text. */
weft_status action_invoke(const weft_action_desc *a, void *self, const cJSON *args,
                          const char *args_pointer, const char *owner, bool dry_run, char *result,
                          size_t result_cap, char *err, size_t cap);

/* The declared action `name` of a descriptor, or NULL. */
const weft_action_desc *action_find(const weft_component_desc *d, const char *name);

#endif
