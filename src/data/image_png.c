/* PNG decoding with libpng. libpng reports errors by longjmp to png_jmpbuf;
 * our error callback records the message first so the failure names it. */
#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "data/image_codec.h"

typedef struct png_state {
    const char *path;
    png_structp png;
    png_infop info;
    png_bytep *rows;
    char message[256];
} png_state;

static void on_error(png_structp png, png_const_charp message) {
    png_state *s = png_get_error_ptr(png);
    snprintf(s->message, sizeof s->message, "%s", message);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp message) {
    (void)png; /* warnings (bad gamma, unknown chunks) do not stop decoding */
    (void)message;
}

/* Normalizes every color type and bit depth (PNG spec 11.2.2) to 8-bit gray or RGB. */
static void set_transforms(png_structp png, png_infop info) {
    png_byte color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16) png_set_scale_16(png);
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
}

/* Everything that may longjmp happens here; locals are not modified after setjmp. */
static nnq_status decode(png_state *s, FILE *f, nnq_image *out) {
    if (setjmp(png_jmpbuf(s->png)))
        return nnq_fail(NNQ_ERR_PARSE, "'%s': corrupt or truncated PNG (%s)", s->path, s->message);
    png_init_io(s->png, f);
    png_set_user_limits(s->png, NNQ_IMAGE_MAX_SIDE, NNQ_IMAGE_MAX_SIDE);
    png_read_info(s->png, s->info);
    set_transforms(s->png, s->info);
    int channels = png_get_channels(s->png, s->info);
    if (channels != 1 && channels != 3)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "'%s': PNG decodes to %d channels", s->path, channels);
    NNQ_TRY(image_alloc(out, (int)png_get_image_width(s->png, s->info),
                        (int)png_get_image_height(s->png, s->info), channels, s->path));
    s->rows = malloc((size_t)out->height * sizeof *s->rows);
    if (!s->rows) return nnq_fail(NNQ_ERR_NOMEM, "'%s': out of memory", s->path);
    for (int y = 0; y < out->height; y++)
        s->rows[y] = out->pixels + (size_t)y * (size_t)out->width * (size_t)channels;
    png_read_image(s->png, s->rows);
    png_read_end(s->png, NULL);
    return NNQ_OK;
}

nnq_status image_read_png(const char *path, nnq_image *out) {
    memset(out, 0, sizeof *out);
    png_state s = {.path = path};
    FILE *f = fopen(path, "rb");
    if (!f) return nnq_fail(NNQ_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    s.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, on_error, on_warning);
    s.info = s.png ? png_create_info_struct(s.png) : NULL;
    nnq_status st = s.info ? decode(&s, f, out)
                           : nnq_fail(NNQ_ERR_NOMEM, "'%s': cannot initialise libpng", path);
    png_destroy_read_struct(&s.png, &s.info, NULL);
    free(s.rows);
    fclose(f);
    if (st != NNQ_OK) image_free(out);
    return st;
}
