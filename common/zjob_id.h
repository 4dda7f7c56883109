/*  =========================================================================
    zjob_id - job ids and the wall clock, as libzjob's users see them

    The public part of zjob_util (which implements it, in zjob_util.c):
    the size of an id, checking one, the creation time it carries, and the
    clock that times are given in (a spec's run_at, a job's timestamps).
    Issuing ids is the broker's business and stays in zjob_util.h.

    An id is 20 characters of Crockford base32: 48 bits of wall-clock msecs
    then a per-process counter, so ids sort as strings in creation order.
    ========================================================================= */

#ifndef ZJOB_ID_H_INCLUDED
#define ZJOB_ID_H_INCLUDED

#include <stdint.h>
#include <stdbool.h>
#include "zjob_export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZJOB_ID_LEN 20  //  characters in a job id, without the NUL

//  Wall-clock time in milliseconds since the Unix epoch, UTC.
ZJOB_EXPORT int64_t
zjob_clock_ms (void);

//  True if id has the form of a job id (20 Crockford base32 characters).
ZJOB_EXPORT bool
zjob_id_valid (const char *id);

//  Milliseconds encoded in the id's first 48 bits, or -1 if not an id.
ZJOB_EXPORT int64_t
zjob_id_time_ms (const char *id);

#ifdef __cplusplus
}
#endif

#endif
