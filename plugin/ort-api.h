/* ort-api.h — octet's own minimal declarations of the ONNX Runtime C API parts that the
 * custom-op adapter and its tests use. Written from ORT's documented, append-only ABI; not ORT's
 * header. OrtApi is a table of function pointers whose slot numbers never change: only the slots
 * octet calls are named, the rest are padding, and every name is checked against its slot below.
 * Slot numbers were counted from ORT's versioned table and are proven against the real library by
 * tests/ort-host. */
#ifndef OCTET_ORT_API_H
#define OCTET_ORT_API_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The table version octet asks for: 17 (ORT >= 1.17) has KernelContext_ParallelFor, the newest
 * slot used here, and custom ops with status-returning CreateKernelV2/KernelComputeV2. */
#define OCTET_ORT_API_VERSION 17u

typedef struct OrtStatus OrtStatus;
typedef struct OrtEnv OrtEnv;
typedef struct OrtSession OrtSession;
typedef struct OrtSessionOptions OrtSessionOptions;
typedef struct OrtRunOptions OrtRunOptions;
typedef struct OrtValue OrtValue;
typedef struct OrtMemoryInfo OrtMemoryInfo;
typedef struct OrtTypeInfo OrtTypeInfo;
typedef struct OrtTensorTypeAndShapeInfo OrtTensorTypeAndShapeInfo;
typedef struct OrtCustomOpDomain OrtCustomOpDomain;
typedef struct OrtKernelInfo OrtKernelInfo;
typedef struct OrtKernelContext OrtKernelContext;
typedef struct OrtShapeInferContext OrtShapeInferContext;
typedef struct OrtAllocator OrtAllocator; /* used only through pointers here */
struct OrtCustomOp;

typedef enum OrtErrorCode {
  ORT_OK = 0,
  ORT_FAIL = 1,
  ORT_INVALID_ARGUMENT = 2,
  ORT_NO_SUCHFILE = 3,
  ORT_NO_MODEL = 4,
  ORT_ENGINE_ERROR = 5,
  ORT_RUNTIME_EXCEPTION = 6,
  ORT_INVALID_PROTOBUF = 7,
  ORT_MODEL_LOADED = 8,
  ORT_NOT_IMPLEMENTED = 9,
  ORT_INVALID_GRAPH = 10,
  ORT_EP_FAIL = 11,
} OrtErrorCode;

/* Element types use ONNX's TensorProto numbers, as octet_dtype does. */
typedef int ONNXTensorElementDataType;

typedef enum OrtLoggingLevel {
  ORT_LOGGING_LEVEL_VERBOSE = 0,
  ORT_LOGGING_LEVEL_INFO = 1,
  ORT_LOGGING_LEVEL_WARNING = 2,
  ORT_LOGGING_LEVEL_ERROR = 3,
  ORT_LOGGING_LEVEL_FATAL = 4,
} OrtLoggingLevel;

typedef enum GraphOptimizationLevel {
  ORT_DISABLE_ALL = 0,
  ORT_ENABLE_BASIC = 1,
  ORT_ENABLE_EXTENDED = 2,
  ORT_ENABLE_ALL = 99,
} GraphOptimizationLevel;

typedef enum OrtAllocatorType { OrtDeviceAllocator = 0, OrtArenaAllocator = 1 } OrtAllocatorType;
typedef enum OrtMemType { OrtMemTypeDefault = 0 } OrtMemType;

typedef enum OrtCustomOpInputOutputCharacteristic {
  INPUT_OUTPUT_REQUIRED = 0,
  INPUT_OUTPUT_OPTIONAL = 1,
  INPUT_OUTPUT_VARIADIC = 2,
} OrtCustomOpInputOutputCharacteristic;

typedef void (*octet_ort_slot)(void); /* an entry octet never calls */
#define OCTET_ORT_PAD(first, last) octet_ort_slot pad_##first##_##last[(last) - (first) + 1]

typedef struct OrtApi {
  /* 0 */ OrtStatus *(*CreateStatus)(OrtErrorCode code, const char *msg);
  /* 1 */ OrtErrorCode (*GetErrorCode)(const OrtStatus *status);
  /* 2 */ const char *(*GetErrorMessage)(const OrtStatus *status);
  /* 3 */ OrtStatus *(*CreateEnv)(OrtLoggingLevel level, const char *logid, OrtEnv **out);
  OCTET_ORT_PAD(4, 6);
  /* 7 */ OrtStatus *(*CreateSession)(const OrtEnv *env, const char *model_path,
                                      const OrtSessionOptions *options, OrtSession **out);
  OCTET_ORT_PAD(8, 8);
  /* 9 */ OrtStatus *(*Run)(OrtSession *session, const OrtRunOptions *run_options,
                            const char *const *input_names, const OrtValue *const *inputs,
                            size_t input_len, const char *const *output_names,
                            size_t output_names_len, OrtValue **outputs);
  /* 10 */ OrtStatus *(*CreateSessionOptions)(OrtSessionOptions **options);
  OCTET_ORT_PAD(11, 21);
  /* 22 */ OrtStatus *(*SetSessionLogSeverityLevel)(OrtSessionOptions *options, int level);
  /* 23 */ OrtStatus *(*SetSessionGraphOptimizationLevel)(OrtSessionOptions *options,
                                                          GraphOptimizationLevel level);
  /* 24 */ OrtStatus *(*SetIntraOpNumThreads)(OrtSessionOptions *options, int n);
  OCTET_ORT_PAD(25, 25);
  /* 26 */ OrtStatus *(*CreateCustomOpDomain)(const char *domain, OrtCustomOpDomain **out);
  /* 27 */ OrtStatus *(*CustomOpDomain_Add)(OrtCustomOpDomain *domain, const struct OrtCustomOp *op);
  /* 28 */ OrtStatus *(*AddCustomOpDomain)(OrtSessionOptions *options, OrtCustomOpDomain *domain);
  /* 29 */ OrtStatus *(*RegisterCustomOpsLibrary)(OrtSessionOptions *options,
                                                  const char *library_path, void **library_handle);
  OCTET_ORT_PAD(30, 35);
  /* 36 */ OrtStatus *(*SessionGetInputName)(const OrtSession *session, size_t index,
                                             OrtAllocator *allocator, char **value);
  /* 37 */ OrtStatus *(*SessionGetOutputName)(const OrtSession *session, size_t index,
                                              OrtAllocator *allocator, char **value);
  OCTET_ORT_PAD(38, 48);
  /* 49 */ OrtStatus *(*CreateTensorWithDataAsOrtValue)(const OrtMemoryInfo *info, void *data,
                                                        size_t data_bytes, const int64_t *shape,
                                                        size_t shape_len,
                                                        ONNXTensorElementDataType type,
                                                        OrtValue **out);
  OCTET_ORT_PAD(50, 50);
  /* 51 */ OrtStatus *(*GetTensorMutableData)(OrtValue *value, void **out);
  OCTET_ORT_PAD(52, 54);
  /* 55 */ OrtStatus *(*CastTypeInfoToTensorInfo)(const OrtTypeInfo *type_info,
                                                  const OrtTensorTypeAndShapeInfo **out);
  OCTET_ORT_PAD(56, 59);
  /* 60 */ OrtStatus *(*GetTensorElementType)(const OrtTensorTypeAndShapeInfo *info,
                                              ONNXTensorElementDataType *out);
  /* 61 */ OrtStatus *(*GetDimensionsCount)(const OrtTensorTypeAndShapeInfo *info, size_t *out);
  /* 62 */ OrtStatus *(*GetDimensions)(const OrtTensorTypeAndShapeInfo *info, int64_t *dims,
                                       size_t dims_len);
  OCTET_ORT_PAD(63, 64);
  /* 65 */ OrtStatus *(*GetTensorTypeAndShape)(const OrtValue *value,
                                               OrtTensorTypeAndShapeInfo **out);
  OCTET_ORT_PAD(66, 68);
  /* 69 */ OrtStatus *(*CreateCpuMemoryInfo)(OrtAllocatorType type, OrtMemType mem_type,
                                             OrtMemoryInfo **out);
  OCTET_ORT_PAD(70, 75);
  /* 76 */ OrtStatus *(*AllocatorFree)(OrtAllocator *allocator, void *p);
  OCTET_ORT_PAD(77, 77);
  /* 78 */ OrtStatus *(*GetAllocatorWithDefaultOptions)(OrtAllocator **out);
  OCTET_ORT_PAD(79, 84);
  /* 85 */ OrtStatus *(*KernelInfoGetAttribute_float)(const OrtKernelInfo *info, const char *name,
                                                      float *out);
  /* 86 */ OrtStatus *(*KernelInfoGetAttribute_int64)(const OrtKernelInfo *info, const char *name,
                                                      int64_t *out);
  /* 87 */ OrtStatus *(*KernelInfoGetAttribute_string)(const OrtKernelInfo *info, const char *name,
                                                       char *out, size_t *size);
  /* 88 */ OrtStatus *(*KernelContext_GetInputCount)(const OrtKernelContext *ctx, size_t *out);
  OCTET_ORT_PAD(89, 89);
  /* 90 */ OrtStatus *(*KernelContext_GetInput)(const OrtKernelContext *ctx, size_t index,
                                                const OrtValue **out);
  /* 91 */ OrtStatus *(*KernelContext_GetOutput)(OrtKernelContext *ctx, size_t index,
                                                 const int64_t *dims, size_t dim_count,
                                                 OrtValue **out);
  /* 92 */ void (*ReleaseEnv)(OrtEnv *p);
  /* 93 */ void (*ReleaseStatus)(OrtStatus *p);
  /* 94 */ void (*ReleaseMemoryInfo)(OrtMemoryInfo *p);
  /* 95 */ void (*ReleaseSession)(OrtSession *p);
  /* 96 */ void (*ReleaseValue)(OrtValue *p);
  OCTET_ORT_PAD(97, 97);
  /* 98 */ void (*ReleaseTypeInfo)(OrtTypeInfo *p);
  /* 99 */ void (*ReleaseTensorTypeAndShapeInfo)(OrtTensorTypeAndShapeInfo *p);
  /* 100 */ void (*ReleaseSessionOptions)(OrtSessionOptions *p);
  /* 101 */ void (*ReleaseCustomOpDomain)(OrtCustomOpDomain *p); /* last slot of version 1 */
  OCTET_ORT_PAD(102, 129);
  /* 130 */ OrtStatus *(*AddSessionConfigEntry)(OrtSessionOptions *options, const char *key,
                                                const char *value);
  OCTET_ORT_PAD(131, 162);
  /* 163 */ OrtStatus *(*KernelInfoGetAttributeArray_int64)(const OrtKernelInfo *info,
                                                            const char *name, int64_t *out,
                                                            size_t *size);
  OCTET_ORT_PAD(164, 227);
  /* 228 */ OrtStatus *(*RegisterCustomOpsLibrary_V2)(OrtSessionOptions *options,
                                                      const char *library_path);
  OCTET_ORT_PAD(229, 229);
  /* 230 */ OrtStatus *(*KernelInfo_GetInputCount)(const OrtKernelInfo *info, size_t *out);
  /* 231 */ OrtStatus *(*KernelInfo_GetOutputCount)(const OrtKernelInfo *info, size_t *out);
  OCTET_ORT_PAD(232, 233);
  /* 234 */ OrtStatus *(*KernelInfo_GetInputTypeInfo)(const OrtKernelInfo *info, size_t index,
                                                      OrtTypeInfo **type_info);
  OCTET_ORT_PAD(235, 243);
  /* 244 */ OrtStatus *(*KernelInfo_GetNodeName)(const OrtKernelInfo *info, char *out,
                                                 size_t *size);
  OCTET_ORT_PAD(245, 248);
  /* 249 */ OrtStatus *(*KernelInfoGetConstantInput_tensor)(const OrtKernelInfo *info,
                                                            size_t index, int *is_constant,
                                                            const OrtValue **out);
  OCTET_ORT_PAD(250, 273);
  /* 274 */ OrtStatus *(*KernelContext_ParallelFor)(const OrtKernelContext *ctx,
                                                    void (*fn)(void *, size_t), size_t total,
                                                    size_t num_batch, void *user_data);
  /* 275 */ octet_ort_slot last_of_version_17; /* SessionOptionsAppendExecutionProvider_OpenVINO_V2 */
} OrtApi;

#define OCTET_ORT_SLOT(name, index) \
  _Static_assert(offsetof(OrtApi, name) == (index) * sizeof(void *), #name " is not slot " #index)
OCTET_ORT_SLOT(CreateStatus, 0);
OCTET_ORT_SLOT(GetErrorCode, 1);
OCTET_ORT_SLOT(GetErrorMessage, 2);
OCTET_ORT_SLOT(CreateEnv, 3);
OCTET_ORT_SLOT(CreateSession, 7);
OCTET_ORT_SLOT(Run, 9);
OCTET_ORT_SLOT(CreateSessionOptions, 10);
OCTET_ORT_SLOT(SetSessionLogSeverityLevel, 22);
OCTET_ORT_SLOT(SetSessionGraphOptimizationLevel, 23);
OCTET_ORT_SLOT(SetIntraOpNumThreads, 24);
OCTET_ORT_SLOT(CreateCustomOpDomain, 26);
OCTET_ORT_SLOT(CustomOpDomain_Add, 27);
OCTET_ORT_SLOT(AddCustomOpDomain, 28);
OCTET_ORT_SLOT(RegisterCustomOpsLibrary, 29);
OCTET_ORT_SLOT(SessionGetInputName, 36);
OCTET_ORT_SLOT(SessionGetOutputName, 37);
OCTET_ORT_SLOT(CreateTensorWithDataAsOrtValue, 49);
OCTET_ORT_SLOT(GetTensorMutableData, 51);
OCTET_ORT_SLOT(CastTypeInfoToTensorInfo, 55);
OCTET_ORT_SLOT(GetTensorElementType, 60);
OCTET_ORT_SLOT(GetDimensionsCount, 61);
OCTET_ORT_SLOT(GetDimensions, 62);
OCTET_ORT_SLOT(GetTensorTypeAndShape, 65);
OCTET_ORT_SLOT(CreateCpuMemoryInfo, 69);
OCTET_ORT_SLOT(AllocatorFree, 76);
OCTET_ORT_SLOT(GetAllocatorWithDefaultOptions, 78);
OCTET_ORT_SLOT(KernelInfoGetAttribute_float, 85);
OCTET_ORT_SLOT(KernelInfoGetAttribute_int64, 86);
OCTET_ORT_SLOT(KernelInfoGetAttribute_string, 87);
OCTET_ORT_SLOT(KernelContext_GetInputCount, 88);
OCTET_ORT_SLOT(KernelContext_GetInput, 90);
OCTET_ORT_SLOT(KernelContext_GetOutput, 91);
OCTET_ORT_SLOT(ReleaseEnv, 92);
OCTET_ORT_SLOT(ReleaseStatus, 93);
OCTET_ORT_SLOT(ReleaseMemoryInfo, 94);
OCTET_ORT_SLOT(ReleaseSession, 95);
OCTET_ORT_SLOT(ReleaseValue, 96);
OCTET_ORT_SLOT(ReleaseTypeInfo, 98);
OCTET_ORT_SLOT(ReleaseTensorTypeAndShapeInfo, 99);
OCTET_ORT_SLOT(ReleaseSessionOptions, 100);
OCTET_ORT_SLOT(ReleaseCustomOpDomain, 101);
OCTET_ORT_SLOT(AddSessionConfigEntry, 130);
OCTET_ORT_SLOT(KernelInfoGetAttributeArray_int64, 163);
OCTET_ORT_SLOT(RegisterCustomOpsLibrary_V2, 228);
OCTET_ORT_SLOT(KernelInfo_GetInputCount, 230);
OCTET_ORT_SLOT(KernelInfo_GetOutputCount, 231);
OCTET_ORT_SLOT(KernelInfo_GetInputTypeInfo, 234);
OCTET_ORT_SLOT(KernelInfo_GetNodeName, 244);
OCTET_ORT_SLOT(KernelInfoGetConstantInput_tensor, 249);
OCTET_ORT_SLOT(KernelContext_ParallelFor, 274);
_Static_assert(sizeof(OrtApi) == 276 * sizeof(void *), "version 17 of OrtApi has 276 slots");
#undef OCTET_ORT_SLOT

typedef struct OrtApiBase {
  const OrtApi *(*GetApi)(uint32_t version); /* NULL when the version is not served */
  const char *(*GetVersionString)(void);
} OrtApiBase;

typedef const OrtApiBase *(*OrtGetApiBase_fn)(void);

/* A custom op: a schema plus kernel callbacks. ORT reads the members that exist in the `version`
 * the op declares (17 here); the four after GetEndVersion (versions 18 and 20) are declared too
 * and left NULL, so an ORT that looked at them would find "not provided", not octet's data. */
typedef struct OrtCustomOp {
  uint32_t version;
  void *(*CreateKernel)(const struct OrtCustomOp *op, const OrtApi *api, const OrtKernelInfo *info);
  const char *(*GetName)(const struct OrtCustomOp *op);
  const char *(*GetExecutionProviderType)(const struct OrtCustomOp *op); /* NULL: CPU */
  ONNXTensorElementDataType (*GetInputType)(const struct OrtCustomOp *op, size_t index);
  size_t (*GetInputTypeCount)(const struct OrtCustomOp *op);
  ONNXTensorElementDataType (*GetOutputType)(const struct OrtCustomOp *op, size_t index);
  size_t (*GetOutputTypeCount)(const struct OrtCustomOp *op);
  void (*KernelCompute)(void *kernel, OrtKernelContext *ctx);
  void (*KernelDestroy)(void *kernel);
  OrtCustomOpInputOutputCharacteristic (*GetInputCharacteristic)(const struct OrtCustomOp *op,
                                                                 size_t index);
  OrtCustomOpInputOutputCharacteristic (*GetOutputCharacteristic)(const struct OrtCustomOp *op,
                                                                  size_t index);
  OrtMemType (*GetInputMemoryType)(const struct OrtCustomOp *op, size_t index);
  int (*GetVariadicInputMinArity)(const struct OrtCustomOp *op);
  int (*GetVariadicInputHomogeneity)(const struct OrtCustomOp *op);
  int (*GetVariadicOutputMinArity)(const struct OrtCustomOp *op);
  int (*GetVariadicOutputHomogeneity)(const struct OrtCustomOp *op);
  OrtStatus *(*CreateKernelV2)(const struct OrtCustomOp *op, const OrtApi *api,
                               const OrtKernelInfo *info, void **kernel);
  OrtStatus *(*KernelComputeV2)(void *kernel, OrtKernelContext *ctx);
  OrtStatus *(*InferOutputShapeFn)(const struct OrtCustomOp *op, OrtShapeInferContext *ctx);
  int (*GetStartVersion)(const struct OrtCustomOp *op);
  int (*GetEndVersion)(const struct OrtCustomOp *op);
  size_t (*GetMayInplace)(int **input_index, int **output_index);
  void (*ReleaseMayInplace)(int *input_index, int *output_index);
  size_t (*GetAliasMap)(int **input_index, int **output_index);
  void (*ReleaseAliasMap)(int *input_index, int *output_index);
} OrtCustomOp;

/* The entry point ORT looks up in a custom-op library. */
typedef OrtStatus *(*RegisterCustomOps_fn)(OrtSessionOptions *options, const OrtApiBase *api);

#ifdef __cplusplus
}
#endif
#endif
