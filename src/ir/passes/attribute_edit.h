/* Adding, replacing and removing a node's attributes, for the passes that
 * rewrite nodes into another form (opset upgrade). */
#ifndef NNQ_IR_PASSES_ATTRIBUTE_EDIT_H
#define NNQ_IR_PASSES_ATTRIBUTE_EDIT_H

#include "ir/graph.h"

/* Removes the attribute called name; nothing happens when it is absent. */
void node_remove_attr(nnq_node *node, const char *name);

/* Sets the attribute called name to an INT / STRING value, replacing any
 * attribute of that name (whatever its kind) or appending a new one. */
nnq_status node_set_attr_int(nnq_node *node, const char *name, int64_t value);
nnq_status node_set_attr_string(nnq_node *node, const char *name, const char *value);

#endif
