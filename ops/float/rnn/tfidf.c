/* tfidf.c — TfIdfVectorizer (opset 9) over integer token tensors ([C] or [N, C]): counts of
 * the pool's n-grams, with skips, as TF, IDF or TF-IDF. String pools are not supported. */
#include <stdio.h>

#include "ops/kernel-util.h"

typedef struct tfidf_state {
  int mode; /* 0 TF, 1 IDF, 2 TFIDF */
  int64_t min_n, max_n, max_skip;
  size_t n_pool, n_levels, n_grams, out_dim;
  int64_t *pool;     /* token pool */
  int64_t *level;    /* ngram_counts: start in pool of the (k+1)-grams */
  int64_t *index;    /* ngram_indexes: output coordinate of the i-th n-gram */
  float *weight;     /* per n-gram, or NULL (1) */
  char node[96];
} tfidf_state;

static void tfidf_free(tfidf_state *s) {
  if (!s) return;
  octet_free(s->pool);
  octet_free(s->level);
  octet_free(s->index);
  octet_free(s->weight);
  octet_free(s);
}

void octet_k_tfidf_destroy(void *state) { tfidf_free(state); }

static int64_t *dup_ints(const int64_t *v, size_t n) {
  int64_t *d = octet_malloc((n ? n : 1) * sizeof *d);
  if (d && n) memcpy(d, v, n * sizeof *d);
  return d;
}

OCTET_K_CREATE(octet_k_tfidf_create) {
  octet_status st = octet_k_expect_inputs(info, 1, 1, err);
  if (st) return st;
  if ((st = octet_k_expect_dtype(info, 0, OCTET_DT(INT32) | OCTET_DT(INT64), err))) return st;
  if (octet_attr_find(info, "pool_strings"))
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "node '%s' (TfIdfVectorizer): pool_strings is not supported",
                      info->node_name);
  tfidf_state *s = octet_calloc(1, sizeof *s);
  if (!s) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory", info->node_name);
  snprintf(s->node, sizeof s->node, "%s", info->node_name ? info->node_name : "");
  const char *mode;
  const int64_t *pool, *counts, *idx;
  const float *w;
  size_t n_pool, n_counts, n_idx, n_w;
  if ((st = octet_attr_string(info, "mode", "TF", &mode, err)) ||
      (st = octet_attr_int(info, "min_gram_length", 1, &s->min_n, err)) ||
      (st = octet_attr_int(info, "max_gram_length", 1, &s->max_n, err)) ||
      (st = octet_attr_int(info, "max_skip_count", 0, &s->max_skip, err)) ||
      (st = octet_attr_ints(info, "pool_int64s", &pool, &n_pool, err)) ||
      (st = octet_attr_ints(info, "ngram_counts", &counts, &n_counts, err)) ||
      (st = octet_attr_ints(info, "ngram_indexes", &idx, &n_idx, err)) ||
      (st = octet_attr_floats(info, "weights", &w, &n_w, err)))
    goto fail;
  s->mode = !strcmp(mode, "TF") ? 0 : !strcmp(mode, "IDF") ? 1 : !strcmp(mode, "TFIDF") ? 2 : -1;
  if (s->mode < 0 || s->min_n < 1 || s->max_n < s->min_n || s->max_skip < 0 || n_counts == 0) {
    st = octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                    "node '%s' (TfIdfVectorizer): bad mode / gram lengths / skip / ngram_counts", s->node);
    goto fail;
  }
  /* Count the pool's n-grams level by level, checking the levels tile the pool. */
  size_t grams = 0;
  for (size_t k = 0; k < n_counts; k++) {
    int64_t start = counts[k], end = k + 1 < n_counts ? counts[k + 1] : (int64_t)n_pool;
    if (start < 0 || end < start || end > (int64_t)n_pool || (end - start) % (int64_t)(k + 1)) {
      st = octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                      "node '%s' (TfIdfVectorizer): ngram_counts do not split the pool into n-grams", s->node);
      goto fail;
    }
    grams += (size_t)(end - start) / (k + 1);
  }
  if (n_idx != grams || (n_w && n_w != grams)) {
    st = octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                    "node '%s' (TfIdfVectorizer): %zu n-grams but %zu ngram_indexes / %zu weights", s->node,
                    grams, n_idx, n_w);
    goto fail;
  }
  int64_t out_dim = 0;
  for (size_t i = 0; i < n_idx; i++) {
    if (idx[i] < 0) {
      st = octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s': negative ngram_indexes", s->node);
      goto fail;
    }
    if (idx[i] + 1 > out_dim) out_dim = idx[i] + 1;
  }
  s->n_pool = n_pool, s->n_levels = n_counts, s->n_grams = grams, s->out_dim = (size_t)out_dim;
  s->pool = dup_ints(pool, n_pool);
  s->level = dup_ints(counts, n_counts);
  s->index = dup_ints(idx, n_idx);
  if (n_w) {
    s->weight = octet_malloc(n_w * sizeof(float));
    if (s->weight) memcpy(s->weight, w, n_w * sizeof(float));
  }
  if (!s->pool || !s->level || !s->index || (n_w && !s->weight)) {
    st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory", s->node);
    goto fail;
  }
  out_dtypes[0] = OCTET_DTYPE_FLOAT;
  *state = s;
  return OCTET_OK;
fail:
  tfidf_free(s);
  return st;
}

OCTET_K_INFER(octet_k_tfidf_infer) {
  tfidf_state *s = state;
  const octet_tensor *x = in[0];
  if (x->rank != 1 && x->rank != 2)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s' (TfIdfVectorizer): input must be [C] or [N, C]", s->node);
  out[0].dtype = OCTET_DTYPE_FLOAT;
  out[0].rank = x->rank;
  if (x->rank == 2) out[0].dims[0] = x->dims[0];
  out[0].dims[x->rank - 1] = (int64_t)s->out_dim;
  *workspace = 0;
  return OCTET_OK;
}

/* The ordinal of the n-gram tok[0], tok[step], ... in the pool, or -1. */
static int64_t find_gram(const tfidf_state *s, const octet_tensor *x, size_t first, size_t step, size_t n) {
  if (n > s->n_levels) return -1;
  size_t ordinal = 0;
  for (size_t k = 0; k + 1 < n; k++) {
    int64_t end = k + 1 < s->n_levels ? s->level[k + 1] : (int64_t)s->n_pool;
    ordinal += (size_t)(end - s->level[k]) / (k + 1);
  }
  int64_t start = s->level[n - 1], end = n < s->n_levels ? s->level[n] : (int64_t)s->n_pool;
  for (int64_t p = start; p < end; p += (int64_t)n, ordinal++) {
    size_t j = 0;
    while (j < n && s->pool[p + (int64_t)j] == octet_k_get_int(x, first + j * step)) j++;
    if (j == n) return (int64_t)ordinal;
  }
  return -1;
}

OCTET_K_RUN(octet_k_tfidf_run) {
  tfidf_state *s = state;
  const octet_tensor *x = in[0];
  size_t rows = x->rank == 2 ? (size_t)x->dims[0] : 1, len = (size_t)x->dims[x->rank - 1];
  float *y = out[0].data;
  memset(y, 0, rows * s->out_dim * sizeof(float));
  for (size_t r = 0; r < rows; r++) {
    float *yr = y + r * s->out_dim;
    for (size_t n = (size_t)s->min_n; n <= (size_t)s->max_n; n++)
      for (size_t pos = 0; pos < len; pos++)
        /* Unigrams have no gaps: count each position once. */
        for (size_t skip = 0; skip <= (n == 1 ? 0 : (size_t)s->max_skip); skip++) {
          size_t step = skip + 1;
          if (pos + (n - 1) * step >= len) break;
          int64_t g = find_gram(s, x, r * len + pos, step, n);
          if (g >= 0) yr[s->index[g]] += 1.0f;
        }
    for (size_t i = 0; i < s->n_grams; i++) {
      float *v = &yr[s->index[i]];
      float w = s->weight ? s->weight[i] : 1.0f;
      if (s->mode == 1) *v = (*v > 0.0f ? 1.0f : 0.0f) * w;
      else if (s->mode == 2) *v *= w;
    }
  }
  return OCTET_OK;
}
