/*
 * json.c — a small strict JSON reader (RFC 8259) and string-buffer helpers.
 *
 * The parser builds a tree of hrm_json nodes.  It is strict: no comments, no
 * trailing commas, no leading zeros, no unescaped control characters in
 * strings, nothing but whitespace after the top-level value, nesting at most
 * HRM_JSON_MAX_DEPTH levels.  \uXXXX escapes (with surrogate pairs) become
 * UTF-8; a lone surrogate is rejected.  Raw bytes of strings are passed
 * through unchanged (invalid UTF-8 is not rejected).  Object member names
 * are NUL-terminated C strings, so a name containing \u0000 is rejected
 * (string values may contain it: see string_len).
 *
 * Memory comes from malloc/realloc/free (hrm_free is free, so either can
 * release it).  Every allocation failure is HRM_ERR_NOMEM and nothing leaks
 * on any error path.
 */
#include "json.h"

#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HRM_JSON_MAX_DEPTH 64
#define HRM_JSON_MAX_TEXT ((size_t) 256 * 1024 * 1024)

typedef struct json_parser
{
	const char *s;
	size_t		len;
	size_t		pos;
	int			depth;
	hrm_error  *err;
} json_parser;

static hrm_status parse_value(json_parser *p, hrm_json *out);

/* Release what a node owns (not the node itself). */
static void
json_free_contents(hrm_json *v)
{
	switch (v->type)
	{
		case HRM_JSON_STRING:
			free(v->string);
			break;
		case HRM_JSON_ARRAY:
		case HRM_JSON_OBJECT:
			for (size_t i = 0; i < v->count; i++)
			{
				json_free_contents(&v->items[i]);
				if (v->keys != NULL)
					free(v->keys[i]);
			}
			free(v->items);
			free(v->keys);
			break;
		default:
			break;
	}
	memset(v, 0, sizeof(*v));
}

void
hrm_json_free(hrm_json *root)
{
	if (root == NULL)
		return;
	json_free_contents(root);
	free(root);
}

const hrm_json *
hrm_json_get(const hrm_json *obj, const char *key)
{
	if (obj == NULL || key == NULL || obj->type != HRM_JSON_OBJECT)
		return NULL;
	for (size_t i = obj->count; i > 0; i--)
	{
		if (strcmp(obj->keys[i - 1], key) == 0)
			return &obj->items[i - 1];
	}
	return NULL;
}

/* ------------------------------------------------------------------------- */
/* Parser */

static void
skip_ws(json_parser *p)
{
	while (p->pos < p->len)
	{
		char		c = p->s[p->pos];

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			p->pos++;
		else
			break;
	}
}

/* "unexpected character 'x'" or "unexpected end of text", with the position. */
static hrm_status
fail_unexpected(json_parser *p, const char *expected)
{
	if (p->pos >= p->len)
		return hrm_fail(p->err, HRM_ERR_FORMAT,
						"JSON: unexpected end of text, expected %s at byte %zu",
						expected, p->pos);
	else
	{
		unsigned char c = (unsigned char) p->s[p->pos];

		if (c >= 0x20 && c < 0x7f)
			return hrm_fail(p->err, HRM_ERR_FORMAT,
							"JSON: unexpected character '%c', expected %s at byte %zu",
							(char) c, expected, p->pos);
		return hrm_fail(p->err, HRM_ERR_FORMAT,
						"JSON: unexpected byte 0x%02x, expected %s at byte %zu",
						c, expected, p->pos);
	}
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits at s[i..i+4) (all before end); -1 if malformed. */
static long
read_hex4(const char *s, size_t i, size_t end)
{
	long		v = 0;

	if (end < 4 || i > end - 4)
		return -1;
	for (int k = 0; k < 4; k++)
	{
		int			h = hex_value(s[i + k]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

static size_t
utf8_encode(unsigned long cp, char *out)
{
	if (cp < 0x80)
	{
		out[0] = (char) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		out[0] = (char) (0xC0 | (cp >> 6));
		out[1] = (char) (0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000)
	{
		out[0] = (char) (0xE0 | (cp >> 12));
		out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char) (0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char) (0xF0 | (cp >> 18));
	out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char) (0x80 | (cp & 0x3F));
	return 4;
}

/*
 * A string literal at p->pos (which is at the opening quote).  The decoded
 * bytes are never longer than the literal, so one allocation suffices.
 */
static hrm_status
parse_string(json_parser *p, char **out, size_t *out_len, bool is_key)
{
	const char *s = p->s;
	size_t		start = p->pos + 1;
	size_t		end;
	size_t		i;
	size_t		n = 0;
	char	   *buf;

	/* find the closing quote, rejecting raw control characters */
	i = start;
	while (i < p->len)
	{
		unsigned char c = (unsigned char) s[i];

		if (c == '"')
			break;
		if (c == '\\')
		{
			i += 2;
			continue;
		}
		if (c < 0x20)
			return hrm_fail(p->err, HRM_ERR_FORMAT,
							"JSON: unescaped control character 0x%02x in string at byte %zu",
							c, i);
		i++;
	}
	if (i >= p->len)
		return hrm_fail(p->err, HRM_ERR_FORMAT,
						"JSON: unterminated string starting at byte %zu", p->pos);
	end = i;

	buf = malloc(end - start + 1);
	if (buf == NULL)
		return hrm_fail(p->err, HRM_ERR_NOMEM, "JSON: out of memory for a string of %zu bytes",
						end - start);

	i = start;
	while (i < end)
	{
		char		c = s[i];
		unsigned long cp;
		long		h;

		if (c != '\\')
		{
			buf[n++] = c;
			i++;
			continue;
		}
		/* i + 1 < end: the scan above never stops right after a backslash */
		switch (s[i + 1])
		{
			case '"':
				buf[n++] = '"';
				i += 2;
				continue;
			case '\\':
				buf[n++] = '\\';
				i += 2;
				continue;
			case '/':
				buf[n++] = '/';
				i += 2;
				continue;
			case 'b':
				buf[n++] = '\b';
				i += 2;
				continue;
			case 'f':
				buf[n++] = '\f';
				i += 2;
				continue;
			case 'n':
				buf[n++] = '\n';
				i += 2;
				continue;
			case 'r':
				buf[n++] = '\r';
				i += 2;
				continue;
			case 't':
				buf[n++] = '\t';
				i += 2;
				continue;
			case 'u':
				break;
			default:
				free(buf);
				if ((unsigned char) s[i + 1] >= 0x20 && (unsigned char) s[i + 1] < 0x7f)
					return hrm_fail(p->err, HRM_ERR_FORMAT,
									"JSON: invalid escape '\\%c' in string at byte %zu",
									s[i + 1], i);
				return hrm_fail(p->err, HRM_ERR_FORMAT,
								"JSON: invalid escape (backslash before byte 0x%02x) in string at byte %zu",
								(unsigned char) s[i + 1], i);
		}
		h = read_hex4(s, i + 2, end);
		if (h < 0)
		{
			free(buf);
			return hrm_fail(p->err, HRM_ERR_FORMAT,
							"JSON: invalid \\u escape (four hex digits expected) at byte %zu", i);
		}
		cp = (unsigned long) h;
		if (cp >= 0xDC00 && cp <= 0xDFFF)
		{
			free(buf);
			return hrm_fail(p->err, HRM_ERR_FORMAT,
							"JSON: lone low surrogate \\u%04lX at byte %zu", cp, i);
		}
		if (cp >= 0xD800 && cp <= 0xDBFF)
		{
			long		lo = -1;

			if (i + 7 < end && s[i + 6] == '\\' && s[i + 7] == 'u')
				lo = read_hex4(s, i + 8, end);
			if (lo < 0xDC00 || lo > 0xDFFF)
			{
				free(buf);
				return hrm_fail(p->err, HRM_ERR_FORMAT,
								"JSON: high surrogate \\u%04lX not followed by a low surrogate at byte %zu",
								cp, i);
			}
			cp = 0x10000 + ((cp - 0xD800) << 10) + ((unsigned long) lo - 0xDC00);
			i += 12;
		}
		else
			i += 6;
		if (cp == 0 && is_key)
		{
			free(buf);
			return hrm_fail(p->err, HRM_ERR_FORMAT,
							"JSON: object member name contains \\u0000 at byte %zu", i - 6);
		}
		n += utf8_encode(cp, buf + n);
	}
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	p->pos = end + 1;
	return HRM_OK;
}

/*
 * Whether the decimal number in tok (already validated against the grammar)
 * is an integer in the int64 range; if so, *value is it, exactly.
 */
static bool
decimal_to_int64(const char *tok, size_t n, int64_t *value)
{
	size_t		i = 0;
	bool		neg = false;
	size_t		int0,
				int1,
				frac0 = 0,
				frac1 = 0;
	int64_t		exp10 = 0;
	size_t		ndig,
				first,
				last;
	bool		any = false;
	uint64_t	acc = 0;

	if (tok[i] == '-')
	{
		neg = true;
		i++;
	}
	int0 = i;
	while (i < n && is_digit(tok[i]))
		i++;
	int1 = i;
	if (i < n && tok[i] == '.')
	{
		frac0 = ++i;
		while (i < n && is_digit(tok[i]))
			i++;
		frac1 = i;
	}
	if (i < n && (tok[i] == 'e' || tok[i] == 'E'))
	{
		bool		eneg = false;

		i++;
		if (tok[i] == '+' || tok[i] == '-')
			eneg = (tok[i++] == '-');
		while (i < n && is_digit(tok[i]))
		{
			if (exp10 < 1000000000)
				exp10 = exp10 * 10 + (tok[i] - '0');
			i++;
		}
		if (eneg)
			exp10 = -exp10;
	}

	/* digits d[0..ndig): the integer part followed by the fraction */
	ndig = (int1 - int0) + (frac1 - frac0);
#define DIGIT(k) ((k) < int1 - int0 ? tok[int0 + (k)] : tok[frac0 + (k) - (int1 - int0)])
	first = last = 0;
	for (size_t k = 0; k < ndig; k++)
	{
		if (DIGIT(k) != '0')
		{
			if (!any)
				first = k;
			last = k;
			any = true;
		}
	}
	if (!any)
	{
		*value = 0;
		return true;
	}
	/* value = d[first..last] * 10^(exp10 - nfrac + (ndig - 1 - last)) */
	exp10 = exp10 - (int64_t) (frac1 - frac0) + (int64_t) (ndig - 1 - last);
	if (exp10 < 0)
		return false;
	if ((int64_t) (last - first + 1) + exp10 > 19)
		return false;			/* at least 10^19 > 2^63 */
	for (size_t k = first; k <= last; k++)
		acc = acc * 10 + (uint64_t) (DIGIT(k) - '0');
#undef DIGIT
	for (int64_t k = 0; k < exp10; k++)
	{
		if (acc > UINT64_MAX / 10)
			return false;
		acc *= 10;
	}
	if (neg)
	{
		if (acc > (uint64_t) INT64_MAX + 1)
			return false;
		*value = (acc == (uint64_t) INT64_MAX + 1) ? INT64_MIN : -(int64_t) acc;
	}
	else
	{
		if (acc > (uint64_t) INT64_MAX)
			return false;
		*value = (int64_t) acc;
	}
	return true;
}

static hrm_status
parse_number(json_parser *p, hrm_json *out)
{
	const char *s = p->s;
	size_t		start = p->pos;
	size_t		i = start;
	size_t		n;
	char		small[64];
	char	   *copy;
	char	   *endp;
	const char *dp = ".";
	size_t		dplen = 1;
	size_t		j = 0;
	double		d;
	bool		has_point = false;

	if (i < p->len && s[i] == '-')
		i++;
	if (i >= p->len || !is_digit(s[i]))
	{
		p->pos = i;
		return fail_unexpected(p, "a digit");
	}
	if (s[i] == '0')
	{
		i++;
		if (i < p->len && is_digit(s[i]))
			return hrm_fail(p->err, HRM_ERR_FORMAT,
							"JSON: number with a leading zero at byte %zu", start);
	}
	else
	{
		while (i < p->len && is_digit(s[i]))
			i++;
	}
	if (i < p->len && s[i] == '.')
	{
		has_point = true;
		i++;
		if (i >= p->len || !is_digit(s[i]))
		{
			p->pos = i;
			return fail_unexpected(p, "a digit after the decimal point");
		}
		while (i < p->len && is_digit(s[i]))
			i++;
	}
	if (i < p->len && (s[i] == 'e' || s[i] == 'E'))
	{
		i++;
		if (i < p->len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= p->len || !is_digit(s[i]))
		{
			p->pos = i;
			return fail_unexpected(p, "a digit in the exponent");
		}
		while (i < p->len && is_digit(s[i]))
			i++;
	}
	n = i - start;

	/* strtod follows LC_NUMERIC: substitute the locale's decimal point */
	if (has_point)
	{
		const struct lconv *lc = localeconv();

		if (lc != NULL && lc->decimal_point != NULL && lc->decimal_point[0] != '\0')
		{
			dp = lc->decimal_point;
			dplen = strlen(dp);
		}
	}
	if (n + dplen + 1 <= sizeof(small))
		copy = small;
	else
	{
		copy = malloc(n + dplen + 1);
		if (copy == NULL)
			return hrm_fail(p->err, HRM_ERR_NOMEM, "JSON: out of memory for a number");
	}
	for (size_t k = start; k < i; k++)
	{
		if (s[k] == '.')
		{
			memcpy(copy + j, dp, dplen);
			j += dplen;
		}
		else
			copy[j++] = s[k];
	}
	copy[j] = '\0';
	d = strtod(copy, &endp);
	if (endp != copy + j)
	{
		if (copy != small)
			free(copy);
		return hrm_fail(p->err, HRM_ERR_INTERNAL,
						"JSON: number not understood by strtod at byte %zu", start);
	}
	if (copy != small)
		free(copy);
	if (isinf(d))
		return hrm_fail(p->err, HRM_ERR_FORMAT,
						"JSON: number out of the range of a double at byte %zu", start);

	out->type = HRM_JSON_NUMBER;
	out->number = d;
	out->is_int = decimal_to_int64(s + start, n, &out->integer);
	if (!out->is_int)
		out->integer = 0;
	p->pos = i;
	return HRM_OK;
}

static hrm_status
parse_literal(json_parser *p, const char *word)
{
	size_t		n = strlen(word);

	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
		return fail_unexpected(p, "a value");
	p->pos += n;
	return HRM_OK;
}

/* Grow a container's arrays to hold at least need members. */
static bool
grow_members(hrm_json **items, char ***keys, size_t *cap, size_t need, bool with_keys)
{
	size_t		ncap;
	hrm_json   *ni;

	if (need <= *cap)
		return true;
	ncap = *cap < 4 ? 4 : *cap;
	while (ncap < need)
	{
		if (ncap > SIZE_MAX / 2)
			return false;
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / sizeof(hrm_json))
		return false;
	ni = realloc(*items, ncap * sizeof(hrm_json));
	if (ni == NULL)
		return false;
	*items = ni;
	if (with_keys)
	{
		char	  **nk = realloc(*keys, ncap * sizeof(char *));

		if (nk == NULL)
			return false;		/* *items stays valid and larger: harmless */
		*keys = nk;
	}
	*cap = ncap;
	return true;
}

/* An array or an object at p->pos (on the opening bracket). */
static hrm_status
parse_container(json_parser *p, hrm_json *out, bool is_object)
{
	hrm_json   *items = NULL;
	char	  **keys = NULL;
	size_t		count = 0;
	size_t		cap = 0;
	hrm_status	rc;
	char		close = is_object ? '}' : ']';

	if (p->depth >= HRM_JSON_MAX_DEPTH)
		return hrm_fail(p->err, HRM_ERR_FORMAT,
						"JSON: nesting deeper than %d levels at byte %zu",
						HRM_JSON_MAX_DEPTH, p->pos);
	p->depth++;
	p->pos++;					/* the bracket */
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close)
	{
		p->pos++;
		goto done;
	}
	for (;;)
	{
		char	   *key = NULL;
		size_t		key_len;
		hrm_json	v;

		skip_ws(p);
		if (is_object)
		{
			if (p->pos >= p->len || p->s[p->pos] != '"')
			{
				rc = fail_unexpected(p, "a string (object member name)");
				goto fail;
			}
			rc = parse_string(p, &key, &key_len, true);
			if (rc != HRM_OK)
				goto fail;
			skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':')
			{
				free(key);
				rc = fail_unexpected(p, "':'");
				goto fail;
			}
			p->pos++;
			skip_ws(p);
		}
		memset(&v, 0, sizeof(v));
		rc = parse_value(p, &v);
		if (rc != HRM_OK)
		{
			free(key);
			goto fail;
		}
		if (!grow_members(&items, &keys, &cap, count + 1, is_object))
		{
			free(key);
			json_free_contents(&v);
			rc = hrm_fail(p->err, HRM_ERR_NOMEM,
						  "JSON: out of memory for %zu members at byte %zu", count + 1, p->pos);
			goto fail;
		}
		items[count] = v;
		if (is_object)
			keys[count] = key;
		count++;

		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',')
		{
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == close)
		{
			p->pos++;
			break;
		}
		rc = fail_unexpected(p, is_object ? "',' or '}'" : "',' or ']'");
		goto fail;
	}

done:
	p->depth--;
	out->type = is_object ? HRM_JSON_OBJECT : HRM_JSON_ARRAY;
	out->count = count;
	out->items = items;
	out->keys = is_object ? keys : NULL;
	if (!is_object)
		free(keys);
	return HRM_OK;

fail:
	for (size_t k = 0; k < count; k++)
	{
		json_free_contents(&items[k]);
		if (is_object)
			free(keys[k]);
	}
	free(items);
	free(keys);
	p->depth--;
	return rc;
}

static hrm_status
parse_value(json_parser *p, hrm_json *out)
{
	if (p->pos >= p->len)
		return fail_unexpected(p, "a value");
	switch (p->s[p->pos])
	{
		case '{':
			return parse_container(p, out, true);
		case '[':
			return parse_container(p, out, false);
		case '"':
			{
				char	   *str;
				size_t		n;
				hrm_status	rc = parse_string(p, &str, &n, false);

				if (rc != HRM_OK)
					return rc;
				out->type = HRM_JSON_STRING;
				out->string = str;
				out->string_len = n;
				return HRM_OK;
			}
		case 't':
			out->type = HRM_JSON_BOOL;
			out->boolean = true;
			return parse_literal(p, "true");
		case 'f':
			out->type = HRM_JSON_BOOL;
			out->boolean = false;
			return parse_literal(p, "false");
		case 'n':
			out->type = HRM_JSON_NULL;
			return parse_literal(p, "null");
		default:
			if (p->s[p->pos] == '-' || is_digit(p->s[p->pos]))
				return parse_number(p, out);
			return fail_unexpected(p, "a value");
	}
}

hrm_status
hrm_json_parse(const char *text, size_t len, hrm_json **out, hrm_error *err)
{
	json_parser p;
	hrm_json   *root;
	hrm_status	rc;

	if (out == NULL)
		return hrm_fail(err, HRM_ERR_INVALID, "JSON: no output pointer");
	*out = NULL;
	if (text == NULL && len > 0)
		return hrm_fail(err, HRM_ERR_INVALID, "JSON: no text");
	if (len > HRM_JSON_MAX_TEXT)
		return hrm_fail(err, HRM_ERR_LIMIT, "JSON: text of %zu bytes exceeds the limit of %zu bytes",
						len, HRM_JSON_MAX_TEXT);

	root = calloc(1, sizeof(hrm_json));
	if (root == NULL)
		return hrm_fail(err, HRM_ERR_NOMEM, "JSON: out of memory");
	p.s = text;
	p.len = len;
	p.pos = 0;
	p.depth = 0;
	p.err = err;

	skip_ws(&p);
	rc = parse_value(&p, root);
	if (rc == HRM_OK)
	{
		skip_ws(&p);
		if (p.pos < p.len)
			rc = fail_unexpected(&p, "the end of the text");
	}
	if (rc != HRM_OK)
	{
		hrm_json_free(root);
		return rc;
	}
	*out = root;
	return HRM_OK;
}

/* ------------------------------------------------------------------------- */
/* Growable string buffer */

void
hrm_strbuf_init(hrm_strbuf *sb)
{
	sb->data = NULL;
	sb->len = 0;
	sb->cap = 0;
	sb->failed = false;
}

void
hrm_strbuf_free(hrm_strbuf *sb)
{
	free(sb->data);
	hrm_strbuf_init(sb);
}

/* Room for extra more bytes plus the terminating NUL. */
static bool
strbuf_reserve(hrm_strbuf *sb, size_t extra)
{
	size_t		need;
	size_t		ncap;
	char	   *nd;

	if (sb->failed)
		return false;
	if (extra > SIZE_MAX - 1 - sb->len)
	{
		sb->failed = true;
		return false;
	}
	need = sb->len + extra + 1;
	if (need <= sb->cap)
		return true;
	ncap = sb->cap < 64 ? 64 : sb->cap;
	while (ncap < need)
	{
		if (ncap > SIZE_MAX / 2)
		{
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	nd = realloc(sb->data, ncap);
	if (nd == NULL)
	{
		sb->failed = true;
		return false;
	}
	sb->data = nd;
	sb->cap = ncap;
	return true;
}

void
hrm_strbuf_append(hrm_strbuf *sb, const char *s, size_t n)
{
	if (!strbuf_reserve(sb, n))
		return;
	if (n > 0)
		memcpy(sb->data + sb->len, s, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
}

void
hrm_strbuf_printf(hrm_strbuf *sb, const char *fmt,...)
{
	va_list		ap;
	int			n;

	if (!strbuf_reserve(sb, 0))
		return;
	va_start(ap, fmt);
	n = vsnprintf(sb->data + sb->len, sb->cap - sb->len, fmt, ap);
	va_end(ap);
	if (n < 0)
	{
		sb->data[sb->len] = '\0';
		sb->failed = true;
		return;
	}
	if ((size_t) n >= sb->cap - sb->len)
	{
		if (!strbuf_reserve(sb, (size_t) n))
		{
			sb->data[sb->len] = '\0';
			return;
		}
		va_start(ap, fmt);
		n = vsnprintf(sb->data + sb->len, sb->cap - sb->len, fmt, ap);
		va_end(ap);
		if (n < 0 || (size_t) n >= sb->cap - sb->len)
		{
			sb->data[sb->len] = '\0';
			sb->failed = true;
			return;
		}
	}
	sb->len += (size_t) n;
}

void
hrm_json_append_string(hrm_strbuf *sb, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t		run = 0;

	hrm_strbuf_append(sb, "\"", 1);
	if (s == NULL)
		n = 0;
	for (size_t i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[i];
		char		esc[6];
		size_t		elen = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		/* flush the plain run before this byte */
		if (i > run)
			hrm_strbuf_append(sb, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		switch (c)
		{
			case '"':
				esc[1] = '"';
				break;
			case '\\':
				esc[1] = '\\';
				break;
			case '\b':
				esc[1] = 'b';
				break;
			case '\f':
				esc[1] = 'f';
				break;
			case '\n':
				esc[1] = 'n';
				break;
			case '\r':
				esc[1] = 'r';
				break;
			case '\t':
				esc[1] = 't';
				break;
			default:
				esc[1] = 'u';
				esc[2] = '0';
				esc[3] = '0';
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				elen = 6;
				break;
		}
		hrm_strbuf_append(sb, esc, elen);
	}
	if (run < n)
		hrm_strbuf_append(sb, s + run, n - run);
	hrm_strbuf_append(sb, "\"", 1);
}
