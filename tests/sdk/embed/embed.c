/* embed PLUGIN.so: loads one plugin file through the installed libweft and
 * prints what it registered; exit 1 if it registered nothing. */
#include <stdio.h>

#include <weft/weft.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: embed PLUGIN.so\n");
        return 2;
    }
    weft_registry *reg = weft_registry_new();
    char err[WEFT_ERR_CAP] = "";
    if (!reg || weft_registry_load(reg, argv[1], err, sizeof err) != WEFT_OK) {
        fprintf(stderr, "embed: %s\n", err);
        weft_registry_free(reg);
        return 1;
    }
    for (size_t i = 0; i < weft_registry_count(reg); i++) {
        const weft_component_desc *d = weft_registry_at(reg, i)->desc;
        printf("%s %s (ABI %u.%u)\n", weft_kind_name(d->kind), d->name, d->abi_major, d->abi_minor);
    }
    int code = weft_registry_count(reg) ? 0 : 1;
    weft_registry_free(reg);
    return code;
}
