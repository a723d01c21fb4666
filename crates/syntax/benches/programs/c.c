#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#define MAX_N 128
#define SQUARE_N(x) ((x) * (x))

struct point_N {
    double x, y;
    char label[16];
};

static double dist_N(const struct point_N *a, const struct point_N *b) {
    /* euclidean distance; "system" in a comment is fine */
    return sqrt(SQUARE_N(a->x - b->x) + SQUARE_N(a->y - b->y));
}

static int compare_N(const void *pa, const void *pb) {
    const struct point_N *a = pa, *b = pb;
    if (a->x < b->x) return -1;
    if (a->x > b->x) return 1;
    return strcmp(a->label, b->label);
}

int solve_N(FILE *in) {
    struct point_N pts[MAX_N];
    int n = 0;
    while (n < MAX_N && fscanf(in, "%lf %lf %15s", &pts[n].x, &pts[n].y, pts[n].label) == 3) {
        n++;
    }
    qsort(pts, n, sizeof pts[0], compare_N);
    double best = 1e18;
    for (int i = 0; i < n; i++) {
        for (int j = i + 1; j < n; j++) {
            double d = dist_N(&pts[i], &pts[j]);
            if (d < best) best = d;
        }
    }
    printf("closest pair: %.3f (%d points)\n", best, n);
    return n > 0 ? 0 : 1;
}

