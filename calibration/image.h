/* image.h — one PNG or JPEG file to a normalized float tensor [C, H, W] or [H, W, C]. */
#ifndef OCTET_CALIBRATION_IMAGE_H
#define OCTET_CALIBRATION_IMAGE_H

#include "common/common.h"

octet_status octet_image_load(const char *path, const octet_image_options *o, octet_tensor *out,
                              octet_error *err);

#endif
