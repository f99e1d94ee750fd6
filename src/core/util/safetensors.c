/*
 * safetensors.c — validating reader and F32 writer for the safetensors format.
 *
 * Reader: everything in the header is checked before hrm_st_parse returns
 * (see safetensors.h).  Error codes:
 *   HRM_ERR_FORMAT  malformed or truncated file (bad length field, bad JSON,
 *                   wrong member types, unknown dtype, offsets outside the
 *                   data section, overlaps, holes, duplicate names)
 *   HRM_ERR_SHAPE   shape × itemsize disagrees with data_offsets (or
 *                   overflows); conversion asked of a tensor of the wrong dtype
 *   HRM_ERR_LIMIT   the header exceeds HRM_ST_MAX_HEADER, or a shape has more
 *                   than HRM_ST_MAX_DIMS dimensions
 *   HRM_ERR_VALUE   NaN/Inf with require_finite; an integer out of int32 range
 *   HRM_ERR_INVALID a bad argument (NULL pointers, tensor not of this file)
 *   HRM_ERR_NOMEM   an allocation failed
 * Tensor entries must have exactly the keys dtype, shape and data_offsets.
 *
 * Data is little-endian and possibly unaligned: every element is loaded with
 * memcpy (byte-swapped on a big-endian host).  Memory comes from hrm_alloc /
 * hrm_free.
 */
#include "safetensors.h"
#include "json.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tensor names in messages are cut to this many bytes. */
#define NAME_FMT "%.200s"

/* Append a string literal to an hrm_strbuf. */
#define SB_LIT(sb, lit) hrm_strbuf_append((sb), (lit), sizeof(lit) - 1)

static const struct
{
	const char *name;
	hrm_dtype	dt;
	size_t		size;
}			dtype_table[] =
{
	{"F32", HRM_DT_F32, 4},
	{"F16", HRM_DT_F16, 2},
	{"BF16", HRM_DT_BF16, 2},
	{"F64", HRM_DT_F64, 8},
	{"I64", HRM_DT_I64, 8},
	{"I32", HRM_DT_I32, 4},
	{"I16", HRM_DT_I16, 2},
	{"I8", HRM_DT_I8, 1},
	{"U8", HRM_DT_U8, 1},
	{"BOOL", HRM_DT_BOOL, 1},
};

#define N_DTYPES (sizeof(dtype_table) / sizeof(dtype_table[0]))

const char *
hrm_dtype_name(hrm_dtype dt)
{
	for (size_t i = 0; i < N_DTYPES; i++)
		if (dtype_table[i].dt == dt)
			return dtype_table[i].name;
	return "?";
}

size_t
hrm_dtype_size(hrm_dtype dt)
{
	for (size_t i = 0; i < N_DTYPES; i++)
		if (dtype_table[i].dt == dt)
			return dtype_table[i].size;
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Little-endian loads and stores (memcpy: the data may be unaligned) */

static inline bool
host_is_le(void)
{
	const uint16_t one = 1;
	uint8_t		b;

	memcpy(&b, &one, 1);
	return b == 1;
}

static inline uint16_t
ld_u16(const uint8_t *p)
{
	uint16_t	v;

	memcpy(&v, p, 2);
	if (!host_is_le())
		v = (uint16_t) ((v >> 8) | (v << 8));
	return v;
}

static inline uint32_t
bswap32(uint32_t v)
{
	return (v >> 24) | ((v >> 8) & 0xFF00u) | ((v << 8) & 0xFF0000u) | (v << 24);
}

static inline uint64_t
bswap64(uint64_t v)
{
	return ((uint64_t) bswap32((uint32_t) v) << 32) | bswap32((uint32_t) (v >> 32));
}

static inline uint32_t
ld_u32(const uint8_t *p)
{
	uint32_t	v;

	memcpy(&v, p, 4);
	return host_is_le() ? v : bswap32(v);
}

static inline uint64_t
ld_u64(const uint8_t *p)
{
	uint64_t	v;

	memcpy(&v, p, 8);
	return host_is_le() ? v : bswap64(v);
}

static inline void
st_u64(uint8_t *p, uint64_t v)
{
	if (!host_is_le())
		v = bswap64(v);
	memcpy(p, &v, 8);
}

static inline float
ld_f32(const uint8_t *p)
{
	uint32_t	u = ld_u32(p);
	float		f;

	memcpy(&f, &u, 4);
	return f;
}

static inline double
ld_f64(const uint8_t *p)
{
	uint64_t	u = ld_u64(p);
	double		d;

	memcpy(&d, &u, 8);
	return d;
}

/* ------------------------------------------------------------------------- */
/* Half-precision conversions */

float
hrm_bf16_to_f32(uint16_t h)
{
	uint32_t	u = (uint32_t) h << 16;
	float		f;

	memcpy(&f, &u, 4);
	return f;
}

uint16_t
hrm_f32_to_bf16(float f)
{
	uint32_t	u;

	memcpy(&u, &f, 4);
	if ((u & 0x7FFFFFFFu) > 0x7F800000u)
		return (uint16_t) ((u >> 16) | 0x0040u);	/* NaN: keep sign, force quiet */
	u += 0x7FFFu + ((u >> 16) & 1u);	/* round to nearest, ties to even */
	return (uint16_t) (u >> 16);
}

float
hrm_f16_to_f32(uint16_t h)
{
	uint32_t	sign = (uint32_t) (h & 0x8000u) << 16;
	uint32_t	exp = (h >> 10) & 0x1Fu;
	uint32_t	mant = h & 0x3FFu;
	uint32_t	u;
	float		f;

	if (exp == 0)
	{
		if (mant == 0)
			u = sign;			/* ±0 */
		else
		{
			/* subnormal: mant × 2^-24; normalise */
			exp = 127 - 15 + 1;
			while ((mant & 0x400u) == 0)
			{
				mant <<= 1;
				exp--;
			}
			mant &= 0x3FFu;
			u = sign | (exp << 23) | (mant << 13);
		}
	}
	else if (exp == 31)
		u = sign | 0x7F800000u | (mant << 13);	/* inf, or NaN with its payload */
	else
		u = sign | ((exp + 127 - 15) << 23) | (mant << 13);
	memcpy(&f, &u, 4);
	return f;
}

/* double → float with IEEE overflow to ±inf, without relying on the cast. */
static inline float
f64_to_f32(double d)
{
	if (d > FLT_MAX || d < -FLT_MAX)
	{
		/* beyond FLT_MAX + half an ulp rounds to infinity (the tie too: FLT_MAX is odd) */
		float		r = (fabs(d) < 0x1.ffffffp127) ? FLT_MAX : INFINITY;

		return d < 0 ? -r : r;
	}
	return (float) d;
}

/* ------------------------------------------------------------------------- */
/* Small helpers */

static char *
st_strdup(const char *s)
{
	size_t		n = strlen(s);
	char	   *d = hrm_alloc(n + 1, 1);

	if (d != NULL)
		memcpy(d, s, n + 1);
	return d;
}

static void
format_shape(char *buf, size_t cap, const int64_t *shape, int ndim)
{
	size_t		len = 0;

	buf[0] = '\0';
	len += (size_t) snprintf(buf + len, cap - len, "[");
	for (int i = 0; i < ndim && len < cap; i++)
		len += (size_t) snprintf(buf + len, cap - len, "%s%" PRId64, i > 0 ? ", " : "", shape[i]);
	if (len < cap)
		snprintf(buf + len, cap - len, "]");
}

static int
cmp_name_ptr(const void *a, const void *b)
{
	const char *x = *(const char *const *) a;
	const char *y = *(const char *const *) b;

	return strcmp(x, y);
}

/* The first duplicate among names[0..n) (sorted in place), or NULL. */
static const char *
find_duplicate(const char **names, size_t n)
{
	if (n < 2)
		return NULL;
	qsort(names, n, sizeof(names[0]), cmp_name_ptr);
	for (size_t i = 1; i < n; i++)
		if (strcmp(names[i - 1], names[i]) == 0)
			return names[i];
	return NULL;
}

static int
cmp_tensor_offsets(const void *a, const void *b)
{
	const hrm_st_tensor *x = *(const hrm_st_tensor *const *) a;
	const hrm_st_tensor *y = *(const hrm_st_tensor *const *) b;

	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Reader */

static void
st_free_contents(hrm_safetensors *st)
{
	if (st->tensors != NULL)
		for (int i = 0; i < st->n_tensors; i++)
			hrm_free(st->tensors[i].name);
	hrm_free(st->tensors);
	if (st->meta_keys != NULL)
		for (int i = 0; i < st->n_meta; i++)
			hrm_free(st->meta_keys[i]);
	if (st->meta_values != NULL)
		for (int i = 0; i < st->n_meta; i++)
			hrm_free(st->meta_values[i]);
	hrm_free(st->meta_keys);
	hrm_free(st->meta_values);
	memset(st, 0, sizeof(*st));
}

void
hrm_st_free(hrm_safetensors *st)
{
	if (st != NULL)
		st_free_contents(st);
}

static hrm_status
parse_metadata(const hrm_json *v, hrm_safetensors *st, hrm_error *err)
{
	const char **names;
	const char *dup;

	if (v->type != HRM_JSON_OBJECT)
		return hrm_fail(err, HRM_ERR_FORMAT, "safetensors: __metadata__ is not a JSON object");
	if (v->count > (size_t) INT32_MAX)
		return hrm_fail(err, HRM_ERR_FORMAT, "safetensors: too many __metadata__ entries");
	if (v->count == 0)
		return HRM_OK;
	st->meta_keys = hrm_alloc(v->count, sizeof(char *));
	st->meta_values = hrm_alloc(v->count, sizeof(char *));
	if (st->meta_keys == NULL || st->meta_values == NULL)
		return hrm_fail(err, HRM_ERR_NOMEM, "safetensors: out of memory for %zu metadata entries",
						v->count);
	st->n_meta = (int) v->count;
	for (size_t i = 0; i < v->count; i++)
	{
		const hrm_json *val = &v->items[i];

		if (val->type != HRM_JSON_STRING)
			return hrm_fail(err, HRM_ERR_FORMAT,
							"safetensors: __metadata__ value of \"" NAME_FMT "\" is not a string",
							v->keys[i]);
		if (strlen(val->string) != val->string_len)
			return hrm_fail(err, HRM_ERR_FORMAT,
							"safetensors: __metadata__ value of \"" NAME_FMT "\" contains a NUL character",
							v->keys[i]);
		st->meta_keys[i] = st_strdup(v->keys[i]);
		st->meta_values[i] = st_strdup(val->string);
		if (st->meta_keys[i] == NULL || st->meta_values[i] == NULL)
			return hrm_fail(err, HRM_ERR_NOMEM, "safetensors: out of memory for metadata");
	}
	names = hrm_alloc(v->count, sizeof(char *));
	if (names == NULL)
		return hrm_fail(err, HRM_ERR_NOMEM, "safetensors: out of memory for metadata");
	for (size_t i = 0; i < v->count; i++)
		names[i] = st->meta_keys[i];
	dup = find_duplicate(names, v->count);
	if (dup != NULL)
	{
		hrm_status	rc = hrm_fail(err, HRM_ERR_FORMAT,
								  "safetensors: duplicate __metadata__ key \"" NAME_FMT "\"", dup);

		hrm_free(names);
		return rc;
	}
	hrm_free(names);
	return HRM_OK;
}

/* A JSON number that is an integer ≥ 0; *out gets it. */
static bool
json_nonneg_int(const hrm_json *v, int64_t *out)
{
	if (v->type != HRM_JSON_NUMBER || !v->is_int || v->integer < 0)
		return false;
	*out = v->integer;
	return true;
}

static hrm_status
parse_tensor(const char *name, const hrm_json *v, size_t data_len, hrm_st_tensor *t,
			 hrm_error *err)
{
	const hrm_json *dtype = NULL,
			   *shape = NULL,
			   *offs = NULL;
	size_t		k;
	size_t		itemsize = 0;
	size_t		numel = 1;
	size_t		nbytes;
	bool		zero = false;
	int64_t		b,
				e;
	char		shape_str[256];

	if (v->type != HRM_JSON_OBJECT)
		return hrm_fail(err, HRM_ERR_FORMAT,
						"safetensors: tensor \"" NAME_FMT "\": entry is not a JSON object", name);
	for (size_t i = 0; i < v->count; i++)
	{
		const hrm_json **slot;

		if (strcmp(v->keys[i], "dtype") == 0)
			slot = &dtype;
		else if (strcmp(v->keys[i], "shape") == 0)
			slot = &shape;
		else if (strcmp(v->keys[i], "data_offsets") == 0)
			slot = &offs;
		else
			return hrm_fail(err, HRM_ERR_FORMAT,
							"safetensors: tensor \"" NAME_FMT "\": unknown key \"%.40s\" "
							"(expected dtype, shape, data_offsets)", name, v->keys[i]);
		if (*slot != NULL)
			return hrm_fail(err, HRM_ERR_FORMAT,
							"safetensors: tensor \"" NAME_FMT "\": duplicate key \"%s\"",
							name, v->keys[i]);
		*slot = &v->items[i];
	}
	if (dtype == NULL || shape == NULL || offs == NULL)
		return hrm_fail(err, HRM_ERR_FORMAT, "safetensors: tensor \"" NAME_FMT "\": missing \"%s\"",
						name, dtype == NULL ? "dtype" : shape == NULL ? "shape" : "data_offsets");

	/* dtype */
	if (dtype->type != HRM_JSON_STRING)
		return hrm_fail(err, HRM_ERR_FORMAT,
						"safetensors: tensor \"" NAME_FMT "\": dtype is not a string", name);
	for (k = 0; k < N_DTYPES; k++)
	{
		if (dtype->string_len == strlen(dtype_table[k].name) &&
			memcmp(dtype->string, dtype_table[k].name, dtype->string_len) == 0)
			break;
	}
	if (k == N_DTYPES)
		return hrm_fail(err, HRM_ERR_FORMAT,
						"safetensors: tensor \"" NAME_FMT "\": unknown dtype \"%.40s\" "
						"(supported: F32 F16 BF16 F64 I64 I32 I16 I8 U8 BOOL)",
						name, dtype->string);
	t->dtype = dtype_table[k].dt;
	itemsize = dtype_table[k].size;

	/* shape */
	if (shape->type != HRM_JSON_ARRAY)
		return hrm_fail(err, HRM_ERR_FORMAT,
						"safetensors: tensor \"" NAME_FMT "\": shape is not an array", name);
	if (shape->count > HRM_ST_MAX_DIMS)
		return hrm_fail(err, HRM_ERR_LIMIT,
						"safetensors: tensor \"" NAME_FMT "\": %zu dimensions exceed the limit of %d",
						name, shape->count, HRM_ST_MAX_DIMS);
	t->ndim = (int) shape->count;
	for (size_t i = 0; i < shape->count; i++)
	{
		if (!json_nonneg_int(&shape->items[i], &t->shape[i]))
			return hrm_fail(err, HRM_ERR_FORMAT,
							"safetensors: tensor \"" NAME_FMT "\": shape[%zu] is not a non-negative integer",
							name, i);
		if (t->shape[i] == 0)
			zero = true;
	}
	format_shape(shape_str, sizeof(shape_str), t->shape, t->ndim);
	if (zero)
		numel = 0;
	else
	{
		for (int i = 0; i < t->ndim; i++)
		{
			if ((uint64_t) t->shape[i] > SIZE_MAX ||
				!hrm_mul_size(numel, (size_t) t->shape[i], &numel))
				return hrm_fail(err, HRM_ERR_SHAPE,
								"safetensors: tensor \"" NAME_FMT "\": shape %s has too many elements",
								name, shape_str);
		}
	}
	if (!hrm_mul_size(numel, itemsize, &nbytes))
		return hrm_fail(err, HRM_ERR_SHAPE,
						"safetensors: tensor \"" NAME_FMT "\": shape %s of %s is too large",
						name, shape_str, dtype_table[k].name);
	t->numel = numel;

	/* data_offsets */
	if (offs->type != HRM_JSON_ARRAY || offs->count != 2 ||
		!json_nonneg_int(&offs->items[0], &b) || !json_nonneg_int(&offs->items[1], &e))
		return hrm_fail(err, HRM_ERR_FORMAT,
						"safetensors: tensor \"" NAME_FMT "\": data_offsets is not [begin, end] "
						"with non-negative integers", name);
	if (b > e)
		return hrm_fail(err, HRM_ERR_FORMAT,
						"safetensors: tensor \"" NAME_FMT "\": data_offsets [%" PRId64 ", %" PRId64
						") end before they begin", name, b, e);
	if ((uint64_t) e > (uint64_t) data_len)
		return hrm_fail(err, HRM_ERR_FORMAT,
						"safetensors: tensor \"" NAME_FMT "\": data_offsets [%" PRId64 ", %" PRId64
						") exceed the data section of %zu bytes", name, b, e, data_len);
	t->begin = (size_t) b;
	t->end = (size_t) e;
	if (t->end - t->begin != nbytes)
		return hrm_fail(err, HRM_ERR_SHAPE,
						"safetensors: tensor \"" NAME_FMT "\": shape %s of %s needs %zu bytes "
						"but data_offsets [%zu, %zu) hold %zu",
						name, shape_str, dtype_table[k].name, nbytes, t->begin, t->end,
						t->end - t->begin);

	t->name = st_strdup(name);
	if (t->name == NULL)
		return hrm_fail(err, HRM_ERR_NOMEM, "safetensors: out of memory for a tensor name");
	return HRM_OK;
}

/* Names unique; sorted by offset the tensors tile [0, data_len) exactly. */
static hrm_status
check_layout(const hrm_safetensors *st, hrm_error *err)
{
	size_t		n = (size_t) st->n_tensors;
	const char **names;
	const hrm_st_tensor **order;
	const char *dup;
	size_t		cursor = 0;
	const hrm_st_tensor *prev = NULL;
	hrm_status	rc = HRM_OK;

	if (n == 0)
	{
		if (st->data_len != 0)
			return hrm_fail(err, HRM_ERR_FORMAT,
							"safetensors: data section of %zu bytes but no tensors", st->data_len);
		return HRM_OK;
	}

	names = hrm_alloc(n, sizeof(char *));
	if (names == NULL)
		return hrm_fail(err, HRM_ERR_NOMEM, "safetensors: out of memory for %zu tensor names", n);
	for (size_t i = 0; i < n; i++)
		names[i] = st->tensors[i].name;
	dup = find_duplicate(names, n);
	if (dup != NULL)
		rc = hrm_fail(err, HRM_ERR_FORMAT, "safetensors: duplicate tensor name \"" NAME_FMT "\"", dup);
	hrm_free(names);
	if (rc != HRM_OK)
		return rc;

	order = hrm_alloc(n, sizeof(*order));
	if (order == NULL)
		return hrm_fail(err, HRM_ERR_NOMEM, "safetensors: out of memory for %zu tensors", n);
	for (size_t i = 0; i < n; i++)
		order[i] = &st->tensors[i];
	qsort(order, n, sizeof(*order), cmp_tensor_offsets);
	for (size_t i = 0; i < n && rc == HRM_OK; i++)
	{
		const hrm_st_tensor *t = order[i];

		if (t->begin < cursor)
			rc = hrm_fail(err, HRM_ERR_FORMAT,
						  "safetensors: tensors \"" NAME_FMT "\" [%zu, %zu) and \"" NAME_FMT
						  "\" [%zu, %zu) overlap",
						  prev->name, prev->begin, prev->end, t->name, t->begin, t->end);
		else if (t->begin > cursor)
		{
			if (prev == NULL)
				rc = hrm_fail(err, HRM_ERR_FORMAT,
							  "safetensors: bytes [0, %zu) of the data section belong to no tensor "
							  "(a hole before tensor \"" NAME_FMT "\")", t->begin, t->name);
			else
				rc = hrm_fail(err, HRM_ERR_FORMAT,
							  "safetensors: bytes [%zu, %zu) of the data section belong to no tensor "
							  "(a hole between tensors \"" NAME_FMT "\" and \"" NAME_FMT "\")",
							  cursor, t->begin, prev->name, t->name);
		}
		cursor = t->end;
		prev = t;
	}
	if (rc == HRM_OK && cursor != st->data_len)
		rc = hrm_fail(err, HRM_ERR_FORMAT,
					  "safetensors: bytes [%zu, %zu) at the end of the data section belong to no tensor "
					  "(after tensor \"" NAME_FMT "\")", cursor, st->data_len, prev->name);
	hrm_free(order);
	return rc;
}

hrm_status
hrm_st_parse(const uint8_t *buf, size_t len, hrm_safetensors *st, hrm_error *err)
{
	hrm_safetensors tmp;
	hrm_json   *root = NULL;
	uint64_t	hlen;
	size_t		n_tensors = 0;
	size_t		n_metadata = 0;
	size_t		k;
	hrm_status	rc;

	if (st == NULL)
		return hrm_fail(err, HRM_ERR_INVALID, "safetensors: no output structure");
	memset(st, 0, sizeof(*st));
	memset(&tmp, 0, sizeof(tmp));
	if (buf == NULL && len > 0)
		return hrm_fail(err, HRM_ERR_INVALID, "safetensors: no buffer");
	if (len < 8)
		return hrm_fail(err, HRM_ERR_FORMAT,
						"safetensors: file of %zu bytes is too short for the 8-byte header length",
						len);
	hlen = ld_u64(buf);
	if (hlen > (uint64_t) (len - 8))
		return hrm_fail(err, HRM_ERR_FORMAT,
						"safetensors: header length %" PRIu64 " exceeds the %zu bytes after the "
						"length field (truncated or not a safetensors file)", hlen, len - 8);
	if (hlen > HRM_ST_MAX_HEADER)
		return hrm_fail(err, HRM_ERR_LIMIT,
						"safetensors: header length %" PRIu64 " exceeds the limit of %zu bytes",
						hlen, HRM_ST_MAX_HEADER);
	tmp.data = buf + 8 + (size_t) hlen;
	tmp.data_len = len - 8 - (size_t) hlen;

	rc = hrm_json_parse((const char *) buf + 8, (size_t) hlen, &root, err);
	if (rc != HRM_OK)
	{
		if (err != NULL)
		{
			char		msg[HRM_ERRMSG_LEN];

			memcpy(msg, err->msg, sizeof(msg));
			msg[sizeof(msg) - 1] = '\0';
			hrm_fail(err, rc, "safetensors header: %s", msg);
		}
		return rc;
	}
	if (root->type != HRM_JSON_OBJECT)
	{
		rc = hrm_fail(err, HRM_ERR_FORMAT, "safetensors: the header is not a JSON object");
		goto fail;
	}
	for (size_t i = 0; i < root->count; i++)
	{
		if (strcmp(root->keys[i], "__metadata__") == 0)
			n_metadata++;
		else
			n_tensors++;
	}
	if (n_metadata > 1)
	{
		rc = hrm_fail(err, HRM_ERR_FORMAT, "safetensors: duplicate __metadata__");
		goto fail;
	}
	if (n_tensors > (size_t) INT32_MAX)
	{
		rc = hrm_fail(err, HRM_ERR_LIMIT, "safetensors: too many tensors (%zu)", n_tensors);
		goto fail;
	}
	if (n_tensors > 0)
	{
		tmp.tensors = hrm_alloc(n_tensors, sizeof(hrm_st_tensor));
		if (tmp.tensors == NULL)
		{
			rc = hrm_fail(err, HRM_ERR_NOMEM, "safetensors: out of memory for %zu tensors", n_tensors);
			goto fail;
		}
		tmp.n_tensors = (int) n_tensors;
	}

	k = 0;
	for (size_t i = 0; i < root->count; i++)
	{
		if (strcmp(root->keys[i], "__metadata__") == 0)
			rc = parse_metadata(&root->items[i], &tmp, err);
		else
			rc = parse_tensor(root->keys[i], &root->items[i], tmp.data_len, &tmp.tensors[k++], err);
		if (rc != HRM_OK)
			goto fail;
	}
	rc = check_layout(&tmp, err);
	if (rc != HRM_OK)
		goto fail;

	hrm_json_free(root);
	*st = tmp;
	return HRM_OK;

fail:
	hrm_json_free(root);
	st_free_contents(&tmp);
	return rc;
}

const hrm_st_tensor *
hrm_st_find(const hrm_safetensors *st, const char *name)
{
	if (st == NULL || name == NULL)
		return NULL;
	for (int i = 0; i < st->n_tensors; i++)
		if (strcmp(st->tensors[i].name, name) == 0)
			return &st->tensors[i];
	return NULL;
}

const char *
hrm_st_meta(const hrm_safetensors *st, const char *key)
{
	if (st == NULL || key == NULL)
		return NULL;
	for (int i = 0; i < st->n_meta; i++)
		if (strcmp(st->meta_keys[i], key) == 0)
			return st->meta_values[i];
	return NULL;
}

/* ------------------------------------------------------------------------- */
/* Conversions */

static const char *
tname(const hrm_st_tensor *t)
{
	return t->name != NULL ? t->name : "";
}

/* The tensor lies inside st's data section and is self-consistent. */
static hrm_status
check_read_args(const hrm_safetensors *st, const hrm_st_tensor *t, const void *dst, hrm_error *err)
{
	size_t		nbytes;

	if (st == NULL || t == NULL)
		return hrm_fail(err, HRM_ERR_INVALID, "safetensors: no file or no tensor");
	if (dst == NULL && t->numel > 0)
		return hrm_fail(err, HRM_ERR_INVALID,
						"safetensors: tensor \"" NAME_FMT "\": no destination buffer",
						tname(t));
	if (hrm_dtype_size(t->dtype) == 0 ||
		!hrm_mul_size(t->numel, hrm_dtype_size(t->dtype), &nbytes) ||
		t->begin > t->end || t->end > st->data_len || t->end - t->begin != nbytes ||
		(st->data == NULL && nbytes > 0))
		return hrm_fail(err, HRM_ERR_INVALID,
						"safetensors: tensor \"" NAME_FMT "\" does not belong to this file",
						tname(t));
	return HRM_OK;
}

/* Element i of a floating-point tensor as a double (for messages). */
static double
float_elem(const hrm_st_tensor *t, const uint8_t *src, size_t i)
{
	switch (t->dtype)
	{
		case HRM_DT_F32:
			return ld_f32(src + 4 * i);
		case HRM_DT_F16:
			return hrm_f16_to_f32(ld_u16(src + 2 * i));
		case HRM_DT_BF16:
			return hrm_bf16_to_f32(ld_u16(src + 2 * i));
		case HRM_DT_F64:
			return ld_f64(src + 8 * i);
		default:
			return 0.0;
	}
}

hrm_status
hrm_st_read_f32(const hrm_safetensors *st, const hrm_st_tensor *t, float *dst,
				bool require_finite, hrm_error *err)
{
	const uint8_t *src;
	size_t		n;
	hrm_status	rc = check_read_args(st, t, dst, err);

	if (rc != HRM_OK)
		return rc;
	src = st->data + t->begin;
	n = t->numel;
	switch (t->dtype)
	{
		case HRM_DT_F32:
			if (host_is_le())
			{
				if (n > 0)
					memcpy(dst, src, n * 4);
			}
			else
				for (size_t i = 0; i < n; i++)
					dst[i] = ld_f32(src + 4 * i);
			break;
		case HRM_DT_F16:
			for (size_t i = 0; i < n; i++)
				dst[i] = hrm_f16_to_f32(ld_u16(src + 2 * i));
			break;
		case HRM_DT_BF16:
			for (size_t i = 0; i < n; i++)
				dst[i] = hrm_bf16_to_f32(ld_u16(src + 2 * i));
			break;
		case HRM_DT_F64:
			for (size_t i = 0; i < n; i++)
				dst[i] = f64_to_f32(ld_f64(src + 8 * i));
			break;
		default:
			return hrm_fail(err, HRM_ERR_SHAPE,
							"safetensors: tensor \"" NAME_FMT "\" has dtype %s, not a floating-point "
							"dtype readable as F32", tname(t), hrm_dtype_name(t->dtype));
	}
	if (require_finite)
	{
		for (size_t i = 0; i < n; i++)
		{
			if (!isfinite(dst[i]))
			{
				double		v = float_elem(t, src, i);

				if (isfinite(v))
					return hrm_fail(err, HRM_ERR_VALUE,
									"safetensors: tensor \"" NAME_FMT "\": value %g at index %zu "
									"overflows float32", tname(t), v, i);
				return hrm_fail(err, HRM_ERR_VALUE,
								"safetensors: tensor \"" NAME_FMT "\": non-finite value %s at index %zu",
								tname(t), isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf", i);
			}
		}
	}
	return HRM_OK;
}

/* An integer element i of t as int64; BOOL bytes other than 0/1 are an error. */
static hrm_status
int_elem(const hrm_st_tensor *t, const uint8_t *src, size_t i, int64_t *out, hrm_error *err)
{
	switch (t->dtype)
	{
		case HRM_DT_I64:
			{
				uint64_t	u = ld_u64(src + 8 * i);
				int64_t		v;

				memcpy(&v, &u, 8);
				*out = v;
				return HRM_OK;
			}
		case HRM_DT_I32:
			{
				uint32_t	u = ld_u32(src + 4 * i);
				int32_t		v;

				memcpy(&v, &u, 4);
				*out = v;
				return HRM_OK;
			}
		case HRM_DT_I16:
			{
				uint16_t	u = ld_u16(src + 2 * i);
				int16_t		v;

				memcpy(&v, &u, 2);
				*out = v;
				return HRM_OK;
			}
		case HRM_DT_I8:
			{
				int8_t		v;

				memcpy(&v, src + i, 1);
				*out = v;
				return HRM_OK;
			}
		case HRM_DT_U8:
			*out = src[i];
			return HRM_OK;
		case HRM_DT_BOOL:
			if (src[i] > 1)
				return hrm_fail(err, HRM_ERR_FORMAT,
								"safetensors: tensor \"" NAME_FMT "\": BOOL byte 0x%02x at index %zu "
								"is neither 0 nor 1", tname(t), src[i], i);
			*out = src[i];
			return HRM_OK;
		default:
			return hrm_fail(err, HRM_ERR_INTERNAL, "safetensors: not an integer dtype");
	}
}

static bool
is_float_dtype(hrm_dtype dt)
{
	return dt == HRM_DT_F32 || dt == HRM_DT_F16 || dt == HRM_DT_BF16 || dt == HRM_DT_F64;
}

hrm_status
hrm_st_read_f64(const hrm_safetensors *st, const hrm_st_tensor *t, double *dst, hrm_error *err)
{
	const uint8_t *src;
	hrm_status	rc = check_read_args(st, t, dst, err);

	if (rc != HRM_OK)
		return rc;
	src = st->data + t->begin;
	if (is_float_dtype(t->dtype))
	{
		for (size_t i = 0; i < t->numel; i++)
			dst[i] = float_elem(t, src, i);
		return HRM_OK;
	}
	for (size_t i = 0; i < t->numel; i++)
	{
		int64_t		v = 0;

		rc = int_elem(t, src, i, &v, err);
		if (rc != HRM_OK)
			return rc;
		dst[i] = (double) v;
	}
	return HRM_OK;
}

hrm_status
hrm_st_read_i32(const hrm_safetensors *st, const hrm_st_tensor *t, int32_t *dst, hrm_error *err)
{
	const uint8_t *src;
	hrm_status	rc = check_read_args(st, t, dst, err);

	if (rc != HRM_OK)
		return rc;
	if (is_float_dtype(t->dtype))
		return hrm_fail(err, HRM_ERR_SHAPE,
						"safetensors: tensor \"" NAME_FMT "\" has dtype %s, not an integer dtype",
						tname(t), hrm_dtype_name(t->dtype));
	src = st->data + t->begin;
	for (size_t i = 0; i < t->numel; i++)
	{
		int64_t		v = 0;

		rc = int_elem(t, src, i, &v, err);
		if (rc != HRM_OK)
			return rc;
		if (v < INT32_MIN || v > INT32_MAX)
			return hrm_fail(err, HRM_ERR_VALUE,
							"safetensors: tensor \"" NAME_FMT "\": value %" PRId64 " at index %zu "
							"is outside the int32 range", tname(t), v, i);
		dst[i] = (int32_t) v;
	}
	return HRM_OK;
}

/* ------------------------------------------------------------------------- */
/* Writer */

hrm_status
hrm_st_write(const hrm_st_out *tensors, int n_tensors,
			 const char *const *meta_keys, const char *const *meta_values, int n_meta,
			 uint8_t **out, size_t *out_len, hrm_error *err)
{
	size_t	   *nbytes = NULL;
	const char **names = NULL;
	const char *dup;
	size_t		data_len = 0;
	size_t		hlen;
	size_t		total;
	size_t		offset;
	uint8_t    *buf;
	uint8_t    *p;
	hrm_strbuf	sb;
	hrm_status	rc = HRM_OK;
	size_t		nnames = (size_t) (n_tensors > n_meta ? n_tensors : n_meta);

	if (out == NULL || out_len == NULL)
		return hrm_fail(err, HRM_ERR_INVALID, "safetensors write: no output pointers");
	*out = NULL;
	*out_len = 0;
	if (n_tensors < 0 || n_meta < 0 || (n_tensors > 0 && tensors == NULL) ||
		(n_meta > 0 && (meta_keys == NULL || meta_values == NULL)))
		return hrm_fail(err, HRM_ERR_INVALID, "safetensors write: bad tensor or metadata arrays");

	hrm_strbuf_init(&sb);
	if (nnames > 0)
	{
		nbytes = hrm_alloc((size_t) (n_tensors > 0 ? n_tensors : 1), sizeof(size_t));
		names = hrm_alloc(nnames, sizeof(char *));
		if (nbytes == NULL || names == NULL)
		{
			rc = hrm_fail(err, HRM_ERR_NOMEM, "safetensors write: out of memory");
			goto done;
		}
	}

	/* validate the tensors and their sizes */
	for (int i = 0; i < n_tensors; i++)
	{
		const hrm_st_out *t = &tensors[i];
		size_t		numel = 1;

		if (t->name == NULL)
		{
			rc = hrm_fail(err, HRM_ERR_INVALID, "safetensors write: tensor %d has no name", i);
			goto done;
		}
		if (strcmp(t->name, "__metadata__") == 0)
		{
			rc = hrm_fail(err, HRM_ERR_INVALID,
						  "safetensors write: \"__metadata__\" is not a valid tensor name");
			goto done;
		}
		if (t->ndim < 0 || t->ndim > HRM_ST_MAX_DIMS)
		{
			rc = hrm_fail(err, HRM_ERR_INVALID,
						  "safetensors write: tensor \"" NAME_FMT "\": %d dimensions (0 to %d allowed)",
						  t->name, t->ndim, HRM_ST_MAX_DIMS);
			goto done;
		}
		for (int d = 0; d < t->ndim; d++)
		{
			if (t->shape[d] < 0 || (uint64_t) t->shape[d] > SIZE_MAX ||
				!hrm_mul_size(numel, (size_t) t->shape[d], &numel))
			{
				rc = hrm_fail(err, HRM_ERR_INVALID,
							  "safetensors write: tensor \"" NAME_FMT "\": invalid or too large shape",
							  t->name);
				goto done;
			}
		}
		if (!hrm_mul_size(numel, sizeof(float), &nbytes[i]) || nbytes[i] > SIZE_MAX - data_len)
		{
			rc = hrm_fail(err, HRM_ERR_LIMIT, "safetensors write: tensor \"" NAME_FMT "\" is too large",
						  t->name);
			goto done;
		}
		if (nbytes[i] > 0 && t->data == NULL)
		{
			rc = hrm_fail(err, HRM_ERR_INVALID, "safetensors write: tensor \"" NAME_FMT "\" has no data",
						  t->name);
			goto done;
		}
		data_len += nbytes[i];
		names[i] = t->name;
	}
	dup = find_duplicate(names, (size_t) n_tensors);
	if (dup != NULL)
	{
		rc = hrm_fail(err, HRM_ERR_INVALID, "safetensors write: duplicate tensor name \"" NAME_FMT "\"",
					  dup);
		goto done;
	}
	for (int i = 0; i < n_meta; i++)
	{
		if (meta_keys[i] == NULL || meta_values[i] == NULL)
		{
			rc = hrm_fail(err, HRM_ERR_INVALID, "safetensors write: metadata entry %d is NULL", i);
			goto done;
		}
		names[i] = meta_keys[i];
	}
	dup = find_duplicate(names, (size_t) n_meta);
	if (dup != NULL)
	{
		rc = hrm_fail(err, HRM_ERR_INVALID, "safetensors write: duplicate metadata key \"" NAME_FMT "\"",
					  dup);
		goto done;
	}

	/* the header */
	hrm_strbuf_append(&sb, "{", 1);
	if (n_meta > 0)
	{
		SB_LIT(&sb, "\"__metadata__\":{");
		for (int i = 0; i < n_meta; i++)
		{
			if (i > 0)
				hrm_strbuf_append(&sb, ",", 1);
			hrm_json_append_string(&sb, meta_keys[i], strlen(meta_keys[i]));
			hrm_strbuf_append(&sb, ":", 1);
			hrm_json_append_string(&sb, meta_values[i], strlen(meta_values[i]));
		}
		hrm_strbuf_append(&sb, "}", 1);
	}
	offset = 0;
	for (int i = 0; i < n_tensors; i++)
	{
		const hrm_st_out *t = &tensors[i];

		if (i > 0 || n_meta > 0)
			hrm_strbuf_append(&sb, ",", 1);
		hrm_json_append_string(&sb, t->name, strlen(t->name));
		SB_LIT(&sb, ":{\"dtype\":\"F32\",\"shape\":[");
		for (int d = 0; d < t->ndim; d++)
			hrm_strbuf_printf(&sb, "%s%" PRId64, d > 0 ? "," : "", t->shape[d]);
		hrm_strbuf_printf(&sb, "],\"data_offsets\":[%zu,%zu]}", offset, offset + nbytes[i]);
		offset += nbytes[i];
	}
	hrm_strbuf_append(&sb, "}", 1);
	if (sb.failed)
	{
		rc = hrm_fail(err, HRM_ERR_NOMEM, "safetensors write: out of memory for the header");
		goto done;
	}

	/* pad the header with spaces to a multiple of 8 */
	hlen = (sb.len + 7) & ~(size_t) 7;
	if (hlen > HRM_ST_MAX_HEADER)
	{
		rc = hrm_fail(err, HRM_ERR_LIMIT,
					  "safetensors write: header of %zu bytes exceeds the limit of %zu bytes",
					  hlen, HRM_ST_MAX_HEADER);
		goto done;
	}
	if (data_len > SIZE_MAX - 8 - hlen)
	{
		rc = hrm_fail(err, HRM_ERR_LIMIT, "safetensors write: output too large");
		goto done;
	}
	total = 8 + hlen + data_len;
	buf = hrm_alloc(total, 1);
	if (buf == NULL)
	{
		rc = hrm_fail(err, HRM_ERR_NOMEM, "safetensors write: out of memory for %zu bytes", total);
		goto done;
	}
	st_u64(buf, (uint64_t) hlen);
	memcpy(buf + 8, sb.data, sb.len);
	memset(buf + 8 + sb.len, ' ', hlen - sb.len);
	p = buf + 8 + hlen;
	for (int i = 0; i < n_tensors; i++)
	{
		if (nbytes[i] == 0)
			continue;
		if (host_is_le())
			memcpy(p, tensors[i].data, nbytes[i]);
		else
		{
			for (size_t j = 0; j < nbytes[i] / 4; j++)
			{
				uint32_t	u;

				memcpy(&u, &tensors[i].data[j], 4);
				u = bswap32(u);
				memcpy(p + 4 * j, &u, 4);
			}
		}
		p += nbytes[i];
	}
	*out = buf;
	*out_len = total;

done:
	hrm_strbuf_free(&sb);
	hrm_free(nbytes);
	hrm_free(names);
	return rc;
}
