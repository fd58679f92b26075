/* An image classification dataset laid out as root/<class>/<image>, the
 * layout of torchvision's ImageFolder: classes are the subfolders sorted by
 * name (label = index), images are each class's .png/.jpg/.jpeg files
 * (any case) sorted by name. Hidden entries and other files are skipped. */
#ifndef NNQ_DATA_IMAGE_FOLDER_H
#define NNQ_DATA_IMAGE_FOLDER_H

#include <stddef.h>

#include "nnquant.h"

typedef struct image_folder {
    size_t class_count;
    char **class_names; /* owned */
    size_t count;
    char **paths;       /* owned; "root/class/file" */
    int *labels;        /* index into class_names */
} image_folder;

/* Lists root. Fails if root cannot be read or has no class subfolder. */
nnq_status image_folder_list(const char *root, image_folder *out);

void image_folder_free(image_folder *folder);

#endif
