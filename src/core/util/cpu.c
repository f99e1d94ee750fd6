/*
 * cpu.c — run-time CPU detection (see cpu.h).
 */
#include "cpu.h"

#include <stdlib.h>
#include <string.h>

static int	detected = -1;		/* bit mask of hrm_cpu_feature, -1 before the first look */
static int	forced = -1;		/* -1 unknown (read HRM_CPU), 0 as detected, 1 portable */

static int
detect(void)
{
	if (detected < 0)
	{
		int			f = 0;

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
		__builtin_cpu_init();
		if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
			__builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
			__builtin_cpu_supports("fma"))
		{
			f |= HRM_CPU_AVX512;
			if (__builtin_cpu_supports("avx512bf16"))
				f |= HRM_CPU_AVX512BF16;
		}
#endif
		detected = f;
	}
	return detected;
}

bool
hrm_cpu_detected(hrm_cpu_feature f)
{
	return (detect() & (int) f) == (int) f;
}

bool
hrm_cpu_has(hrm_cpu_feature f)
{
	if (forced < 0)
	{
		const char *e = getenv("HRM_CPU");

		forced = (e != NULL && strcmp(e, "portable") == 0) ? 1 : 0;
	}
	return forced == 0 && hrm_cpu_detected(f);
}

void
hrm_cpu_force_portable(bool on)
{
	forced = on ? 1 : 0;
}

const char *
hrm_cpu_features(void)
{
	static char buf[160];

	if (buf[0] == '\0')
	{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
		static const char *const names[] = {"avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq",
		"avx512bf16"};
		bool		has[7];

		__builtin_cpu_init();
		/* __builtin_cpu_supports takes a string literal */
		has[0] = __builtin_cpu_supports("avx2");
		has[1] = __builtin_cpu_supports("fma");
		has[2] = __builtin_cpu_supports("avx512f");
		has[3] = __builtin_cpu_supports("avx512bw");
		has[4] = __builtin_cpu_supports("avx512vl");
		has[5] = __builtin_cpu_supports("avx512dq");
		has[6] = __builtin_cpu_supports("avx512bf16");
		for (int i = 0; i < 7; i++)
			if (has[i])
			{
				if (buf[0] != '\0')
					strcat(buf, " ");
				strcat(buf, names[i]);
			}
#endif
		if (buf[0] == '\0')
			strcpy(buf, "none");
	}
	return buf;
}
