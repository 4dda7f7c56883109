/*  =========================================================================
    zjob_retry - the retry policy's arithmetic: the delay before a retry

    A pure function of the policy, the number of the attempt that failed
    and one random draw, so that it is tested without a clock or a broker
    and the manager alone owns the random source (seedable for tests).

        fixed:        d = base
        exponential:  d = min(cap, base * factor^(n-1)), in double, so a
                      huge n or factor saturates at the cap, never wraps
        full jitter:  uniform in [0, d] (random % (d + 1))
        no jitter:    d

    The policy is a resolved one (zjob_job_impl.h): backoff and jitter are
    never UNSET there; an unset value is treated as exponential / full.
    ========================================================================= */

#ifndef ZJOB_RETRY_H_INCLUDED
#define ZJOB_RETRY_H_INCLUDED

#include <stdint.h>
#include "zjob_job_impl.h"

#ifdef __cplusplus
extern "C" {
#endif

//  The delay in ms before the retry that follows failed attempt number
//  attempt (1-based; 0 is taken as 1), given one uniform random draw.
uint64_t
zjob_retry_delay (const zjob_policy_t *policy, uint32_t attempt, uint64_t random);

//  The next value of a splitmix64 generator whose state is *state.
uint64_t
zjob_retry_random (uint64_t *state);

#ifdef __cplusplus
}
#endif

#endif
