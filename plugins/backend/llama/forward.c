/* The forward pass. forward_chunk() reads top to bottom like the paper:
 * embed, then per layer RMSNorm -> QKV -> RoPE -> cache -> attention ->
 * output projection -> residual -> RMSNorm -> SwiGLU FFN -> residual, then
 * the final norm and the LM head for the rows asked for.
 *
 * Threading: every parallel loop splits work into items whose results are
 * written by exactly one worker in a fixed order (matrix rows in fixed
 * blocks, attention per (kv head, group of rows), the steps between
 * matmuls per batch row), so logits are bit-identical for any thread
 * count. */
#include "forward.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

enum {
    MM_BLOCK_ROWS = 16,       /* rows per matmul work item; fixed so results never depend on the split */
    /* multiply-adds below which a loop stays on one thread, and the least a
     * chunk does: waking workers costs microseconds idle, milliseconds on a
     * loaded machine. 2^18 (~40 us on the first machine) split a 768-row
     * decode matmul 21 + 21 + 6 items, one thread idle for a third of it;
     * 2^16 made two-thread Q4_0 decode 6-7% faster on Zen 4. */
    MIN_ITEM_WORK = 1 << 16,
};

typedef struct worker_scratch {
    float *scores;  /* att_rows * n_rep * n_ctx attention scores */
    float *krow, *vrow; /* ATT_GROUP * head_dim: dequantized cache rows */
    int32_t *slots; /* att_rows * n_ctx: the batch slots a tree row sees */
} worker_scratch;

struct forward_state {
    const model *m;
    kv_cache *kv;
    const weft_env *env;
    rope_params rope;
    int max_batch, n_workers;
    int att_rows;    /* batch rows attended together, <= ATT_ROWS */

    /* activations for max_batch tokens (llama2.c's RunState) */
    float *x;        /* residual stream, dim */
    float *xn;       /* normalised input of a sub-layer / matmul output, dim */
    float *q, *k, *v; /* q_dim, kv_dim, kv_dim */
    float *att;      /* attention output, q_dim */
    float *hb, *hb2; /* ffn_dim */
    float *rope_cs;  /* n_rot: cos and sin per token */
    int32_t *pos;    /* positions of the chunk */
    void *xq[3];     /* quantized activations, one per weight type of a fused matmul */
    size_t xq_row;   /* bytes per row of each xq buffer */
    int32_t *base;   /* per layer: cache length when the batch began */
    worker_scratch *ws;
};

rope_params model_rope(const model *m) {
    return (rope_params){.style = m->arch->rope,
                         .n_rot = m->cfg.n_rot,
                         .base = m->cfg.rope_base,
                         .scale = m->cfg.rope_scale};
}

/* ---------------------------------------------------------------- kernels */

/* In double: the sum of squares of a 4096-wide row loses bits in float.
 * Eight partial sums, not one chain of dependent adds (which made RMSNorm
 * 2% of an 8-token batch); their fixed order keeps the bits. */
static double sum_squares(const float *x, int n) {
    double part[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) part[j] += (double)x[i + j] * x[i + j];
    double ss = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
    for (; i < n; i++) ss += (double)x[i] * x[i];
    return ss;
}

static void rmsnorm(float *out, const float *x, const float *w, int n, float eps) {
    const float r = (float)(1.0 / sqrt(sum_squares(x, n) / n + eps));
    for (int i = 0; i < n; i++) out[i] = x[i] * r * w[i];
}

/* Cache rows gathered per call of the attention kernels: enough to amortize
 * the call, few enough that dequantized rows stay in L1. */
enum { ATT_GROUP = 32 };
/* At most this many batch rows share one pass over the cache, and their
 * scores at most ATT_SCORE_BYTES of scratch per worker. */
enum { ATT_ROWS = 8, ATT_SCORE_BYTES = 4 << 20 };
/* Queries per call of the attention kernels (a multiple of the AVX-512
 * kernels' blocks of 3 and 4). */
enum { ATT_CALL_QUERIES = 24 };

/* ------------------------------------------------------------ parallelism */

static void parallel(const forward_state *fs, size_t n, size_t grain, weft_parallel_fn fn,
                     void *arg) {
    if (fs->env)
        fs->env->host->parallel_for(fs->env, n, grain, fn, arg);
    else
        fn(arg, 0, n, 0);
}

/* Items per chunk so that a chunk does at least MIN_ITEM_WORK. */
static size_t grain_for(double work_per_item) {
    if (work_per_item >= MIN_ITEM_WORK) return 1;
    return (size_t)(MIN_ITEM_WORK / (work_per_item > 1 ? work_per_item : 1));
}

/* ---------------------------------------------------------------- matmul */

/* Y = W X for up to three weights sharing one input (Q/K/V, gate/up):
 * one parallel loop over the concatenated rows. */
typedef struct mm_task {
    const weight *w;
    float *y;
    int64_t ldy;
    const void *xq; /* filled by matmul() */
} mm_task;

/* F32/F16 weights take the activations as floats, unquantized. */
static bool reads_floats(const weight *w) { return w->type == GGML_TYPE_F32 || w->type == GGML_TYPE_F16; }

/* The task whose quantized input task i reads (fs->xq[that task]): the
 * first with its weight type. -1 for F32/F16, which read the floats. */
static int input_slot(const mm_task *tasks, int i) {
    const ggml_type t = tasks[i].w->type;
    if (reads_floats(tasks[i].w)) return -1;
    int j = 0;
    while (tasks[j].w->type != t) j++;
    return j;
}

/* Quantizes row t of x (one row of a matmul's input) for every distinct
 * weight type of the tasks: a row step, so that rows are quantized in
 * parallel together with the step that made them. */
static void quantize_input_row(const forward_state *fs, const mm_task *tasks, int n_tasks, const float *x, int t) {
    const int64_t cols = tasks[0].w->cols;
    for (int i = 0; i < n_tasks; i++) {
        if (input_slot(tasks, i) != i) continue;
        const ggml_type wt = tasks[i].w->type;
        const size_t stride = act_bytes(wt, cols);
        quantize_act(wt, x + (size_t)t * cols, (uint8_t *)fs->xq[i] + (size_t)t * stride, cols);
    }
}

typedef struct mm_job {
    const mm_task *tasks;
    int n_tasks, n_batch;
} mm_job;

static int64_t mm_blocks(const weight *w) { return (w->rows + MM_BLOCK_ROWS - 1) / MM_BLOCK_ROWS; }

static void mm_body(void *arg, size_t begin, size_t end, int worker) {
    (void)worker;
    const mm_job *job = arg;
    for (size_t item = begin; item < end; item++) {
        int64_t blk = (int64_t)item;
        int t = 0;
        while (blk >= mm_blocks(job->tasks[t].w)) blk -= mm_blocks(job->tasks[t++].w);
        const mm_task *tk = &job->tasks[t];
        const int64_t r0 = blk * MM_BLOCK_ROWS;
        const int64_t r1 = r0 + MM_BLOCK_ROWS < tk->w->rows ? r0 + MM_BLOCK_ROWS : tk->w->rows;
        matmul_rows(tk->w->type, tk->w->data, tk->w->cols, r0, r1, tk->xq, job->n_batch, tk->y,
                    tk->ldy);
    }
}

/* x: n rows of tasks[0].w->cols floats, whose rows quantize_input_row has
 * quantized for these tasks; F32/F16 weights read the floats as they are. */
static void matmul(forward_state *fs, const float *x, int n, mm_task *tasks, int n_tasks) {
    const int64_t cols = tasks[0].w->cols;
    int64_t blocks = 0;
    for (int i = 0; i < n_tasks; i++) {
        blocks += mm_blocks(tasks[i].w);
        const int slot = input_slot(tasks, i);
        tasks[i].xq = slot < 0 ? (const void *)x : fs->xq[slot];
    }
    mm_job job = {tasks, n_tasks, n};
    parallel(fs, (size_t)blocks, grain_for((double)MM_BLOCK_ROWS * cols * n), mm_body, &job);
}

/* ------------------------------------------------------------- attention */

typedef struct attn_job {
    forward_state *fs;
    int layer;
    int t0, n;               /* chunk: batch rows [t0, t0 + n) */
    const int32_t *parents;  /* whole batch; NULL = causal */
    bool accum;              /* add probabilities into the layer's attention sums */
    bool stage;              /* ... held per row until kv_keep (tree batches) */
    int obs_from;            /* batch rows >= this add into the observation sums */
    int rows_per_item;       /* chunk rows attended together (row_group) */
} attn_job;

/* The cache slots batch row T sees, in ascending order: slots [0, n_dense),
 * then `extra` -- the cache as it was before the batch, then T's ancestors
 * in the batch, then T itself. Tree and chain evaluation thus sum the same
 * terms in the same order. Causal batches see one dense range. */
typedef struct visible {
    int32_t n_dense;
    int n_extra;
    const int32_t *extra;
} visible;

static visible visible_slots(const attn_job *job, int32_t base, int T, int32_t *buf) {
    if (!job->parents) return (visible){base + T + 1, 0, NULL};
    int depth = 0;
    for (int a = T; a >= 0; a = job->parents[a]) depth++;
    int i = depth;
    for (int a = T; a >= 0; a = job->parents[a]) buf[--i] = base + a;
    return (visible){base, depth, buf};
}

static inline int32_t visible_slot(const visible *v, int j) {
    return j < v->n_dense ? j : v->extra[j - v->n_dense];
}

/* Consecutive batch rows attended together, each cache row gathered once
 * for all of them: a prefill chunk or a verified tree reads the cache once
 * per group instead of once per row. */
typedef struct row_group {
    const forward_state *fs;
    const kv_layer *L;
    worker_scratch *w;
    int g, first, n_rows; /* kv head; chunk rows [first, first + n_rows) */
    int hd, n_rep, q_dim;
    float scale;
    int shared; /* leading dense slots that every row of the group sees */
    visible vis[ATT_ROWS];
    int nv[ATT_ROWS];
} row_group;

static float *group_scores(const row_group *rg, int i, int r) {
    return rg->w->scores + ((size_t)i * rg->n_rep + r) * rg->fs->kv->n_ctx;
}

/* Scores (or weighted values) of slots [j0, j1) of rows [i0, i1), whose
 * visible lists agree on those slots. */
static void attend_slots(const row_group *rg, bool values, int j0, int j1, int i0, int i1) {
    const forward_state *fs = rg->fs;
    const int hd = rg->hd;
    const float *rows[ATT_GROUP];
    const uint16_t *halves[ATT_GROUP]; /* F16 cache rows, read as they are */
    for (int j = j0; j < j1; j += ATT_GROUP) {
        const int G = j1 - j < ATT_GROUP ? j1 - j : ATT_GROUP;
        bool half = fs->kv->type == WEFT_KV_F16;
        for (int s = 0; s < G && half; s++) {
            const int32_t slot = visible_slot(&rg->vis[i0], j + s);
            half = slot >= rg->L->nq;
            if (half) halves[s] = (const uint16_t *)kv_row(fs->kv, values ? rg->L->v : rg->L->k, slot, rg->g);
        }
        for (int s = 0; s < G && !half; s++) {
            const int32_t slot = visible_slot(&rg->vis[i0], j + s);
            rows[s] = values ? kv_value(fs->kv, rg->L, slot, rg->g, rg->w->vrow + s * hd)
                             : kv_key(fs->kv, rg->L, slot, rg->g, rg->w->krow + s * hd);
        }
        /* the next group's rows, while this one is computed */
        for (int s = j + G; s < j1 && s < j + G + ATT_GROUP; s++)
            kv_prefetch(fs->kv, rg->L, visible_slot(&rg->vis[i0], s), rg->g, values);
        /* every (row, query head) of the group, several per kernel call */
        const float *in[ATT_CALL_QUERIES]; /* queries, or probabilities */
        float *out[ATT_CALL_QUERIES];      /* scores, or attention outputs */
        int n_q = 0;
        for (int i = i0; i < i1; i++) {
            const size_t head = (size_t)(rg->first + i) * rg->q_dim + (size_t)rg->g * rg->n_rep * hd;
            for (int r = 0; r < rg->n_rep; r++) {
                float *p = group_scores(rg, i, r) + j;
                in[n_q] = values ? p : fs->q + head + r * hd;
                out[n_q] = values ? fs->att + head + r * hd : p;
                if (++n_q < ATT_CALL_QUERIES && (i < i1 - 1 || r < rg->n_rep - 1)) continue;
                if (values && half)
                    attn_values_rows_f16(out, in, n_q, halves, G, hd);
                else if (values)
                    attn_values_rows(out, in, n_q, rows, G, hd);
                else if (half)
                    attn_scores_rows_f16(in, n_q, halves, G, hd, rg->scale, out);
                else
                    attn_scores_rows(in, n_q, rows, G, hd, rg->scale, out);
                n_q = 0;
            }
        }
    }
}

/* Every row's scores (or weighted values): first the slots all rows see,
 * each gathered once, then each row's own remaining slots. */
static void attend_rows(const row_group *rg, bool values) {
    attend_slots(rg, values, 0, rg->shared, 0, rg->n_rows);
    for (int i = 0; i < rg->n_rows; i++) attend_slots(rg, values, rg->shared, rg->nv[i], i, i + 1);
}

/* Adds row i's attention probabilities into per-slot sums (n_heads a slot). */
static void add_probabilities(const row_group *rg, int i, int n_heads, float *sums) {
    for (int j = 0; j < rg->nv[i]; j++)
        for (int r = 0; r < rg->n_rep; r++)
            sums[(size_t)visible_slot(&rg->vis[i], j) * n_heads + rg->g * rg->n_rep + r] += group_scores(rg, i, r)[j];
}

/* Scores, softmax, weighted sum of values for rows [first, first + n_rows)
 * of the chunk and query heads g*n_rep .. g*n_rep + n_rep - 1 sharing kv
 * head g. Every score and output sums the same terms in the same order as
 * a row attended alone (kernels.h: a score's bits do not depend on which
 * keys share its call; values add in slot order). */
static void attend(const attn_job *job, int first, int n_rows, int g, worker_scratch *w) {
    forward_state *fs = job->fs;
    const model_config *c = &fs->m->cfg;
    const kv_cache *kv = fs->kv;
    const int hd = c->head_dim, n_rep = c->n_heads / c->n_kv_heads, q_dim = c->n_heads * hd;
    row_group rg = {.fs = fs, .L = &kv->layers[job->layer], .w = w, .g = g, .first = first, .n_rows = n_rows,
                    .hd = hd, .n_rep = n_rep, .q_dim = q_dim, .scale = 1.0f / sqrtf((float)hd),
                    .shared = INT32_MAX};
    for (int i = 0; i < n_rows; i++) {
        rg.vis[i] = visible_slots(job, fs->base[job->layer], job->t0 + first + i, w->slots + (size_t)i * kv->n_ctx);
        rg.nv[i] = rg.vis[i].n_dense + rg.vis[i].n_extra;
        if (rg.vis[i].n_dense < rg.shared) rg.shared = rg.vis[i].n_dense;
    }
    attend_rows(&rg, false);
    for (int i = 0; i < n_rows; i++) {
        for (int r = 0; r < n_rep; r++) softmax(group_scores(&rg, i, r), rg.nv[i]);
        memset(fs->att + (size_t)(first + i) * q_dim + (size_t)g * n_rep * hd, 0, (size_t)n_rep * hd * sizeof(float));
    }
    attend_rows(&rg, true);

    const kv_layer *L = rg.L;
    for (int i = 0; i < n_rows; i++) {
        const int T = job->t0 + first + i, nv = rg.nv[i];
        const visible *vis = &rg.vis[i];
        if (job->stage) {
            /* a verifier may still reject this row: kv_keep adds it if kept */
            for (int r = 0; r < n_rep; r++)
                memcpy(kv_stage_p(kv, job->layer, T) + (size_t)(g * n_rep + r) * kv->n_ctx, group_scores(&rg, i, r),
                       (size_t)nv * sizeof(float));
            if (g == 0) {
                int32_t *vs = kv_stage_vis(kv, job->layer, T);
                for (int j = 0; j < nv; j++) vs[j] = visible_slot(vis, j);
                kv->st.n_vis[(size_t)job->layer * kv->st.cap_rows + T] = nv;
            }
        } else if (job->accum) {
            add_probabilities(&rg, i, c->n_heads, L->accum);
        }
        if (T >= job->obs_from) add_probabilities(&rg, i, c->n_heads, L->obs);
    }
}

/* Items are (kv head, group of rows), head-major so that consecutive items
 * reuse one head's keys and values from cache; with attention sums, one
 * item per kv head walks the rows in order, so each sum is added to by one
 * worker in a fixed order. */
static bool per_head_items(const attn_job *job) { return job->accum || job->obs_from < job->t0 + job->n; }

static void attn_body(void *arg, size_t begin, size_t end, int worker) {
    const attn_job *job = arg;
    worker_scratch *w = &job->fs->ws[worker];
    const int R = job->rows_per_item, n_groups = (job->n + R - 1) / R;
    const bool per_head = per_head_items(job);
    for (size_t item = begin; item < end; item++) {
        const int g = per_head ? (int)item : (int)(item / (size_t)n_groups);
        const int first_group = per_head ? 0 : (int)(item % (size_t)n_groups);
        const int end_group = per_head ? n_groups : first_group + 1;
        for (int k = first_group; k < end_group; k++) {
            const int first = k * R;
            attend(job, first, job->n - first < R ? job->n - first : R, g, w);
        }
    }
}

static void attention(forward_state *fs, int layer, int t0, int n, const int32_t *parents,
                      bool accum, int obs_from) {
    const model_config *c = &fs->m->cfg;
    /* enough items for every worker (4 each) before rows share an item */
    int R = n * c->n_kv_heads / (4 * fs->n_workers);
    R = R < 1 ? 1 : R > fs->att_rows ? fs->att_rows : R;
    attn_job job = {fs, layer, t0, n, parents, accum, accum && parents, obs_from, R};
    const bool per_head = per_head_items(&job);
    const size_t n_groups = (size_t)(n + R - 1) / R;
    const size_t items = per_head ? (size_t)c->n_kv_heads : n_groups * c->n_kv_heads;
    const double work = 2.0 * (fs->base[layer] + t0 + n) * c->head_dim * c->n_heads / c->n_kv_heads *
                        (per_head ? n : R);
    parallel(fs, items, grain_for(work), attn_body, &job);
}

/* ------------------------------------------------- chunks, layer matmuls */

typedef struct chunk {
    const weft_token *tokens; /* n tokens of the chunk */
    const int32_t *positions;
    int t0, n;                /* batch rows [t0, t0 + n) */
    const int32_t *parents;   /* whole batch */
    const int32_t *out_rows;  /* batch rows wanted in this chunk (ascending) */
    int n_out;
    float *logits, *hidden;   /* first wanted row of this chunk */
    int n_layers_run;
    bool accum;
    int obs_from;             /* first batch row of the observation window (n_tokens: none) */
    int hidden_layer;         /* -1: none */
} chunk;

static void residual_add(float *x, const float *dx, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] += dx[i];
}

static void add_bias(float *y, const float *b, int width) {
    for (int i = 0; i < width; i++) y[i] += b[i];
}

/* Copies the residual rows wanted by the batch into hidden. */
static void copy_rows(const forward_state *fs, const chunk *ch, const float *src) {
    const int dim = fs->m->cfg.dim;
    for (int k = 0; k < ch->n_out; k++)
        memcpy(ch->hidden + (size_t)k * dim, src + (size_t)(ch->out_rows[k] - ch->t0) * dim,
               (size_t)dim * sizeof(float));
}

/* The fused matmuls of a layer, as tasks. */
enum layer_matmul { MM_QKV, MM_WO, MM_GATE_UP, MM_DOWN };

static int layer_tasks(const forward_state *fs, int l, enum layer_matmul which, mm_task *tasks) {
    const model_config *c = &fs->m->cfg;
    const layer_weights *w = &fs->m->w.layers[l];
    const int q_dim = c->n_heads * c->head_dim, kv_dim = c->n_kv_heads * c->head_dim;
    switch (which) {
    case MM_QKV:
        tasks[0] = (mm_task){&w->wq, fs->q, q_dim, NULL};
        tasks[1] = (mm_task){&w->wk, fs->k, kv_dim, NULL};
        tasks[2] = (mm_task){&w->wv, fs->v, kv_dim, NULL};
        return 3;
    case MM_WO:
        tasks[0] = (mm_task){&w->wo, fs->xn, c->dim, NULL};
        return 1;
    case MM_GATE_UP:
        tasks[0] = (mm_task){&w->w_gate, fs->hb, c->ffn_dim, NULL};
        tasks[1] = (mm_task){&w->w_up, fs->hb2, c->ffn_dim, NULL};
        return 2;
    case MM_DOWN:
        tasks[0] = (mm_task){&w->w_down, fs->xn, c->dim, NULL};
        return 1;
    }
    return 0;
}

static void layer_matmul(forward_state *fs, int l, enum layer_matmul which, const float *x, int n) {
    mm_task tasks[3];
    const int n_tasks = layer_tasks(fs, l, which, tasks);
    matmul(fs, x, n, tasks, n_tasks);
}

/* Quantizes row t of x for a layer matmul's weight types. */
static void quantize_for(const forward_state *fs, int l, enum layer_matmul which, const float *x, int t) {
    mm_task tasks[3];
    const int n_tasks = layer_tasks(fs, l, which, tasks);
    quantize_input_row(fs, tasks, n_tasks, x, t);
}

/* ------------------------------------------------------------- row steps */

/* The work between two matmuls, one batch row at a time: each step reads
 * and writes only its row's activations (and cache slot), so rows run in
 * parallel and the result does not depend on how they are split. Run on
 * the calling thread alone, they were a serial part of every layer: in a
 * two-thread prefill of random 134M Q8_0 the other worker waited for 4.1%
 * of all samples, 1.5% once they ran in parallel (and the waiting grows
 * with the thread count). */
typedef void (*row_step)(forward_state *fs, const chunk *ch, int l, int t);

typedef struct row_job {
    forward_state *fs;
    const chunk *ch;
    int layer;
    row_step step;
} row_job;

static void row_body(void *arg, size_t begin, size_t end, int worker) {
    (void)worker;
    const row_job *job = arg;
    for (size_t t = begin; t < end; t++) job->step(job->fs, job->ch, job->layer, (int)t);
}

/* A step touches about `width` floats of each row, a few operations each. */
enum { ROW_STEP_WORK_PER_FLOAT = 8 };

static void row_steps(forward_state *fs, const chunk *ch, int l, row_step step, int64_t width) {
    row_job job = {fs, ch, l, step};
    parallel(fs, (size_t)ch->n, grain_for((double)ROW_STEP_WORK_PER_FLOAT * width), row_body, &job);
}

static float *row_of(float *base, int t, int width) { return base + (size_t)t * width; }

/* Layer l's input: the token's embedding (l = 0) or the residual stream
 * plus layer l-1's FFN output; normalised and quantized for Q/K/V. */
static void step_layer_input(forward_state *fs, const chunk *ch, int l, int t) {
    const model_config *c = &fs->m->cfg;
    float *x = row_of(fs->x, t, c->dim), *xn = row_of(fs->xn, t, c->dim);
    if (l == 0) {
        const weight *e = &fs->m->w.token_embd;
        dequantize_matrix_row(e->type, e->data, ch->tokens[t], c->dim, x);
        rope_angles(&fs->rope, ch->positions[t], fs->rope_cs + (size_t)t * c->n_rot);
    } else {
        residual_add(x, xn, (size_t)c->dim);
    }
    rmsnorm(xn, x, fs->m->w.layers[l].attn_norm, c->dim, c->rms_eps);
    quantize_for(fs, l, MM_QKV, fs->xn, t);
}

/* Q/K/V biases, RoPE, and the new key and value into the cache. */
static void step_qkv_output(forward_state *fs, const chunk *ch, int l, int t) {
    const model_config *c = &fs->m->cfg;
    const layer_weights *w = &fs->m->w.layers[l];
    const int hd = c->head_dim, q_dim = c->n_heads * hd, kv_dim = c->n_kv_heads * hd;
    float *q = row_of(fs->q, t, q_dim), *k = row_of(fs->k, t, kv_dim), *v = row_of(fs->v, t, kv_dim);
    if (w->bq) {
        add_bias(q, w->bq, q_dim);
        add_bias(k, w->bk, kv_dim);
        add_bias(v, w->bv, kv_dim);
    }
    const float *cs = fs->rope_cs + (size_t)t * c->n_rot;
    rope_apply(&fs->rope, q, c->n_heads, hd, cs, false);
    rope_apply(&fs->rope, k, c->n_kv_heads, hd, cs, false);
    kv_cache *kv = fs->kv;
    const kv_layer *L = &kv->layers[l];
    const int32_t slot = fs->base[l] + ch->t0 + t;
    for (int g = 0; g < c->n_kv_heads; g++) {
        kv_write_row(kv, kv_row(kv, L->k, slot, g), k + g * hd);
        kv_write_row(kv, kv_row(kv, L->v, slot, g), v + g * hd);
    }
}

static void step_attn_output(forward_state *fs, const chunk *ch, int l, int t) {
    (void)ch;
    quantize_for(fs, l, MM_WO, fs->att, t);
}

/* The residual plus the attention output, normalised and quantized for
 * the gate and up projections. */
static void step_ffn_input(forward_state *fs, const chunk *ch, int l, int t) {
    (void)ch;
    const model_config *c = &fs->m->cfg;
    float *x = row_of(fs->x, t, c->dim), *xn = row_of(fs->xn, t, c->dim);
    residual_add(x, xn, (size_t)c->dim);
    rmsnorm(xn, x, fs->m->w.layers[l].ffn_norm, c->dim, c->rms_eps);
    quantize_for(fs, l, MM_GATE_UP, fs->xn, t);
}

static void step_ffn_hidden(forward_state *fs, const chunk *ch, int l, int t) {
    (void)ch;
    const int ffn = fs->m->cfg.ffn_dim;
    swiglu(row_of(fs->hb, t, ffn), row_of(fs->hb2, t, ffn), ffn);
    quantize_for(fs, l, MM_DOWN, fs->hb, t);
}

/* After the last layer run: the residual plus its FFN output. */
static void step_last_residual(forward_state *fs, const chunk *ch, int l, int t) {
    (void)ch, (void)l;
    const int dim = fs->m->cfg.dim;
    residual_add(row_of(fs->x, t, dim), row_of(fs->xn, t, dim), (size_t)dim);
}

/* ------------------------------------------------------------ the layers */

static void forward_chunk(forward_state *fs, const chunk *ch) {
    const model *m = fs->m;
    const model_config *c = &m->cfg;
    const int n = ch->n, dim = c->dim, q_dim = c->n_heads * c->head_dim;

    for (int l = 0; l < ch->n_layers_run; l++) {
        /* attention */
        row_steps(fs, ch, l, step_layer_input, dim);
        if (l > 0 && l - 1 == ch->hidden_layer) copy_rows(fs, ch, fs->x);
        layer_matmul(fs, l, MM_QKV, fs->xn, n);
        row_steps(fs, ch, l, step_qkv_output, q_dim);
        attention(fs, l, ch->t0, n, ch->parents, ch->accum, ch->obs_from);
        if (!reads_floats(&m->w.layers[l].wo)) row_steps(fs, ch, l, step_attn_output, q_dim);
        layer_matmul(fs, l, MM_WO, fs->att, n);

        /* feed-forward: down(silu(gate x) * up x) */
        row_steps(fs, ch, l, step_ffn_input, dim);
        layer_matmul(fs, l, MM_GATE_UP, fs->xn, n);
        row_steps(fs, ch, l, step_ffn_hidden, c->ffn_dim);
        layer_matmul(fs, l, MM_DOWN, fs->hb, n);
    }
    row_steps(fs, ch, ch->n_layers_run, step_last_residual, dim);
    if (ch->n_layers_run - 1 == ch->hidden_layer) copy_rows(fs, ch, fs->x);

    /* final norm and LM head, only for the rows asked for */
    if (ch->n_out == 0) return;
    for (int k = 0; k < ch->n_out; k++)
        rmsnorm(fs->xn + (size_t)k * dim, fs->x + (size_t)(ch->out_rows[k] - ch->t0) * dim,
                m->w.output_norm, dim, c->rms_eps);
    if (ch->hidden_layer == c->n_layers)
        memcpy(ch->hidden, fs->xn, (size_t)ch->n_out * dim * sizeof(float));
    if (ch->logits) {
        mm_task head = {&m->w.output, ch->logits, c->n_vocab, NULL};
        for (int k = 0; k < ch->n_out; k++) quantize_input_row(fs, &head, 1, fs->xn, k);
        matmul(fs, fs->xn, ch->n_out, &head, 1);
    }
}

/* ------------------------------------------------------------------ eval */

static weft_status check_batch(const forward_state *fs, const weft_batch *b, int n_layers_run,
                               char *err, size_t cap) {
    const model_config *c = &fs->m->cfg;
    const size_t n = b->n_tokens;
    if (!b->tokens) return snprintf(err, cap, "eval: tokens is NULL"), WEFT_ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        if (b->tokens[i] < 0 || b->tokens[i] >= c->n_vocab)
            return snprintf(err, cap, "eval: token %d at row %zu is outside the vocabulary [0, %d)",
                            (int)b->tokens[i], i, c->n_vocab),
                   WEFT_ERR_INVALID;
        if (b->positions && b->positions[i] < 0)
            return snprintf(err, cap, "eval: negative position %d at row %zu", (int)b->positions[i], i),
                   WEFT_ERR_INVALID;
        if (b->parents && (b->parents[i] < -1 || b->parents[i] >= (int32_t)i))
            return snprintf(err, cap, "eval: parents[%zu] = %d must be -1 or a row before it", i,
                            (int)b->parents[i]),
                   WEFT_ERR_INVALID;
    }
    if (b->n_out > 0 && !b->out_rows)
        return snprintf(err, cap, "eval: n_out = %zu but out_rows is NULL", b->n_out), WEFT_ERR_INVALID;
    for (size_t k = 0; k < b->n_out; k++) {
        const int32_t r = b->out_rows[k];
        if (r < 0 || (size_t)r >= n || (k > 0 && r <= b->out_rows[k - 1]))
            return snprintf(err, cap, "eval: out_rows must be ascending rows of the batch (out_rows[%zu] = %d)",
                            k, (int)r),
                   WEFT_ERR_INVALID;
    }
    const bool want_hidden = b->signals & WEFT_SIGNAL_HIDDEN;
    if (b->n_out > 0 && !b->logits && !want_hidden)
        return snprintf(err, cap, "eval: n_out > 0 but logits is NULL"), WEFT_ERR_INVALID;
    if (want_hidden && (!b->hidden || b->hidden_layer < 0 || b->hidden_layer > c->n_layers ||
                        (b->hidden_layer < c->n_layers && b->hidden_layer >= n_layers_run)))
        return snprintf(err, cap,
                        "eval: hidden state of layer %d cannot be returned (buffer %s, %d of %d layers run)",
                        (int)b->hidden_layer, b->hidden ? "given" : "NULL", n_layers_run, c->n_layers),
               WEFT_ERR_INVALID;
    for (int l = 0; l < c->n_layers; l++) {
        const kv_layer *L = &fs->kv->layers[l];
        if ((size_t)L->len + n > (size_t)fs->kv->n_ctx)
            return snprintf(err, cap, "context full: %d entries + %zu new tokens exceed n_ctx %d",
                            (int)L->len, n, fs->kv->n_ctx),
                   WEFT_ERR_CONTEXT_FULL;
    }
    return WEFT_OK;
}

weft_status forward_eval(forward_state *fs, const weft_batch *batch, char *err, size_t cap) {
    if (!batch) return snprintf(err, cap, "eval: batch is NULL"), WEFT_ERR_INVALID;
    /* Fields past the caller's struct_size read as absent (abi.h). */
    weft_batch b = {0};
    memcpy(&b, batch, batch->struct_size < sizeof b ? batch->struct_size : sizeof b);
    const model_config *c = &fs->m->cfg;
    if (b.n_tokens == 0) return WEFT_OK;
    const int n_layers_run = b.n_layers_run > 0 && b.n_layers_run < c->n_layers ? b.n_layers_run : c->n_layers;
    if (b.n_layers_run < 0)
        return snprintf(err, cap, "eval: n_layers_run %d < 0", (int)b.n_layers_run), WEFT_ERR_INVALID;
    weft_status st = check_batch(fs, &b, n_layers_run, err, cap);
    if (st != WEFT_OK) return st;
    const bool accum = b.signals & WEFT_SIGNAL_ATTN_ACCUM;
    const bool obs = (b.signals & WEFT_SIGNAL_OBS_WINDOW) && b.obs_window > 0;
    if ((accum && !kv_cache_enable_accum(fs->kv)) || (obs && !kv_cache_enable_obs(fs->kv)) ||
        (accum && b.parents && !kv_cache_stage_reserve(fs->kv, (int32_t)b.n_tokens)))
        return snprintf(err, cap, "eval: out of memory for attention sums"), WEFT_ERR_NOMEM;
    /* rows staged by the previous tree batch were not dropped: they count */
    kv_cache_stage_commit(fs->kv);
    const int obs_from = obs ? (int)(b.n_tokens > (size_t)b.obs_window ? b.n_tokens - (size_t)b.obs_window : 0)
                             : (int)b.n_tokens;
    for (int l = 0; obs && l < c->n_layers; l++) /* the new window replaces the last one */
        memset(fs->kv->layers[l].obs, 0, (size_t)fs->kv->layers[l].len * c->n_heads * sizeof(float));
    if (accum && b.parents) {
        fs->kv->st.n_rows = (int32_t)b.n_tokens;
        memset(fs->kv->st.n_vis, 0, (size_t)c->n_layers * fs->kv->st.cap_rows * sizeof(int32_t));
        for (int l = 0; l < c->n_layers; l++) fs->kv->st.base[l] = fs->kv->layers[l].len;
    }

    /* Default positions continue after the newest entry (= the cache
     * length unless a compaction dropped entries but kept positions). */
    const kv_layer *L0 = &fs->kv->layers[0];
    const int32_t next_pos = L0->len > 0 ? L0->pos[L0->len - 1] + 1 : 0;
    for (int l = 0; l < c->n_layers; l++) fs->base[l] = fs->kv->layers[l].len;

    size_t k_out = 0;
    for (size_t t0 = 0; t0 < b.n_tokens; t0 += (size_t)fs->max_batch) {
        const int n = (int)(b.n_tokens - t0 < (size_t)fs->max_batch ? b.n_tokens - t0 : (size_t)fs->max_batch);
        for (int t = 0; t < n; t++)
            fs->pos[t] = b.positions ? b.positions[t0 + t] : next_pos + (int32_t)(t0 + t);
        size_t k_end = k_out;
        while (k_end < b.n_out && (size_t)b.out_rows[k_end] < t0 + (size_t)n) k_end++;
        chunk ch = {
            .tokens = b.tokens + t0,
            .positions = fs->pos,
            .t0 = (int)t0,
            .n = n,
            .parents = b.parents,
            .out_rows = b.out_rows ? b.out_rows + k_out : NULL,
            .n_out = (int)(k_end - k_out),
            .logits = b.logits ? b.logits + k_out * (size_t)c->n_vocab : NULL,
            .hidden = (b.signals & WEFT_SIGNAL_HIDDEN) ? b.hidden + k_out * (size_t)c->dim : NULL,
            .n_layers_run = n_layers_run,
            .accum = accum,
            .obs_from = obs_from,
            .hidden_layer = (b.signals & WEFT_SIGNAL_HIDDEN) ? b.hidden_layer : -1,
        };
        kv_cache_append(fs->kv, fs->pos, n);
        forward_chunk(fs, &ch);
        for (int l = 0; l < c->n_layers; l++) fs->kv->layers[l].len += n;
        k_out = k_end;
    }
    return WEFT_OK;
}

/* ------------------------------------------------------------- lifetime */

static size_t max_act_bytes(const model *m, int64_t width) {
    const layer_weights *w = &m->w.layers[0];
    size_t best = (size_t)width * sizeof(float);
    for (int l = 0; l < m->cfg.n_layers; l++) {
        w = &m->w.layers[l];
        const weight *all[] = {&w->wq, &w->wk, &w->wv, &w->wo, &w->w_gate, &w->w_up, &w->w_down};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
            size_t b = act_bytes(all[i]->type, width);
            if (b > best) best = b;
        }
    }
    size_t b = act_bytes(m->w.output.type, width);
    return b > best ? b : best;
}

forward_state *forward_new(const model *m, kv_cache *kv, int max_batch, const weft_env *env,
                           char *err, size_t cap) {
    const model_config *c = &m->cfg;
    if (max_batch <= 0) max_batch = 64;
    forward_state *fs = calloc(1, sizeof *fs);
    if (!fs) return snprintf(err, cap, "out of memory"), NULL;
    fs->m = m;
    fs->kv = kv;
    fs->env = env;
    fs->rope = model_rope(m);
    fs->max_batch = max_batch;
    fs->n_workers = env ? env->host->n_workers(env) : 1;
    if (fs->n_workers < 1) fs->n_workers = 1;

    const size_t B = (size_t)max_batch, q_dim = (size_t)c->n_heads * c->head_dim,
                 kv_dim = (size_t)c->n_kv_heads * c->head_dim;
    const int64_t widest = c->ffn_dim > (int)q_dim ? c->ffn_dim : (int64_t)q_dim > c->dim ? (int64_t)q_dim : c->dim;
    fs->x = malloc(B * c->dim * sizeof(float));
    fs->xn = malloc(B * c->dim * sizeof(float));
    fs->q = malloc(B * q_dim * sizeof(float));
    fs->k = malloc(B * kv_dim * sizeof(float));
    fs->v = malloc(B * kv_dim * sizeof(float));
    fs->att = malloc(B * q_dim * sizeof(float));
    fs->hb = malloc(B * c->ffn_dim * sizeof(float));
    fs->hb2 = malloc(B * c->ffn_dim * sizeof(float));
    fs->rope_cs = malloc(B * c->n_rot * sizeof(float) + 1);
    fs->pos = malloc(B * sizeof(int32_t));
    fs->xq_row = max_act_bytes(m, widest);
    for (int i = 0; i < 3; i++) fs->xq[i] = malloc(B * fs->xq_row);
    fs->base = malloc((size_t)c->n_layers * sizeof(int32_t));
    fs->ws = calloc((size_t)fs->n_workers, sizeof *fs->ws);
    bool ok = fs->x && fs->xn && fs->q && fs->k && fs->v && fs->att && fs->hb && fs->hb2 &&
              fs->rope_cs && fs->pos && fs->xq[0] && fs->xq[1] && fs->xq[2] && fs->base && fs->ws;
    const int n_rep = c->n_heads / c->n_kv_heads;
    const size_t score_bytes = (size_t)n_rep * kv->n_ctx * sizeof(float);
    fs->att_rows = ATT_SCORE_BYTES / score_bytes < ATT_ROWS ? (int)(ATT_SCORE_BYTES / score_bytes) : ATT_ROWS;
    if (fs->att_rows < 1) fs->att_rows = 1;
    for (int i = 0; ok && i < fs->n_workers; i++) {
        worker_scratch *w = &fs->ws[i];
        w->scores = malloc((size_t)fs->att_rows * score_bytes);
        w->krow = malloc((size_t)ATT_GROUP * c->head_dim * sizeof(float));
        w->vrow = malloc((size_t)ATT_GROUP * c->head_dim * sizeof(float));
        w->slots = malloc((size_t)fs->att_rows * kv->n_ctx * sizeof(int32_t));
        ok = w->scores && w->krow && w->vrow && w->slots;
    }
    if (!ok) {
        forward_free(fs);
        snprintf(err, cap, "out of memory for forward buffers (max_batch %d)", max_batch);
        return NULL;
    }
    return fs;
}

void forward_free(forward_state *fs) {
    if (!fs) return;
    for (int i = 0; fs->ws && i < fs->n_workers; i++) {
        free(fs->ws[i].scores);
        free(fs->ws[i].krow);
        free(fs->ws[i].vrow);
        free(fs->ws[i].slots);
    }
    free(fs->ws);
    free(fs->x);
    free(fs->xn);
    free(fs->q);
    free(fs->k);
    free(fs->v);
    free(fs->att);
    free(fs->hb);
    free(fs->hb2);
    free(fs->rope_cs);
    free(fs->pos);
    for (int i = 0; i < 3; i++) free(fs->xq[i]);
    free(fs->base);
    free(fs);
}
