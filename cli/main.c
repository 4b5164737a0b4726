#include <stdio.h>

int
main(void)
{
    puts("vigie " VG_VERSION);
    return 0;
}
