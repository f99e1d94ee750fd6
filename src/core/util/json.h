/*
 * json.h — a small strict JSON reader (RFC 8259) for safetensors headers
 * and model configurations.  No PostgreSQL dependency.
 *
 * Limits: nesting depth 64, text up to 256 MiB.  Numbers are kept as double
 * and, when they are integers, also as int64 (is_int set).
 */
#ifndef HRM_JSON_H
#define HRM_JSON_H

#include "hrm_common.h"

typedef enum hrm_json_type
{
	HRM_JSON_NULL,
	HRM_JSON_BOOL,
	HRM_JSON_NUMBER,
	HRM_JSON_STRING,
	HRM_JSON_ARRAY,
	HRM_JSON_OBJECT
} hrm_json_type;

typedef struct hrm_json hrm_json;

struct hrm_json
{
	hrm_json_type type;
	bool		boolean;		/* HRM_JSON_BOOL */
	double		number;			/* HRM_JSON_NUMBER */
	bool		is_int;			/* number is integral and fits int64 exactly */
	int64_t		integer;		/* valid when is_int */
	char	   *string;			/* HRM_JSON_STRING: NUL-terminated, UTF-8 */
	size_t		string_len;		/* bytes, excluding the NUL (may contain \u0000) */
	size_t		count;			/* ARRAY / OBJECT: number of members */
	hrm_json   *items;			/* ARRAY / OBJECT: member values */
	char	  **keys;			/* OBJECT: member names (NUL-terminated) */
};

/* Parse text[0..len) into a tree; *out is owned by the caller (hrm_json_free). */
hrm_status	hrm_json_parse(const char *text, size_t len, hrm_json **out, hrm_error *err);
void		hrm_json_free(hrm_json *root);

/* Member of an object by name (last one wins on duplicates); NULL if absent or not an object. */
const hrm_json *hrm_json_get(const hrm_json *obj, const char *key);

/*
 * Append a JSON string literal for s (quotes and escapes included) to a
 * growable buffer; returns false on allocation failure.
 */
/* data is always NUL-terminated (when not failed). */
typedef struct hrm_strbuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	bool		failed;
} hrm_strbuf;

void		hrm_strbuf_init(hrm_strbuf *sb);
void		hrm_strbuf_append(hrm_strbuf *sb, const char *s, size_t n);
void		hrm_strbuf_printf(hrm_strbuf *sb, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
void		hrm_json_append_string(hrm_strbuf *sb, const char *s, size_t n);
void		hrm_strbuf_free(hrm_strbuf *sb);

#endif							/* HRM_JSON_H */
