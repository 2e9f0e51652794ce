/* Internal: the registry's contract checks, shared with tests via weft.h. */
#ifndef WEFT_CORE_REGISTRY_H
#define WEFT_CORE_REGISTRY_H

#include <weft/weft.h>

/* Checks a descriptor against the host's ABI; writes why not into err. */
bool registry_check_desc(const weft_component_desc *d, char *err, size_t cap);

/* The smallest vtable a kind may have: the end of its last mandatory method. */
size_t registry_min_vtable_size(weft_kind kind);

#endif
