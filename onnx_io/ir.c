/* ir.c — IR helpers: lookups, builders. */
#include "onnx_io/ir.h"
