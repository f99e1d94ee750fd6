/*
 * safetensors.h — reader and writer for the safetensors format.
 *
 * Layout: 8-byte little-endian header length N, N bytes of JSON
 * {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}},
 * then the data section; offsets are relative to the data section.
 *
 * The reader validates everything before anything is used: header length
 * within the buffer, JSON well formed, known dtypes, shapes non-negative with
 * numel × itemsize == end − begin (overflow-checked), offsets inside the data
 * section, no two tensors overlapping, no holes, no duplicate names.  It never
 * copies the data section: tensors point into the caller's buffer, which must
 * outlive the hrm_safetensors.
 */
#ifndef HRM_SAFETENSORS_H
#define HRM_SAFETENSORS_H

#include "hrm_common.h"

#define HRM_ST_MAX_DIMS 8
#define HRM_ST_MAX_HEADER ((size_t) 100 * 1024 * 1024)

typedef enum hrm_dtype
{
	HRM_DT_F32,
	HRM_DT_F16,
	HRM_DT_BF16,
	HRM_DT_F64,
	HRM_DT_I64,
	HRM_DT_I32,
	HRM_DT_I16,
	HRM_DT_I8,
	HRM_DT_U8,
	HRM_DT_BOOL
} hrm_dtype;

typedef struct hrm_st_tensor
{
	char	   *name;
	hrm_dtype	dtype;
	int			ndim;
	int64_t		shape[HRM_ST_MAX_DIMS];
	size_t		numel;
	size_t		begin;			/* byte offsets into the data section */
	size_t		end;
} hrm_st_tensor;

typedef struct hrm_safetensors
{
	const uint8_t *data;		/* start of the data section (inside the caller's buffer) */
	size_t		data_len;
	int			n_tensors;
	hrm_st_tensor *tensors;		/* in header order */
	int			n_meta;
	char	  **meta_keys;
	char	  **meta_values;
} hrm_safetensors;

/* Name ("F32") and size in bytes of a dtype. */
const char *hrm_dtype_name(hrm_dtype dt);
size_t		hrm_dtype_size(hrm_dtype dt);

/* Parse and validate buf[0..len); on error *st is left empty. */
hrm_status	hrm_st_parse(const uint8_t *buf, size_t len, hrm_safetensors *st, hrm_error *err);
void		hrm_st_free(hrm_safetensors *st);

const hrm_st_tensor *hrm_st_find(const hrm_safetensors *st, const char *name);
const char *hrm_st_meta(const hrm_safetensors *st, const char *key);

/*
 * Convert a tensor to float32 (from F32, BF16, F16 or F64).  dst holds
 * t->numel floats.  With require_finite, NaN or Inf is an HRM_ERR_VALUE error
 * naming the tensor and the first bad index.
 */
hrm_status	hrm_st_read_f32(const hrm_safetensors *st, const hrm_st_tensor *t, float *dst,
							bool require_finite, hrm_error *err);
/* Convert a tensor to float64 (from any float dtype or integer dtype). */
hrm_status	hrm_st_read_f64(const hrm_safetensors *st, const hrm_st_tensor *t, double *dst,
							hrm_error *err);
/* Convert an integer tensor (I64/I32/I16/I8/U8/BOOL) to int32, range-checked. */
hrm_status	hrm_st_read_i32(const hrm_safetensors *st, const hrm_st_tensor *t, int32_t *dst,
							hrm_error *err);

/* A tensor to write: float32 data, row-major. */
typedef struct hrm_st_out
{
	const char *name;
	const float *data;
	int			ndim;
	int64_t		shape[HRM_ST_MAX_DIMS];
} hrm_st_out;

/*
 * Write tensors as F32 with optional string metadata (meta_keys/values, n_meta
 * pairs) into a new malloc'd buffer (*out, *out_len; free with hrm_free).
 * Tensors are written in the given order; the header is padded with spaces
 * to a multiple of 8 bytes.
 */
hrm_status	hrm_st_write(const hrm_st_out *tensors, int n_tensors,
						 const char *const *meta_keys, const char *const *meta_values, int n_meta,
						 uint8_t **out, size_t *out_len, hrm_error *err);

/* bfloat16 / float16 conversions (round-to-nearest-even for the narrowing one). */
float		hrm_bf16_to_f32(uint16_t h);
uint16_t	hrm_f32_to_bf16(float f);
float		hrm_f16_to_f32(uint16_t h);

#endif							/* HRM_SAFETENSORS_H */
