/* plugin.c — the module's one entry point: hands out the kernel table for a known ABI version. */
#include "octet/octet_plugin.h"
#include "ops/registry.h"

__attribute__((visibility("default"))) const octet_plugin *octet_plugin_get(uint32_t abi_version) {
  if (abi_version != OCTET_PLUGIN_ABI_VERSION) return NULL;
  return octet_ops_plugin();
}
