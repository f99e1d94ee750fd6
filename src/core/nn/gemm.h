/*
 * gemm.h — the engine's own single-precision GEMM on pre-packed weights.
 *
 * A weight that feeds many products between two updates (each L block's
 * weights feed 8 forward calls per training step, the H blocks' 4) is packed
 * once into column panels; every product then streams only its activations.
 * OpenBLAS repacks both operands and zero-fills C on every call, which on the
 * engine's short contractions (K = 128..512) costs a third of the GEMM time.
 *
 *   C[M, N] = alpha * A[M, K] B[K, N] + beta * C        (beta 0 or 1)
 *
 * B is given packed: panels of HRM_GEMM_NR output columns, each [K][NR]
 * (zero-padded past N), so the kernel loads one contiguous row of a panel
 * per k.  Every element of C is one sequential sum over k = 0..K-1 (FMA, one
 * accumulator), so results do not depend on M, on the row's position or on
 * the thread count: a batch's rows come out bit-identical however the batch
 * is split.
 *
 * The kernel needs AVX-512F at compile time (the default -march=native build
 * on the target machines); hrm_gemm_available() says whether it was built,
 * and callers fall back to cblas_sgemm on the unpacked weight when not.
 * HRM_GEMM=blas in the environment (read once) disables it at run time.
 */
#ifndef HRM_GEMM_H
#define HRM_GEMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HRM_GEMM_NR 32

/* True when the packed kernel is built in and not disabled. */
bool		hrm_gemm_available(void);

/* Override the environment (tests): 1 = use the kernel when built, 0 = never. */
void		hrm_gemm_enable(bool on);

/* Floats needed to pack a K x N operand (N rounded up to HRM_GEMM_NR). */
size_t		hrm_gemm_pack_size(int K, int N);

/*
 * Pack B for C = A B:
 *   trans = true:  W is [N, K] row-major with row stride ld (an nn.Linear
 *                  weight, C = A W^T), B[k][n] = W[n * ld + k];
 *   trans = false: W is [K, N] row-major with row stride ld, B[k][n] = W[k * ld + n].
 */
void		hrm_gemm_pack(float *Bp, const float *W, int ld, int K, int N, bool trans);

/* C[M, N] (row stride ldc) = alpha * A[M, K] (row stride lda) Bp + beta * C. */
void		hrm_gemm_packed(int M, int N, int K, float alpha, const float *A, int lda,
							const float *Bp, float beta, float *C, int ldc);

/*
 * The SwiGLU projection fused with its activation: W is the [2 Iw, K]
 * gate_up weight (gate rows, then up rows; row stride ld), Iw a multiple
 * of 16.  Each panel holds 16 gate and the matching 16 up columns, so the
 * kernel's epilogue writes act[M, Iw] = silu(A W_gate^T) * (A W_up^T),
 * and when gu is not NULL the projection too, gu[M, 2 Iw] = gate | up (as
 * the unfused product would; the backward needs it).  Bp:
 * hrm_gemm_pack_size(K, 2 * Iw) floats.
 */
void		hrm_gemm_pack_swiglu(float *Bp, const float *W, int ld, int K, int Iw);
void		hrm_gemm_packed_swiglu(int M, int Iw, int K, const float *A, int lda, const float *Bp,
								   float *act, int ldact, float *gu);

/*
 * The whole MLP of a block, row block by row block: h[M, D] += act Wd^T with
 * act = silu(x W_gate^T) * (x W_up^T) (Bgu from hrm_gemm_pack_swiglu, Bd the
 * packed down weight), each 12-row block of act computed into a scratch in
 * L1 and consumed there; gu (may be NULL) keeps the projection and act_keep
 * (may be NULL) the activation, as the two products would.  x may alias h
 * (each row is read before it is written).  Bit-identical to
 * hrm_gemm_packed_swiglu followed by hrm_gemm_packed with beta = 1.
 * Returns false, doing nothing, when it does not apply (weights over the
 * L2 budget, a product big enough to split over threads, no AVX-512): the
 * caller then runs the two products.
 */
bool		hrm_gemm_packed_mlp(int M, int Iw, int D, const float *x, int ldx, const float *Bgu,
								const float *Bd, float *h, int ldh, float *gu, float *act_keep);

/*
 * The input gradient of the down projection fused with SwiGLU's backward:
 * dact = A Bp (A = d(down's output) [M, K], Bp = the packed backward
 * operand of the [K, Iw] down weight) is not stored; from it and the kept
 * projection gu [M, 2 Iw] (gate | up) the epilogue writes
 * dgu [M, 2 Iw]: d gate = dact * up * s * (1 + gate * (1 - s)),
 * d up = dact * gate * s, s = sigmoid(gate).
 */
void		hrm_gemm_packed_swiglu_bwd(int M, int Iw, int K, const float *A, int lda, const float *Bp,
									   const float *gu, float *dgu);

/*
 * Products with B unpacked, read in place: B row-major [K, N] (row stride
 * ldb); each panel's rows are 32 contiguous floats of B's rows.
 *   hrm_gemm_nn:  C[M, N] = alpha * A[M, K] B + beta * C
 *   hrm_gemm_tn:  C[M, N] = alpha * At^T B + beta * C, At [K, M] (row
 *                 stride lda): the weight gradient dW = dy^T x of a linear
 *                 layer (M = out features, N = in features, K = rows), the
 *                 contraction in chunks of 128 rows (HRM_TN_KC overrides)
 *                 whose partial sums are added to C in order; the operand
 *                 rows ahead are prefetched in software.
 * BLAS when the kernel is not built.
 */
void		hrm_gemm_nn(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
						float beta, float *C, int ldc);
void		hrm_gemm_tn(int M, int N, int K, float alpha, const float *At, int lda, const float *B, int ldb,
						float beta, float *C, int ldc);

/*
 * How a product of M rows, flop_N output columns (FLOP terms) and
 * contraction K is split over the pool: returns the number of ranges (1:
 * serial), *by_cols whether they are ranges of the `panels` column panels
 * (cols_ok) rather than of 12-row blocks.
 */
int			hrm_gemm_plan(int M, int flop_N, int K, int panels, bool cols_ok, bool *by_cols);

/*
 * Products split by columns balance their ranges (gemm_groups.h, hrm_range
 * in parallel.h): how many
 * panels threads have taken from the back of another thread's range since
 * the process started.  For tests, hrm_gemm_test_owner_delay(us) makes the
 * owners of every range but the first wait that long before they start,
 * so that the caller's thread must take from their ranges (0: off).
 */
unsigned long hrm_gemm_panels_rebalanced(void);
void		hrm_gemm_test_owner_delay(int usec);

/*
 * bfloat16 weights (gemm_bf16.c): products with AVX512_BF16 vdpbf16ps,
 * the activations rounded to bfloat16 on the fly (nearest even), sums in
 * float32.  Panels as the float32 packing, each [ceil(K / 2)][32][2]
 * (pairs along K).  Available only where the CPU has AVX512_BF16 (and the
 * float32 kernels are on); hrm_gemm_bf16_enable(false) turns it off.
 */
bool		hrm_gemm_bf16_available(void);
void		hrm_gemm_bf16_enable(bool on);
/* uint16 elements of a K x N operand packed in bfloat16. */
size_t		hrm_gemm_pack_bf16_size(int K, int N);
/* W [N, K] (row stride ld, an nn.Linear weight): C = A W^T. */
void		hrm_gemm_pack_bf16(uint16_t *Bp, const float *W, int ld, int K, int N);
/* The [2 Iw, K] gate_up weight for the fused SwiGLU (Iw a multiple of 16), as hrm_gemm_pack_swiglu. */
void		hrm_gemm_pack_swiglu_bf16(uint16_t *Bp, const float *W, int ld, int K, int Iw);
/* C[M, N] = A[M, K] Bp (+ C when beta = 1). */
void		hrm_gemm_packed_bf16(int M, int N, int K, const float *A, int lda, const uint16_t *Bp,
								 float beta, float *C, int ldc);
/* act[M, Iw] = silu(A W_gate^T) * (A W_up^T). */
void		hrm_gemm_packed_swiglu_bf16(int M, int Iw, int K, const float *A, int lda, const uint16_t *Bp,
										float *act, int ldact);
/* The bfloat16 products' per-thread scratch, freed (part of hrm_gemm_thread_release). */
void		hrm_gemm_bf16_thread_release(void);
/* float32 to bfloat16, round to nearest even (NaN kept), and back. */
uint16_t	hrm_bf16_round(float x);
float		hrm_bf16_to_float(uint16_t h);

/* Free the calling thread's kernel scratch: for threads that are not the pool's, before they exit. */
void		hrm_gemm_thread_release(void);

/*
 * The kernels this process runs, for reports: "avx512+bf16", "avx512" or
 * "portable" (BLAS and plain C), as the CPU, HRM_CPU, HRM_GEMM=blas and
 * the calls above leave it.
 */
const char *hrm_cpu_path(void);

#endif							/* HRM_GEMM_H */
