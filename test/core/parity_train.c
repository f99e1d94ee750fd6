/*
 * parity_train.c — training fixtures (stepK.* tensors).
 */
#include "parity.h"

parity_result
hrm_parity_training(const char *prefix, FILE *out)
{
	if (out)
		fprintf(out, "%s: training fixture; the training engine is not built yet\n", prefix);
	return PARITY_SKIP;
}
