/* sampler greedy: keeps exactly the argmax, lowest id on ties. */
#include <criterion/criterion.h>
#include <math.h>

#include "plugin_fixture.h"

static pf fx;
static void setup(void) { pf_open(&fx, WEFT_KIND_SAMPLER, "greedy", PF_NO_ARGS); }
static void teardown(void) { pf_close(&fx); }
TestSuite(sampler_greedy, .init = setup, .fini = teardown);

Test(sampler_greedy, descriptor) {
    cr_assert_null(pf_check_descriptor(fx.desc), "%s", pf_check_descriptor(fx.desc));
    cr_assert_str_eq(fx.desc->version, "1.0");
    cr_assert_eq(fx.desc->n_params, 0);
    cr_assert_eq(fx.desc->flags, 0);
}

Test(sampler_greedy, keeps_the_argmax) {
    /* max logit 3 at ids 1 and 3: the lowest id, 1, wins the tie */
    weft_candidate buf[4];
    weft_candidates c = pf_cands(buf, (const float[]){1, 3, 2, 3}, 4);
    cr_assert_eq(pf_apply(&fx, &c), WEFT_OK);
    cr_assert_eq(c.size, 1);
    cr_assert_eq(c.data[0].id, 1);
    cr_assert_float_eq(c.data[0].logit, 3.0f, 0);
}

Test(sampler_greedy, ids_not_in_order) {
    /* ids 9, 2, 5 with logits 0.5, 0.5, -1: tie between 9 and 2 -> 2 */
    weft_candidate buf[3] = {{.id = 9, .logit = 0.5f}, {.id = 2, .logit = 0.5f}, {.id = 5, .logit = -1}};
    weft_candidates c = {.struct_size = sizeof c, .data = buf, .size = 3};
    cr_assert_eq(pf_apply(&fx, &c), WEFT_OK);
    cr_assert_eq(c.size, 1);
    cr_assert_eq(c.data[0].id, 2);
}

Test(sampler_greedy, empty_set_is_left_empty) {
    weft_candidates c = {.struct_size = sizeof c, .data = NULL, .size = 0};
    cr_assert_eq(pf_apply(&fx, &c), WEFT_OK);
    cr_assert_eq(c.size, 0);
}

Test(sampler_greedy, extremes) {
    pf_assert_extremes(&fx);
    /* -inf, 1e30, all equal: exactly one survivor, the first top one */
    weft_candidate buf[3];
    weft_candidates c = pf_cands(buf, (const float[]){-INFINITY, 1e30f, 1e30f}, 3);
    pf_apply(&fx, &c);
    cr_assert_eq(c.size, 1);
    cr_assert_eq(c.data[0].id, 1);
}

Test(sampler_greedy, clone) {
    void *copy = NULL;
    cr_assert_eq(PF_SAMPLER(&fx)->clone(fx.self, &copy), WEFT_OK);
    cr_assert_not_null(copy);
    fx.desc->destroy(copy);
}
