/*
 * rng.h — the engine's one seeded random generator (xoshiro256**, seeded
 * through splitmix64).  Everything random in hrm (initialisation,
 * exploration, data order, augmentation, generators) draws from an
 * hrm_rng, so a seed reproduces a run bit for bit.  The state is four
 * 64-bit words and can be saved in checkpoints as is.
 */
#ifndef HRM_RNG_H
#define HRM_RNG_H

#include <stdint.h>

typedef struct hrm_rng
{
	uint64_t	s[4];
} hrm_rng;

void		hrm_rng_seed(hrm_rng *r, uint64_t seed);
uint64_t	hrm_rng_next(hrm_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double		hrm_rng_uniform(hrm_rng *r);
/* Uniform integer in [0, n) without modulo bias; n > 0. */
uint64_t	hrm_rng_below(hrm_rng *r, uint64_t n);
/* Standard normal (Box–Muller, no cached second value, so the state alone reproduces it). */
double		hrm_rng_normal(hrm_rng *r);
/* Fisher–Yates shuffle of an int array. */
void		hrm_rng_shuffle_int(hrm_rng *r, int *a, int n);
/* An independent stream derived from this one (for per-purpose generators). */
hrm_rng		hrm_rng_split(hrm_rng *r);

#endif							/* HRM_RNG_H */
