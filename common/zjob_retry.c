/*  =========================================================================
    zjob_retry - the delay before a retry (see zjob_retry.h)
    ========================================================================= */

#include "zjob_retry.h"

uint64_t
zjob_retry_delay (const zjob_policy_t *policy, uint32_t attempt, uint64_t random)
{
    if (!policy)
        return 0;
    uint64_t delay = policy->backoff_base_ms;
    if (policy->backoff != ZJOB_BACKOFF_FIXED) {
        double factor = policy->backoff_factor >= 1.0f ? policy->backoff_factor : 1.0;
        double cap = (double) policy->backoff_max_ms;
        //  base * factor^(attempt-1) by squaring, O(log attempt), stopping
        //  as soon as it passes the cap (so it never overflows)
        double value = (double) policy->backoff_base_ms;
        uint32_t exponent = attempt > 1 ? attempt - 1 : 0;
        double power = factor;
        while (exponent && value <= cap && value > 0) {
            if (exponent & 1)
                value *= power;
            exponent >>= 1;
            if (exponent)
                power = power > 1e300 ? 1e300 : power * power;
        }
        if (!(value <= cap))  //  Also catches NaN and +inf
            value = cap;
        delay = (uint64_t) value;
    }
    if (policy->jitter != ZJOB_JITTER_NONE)
        delay = random % (delay + 1);
    return delay;
}

uint64_t
zjob_retry_random (uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
