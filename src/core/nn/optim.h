/*
 * optim.h — the dense optimizer's inner loop: a vectorised AdamATan2 update
 * and the polynomial atan2 it uses.
 *
 * AdamATan2 (as the reference trains the dense parameters) keeps Adam's two
 * moment estimates but replaces m / (sqrt(v) + eps) by atan2(m, sqrt(v)),
 * which is bounded and needs no epsilon.  For every i in [0, n):
 *
 *   m[i] = m[i] + w1 * (g[i] - m[i])            w1 = 1 - beta1 (lerp)
 *   v[i] = v[i] + w2 * (g[i] * g[i] - v[i])     w2 = 1 - beta2
 *   p[i] = p[i] * decay - step_size * atan2(m[i], sqrt(v[i]) / bc2_sqrt)
 *
 * with decay = 1 - lr * weight_decay, step_size = lr / (1 - beta1^step) and
 * bc2_sqrt = sqrt(1 - beta2^step), all computed by the caller in double and
 * rounded to float (see hrm_train_apply).
 *
 * m and v come out bit-identical to that scalar loop compiled with the same
 * flags (whether or not the compiler contracts a*b+c into FMA there: the
 * vector path is written so that it is contracted the same way).  p differs
 * from the atan2f version by the atan2 approximation only (<= 2 ulp of the
 * angle, see hrm_atan2_approx), i.e. a relative difference of a few 1e-7 in
 * the step.
 *
 * The vector path needs AVX-512F at compile time (the default -march=native
 * build on the target machines); otherwise the update is the plain scalar
 * loop with the C library's atan2f.
 */
#ifndef HRM_OPTIM_H
#define HRM_OPTIM_H

#include <stdbool.h>
#include <stddef.h>

/* True when the AVX-512 path was compiled in. */
bool		hrm_optim_vectorized(void);

/*
 * One AdamATan2 step over n consecutive parameters (the arrays may be
 * unaligned; they must not overlap each other).
 */
void		hrm_adam_atan2_update(float *p, float *m, float *v, const float *g, size_t n,
								  float w1, float w2, float decay, float step_size,
								  float bc2_sqrt);

/*
 * atan2(y, x) by a degree-21 odd polynomial: error under 2 ulp against the
 * exact value (measured max 1.50 ulp, see optim.c), for every float input
 * including zeros of either sign, subnormals and infinities; NaN in, NaN
 * out.  Same special values as C's atan2f (atan2(+-0, +0) = +-0,
 * atan2(+-0, -0) = +-pi, atan2(+-inf, +-inf) = +-pi/4 or +-3pi/4).
 */
float		hrm_atan2_approx(float y, float x);

/*
 * out[i] = hrm_atan2_approx(y[i], x[i]) for i in [0, n), 16 lanes at a time
 * when the AVX-512 path is built; bit-identical to the scalar function.
 */
void		hrm_atan2_approx_n(float *out, const float *y, const float *x, size_t n);

#endif							/* HRM_OPTIM_H */
