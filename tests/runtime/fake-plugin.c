/* fake-plugin.c — stand-ins for broken kernel modules: built once without the entry point and
 * once with an entry point that speaks no ABI version. */
#include <stddef.h>
#include <stdint.h>

#ifdef FAKE_NO_ENTRY
__attribute__((visibility("default"))) int octet_fake_symbol(void) { return 42; }
#else
__attribute__((visibility("default"))) const void *octet_plugin_get(uint32_t abi_version) {
  (void)abi_version;
  return NULL;
}
#endif
