/* octet.h — octet's public C API: models, sessions, status. */
#ifndef OCTET_H
#define OCTET_H

#include <stddef.h>
#include <stdint.h>

#include "octet_plugin.h" /* octet_status, octet_error, octet_tensor, octet_dtype */

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define OCTET_API
#else
#define OCTET_API __attribute__((visibility("default")))
#endif

OCTET_API const char *octet_version(void);
OCTET_API const char *octet_status_name(octet_status status);
OCTET_API const char *octet_dtype_name(int32_t dtype);

/* ---- Models ------------------------------------------------------------------------------ */

typedef struct octet_model octet_model;

typedef struct octet_load_options {
  /* Folder that external-data locations are relative to. NULL: the model file's folder
   * (for octet_model_load_buffer: external data is refused). */
  const char *external_data_dir;
} octet_load_options;

/* Loads a .onnx file (memory-mapped; large tensors stay in the mapping). */
OCTET_API octet_status octet_model_load(const char *path, const octet_load_options *options,
                                        octet_model **model, octet_error *err);
/* Loads from bytes; the bytes are copied only as far as needed, the caller may free them after. */
OCTET_API octet_status octet_model_load_buffer(const void *data, size_t size,
                                               const octet_load_options *options,
                                               octet_model **model, octet_error *err);

typedef struct octet_save_options {
  /* Tensors with at least this many bytes go to a side file (0: everything inline).
   * A model whose tensors sum to 2 GiB or more must use this. */
  uint64_t external_data_threshold;
  /* Side file name, relative to the output's folder. NULL: "<output file name>.data". */
  const char *external_data_file;
} octet_save_options;

/* Writes atomically (temporary file + rename). Refuses to overwrite a file the model was loaded
 * from or whose external data it still maps. */
OCTET_API octet_status octet_model_save(const octet_model *model, const char *path,
                                        const octet_save_options *options, octet_error *err);
OCTET_API void octet_model_destroy(octet_model *model);

/* The graph's real inputs (initializers listed as inputs excluded), in order. type->dims of
 * a symbolic or unknown dimension is -1; type->rank is -1 when the shape is unknown. */
OCTET_API size_t octet_model_input_count(const octet_model *model);
OCTET_API octet_status octet_model_input(const octet_model *model, size_t i, const char **name,
                                         octet_tensor *type, octet_error *err);

/* Describes a model for people (json = 0) or programs (json = 1): IR version, opsets, producer,
 * inputs/outputs, op-type histogram, parameters by dtype, quantization form, external files.
 * *text is allocated; free it with octet_string_free. */
OCTET_API octet_status octet_model_inspect(const octet_model *model, int json, char **text,
                                           octet_error *err);
OCTET_API void octet_string_free(char *s);

/* ---- Tensor files ------------------------------------------------------------------------ */

/* Reads a .npy array or an ONNX TensorProto .pb file (chosen by content, not by name) into a
 * tensor whose data octet allocates; *name (optional) receives the .pb's tensor name or NULL.
 * Free both with octet_tensor_free / octet_string_free. */
OCTET_API octet_status octet_tensor_load(const char *path, octet_tensor *tensor, char **name,
                                         octet_error *err);
/* Writes .npy, or a TensorProto when path ends in ".pb" (name may be NULL). Atomic. */
OCTET_API octet_status octet_tensor_save(const char *path, const octet_tensor *tensor,
                                         const char *name, octet_error *err);
/* Frees data that octet allocated for a tensor (octet_tensor_load) and clears the pointer. */
OCTET_API void octet_tensor_free(octet_tensor *tensor);

/* ---- Sessions ---------------------------------------------------------------------------- */

typedef struct octet_session octet_session;

/* Called with every tensor a node produces (or the subset named in observe_names).
 * Return non-zero to stop the run with an error. The tensor is valid only during the call. */
typedef int (*octet_observer_fn)(void *ctx, const char *tensor_name, const char *node_name,
                                 const octet_tensor *value);

typedef struct octet_session_options {
  uint32_t n_threads;        /* 0: all cores */
  const char *plugin_path;   /* NULL: $OCTET_PLUGIN, then next to the library/executable */
  octet_observer_fn observer;
  void *observer_ctx;
  const char *const *observe_names; /* NULL: every tensor */
  size_t n_observe_names;
  int profile;               /* record per-node timings */
} octet_session_options;

OCTET_API octet_status octet_session_create(const octet_model *model,
                                            const octet_session_options *options,
                                            octet_session **session, octet_error *err);

OCTET_API size_t octet_session_input_count(const octet_session *session);
OCTET_API size_t octet_session_output_count(const octet_session *session);
OCTET_API const char *octet_session_input_name(const octet_session *session, size_t i);
OCTET_API const char *octet_session_output_name(const octet_session *session, size_t i);

/* Runs the model. inputs[i] is the value of graph input i (octet_session_input_name order).
 * outputs receives output_count tensors whose data the session owns until the next run or
 * destroy. */
OCTET_API octet_status octet_session_run(octet_session *session, const octet_tensor *inputs,
                                         size_t n_inputs, octet_tensor *outputs,
                                         size_t n_outputs, octet_error *err);

/* Profile of the last run (when options.profile was set): one line per executed node. */
typedef struct octet_profile_entry {
  const char *node_name;
  const char *op_type;
  const char *kernel; /* e.g. "float", "int8 QLinearConv" */
  double seconds;
} octet_profile_entry;
OCTET_API size_t octet_session_profile(const octet_session *session,
                                       const octet_profile_entry **entries);

OCTET_API void octet_session_destroy(octet_session *session);

/* ---- Calibration ------------------------------------------------------------------------- */

/* Collects a streaming histogram per float tensor. Memory does not grow with the number of
 * samples; states written by shards merge into exactly what one pass would have produced. */
typedef struct octet_calibrator octet_calibrator;

typedef struct octet_calibrator_options {
  uint32_t bins_per_side; /* histogram bins on each side of zero, a power of two; 0: 2048 */
} octet_calibrator_options;

OCTET_API octet_status octet_calibrator_create(const octet_calibrator_options *options,
                                               octet_calibrator **calibrator, octet_error *err);
OCTET_API void octet_calibrator_destroy(octet_calibrator *calibrator);

/* Adds a tensor's values under `name` (non-float tensors are ignored). */
OCTET_API octet_status octet_calibrator_observe(octet_calibrator *calibrator, const char *name,
                                                const octet_tensor *value, octet_error *err);
/* Counts samples (for the table and progress); observe does not know batch sizes. */
OCTET_API void octet_calibrator_add_samples(octet_calibrator *calibrator, uint64_t samples);
/* An octet_observer_fn: set session options' observer to this and observer_ctx to the calibrator. */
OCTET_API int octet_calibrator_observer(void *calibrator, const char *tensor_name,
                                        const char *node_name, const octet_tensor *value);
/* The first error an observer callback hit (observers cannot return messages). */
OCTET_API const octet_error *octet_calibrator_last_error(const octet_calibrator *calibrator);

/* Partial states, for sharded calibration: save, then merge any number into one calibrator. */
OCTET_API octet_status octet_calibrator_save_state(const octet_calibrator *calibrator,
                                                   const char *path, octet_error *err);
OCTET_API octet_status octet_calibrator_merge_state(octet_calibrator *calibrator,
                                                    const char *path, octet_error *err);

typedef struct octet_calibration_choice {
  const char *methods;    /* comma-separated: minmax, percentile, entropy, mse; NULL: all */
  double percentile;      /* 0: 99.999 */
  uint32_t entropy_bins;  /* 0: 2048 */
  uint32_t entropy_levels;/* 0: 128 */
  int symmetric;          /* ranges symmetric around 0 */
  int signed_target;      /* s8 activations instead of u8 */
} octet_calibration_choice;

/* Writes the calibration table (JSON): per tensor the observed min/max, the range each method
 * chose, and a histogram summary. Atomic. */
OCTET_API octet_status octet_calibrator_write_table(const octet_calibrator *calibrator,
                                                    const octet_calibration_choice *choice,
                                                    const char *path, octet_error *err);
/* Reads a table written by octet_calibrator_write_table into an empty calibrator: the quantizer
 * then uses the table's ranges (per method) instead of histograms. */
OCTET_API octet_status octet_calibrator_load_table(octet_calibrator *calibrator, const char *path,
                                                   octet_error *err);
/* Writes the ranges of one method as a TensorRT calibration cache (text, scale = T / 127). */
OCTET_API octet_status octet_calibrator_write_trt_cache(const octet_calibrator *calibrator,
                                                        const octet_calibration_choice *choice,
                                                        const char *method, const char *path,
                                                        octet_error *err);

/* Which tensors a calibration run must observe for the static quantizer (so a calibrating
 * session skips histograms nobody reads). */
typedef struct octet_observe_list_options {
  /* The quantizer's exclusions (comma-separated, as in octet_quantize_options): an excluded
   * Relu/Clip is not folded into its producer, so the producer's own output is then needed. */
  const char *exclude_nodes;
  const char *exclude_ops;
  /* As octet_quantize_options.per_tensor_weights: with it, a model below opset 13 keeps its
   * opset, so x*Clip(x+3,0,6)/6 is not fused into one HardSwish and its steps need ranges. */
  int per_tensor_weights;
} octet_observe_list_options;

/* The tensors of `model` (prepared, as it will be calibrated and quantized) whose ranges the
 * static quantizer can use: data inputs and outputs of the ops it quantizes (Conv,
 * ConvTranspose, MatMul, Gemm, Add, Mul, pools, Concat, and the data-movement ops that pass a
 * quantized input on), with a Relu/Clip that folds into its producer standing in for the
 * producer's output, and Softmax inputs (whose rank the opset upgrade checks). The steps of a
 * spelled-out hard-swish that the quantizer fuses into one float HardSwish are left out. Every other float
 * tensor (what flows between ops that stay float) is left out. *names points into the model's
 * strings (valid while it lives); free the array with octet_observe_list_free. Pass them as
 * octet_session_options.observe_names / n_observe_names; leave observe_names NULL to observe
 * every tensor, as before. Keep the op lists in step with quantize/qdq.c's op_role. */
OCTET_API octet_status octet_observe_list(const octet_model *model,
                                          const octet_observe_list_options *options,
                                          const char ***names, size_t *n_names, octet_error *err);
OCTET_API void octet_observe_list_free(const char **names);

/* ---- Calibration data ---------------------------------------------------------------------- */

/* One graph input's samples: a .npy array (first axis = samples; float32, float16, uint8, ...),
 * a member of a .npz, a folder of TensorProto .pb files (one sample each, sorted by name), a
 * folder of ONNX test-data sets (test_data_set_N/input_<member>.pb), or a folder of PNG/JPEG
 * images. Reads are streamed: memory does not grow with the number of samples. */
typedef struct octet_dataset octet_dataset;

typedef struct octet_image_options {
  int height, width;      /* resize to this (bilinear); 0: keep each image's size */
  float scale;            /* pixel (0..255) * scale, before mean/std; 0: 1/255 */
  float mean[3], std[3];  /* per channel, in the output channel order; std 0: 1 */
  int nhwc;               /* layout of the produced tensor; default NCHW */
  int bgr;                /* channel order of the produced tensor; default RGB */
} octet_image_options;

/* member: the .npz array name, or the input index for test-data-set folders ("0", "1", ...);
 * NULL picks the only/first one. */
OCTET_API octet_status octet_dataset_open(const char *path, const char *member,
                                          const octet_image_options *image,
                                          octet_dataset **dataset, octet_error *err);
OCTET_API uint64_t octet_dataset_count(const octet_dataset *dataset);
/* Samples [first, first + count) stacked on a new first axis (arrays: their own first axis),
 * converted to dtype; out->data is allocated by octet (octet_tensor_free). */
OCTET_API octet_status octet_dataset_read(octet_dataset *dataset, uint64_t first, uint64_t count,
                                          int32_t dtype, octet_tensor *out, octet_error *err);
OCTET_API void octet_dataset_destroy(octet_dataset *dataset);

/* Called after each batch with the samples done so far and the total. */
typedef void (*octet_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/* Feeds samples [first, last) of the datasets (one per session input, in input order) through
 * the session in batches, observing the inputs and every produced float tensor in calibrator.
 * The session must have been created with octet_calibrator_observer and this calibrator.
 * batch 0: the input's fixed batch size, else 16. */
OCTET_API octet_status octet_calibrate(octet_calibrator *calibrator, octet_session *session,
                                       const octet_model *model, octet_dataset *const *datasets,
                                       uint64_t first, uint64_t last, uint64_t batch,
                                       octet_progress_fn progress, void *progress_ctx,
                                       octet_error *err);

/* ---- Quantization -------------------------------------------------------------------------- */

typedef struct octet_quantize_options {
  const char *format;        /* "qdq" (default), "qop", or "octet" (ai.octet domain, for ORT + plugin) */
  const char *method;        /* activation ranges: minmax, percentile, entropy, mse; NULL: default */
  octet_calibration_choice choice; /* percentile / entropy settings (methods is ignored) */
  int per_tensor_weights;    /* default: per output channel */
  int signed_weights;        /* int8 weights (zero point 0); default uint8 with zero point 128,
                              * the same 255 levels, exact in every ONNX Runtime CPU kernel */
  int signed_activations;    /* int8 activations (default uint8) */
  const char *exclude_nodes; /* comma-separated node names kept float */
  const char *exclude_ops;   /* comma-separated op types kept float */
  const char *mode;          /* "static" (default: calibrated ranges), "dynamic" (int8 weights,
                              * activations quantized at run time; no calibrator needed) or
                              * "auto" (octet_quantize_auto_mode) */
} octet_quantize_options;

/* Step 1, before calibrating: Constant nodes become initializers, BatchNormalization folds into
 * Conv. *notes (optional, octet_string_free) says what changed. */
OCTET_API octet_status octet_quantize_prepare(octet_model *model, char **notes, octet_error *err);
/* Step 2: rewrites the prepared, calibrated model in place (QDQ or QOperator form). *summary
 * (optional) is a one-screen text of what was quantized and what stayed float, and why. */
OCTET_API octet_status octet_quantize_model(octet_model *model, const octet_calibrator *calibrator,
                                            const octet_quantize_options *options, char **summary,
                                            octet_error *err);
/* Whether the model already holds quantized operators (QDQ pairs, QLinear*, *Integer). */
OCTET_API int octet_model_is_quantized(const octet_model *model);

/* "dynamic" for recurrent or matmul-heavy (transformer-like) graphs, else "static"; reason
 * (optional) gets a one-line why. */
OCTET_API const char *octet_quantize_auto_mode(const octet_model *model, char *reason, size_t reason_size);

/* Per-layer error report. For every activation with a QuantizeLinear/DequantizeLinear pair in
 * quantized_model (QDQ form; built from float_model, both prepared alike): the float range the
 * calibrator saw, the range the int8 grid covers, the share of calibration values clipped, and
 * the SQNR / max error of the DequantizeLinear output against the float tensor on samples
 * [first, last) of datasets (one per input); plus each output's SQNR and, for [N, C] scores,
 * top-1 agreement. method: the range method's name for the page (NULL: the default).
 * session_options: threads and plugin (observer fields are replaced). */
typedef struct octet_quantize_report octet_quantize_report;
OCTET_API octet_status octet_quantize_report_create(const octet_model *float_model,
                                                    const octet_model *quantized_model,
                                                    const octet_calibrator *calibrator, const char *method,
                                                    octet_dataset *const *datasets, uint64_t first,
                                                    uint64_t last, const octet_session_options *session_options,
                                                    octet_quantize_report **report, octet_error *err);
/* The terminal table (free with octet_string_free). */
OCTET_API octet_status octet_quantize_report_text(const octet_quantize_report *report, char **text,
                                                  octet_error *err);
/* A self-contained HTML page (inline SVG: SQNR by layer, a histogram per tensor). Atomic. */
OCTET_API octet_status octet_quantize_report_write_html(const octet_quantize_report *report,
                                                        const char *path, octet_error *err);
OCTET_API void octet_quantize_report_destroy(octet_quantize_report *report);

/* Accuracy-driven fallback: quantizes `model` (prepared, calibrated) like octet_quantize_model,
 * but hands the most harmful nodes back to float until the evaluation drop is at most max_drop.
 * Metrics: "top1" (labels needed; drop in points), "agree" (argmax agreement of output 0 with
 * float, 100 - %), "iou:T" (IoU of the (output 0 > T) maps vs float, 100 x (1 - worst sample)),
 * "sqnr" (output 0's signal-to-quantization-noise ratio against float over all the samples, in
 * dB: the bound is min_sqnr instead of max_drop); NULL: top1 with labels, else agree. The float
 * set is the first graph-order prefix (of up to a quarter of the candidates) meeting the bound,
 * else the shortest prefix of a ranking by the output error each node removes alone (on
 * rank_samples samples); then each chosen node is tried back in int8. options->exclude_nodes
 * stay float too.
 * *summary tells the search and the result; *bound_met (optional) whether the bound was met
 * (when not, the model is written with every candidate float). */
typedef struct octet_fallback_options {
  double max_drop;
  const char *metric;
  double min_sqnr;              /* metric "sqnr": the bound, in dB */
  int check_only;               /* measure the fully quantized model only: when it misses the bound,
                                   return at once with *bound_met = 0 and the model untouched */
  const char *label;            /* prefix of the summary's and progress lines (NULL: "fallback") */
  octet_dataset *const *data;   /* evaluation inputs, one per graph input */
  octet_dataset *labels;        /* integer labels (top1) or NULL */
  uint64_t first, last;         /* evaluation samples [first, last) */
  uint64_t rank_samples;        /* 0: 256 */
  octet_session_options session; /* threads, plugin */
  void (*progress)(void *ctx, const char *line); /* optional: each search step as it happens */
  void *progress_ctx;
} octet_fallback_options;
OCTET_API octet_status octet_quantize_fallback(octet_model *model, const octet_calibrator *calibrator,
                                               const octet_quantize_options *options,
                                               const octet_fallback_options *fallback, char **summary,
                                               int *bound_met, octet_error *err);

/* Empirical bias correction: runs float_model and the quantized QDQ model (built from it) on
 * samples [first, last) of data, and subtracts from each Conv/ConvTranspose/Gemm int32 bias the
 * per-output-channel mean shift quantization introduced (in bias-scale steps). */
OCTET_API octet_status octet_quantize_bias_correction(const octet_model *float_model, octet_model *quantized,
                                                      octet_dataset *const *data, uint64_t first, uint64_t last,
                                                      const octet_session_options *session_options,
                                                      char **summary, octet_error *err);

#ifdef __cplusplus
}
#endif
#endif
