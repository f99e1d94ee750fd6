/*
 * fuzz_json.c — libFuzzer target for the JSON reader.
 *
 * Parses the input; when it parses, writes the tree back out as JSON (strings
 * through hrm_json_append_string, numbers exactly) and checks that the text
 * parses again into the same tree.  Any difference traps.
 */
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "json.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
serialize(hrm_strbuf *sb, const hrm_json *v)
{
	switch (v->type)
	{
		case HRM_JSON_NULL:
			hrm_strbuf_append(sb, "null", 4);
			break;
		case HRM_JSON_BOOL:
			if (v->boolean)
				hrm_strbuf_append(sb, "true", 4);
			else
				hrm_strbuf_append(sb, "false", 5);
			break;
		case HRM_JSON_NUMBER:
			if (v->is_int && v->integer == 0 && signbit(v->number))
				hrm_strbuf_append(sb, "-0", 2);
			else if (v->is_int)
				hrm_strbuf_printf(sb, "%" PRId64, v->integer);
			else
				hrm_strbuf_printf(sb, "%.17g", v->number);
			break;
		case HRM_JSON_STRING:
			hrm_json_append_string(sb, v->string, v->string_len);
			break;
		case HRM_JSON_ARRAY:
		case HRM_JSON_OBJECT:
			hrm_strbuf_append(sb, v->type == HRM_JSON_ARRAY ? "[" : "{", 1);
			for (size_t i = 0; i < v->count; i++)
			{
				if (i > 0)
					hrm_strbuf_append(sb, ",", 1);
				if (v->type == HRM_JSON_OBJECT)
				{
					hrm_json_append_string(sb, v->keys[i], strlen(v->keys[i]));
					hrm_strbuf_append(sb, ":", 1);
				}
				serialize(sb, &v->items[i]);
			}
			hrm_strbuf_append(sb, v->type == HRM_JSON_ARRAY ? "]" : "}", 1);
			break;
	}
}

static int
same(const hrm_json *a, const hrm_json *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type)
	{
		case HRM_JSON_NULL:
			return 1;
		case HRM_JSON_BOOL:
			return a->boolean == b->boolean;
		case HRM_JSON_NUMBER:
			if (memcmp(&a->number, &b->number, sizeof(double)) != 0)
				return 0;
			/* "1.0000000000000000000001" is not integral but prints as 1 */
			return !a->is_int || (b->is_int && a->integer == b->integer);
		case HRM_JSON_STRING:
			return a->string_len == b->string_len &&
				memcmp(a->string, b->string, a->string_len) == 0 &&
				a->string[a->string_len] == '\0';
		case HRM_JSON_ARRAY:
		case HRM_JSON_OBJECT:
			if (a->count != b->count)
				return 0;
			for (size_t i = 0; i < a->count; i++)
			{
				if (a->type == HRM_JSON_OBJECT && strcmp(a->keys[i], b->keys[i]) != 0)
					return 0;
				if (!same(&a->items[i], &b->items[i]))
					return 0;
			}
			/* lookups agree with the last member of each name */
			if (a->type == HRM_JSON_OBJECT && a->count > 0 &&
				hrm_json_get(a, a->keys[0]) == NULL)
				return 0;
			return 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hrm_json   *j = NULL;
	hrm_json   *k = NULL;
	hrm_error	err;
	hrm_strbuf	sb;

	if (hrm_json_parse((const char *) data, size, &j, &err) != HRM_OK)
	{
		if (j != NULL || err.code == HRM_OK || err.msg[0] == '\0')
			__builtin_trap();
		return 0;
	}
	hrm_strbuf_init(&sb);
	serialize(&sb, j);
	if (sb.failed)
		__builtin_trap();
	if (hrm_json_parse(sb.data, sb.len, &k, &err) != HRM_OK || !same(j, k))
		__builtin_trap();
	hrm_json_free(k);
	hrm_strbuf_free(&sb);
	hrm_json_free(j);
	return 0;
}
