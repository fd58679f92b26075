#include "data/npy_header.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "data/byte_order.h"
#include "data/shape_bytes.h"

/* numpy.lib.format: the magic string is \x93NUMPY followed by the major and
 * minor version bytes. */
static const unsigned char NPY_MAGIC[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* Element types nnquant reads and writes, by the array-protocol type string's
 * kind character and item size (the 'descr' value without its byte order). */
static const struct npy_type {
    char kind;
    int size;
    nnq_dtype dtype;
} NPY_TYPES[] = {
    {'f', 4, NNQ_FLOAT}, {'f', 8, NNQ_DOUBLE}, {'f', 2, NNQ_FLOAT16}, {'u', 1, NNQ_UINT8},
    {'i', 1, NNQ_INT8},  {'u', 2, NNQ_UINT16}, {'i', 2, NNQ_INT16},   {'i', 4, NNQ_INT32},
    {'u', 4, NNQ_UINT32}, {'i', 8, NNQ_INT64}, {'u', 8, NNQ_UINT64},  {'b', 1, NNQ_BOOL},
};

nnq_status npy_preamble_size(const unsigned char *prefix, size_t n, const char *what,
                             size_t *size) {
    if (n < 10 || memcmp(prefix, NPY_MAGIC, sizeof NPY_MAGIC) != 0)
        return nnq_fail(NNQ_ERR_PARSE, "'%s' is not a .npy file (bad magic string)", what);
    unsigned major = prefix[6], minor = prefix[7];
    if (major == 1) {
        *size = 10 + (size_t)load_le16(prefix + 8);
        return NNQ_OK;
    }
    if (major != 2 && major != 3)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "'%s': .npy format version %u.%u is not supported",
                        what, major, minor);
    if (n < 12) return nnq_fail(NNQ_ERR_PARSE, "'%s': truncated .npy preamble", what);
    uint32_t header_len = load_le32(prefix + 8);
    if (header_len > (1u << 24)) /* numpy itself refuses headers beyond a few kB */
        return nnq_fail(NNQ_ERR_PARSE, "'%s': .npy header length %" PRIu32 " is absurd", what,
                        header_len);
    *size = 12 + (size_t)header_len;
    return NNQ_OK;
}

/* ---- a tiny reader for the header's Python literal dictionary ---------------------------- */

typedef struct cursor {
    const char *p, *end;
    const char *what;
} cursor;

static void skip_space(cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static bool accept(cursor *c, char ch) {
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

static nnq_status syntax_error(const cursor *c, const char *expected) {
    int shown = c->end - c->p < 20 ? (int)(c->end - c->p) : 20; /* the text is not NUL-terminated */
    return nnq_fail(NNQ_ERR_PARSE, "'%s': malformed .npy header: expected %s near \"%.*s\"",
                    c->what, expected, shown, c->p);
}

static nnq_status expect(cursor *c, char ch) {
    char expected[8];
    snprintf(expected, sizeof expected, "'%c'", ch);
    return accept(c, ch) ? NNQ_OK : syntax_error(c, expected);
}

/* A quoted Python string without escapes (keys and type strings never need them). */
static nnq_status parse_string(cursor *c, char *buf, size_t cap) {
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return syntax_error(c, "a string");
    char quote = *c->p++;
    size_t len = 0;
    while (c->p < c->end && *c->p != quote) {
        if (*c->p == '\\' || *c->p == '\n' || len + 1 >= cap) return syntax_error(c, "a short string");
        buf[len++] = *c->p++;
    }
    if (c->p >= c->end) return syntax_error(c, "a closing quote");
    c->p++;
    buf[len] = '\0';
    return NNQ_OK;
}

static bool accept_word(cursor *c, const char *word) {
    skip_space(c);
    size_t len = strlen(word);
    if ((size_t)(c->end - c->p) < len || memcmp(c->p, word, len) != 0) return false;
    c->p += len;
    return true;
}

static nnq_status parse_bool(cursor *c, bool *value) {
    if (accept_word(c, "True")) *value = true;
    else if (accept_word(c, "False")) *value = false;
    else return syntax_error(c, "True or False");
    return NNQ_OK;
}

/* A non-negative integer; Python 2 era files may carry an 'L' suffix. */
static nnq_status parse_dim(cursor *c, int64_t *value) {
    skip_space(c);
    if (c->p >= c->end || !isdigit((unsigned char)*c->p)) return syntax_error(c, "a dimension");
    int64_t v = 0;
    while (c->p < c->end && isdigit((unsigned char)*c->p)) {
        int digit = *c->p++ - '0';
        if (v > (INT64_MAX - digit) / 10)
            return nnq_fail(NNQ_ERR_PARSE, "'%s': .npy shape has an absurd dimension", c->what);
        v = v * 10 + digit;
    }
    if (c->p < c->end && *c->p == 'L') c->p++;
    *value = v;
    return NNQ_OK;
}

/* A tuple of dimensions: "()", "(5,)", "(2, 3)", "(2, 3,)". */
static nnq_status parse_shape(cursor *c, npy_header *h) {
    NNQ_TRY(expect(c, '('));
    h->rank = 0;
    while (!accept(c, ')')) {
        if (h->rank == NNQ_MAX_RANK)
            return nnq_fail(NNQ_ERR_UNSUPPORTED, "'%s': .npy array has more than %d dimensions",
                            c->what, NNQ_MAX_RANK);
        NNQ_TRY(parse_dim(c, &h->dims[h->rank++]));
        if (accept(c, ',')) continue;
        NNQ_TRY(expect(c, ')'));
        break;
    }
    return NNQ_OK;
}

/* A type string is a byte order character ('<' little, '>' big, '|' not
 * applicable, '=' native), a kind character and the item size in bytes. */
static const struct npy_type *lookup_descr(const char *descr) {
    if (!strchr("<>|=", descr[0]) || !descr[1] || !isdigit((unsigned char)descr[2])) return NULL;
    char *end = NULL;
    long size = strtol(descr + 2, &end, 10);
    if (*end) return NULL;
    for (size_t i = 0; i < sizeof NPY_TYPES / sizeof NPY_TYPES[0]; i++)
        if (NPY_TYPES[i].kind == descr[1] && NPY_TYPES[i].size == size) return &NPY_TYPES[i];
    return NULL;
}

static nnq_status parse_descr(cursor *c, npy_header *h) {
    skip_space(c);
    if (c->p < c->end && *c->p == '[')
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "'%s': structured .npy arrays are not supported",
                        c->what);
    char descr[32];
    NNQ_TRY(parse_string(c, descr, sizeof descr));
    const struct npy_type *type = lookup_descr(descr);
    if (!type)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "'%s': .npy dtype '%s' is not supported (expected "
                        "one of <f4 <f8 <f2 |u1 |i1 <u2 <i2 <i4 <u4 <i8 <u8 |b1)", c->what, descr);
    bool big = descr[0] == '>' || (descr[0] == '=' && !host_is_little_endian());
    if (big && type->size > 1)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "'%s': big-endian .npy data ('%s') is not supported; "
                        "convert it with astype('<%c%d')", c->what, descr, type->kind, type->size);
    h->dtype = type->dtype;
    h->little_endian = !big;
    return NNQ_OK;
}

/* Which of the three required keys have been seen. */
enum { KEY_DESCR = 1, KEY_FORTRAN = 2, KEY_SHAPE = 4, KEY_ALL = 7 };

static nnq_status parse_entry(cursor *c, npy_header *h, unsigned *seen) {
    char key[32];
    NNQ_TRY(parse_string(c, key, sizeof key));
    NNQ_TRY(expect(c, ':'));
    unsigned bit = !strcmp(key, "descr") ? KEY_DESCR
                 : !strcmp(key, "fortran_order") ? KEY_FORTRAN
                 : !strcmp(key, "shape") ? KEY_SHAPE : 0;
    if (!bit || (*seen & bit))
        return nnq_fail(NNQ_ERR_PARSE, "'%s': .npy header has an unexpected or repeated key '%s'",
                        c->what, key);
    *seen |= bit;
    if (bit == KEY_DESCR) return parse_descr(c, h);
    if (bit == KEY_SHAPE) return parse_shape(c, h);
    bool fortran = false;
    NNQ_TRY(parse_bool(c, &fortran));
    if (fortran)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "'%s': Fortran-order .npy arrays are not supported; "
                        "save with np.ascontiguousarray", c->what);
    return NNQ_OK;
}

static nnq_status parse_dict(cursor *c, npy_header *h) {
    unsigned seen = 0;
    NNQ_TRY(expect(c, '{'));
    while (!accept(c, '}')) {
        NNQ_TRY(parse_entry(c, h, &seen));
        if (accept(c, ',')) continue;
        NNQ_TRY(expect(c, '}'));
        break;
    }
    skip_space(c);
    if (c->p != c->end) return syntax_error(c, "the end of the header");
    if (seen != KEY_ALL)
        return nnq_fail(NNQ_ERR_PARSE, "'%s': .npy header lacks one of 'descr', 'fortran_order', "
                        "'shape'", c->what);
    return NNQ_OK;
}

nnq_status npy_header_parse(const unsigned char *preamble, size_t size, const char *what,
                            npy_header *out) {
    memset(out, 0, sizeof *out);
    size_t start = size >= 10 && preamble[6] == 1 ? 10 : 12;
    if (size < start) return nnq_fail(NNQ_ERR_PARSE, "'%s': truncated .npy preamble", what);
    cursor c = {(const char *)preamble + start, (const char *)preamble + size, what};
    /* The dictionary is ASCII (UTF-8 from version 3.0); a NUL would end our error text early. */
    if (memchr(c.p, '\0', (size_t)(c.end - c.p)))
        return nnq_fail(NNQ_ERR_PARSE, "'%s': .npy header contains a NUL byte", what);
    NNQ_TRY(parse_dict(&c, out));
    out->data_offset = size;
    return NNQ_OK;
}

nnq_status npy_header_data_size(const npy_header *h, uint64_t available, const char *what,
                                size_t *bytes) {
    uint64_t need = shape_bytes_within(h->dims, h->rank, dtype_size(h->dtype), INT64_MAX);
    if (need != available) {
        char shape[160];
        dims_format(h->dims, h->rank, shape, sizeof shape);
        if (need == UINT64_MAX)
            return nnq_fail(NNQ_ERR_PARSE, "'%s': .npy shape %s is impossibly large (truncated "
                            "or corrupt file)", what, shape);
        return nnq_fail(NNQ_ERR_PARSE, "'%s': .npy shape %s %s needs %" PRIu64
                        " data bytes but %" PRIu64 " are present", what, shape,
                        dtype_name(h->dtype), need, available);
    }
    *bytes = (size_t)need;
    return NNQ_OK;
}

static const struct npy_type *type_of(nnq_dtype dtype) {
    for (size_t i = 0; i < sizeof NPY_TYPES / sizeof NPY_TYPES[0]; i++)
        if (NPY_TYPES[i].dtype == dtype) return &NPY_TYPES[i];
    return NULL;
}

/* Python's repr of a shape tuple: "()", "(5,)", "(2, 3)". */
static int format_shape(char *buf, size_t cap, int rank, const int64_t *dims) {
    size_t used = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < rank && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%" PRId64, i ? ", " : "", dims[i]);
    if (used < cap) used += (size_t)snprintf(buf + used, cap - used, rank == 1 ? ",)" : ")");
    return (int)used;
}

nnq_status npy_header_format(nnq_dtype dtype, int rank, const int64_t *dims, const char *what,
                             unsigned char *buf, size_t *length) {
    const struct npy_type *type = type_of(dtype);
    if (!type)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "'%s': cannot store %s tensors in .npy", what,
                        dtype_name(dtype));
    char shape[NNQ_MAX_RANK * 24 + 8];
    format_shape(shape, sizeof shape, rank, dims);
    char *dict = (char *)buf + 10;
    int len = snprintf(dict, NPY_MAX_PREAMBLE - 10,
                       "{'descr': '%c%c%d', 'fortran_order': False, 'shape': %s, }",
                       type->size == 1 ? '|' : '<', type->kind, type->size, shape);
    /* numpy.lib.format: pad with spaces and end with '\n' so that the whole
     * preamble (magic, version, length and dictionary) is a multiple of 64 bytes,
     * which keeps the array data aligned. */
    size_t total = ((size_t)10 + (size_t)len + 1 + 63) / 64 * 64;
    if (len < 0 || total > NPY_MAX_PREAMBLE)
        return nnq_fail(NNQ_ERR_INVALID, "'%s': .npy header is too long", what);
    memset(dict + len, ' ', total - 10 - (size_t)len - 1);
    buf[total - 1] = '\n';
    memcpy(buf, NPY_MAGIC, sizeof NPY_MAGIC);
    buf[6] = 1;
    buf[7] = 0;
    store_le16(buf + 8, (uint16_t)(total - 10));
    *length = total;
    return NNQ_OK;
}
