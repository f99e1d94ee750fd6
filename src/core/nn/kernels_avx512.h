/*
 * kernels_avx512.h — the entry points of the engine's AVX-512 translation
 * units (gemm_avx512.c, layers_avx512.c, optim_avx512.c), for the portable
 * files that dispatch to them.  Call them only where
 * hrm_cpu_has(HRM_CPU_AVX512) (cpu.h) is true: each computes what its
 * portable caller documents.
 */
#ifndef HRM_KERNELS_AVX512_H
#define HRM_KERNELS_AVX512_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* gemm_avx512.c: gemm.h's functions */
void		hrm_gemm_pack_panel_avx512(float *dst, const float *W, int ld, int nw, int K);
void		hrm_gemm_pack_swiglu_panel_avx512(float *dst, const float *gate, const float *up, int ld, int K);
/* Free the calling thread's scratch of these kernels. */
void		hrm_gemm_thread_release_avx512(void);
void		hrm_gemm_packed_avx512(int M, int N, int K, float alpha, const float *A, int lda,
								   const float *Bp, float beta, float *C, int ldc);
void		hrm_gemm_nn_avx512(int M, int N, int K, float alpha, const float *A, int lda, const float *B,
							   int ldb, float beta, float *C, int ldc);
void		hrm_gemm_tn_avx512(int M, int N, int K, float alpha, const float *At, int lda, const float *B,
							   int ldb, float beta, float *C, int ldc);
void		hrm_gemm_packed_swiglu_avx512(int M, int Iw, int K, const float *A, int lda, const float *Bp,
										  float *act, int ldact, float *gu);
void		hrm_gemm_packed_swiglu_bwd_avx512(int M, int Iw, int K, const float *A, int lda,
											  const float *Bp, const float *gu, float *dgu);
bool		hrm_gemm_packed_mlp_avx512(int M, int Iw, int D, const float *x, int ldx, const float *Bgu,
									   const float *Bd, float *h, int ldh, float *gu, float *act_keep);

/* layers_avx512.c: layers.h's kernels (copy_stream: dst 4-byte aligned, n >= 64; masked softmax: N <= 128) */
void		hrm_copy_stream_avx512(float *dst, const float *src, size_t n);
void		hrm_swiglu_forward_avx512(float *out, const float *gu, int M, int Iw);
void		hrm_swiglu_backward_avx512(float *dgu, const float *da, const float *gu, int M, int Iw);
int			hrm_rope_vector_avx512(float *x, const float *c, const float *sn, int half);
void		hrm_softmax_rows_avx512(float *x, int M, int N);
void		hrm_softmax_rows_masked_avx512(float *x, int M, int N, const uint16_t *allow);
void		hrm_scores_softmax_avx512(float *P, int nq, int S, const float *q, size_t qs, const float *Kp,
									  int hd, float scale, const uint16_t *am);

/* optim_avx512.c: optim.h's AdamATan2 and atan2 (returns n) */
void		hrm_adam_atan2_update_avx512(float *p, float *m, float *v, const float *g, size_t n,
										 float w1, float w2, float decay, float step_size, float bc2_sqrt);
size_t		hrm_atan2_approx_n_avx512(float *out, const float *y, const float *x, size_t n);

#endif							/* HRM_KERNELS_AVX512_H */
