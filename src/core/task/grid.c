/*
 * grid.c — dihedral transforms of rectangular grids (see grid.h for the ids).
 */
#include "grid.h"

static const int dihedral_inverse[HRM_DIHEDRAL_COUNT] = {0, 3, 2, 1, 4, 5, 6, 7};

int
hrm_dihedral_inverse(int tid)
{
	if (tid < 0 || tid >= HRM_DIHEDRAL_COUNT)
		return -1;
	return dihedral_inverse[tid];
}

bool
hrm_dihedral_swaps(int tid)
{
	return tid == 1 || tid == 3 || tid == 6 || tid == 7;
}

void
hrm_dihedral_source(int tid, int rows, int cols, int i, int j, int *si, int *sj)
{
	int			r,
				c;

	switch (tid)
	{
		case 1:					/* rot90 ccw: out[i][j] = in[j][cols-1-i] */
			r = j;
			c = cols - 1 - i;
			break;
		case 2:					/* rot180 */
			r = rows - 1 - i;
			c = cols - 1 - j;
			break;
		case 3:					/* rot90 cw: out[i][j] = in[rows-1-j][i] */
			r = rows - 1 - j;
			c = i;
			break;
		case 4:					/* left-right flip */
			r = i;
			c = cols - 1 - j;
			break;
		case 5:					/* up-down flip */
			r = rows - 1 - i;
			c = j;
			break;
		case 6:					/* transpose */
			r = j;
			c = i;
			break;
		case 7:					/* anti-transpose */
			r = rows - 1 - j;
			c = cols - 1 - i;
			break;
		default:				/* identity */
			r = i;
			c = j;
			break;
	}
	*si = r;
	*sj = c;
}

/* Validate the id and shape, and compute the output shape. */
static hrm_status
dihedral_prepare(int tid, int rows, int cols, int *orows, int *ocols, hrm_error *err)
{
	if (tid < 0 || tid >= HRM_DIHEDRAL_COUNT)
		return hrm_fail(err, HRM_ERR_INVALID,
						"dihedral transform id %d is out of range (0..7)", tid);
	if (rows <= 0 || cols <= 0)
		return hrm_fail(err, HRM_ERR_INVALID,
						"grid shape %dx%d is empty", rows, cols);
	/* cells are indexed as int: rows * cols must not overflow */
	if (rows > INT32_MAX / cols)
		return hrm_fail(err, HRM_ERR_LIMIT, "a grid of %dx%d cells is too large", rows, cols);
	if (hrm_dihedral_swaps(tid))
	{
		*orows = cols;
		*ocols = rows;
	}
	else
	{
		*orows = rows;
		*ocols = cols;
	}
	return HRM_OK;
}

hrm_status
hrm_dihedral_apply_i32(int tid, const int32_t *in, int rows, int cols,
					   int32_t *out, int *out_rows, int *out_cols, hrm_error *err)
{
	int			orows = 0,
				ocols = 0;
	hrm_status	st = dihedral_prepare(tid, rows, cols, &orows, &ocols, err);

	if (st != HRM_OK)
		return st;
	for (int i = 0; i < orows; i++)
		for (int j = 0; j < ocols; j++)
		{
			int			si,
						sj;

			hrm_dihedral_source(tid, rows, cols, i, j, &si, &sj);
			out[i * ocols + j] = in[si * cols + sj];
		}
	if (out_rows)
		*out_rows = orows;
	if (out_cols)
		*out_cols = ocols;
	return HRM_OK;
}

hrm_status
hrm_dihedral_apply_u8(int tid, const uint8_t *in, int rows, int cols,
					  uint8_t *out, int *out_rows, int *out_cols, hrm_error *err)
{
	int			orows = 0,
				ocols = 0;
	hrm_status	st = dihedral_prepare(tid, rows, cols, &orows, &ocols, err);

	if (st != HRM_OK)
		return st;
	for (int i = 0; i < orows; i++)
		for (int j = 0; j < ocols; j++)
		{
			int			si,
						sj;

			hrm_dihedral_source(tid, rows, cols, i, j, &si, &sj);
			out[i * ocols + j] = in[si * cols + sj];
		}
	if (out_rows)
		*out_rows = orows;
	if (out_cols)
		*out_cols = ocols;
	return HRM_OK;
}
