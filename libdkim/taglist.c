/*
 * taglist.c - RFC 6376 §3.2 tag=value lists (DKIM-Signature values and key
 * records).
 *
 * Interface (internal.h): dkim_taglist_parse (and _tolerant, below) splits
 * a list into name/value pairs that point into the caller's text (nothing
 * is copied or allocated); dkim_taglist_find looks a tag up by name. Which
 * tags are required or known is the caller's business.
 *
 * Grammar (§3.2):
 *   tag-list  = tag-spec *( ";" tag-spec ) [ ";" ]
 *   tag-spec  = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
 *   tag-name  = ALPHA *ALNUMPUNC          (ALNUMPUNC = ALPHA / DIGIT / "_")
 *   tag-value = [ tval *( 1*(WSP / FWS) tval ) ]
 *   tval      = 1*VALCHAR                 (VALCHAR = %x21-3A / %x3C-7E)
 * FWS is accepted as any run of SP, HTAB, CR and LF. Bytes >= 0x80 are
 * accepted in values (RFC 8616 allows UTF-8 there).
 *
 * dkim_taglist_parse_tolerant, for key records, also takes names outside
 * that grammar (a letter or digit, then visible ASCII other than ";" and
 * "="), such as "x-foo": no tag we know has such a name, so it is one more
 * unrecognized tag, which §3.2 says MUST be ignored. OpenDKIM and dkimpy
 * read key records so; failing them would fail keys the rest of the world
 * accepts. DKIM-Signature values stay strict (sig.c, §6.1.1).
 *
 * Errors: DKIM_ERR_SYNTAX naming the tag and the problem (bad name, no
 * "=", forbidden character, duplicate, empty tag-spec); DKIM_ERR_LIMIT past
 * max_tags.
 */
#include "internal.h"

#include <string.h>

/* Whitespace allowed where the grammar has FWS. */
static bool dkim_taglist_is_fws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool dkim_taglist_is_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool dkim_taglist_is_alnumpunc(unsigned char c)
{
	return dkim_taglist_is_alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

/* VALCHAR (§3.2), plus UTF-8 bytes (RFC 8616 §4). */
static bool dkim_taglist_is_valchar(unsigned char c)
{
	return (c >= 0x21 && c <= 0x7e && c != ';') || c >= 0x80;
}

static size_t dkim_taglist_skip_fws(const char *text, size_t len, size_t i)
{
	while (i < len && dkim_taglist_is_fws((unsigned char)text[i]))
		i++;
	return i;
}

/* tag-name = ALPHA *ALNUMPUNC; tolerated: (ALPHA / DIGIT) *(visible but ; =) */
static bool dkim_taglist_name_first(unsigned char c, bool tolerant)
{
	return dkim_taglist_is_alpha(c) || (tolerant && c >= '0' && c <= '9');
}

static bool dkim_taglist_name_char(unsigned char c, bool tolerant)
{
	if (tolerant)
		return c >= 0x21 && c <= 0x7e && c != ';' && c != '=';
	return dkim_taglist_is_alnumpunc(c);
}

/* The end of the name starting at text[i]; i itself when there is none. */
static size_t dkim_taglist_name_end(const char *text, size_t len, size_t i,
                                    bool tolerant)
{
	if (!dkim_taglist_name_first((unsigned char)text[i], tolerant))
		return i;
	while (i < len && dkim_taglist_name_char((unsigned char)text[i], tolerant))
		i++;
	return i;
}

/*
 * Parses the tag-name and "=" at text[*pos]; leaves *pos after the "=" and
 * any FWS that follows it.
 */
static dkim_status dkim_taglist_parse_name(const char *text, size_t len,
                                           bool tolerant, size_t *pos,
                                           dkim_tag *tag, dkim_error *err)
{
	size_t start = *pos, i = dkim_taglist_name_end(text, len, *pos, tolerant);

	if (i == start)
		return dkim_fail(err, DKIM_ERR_SYNTAX,
		                 "tag-list: tag name must start with a letter%s "
		                 "(found 0x%02x at offset %zu)",
		                 tolerant ? " or digit" : "",
		                 (unsigned char)text[start], start);
	tag->name = text + start;
	tag->name_len = i - start;
	i = dkim_taglist_skip_fws(text, len, i);
	if (i >= len || text[i] != '=')
		return dkim_fail(err, DKIM_ERR_SYNTAX,
		                 "tag-list: tag \"%.*s\": expected \"=\" after the name",
		                 (int)tag->name_len, tag->name);
	*pos = dkim_taglist_skip_fws(text, len, i + 1);
	return DKIM_OK;
}

/*
 * Parses a tag-value at text[*pos] up to ";" or the end; the value keeps
 * inner FWS and loses it at both ends (§3.2: "whitespace ... at the
 * beginning or end of the tag-value ... MUST be ignored").
 */
static dkim_status dkim_taglist_parse_value(const char *text, size_t len,
                                            size_t *pos, dkim_tag *tag,
                                            dkim_error *err)
{
	size_t i = *pos, last = *pos;

	for (; i < len && text[i] != ';'; i++) {
		unsigned char c = (unsigned char)text[i];

		if (dkim_taglist_is_valchar(c))
			last = i + 1;
		else if (!dkim_taglist_is_fws(c))
			return dkim_fail(err, DKIM_ERR_SYNTAX,
			                 "tag-list: tag \"%.*s\": invalid character "
			                 "0x%02x in value",
			                 (int)tag->name_len, tag->name, c);
	}
	tag->value = text + *pos;
	tag->value_len = last - *pos;
	*pos = i;
	return DKIM_OK;
}

/* §3.2: "Tags with duplicate names MUST NOT occur within a single tag-list". */
static bool dkim_taglist_has(const dkim_tag *tags, size_t ntags,
                             const char *name, size_t name_len)
{
	size_t i;

	for (i = 0; i < ntags; i++)
		if (tags[i].name_len == name_len &&
		    memcmp(tags[i].name, name, name_len) == 0)
			return true;
	return false;
}

static dkim_status dkim_taglist_parse_any(const char *text, size_t len,
                                          bool tolerant, dkim_tag *tags,
                                          size_t max_tags, size_t *ntags,
                                          dkim_error *err)
{
	size_t pos = 0, n = 0;
	dkim_tag tag;
	dkim_status st;

	*ntags = 0;
	pos = dkim_taglist_skip_fws(text, len, pos);
	while (pos < len) {
		if (text[pos] == ';')
			return dkim_fail(err, DKIM_ERR_SYNTAX,
			                 "tag-list: empty tag-spec at offset %zu", pos);
		st = dkim_taglist_parse_name(text, len, tolerant, &pos, &tag, err);
		if (st == DKIM_OK)
			st = dkim_taglist_parse_value(text, len, &pos, &tag, err);
		if (st != DKIM_OK)
			return st;
		if (dkim_taglist_has(tags, n, tag.name, tag.name_len))
			return dkim_fail(err, DKIM_ERR_SYNTAX,
			                 "tag-list: duplicate tag \"%.*s\"",
			                 (int)tag.name_len, tag.name);
		if (n >= max_tags)
			return dkim_fail(err, DKIM_ERR_LIMIT,
			                 "tag-list: more than %zu tags", max_tags);
		tags[n++] = tag;
		/* Past the ";" (a trailing one is allowed) and the next FWS. */
		if (pos < len)
			pos = dkim_taglist_skip_fws(text, len, pos + 1);
	}
	*ntags = n;
	return DKIM_OK;
}

dkim_status dkim_taglist_parse(const char *text, size_t len, dkim_tag *tags,
                               size_t max_tags, size_t *ntags, dkim_error *err)
{
	return dkim_taglist_parse_any(text, len, false, tags, max_tags, ntags, err);
}

dkim_status dkim_taglist_parse_tolerant(const char *text, size_t len,
                                        dkim_tag *tags, size_t max_tags,
                                        size_t *ntags, dkim_error *err)
{
	return dkim_taglist_parse_any(text, len, true, tags, max_tags, ntags, err);
}

const dkim_tag *dkim_taglist_find(const dkim_tag *tags, size_t ntags,
                                  const char *name)
{
	size_t i, name_len = strlen(name);

	for (i = 0; i < ntags; i++)
		if (tags[i].name_len == name_len &&
		    memcmp(tags[i].name, name, name_len) == 0)
			return &tags[i];
	return NULL;
}
