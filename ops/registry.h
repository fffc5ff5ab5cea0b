/* registry.h — the kernel table that the plugin module exports and tests link directly. */
#ifndef OCTET_OPS_REGISTRY_H
#define OCTET_OPS_REGISTRY_H

#include "octet/octet_plugin.h"

/* Every kernel of this build, ordered as the .inc files list them. */
const octet_plugin *octet_ops_plugin(void);

/* The kernel serving (domain, op_type) at `opset`: the entry with the largest since_version
 * <= opset. domain "" and "ai.onnx" are the same. NULL when none. Works on any plugin table. */
const octet_kernel *octet_ops_find(const octet_plugin *plugin, const char *domain,
                                   const char *op_type, int64_t opset);

#endif
