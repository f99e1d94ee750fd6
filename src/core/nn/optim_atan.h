/*
 * optim_atan.h — the constants of hrm_atan2_approx (optim.c), shared with
 * its 16-lane version (optim_avx512.c).
 */
#ifndef HRM_OPTIM_ATAN_H
#define HRM_OPTIM_ATAN_H

/*
 * Q(z) coefficients, lowest first: atan(t) ~ t + t^3 (C0 + C1 z + ... + C9 z^9),
 * z = t^2, t in [0, 1]; max relative error 4.5e-10 with these float values.
 * (C0 is -1/3 nudged by the fit, and so on down the Taylor series.)
 */
#define ATAN_C0		(-0x1.555552p-2f)
#define ATAN_C1		(0x1.99981cp-3f)
#define ATAN_C2		(-0x1.24762p-3f)
#define ATAN_C3		(0x1.c5117p-4f)
#define ATAN_C4		(-0x1.6953bcp-4f)
#define ATAN_C5		(0x1.150ap-4f)
#define ATAN_C6		(-0x1.7080bap-5f)
#define ATAN_C7		(0x1.75304p-6f)
#define ATAN_C8		(-0x1.e6a0ecp-8f)
#define ATAN_C9		(0x1.29687ep-10f)

/* pi/2 and pi as float + float remainder */
#define PIO2_HI		(0x1.921fb6p+0f)
#define PIO2_LO		(-0x1.777a5cp-25f)
#define PI_HI		(0x1.921fb6p+1f)
#define PI_LO		(-0x1.777a5cp-24f)
/* pi/4 and 3pi/4 rounded to float */
#define PIO4		(0x1.921fb6p-1f)
#define A3PIO4		(0x1.2d97c8p+1f)

#endif							/* HRM_OPTIM_ATAN_H */
