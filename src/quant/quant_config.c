#include "quant/quant_config.h"

#include <string.h>

void quant_config_defaults(quant_config *c) {
    memset(c, 0, sizeof *c);
    c->weight_bits = 8;
    c->activation_bits = 8;
    c->per_channel = true;
    c->weight_signed = true;
    c->activations = ACTIVATION_TYPE_AUTO;
    c->sign_optimization = true;
    c->joins = JOIN_REQUANTIZE;
    c->weight_method = "mse";
    c->activation_method = "mse";
    c->logits_method = "xent";
}

bool name_list_add_csv(name_list *list, char *text) {
    for (char *item = strtok(text, ","); item; item = strtok(NULL, ",")) {
        if (!*item) continue;
        if (list->count == QUANT_MAX_NAMES) return false;
        list->names[list->count++] = item;
    }
    return true;
}

bool name_list_contains(const name_list *list, const char *name) {
    for (int i = 0; i < list->count; i++)
        if (strcmp(list->names[i], name) == 0) return true;
    return false;
}
