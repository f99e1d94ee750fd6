/*
 * simd_avx512_end.h — closes the AVX-512 target of simd_avx512.h (the last
 * include of an AVX-512 translation unit).
 */
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
