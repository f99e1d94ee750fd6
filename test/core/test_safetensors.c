/*
 * test_safetensors.c — the validating safetensors reader, the writer, the
 * half-precision conversions and the reference fixtures (test/fixtures).
 */
#include "check.h"
#include "json.h"
#include "safetensors.h"

#include <float.h>
#include <stdint.h>

static void
put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

/* A file: 8-byte little-endian header length, header, data (malloc'd). */
static uint8_t *
make_file(const char *header, const void *data, size_t data_len, size_t *len)
{
	size_t		h = strlen(header);
	uint8_t    *buf = malloc(8 + h + data_len + 1);

	put_le64(buf, h);
	memcpy(buf + 8, header, h);
	if (data_len > 0)
	{
		if (data != NULL)
			memcpy(buf + 8 + h, data, data_len);
		else
			memset(buf + 8 + h, 0, data_len);
	}
	*len = 8 + h + data_len;
	return buf;
}

static bool
st_is_empty(const hrm_safetensors *st)
{
	return st->data == NULL && st->data_len == 0 && st->n_tensors == 0 && st->tensors == NULL &&
		st->n_meta == 0 && st->meta_keys == NULL && st->meta_values == NULL;
}

/* buf must be rejected with code and a message containing needle; *st left empty. */
static bool
buf_fails(const uint8_t *buf, size_t len, hrm_status code, const char *needle)
{
	hrm_safetensors st;
	hrm_error	err;
	hrm_status	rc;

	memset(&st, 0x5A, sizeof(st));
	hrm_error_clear(&err);
	rc = hrm_st_parse(buf, len, &st, &err);
	if (rc != code || err.code != code || !st_is_empty(&st) ||
		(needle != NULL && strstr(err.msg, needle) == NULL))
	{
		fprintf(stderr, "    rc %d (%s), msg \"%s\"\n", (int) rc, hrm_status_name(rc), err.msg);
		if (rc == HRM_OK)
			hrm_st_free(&st);
		return false;
	}
	return true;
}

/* A header over data_len zero bytes must be rejected. */
static bool
header_fails(const char *header, size_t data_len, hrm_status code, const char *needle)
{
	size_t		len;
	uint8_t    *buf = make_file(header, NULL, data_len, &len);
	bool		ok = buf_fails(buf, len, code, needle);

	if (!ok)
		fprintf(stderr, "    header: %s\n", header);
	free(buf);
	return ok;
}

static bool
header_parses(const char *header, size_t data_len)
{
	size_t		len;
	uint8_t    *buf = make_file(header, NULL, data_len, &len);
	hrm_safetensors st;
	hrm_error	err;
	hrm_status	rc = hrm_st_parse(buf, len, &st, &err);

	if (rc != HRM_OK)
		fprintf(stderr, "    header %s: %s\n", header, err.msg);
	else
		hrm_st_free(&st);
	free(buf);
	return rc == HRM_OK;
}

#define T_F32_2(name, b, e) "\"" name "\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[" #b "," #e "]}"

HRM_TEST(st_parse_minimal)
{
	float		vals[4] = {1.5f, -2.0f, 0.25f, 1e-30f};
	size_t		len;
	uint8_t    *buf = make_file("{\"__metadata__\":{\"k\":\"v\",\"e\":\"\"}," T_F32_2("b", 8, 16) ","
								T_F32_2("a", 0, 8) "}   ", vals, sizeof(vals), &len);
	hrm_safetensors st;
	hrm_error	err;
	const hrm_st_tensor *a,
			   *b;
	float		out[2];

	HRM_REQUIRE(hrm_st_parse(buf, len, &st, &err) == HRM_OK, "parse: %s", err.msg);
	HRM_CHECK(st.n_tensors == 2 && st.data_len == 16 && st.data == buf + len - 16, "layout");
	HRM_CHECK(strcmp(st.tensors[0].name, "b") == 0 && strcmp(st.tensors[1].name, "a") == 0,
			  "header order kept");
	HRM_CHECK(st.n_meta == 2 && strcmp(hrm_st_meta(&st, "k"), "v") == 0 &&
			  strcmp(hrm_st_meta(&st, "e"), "") == 0 && hrm_st_meta(&st, "x") == NULL, "metadata");
	a = hrm_st_find(&st, "a");
	b = hrm_st_find(&st, "b");
	HRM_REQUIRE(a != NULL && b != NULL && hrm_st_find(&st, "c") == NULL, "find");
	HRM_CHECK(a->dtype == HRM_DT_F32 && a->ndim == 1 && a->shape[0] == 2 && a->numel == 2 &&
			  a->begin == 0 && a->end == 8, "a");
	HRM_CHECK(hrm_st_read_f32(&st, a, out, true, &err) == HRM_OK && out[0] == 1.5f && out[1] == -2.0f,
			  "a values");
	HRM_CHECK(hrm_st_read_f32(&st, b, out, true, &err) == HRM_OK && out[0] == 0.25f && out[1] == 1e-30f,
			  "b values");
	hrm_st_free(&st);
	HRM_CHECK(st_is_empty(&st), "free empties");
	hrm_st_free(&st);
	hrm_st_free(NULL);
	free(buf);

	HRM_CHECK(header_parses("{}", 0), "no tensors");
	HRM_CHECK(header_parses("  {\"__metadata__\":{}}  \n", 0), "empty metadata");
	HRM_CHECK(header_parses("{\"s\":{\"data_offsets\":[0,4],\"shape\":[],\"dtype\":\"F32\"}}", 4),
			  "scalar, keys in any order");
}

HRM_TEST(st_rejects_truncated)
{
	uint8_t		small[8] = {0};
	size_t		len;
	uint8_t    *buf;
	hrm_safetensors st;
	hrm_error	err;

	HRM_CHECK(buf_fails(small, 0, HRM_ERR_FORMAT, "file of 0 bytes is too short"), "empty file");
	HRM_CHECK(buf_fails(small, 7, HRM_ERR_FORMAT, "file of 7 bytes is too short"), "7 bytes");
	HRM_CHECK(buf_fails(NULL, 0, HRM_ERR_FORMAT, "too short"), "NULL, 0");
	HRM_CHECK(buf_fails(small, 8, HRM_ERR_FORMAT, "safetensors header: JSON: unexpected end of text"),
			  "zero-length header");
	HRM_CHECK(hrm_st_parse(NULL, 10, &st, &err) == HRM_ERR_INVALID, "NULL buffer");
	HRM_CHECK(hrm_st_parse(small, 8, NULL, &err) == HRM_ERR_INVALID, "NULL output");

	buf = make_file("{" T_F32_2("w", 0, 8) "}", NULL, 8, &len);
	/* header length beyond the file */
	put_le64(buf, len - 8 + 1);
	HRM_CHECK(buf_fails(buf, len, HRM_ERR_FORMAT, "exceeds the"), "header length + 1");
	put_le64(buf, UINT64_MAX);
	HRM_CHECK(buf_fails(buf, len, HRM_ERR_FORMAT, "header length 18446744073709551615 exceeds"),
			  "header length 2^64-1");
	put_le64(buf, (uint64_t) 1 << 63);
	HRM_CHECK(buf_fails(buf, len, HRM_ERR_FORMAT, "exceeds"), "header length 2^63");
	put_le64(buf, len - 8 - 8);
	HRM_REQUIRE(header_parses("{" T_F32_2("w", 0, 8) "}", 8), "the untruncated file parses");
	/* every truncation of the file fails, with FORMAT */
	for (size_t n = 0; n < len; n++)
		HRM_CHECK(buf_fails(buf, n, HRM_ERR_FORMAT, NULL), "truncated to %zu of %zu bytes", n, len);
	/* the data section cut short: the offsets exceed it */
	HRM_CHECK(buf_fails(buf, len - 4, HRM_ERR_FORMAT,
						"tensor \"w\": data_offsets [0, 8) exceed the data section of 4 bytes"),
			  "data truncated");
	/* header length one short: the JSON is cut */
	put_le64(buf, len - 8 - 8 - 1);
	HRM_CHECK(buf_fails(buf, len, HRM_ERR_FORMAT, "safetensors header: JSON:"), "JSON cut");
	/* header length one long: a byte of data joins the JSON */
	put_le64(buf, len - 8 - 8 + 1);
	HRM_CHECK(buf_fails(buf, len, HRM_ERR_FORMAT, "safetensors header: JSON:"), "JSON + 1 byte");
	free(buf);
}

HRM_TEST(st_rejects_bad_header)
{
	char	   *deep;
	size_t		k = 0;

	HRM_CHECK(header_fails("[]", 0, HRM_ERR_FORMAT, "not a JSON object"), "array header");
	HRM_CHECK(header_fails("\"x\"", 0, HRM_ERR_FORMAT, "not a JSON object"), "string header");
	HRM_CHECK(header_fails("{", 0, HRM_ERR_FORMAT, "at byte 1"), "unterminated");
	HRM_CHECK(header_fails("{} x", 0, HRM_ERR_FORMAT, "at byte 3"), "trailing garbage");
	HRM_CHECK(header_fails("{\"a\\q\":{}}", 0, HRM_ERR_FORMAT, "invalid escape"), "bad escape in name");
	HRM_CHECK(header_fails("{\"\\uD800\":{}}", 0, HRM_ERR_FORMAT, "surrogate"), "lone surrogate in name");
	HRM_CHECK(header_fails("{\"a\":{\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]}}", 4,
						   HRM_ERR_FORMAT, "leading zero"), "leading zero");

	/* nesting deeper than 64 inside the header */
	deep = malloc(200);
	k += (size_t) sprintf(deep, "{\"__metadata__\":");
	for (int i = 0; i < 64; i++)
		deep[k++] = '[';
	for (int i = 0; i < 64; i++)
		deep[k++] = ']';
	deep[k++] = '}';
	deep[k] = '\0';
	HRM_CHECK(header_fails(deep, 0, HRM_ERR_FORMAT, "nesting deeper than 64"), "depth 65");
	free(deep);

	/* metadata */
	HRM_CHECK(header_fails("{\"__metadata__\":[]}", 0, HRM_ERR_FORMAT, "__metadata__ is not a JSON object"),
			  "metadata array");
	HRM_CHECK(header_fails("{\"__metadata__\":\"x\"}", 0, HRM_ERR_FORMAT, "__metadata__ is not"),
			  "metadata string");
	HRM_CHECK(header_fails("{\"__metadata__\":{\"a\":\"1\",\"n\":2}}", 0, HRM_ERR_FORMAT,
						   "__metadata__ value of \"n\" is not a string"), "metadata number");
	HRM_CHECK(header_fails("{\"__metadata__\":{\"n\":null}}", 0, HRM_ERR_FORMAT, "not a string"),
			  "metadata null");
	HRM_CHECK(header_fails("{\"__metadata__\":{\"n\":{}}}", 0, HRM_ERR_FORMAT, "not a string"),
			  "metadata object");
	HRM_CHECK(header_fails("{\"__metadata__\":{\"n\":\"a\\u0000b\"}}", 0, HRM_ERR_FORMAT, "NUL"),
			  "metadata NUL");
	HRM_CHECK(header_fails("{\"__metadata__\":{\"n\":\"1\",\"n\":\"2\"}}", 0, HRM_ERR_FORMAT,
						   "duplicate __metadata__ key \"n\""), "duplicate metadata key");
	HRM_CHECK(header_fails("{\"__metadata__\":{},\"__metadata__\":{}}", 0, HRM_ERR_FORMAT,
						   "duplicate __metadata__"), "two __metadata__");
}

HRM_TEST(st_rejects_bad_entries)
{
	HRM_CHECK(header_fails("{\"w\":[]}", 0, HRM_ERR_FORMAT, "tensor \"w\": entry is not a JSON object"),
			  "entry array");
	HRM_CHECK(header_fails("{\"w\":{\"shape\":[],\"data_offsets\":[0,4]}}", 4, HRM_ERR_FORMAT,
						   "tensor \"w\": missing \"dtype\""), "no dtype");
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, HRM_ERR_FORMAT,
						   "tensor \"w\": missing \"shape\""), "no shape");
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"F32\",\"shape\":[]}}", 4, HRM_ERR_FORMAT,
						   "tensor \"w\": missing \"data_offsets\""), "no offsets");
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4],\"x\":1}}", 4,
						   HRM_ERR_FORMAT, "tensor \"w\": unknown key \"x\""), "extra key");
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}",
						   4, HRM_ERR_FORMAT, "tensor \"w\": duplicate key \"dtype\""), "duplicate key");

	/* dtype */
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4,
						   HRM_ERR_FORMAT, "tensor \"w\": unknown dtype \"F8_E4M3\""), "F8");
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
						   HRM_ERR_FORMAT, "unknown dtype \"f32\""), "lower-case dtype");
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"F32\\u0000\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
						   HRM_ERR_FORMAT, "unknown dtype"), "dtype with NUL");
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
						   HRM_ERR_FORMAT, "unknown dtype \"\""), "empty dtype");
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
						   HRM_ERR_FORMAT, "tensor \"w\": dtype is not a string"), "numeric dtype");

	/* shape */
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,16]}}", 16,
						   HRM_ERR_FORMAT, "tensor \"w\": shape is not an array"), "shape number");
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,8]}}", 8,
						   HRM_ERR_FORMAT, "tensor \"w\": shape[1] is not a non-negative integer"),
			  "negative dim");
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4,
						   HRM_ERR_FORMAT, "shape[0] is not"), "fractional dim");
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4,
						   HRM_ERR_FORMAT, "shape[0] is not"), "string dim");
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"F32\",\"shape\":[1e30],\"data_offsets\":[0,4]}}", 4,
						   HRM_ERR_FORMAT, "shape[0] is not"), "dim beyond int64");
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1,
						   HRM_ERR_LIMIT, "tensor \"w\": 9 dimensions exceed the limit of 8"), "9 dims");
	HRM_CHECK(header_parses("{\"w\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1),
			  "8 dims");

	/* data_offsets */
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4]}}", 4,
						   HRM_ERR_FORMAT, "tensor \"w\": data_offsets is not [begin, end]"), "1 offset");
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4,
						   HRM_ERR_FORMAT, "data_offsets is not"), "3 offsets");
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{\"a\":0}}}", 4,
						   HRM_ERR_FORMAT, "data_offsets is not"), "object offsets");
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4,
						   HRM_ERR_FORMAT, "data_offsets is not"), "negative offset");
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4.5]}}", 4,
						   HRM_ERR_FORMAT, "data_offsets is not"), "fractional offset");
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[\"0\",4]}}", 4,
						   HRM_ERR_FORMAT, "data_offsets is not"), "string offset");
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8,
						   HRM_ERR_FORMAT, "tensor \"w\": data_offsets [8, 4) end before they begin"),
			  "reversed offsets");
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 6,
						   HRM_ERR_FORMAT, "tensor \"w\": data_offsets [4, 8) exceed the data section of 6 bytes"),
			  "offsets out of range");
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,9223372036854775807]}}", 4,
						   HRM_ERR_FORMAT, "exceed the data section of 4 bytes"), "huge end");
}

HRM_TEST(st_rejects_size_mismatch)
{
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
						   HRM_ERR_SHAPE,
						   "tensor \"w\": shape [3] of F32 needs 12 bytes but data_offsets [0, 8) hold 8"),
			  "too few bytes");
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"F64\",\"shape\":[2,2],\"data_offsets\":[0,40]}}", 40,
						   HRM_ERR_SHAPE, "shape [2, 2] of F64 needs 32 bytes"), "too many bytes");
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[0,0]}}", 0,
						   HRM_ERR_SHAPE, "shape [] of BF16 needs 2 bytes"), "scalar with no bytes");
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
						   "\"data_offsets\":[0,0]}}", 0, HRM_ERR_SHAPE, "tensor \"w\": shape [4294967296, "),
			  "numel overflow");
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904],"
						   "\"data_offsets\":[0,0]}}", 0, HRM_ERR_SHAPE, "too large"),
			  "numel × itemsize overflow");
	HRM_CHECK(header_fails("{\"w\":{\"dtype\":\"I64\",\"shape\":[2305843009213693952],"
						   "\"data_offsets\":[0,0]}}", 0, HRM_ERR_SHAPE, "too large"),
			  "numel × itemsize wraps to 0");
	/* a zero dimension makes the tensor empty however large the others are */
	HRM_CHECK(header_parses("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,0],"
							"\"data_offsets\":[0,0]}}", 0), "empty tensor with huge dims");
}

HRM_TEST(st_rejects_bad_layout)
{
	HRM_CHECK(header_fails("{" T_F32_2("a", 0, 8) "," T_F32_2("b", 4, 12) "}", 12, HRM_ERR_FORMAT,
						   "tensors \"a\" [0, 8) and \"b\" [4, 12) overlap"), "overlap");
	HRM_CHECK(header_fails("{" T_F32_2("a", 0, 8) "," T_F32_2("b", 0, 8) "}", 8, HRM_ERR_FORMAT,
						   "overlap"), "same range");
	HRM_CHECK(header_fails("{\"z\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,4]},"
						   T_F32_2("a", 0, 8) "}", 8, HRM_ERR_FORMAT, "overlap"),
			  "empty tensor inside another");
	HRM_CHECK(header_fails("{" T_F32_2("a", 0, 8) "," T_F32_2("b", 12, 20) "}", 20, HRM_ERR_FORMAT,
						   "bytes [8, 12) of the data section belong to no tensor (a hole between "
						   "tensors \"a\" and \"b\")"), "hole");
	HRM_CHECK(header_fails("{" T_F32_2("b", 4, 12) "}", 12, HRM_ERR_FORMAT,
						   "bytes [0, 4) of the data section belong to no tensor"), "leading hole");
	HRM_CHECK(header_fails("{" T_F32_2("a", 0, 8) "}", 9, HRM_ERR_FORMAT,
						   "bytes [8, 9) at the end of the data section belong to no tensor"),
			  "trailing bytes");
	HRM_CHECK(header_fails("{}", 3, HRM_ERR_FORMAT, "data section of 3 bytes but no tensors"),
			  "data without tensors");
	HRM_CHECK(header_fails("{\"__metadata__\":{}}", 1, HRM_ERR_FORMAT, "no tensors"),
			  "data with metadata only");
	HRM_CHECK(header_fails("{" T_F32_2("a", 0, 8) "," T_F32_2("a", 8, 16) "}", 16, HRM_ERR_FORMAT,
						   "duplicate tensor name \"a\""), "duplicate names");
	HRM_CHECK(header_fails("{" T_F32_2("x", 0, 8) "," T_F32_2("a", 8, 16) "," T_F32_2("y", 16, 24) ","
						   T_F32_2("a", 24, 32) "}", 32, HRM_ERR_FORMAT, "duplicate tensor name \"a\""),
			  "duplicate names, apart");
	HRM_CHECK(header_fails("{" T_F32_2("a\\u00e9", 0, 8) "," T_F32_2("a\xc3\xa9", 8, 16) "}", 16,
						   HRM_ERR_FORMAT, "duplicate tensor name"), "duplicates after unescaping");
	/* zero-size tensors anywhere on the boundaries are fine, in any header order */
	HRM_CHECK(header_parses("{" T_F32_2("b", 8, 16) ",\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],"
							"\"data_offsets\":[8,8]},\"f\":{\"dtype\":\"I8\",\"shape\":[0],"
							"\"data_offsets\":[16,16]},\"g\":{\"dtype\":\"I8\",\"shape\":[0],"
							"\"data_offsets\":[0,0]}," T_F32_2("a", 0, 8) "}", 16), "empty tensors");
}

/* A file with one tensor of every dtype, the data section unaligned. */
typedef struct
{
	uint8_t    *mem;
	uint8_t    *buf;
	size_t		len;
} dt_file;

static size_t
put_bytes(uint8_t *d, size_t k, const void *src, size_t n)
{
	memcpy(d + k, src, n);
	return k + n;
}

static void
le_bytes(uint8_t *d, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		d[i] = (uint8_t) (v >> (8 * i));
}

static dt_file
dtypes_file(void)
{
	/* data, tensor by tensor, little-endian */
	uint8_t		data[256];
	size_t		k = 0;
	char		header[2048];
	float		f32[2] = {1.5f, -2.0f};
	double		f64[2] = {0.1, -1e300};
	int64_t		i64[2] = {-5, 7};
	int64_t		i64big = (int64_t) 1 << 40;
	int32_t		i32[2] = {INT32_MIN, INT32_MAX};
	int16_t		i16[2] = {-32768, 32767};
	uint16_t	f16[2] = {0x3C00, 0xC000};
	uint16_t	bf16[2] = {0x3F80, 0xC040};
	dt_file		f;
	size_t		h;

	k = put_bytes(data, k, "\x80\x7f\x00", 3);	/* I8 [3]: -128, 127, 0 (unaligns the rest) */
	for (int i = 0; i < 2; i++, k += 4)
	{
		uint32_t	u;

		memcpy(&u, &f32[i], 4);
		le_bytes(data + k, u, 4);
	}
	for (int i = 0; i < 2; i++, k += 8)
	{
		uint64_t	u;

		memcpy(&u, &f64[i], 8);
		le_bytes(data + k, u, 8);
	}
	for (int i = 0; i < 2; i++, k += 2)
		le_bytes(data + k, f16[i], 2);
	for (int i = 0; i < 2; i++, k += 2)
		le_bytes(data + k, bf16[i], 2);
	for (int i = 0; i < 2; i++, k += 8)
		le_bytes(data + k, (uint64_t) i64[i], 8);
	le_bytes(data + k, (uint64_t) i64big, 8);
	k += 8;
	for (int i = 0; i < 2; i++, k += 4)
		le_bytes(data + k, (uint32_t) i32[i], 4);
	for (int i = 0; i < 2; i++, k += 2)
		le_bytes(data + k, (uint16_t) i16[i], 2);
	k = put_bytes(data, k, "\x00\xff", 2);	/* U8 */
	k = put_bytes(data, k, "\x00\x01", 2);	/* BOOL */
	k = put_bytes(data, k, "\x02", 1);	/* BOOL, invalid */

	snprintf(header, sizeof(header),
			 "{\"i8\":{\"dtype\":\"I8\",\"shape\":[3],\"data_offsets\":[0,3]},"
			 "\"f32\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[3,11]},"
			 "\"f64\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[11,27]},"
			 "\"f16\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[27,31]},"
			 "\"bf16\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[31,35]},"
			 "\"i64\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[35,51]},"
			 "\"i64big\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[51,59]},"
			 "\"i32\":{\"dtype\":\"I32\",\"shape\":[1,2],\"data_offsets\":[59,67]},"
			 "\"i16\":{\"dtype\":\"I16\",\"shape\":[2],\"data_offsets\":[67,71]},"
			 "\"u8\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[71,73]},"
			 "\"bool\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[73,75]},"
			 "\"boolbad\":{\"dtype\":\"BOOL\",\"shape\":[1],\"data_offsets\":[75,76]}}");
	h = strlen(header);
	f.len = 8 + h + k;
	f.mem = malloc(f.len + 1);
	f.buf = f.mem + 1;			/* the whole file at an odd address */
	put_le64(f.buf, h);
	memcpy(f.buf + 8, header, h);
	memcpy(f.buf + 8 + h, data, k);
	return f;
}

HRM_TEST(st_dtypes_and_conversions)
{
	dt_file		f = dtypes_file();
	hrm_safetensors st;
	hrm_error	err;
	double		d[4];
	float		x[4];
	int32_t		i[4];
	const hrm_st_tensor *t;

	HRM_REQUIRE(hrm_st_parse(f.buf, f.len, &st, &err) == HRM_OK, "parse: %s", err.msg);
	HRM_CHECK(st.n_tensors == 12, "12 tensors");

#define T(name) hrm_st_find(&st, name)
	HRM_CHECK(hrm_st_read_f64(&st, T("i8"), d, &err) == HRM_OK && d[0] == -128 && d[1] == 127 && d[2] == 0,
			  "I8 → f64");
	HRM_CHECK(hrm_st_read_f32(&st, T("f32"), x, true, &err) == HRM_OK && x[0] == 1.5f && x[1] == -2.0f,
			  "F32 → f32");
	HRM_CHECK(hrm_st_read_f64(&st, T("f32"), d, &err) == HRM_OK && d[0] == 1.5 && d[1] == -2.0, "F32 → f64");
	HRM_CHECK(hrm_st_read_f64(&st, T("f64"), d, &err) == HRM_OK && d[0] == 0.1 && d[1] == -1e300,
			  "F64 → f64");
	HRM_CHECK(hrm_st_read_f32(&st, T("f64"), x, false, &err) == HRM_OK && x[0] == 0.1f &&
			  isinf(x[1]) && x[1] < 0, "F64 → f32 rounds, and overflows to -inf");
	HRM_CHECK(hrm_st_read_f32(&st, T("f64"), x, true, &err) == HRM_ERR_VALUE &&
			  strstr(err.msg, "tensor \"f64\": value -1e+300 at index 1 overflows float32") != NULL,
			  "F64 overflow with require_finite: %s", err.msg);
	HRM_CHECK(hrm_st_read_f32(&st, T("f16"), x, true, &err) == HRM_OK && x[0] == 1.0f && x[1] == -2.0f,
			  "F16 → f32");
	HRM_CHECK(hrm_st_read_f64(&st, T("f16"), d, &err) == HRM_OK && d[0] == 1.0 && d[1] == -2.0, "F16 → f64");
	HRM_CHECK(hrm_st_read_f32(&st, T("bf16"), x, true, &err) == HRM_OK && x[0] == 1.0f && x[1] == -3.0f,
			  "BF16 → f32");
	HRM_CHECK(hrm_st_read_f64(&st, T("bf16"), d, &err) == HRM_OK && d[1] == -3.0, "BF16 → f64");
	HRM_CHECK(hrm_st_read_f64(&st, T("i64"), d, &err) == HRM_OK && d[0] == -5 && d[1] == 7, "I64 → f64");
	HRM_CHECK(hrm_st_read_i32(&st, T("i64"), i, &err) == HRM_OK && i[0] == -5 && i[1] == 7, "I64 → i32");
	HRM_CHECK(hrm_st_read_f64(&st, T("i64big"), d, &err) == HRM_OK && d[0] == 1099511627776.0,
			  "big I64 → f64");
	HRM_CHECK(hrm_st_read_i32(&st, T("i64big"), i, &err) == HRM_ERR_VALUE &&
			  strstr(err.msg, "tensor \"i64big\": value 1099511627776 at index 0 is outside the int32 range"),
			  "big I64 → i32: %s", err.msg);
	t = T("i32");
	HRM_CHECK(t->ndim == 2 && t->shape[0] == 1 && t->shape[1] == 2 && t->numel == 2, "I32 shape");
	HRM_CHECK(hrm_st_read_i32(&st, t, i, &err) == HRM_OK && i[0] == INT32_MIN && i[1] == INT32_MAX,
			  "I32 → i32");
	HRM_CHECK(hrm_st_read_f64(&st, t, d, &err) == HRM_OK && d[0] == -2147483648.0, "I32 → f64");
	HRM_CHECK(hrm_st_read_i32(&st, T("i16"), i, &err) == HRM_OK && i[0] == -32768 && i[1] == 32767,
			  "I16 → i32");
	HRM_CHECK(hrm_st_read_i32(&st, T("i8"), i, &err) == HRM_OK && i[0] == -128 && i[1] == 127, "I8 → i32");
	HRM_CHECK(hrm_st_read_i32(&st, T("u8"), i, &err) == HRM_OK && i[0] == 0 && i[1] == 255, "U8 → i32");
	HRM_CHECK(hrm_st_read_f64(&st, T("u8"), d, &err) == HRM_OK && d[1] == 255.0, "U8 → f64");
	HRM_CHECK(hrm_st_read_i32(&st, T("bool"), i, &err) == HRM_OK && i[0] == 0 && i[1] == 1, "BOOL → i32");
	HRM_CHECK(hrm_st_read_f64(&st, T("bool"), d, &err) == HRM_OK && d[0] == 0.0 && d[1] == 1.0,
			  "BOOL → f64");
	HRM_CHECK(hrm_st_read_i32(&st, T("boolbad"), i, &err) == HRM_ERR_FORMAT &&
			  strstr(err.msg, "BOOL byte 0x02 at index 0"), "bad BOOL → i32");
	HRM_CHECK(hrm_st_read_f64(&st, T("boolbad"), d, &err) == HRM_ERR_FORMAT, "bad BOOL → f64");

	/* wrong dtype for the conversion */
	HRM_CHECK(hrm_st_read_f32(&st, T("i32"), x, false, &err) == HRM_ERR_SHAPE &&
			  strstr(err.msg, "tensor \"i32\" has dtype I32"), "I32 → f32 refused: %s", err.msg);
	HRM_CHECK(hrm_st_read_i32(&st, T("f32"), i, &err) == HRM_ERR_SHAPE &&
			  strstr(err.msg, "tensor \"f32\" has dtype F32, not an integer dtype"), "F32 → i32 refused");
	HRM_CHECK(hrm_st_read_i32(&st, T("bf16"), i, &err) == HRM_ERR_SHAPE, "BF16 → i32 refused");

	/* bad arguments */
	HRM_CHECK(hrm_st_read_f32(&st, NULL, x, false, &err) == HRM_ERR_INVALID, "NULL tensor");
	HRM_CHECK(hrm_st_read_f32(&st, T("f32"), NULL, false, &err) == HRM_ERR_INVALID, "NULL dst");
	{
		hrm_st_tensor fake = *T("f32");

		fake.end = st.data_len + 4;
		fake.begin = st.data_len - 4;
		HRM_CHECK(hrm_st_read_f32(&st, &fake, x, false, &err) == HRM_ERR_INVALID,
				  "a tensor outside the data section");
	}
#undef T
	hrm_st_free(&st);
	free(f.mem);
}

HRM_TEST(st_dtype_table)
{
	const char *names[] = {"F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL"};
	size_t		sizes[] = {4, 2, 2, 8, 8, 4, 2, 1, 1, 1};
	hrm_dtype	dts[] = {HRM_DT_F32, HRM_DT_F16, HRM_DT_BF16, HRM_DT_F64, HRM_DT_I64,
	HRM_DT_I32, HRM_DT_I16, HRM_DT_I8, HRM_DT_U8, HRM_DT_BOOL};

	for (int k = 0; k < 10; k++)
	{
		char		header[200];

		HRM_CHECK(strcmp(hrm_dtype_name(dts[k]), names[k]) == 0, "name %d", k);
		HRM_CHECK(hrm_dtype_size(dts[k]) == sizes[k], "size %d", k);
		snprintf(header, sizeof(header), "{\"t\":{\"dtype\":\"%s\",\"shape\":[3],\"data_offsets\":[0,%zu]}}",
				 names[k], 3 * sizes[k]);
		HRM_CHECK(header_parses(header, 3 * sizes[k]), "%s parses", names[k]);
	}
	HRM_CHECK(hrm_dtype_size((hrm_dtype) 99) == 0 && strcmp(hrm_dtype_name((hrm_dtype) 99), "?") == 0,
			  "unknown enum value");
}

/* One F32/F16/BF16 tensor of raw little-endian words. */
static uint8_t *
raw_file(const char *dtype, const uint32_t *words, int n, int wordsize, size_t *len)
{
	char		header[200];
	uint8_t		data[64];

	for (int i = 0; i < n; i++)
		le_bytes(data + i * wordsize, words[i], wordsize);
	snprintf(header, sizeof(header), "{\"w\":{\"dtype\":\"%s\",\"shape\":[%d],\"data_offsets\":[0,%d]}}",
			 dtype, n, n * wordsize);
	return make_file(header, data, (size_t) (n * wordsize), len);
}

static bool
nonfinite_case(const char *dtype, const uint32_t *words, int n, int wordsize, const char *needle)
{
	size_t		len;
	uint8_t    *buf = raw_file(dtype, words, n, wordsize, &len);
	hrm_safetensors st;
	hrm_error	err;
	float		x[16];
	bool		ok;

	if (hrm_st_parse(buf, len, &st, &err) != HRM_OK)
	{
		free(buf);
		return false;
	}
	ok = hrm_st_read_f32(&st, &st.tensors[0], x, true, &err) == HRM_ERR_VALUE &&
		err.code == HRM_ERR_VALUE && strstr(err.msg, needle) != NULL &&
		hrm_st_read_f32(&st, &st.tensors[0], x, false, &err) == HRM_OK;
	if (!ok)
		fprintf(stderr, "    %s: %s\n", dtype, err.msg);
	hrm_st_free(&st);
	free(buf);
	return ok;
}

HRM_TEST(st_nonfinite_weights)
{
	uint32_t	f32_nan[4] = {0x3F800000, 0x7FC00000, 0x7F800000, 0x40000000};
	uint32_t	f32_ninf[3] = {0x3F800000, 0x00000001, 0xFF800000};
	uint32_t	f32_snan[1] = {0xFF800001};
	uint32_t	bf16_nan[2] = {0x3F80, 0x7FC1};
	uint32_t	f16_inf[3] = {0x3C00, 0x0001, 0x7C00};
	uint32_t	f16_nan[2] = {0xFE00, 0x3C00};
	uint32_t	ok_words[3] = {0x3F800000, 0x7F7FFFFF, 0x00000001};
	size_t		len;
	uint8_t    *buf;
	hrm_safetensors st;
	hrm_error	err;
	float		x[4];

	HRM_CHECK(nonfinite_case("F32", f32_nan, 4, 4, "tensor \"w\": non-finite value NaN at index 1"),
			  "F32 NaN");
	HRM_CHECK(nonfinite_case("F32", f32_ninf, 3, 4, "tensor \"w\": non-finite value -Inf at index 2"),
			  "F32 -inf");
	HRM_CHECK(nonfinite_case("F32", f32_snan, 1, 4, "NaN at index 0"), "F32 signalling NaN");
	HRM_CHECK(nonfinite_case("BF16", bf16_nan, 2, 2, "NaN at index 1"), "BF16 NaN");
	HRM_CHECK(nonfinite_case("F16", f16_inf, 3, 2, "+Inf at index 2"), "F16 inf");
	HRM_CHECK(nonfinite_case("F16", f16_nan, 2, 2, "NaN at index 0"), "F16 NaN");

	/* without require_finite the values come through */
	buf = raw_file("F32", f32_nan, 4, 4, &len);
	HRM_REQUIRE(hrm_st_parse(buf, len, &st, &err) == HRM_OK, "parse");
	HRM_CHECK(hrm_st_read_f32(&st, &st.tensors[0], x, false, &err) == HRM_OK && x[0] == 1.0f &&
			  isnan(x[1]) && isinf(x[2]) && x[3] == 2.0f, "NaN/Inf read without require_finite");
	hrm_st_free(&st);
	free(buf);

	/* FLT_MAX and a denormal are finite */
	buf = raw_file("F32", ok_words, 3, 4, &len);
	HRM_REQUIRE(hrm_st_parse(buf, len, &st, &err) == HRM_OK, "parse");
	HRM_CHECK(hrm_st_read_f32(&st, &st.tensors[0], x, true, &err) == HRM_OK && x[1] == FLT_MAX &&
			  x[2] > 0.0f && x[2] < FLT_MIN, "extremes are finite");
	hrm_st_free(&st);
	free(buf);
}

static uint32_t
f32_bits(float f)
{
	uint32_t	u;

	memcpy(&u, &f, 4);
	return u;
}

static float
bits_f32(uint32_t u)
{
	float		f;

	memcpy(&f, &u, 4);
	return f;
}

HRM_TEST(st_f16_values)
{
	HRM_CHECK(hrm_f16_to_f32(0x0000) == 0.0f && !signbit(hrm_f16_to_f32(0x0000)), "+0");
	HRM_CHECK(hrm_f16_to_f32(0x8000) == 0.0f && signbit(hrm_f16_to_f32(0x8000)), "-0");
	HRM_CHECK(hrm_f16_to_f32(0x3C00) == 1.0f, "1");
	HRM_CHECK(hrm_f16_to_f32(0xBC00) == -1.0f, "-1");
	HRM_CHECK(hrm_f16_to_f32(0x4000) == 2.0f, "2");
	HRM_CHECK(hrm_f16_to_f32(0x3800) == 0.5f, "0.5");
	HRM_CHECK(hrm_f16_to_f32(0x3555) == 0.333251953125f, "1/3");
	HRM_CHECK(hrm_f16_to_f32(0x3C01) == 1.0009765625f, "1 + 2^-10");
	HRM_CHECK(hrm_f16_to_f32(0x7BFF) == 65504.0f, "max");
	HRM_CHECK(hrm_f16_to_f32(0xFBFF) == -65504.0f, "-max");
	HRM_CHECK(hrm_f16_to_f32(0x0400) == 0x1p-14f, "min normal");
	HRM_CHECK(hrm_f16_to_f32(0x0001) == 0x1p-24f, "min subnormal");
	HRM_CHECK(hrm_f16_to_f32(0x8001) == -0x1p-24f, "-min subnormal");
	HRM_CHECK(hrm_f16_to_f32(0x0002) == 0x1p-23f, "2 × min subnormal");
	HRM_CHECK(hrm_f16_to_f32(0x03FF) == 1023 * 0x1p-24f, "max subnormal");
	HRM_CHECK(hrm_f16_to_f32(0x0200) == 0x1p-15f, "mid subnormal");
	HRM_CHECK(isinf(hrm_f16_to_f32(0x7C00)) && hrm_f16_to_f32(0x7C00) > 0, "+inf");
	HRM_CHECK(isinf(hrm_f16_to_f32(0xFC00)) && hrm_f16_to_f32(0xFC00) < 0, "-inf");
	HRM_CHECK(isnan(hrm_f16_to_f32(0x7E00)), "qNaN");
	HRM_CHECK(isnan(hrm_f16_to_f32(0x7C01)), "sNaN stays NaN");
	HRM_CHECK(isnan(hrm_f16_to_f32(0xFFFF)), "-NaN");
	HRM_CHECK(f32_bits(hrm_f16_to_f32(0x7E00)) == 0x7FC00000u, "NaN payload");

	/* every value against an independent formula */
	{
		int			bad = 0;

		for (uint32_t h = 0; h < 0x10000; h++)
		{
			int			e = (h >> 10) & 31;
			int			m = h & 1023;
			double		v;
			float		got = hrm_f16_to_f32((uint16_t) h);

			if (e == 31)
			{
				if (m == 0 ? !isinf(got) : !isnan(got))
					bad++;
				continue;
			}
			v = e == 0 ? ldexp(m, -24) : ldexp(1024 + m, e - 25);
			if (h & 0x8000)
				v = -v;
			if (got != (float) v || (signbit(got) != 0) != ((h & 0x8000) != 0))
				bad++;
		}
		HRM_CHECK(bad == 0, "%d of 65536 F16 values wrong", bad);
	}
}

HRM_TEST(st_bf16_values)
{
	HRM_CHECK(hrm_bf16_to_f32(0x3F80) == 1.0f, "1");
	HRM_CHECK(hrm_bf16_to_f32(0xC040) == -3.0f, "-3");
	HRM_CHECK(hrm_bf16_to_f32(0x3EAB) == 0.333984375f, "1/3-ish");
	HRM_CHECK(hrm_bf16_to_f32(0x0001) == 0x1p-133f, "min subnormal");
	HRM_CHECK(hrm_bf16_to_f32(0x7F7F) == 0x1.fep127f, "max");
	HRM_CHECK(isinf(hrm_bf16_to_f32(0x7F80)) && isinf(hrm_bf16_to_f32(0xFF80)), "inf");
	HRM_CHECK(isnan(hrm_bf16_to_f32(0x7FC0)) && isnan(hrm_bf16_to_f32(0x7F81)), "NaN");

	HRM_CHECK(hrm_f32_to_bf16(1.0f) == 0x3F80, "1");
	HRM_CHECK(hrm_f32_to_bf16(-3.0f) == 0xC040, "-3");
	HRM_CHECK(hrm_f32_to_bf16(0.0f) == 0x0000 && hrm_f32_to_bf16(-0.0f) == 0x8000, "±0");
	HRM_CHECK(hrm_f32_to_bf16(bits_f32(0x3F808000)) == 0x3F80, "tie rounds to even (down)");
	HRM_CHECK(hrm_f32_to_bf16(bits_f32(0x3F818000)) == 0x3F82, "tie rounds to even (up)");
	HRM_CHECK(hrm_f32_to_bf16(bits_f32(0x3F808001)) == 0x3F81, "above the tie rounds up");
	HRM_CHECK(hrm_f32_to_bf16(bits_f32(0x3F807FFF)) == 0x3F80, "below the tie rounds down");
	HRM_CHECK(hrm_f32_to_bf16(bits_f32(0xBF818000)) == 0xBF82, "negative tie");
	HRM_CHECK(hrm_f32_to_bf16(1.0f / 3.0f) == 0x3EAB, "1/3");
	HRM_CHECK(hrm_f32_to_bf16(FLT_MAX) == 0x7F80, "FLT_MAX rounds to inf");
	HRM_CHECK(hrm_f32_to_bf16(bits_f32(0x7F7F7FFF)) == 0x7F7F, "just below the max tie stays finite");
	HRM_CHECK(hrm_f32_to_bf16(INFINITY) == 0x7F80 && hrm_f32_to_bf16(-INFINITY) == 0xFF80, "inf");
	HRM_CHECK(hrm_f32_to_bf16(bits_f32(0x00000001)) == 0x0000, "tiny subnormal rounds to 0");
	HRM_CHECK(hrm_f32_to_bf16(bits_f32(0x00008000)) == 0x0000, "subnormal tie to even 0");
	HRM_CHECK(hrm_f32_to_bf16(bits_f32(0x00018000)) == 0x0002, "subnormal tie to even 2");
	HRM_CHECK(hrm_f32_to_bf16(bits_f32(0x007FFFFF)) == 0x0080, "max subnormal rounds to min normal");
	{
		uint16_t	q = hrm_f32_to_bf16(NAN);
		uint16_t	s = hrm_f32_to_bf16(bits_f32(0x7F800001));	/* payload only in low bits */
		uint16_t	n = hrm_f32_to_bf16(bits_f32(0xFFFFFFFF));

		HRM_CHECK((q & 0x7F80) == 0x7F80 && (q & 0x7F) != 0, "NaN stays NaN (%04x)", q);
		HRM_CHECK((s & 0x7F80) == 0x7F80 && (s & 0x7F) != 0 && !(s & 0x8000), "sNaN stays NaN (%04x)", s);
		HRM_CHECK((n & 0x7F80) == 0x7F80 && (n & 0x7F) != 0 && (n & 0x8000), "-NaN stays -NaN (%04x)", n);
	}

	/* bf16 → f32 → bf16 is the identity on every non-NaN value; NaN stays NaN */
	{
		int			bad = 0;

		for (uint32_t h = 0; h < 0x10000; h++)
		{
			float		f = hrm_bf16_to_f32((uint16_t) h);
			uint16_t	back = hrm_f32_to_bf16(f);

			if (f32_bits(f) != h << 16)
				bad++;
			if (isnan(f) ? !isnan(hrm_bf16_to_f32(back)) : back != h)
				bad++;
		}
		HRM_CHECK(bad == 0, "%d bf16 round trips wrong", bad);
	}
	/* against double rounding: RNE to 8 significant bits */
	{
		int			bad = 0;
		uint32_t	x = 12345;

		for (int k = 0; k < 200000; k++)
		{
			float		f;
			float		r;
			double		lo,
						hi;
			uint16_t	b;

			x = x * 1664525u + 1013904223u;
			f = bits_f32(x);
			if (!isfinite(f) || fabsf(f) >= 0x1.fep127f || fabsf(f) < FLT_MIN)
				continue;
			b = hrm_f32_to_bf16(f);
			r = hrm_bf16_to_f32(b);
			/* the neighbours of r: r is nearest, ties to even mantissa */
			lo = hrm_bf16_to_f32((uint16_t) (b - 1));
			hi = hrm_bf16_to_f32((uint16_t) (b + 1));
			if (fabs((double) f - r) > fabs((double) f - lo) || fabs((double) f - r) > fabs((double) f - hi))
				bad++;
			else if ((fabs((double) f - r) == fabs((double) f - lo) ||
					  fabs((double) f - r) == fabs((double) f - hi)) && (b & 1))
				bad++;
		}
		HRM_CHECK(bad == 0, "%d random values not rounded to nearest even", bad);
	}
}

HRM_TEST(st_write_round_trip)
{
	float		a[6] = {1.0f, -2.5f, 3.25f, 0.0f, -0.0f, 1e-40f};
	float		b[1] = {42.0f};
	float		c[5] = {0};
	hrm_st_out	t[4] = {
		{"layer.weight", a, 2, {2, 3}},
		{"scalar \"quoted\" \\ name", b, 0, {0}},
		{"empty", NULL, 3, {4, 0, 2}},
		{"v\xc3\xa9\n", c, 1, {5}},
	};
	const char *keys[3] = {"hrm_config", "note \"q\"", "tab\tkey"};
	const char *vals[3] = {"{\"arch\": \"hrm\", \"x\": [1, 2]}", "line1\nline2\\ \x01 \xe2\x82\xac", ""};
	uint8_t    *out = NULL,
			   *out2 = NULL;
	size_t		len = 0,
				len2 = 0;
	hrm_safetensors st;
	hrm_error	err;
	uint64_t	hlen = 0;
	float		x[6];

	c[4] = NAN;
	HRM_REQUIRE(hrm_st_write(t, 4, keys, vals, 3, &out, &len, &err) == HRM_OK, "write: %s", err.msg);
	for (int i = 7; i >= 0; i--)
		hlen = (hlen << 8) | out[i];
	HRM_CHECK(hlen % 8 == 0 && (8 + hlen) % 8 == 0, "header padded to 8: %llu", (unsigned long long) hlen);
	HRM_CHECK(len == 8 + hlen + (6 + 1 + 0 + 5) * 4, "file size");
	HRM_CHECK(out[8] == '{' && (out[8 + hlen - 1] == ' ' || out[8 + hlen - 1] == '}'), "JSON then spaces");
	HRM_CHECK(memcmp(out + 8, "{\"__metadata__\":{\"hrm_config\":", 30) == 0, "metadata first");

	HRM_REQUIRE(hrm_st_parse(out, len, &st, &err) == HRM_OK, "parse back: %s", err.msg);
	HRM_CHECK(st.n_tensors == 4 && st.n_meta == 3, "counts");
	for (int i = 0; i < 3; i++)
		HRM_CHECK(strcmp(hrm_st_meta(&st, keys[i]), vals[i]) == 0, "meta %d", i);
	{
		size_t		off = 0;

		for (int i = 0; i < 4; i++)
		{
			const hrm_st_tensor *r = &st.tensors[i];
			size_t		numel = 1;

			HRM_CHECK(strcmp(r->name, t[i].name) == 0, "name %d in order", i);
			HRM_CHECK(r->dtype == HRM_DT_F32 && r->ndim == t[i].ndim, "dtype/ndim %d", i);
			for (int d = 0; d < t[i].ndim; d++)
			{
				HRM_CHECK(r->shape[d] == t[i].shape[d], "shape %d/%d", i, d);
				numel *= (size_t) t[i].shape[d];
			}
			HRM_CHECK(r->numel == numel && r->begin == off && r->end == off + 4 * numel,
					  "contiguous offsets %d", i);
			off += 4 * numel;
			HRM_CHECK(hrm_st_read_f32(&st, r, x, false, &err) == HRM_OK, "read %d", i);
			HRM_CHECK(numel == 0 || memcmp(x, t[i].data, 4 * numel) == 0, "values %d bit-exact", i);
		}
	}
	HRM_CHECK(hrm_st_read_f32(&st, &st.tensors[3], x, true, &err) == HRM_ERR_VALUE, "NaN survives");

	/* writing what was read gives the same bytes */
	{
		hrm_st_out	t2[4];
		float	   *bufs[4];

		for (int i = 0; i < 4; i++)
		{
			const hrm_st_tensor *r = &st.tensors[i];

			bufs[i] = malloc(4 * (r->numel + 1));
			hrm_st_read_f32(&st, r, bufs[i], false, &err);
			t2[i].name = r->name;
			t2[i].data = bufs[i];
			t2[i].ndim = r->ndim;
			memcpy(t2[i].shape, r->shape, sizeof(r->shape));
		}
		HRM_CHECK(hrm_st_write(t2, 4, (const char *const *) st.meta_keys,
							   (const char *const *) st.meta_values, st.n_meta, &out2, &len2, &err) == HRM_OK,
				  "rewrite");
		HRM_CHECK(len2 == len && memcmp(out, out2, len) == 0, "identical bytes");
		for (int i = 0; i < 4; i++)
			free(bufs[i]);
	}
	hrm_st_free(&st);
	hrm_free(out);
	hrm_free(out2);

	/* no tensors, no metadata */
	HRM_REQUIRE(hrm_st_write(NULL, 0, NULL, NULL, 0, &out, &len, &err) == HRM_OK, "empty write");
	HRM_CHECK(len == 16 && memcmp(out + 8, "{}      ", 8) == 0, "empty file layout");
	HRM_CHECK(hrm_st_parse(out, len, &st, &err) == HRM_OK && st.n_tensors == 0 && st.n_meta == 0,
			  "empty file parses");
	hrm_st_free(&st);
	hrm_free(out);

	/* metadata only */
	HRM_REQUIRE(hrm_st_write(NULL, 0, keys, vals, 1, &out, &len, &err) == HRM_OK, "metadata-only write");
	HRM_CHECK(hrm_st_parse(out, len, &st, &err) == HRM_OK && st.n_meta == 1 &&
			  strcmp(hrm_st_meta(&st, "hrm_config"), vals[0]) == 0, "metadata-only file parses");
	hrm_st_free(&st);
	hrm_free(out);
}

HRM_TEST(st_write_errors)
{
	float		a[4] = {1, 2, 3, 4};
	uint8_t    *out = (uint8_t *) 1;
	size_t		len = 1;
	hrm_error	err;
	const char *k2[2] = {"k", "k"};
	const char *v2[2] = {"1", "2"};
	const char *knull[1] = {NULL};
	hrm_st_out	dup[2] = {{"w", a, 1, {2}}, {"w", a + 2, 1, {2}}};
	hrm_st_out	meta[1] = {{"__metadata__", a, 1, {1}}};
	hrm_st_out	deep[1] = {{"w", a, 9, {1, 1, 1, 1, 1, 1, 1, 1}}};
	hrm_st_out	neg[1] = {{"w", a, 1, {-1}}};
	hrm_st_out	nodata[1] = {{"w", NULL, 1, {2}}};
	hrm_st_out	noname[1] = {{NULL, a, 1, {1}}};
	hrm_st_out	huge[1] = {{"w", a, 2, {INT64_MAX, INT64_MAX}}};

	HRM_CHECK(hrm_st_write(dup, 2, NULL, NULL, 0, &out, &len, &err) == HRM_ERR_INVALID &&
			  strstr(err.msg, "duplicate tensor name \"w\"") && out == NULL && len == 0, "duplicate names");
	HRM_CHECK(hrm_st_write(meta, 1, NULL, NULL, 0, &out, &len, &err) == HRM_ERR_INVALID, "__metadata__");
	HRM_CHECK(hrm_st_write(deep, 1, NULL, NULL, 0, &out, &len, &err) == HRM_ERR_INVALID, "9 dims");
	HRM_CHECK(hrm_st_write(neg, 1, NULL, NULL, 0, &out, &len, &err) == HRM_ERR_INVALID, "negative dim");
	HRM_CHECK(hrm_st_write(nodata, 1, NULL, NULL, 0, &out, &len, &err) == HRM_ERR_INVALID, "no data");
	HRM_CHECK(hrm_st_write(noname, 1, NULL, NULL, 0, &out, &len, &err) == HRM_ERR_INVALID, "no name");
	HRM_CHECK(hrm_st_write(huge, 1, NULL, NULL, 0, &out, &len, &err) == HRM_ERR_INVALID, "overflowing shape");
	HRM_CHECK(hrm_st_write(dup, 1, k2, v2, 2, &out, &len, &err) == HRM_ERR_INVALID &&
			  strstr(err.msg, "duplicate metadata key \"k\""), "duplicate metadata keys");
	HRM_CHECK(hrm_st_write(dup, 1, knull, v2, 1, &out, &len, &err) == HRM_ERR_INVALID, "NULL metadata key");
	HRM_CHECK(hrm_st_write(dup, 1, NULL, NULL, 1, &out, &len, &err) == HRM_ERR_INVALID, "NULL metadata");
	HRM_CHECK(hrm_st_write(NULL, 1, NULL, NULL, 0, &out, &len, &err) == HRM_ERR_INVALID, "NULL tensors");
	HRM_CHECK(hrm_st_write(dup, -1, NULL, NULL, 0, &out, &len, &err) == HRM_ERR_INVALID, "negative count");
	HRM_CHECK(hrm_st_write(dup, 1, NULL, NULL, 0, NULL, &len, &err) == HRM_ERR_INVALID, "NULL out");
	HRM_CHECK(out == NULL, "nothing returned on error");
}

/* Every single-byte change of a valid file parses or fails cleanly. */
HRM_TEST(st_byte_mutations)
{
	dt_file		f = dtypes_file();
	uint8_t    *copy = malloc(f.len);
	const uint8_t vals[] = {0x00, 0x01, 0x22, 0x2c, 0x30, 0x39, 0x5b, 0x5d, 0x7b, 0x7d, 0x5c, 0xff};
	int			parsed = 0,
				failed = 0,
				bad = 0;

	for (size_t pos = 0; pos < f.len; pos++)
	{
		for (size_t v = 0; v < sizeof(vals); v++)
		{
			hrm_safetensors st;
			hrm_error	err;
			hrm_status	rc;

			memcpy(copy, f.buf, f.len);
			if (copy[pos] == vals[v])
				continue;
			copy[pos] = vals[v];
			hrm_error_clear(&err);
			rc = hrm_st_parse(copy, f.len, &st, &err);
			if (rc == HRM_OK)
			{
				parsed++;
				for (int i = 0; i < st.n_tensors; i++)
				{
					double	   *d = malloc(sizeof(double) * (st.tensors[i].numel + 1));

					(void) hrm_st_read_f64(&st, &st.tensors[i], d, &err);
					free(d);
				}
				hrm_st_free(&st);
			}
			else
			{
				failed++;
				if (err.code != rc || err.msg[0] == '\0' || !st_is_empty(&st))
					bad++;
			}
		}
	}
	HRM_CHECK(bad == 0, "%d failures without a proper error", bad);
	HRM_CHECK(parsed > 0 && failed > 0, "parsed %d, failed %d", parsed, failed);
	free(copy);
	free(f.mem);
}

/* ------------------------------------------------------------------------- */
/* The reference fixtures (test/fixtures) */

static uint8_t *
read_fixture(const char *name, size_t *len)
{
	char		path[4096];

	snprintf(path, sizeof(path), "%s/%s", hrm_test_fixtures_dir(), name);
	return hrm_test_read_file(path, len);
}

static bool
shape_is(const hrm_st_tensor *t, hrm_dtype dt, int ndim, int64_t d0, int64_t d1, int64_t d2)
{
	int64_t		d[3] = {d0, d1, d2};

	if (t == NULL || t->dtype != dt || t->ndim != ndim)
		return false;
	for (int i = 0; i < ndim; i++)
		if (t->shape[i] != d[i])
			return false;
	return true;
}

HRM_TEST(st_fixture_weights)
{
	size_t		len = 0;
	uint8_t    *buf = read_fixture("sudoku-tiny.weights.safetensors", &len);
	hrm_safetensors st;
	hrm_error	err;
	const char *cfg;
	hrm_json   *j = NULL;
	float	   *x;
	size_t		total = 0;
	const hrm_st_tensor *t;

	HRM_REQUIRE(buf != NULL, "cannot read %s/sudoku-tiny.weights.safetensors", hrm_test_fixtures_dir());
	HRM_REQUIRE(hrm_st_parse(buf, len, &st, &err) == HRM_OK, "parse: %s", err.msg);
	HRM_CHECK(st.n_tensors == 23, "%d tensors", st.n_tensors);
	HRM_CHECK(st.n_meta == 1, "%d metadata entries", st.n_meta);
	cfg = hrm_st_meta(&st, "hrm_config");
	HRM_REQUIRE(cfg != NULL, "hrm_config");
	HRM_CHECK(strncmp(cfg, "{\"arch\": \"hrm\"", 14) == 0, "hrm_config begins %.20s", cfg);
	HRM_REQUIRE(hrm_json_parse(cfg, strlen(cfg), &j, &err) == HRM_OK, "hrm_config JSON: %s", err.msg);
	HRM_CHECK(hrm_json_get(j, "seq_len")->integer == 81 && hrm_json_get(j, "hidden_size")->integer == 64 &&
			  hrm_json_get(j, "rms_norm_eps")->number == 1e-05 &&
			  strcmp(hrm_json_get(j, "pos_encodings")->string, "rope") == 0, "hrm_config fields");
	hrm_json_free(j);

	HRM_CHECK(shape_is(hrm_st_find(&st, "model.inner.H_init"), HRM_DT_F32, 1, 64, 0, 0), "H_init");
	HRM_CHECK(shape_is(hrm_st_find(&st, "model.inner.embed_tokens.embedding_weight"), HRM_DT_F32, 2, 11, 64, 0),
			  "embed_tokens");
	HRM_CHECK(shape_is(hrm_st_find(&st, "model.inner.H_level.layers.0.self_attn.qkv_proj.weight"),
					   HRM_DT_F32, 2, 192, 64, 0), "qkv_proj");
	HRM_CHECK(shape_is(hrm_st_find(&st, "model.inner.L_level.layers.1.mlp.down_proj.weight"),
					   HRM_DT_F32, 2, 64, 256, 0), "down_proj");
	HRM_CHECK(shape_is(hrm_st_find(&st, "model.inner.puzzle_emb.weights"), HRM_DT_F32, 2, 1, 64, 0),
			  "puzzle_emb");

	x = malloc(sizeof(float) * 512 * 64);
	for (int i = 0; i < st.n_tensors; i++)
	{
		HRM_CHECK(st.tensors[i].dtype == HRM_DT_F32 && st.tensors[i].numel <= 512 * 64, "tensor %d", i);
		HRM_CHECK(hrm_st_read_f32(&st, &st.tensors[i], x, true, &err) == HRM_OK, "read %s: %s",
				  st.tensors[i].name, err.msg);
		total += st.tensors[i].numel;
	}
	HRM_CHECK(total * 4 == st.data_len, "tensors fill the data section");
	t = hrm_st_find(&st, "model.inner.H_init");
	HRM_CHECK(hrm_st_read_f32(&st, t, x, true, &err) == HRM_OK && x[0] == -1.327429175376892f &&
			  x[1] == 0.1976911872625351f && x[2] == -0.33742761611938477f, "H_init values");
	t = hrm_st_find(&st, "model.inner.q_head.bias");
	HRM_CHECK(hrm_st_read_f32(&st, t, x, true, &err) == HRM_OK && x[0] == 0.28703850507736206f &&
			  x[1] == 0.43239790201187134f, "q_head.bias values");
	free(x);
	hrm_st_free(&st);
	free(buf);
}

HRM_TEST(st_fixture_expected)
{
	size_t		len = 0;
	uint8_t    *buf = read_fixture("sudoku-tiny.expected.safetensors", &len);
	hrm_safetensors st;
	hrm_error	err;
	const hrm_st_tensor *t;
	int32_t		in[3 * 81];
	double		d[3 * 81 * 11];
	float		f[3];
	const int32_t first[20] = {0, 0, 0, 0, 0, 7, 7, 10, 5, 9, 8, 7, 1, 7, 5, 7, 3, 10, 6, 3};
	long		sum = 0;
	int			n_f64 = 0;

	HRM_REQUIRE(buf != NULL, "cannot read %s/sudoku-tiny.expected.safetensors", hrm_test_fixtures_dir());
	HRM_REQUIRE(hrm_st_parse(buf, len, &st, &err) == HRM_OK, "parse: %s", err.msg);
	HRM_CHECK(st.n_tensors == 99, "%d tensors", st.n_tensors);
	HRM_CHECK(hrm_st_meta(&st, "hrm_config") != NULL &&
			  strncmp(hrm_st_meta(&st, "hrm_config"), "{\"arch\": \"hrm\"", 14) == 0, "hrm_config");
	HRM_CHECK(hrm_st_meta(&st, "fixture") != NULL &&
			  strcmp(hrm_st_meta(&st, "fixture"), "inference, 16 segments, eval mode (no halting)") == 0,
			  "fixture metadata");

	t = hrm_st_find(&st, "inputs");
	HRM_REQUIRE(shape_is(t, HRM_DT_I32, 2, 3, 81, 0), "inputs is I32 [3, 81]");
	HRM_REQUIRE(hrm_st_read_i32(&st, t, in, &err) == HRM_OK, "read inputs: %s", err.msg);
	HRM_CHECK(memcmp(in, first, sizeof(first)) == 0, "first inputs");
	for (int i = 0; i < 3 * 81; i++)
		sum += in[i];
	HRM_CHECK(sum == 1405, "sum of inputs %ld", sum);
	HRM_CHECK(hrm_st_read_f64(&st, t, d, &err) == HRM_OK && d[7] == 10.0, "inputs as f64");
	t = hrm_st_find(&st, "puzzle_identifiers");
	HRM_CHECK(shape_is(t, HRM_DT_I32, 1, 3, 0, 0) && hrm_st_read_i32(&st, t, in, &err) == HRM_OK &&
			  in[0] == 0 && in[1] == 0 && in[2] == 0, "puzzle_identifiers");

	t = hrm_st_find(&st, "seg01.q_halt_f64");
	HRM_REQUIRE(shape_is(t, HRM_DT_F64, 1, 3, 0, 0), "seg01.q_halt_f64 is F64 [3]");
	HRM_CHECK(hrm_st_read_f64(&st, t, d, &err) == HRM_OK && d[0] == 0.17413675785064697 &&
			  d[1] == 0.33550167083740234 && d[2] == 0.263971745967865, "seg01.q_halt_f64 values");
	HRM_CHECK(hrm_st_read_f32(&st, hrm_st_find(&st, "seg01.q_halt"), f, true, &err) == HRM_OK &&
			  f[0] == 0.17413663864135742f && fabs(f[0] - d[0]) < 1e-5 && fabs(f[2] - d[2]) < 1e-5,
			  "seg01.q_halt close to float64");
	t = hrm_st_find(&st, "seg16.q_continue_f64");
	HRM_CHECK(hrm_st_read_f64(&st, t, d, &err) == HRM_OK && d[0] == 0.43652400374412537 &&
			  d[2] == 0.45185908675193787, "seg16.q_continue_f64 values");
	t = hrm_st_find(&st, "seg01.logits_f64");
	HRM_REQUIRE(shape_is(t, HRM_DT_F64, 3, 3, 81, 11), "seg01.logits_f64 is F64 [3, 81, 11]");
	HRM_CHECK(hrm_st_read_f64(&st, t, d, &err) == HRM_OK && d[0] == 1.5628992499910752 &&
			  d[1] == 0.11597705233737751 && d[2] == -2.188865703008548, "seg01.logits_f64 values");
	HRM_CHECK(shape_is(hrm_st_find(&st, "seg01.input_embeddings"), HRM_DT_F32, 3, 3, 82, 64),
			  "seg01.input_embeddings");
	HRM_CHECK(shape_is(hrm_st_find(&st, "seg16.logits"), HRM_DT_F32, 3, 3, 81, 11), "seg16.logits");

	for (int i = 0; i < st.n_tensors; i++)
	{
		if (st.tensors[i].dtype != HRM_DT_F64)
			continue;
		n_f64++;
		HRM_CHECK(st.tensors[i].numel <= 3 * 81 * 11 &&
				  hrm_st_read_f64(&st, &st.tensors[i], d, &err) == HRM_OK, "read %s", st.tensors[i].name);
		for (size_t k = 0; k < st.tensors[i].numel; k++)
			if (!isfinite(d[k]))
			{
				HRM_CHECK(false, "%s[%zu] not finite", st.tensors[i].name, k);
				break;
			}
	}
	HRM_CHECK(n_f64 == 48, "%d F64 tensors", n_f64);
	hrm_st_free(&st);
	free(buf);
}
