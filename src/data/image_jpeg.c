/* JPEG decoding with libjpeg. libjpeg's default error_exit calls exit();
 * ours formats the message and longjmps back so a bad file is an error. */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "base/status.h"
#include "data/image_codec.h"

typedef struct jpeg_errors {
    struct jpeg_error_mgr manager; /* first: libjpeg hands us a pointer to it */
    jmp_buf jump;
    bool truncated;
    char message[JMSG_LENGTH_MAX];
} jpeg_errors;

static void on_error_exit(j_common_ptr cinfo) {
    jpeg_errors *errors = (jpeg_errors *)cinfo->err;
    errors->manager.format_message(cinfo, errors->message);
    longjmp(errors->jump, 1);
}

/* Warnings are silent, except that a file cut short (which libjpeg pads with
 * gray) must not pass for a good image. */
static void on_emit_message(j_common_ptr cinfo, int level) {
    jpeg_errors *errors = (jpeg_errors *)cinfo->err;
    if (level < 0 && errors->manager.msg_code == JWRN_JPEG_EOF) errors->truncated = true;
}

static nnq_status start(struct jpeg_decompress_struct *cinfo, const char *path) {
    jpeg_read_header(cinfo, TRUE);
    if (cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "'%s': CMYK JPEG images are not supported", path);
    cinfo->out_color_space = cinfo->num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    if (cinfo->image_width > NNQ_IMAGE_MAX_SIDE || cinfo->image_height > NNQ_IMAGE_MAX_SIDE)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "'%s': JPEG of %ux%u pixels is too large", path,
                        cinfo->image_width, cinfo->image_height);
    jpeg_start_decompress(cinfo);
    return NNQ_OK;
}

/* Everything that may longjmp happens here; locals are not modified after setjmp. */
static nnq_status decode(struct jpeg_decompress_struct *cinfo, jpeg_errors *errors, FILE *f,
                         const char *path, nnq_image *out) {
    if (setjmp(errors->jump))
        return nnq_fail(NNQ_ERR_PARSE, "'%s': corrupt JPEG (%s)", path, errors->message);
    jpeg_create_decompress(cinfo);
    jpeg_stdio_src(cinfo, f);
    NNQ_TRY(start(cinfo, path));
    NNQ_TRY(image_alloc(out, (int)cinfo->output_width, (int)cinfo->output_height,
                        cinfo->output_components, path));
    size_t stride = (size_t)out->width * (size_t)out->channels;
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = out->pixels + (size_t)cinfo->output_scanline * stride;
        jpeg_read_scanlines(cinfo, &row, 1);
    }
    jpeg_finish_decompress(cinfo);
    if (errors->truncated)
        return nnq_fail(NNQ_ERR_PARSE, "'%s': truncated JPEG (premature end of data)", path);
    return NNQ_OK;
}

nnq_status image_read_jpeg(const char *path, nnq_image *out) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return nnq_fail(NNQ_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    struct jpeg_decompress_struct cinfo;
    jpeg_errors errors;
    memset(&cinfo, 0, sizeof cinfo);
    memset(&errors, 0, sizeof errors);
    cinfo.err = jpeg_std_error(&errors.manager);
    errors.manager.error_exit = on_error_exit;
    errors.manager.emit_message = on_emit_message;
    nnq_status st = decode(&cinfo, &errors, f, path, out);
    jpeg_destroy_decompress(&cinfo);
    fclose(f);
    if (st != NNQ_OK) image_free(out);
    return st;
}
