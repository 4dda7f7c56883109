/*  =========================================================================
    zjob_version - the library's own version, for programs to check at run
    time

    The numbers are compiled in from the generated zjob_version.h, so the
    answer is the version of the libzjob.so that was loaded, whatever the
    headers of the program said when it was compiled.
    ========================================================================= */

#include <stddef.h>
#include "zjob_version.h"

int
zjob_version (int *major, int *minor, int *patch)
{
    if (major)
        *major = ZJOB_VERSION_MAJOR;
    if (minor)
        *minor = ZJOB_VERSION_MINOR;
    if (patch)
        *patch = ZJOB_VERSION_PATCH;
    return ZJOB_VERSION;
}
