/*
 * grid.h — the eight dihedral transforms of a rectangular grid, shared by
 * the maze and ARC toolkits.
 *
 * Transform ids follow the reference dataset builders (dataset/common.py):
 *
 *   0  identity
 *   1  rotate 90 degrees counter-clockwise      (np.rot90(x, 1))
 *   2  rotate 180 degrees                       (np.rot90(x, 2))
 *   3  rotate 90 degrees clockwise              (np.rot90(x, 3))
 *   4  left-right flip                          (np.fliplr)
 *   5  up-down flip                             (np.flipud)
 *   6  transpose (main diagonal)                (x.T)
 *   7  anti-transpose                           (np.fliplr(np.rot90(x, 1)))
 *
 * The inverse of id t is hrm_dihedral_inverse(t): [0, 3, 2, 1, 4, 5, 6, 7].
 * Ids 1, 3, 6 and 7 swap the number of rows and columns.
 *
 * Grids are row-major with no padding between rows.
 */
#ifndef HRM_GRID_H
#define HRM_GRID_H

#include "hrm_common.h"

#define HRM_DIHEDRAL_COUNT 8

/* Inverse transform id; t must be in 0..7. */
int			hrm_dihedral_inverse(int tid);

/* True when transform tid swaps rows and columns. */
bool		hrm_dihedral_swaps(int tid);

/*
 * Source cell of output cell (i, j): for an input of rows x cols, output
 * cell (i, j) of transform tid holds input cell (*si, *sj).
 */
void		hrm_dihedral_source(int tid, int rows, int cols, int i, int j,
								int *si, int *sj);

/*
 * Transform a rows x cols grid into out (which must not alias in and must
 * hold rows * cols values).  *out_rows / *out_cols receive the new shape
 * (either may be NULL).  Fails with HRM_ERR_INVALID for a bad id or shape.
 */
hrm_status	hrm_dihedral_apply_i32(int tid, const int32_t *in, int rows, int cols,
								   int32_t *out, int *out_rows, int *out_cols,
								   hrm_error *err);
hrm_status	hrm_dihedral_apply_u8(int tid, const uint8_t *in, int rows, int cols,
								  uint8_t *out, int *out_rows, int *out_cols,
								  hrm_error *err);

#endif							/* HRM_GRID_H */
