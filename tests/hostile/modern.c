#include <stdio.h>
#include <stdalign.h>
#include <stdnoreturn.h>
#define TYPE(x) _Generic((x), int: "int", double: "double", default: "other")
int main(void) {
    _Static_assert(sizeof(int) >= 4, "int too small");
    struct { alignas(16) int v; } s = { .v = 42 };
    printf("C11 %s %s %d\n", TYPE(1), TYPE(1.0), s.v);
    return 0;
}
