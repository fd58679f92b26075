#include "calib/range_search.h"

#include <math.h>

enum {
    COARSE_POINTS_1D = 128,  /* grid of the 1-D searches over a range end */
    COARSE_POINTS_2D = 24,   /* per axis: 25 x 25 candidates for (lo, hi) */
    ZOOM_ROUNDS = 3,         /* each round divides the step by ZOOM_SPLIT */
    ZOOM_SPLIT_1D = 8,
    ZOOM_SPLIT_2D = 4
};

double search_minimize_fraction(fraction_cost_fn cost, void *context, int coarse_points, double *best_cost) {
    double best_t = 1.0, best = cost(context, 1.0);
    for (int k = 1; k < coarse_points; k++) {
        double t = (double)k / coarse_points, c = cost(context, t);
        if (c < best) best = c, best_t = t;
    }
    double step = 1.0 / coarse_points;
    for (int round = 0; round < ZOOM_ROUNDS; round++) {
        double centre = best_t, sub_step = step / ZOOM_SPLIT_1D;
        for (int j = -(ZOOM_SPLIT_1D - 1); j < ZOOM_SPLIT_1D; j++) {
            double t = centre + j * sub_step;
            if (j == 0 || t <= 0.0 || t > 1.0) continue;
            double c = cost(context, t);
            if (c < best) best = c, best_t = t;
        }
        step = sub_step;
    }
    if (best_cost) *best_cost = best;
    return best_t;
}

/* A range search restricted to one end: the other end stays at 0. */
typedef struct one_end_search {
    range_cost_fn cost;
    void *context;
    double limit;
    int moving_end; /* 0: lo moves, 1: hi moves */
} one_end_search;

static double one_end_cost(void *context, double fraction) {
    const one_end_search *s = context;
    double end = s->limit * fraction;
    return s->moving_end ? s->cost(s->context, 0.0, end) : s->cost(s->context, end, 0.0);
}

static double search_two_ends(range_cost_fn cost, void *context, double lo_limit, double hi_limit, double *lo,
                              double *hi) {
    /* Fractions (u, v) of (lo_limit, hi_limit); (0, 0) is the empty range and skipped. */
    double best_u = 1.0, best_v = 1.0, best = cost(context, lo_limit, hi_limit);
    for (int a = 0; a <= COARSE_POINTS_2D; a++) {
        for (int b = 0; b <= COARSE_POINTS_2D; b++) {
            if ((a == 0 && b == 0) || (a == COARSE_POINTS_2D && b == COARSE_POINTS_2D)) continue;
            double u = (double)a / COARSE_POINTS_2D, v = (double)b / COARSE_POINTS_2D;
            double c = cost(context, lo_limit * u, hi_limit * v);
            if (c < best) best = c, best_u = u, best_v = v;
        }
    }
    double step = 1.0 / COARSE_POINTS_2D;
    for (int round = 0; round < ZOOM_ROUNDS; round++) {
        double centre_u = best_u, centre_v = best_v, sub_step = step / ZOOM_SPLIT_2D;
        for (int i = -(ZOOM_SPLIT_2D - 1); i < ZOOM_SPLIT_2D; i++) {
            for (int j = -(ZOOM_SPLIT_2D - 1); j < ZOOM_SPLIT_2D; j++) {
                double u = centre_u + i * sub_step, v = centre_v + j * sub_step;
                if ((i == 0 && j == 0) || u < 0.0 || u > 1.0 || v < 0.0 || v > 1.0 || (u == 0.0 && v == 0.0)) continue;
                double c = cost(context, lo_limit * u, hi_limit * v);
                if (c < best) best = c, best_u = u, best_v = v;
            }
        }
        step = sub_step;
    }
    *lo = lo_limit * best_u;
    *hi = hi_limit * best_v;
    return best;
}

double range_search(range_cost_fn cost, void *context, double lo_limit, double hi_limit, double *lo, double *hi) {
    if (lo_limit < 0.0 && hi_limit > 0.0) return search_two_ends(cost, context, lo_limit, hi_limit, lo, hi);
    one_end_search s = {cost, context, lo_limit < 0.0 ? lo_limit : hi_limit, lo_limit < 0.0 ? 0 : 1};
    double best;
    double fraction = search_minimize_fraction(one_end_cost, &s, COARSE_POINTS_1D, &best);
    *lo = s.moving_end ? 0.0 : s.limit * fraction;
    *hi = s.moving_end ? s.limit * fraction : 0.0;
    return best;
}
