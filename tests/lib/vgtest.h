/* SPDX-License-Identifier: MIT */
/* vgtest.h - cmocka with the headers it needs first (clang-format must not reorder them). */
#ifndef VG_TESTS_VGTEST_H
#define VG_TESTS_VGTEST_H

/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#endif
