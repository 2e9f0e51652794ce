/* When a KV compressor runs and which signals an eval asks for on its
 * behalf: the decode loop (decode.c) and the teacher-forced evaluation of
 * the kv tests and weft-kv-quality (tests/kv/kv_eval.c) share these, so
 * both run a compressor on the same schedule. Header-only: libweft
 * exports only its public API. */
#ifndef WEFT_CORE_KVSCHED_H
#define WEFT_CORE_KVSCHED_H

#include <stdbool.h>
#include <stdint.h>
#include <weft/kv.h>

/* Is compression due: after prefill when the schedule asks for it, else
 * every `every_n_tokens` tokens (since: tokens since the last run) or once
 * the cache holds more than `when_over` entries. */
static inline bool kv_sched_due(const weft_kv_schedule *sch, bool after_prefill, int64_t since, int32_t kv_len) {
    if (after_prefill) return sch->after_prefill;
    return (sch->every_n_tokens > 0 && since >= sch->every_n_tokens) ||
           (sch->when_over > 0 && kv_len > sch->when_over);
}

/* Adds to a batch the signals the compressor declared, and only those:
 * attention sums on every eval, the observation window at prefill. */
static inline void kv_sched_signals(const weft_kv_vtable *kv, void *self, weft_batch *batch, bool is_prefill) {
    const uint32_t need = kv->signals(self);
    if (need & WEFT_KV_NEEDS_ATTN_ACCUM) batch->signals |= WEFT_SIGNAL_ATTN_ACCUM;
    if (is_prefill && (need & (WEFT_KV_NEEDS_OBS_WINDOW | WEFT_KV_NEEDS_HEAD_PROFILE))) {
        weft_kv_schedule sch = {.struct_size = sizeof sch};
        kv->schedule(self, &sch);
        batch->signals |= WEFT_SIGNAL_OBS_WINDOW;
        batch->obs_window = sch.obs_window > 0 ? sch.obs_window : 32;
    }
}

#endif
