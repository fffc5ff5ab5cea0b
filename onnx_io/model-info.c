/* model-info.c — the public view of a model's graph inputs (for callers of the C API who need
 * their names and types before making a session). */
#include "onnx_io/ir.h"

static bool is_initializer(const octet_ir_graph *g, const char *name) {
  return octet_ir_graph_initializer(g, name) != NULL;
}

size_t octet_model_input_count(const octet_model *m) {
  size_t n = 0;
  if (!m || !m->graph) return 0;
  for (size_t i = 0; i < m->graph->n_inputs; i++)
    n += !is_initializer(m->graph, m->graph->inputs[i].name);
  return n;
}

octet_status octet_model_input(const octet_model *m, size_t index, const char **name,
                               octet_tensor *type, octet_error *err) {
  size_t k = 0;
  for (size_t i = 0; m && m->graph && i < m->graph->n_inputs; i++) {
    const octet_ir_value *v = &m->graph->inputs[i];
    if (is_initializer(m->graph, v->name)) continue;
    if (k++ != index) continue;
    if (v->rank > OCTET_MAX_RANK)
      return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "input '%s' has rank %d (at most %d)",
                        v->name, (int)v->rank, OCTET_MAX_RANK);
    octet_tensor t = {.dtype = v->elem_type, .rank = v->rank};
    for (int32_t d = 0; d < v->rank; d++) t.dims[d] = v->dims[d].value >= 0 ? v->dims[d].value : -1;
    if (name) *name = v->name;
    if (type) *type = t;
    return OCTET_OK;
  }
  return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "the model has no input %zu", index);
}
