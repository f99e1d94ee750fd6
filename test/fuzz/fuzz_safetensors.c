/*
 * fuzz_safetensors.c — libFuzzer target for the safetensors reader.
 *
 * The input is tried three ways: as a whole file; as a header — input[1..] —
 * with the length field made to fit and a data section of input[0] bytes;
 * and as a recipe for a mostly well-formed file (tensor count, names, dtypes,
 * shapes, offsets with occasional off-by-some errors, metadata) so that the
 * layout checks and conversions are reached at once.  When a file parses, every
 * tensor is read as float64 (and as float32 / int32 where the dtype allows),
 * and the float tensors are written back with hrm_st_write and parsed again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "safetensors.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_file(const uint8_t *buf, size_t len)
{
	hrm_safetensors st;
	hrm_error	err;
	hrm_st_out *outs;
	float	  **f32;
	int			n_out = 0;
	uint8_t    *w = NULL;
	size_t		wlen = 0;

	if (hrm_st_parse(buf, len, &st, &err) != HRM_OK)
	{
		if (st.n_tensors != 0 || st.tensors != NULL || st.n_meta != 0 || err.msg[0] == '\0')
			__builtin_trap();
		return;
	}
	outs = calloc((size_t) st.n_tensors + 1, sizeof(*outs));
	f32 = calloc((size_t) st.n_tensors + 1, sizeof(*f32));
	if (outs == NULL || f32 == NULL)
		__builtin_trap();
	for (int i = 0; i < st.n_tensors; i++)
	{
		const hrm_st_tensor *t = &st.tensors[i];
		size_t		n = t->numel + 1;
		double	   *d = malloc(n * sizeof(double));
		int32_t    *k = malloc(n * sizeof(int32_t));
		float	   *f = malloc(n * sizeof(float));

		if (d == NULL || k == NULL || f == NULL)
			__builtin_trap();
		if (t->end > st.data_len || t->end - t->begin != t->numel * hrm_dtype_size(t->dtype))
			__builtin_trap();
		if (hrm_st_find(&st, t->name) != t)
			__builtin_trap();
		(void) hrm_st_read_f64(&st, t, d, &err);
		(void) hrm_st_read_i32(&st, t, k, &err);
		if (hrm_st_read_f32(&st, t, f, false, &err) == HRM_OK)
		{
			(void) hrm_st_read_f32(&st, t, f, true, &err);
			outs[n_out].name = t->name;
			outs[n_out].data = f;
			outs[n_out].ndim = t->ndim;
			memcpy(outs[n_out].shape, t->shape, sizeof(t->shape));
			f32[n_out++] = f;
		}
		else
			free(f);
		free(d);
		free(k);
	}
	for (int i = 0; i < st.n_meta; i++)
		if (hrm_st_meta(&st, st.meta_keys[i]) != st.meta_values[i])
			__builtin_trap();

	/* the float tensors and the metadata survive a write and a re-read */
	if (hrm_st_write(outs, n_out, (const char *const *) st.meta_keys,
					 (const char *const *) st.meta_values, st.n_meta, &w, &wlen, &err) == HRM_OK)
	{
		hrm_safetensors back;

		if (hrm_st_parse(w, wlen, &back, &err) != HRM_OK || back.n_tensors != n_out ||
			back.n_meta != st.n_meta)
			__builtin_trap();
		for (int i = 0; i < n_out; i++)
			if (strcmp(back.tensors[i].name, outs[i].name) != 0 ||
				back.tensors[i].numel * 4 != back.tensors[i].end - back.tensors[i].begin ||
				memcmp(back.data + back.tensors[i].begin, outs[i].data,
					   back.tensors[i].end - back.tensors[i].begin) != 0)
				__builtin_trap();
		hrm_st_free(&back);
		hrm_free(w);
	}
	for (int i = 0; i < n_out; i++)
		free(f32[i]);
	free(f32);
	free(outs);
	hrm_st_free(&st);
}

/* Bytes of the recipe, then zeros. */
typedef struct
{
	const uint8_t *p;
	size_t		n;
} recipe;

static unsigned
take(recipe *r)
{
	if (r->n == 0)
		return 0;
	r->n--;
	return *r->p++;
}

static void
check_recipe(const uint8_t *data, size_t size)
{
	static const char *const dtypes[] = {"F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8",
	"U8", "BOOL", "F8_E5M2"};
	static const size_t sizes[] = {4, 2, 2, 8, 8, 4, 2, 1, 1, 1, 1};
	recipe		r = {data, size};
	hrm_strbuf	sb;
	unsigned	n_tensors = take(&r) % 7;
	unsigned	meta = take(&r) % 4;
	size_t		cursor = 0;
	size_t		dlen;
	uint8_t    *buf;

	hrm_strbuf_init(&sb);
	hrm_strbuf_append(&sb, "{", 1);
	if (meta == 1)
		hrm_strbuf_printf(&sb, "\"__metadata__\":{\"hrm_config\":\"{}\",\"k\":\"v\"}");
	else if (meta == 2)
		hrm_strbuf_printf(&sb, "\"__metadata__\":{\"k\":%u}", take(&r));
	for (unsigned i = 0; i < n_tensors; i++)
	{
		unsigned	name = take(&r) % 8;
		unsigned	dt = take(&r) % 11;
		unsigned	ndim = take(&r);
		unsigned	fault = take(&r);
		size_t		numel = 1;
		size_t		begin,
					end;

		ndim = (ndim == 255) ? 9 : ndim % 4;
		if (i > 0 || meta == 1 || meta == 2)
			hrm_strbuf_append(&sb, ",", 1);
		hrm_strbuf_printf(&sb, "\"t%u\":{\"dtype\":\"%s\",\"shape\":[", name, dtypes[dt]);
		for (unsigned d = 0; d < ndim; d++)
		{
			unsigned	dim = take(&r) % 5;

			hrm_strbuf_printf(&sb, "%s%u", d ? "," : "", dim);
			numel *= dim;
		}
		begin = cursor;
		end = begin + numel * sizes[dt];
		switch (fault % 16)
		{
			case 1:
				begin += fault % 3;
				break;
			case 2:
				end += 1 + fault % 3;
				break;
			case 3:
				if (begin > 0)
					begin--;
				break;
			case 4:
				if (end > 0)
					end--;
				break;
			default:
				break;
		}
		hrm_strbuf_printf(&sb, "],\"data_offsets\":[%zu,%zu]}", begin, end);
		if (end > cursor)
			cursor = end;
	}
	hrm_strbuf_append(&sb, "}", 1);
	dlen = cursor;
	if (take(&r) % 8 == 0)
		dlen += take(&r) % 4;
	if (sb.failed)
		__builtin_trap();
	buf = malloc(8 + sb.len + dlen + 1);
	if (buf == NULL)
		__builtin_trap();
	for (int i = 0; i < 8; i++)
		buf[i] = (uint8_t) ((uint64_t) sb.len >> (8 * i));
	memcpy(buf + 8, sb.data, sb.len);
	for (size_t i = 0; i < dlen; i++)
		buf[8 + sb.len + i] = (uint8_t) take(&r);
	check_file(buf, 8 + sb.len + dlen);
	free(buf);
	hrm_strbuf_free(&sb);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t    *buf;
	size_t		hlen,
				dlen;

	check_file(data, size);
	check_recipe(data, size);

	if (size < 1)
		return 0;
	hlen = size - 1;
	dlen = data[0];
	buf = malloc(8 + hlen + dlen);
	if (buf == NULL)
		return 0;
	for (int i = 0; i < 8; i++)
		buf[i] = (uint8_t) ((uint64_t) hlen >> (8 * i));
	memcpy(buf + 8, data + 1, hlen);
	for (size_t i = 0; i < dlen; i++)
		buf[8 + hlen + i] = (uint8_t) (i * 37u + 11u);
	check_file(buf, 8 + hlen + dlen);
	free(buf);
	return 0;
}
