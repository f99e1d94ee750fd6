/*
 * rng.c — xoshiro256** with splitmix64 seeding.
 */
#include "rng.h"

#include <math.h>

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t	z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void
hrm_rng_seed(hrm_rng *r, uint64_t seed)
{
	uint64_t	x = seed;

	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

uint64_t
hrm_rng_next(hrm_rng *r)
{
	uint64_t   *s = r->s;
	uint64_t	result = rotl(s[1] * 5, 7) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double
hrm_rng_uniform(hrm_rng *r)
{
	return (double) (hrm_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

uint64_t
hrm_rng_below(hrm_rng *r, uint64_t n)
{
	/* rejection sampling on the top of the range */
	uint64_t	limit = UINT64_MAX - (UINT64_MAX % n);
	uint64_t	x;

	do
		x = hrm_rng_next(r);
	while (x >= limit);
	return x % n;
}

double
hrm_rng_normal(hrm_rng *r)
{
	double		u1,
				u2;

	do
		u1 = hrm_rng_uniform(r);
	while (u1 <= 0.0);
	u2 = hrm_rng_uniform(r);
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
}

void
hrm_rng_shuffle_int(hrm_rng *r, int *a, int n)
{
	for (int i = n - 1; i > 0; i--)
	{
		int			j = (int) hrm_rng_below(r, (uint64_t) i + 1);
		int			t = a[i];

		a[i] = a[j];
		a[j] = t;
	}
}

hrm_rng
hrm_rng_split(hrm_rng *r)
{
	hrm_rng		child;

	hrm_rng_seed(&child, hrm_rng_next(r));
	return child;
}
