/* Writes PNG files with libpng for tests of the image readers and of image
 * folder datasets. */
#ifndef NNQ_TESTS_PNG_WRITER_H
#define NNQ_TESTS_PNG_WRITER_H

#include <png.h>
#include <stdio.h>

#include "check.h"

/* Writes a PNG; rows are packed as libpng expects for color_type and depth. */
static inline void write_png(const char *path, int width, int height, int color_type, int depth,
                      const unsigned char *data, size_t row_bytes, const png_color *palette,
                      int palette_size) {
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    CHECK(f && png && info);
    if (!f || !png || !info || setjmp(png_jmpbuf(png))) {
        CHECK(0);
        png_destroy_write_struct(&png, &info);
        if (f) fclose(f);
        return;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, depth, color_type,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (palette) png_set_PLTE(png, info, palette, palette_size);
    png_write_info(png, info);
    for (int y = 0; y < height; y++) png_write_row(png, data + (size_t)y * row_bytes);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

#endif
