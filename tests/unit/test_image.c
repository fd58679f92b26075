/* Image decoding (PNG and JPEG files written here with libpng and libjpeg),
 * preprocessing (bilinear resize, channels, normalization, layouts) and
 * image folder listing. */
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>

#include "base/status.h"
#include "check.h"
#include "data/image.h"
#include "data/image_folder.h"
#include "png_writer.h"

static char temp_dir[] = "/tmp/nnq_test_image_XXXXXX";

/* A path in the test's temporary folder, returned by value. */
typedef struct path_buf {
    char s[256];
} path_buf;

static path_buf temp_path(const char *name) {
    path_buf p;
    snprintf(p.s, sizeof p.s, "%s/%s", temp_dir, name);
    return p;
}

static void write_jpeg(const char *path, int width, int height, int components,
                       const unsigned char *pixels) {
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr err;
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    cinfo.err = jpeg_std_error(&err);
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, f);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = components;
    cinfo.in_color_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 100, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)pixels + (size_t)cinfo.next_scanline * width * components;
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    fclose(f);
}

static void test_png_rgb(void) {
    const unsigned char rgb[2 * 6] = {255, 0, 0, 0, 255, 0, /* row 0: red, green */
                                      0, 0, 255, 10, 20, 30}; /* row 1: blue, (10,20,30) */
    path_buf file = temp_path("rgb.png");
    const char *path = file.s;
    write_png(path, 2, 2, PNG_COLOR_TYPE_RGB, 8, rgb, 6, NULL, 0);
    nnq_image image;
    CHECK_MSG(image_read(path, &image) == NNQ_OK, "%s", nnq_last_error());
    CHECK(image.width == 2 && image.height == 2 && image.channels == 3);
    CHECK(image.pixels && memcmp(image.pixels, rgb, sizeof rgb) == 0);
    image_free(&image);

    /* The same through image_load_tensor with the defaults: NCHW, pixel / 255. */
    image_preprocess options = image_preprocess_defaults();
    nnq_tensor t;
    CHECK_MSG(image_load_tensor(path, &options, &t) == NNQ_OK, "%s", nnq_last_error());
    CHECK(t.dtype == NNQ_FLOAT && t.rank == 4 && t.dims[0] == 1 && t.dims[1] == 3);
    CHECK(t.dims[2] == 2 && t.dims[3] == 2);
    const float *v = t.data;
    CHECK_NEAR(v[0], 1.0, 1e-6);                  /* R of (0,0) */
    CHECK_NEAR(v[1 * 4 + 1], 1.0, 1e-6);          /* G of (0,1) */
    CHECK_NEAR(v[2 * 4 + 3], 30.0 / 255.0, 1e-6); /* B of (1,1) */
    tensor_free(&t);
}

static void test_png_formats(void) {
    nnq_image image;
    /* 16-bit RGBA: samples v*257 scale to exactly v; alpha is dropped. */
    unsigned char rgba16[2 * 8];
    const unsigned values[8] = {10, 20, 30, 0, 200, 100, 50, 255};
    for (int i = 0; i < 8; i++) rgba16[2 * i] = rgba16[2 * i + 1] = (unsigned char)values[i];
    write_png(temp_path("rgba16.png").s, 2, 1, PNG_COLOR_TYPE_RGB_ALPHA, 16, rgba16, 16, NULL, 0);
    CHECK_MSG(image_read(temp_path("rgba16.png").s, &image) == NNQ_OK, "%s", nnq_last_error());
    const unsigned char expect_rgb[6] = {10, 20, 30, 200, 100, 50};
    CHECK(image.channels == 3 && image.pixels && memcmp(image.pixels, expect_rgb, 6) == 0);
    image_free(&image);

    /* 1-bit gray: bits 1,0,1 expand to 255,0,255. */
    const unsigned char bits[1] = {0xa0};
    write_png(temp_path("gray1.png").s, 3, 1, PNG_COLOR_TYPE_GRAY, 1, bits, 1, NULL, 0);
    CHECK_MSG(image_read(temp_path("gray1.png").s, &image) == NNQ_OK, "%s", nnq_last_error());
    CHECK(image.channels == 1 && image.width == 3 && image.pixels);
    CHECK(image.pixels && image.pixels[0] == 255 && image.pixels[1] == 0 && image.pixels[2] == 255);
    image_free(&image);

    /* 4-bit palette, gray + alpha 8-bit. */
    const png_color palette[2] = {{1, 2, 3}, {250, 251, 252}};
    const unsigned char indices[1] = {0x10};
    write_png(temp_path("palette.png").s, 2, 1, PNG_COLOR_TYPE_PALETTE, 4, indices, 1, palette, 2);
    CHECK_MSG(image_read(temp_path("palette.png").s, &image) == NNQ_OK, "%s", nnq_last_error());
    const unsigned char expect_palette[6] = {250, 251, 252, 1, 2, 3};
    CHECK(image.channels == 3 && image.pixels && memcmp(image.pixels, expect_palette, 6) == 0);
    image_free(&image);

    const unsigned char gray_alpha[4] = {77, 0, 99, 255};
    write_png(temp_path("ga.png").s, 2, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 8, gray_alpha, 4, NULL, 0);
    CHECK(image_read(temp_path("ga.png").s, &image) == NNQ_OK && image.channels == 1);
    CHECK(image.pixels && image.pixels[0] == 77 && image.pixels[1] == 99);
    image_free(&image);
}

static void test_jpeg(void) {
    unsigned char rgb[16 * 16 * 3], gray[8 * 8];
    for (int i = 0; i < 16 * 16; i++) {
        rgb[3 * i] = 200;
        rgb[3 * i + 1] = 100;
        rgb[3 * i + 2] = 50;
    }
    memset(gray, 77, sizeof gray);
    write_jpeg(temp_path("rgb.jpg").s, 16, 16, 3, rgb);
    write_jpeg(temp_path("gray.jpg").s, 8, 8, 1, gray);
    nnq_image image;
    CHECK_MSG(image_read(temp_path("rgb.jpg").s, &image) == NNQ_OK, "%s", nnq_last_error());
    CHECK(image.width == 16 && image.height == 16 && image.channels == 3);
    for (int i = 0; image.pixels && i < 16 * 16 * 3; i += 16 * 3 + 3) /* a diagonal */
        CHECK_MSG(abs(image.pixels[i] - 200) <= 3 && abs(image.pixels[i + 1] - 100) <= 3 &&
                  abs(image.pixels[i + 2] - 50) <= 3, "pixel %d: %d %d %d", i / 3,
                  image.pixels[i], image.pixels[i + 1], image.pixels[i + 2]);
    image_free(&image);
    CHECK_MSG(image_read(temp_path("gray.jpg").s, &image) == NNQ_OK, "%s", nnq_last_error());
    CHECK(image.channels == 1 && image.pixels && abs(image.pixels[27] - 77) <= 1);
    image_free(&image);
}

/* Writes the first len bytes of src to dst, the byte at flip_at altered. */
static void copy_prefix(const char *src, const char *dst, long len, long flip_at) {
    unlink(dst); /* a fresh file: rewriting in place makes ext4 flush to disk */
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    CHECK(in && out);
    for (long i = 0; in && out && i < len; i++) {
        int c = fgetc(in);
        if (c == EOF) break;
        fputc(i == flip_at ? c ^ 0x55 : c, out);
    }
    if (in) fclose(in);
    if (out) fclose(out);
}

static long file_size(const char *path) {
    struct stat info;
    return stat(path, &info) == 0 ? (long)info.st_size : 0;
}

static void expect_bad(const char *path, nnq_status expected, const char *part) {
    nnq_image image;
    nnq_status st = image_read(path, &image);
    CHECK_MSG(st == expected, "%s: got %s: %s", path, nnq_status_name(st), nnq_last_error());
    CHECK_MSG(strstr(nnq_last_error(), path) && strstr(nnq_last_error(), part),
              "'%s' lacks '%s'", nnq_last_error(), part);
    CHECK(image.pixels == NULL);
}

static void test_corrupt(void) {
    path_buf png_file = temp_path("rgb.png"), jpg_file = temp_path("rgb.jpg");
    path_buf bad_file = temp_path("bad.img"), big_file = temp_path("gradient.jpg");
    const char *png = png_file.s, *jpg = jpg_file.s, *bad = bad_file.s, *big = big_file.s;
    copy_prefix(png, bad, file_size(png) - 20, -1);
    expect_bad(bad, NNQ_ERR_PARSE, "PNG");
    copy_prefix(png, bad, file_size(png), 40); /* inside IDAT: its CRC no longer matches */
    expect_bad(bad, NNQ_ERR_PARSE, "PNG");
    /* A gradient, so that scan data dominates the file and a cut lands in it. */
    static unsigned char gradient[64 * 64 * 3];
    for (int i = 0; i < 64 * 64 * 3; i++) gradient[i] = (unsigned char)(i * 7 % 251);
    write_jpeg(big, 64, 64, 3, gradient);
    copy_prefix(big, bad, file_size(big) * 3 / 4, -1);
    expect_bad(bad, NNQ_ERR_PARSE, "truncated JPEG");
    unlink(big);
    copy_prefix(jpg, bad, 40, -1);
    expect_bad(bad, NNQ_ERR_PARSE, "JPEG");
    FILE *f = fopen(bad, "wb");
    if (f) {
        fputs("GIF89a not supported", f);
        fclose(f);
    }
    expect_bad(bad, NNQ_ERR_UNSUPPORTED, "neither a PNG nor a JPEG");
    path_buf missing = temp_path("missing.png");
    expect_bad(missing.s, NNQ_ERR_IO, "cannot open");

    /* Every truncation of both files fails cleanly (AddressSanitizer watches). */
    const char *sources[2] = {png, jpg};
    for (int s = 0; s < 2; s++) {
        long size = file_size(sources[s]);
        for (long len = 0; len < size; len += 7) {
            copy_prefix(sources[s], bad, len, -1);
            nnq_image image;
            CHECK(image_read(bad, &image) != NNQ_OK);
        }
        for (long at = 0; at < size; at += 3) {
            copy_prefix(sources[s], bad, size, at);
            nnq_image image;
            if (image_read(bad, &image) == NNQ_OK) image_free(&image);
        }
    }
    unlink(bad);
}

static image_preprocess raw_options(int height, int width, int channels) {
    image_preprocess o = image_preprocess_defaults();
    o.height = height;
    o.width = width;
    o.channels = channels;
    o.scale = 1.0f;
    return o;
}

static void test_bilinear(void) {
    uint8_t pixels[4] = {0, 100, 200, 40};
    nnq_image image = {2, 2, 1, pixels};
    image_preprocess o = raw_options(4, 4, 1);
    nnq_tensor t;
    CHECK(image_to_tensor(&image, &o, &t) == NNQ_OK);
    CHECK(t.rank == 4 && t.dims[1] == 1 && t.dims[2] == 4 && t.dims[3] == 4);
    /* Half-pixel centers: output x maps to source (x + 0.5) / 2 - 0.5, i.e.
     * -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1); so rows 0 and 3
     * are the source rows resized, rows 1 and 2 mix them 3:1 and 1:3. */
    const float expected[16] = {0,   25,     75,    100,  /* */
                                50,  58.75f, 76.25f, 85,  /* */
                                150, 126.25f, 78.75f, 55, /* */
                                200, 160,    80,    40};
    for (int i = 0; i < 16; i++) CHECK_NEAR(((float *)t.data)[i], expected[i], 1e-4);
    tensor_free(&t);

    /* Downscaling 4x1 -> 2x1 averages pixel pairs. */
    uint8_t row[4] = {10, 20, 30, 50};
    nnq_image wide = {4, 1, 1, row};
    o = raw_options(1, 2, 1);
    CHECK(image_to_tensor(&wide, &o, &t) == NNQ_OK);
    CHECK_NEAR(((float *)t.data)[0], 15, 1e-5);
    CHECK_NEAR(((float *)t.data)[1], 40, 1e-5);
    tensor_free(&t);
}

static void test_normalize_and_layout(void) {
    uint8_t one[3] = {10, 20, 30};
    nnq_image pixel = {1, 1, 3, one};
    image_preprocess o = raw_options(0, 0, 3);
    o.mean[0] = 1, o.mean[1] = 2, o.mean[2] = 3;
    o.std[0] = 2, o.std[1] = 4, o.std[2] = 5;
    nnq_tensor t;
    CHECK(image_to_tensor(&pixel, &o, &t) == NNQ_OK);
    CHECK_NEAR(((float *)t.data)[0], 4.5, 1e-6);
    CHECK_NEAR(((float *)t.data)[1], 4.5, 1e-6);
    CHECK_NEAR(((float *)t.data)[2], 5.4, 1e-6);
    tensor_free(&t);

    /* ImageNet-style: scale 1/255 first, then mean/std. */
    o.scale = 1.0f / 255.0f;
    o.mean[0] = 0.485f, o.std[0] = 0.229f;
    CHECK(image_to_tensor(&pixel, &o, &t) == NNQ_OK);
    CHECK_NEAR(((float *)t.data)[0], (10.0 / 255.0 - 0.485) / 0.229, 1e-5);
    tensor_free(&t);

    uint8_t two[6] = {1, 2, 3, 4, 5, 6};
    nnq_image pair = {2, 1, 3, two};
    o = raw_options(0, 0, 3);
    CHECK(image_to_tensor(&pair, &o, &t) == NNQ_OK);
    CHECK(t.dims[0] == 1 && t.dims[1] == 3 && t.dims[2] == 1 && t.dims[3] == 2);
    const float nchw[6] = {1, 4, 2, 5, 3, 6};
    CHECK(memcmp(t.data, nchw, sizeof nchw) == 0);
    tensor_free(&t);
    o.nhwc = true;
    CHECK(image_to_tensor(&pair, &o, &t) == NNQ_OK);
    CHECK(t.dims[0] == 1 && t.dims[1] == 1 && t.dims[2] == 2 && t.dims[3] == 3);
    const float nhwc[6] = {1, 2, 3, 4, 5, 6};
    CHECK(memcmp(t.data, nhwc, sizeof nhwc) == 0);
    tensor_free(&t);

    /* Gray -> 3 channels replicates; RGB -> 1 channel uses BT.601 luma. */
    uint8_t g[1] = {42};
    nnq_image gray = {1, 1, 1, g};
    CHECK(image_to_tensor(&gray, &o, &t) == NNQ_OK && t.dims[3] == 3);
    CHECK(((float *)t.data)[0] == 42 && ((float *)t.data)[1] == 42 && ((float *)t.data)[2] == 42);
    tensor_free(&t);
    uint8_t red[3] = {255, 0, 0};
    nnq_image r = {1, 1, 3, red};
    o = raw_options(0, 0, 1);
    CHECK(image_to_tensor(&r, &o, &t) == NNQ_OK && t.dims[1] == 1);
    CHECK_NEAR(((float *)t.data)[0], 0.299 * 255, 1e-3);
    tensor_free(&t);

    o = raw_options(0, 0, 2);
    CHECK(image_to_tensor(&r, &o, &t) == NNQ_ERR_USAGE && t.data == NULL);
    o = raw_options(0, 0, 3);
    o.std[1] = 0;
    CHECK(image_to_tensor(&r, &o, &t) == NNQ_ERR_USAGE);
    o = raw_options(-1, 4, 3);
    CHECK(image_to_tensor(&r, &o, &t) == NNQ_ERR_USAGE);
}

static void make_file(const char *path) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) fclose(f);
}

static void test_image_folder(void) {
    path_buf root_file = temp_path("folder");
    const char *root = root_file.s;
    char p[512];
    CHECK(mkdir(root, 0777) == 0);
    const char *dirs[] = {"cat", "ant", ".hidden", "empty"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", root, dirs[i]);
        CHECK(mkdir(p, 0777) == 0);
    }
    const char *files[] = {"readme.txt", "cat/b.png", "cat/a.jpg", "cat/notes.txt",
                           "cat/.c.png", "ant/z.PNG", "ant/y.jpeg", ".hidden/x.png"};
    for (int i = 0; i < 8; i++) {
        snprintf(p, sizeof p, "%s/%s", root, files[i]);
        make_file(p);
    }
    image_folder folder;
    CHECK_MSG(image_folder_list(root, &folder) == NNQ_OK, "%s", nnq_last_error());
    CHECK(folder.class_count == 3 && folder.count == 4);
    if (folder.class_count == 3 && folder.count == 4) {
        CHECK(!strcmp(folder.class_names[0], "ant") && !strcmp(folder.class_names[1], "cat"));
        CHECK(!strcmp(folder.class_names[2], "empty"));
        const char *expected[4] = {"ant/y.jpeg", "ant/z.PNG", "cat/a.jpg", "cat/b.png"};
        const int labels[4] = {0, 0, 1, 1};
        for (int i = 0; i < 4; i++) {
            snprintf(p, sizeof p, "%s/%s", root, expected[i]);
            CHECK_MSG(!strcmp(folder.paths[i], p), "%s vs %s", folder.paths[i], p);
            CHECK(folder.labels[i] == labels[i]);
        }
    }
    image_folder_free(&folder);
    for (int i = 7; i >= 0; i--) {
        snprintf(p, sizeof p, "%s/%s", root, files[i]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/empty", root);
    CHECK(image_folder_list(p, &folder) == NNQ_ERR_INVALID);
    CHECK(strstr(nnq_last_error(), p) != NULL);
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", root, dirs[i]);
        rmdir(p);
    }
    rmdir(root);
    CHECK(image_folder_list(root, &folder) == NNQ_ERR_IO && folder.count == 0);
}

int main(void) {
    if (!mkdtemp(temp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_png_rgb();
    test_png_formats();
    test_jpeg();
    test_corrupt();
    test_bilinear();
    test_normalize_and_layout();
    test_image_folder();
    const char *leftovers[] = {"rgb.png", "rgba16.png", "gray1.png", "palette.png", "ga.png",
                               "rgb.jpg", "gray.jpg"};
    for (size_t i = 0; i < sizeof leftovers / sizeof leftovers[0]; i++) unlink(temp_path(leftovers[i]).s);
    rmdir(temp_dir);
    return check_summary();
}
