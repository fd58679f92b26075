/* The shared dataset options of the command line (see cli.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

const char cli_dataset_help[] =
    "Datasets (SPEC):\n"
    "  fashion-mnist:test|train   Fashion-MNIST from /usr/share/datasets/fashion-mnist\n"
    "                             (or --data-dir), images as float32 [N,1,28,28] = pixel/255\n"
    "  mnist:test|train           MNIST from --data-dir DIR (t10k-images-idx3-ubyte[.gz],\n"
    "                             t10k-labels-idx1-ubyte[.gz], train-...), pixel/255\n"
    "  idx:IMAGES[,LABELS]        an IDX pair (uint8 images), float32 [N,1,H,W] = pixel/255\n"
    "  npy:INPUTS.npy[,LABELS.npy]\n"
    "  npz:FILE.npz[:INPUT_KEY[,LABEL_KEY]]\n"
    "  pb:INPUTS.pb[,LABELS.pb]   ONNX TensorProto files\n"
    "                             arrays taken literally: first axis = samples; float64\n"
    "                             becomes float32, integers become float32 unscaled unless\n"
    "                             the model input is integer. By default the inputs are the\n"
    "                             first array and the labels the one named labels, label or y\n"
    "  images:DIR                 DIR/<class>/<image>.png|.jpg; label = sorted class index\n"
    "  DIR, FILE.npy|npz|pb       a bare path: images:, npy:, npz: or pb:\n"
    "\n"
    "Data options:\n"
    "  --data-dir DIR       where mnist:/fashion-mnist: files are\n"
    "  --resize HxW         image size (default: the model input's, else each image's own)\n"
    "  --channels 1|3       image channels (default: the model input's, else 3)\n"
    "  --mean A[,B,C]       per-channel mean subtracted after scaling (default 0)\n"
    "  --std A[,B,C]        per-channel std divided by after the mean (default 1)\n"
    "  --scale S            pixel multiplier, a number or a fraction like 1/255 (default 1/255)\n"
    "  --layout nchw|nhwc   image tensor layout (default: the model input's, else nchw)\n";

/* A finite number, or a fraction "A/B" of finite numbers with B != 0. */
static bool parse_number(const char *text, float *out) {
    char *end;
    double value = strtod(text, &end);
    if (end == text) return false;
    if (*end == '/') {
        const char *denominator_text = end + 1;
        double denominator = strtod(denominator_text, &end);
        if (end == denominator_text || denominator == 0) return false;
        value /= denominator;
    }
    if (*end != '\0' || !isfinite(value)) return false;
    *out = (float)value;
    return true;
}

/* "A" (every channel) or "A,B,C". */
static bool parse_per_channel(const char *text, float values[3]) {
    char buf[256];
    if (strlen(text) >= sizeof buf) return false;
    strcpy(buf, text);
    int count = 0;
    for (char *save = NULL, *part = strtok_r(buf, ",", &save); part; part = strtok_r(NULL, ",", &save)) {
        if (count == 3 || !parse_number(part, &values[count])) return false;
        count++;
    }
    if (count == 1) values[1] = values[2] = values[0];
    return count == 1 || count == 3;
}

/* "HxW" or "S" (square). */
static bool parse_size(const char *text, int *height, int *width) {
    char *end;
    long h = strtol(text, &end, 10), w = h;
    if (end == text) return false;
    if (*end == 'x' || *end == 'X') {
        const char *w_text = end + 1;
        w = strtol(w_text, &end, 10);
        if (end == w_text) return false;
    }
    if (*end != '\0' || h < 1 || w < 1 || h > NNQ_IMAGE_MAX_SIDE || w > NNQ_IMAGE_MAX_SIDE) return false;
    *height = (int)h;
    *width = (int)w;
    return true;
}

cli_option_result cli_parse_dataset_option(const char *command, int argc, char **argv, int *i,
                                           dataset_options *options) {
    bool missing = false;
    const char *value;
    image_preprocess *image = &options->image;
    if ((value = cli_option_value(argc, argv, i, "--data-dir", &missing))) {
        options->data_dir = value;
    } else if ((value = cli_option_value(argc, argv, i, "--resize", &missing))) {
        if (!parse_size(value, &image->height, &image->width))
            return cli_usage_error(command, "--resize needs HxW (like 224x224), not '%s'", value), CLI_OPTION_ERROR;
        options->image_given |= DATASET_GIVEN_SIZE;
    } else if ((value = cli_option_value(argc, argv, i, "--channels", &missing))) {
        if (strcmp(value, "1") != 0 && strcmp(value, "3") != 0)
            return cli_usage_error(command, "--channels must be 1 or 3, not '%s'", value), CLI_OPTION_ERROR;
        image->channels = value[0] - '0';
        options->image_given |= DATASET_GIVEN_CHANNELS;
    } else if ((value = cli_option_value(argc, argv, i, "--mean", &missing))) {
        if (!parse_per_channel(value, image->mean))
            return cli_usage_error(command, "--mean needs 1 or 3 numbers separated by commas, not '%s'", value),
                   CLI_OPTION_ERROR;
        options->image_given |= DATASET_GIVEN_NORMALIZATION;
    } else if ((value = cli_option_value(argc, argv, i, "--std", &missing))) {
        if (!parse_per_channel(value, image->std) || image->std[0] == 0 || image->std[1] == 0 || image->std[2] == 0)
            return cli_usage_error(command, "--std needs 1 or 3 non-zero numbers separated by commas, not '%s'",
                                   value),
                   CLI_OPTION_ERROR;
        options->image_given |= DATASET_GIVEN_NORMALIZATION;
    } else if ((value = cli_option_value(argc, argv, i, "--scale", &missing))) {
        if (!parse_number(value, &image->scale))
            return cli_usage_error(command, "--scale needs a number or a fraction like 1/255, not '%s'", value),
                   CLI_OPTION_ERROR;
        options->image_given |= DATASET_GIVEN_NORMALIZATION;
    } else if ((value = cli_option_value(argc, argv, i, "--layout", &missing))) {
        if (strcmp(value, "nchw") != 0 && strcmp(value, "nhwc") != 0)
            return cli_usage_error(command, "--layout must be nchw or nhwc, not '%s'", value), CLI_OPTION_ERROR;
        image->nhwc = strcmp(value, "nhwc") == 0;
        options->image_given |= DATASET_GIVEN_LAYOUT;
    } else if (missing) {
        return cli_usage_error(command, "option '%s' needs a value", argv[*i]), CLI_OPTION_ERROR;
    } else {
        return CLI_OPTION_OTHER;
    }
    return CLI_OPTION_TAKEN;
}
