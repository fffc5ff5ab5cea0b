/* run.c — the calibration loop: batches of samples through a session whose observer feeds
 * the calibrator. Graph inputs are observed here (the observer sees produced tensors only). */
#include <string.h>

#include "calibration/calibrator.h"

#define MAX_INPUTS 64

octet_status octet_calibrate(octet_calibrator *cal, octet_session *sess, const octet_model *model,
                             octet_dataset *const *ds, uint64_t first, uint64_t last, uint64_t batch,
                             octet_progress_fn progress, void *progress_ctx, octet_error *err) {
  size_t n_in = octet_session_input_count(sess), n_out = octet_session_output_count(sess);
  if (n_in > MAX_INPUTS || n_out > MAX_INPUTS)
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "calibration supports at most %d inputs and outputs",
                      MAX_INPUTS);
  octet_tensor types[MAX_INPUTS], inputs[MAX_INPUTS], outputs[MAX_INPUTS];
  uint64_t step = batch;
  for (size_t k = 0; k < n_in; k++) {
    const char *name;
    octet_status st = octet_model_input(model, k, &name, &types[k], err);
    if (st) return st;
    /* A fixed batch axis (say [1,3,48,192]) takes exactly that many samples per run. */
    if (types[k].rank > 0 && types[k].dims[0] > 0) step = (uint64_t)types[k].dims[0];
    if (!ds[k]) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "no calibration data for input '%s'", name);
    if (octet_dataset_count(ds[k]) < last)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "input '%s' has %llu samples, %llu needed", name,
                        (unsigned long long)octet_dataset_count(ds[k]), (unsigned long long)last);
  }
  if (step == 0) step = 16;
  octet_status st = OCTET_OK;
  for (uint64_t at = first; at < last && !st;) {
    uint64_t n = last - at < step ? last - at : step;
    octet_calibrator_set_batch(cal, n);
    memset(inputs, 0, sizeof inputs);
    for (size_t k = 0; k < n_in && !st; k++) {
      int32_t dt = types[k].dtype ? types[k].dtype : OCTET_DTYPE_FLOAT;
      st = octet_dataset_read(ds[k], at, n, dt, &inputs[k], err);
      if (!st) st = octet_calibrator_observe(cal, octet_session_input_name(sess, k), &inputs[k], err);
    }
    if (!st && (st = octet_session_run(sess, inputs, n_in, outputs, n_out, err))) {
      const octet_error *oe = octet_calibrator_last_error(cal);
      if (oe->status && err) *err = *oe;
    }
    for (size_t k = 0; k < n_in; k++) octet_tensor_free(&inputs[k]);
    if (st) break;
    octet_calibrator_set_batch(cal, 0);
    octet_calibrator_add_samples(cal, n);
    at += n;
    if (progress) progress(progress_ctx, at - first, last - first);
  }
  return st;
}
