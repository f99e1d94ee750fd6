/*
 * parity.h — compare the engine with a reference fixture pair
 * (<prefix>.weights.safetensors + <prefix>.expected.safetensors, the format
 * of test/fixtures/README.md).
 */
#ifndef HRM_PARITY_H
#define HRM_PARITY_H

#include <stdio.h>

#include "safetensors.h"

typedef enum parity_result
{
	PARITY_PASS = 0,
	PARITY_FAIL = 1,
	PARITY_SKIP = 2,			/* a fixture kind or arch this build does not handle */
	PARITY_ERROR = 3			/* the files could not be read */
} parity_result;

/* Run one fixture; reports go to out (may be NULL).  Dispatches on the expected file's contents. */
parity_result hrm_parity_run(const char *prefix, FILE *out);

/* Inference fixtures (segKK.* tensors). */
parity_result hrm_parity_inference(const char *prefix, FILE *out);

/*
 * bfloat16 inference against float32 on an inference fixture's inputs
 * (SKIP where the CPU lacks AVX512_BF16): PASS when the argmax agrees on at
 * least min_agree of the cells at every segment; *agree_min the lowest.
 */
parity_result hrm_parity_bf16(const char *prefix, FILE *out, double min_agree, double *agree_min);

/* Training fixtures (stepK.* tensors). */
parity_result hrm_parity_training(const char *prefix, FILE *out);

/* Helpers shared by the parity files: a whole file (malloc'd), a tensor as doubles / int32 (malloc'd). */
uint8_t    *hrm_parity_read_file(const char *path, size_t *len);
double	   *hrm_parity_tensor_f64(const hrm_safetensors *st, const char *name, size_t *numel);
int32_t    *hrm_parity_tensor_i32(const hrm_safetensors *st, const char *name, size_t *numel);

#endif
