/* Calling declared actions: JSON arguments are type-checked against the
 * action's declared C signature and marshalled with libffi (the way GObject's
 * generic marshaller works), so no per-plugin glue is needed. */
#ifndef WEFT_CORE_ACTIONS_H
#define WEFT_CORE_ACTIONS_H

#include <cjson/cJSON.h>
#include <weft/abi.h>

/* args: a JSON array (NULL = no arguments). pointer: where the arguments
 * came from, for messages. The result is written as JSON text. */
weft_status action_invoke(const weft_action_desc *a, void *self, const cJSON *args,
                          const char *pointer, char *result, size_t result_cap, char *err,
                          size_t cap);

/* The declared action `name` of a descriptor, or NULL. */
const weft_action_desc *action_find(const weft_component_desc *d, const char *name);

#endif
