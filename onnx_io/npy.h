/* npy.h — the .npy header parser, shared by tensor files and streamed calibration data. */
#ifndef OCTET_ONNX_IO_NPY_H
#define OCTET_ONNX_IO_NPY_H

#include "common/common.h"

/* Parses a .npy header at b (size bytes available): dtype and dims into *shape (data NULL) and
 * the offset of the first element. Fails unless the data fits in size. */
octet_status octet_npy_header(const char *path, const unsigned char *b, size_t size,
                              octet_tensor *shape, size_t *data_offset, octet_error *err);

#endif
