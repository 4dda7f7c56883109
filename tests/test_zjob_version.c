/*  =========================================================================
    test_zjob_version - the version macros and zjob_version agree with the
    project's version in CMakeLists.txt

    The test reads the project () line of CMakeLists.txt itself, so a
    version written by hand anywhere else would show up here.
    ========================================================================= */

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "zjob_version.h"

Test (version, macros_and_runtime_agree)
{
    int major = -1, minor = -1, patch = -1;
    int version = zjob_version (&major, &minor, &patch);
    cr_assert_eq (major, ZJOB_VERSION_MAJOR);
    cr_assert_eq (minor, ZJOB_VERSION_MINOR);
    cr_assert_eq (patch, ZJOB_VERSION_PATCH);
    cr_assert_eq (version, ZJOB_VERSION);
    cr_assert_eq (version, major * 10000 + minor * 100 + patch);
    cr_assert_eq (zjob_version (NULL, NULL, NULL), ZJOB_VERSION);
    cr_assert (ZJOB_MAKE_VERSION (1, 0, 0) > ZJOB_MAKE_VERSION (0, 99, 99));
}

Test (version, is_the_project_version)
{
    FILE *file = fopen (ZJOB_SOURCE_DIR "/CMakeLists.txt", "r");
    cr_assert_not_null (file);
    char line [256];
    int major = -1, minor = -1, patch = -1;
    while (fgets (line, sizeof (line), file))
        if (sscanf (line, "project (zjob VERSION %d.%d.%d", &major, &minor, &patch) == 3)
            break;
    fclose (file);
    cr_assert_geq (major, 0, "no project (zjob VERSION x.y.z) line in CMakeLists.txt");
    cr_assert_eq (zjob_version (NULL, NULL, NULL), ZJOB_MAKE_VERSION (major, minor, patch));
}
