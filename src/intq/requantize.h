/* How a real rescaling factor becomes integer arithmetic: N2D2's
 * activation rescaling modes (-act-rescaling-mode, seed 000) as one table,
 * and the derivation of a rescale's (multiplier, shift) from a real scale.
 * Applying a rescale is kernels/intq_requantize.h (one function, rounding
 * half to even).
 *
 *   float         Floating-point  y = round(acc * m) in float
 *   fixed16       Fixed-point16   m ~ x 2^-p, x < 2^15 (16-bit signed)
 *   fixed32       Fixed-point32   m ~ x 2^-p, x < 2^31
 *   single-shift  Single-shift    m ~ 2^-n
 *   double-shift  Double-shift    m ~ 2^-n + 2^-k (n < k)
 *
 * As in N2D2, shifts only express scales below 1 (here: at most 1, as 2^0
 * is exact): a layer with a scale above 1 falls back to fixed16. */
#ifndef NNQ_INTQ_REQUANTIZE_H
#define NNQ_INTQ_REQUANTIZE_H

#include <stdbool.h>

#include "intq/kernels/intq_requantize.h"
#include "nnquant.h"

typedef enum intq_rescale_mode {
    INTQ_RESCALE_FLOAT = 0,
    INTQ_RESCALE_FIXED16,
    INTQ_RESCALE_FIXED32,
    INTQ_RESCALE_SINGLE_SHIFT,
    INTQ_RESCALE_DOUBLE_SHIFT,
    INTQ_RESCALE_MODE_COUNT
} intq_rescale_mode;

typedef struct intq_rescale_mode_info {
    intq_rescale_mode mode;
    const char *name;        /* the --rescale value */
    const char *n2d2_name;   /* N2D2's -act-rescaling-mode value */
    bool shift_only;         /* expresses scales <= 1 only: above, the layer falls back to fixed16 */
    int multiplier_bits;     /* fixed-point modes: bits of x, sign included (0 otherwise) */
    /* Weight compensation (Aidge's single shift): the shift's error is folded into the layer's weights. */
    bool compensate_in_weights;
} intq_rescale_mode_info;

const intq_rescale_mode_info *intq_rescale_mode_info_of(intq_rescale_mode mode);
/* Parses a --rescale value (the names above; N2D2's names accepted too). */
nnq_status intq_rescale_mode_parse(const char *text, intq_rescale_mode *mode);
/* "float, fixed16, fixed32, single-shift, double-shift" for messages and help. */
const char *intq_rescale_mode_list(void);

/* The mode a rescale of real scales m[0..n) uses: mode itself, or fixed16 for
 * a shift-only mode when some m exceeds 1 (N2D2's fallback). */
intq_rescale_mode intq_rescale_mode_for(intq_rescale_mode mode, const double *m, int n);

/* The rescale nearest to m > 0 in `mode` (for shift-only modes m <= 1):
 *   float:   real = m;
 *   fixed B: m = f 2^e with f in [0.5, 1): x = round(f 2^(B-1)), p = B-1-e
 *            (x renormalized when it rounds to 2^(B-1)); |x 2^-p / m - 1| <= 2^-(B-1);
 *   single:  the n >= 0 minimizing |2^-n - m|;
 *   double:  the n < k (k - n <= 30) minimizing |2^-n + 2^-k - m|.
 * m = 0 gives multiplier 0. Shifts are clamped to [-31, 62] (scales beyond
 * 2^31 saturate anyway; below 2^-62 every int32 rounds to 0). */
intq_rescale intq_rescale_derive(intq_rescale_mode mode, double m);
/* For shift-only modes: the smallest representable value at or above m
 * (m <= 1), so that a weight compensation ratio m / value never exceeds 1. */
intq_rescale intq_rescale_derive_at_least(intq_rescale_mode mode, double m);

/* The real value a rescale multiplies by. */
double intq_rescale_value(const intq_rescale *r);

#endif
