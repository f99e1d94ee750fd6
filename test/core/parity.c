/*
 * parity.c — the engine against reference fixtures.
 *
 * Inference fixtures: a fresh carry, then every segment of the fixture with
 * the carry kept.  Per segment k the reference float32's own drift from the
 * float64 run is e_k = max |f32 - f64| over logits and Q values; the engine
 * passes when its max |engine - f64| <= tol_k = max(1e-4, 10 e_k) and its
 * argmax equals float64's for every cell whose float64 top-two margin is
 * above 2 tol_k.
 */
#include "parity.h"

#include "cpu.h"
#include "forward.h"
#include "gemm.h"
#include "hrm_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A loaded pair of files. */
typedef struct fixture
{
	uint8_t    *wbuf;
	size_t		wlen;
	uint8_t    *ebuf;
	size_t		elen;
	hrm_safetensors w;
	hrm_safetensors e;
	hrm_layout	lay;
	float	   *params;
	bool		have_w,
				have_e,
				have_lay;
} fixture;

uint8_t *
hrm_parity_read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	uint8_t    *buf;
	long		n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
	{
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t) n + 1);
	if (buf != NULL && fread(buf, 1, (size_t) n, f) != (size_t) n)
	{
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t) n;
	return buf;
}

static void
fixture_free(fixture *fx)
{
	if (fx->have_lay)
		hrm_layout_free(&fx->lay);
	if (fx->have_w)
		hrm_st_free(&fx->w);
	if (fx->have_e)
		hrm_st_free(&fx->e);
	hrm_free(fx->params);
	free(fx->wbuf);
	free(fx->ebuf);
	memset(fx, 0, sizeof(*fx));
}

/* Load both files, the configuration and the parameters. */
static parity_result
fixture_load(const char *prefix, fixture *fx, FILE *out)
{
	char		path[4096];
	hrm_error	err;
	hrm_config	cfg;

	memset(fx, 0, sizeof(*fx));
	hrm_error_clear(&err);
	snprintf(path, sizeof(path), "%s.weights.safetensors", prefix);
	fx->wbuf = hrm_parity_read_file(path, &fx->wlen);
	if (fx->wbuf == NULL)
	{
		if (out)
			fprintf(out, "cannot read %s\n", path);
		return PARITY_ERROR;
	}
	snprintf(path, sizeof(path), "%s.expected.safetensors", prefix);
	fx->ebuf = hrm_parity_read_file(path, &fx->elen);
	if (fx->ebuf == NULL)
	{
		if (out)
			fprintf(out, "cannot read %s\n", path);
		return PARITY_ERROR;
	}
	if (hrm_st_parse(fx->wbuf, fx->wlen, &fx->w, &err) != HRM_OK)
		goto fail;
	fx->have_w = true;
	if (hrm_st_parse(fx->ebuf, fx->elen, &fx->e, &err) != HRM_OK)
		goto fail;
	fx->have_e = true;
	if (hrm_config_from_safetensors(&fx->w, &cfg, &err) != HRM_OK)
		goto fail;
	if (hrm_layout_init(&fx->lay, &cfg, &err) != HRM_OK)
		goto fail;
	fx->have_lay = true;
	fx->params = hrm_alloc(fx->lay.n_params, sizeof(float));
	if (fx->params == NULL)
	{
		hrm_fail(&err, HRM_ERR_NOMEM, "out of memory for %zu parameters", fx->lay.n_params);
		goto fail;
	}
	if (hrm_load_params(&fx->lay, &fx->w, fx->params, &err) != HRM_OK)
		goto fail;
	return PARITY_PASS;

fail:
	if (out)
		fprintf(out, "%s: %s: %s\n", prefix, hrm_status_name(err.code), err.msg);
	return err.code == HRM_ERR_UNSUPPORTED ? PARITY_SKIP : PARITY_ERROR;
}

/* Read a named tensor as doubles (malloc'd); NULL if absent or unreadable. */
double *
hrm_parity_tensor_f64(const hrm_safetensors *st, const char *name, size_t *numel)
{
	const hrm_st_tensor *t = hrm_st_find(st, name);
	double	   *d;
	hrm_error	err;

	if (t == NULL)
		return NULL;
	d = malloc(sizeof(double) * (t->numel > 0 ? t->numel : 1));
	if (d == NULL || hrm_st_read_f64(st, t, d, &err) != HRM_OK)
	{
		free(d);
		return NULL;
	}
	if (numel)
		*numel = t->numel;
	return d;
}

/* Read a named integer tensor as int32 (malloc'd); NULL if absent or unreadable. */
int32_t *
hrm_parity_tensor_i32(const hrm_safetensors *st, const char *name, size_t *numel)
{
	const hrm_st_tensor *t = hrm_st_find(st, name);
	int32_t    *d;
	hrm_error	err;

	if (t == NULL)
		return NULL;
	d = malloc(sizeof(int32_t) * (t->numel > 0 ? t->numel : 1));
	if (d == NULL || hrm_st_read_i32(st, t, d, &err) != HRM_OK)
	{
		free(d);
		return NULL;
	}
	if (numel)
		*numel = t->numel;
	return d;
}

static double *
get_f64(const fixture *fx, const char *name, size_t *numel)
{
	return hrm_parity_tensor_f64(&fx->e, name, numel);
}

static int32_t *
get_i32(const fixture *fx, const char *name, size_t *numel)
{
	return hrm_parity_tensor_i32(&fx->e, name, numel);
}

/*
 * One inference fixture on one path: packed = the engine's packed kernels
 * (what every inference entry point runs where the CPU has AVX-512), else
 * the BLAS path (the fallback).
 */
static parity_result
parity_inference_path(const char *prefix, FILE *out, bool packed)
{
	fixture		fx;
	parity_result res;
	hrm_model	m;
	hrm_carry	carry;
	hrm_workspace *ws = NULL;
	hrm_error	err;
	int32_t    *inputs = NULL,
			   *pids = NULL;
	float	   *logits = NULL,
			   *q = NULL;
	size_t		n_in = 0,
				n_pid = 0;
	int			B,
				T,
				V,
				n_seg = 0;
	bool		model_ok = false,
				carry_ok = false;
	int			failures = 0;

	res = fixture_load(prefix, &fx, out);
	if (res != PARITY_PASS)
	{
		fixture_free(&fx);
		return res;
	}
	hrm_error_clear(&err);
	T = fx.lay.cfg.seq_len;
	V = fx.lay.cfg.vocab_size;
	inputs = get_i32(&fx, "inputs", &n_in);
	pids = get_i32(&fx, "puzzle_identifiers", &n_pid);
	if (inputs == NULL || pids == NULL || n_in % T != 0 || n_in / T != n_pid)
	{
		if (out)
			fprintf(out, "%s: expected file lacks inputs [B, %d] / puzzle_identifiers [B]\n", prefix, T);
		res = PARITY_ERROR;
		goto done;
	}
	B = (int) n_pid;
	while (1)
	{
		char		name[64];

		snprintf(name, sizeof(name), "seg%02d.logits_f64", n_seg + 1);
		if (hrm_st_find(&fx.e, name) == NULL)
			break;
		n_seg++;
	}
	if (n_seg == 0)
	{
		if (out)
			fprintf(out, "%s: no segKK tensors in the expected file\n", prefix);
		res = PARITY_ERROR;
		goto done;
	}

	if (hrm_model_init(&m, &fx.lay, fx.params, &err) != HRM_OK)
	{
		if (out)
			fprintf(out, "%s: %s\n", prefix, err.msg);
		res = err.code == HRM_ERR_UNSUPPORTED ? PARITY_SKIP : PARITY_ERROR;
		goto done;
	}
	model_ok = true;
	if (packed && hrm_model_pack(&m, false, &err) != HRM_OK)
	{
		if (out)
			fprintf(out, "%s: %s\n", prefix, err.msg);
		res = PARITY_ERROR;
		goto done;
	}
	if (hrm_check_inputs(&m, inputs, pids, B, &err) != HRM_OK ||
		hrm_carry_init(&carry, &m, B, &err) != HRM_OK ||
		(ws = hrm_workspace_create(&m, B, &err)) == NULL)
	{
		if (out)
			fprintf(out, "%s: %s\n", prefix, err.msg);
		res = PARITY_ERROR;
		goto done;
	}
	carry_ok = true;
	logits = malloc(sizeof(float) * (size_t) B * T * V);
	q = malloc(sizeof(float) * (size_t) B * 2);
	if (logits == NULL || q == NULL)
	{
		res = PARITY_ERROR;
		goto done;
	}
	if (out)
		fprintf(out, "%s: %s, B=%d, seq %d, vocab %d, hidden %d, %d segments, %s path\n", prefix,
				hrm_arch_name(fx.lay.cfg.arch), B, T, V, fx.lay.cfg.hidden_size, n_seg,
				m.wpack != NULL ? "packed-kernel" : hrm_cpu_has(HRM_CPU_AVX512) ? "BLAS" : "portable (BLAS, plain C)");

	/* the input embedding of segment 1 (a debugging aid in the fixture) */
	{
		size_t		n_x = 0;
		double	   *x_ref = get_f64(&fx, "seg01.input_embeddings", &n_x);

		if (x_ref != NULL && n_x == (size_t) B * fx.lay.cfg.S * fx.lay.cfg.hidden_size)
		{
			double		mx = 0.0;

			hrm_embed_forward(&m, inputs, pids, B, ws->x);
			for (size_t i = 0; i < n_x; i++)
				mx = fmax(mx, fabs((double) ws->x[i] - x_ref[i]));
			if (out)
				fprintf(out, "  input embedding    max|diff| %.3e  %s\n", mx, mx <= 1e-5 ? "ok" : "FAIL");
			if (!(mx <= 1e-5))
				failures++;
		}
		free(x_ref);
	}

	hrm_carry_reset(&carry, &m, NULL);
	for (int k = 1; k <= n_seg; k++)
	{
		char		name[64];
		double	   *l32,
				   *l64,
				   *qh32,
				   *qh64,
				   *qc32,
				   *qc64;
		double		e_ref = 0.0,
					e_log = 0.0,
					e_q = 0.0,
					tol;
		int			checked = 0,
					mismatched = 0;
		bool		ok;

		if (hrm_segment_forward(&m, ws, &carry, inputs, pids, logits, q, &err) != HRM_OK)
		{
			if (out)
				fprintf(out, "%s: segment %d: %s\n", prefix, k, err.msg);
			res = PARITY_ERROR;
			goto done;
		}
#define LOAD(var, suffix) do { snprintf(name, sizeof(name), "seg%02d.%s", k, suffix); var = get_f64(&fx, name, NULL); } while (0)
		LOAD(l32, "logits");
		LOAD(l64, "logits_f64");
		LOAD(qh32, "q_halt");
		LOAD(qh64, "q_halt_f64");
		LOAD(qc32, "q_continue");
		LOAD(qc64, "q_continue_f64");
#undef LOAD
		if (!l32 || !l64 || !qh32 || !qh64 || !qc32 || !qc64)
		{
			if (out)
				fprintf(out, "%s: segment %d: tensors missing\n", prefix, k);
			free(l32);
			free(l64);
			free(qh32);
			free(qh64);
			free(qc32);
			free(qc64);
			res = PARITY_ERROR;
			goto done;
		}
		for (size_t i = 0; i < (size_t) B * T * V; i++)
		{
			e_ref = fmax(e_ref, fabs(l32[i] - l64[i]));
			e_log = fmax(e_log, fabs((double) logits[i] - l64[i]));
			if (isnan(logits[i]))
				e_log = INFINITY;
		}
		for (int b = 0; b < B; b++)
		{
			e_ref = fmax(e_ref, fmax(fabs(qh32[b] - qh64[b]), fabs(qc32[b] - qc64[b])));
			e_q = fmax(e_q, fmax(fabs(q[2 * b] - qh64[b]), fabs(q[2 * b + 1] - qc64[b])));
			if (isnan(q[2 * b]) || isnan(q[2 * b + 1]))
				e_q = INFINITY;
		}
		tol = fmax(1e-4, 10.0 * e_ref);
		/* argmax agreement where float64's top-two margin is clear */
		for (size_t cell = 0; cell < (size_t) B * T; cell++)
		{
			const double *r = l64 + cell * V;
			const float *g = logits + cell * V;
			int			best = 0,
						gbest = 0;
			double		second = -INFINITY;

			for (int v = 1; v < V; v++)
			{
				if (r[v] > r[best])
					best = v;
				if (g[v] > g[gbest])
					gbest = v;
			}
			for (int v = 0; v < V; v++)
				if (v != best && r[v] > second)
					second = r[v];
			if (r[best] - second > 2.0 * tol)
			{
				checked++;
				if (gbest != best)
					mismatched++;
			}
		}
		ok = e_log <= tol && e_q <= tol && mismatched == 0;
		if (!ok)
			failures++;
		if (out)
			fprintf(out, "  segment %2d  ref f32 drift %.2e  tol %.2e  engine: logits %.2e  q %.2e  "
					"argmax %d/%d agree  %s\n",
					k, e_ref, tol, e_log, e_q, checked - mismatched, checked, ok ? "ok" : "FAIL");
		free(l32);
		free(l64);
		free(qh32);
		free(qh64);
		free(qc32);
		free(qc64);
	}
	res = failures == 0 ? PARITY_PASS : PARITY_FAIL;

done:
	free(logits);
	free(q);
	free(inputs);
	free(pids);
	hrm_workspace_free(ws);
	if (carry_ok)
		hrm_carry_free(&carry);
	if (model_ok)
		hrm_model_free(&m);
	fixture_free(&fx);
	return res;
}

/*
 * hrm.precision = bf16 on an inference fixture's inputs: every segment run
 * in float32 (packed kernels) and in bfloat16 side by side, each with its
 * own carry; per segment the share of cells whose argmax is the same and
 * the largest logit difference.  *agree_min gets the lowest share.  PASS
 * when it is at least min_agree; SKIP where the CPU lacks AVX512_BF16.
 */
parity_result
hrm_parity_bf16(const char *prefix, FILE *out, double min_agree, double *agree_min)
{
	fixture		fx;
	parity_result res;
	hrm_model	m32,
				m16;
	hrm_carry	c32,
				c16;
	hrm_workspace *ws = NULL;
	hrm_error	err;
	int32_t    *inputs = NULL,
			   *pids = NULL;
	float	   *l32 = NULL,
			   *l16 = NULL,
				q[512];
	size_t		n_in = 0,
				n_pid = 0;
	int			B,
				T,
				V,
				n_seg = 0,
				ok_models = 0,
				ok_carry = 0;

	*agree_min = 0.0;
	if (!hrm_gemm_bf16_available())
	{
		if (out)
			fprintf(out, "%s: bf16: the CPU lacks AVX512_BF16 (or the packed kernels are off): skipped\n", prefix);
		return PARITY_SKIP;
	}
	res = fixture_load(prefix, &fx, out);
	if (res != PARITY_PASS)
	{
		fixture_free(&fx);
		return res;
	}
	hrm_error_clear(&err);
	T = fx.lay.cfg.seq_len;
	V = fx.lay.cfg.vocab_size;
	inputs = get_i32(&fx, "inputs", &n_in);
	pids = get_i32(&fx, "puzzle_identifiers", &n_pid);
	res = PARITY_ERROR;
	if (inputs == NULL || pids == NULL || n_in % T != 0 || n_in / T != n_pid || n_pid > 256)
		goto done;
	B = (int) n_pid;
	for (;;)
	{
		char		name[64];

		snprintf(name, sizeof(name), "seg%02d.logits_f64", n_seg + 1);
		if (hrm_st_find(&fx.e, name) == NULL)
			break;
		n_seg++;
	}
	if (hrm_model_init(&m32, &fx.lay, fx.params, &err) != HRM_OK)
		goto done;
	ok_models = 1;
	if (hrm_model_init(&m16, &fx.lay, fx.params, &err) != HRM_OK)
		goto done;
	ok_models = 2;
	if (hrm_model_pack(&m32, false, &err) != HRM_OK || hrm_model_pack(&m16, false, &err) != HRM_OK ||
		hrm_model_pack_bf16(&m16, NULL, true, &err) != HRM_OK ||
		!hrm_model_set_precision(&m16, HRM_PRECISION_BF16))
		goto done;
	if (hrm_carry_init(&c32, &m32, B, &err) != HRM_OK)
		goto done;
	ok_carry = 1;
	if (hrm_carry_init(&c16, &m16, B, &err) != HRM_OK)
		goto done;
	ok_carry = 2;
	if ((ws = hrm_workspace_create(&m32, B, &err)) == NULL)
		goto done;
	l32 = malloc(sizeof(float) * (size_t) B * T * V);
	l16 = malloc(sizeof(float) * (size_t) B * T * V);
	if (l32 == NULL || l16 == NULL)
		goto done;
	hrm_carry_reset(&c32, &m32, NULL);
	hrm_carry_reset(&c16, &m16, NULL);
	*agree_min = 1.0;
	for (int k = 1; k <= n_seg; k++)
	{
		int			same = 0;
		double		dmax = 0.0,
					share;

		if (hrm_segment_forward(&m32, ws, &c32, inputs, pids, l32, q, &err) != HRM_OK ||
			hrm_segment_forward(&m16, ws, &c16, inputs, pids, l16, q, &err) != HRM_OK)
			goto done;
		for (size_t cell = 0; cell < (size_t) B * T; cell++)
		{
			const float *a = l32 + cell * V,
					   *b = l16 + cell * V;
			int			ia = 0,
						ib = 0;

			for (int v = 0; v < V; v++)
			{
				if (a[v] > a[ia])
					ia = v;
				if (b[v] > b[ib])
					ib = v;
				dmax = fmax(dmax, fabs((double) a[v] - (double) b[v]));
			}
			same += ia == ib;
		}
		share = (double) same / ((double) B * T);
		*agree_min = fmin(*agree_min, share);
		if (out)
			fprintf(out, "  bf16 segment %2d  argmax equal to float32 on %d/%d cells (%.2f%%)  max |logit diff| %.3g\n",
					k, same, B * T, 100.0 * share, dmax);
	}
	res = *agree_min >= min_agree ? PARITY_PASS : PARITY_FAIL;

done:
	if (res == PARITY_ERROR && out)
		fprintf(out, "%s: bf16: %s\n", prefix, err.msg[0] ? err.msg : "cannot run");
	free(l32);
	free(l16);
	free(inputs);
	free(pids);
	hrm_workspace_free(ws);
	if (ok_carry >= 1)
		hrm_carry_free(&c32);
	if (ok_carry >= 2)
		hrm_carry_free(&c16);
	if (ok_models >= 1)
		hrm_model_free(&m32);
	if (ok_models >= 2)
		hrm_model_free(&m16);
	fixture_free(&fx);
	return res;
}

/*
 * Run f on the portable path (no AVX-512 anywhere: BLAS and plain C, as on
 * a CPU without it) when this machine would otherwise run AVX-512 code.
 */
static parity_result
on_portable_path(parity_result (*f) (const char *, FILE *), const char *prefix, FILE *out)
{
	parity_result res;

	if (!hrm_cpu_has(HRM_CPU_AVX512))
		return PARITY_PASS;		/* the runs above were the portable path already */
	if (out)
		fprintf(out, "  (again on the portable path: as on a CPU without AVX-512)\n");
	hrm_cpu_force_portable(true);
	res = f(prefix, out);
	hrm_cpu_force_portable(false);
	return res;
}

static parity_result
parity_inference_blas(const char *prefix, FILE *out)
{
	return parity_inference_path(prefix, out, false);
}

/*
 * Every path this machine runs: the packed kernels (when available), BLAS,
 * and the portable path (BLAS with no AVX-512 code at all).
 */
parity_result
hrm_parity_inference(const char *prefix, FILE *out)
{
	parity_result res = PARITY_PASS;

	if (hrm_gemm_available())
		res = parity_inference_path(prefix, out, true);
	if (res == PARITY_PASS)
		res = parity_inference_path(prefix, out, false);
	if (res == PARITY_PASS)
		res = on_portable_path(parity_inference_blas, prefix, out);
	return res;
}

parity_result
hrm_parity_run(const char *prefix, FILE *out)
{
	char		path[4096];
	uint8_t    *buf;
	size_t		len;
	hrm_safetensors st;
	hrm_error	err;
	bool		is_train = false,
				is_infer = false;

	snprintf(path, sizeof(path), "%s.expected.safetensors", prefix);
	buf = hrm_parity_read_file(path, &len);
	if (buf == NULL)
	{
		if (out)
			fprintf(out, "cannot read %s\n", path);
		return PARITY_ERROR;
	}
	if (hrm_st_parse(buf, len, &st, &err) != HRM_OK)
	{
		if (out)
			fprintf(out, "%s: %s\n", path, err.msg);
		free(buf);
		return PARITY_ERROR;
	}
	is_train = hrm_st_find(&st, "step1.loss") != NULL;
	is_infer = hrm_st_find(&st, "seg01.logits_f64") != NULL;
	hrm_st_free(&st);
	free(buf);
	if (is_train)
	{
		parity_result res = hrm_parity_training(prefix, out);

		return res == PARITY_PASS ? on_portable_path(hrm_parity_training, prefix, out) : res;
	}
	if (is_infer)
		return hrm_parity_inference(prefix, out);
	if (out)
		fprintf(out, "%s: neither an inference (seg01.*) nor a training (step1.*) fixture\n", prefix);
	return PARITY_ERROR;
}
