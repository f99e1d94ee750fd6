/*
 * test_json.c — the strict JSON reader and the string-buffer helpers.
 */
#include "check.h"
#include "json.h"

#include <stdint.h>

/* Parse a NUL-terminated text; NULL (and err filled) on failure. */
static hrm_json *
parse_str(const char *s, hrm_error *err)
{
	hrm_json   *j = NULL;

	hrm_error_clear(err);
	if (hrm_json_parse(s, strlen(s), &j, err) != HRM_OK)
		return NULL;
	return j;
}

/* Expect text to be rejected with code and a message containing needle. */
static bool
rejects(const char *s, size_t n, hrm_status code, const char *needle)
{
	hrm_error	err;
	hrm_json   *j = (hrm_json *) 1;
	hrm_status	rc;

	hrm_error_clear(&err);
	rc = hrm_json_parse(s, n, &j, &err);
	if (rc != code || j != NULL || err.code != code ||
		(needle != NULL && strstr(err.msg, needle) == NULL))
	{
		fprintf(stderr, "    text %.60s: rc %d, msg \"%s\"\n", s, (int) rc, err.msg);
		hrm_json_free(j == (hrm_json *) 1 ? NULL : j);
		return false;
	}
	return true;
}

#define REJECTS(s, needle) rejects((s), strlen(s), HRM_ERR_FORMAT, (needle))

HRM_TEST(json_scalars)
{
	hrm_error	err;
	hrm_json   *j;

	j = parse_str("null", &err);
	HRM_CHECK(j != NULL && j->type == HRM_JSON_NULL, "null");
	hrm_json_free(j);
	j = parse_str(" \t\r\ntrue\n ", &err);
	HRM_CHECK(j != NULL && j->type == HRM_JSON_BOOL && j->boolean, "true");
	hrm_json_free(j);
	j = parse_str("false", &err);
	HRM_CHECK(j != NULL && j->type == HRM_JSON_BOOL && !j->boolean, "false");
	hrm_json_free(j);
	j = parse_str("\"hi\"", &err);
	HRM_CHECK(j != NULL && j->type == HRM_JSON_STRING && j->string_len == 2 &&
			  strcmp(j->string, "hi") == 0, "string");
	hrm_json_free(j);
	j = parse_str("\"\"", &err);
	HRM_CHECK(j != NULL && j->type == HRM_JSON_STRING && j->string_len == 0 &&
			  j->string[0] == '\0', "empty string");
	hrm_json_free(j);
	hrm_json_free(NULL);
}

/* Parse one number; check double value and integer status. */
static bool
number_is(const char *s, double d, bool is_int, int64_t iv)
{
	hrm_error	err;
	hrm_json   *j = parse_str(s, &err);
	bool		ok;

	if (j == NULL)
	{
		fprintf(stderr, "    %s: %s\n", s, err.msg);
		return false;
	}
	ok = j->type == HRM_JSON_NUMBER && j->number == d && j->is_int == is_int &&
		(!is_int || j->integer == iv);
	if (!ok)
		fprintf(stderr, "    %s: number %.17g is_int %d integer %lld\n", s, j->number,
				(int) j->is_int, (long long) j->integer);
	hrm_json_free(j);
	return ok;
}

HRM_TEST(json_numbers)
{
	hrm_error	err;
	hrm_json   *j;

	HRM_CHECK(number_is("0", 0.0, true, 0), "0");
	HRM_CHECK(number_is("-0", 0.0, true, 0), "-0");
	HRM_CHECK(number_is("123", 123.0, true, 123), "123");
	HRM_CHECK(number_is("-42", -42.0, true, -42), "-42");
	HRM_CHECK(number_is("1.5", 1.5, false, 0), "1.5");
	HRM_CHECK(number_is("-0.25", -0.25, false, 0), "-0.25");
	HRM_CHECK(number_is("1e3", 1000.0, true, 1000), "1e3");
	HRM_CHECK(number_is("2.50E+1", 25.0, true, 25), "2.50E+1");
	HRM_CHECK(number_is("100e-2", 1.0, true, 1), "100e-2");
	HRM_CHECK(number_is("0.0", 0.0, true, 0), "0.0");
	HRM_CHECK(number_is("0e5", 0.0, true, 0), "0e5");
	HRM_CHECK(number_is("1E-2", 0.01, false, 0), "1E-2");
	HRM_CHECK(number_is("1e-05", 1e-5, false, 0), "1e-05");
	HRM_CHECK(number_is("10000.0", 10000.0, true, 10000), "10000.0");
	HRM_CHECK(number_is("1e-400", 0.0, false, 0), "underflow");
	HRM_CHECK(number_is("9223372036854775807", 9223372036854775807.0, true, INT64_MAX), "INT64_MAX");
	HRM_CHECK(number_is("-9223372036854775808", -9223372036854775808.0, true, INT64_MIN), "INT64_MIN");
	HRM_CHECK(number_is("9223372036854775808", 9223372036854775808.0, false, 0), "2^63");
	HRM_CHECK(number_is("-9223372036854775809", -9223372036854775808.0, false, 0), "-2^63-1");
	HRM_CHECK(number_is("92233720368547758.07e2", 9223372036854775807.0, true, INT64_MAX),
			  "INT64_MAX with fraction and exponent");
	HRM_CHECK(number_is("1e19", 1e19, false, 0), "1e19");
	HRM_CHECK(number_is("1e18", 1e18, true, 1000000000000000000LL), "1e18");
	HRM_CHECK(number_is("12345678901234567890123", 12345678901234567890123.0, false, 0), "huge");
	HRM_CHECK(number_is("1.0000000000000000000001", 1.0, false, 0), "not integral though the double is");
	/* 2^53 + 1 is not a double, but the integer is exact */
	HRM_CHECK(number_is("9007199254740993", 9007199254740992.0, true, 9007199254740993LL), "2^53+1");
	HRM_CHECK(number_is("0.1", 0.1, false, 0), "0.1");
	HRM_CHECK(REJECTS("1e99999999999999999999", "out of the range of a double at byte 0"),
			  "exponent overflow");
	HRM_CHECK(rejects("1e400", 5, HRM_ERR_FORMAT, "out of the range"), "1e400");
	HRM_CHECK(rejects("-1e400", 6, HRM_ERR_FORMAT, "out of the range"), "-1e400");
	HRM_CHECK(number_is("1e-99999999999999999999", 0.0, false, 0), "tiny exponent");

	/* in an array, numbers end at delimiters */
	j = parse_str("[1,-2.5e-1,3]", &err);
	HRM_REQUIRE(j != NULL && j->type == HRM_JSON_ARRAY && j->count == 3, "array of numbers: %s", err.msg);
	HRM_CHECK(j->items[0].integer == 1 && j->items[1].number == -0.25 && !j->items[1].is_int &&
			  j->items[2].integer == 3, "values");
	hrm_json_free(j);
}

HRM_TEST(json_bad_numbers)
{
	HRM_CHECK(REJECTS("01", "leading zero at byte 0"), "01");
	HRM_CHECK(REJECTS("-01", "leading zero"), "-01");
	HRM_CHECK(REJECTS("[1, 00]", "leading zero at byte 4"), "00");
	HRM_CHECK(REJECTS("1.", "decimal point"), "1.");
	HRM_CHECK(REJECTS(".5", "at byte 0"), ".5");
	HRM_CHECK(REJECTS("+1", "at byte 0"), "+1");
	HRM_CHECK(REJECTS("-", "at byte 1"), "-");
	HRM_CHECK(REJECTS("-a", "at byte 1"), "-a");
	HRM_CHECK(REJECTS("1e", "exponent"), "1e");
	HRM_CHECK(REJECTS("1e+", "exponent"), "1e+");
	HRM_CHECK(REJECTS("1.e5", "decimal point"), "1.e5");
	HRM_CHECK(REJECTS("0x10", "at byte 1"), "0x10");
	HRM_CHECK(REJECTS("NaN", "at byte 0"), "NaN");
	HRM_CHECK(REJECTS("Infinity", NULL), "Infinity");
	HRM_CHECK(REJECTS("-Infinity", NULL), "-Infinity");
	HRM_CHECK(REJECTS("1 2", "end of the text at byte 2"), "1 2");
}

HRM_TEST(json_containers)
{
	hrm_error	err;
	hrm_json   *j;
	const hrm_json *v;

	j = parse_str(" { \"a\" : [ 1 , { } , [ ] , null ] , \"b\":{\"c\":\"d\"}, \"a\": true } ", &err);
	HRM_REQUIRE(j != NULL, "parse: %s", err.msg);
	HRM_CHECK(j->type == HRM_JSON_OBJECT && j->count == 3, "object of 3 members");
	HRM_CHECK(strcmp(j->keys[0], "a") == 0 && strcmp(j->keys[1], "b") == 0 &&
			  strcmp(j->keys[2], "a") == 0, "keys in order");
	HRM_CHECK(j->items[0].type == HRM_JSON_ARRAY && j->items[0].count == 4, "array");
	HRM_CHECK(j->items[0].items[1].type == HRM_JSON_OBJECT && j->items[0].items[1].count == 0,
			  "empty object");
	HRM_CHECK(j->items[0].items[2].type == HRM_JSON_ARRAY && j->items[0].items[2].count == 0,
			  "empty array");
	HRM_CHECK(j->items[0].items[3].type == HRM_JSON_NULL, "null");
	v = hrm_json_get(j, "a");
	HRM_CHECK(v != NULL && v->type == HRM_JSON_BOOL && v->boolean, "last duplicate wins");
	v = hrm_json_get(hrm_json_get(j, "b"), "c");
	HRM_CHECK(v != NULL && v->type == HRM_JSON_STRING && strcmp(v->string, "d") == 0, "nested get");
	HRM_CHECK(hrm_json_get(j, "zz") == NULL, "absent key");
	HRM_CHECK(hrm_json_get(&j->items[0], "a") == NULL, "get on an array");
	HRM_CHECK(hrm_json_get(NULL, "a") == NULL, "get on NULL");
	hrm_json_free(j);

	HRM_CHECK(REJECTS("[1,]", "at byte 3"), "trailing comma in array");
	HRM_CHECK(REJECTS("{\"a\":1,}", "at byte 7"), "trailing comma in object");
	HRM_CHECK(REJECTS("[1 2]", "',' or ']' at byte 3"), "missing comma");
	HRM_CHECK(REJECTS("{\"a\" 1}", "':' at byte 5"), "missing colon");
	HRM_CHECK(REJECTS("{1:2}", "member name"), "number as key");
	HRM_CHECK(REJECTS("{'a':2}", "member name"), "single quotes");
	HRM_CHECK(REJECTS("[", "end of text"), "unterminated array");
	HRM_CHECK(REJECTS("{\"a\":1", "end of text"), "unterminated object");
	HRM_CHECK(REJECTS("[,1]", "at byte 1"), "leading comma");
	HRM_CHECK(REJECTS("", "end of text"), "empty text");
	HRM_CHECK(REJECTS("   ", "end of text, expected a value at byte 3"), "blank text");
	HRM_CHECK(REJECTS("{} x", "at byte 3"), "trailing garbage");
	HRM_CHECK(REJECTS("{}{}", "at byte 2"), "two values");
	HRM_CHECK(REJECTS("tru", NULL), "tru");
	HRM_CHECK(REJECTS("nul", NULL), "nul");
	HRM_CHECK(REJECTS("truex", "at byte 4"), "truex");
	HRM_CHECK(REJECTS("True", NULL), "True");
	HRM_CHECK(REJECTS("[1] // c", NULL), "comment");
	HRM_CHECK(REJECTS("/* c */ 1", NULL), "comment");
	HRM_CHECK(REJECTS("\xef\xbb\xbf{}", NULL), "byte order mark");
	HRM_CHECK(REJECTS("[1]\f", NULL), "form feed is not whitespace");
	HRM_CHECK(rejects("[1]\0", 4, HRM_ERR_FORMAT, "at byte 3"), "NUL after the value");
	HRM_CHECK(rejects("[1\0]", 4, HRM_ERR_FORMAT, "at byte 2"), "NUL inside");

	/* a text that is not NUL-terminated: only len bytes are read */
	{
		char		buf[8];
		hrm_json   *k = NULL;

		memcpy(buf, "[7]]]]]]", 8);
		HRM_CHECK(hrm_json_parse(buf, 3, &k, &err) == HRM_OK && k->items[0].integer == 7,
				  "length-delimited text");
		hrm_json_free(k);
	}
}

HRM_TEST(json_many_members)
{
	hrm_strbuf	sb;
	hrm_error	err;
	hrm_json   *j;
	bool		ok = true;

	hrm_strbuf_init(&sb);
	hrm_strbuf_append(&sb, "{", 1);
	for (int i = 0; i < 5000; i++)
		hrm_strbuf_printf(&sb, "%s\"k%d\":[%d,\"v%d\"]", i ? "," : "", i, i, i);
	hrm_strbuf_append(&sb, "}", 1);
	HRM_REQUIRE(!sb.failed, "strbuf");
	j = NULL;
	HRM_REQUIRE(hrm_json_parse(sb.data, sb.len, &j, &err) == HRM_OK, "parse: %s", err.msg);
	HRM_CHECK(j->count == 5000, "count %zu", j->count);
	for (int i = 0; i < 5000 && ok; i++)
	{
		char		key[16];
		char		val[16];
		const hrm_json *v;

		snprintf(key, sizeof(key), "k%d", i);
		snprintf(val, sizeof(val), "v%d", i);
		v = hrm_json_get(j, key);
		ok = v != NULL && v->count == 2 && v->items[0].integer == i &&
			strcmp(v->items[1].string, val) == 0;
	}
	HRM_CHECK(ok, "members");
	hrm_json_free(j);
	hrm_strbuf_free(&sb);
}

static char *
nested(int depth, char open, char close, const char *inner)
{
	size_t		n = strlen(inner);
	size_t		per = (open == '{') ? 5 : 1;	/* {"a": */
	char	   *s = malloc(depth * per + n + depth + 1);
	size_t		k = 0;

	for (int i = 0; i < depth; i++)
	{
		if (open == '{')
		{
			memcpy(s + k, "{\"a\":", 5);
			k += 5;
		}
		else
			s[k++] = open;
	}
	memcpy(s + k, inner, n);
	k += n;
	for (int i = 0; i < depth; i++)
		s[k++] = close;
	s[k] = '\0';
	return s;
}

HRM_TEST(json_depth_limit)
{
	hrm_error	err;
	hrm_json   *j;
	char	   *s;
	const hrm_json *v;
	int			d = 0;

	s = nested(64, '[', ']', "1");
	j = parse_str(s, &err);
	HRM_CHECK(j != NULL, "64 nested arrays: %s", err.msg);
	for (v = j; v != NULL && v->type == HRM_JSON_ARRAY; v = v->count ? &v->items[0] : NULL)
		d++;
	HRM_CHECK(d == 64, "depth %d", d);
	hrm_json_free(j);
	free(s);

	s = nested(65, '[', ']', "1");
	HRM_CHECK(REJECTS(s, "nesting deeper than 64 levels at byte 64"), "65 nested arrays");
	free(s);

	s = nested(64, '{', '}', "[]");
	HRM_CHECK(REJECTS(s, "nesting deeper than 64"), "64 objects + an array");
	free(s);

	s = nested(64, '{', '}', "0");
	j = parse_str(s, &err);
	HRM_CHECK(j != NULL, "64 nested objects: %s", err.msg);
	hrm_json_free(j);
	free(s);

	/* depth is nesting, not the count of containers */
	s = malloc(64 * 2 * 200 + 3);
	{
		size_t		k = 0;

		s[k++] = '[';
		for (int i = 0; i < 200; i++)
		{
			if (i)
				s[k++] = ',';
			for (int t = 0; t < 63; t++)
				s[k++] = '[';
			for (int t = 0; t < 63; t++)
				s[k++] = ']';
		}
		s[k++] = ']';
		s[k] = '\0';
	}
	j = parse_str(s, &err);
	HRM_CHECK(j != NULL && j->count == 200, "many siblings at depth 64: %s", err.msg);
	hrm_json_free(j);
	free(s);

	/* a deep bomb fails quickly and cleanly */
	s = nested(100000, '[', ']', "");
	HRM_CHECK(REJECTS(s, "nesting deeper"), "100000 nested arrays");
	free(s);
}

/* Parse a one-string document; compare bytes. */
static bool
string_is(const char *text, const char *bytes, size_t n)
{
	hrm_error	err;
	hrm_json   *j = parse_str(text, &err);
	bool		ok;

	if (j == NULL)
	{
		fprintf(stderr, "    %s: %s\n", text, err.msg);
		return false;
	}
	ok = j->type == HRM_JSON_STRING && j->string_len == n && memcmp(j->string, bytes, n) == 0 &&
		j->string[n] == '\0';
	hrm_json_free(j);
	return ok;
}

HRM_TEST(json_strings)
{
	hrm_error	err;
	hrm_json   *j;

	HRM_CHECK(string_is("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8), "simple escapes");
	HRM_CHECK(string_is("\"\\u0041\\u00e9\\u20AC\"", "A\xc3\xa9\xe2\x82\xac", 6), "BMP escapes");
	HRM_CHECK(string_is("\"\\u07FF\\u0800\\uFFFF\"", "\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf", 8),
			  "UTF-8 length boundaries");
	HRM_CHECK(string_is("\"\\uD83D\\uDE00\"", "\xf0\x9f\x98\x80", 4), "surrogate pair");
	HRM_CHECK(string_is("\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf", 4), "U+10FFFF");
	HRM_CHECK(string_is("\"\\uD800\\uDC00x\"", "\xf0\x90\x80\x80x", 5), "U+10000");
	HRM_CHECK(string_is("\"a\\u0000b\"", "a\0b", 3), "embedded NUL in a value");
	HRM_CHECK(string_is("\"\xc3\xa9\xf0\x9f\x98\x80\"", "\xc3\xa9\xf0\x9f\x98\x80", 6), "raw UTF-8");
	HRM_CHECK(string_is("\"\xff\xfe\x80\"", "\xff\xfe\x80", 3), "invalid UTF-8 passes through");
	HRM_CHECK(string_is("\"\x7f\"", "\x7f", 1), "DEL is not a control character for JSON");

	HRM_CHECK(REJECTS("\"\\uD800\"", "high surrogate"), "lone high surrogate");
	HRM_CHECK(REJECTS("\"\\uD800x\"", "high surrogate"), "high surrogate + char");
	HRM_CHECK(REJECTS("\"\\uD800\\u0041\"", "high surrogate"), "high surrogate + BMP");
	HRM_CHECK(REJECTS("\"\\uD800\\uD800\"", "high surrogate"), "two high surrogates");
	HRM_CHECK(REJECTS("\"\\uD800\\n\"", "high surrogate"), "high surrogate + escape");
	HRM_CHECK(REJECTS("\"ab\\uDC00\"", "low surrogate \\uDC00 at byte 3"), "lone low surrogate");
	HRM_CHECK(REJECTS("\"\\uDFFF\\uD800\"", "low surrogate"), "reversed pair");
	HRM_CHECK(REJECTS("\"\\x41\"", "invalid escape '\\x' in string at byte 1"), "\\x");
	HRM_CHECK(REJECTS("\"\\a\"", "invalid escape"), "\\a");
	HRM_CHECK(REJECTS("\"\\U0041\"", "invalid escape"), "\\U");
	HRM_CHECK(REJECTS("\"\\'\"", "invalid escape"), "\\'");
	HRM_CHECK(REJECTS("\"\\u12\"", "four hex digits"), "short \\u");
	HRM_CHECK(REJECTS("\"\\u12G4\"", "four hex digits"), "bad hex");
	HRM_CHECK(REJECTS("\"\\u\"", "four hex digits"), "bare \\u");
	HRM_CHECK(REJECTS("\"\\", "unterminated string"), "backslash at the end");
	HRM_CHECK(REJECTS("\"\\\"", "unterminated string"), "escaped closing quote");
	HRM_CHECK(REJECTS("\"abc", "unterminated string starting at byte 0"), "unterminated");
	HRM_CHECK(REJECTS("\"a\nb\"", "control character 0x0a in string at byte 2"), "raw newline");
	HRM_CHECK(REJECTS("\"a\tb\"", "control character 0x09"), "raw tab");
	HRM_CHECK(REJECTS("\"\x01\"", "control character 0x01"), "raw 0x01");
	HRM_CHECK(REJECTS("\"\x1f\"", "control character 0x1f"), "raw 0x1f");
	HRM_CHECK(rejects("\"a\0b\"", 5, HRM_ERR_FORMAT, "control character 0x00"), "raw NUL");
	HRM_CHECK(REJECTS("\"\\\x01\"", "invalid escape"), "backslash + control char");

	/* member names: escapes decoded; \u0000 is refused (names are C strings) */
	j = parse_str("{\"\\u0061\\n\":1}", &err);
	HRM_CHECK(j != NULL && strcmp(j->keys[0], "a\n") == 0 && hrm_json_get(j, "a\n") != NULL,
			  "escaped key: %s", err.msg);
	hrm_json_free(j);
	HRM_CHECK(REJECTS("{\"a\\u0000b\":1}", "member name contains \\u0000 at byte 3"), "NUL in a key");
}

HRM_TEST(json_error_arguments)
{
	hrm_error	err;
	hrm_json   *j = (hrm_json *) 1;

	HRM_CHECK(hrm_json_parse("1", 1, NULL, &err) == HRM_ERR_INVALID, "no output");
	HRM_CHECK(hrm_json_parse(NULL, 3, &j, &err) == HRM_ERR_INVALID && j == NULL, "no text");
	HRM_CHECK(hrm_json_parse(NULL, 0, &j, &err) == HRM_ERR_FORMAT && j == NULL, "empty NULL text");
	HRM_CHECK(hrm_json_parse("[1", 2, &j, NULL) == HRM_ERR_FORMAT, "err may be NULL");
	HRM_CHECK(hrm_json_parse("1", (size_t) 300 * 1024 * 1024, &j, &err) == HRM_ERR_LIMIT &&
			  strstr(err.msg, "exceeds the limit") != NULL, "text over 256 MiB");
}

HRM_TEST(json_strbuf)
{
	hrm_strbuf	sb;
	char		big[1000];

	hrm_strbuf_init(&sb);
	HRM_CHECK(sb.data == NULL && sb.len == 0 && !sb.failed, "init");
	hrm_strbuf_append(&sb, "abc", 3);
	hrm_strbuf_append(&sb, "", 0);
	hrm_strbuf_printf(&sb, "-%d-%s-", 42, "x");
	HRM_CHECK(sb.len == 9 && strcmp(sb.data, "abc-42-x-") == 0, "append + printf: %s", sb.data);
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	hrm_strbuf_printf(&sb, "%s|%s", big, big);	/* forces the grow-and-retry path */
	HRM_CHECK(sb.len == 9 + 2 * 999 + 1 && sb.data[9] == 'z' && sb.data[9 + 999] == '|' &&
			  sb.data[sb.len] == '\0' && !sb.failed, "long printf");
	for (int i = 0; i < 10000; i++)
		hrm_strbuf_append(&sb, "0123456789", 10);
	HRM_CHECK(sb.len == 9 + 1999 + 100000 && strlen(sb.data) == sb.len, "many appends");
	hrm_strbuf_free(&sb);
	HRM_CHECK(sb.data == NULL && sb.len == 0, "free resets");
	hrm_strbuf_free(&sb);		/* twice is fine */

	hrm_strbuf_init(&sb);
	hrm_strbuf_printf(&sb, "%s", "");
	HRM_CHECK(sb.data != NULL && sb.len == 0 && sb.data[0] == '\0', "empty printf gives \"\"");
	hrm_strbuf_free(&sb);
}

HRM_TEST(json_append_string)
{
	hrm_strbuf	sb;
	hrm_error	err;
	hrm_json   *j = NULL;
	char		all[256];
	const char *expect = "\"q\\\"b\\\\s/\\n\\t\\r\\b\\f\\u0001\\u001f\\u0000\x7f\xc3\xa9\"";

	hrm_strbuf_init(&sb);
	hrm_json_append_string(&sb, "q\"b\\s/\n\t\r\b\f\x01\x1f\0\x7f\xc3\xa9", 17);
	HRM_CHECK(!sb.failed && sb.len == strlen(expect) && strcmp(sb.data, expect) == 0,
			  "escaped: %s", sb.data);
	hrm_strbuf_free(&sb);

	hrm_strbuf_init(&sb);
	hrm_json_append_string(&sb, "", 0);
	hrm_json_append_string(&sb, NULL, 0);
	HRM_CHECK(strcmp(sb.data, "\"\"\"\"") == 0, "empty strings");
	hrm_strbuf_free(&sb);

	/* every byte value survives a round trip through the parser */
	for (int i = 0; i < 256; i++)
		all[i] = (char) i;
	hrm_strbuf_init(&sb);
	hrm_json_append_string(&sb, all, sizeof(all));
	HRM_REQUIRE(!sb.failed, "strbuf");
	HRM_REQUIRE(hrm_json_parse(sb.data, sb.len, &j, &err) == HRM_OK, "parse: %s", err.msg);
	HRM_CHECK(j->type == HRM_JSON_STRING && j->string_len == 256 &&
			  memcmp(j->string, all, 256) == 0, "all bytes round trip");
	hrm_json_free(j);
	hrm_strbuf_free(&sb);
}
