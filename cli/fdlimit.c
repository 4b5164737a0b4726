/* SPDX-License-Identifier: MIT */
/* fdlimit.c - the open-file limit of the commands that hold many sockets (commands.h). */
#include <sys/resource.h>

#include "commands.h"

void
vg_raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}
