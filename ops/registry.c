/* registry.c — one list drives the table: each ops group declares its kernels once in a .inc
 * file as OCTET_KERNEL(domain, op_type, since_version, flags, create, infer, run, destroy). */
#include <string.h>

#include "common/common.h"
#include "ops/registry.h"

#define OCTET_KERNEL(domain, op, since, flags, create, infer, run, destroy)                    \
  octet_status create(const octet_kernel_info *, int32_t *, void **, octet_error *);          \
  octet_status infer(void *, const octet_tensor *const *, size_t, octet_tensor *, size_t,     \
                     size_t *, octet_error *);                                                \
  octet_status run(void *, const octet_tensor *const *, size_t, octet_tensor *, size_t, void *, \
                   const octet_host *, octet_error *);                                        \
  void destroy(void *);
#include "ops/kernels.inc"
#undef OCTET_KERNEL

#define OCTET_KERNEL(domain, op, since, flags, create, infer, run, destroy) \
  {domain, op, since, flags, create, infer, run, destroy},
static const octet_kernel kernels[] = {
#include "ops/kernels.inc"
};
#undef OCTET_KERNEL

static const octet_plugin plugin = {
  .abi_version = OCTET_PLUGIN_ABI_VERSION,
  .name = "octet",
  .version = "0.1.0",
  .isa = "ref",
  .n_kernels = OCTET_COUNTOF(kernels),
  .kernels = kernels,
};

const octet_plugin *octet_ops_plugin(void) { return &plugin; }

const octet_kernel *octet_ops_find(const octet_plugin *p, const char *domain,
                                   const char *op_type, int64_t opset) {
  return octet_plugin_find(p, domain, op_type, opset);
}
