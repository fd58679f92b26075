#include "ir/passes/attribute_edit.h"

#include <stdlib.h>
#include <string.h>

#include "base/status.h"

static int find_attr_index(const nnq_node *node, const char *name) {
    for (int a = 0; a < node->n_attrs; a++)
        if (strcmp(node->attrs[a].name, name) == 0) return a;
    return -1;
}

void node_remove_attr(nnq_node *node, const char *name) {
    int a = find_attr_index(node, name);
    if (a < 0) return;
    attr_free(&node->attrs[a]);
    memmove(&node->attrs[a], &node->attrs[a + 1], sizeof *node->attrs * (size_t)(node->n_attrs - a - 1));
    node->n_attrs--;
}

/* An emptied attribute slot called name: the old one of that name, cleared,
 * or a new one at the end. */
static nnq_status fresh_attr_slot(nnq_node *node, const char *name, nnq_attr **out) {
    char *copy = strdup(name);
    if (!copy) return nnq_fail(NNQ_ERR_NOMEM, "out of memory setting attribute '%s' of node '%s'", name,
                               node_display_name(node));
    int a = find_attr_index(node, name);
    if (a < 0) {
        nnq_attr *grown = realloc(node->attrs, sizeof *grown * (size_t)(node->n_attrs + 1));
        if (!grown) {
            free(copy);
            return nnq_fail(NNQ_ERR_NOMEM, "out of memory setting attribute '%s' of node '%s'", name,
                            node_display_name(node));
        }
        node->attrs = grown;
        a = node->n_attrs++;
    } else {
        attr_free(&node->attrs[a]);
    }
    memset(&node->attrs[a], 0, sizeof node->attrs[a]);
    node->attrs[a].name = copy;
    *out = &node->attrs[a];
    return NNQ_OK;
}

nnq_status node_set_attr_int(nnq_node *node, const char *name, int64_t value) {
    nnq_attr *attr;
    NNQ_TRY(fresh_attr_slot(node, name, &attr));
    attr->type = NNQ_ATTR_INT;
    attr->i = value;
    return NNQ_OK;
}

nnq_status node_set_attr_string(nnq_node *node, const char *name, const char *value) {
    char *copy = strdup(value);
    if (!copy) return nnq_fail(NNQ_ERR_NOMEM, "out of memory setting attribute '%s' of node '%s'", name,
                               node_display_name(node));
    nnq_attr *attr;
    nnq_status st = fresh_attr_slot(node, name, &attr);
    if (st != NNQ_OK) {
        free(copy);
        return st;
    }
    attr->type = NNQ_ATTR_STRING;
    attr->s = copy;
    attr->s_len = strlen(copy);
    return NNQ_OK;
}
