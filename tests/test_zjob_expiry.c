/*  =========================================================================
    test_zjob_expiry - finished jobs in the order they finished

    The line over several of its blocks: appends after a reserve, pops in
    order up to a cutoff, an unpop right after a pop that emptied a block,
    growth while the front has moved (the ring of blocks wraps), and the
    sort that recovery asks for.
    ========================================================================= */

#include <criterion/criterion.h>
#include <string.h>
#include "zjob_expiry.h"
#include "zjob_job_impl.h"

#define S_ENTRIES 10000  //  Over two blocks of the line

//  A job with id "e<index>" (zero-padded: ids sort as numbers) that
//  completed at completed_at
static void
s_job (zjob_job_t *job, size_t index, int64_t completed_at)
{
    memset (job, 0, sizeof (*job));
    snprintf (job->id, sizeof (job->id), "e%019zu", index);
    job->completed_at = completed_at;
}

static void
s_append (zjob_expiry_t *line, size_t index, int64_t completed_at)
{
    zjob_job_t job;
    s_job (&job, index, completed_at);
    cr_assert_eq (zjob_expiry_reserve (line, 1), 0);
    zjob_expiry_append (line, &job);
}

//  Pop one, which must be entry index
static void
s_pop_expect (zjob_expiry_t *line, size_t index)
{
    char id [ZJOB_ID_LEN + 1], expected [ZJOB_ID_LEN + 1];
    zjob_job_t job;
    s_job (&job, index, 0);
    snprintf (expected, sizeof (expected), "%s", job.id);
    cr_assert (zjob_expiry_pop (line, INT64_MAX, id), "entry %zu missing", index);
    cr_assert_str_eq (id, expected);
}

Test (expiry, pops_in_order_across_blocks_and_unpops)
{
    zjob_expiry_t *line = zjob_expiry_new ();
    cr_assert_not_null (line);
    for (size_t index = 0; index < S_ENTRIES; index++)
        s_append (line, index, (int64_t) index + 1);
    cr_assert_eq (zjob_expiry_size (line), S_ENTRIES);
    char id [ZJOB_ID_LEN + 1];
    //  Nothing finished before 1
    cr_assert_not (zjob_expiry_due (line, 1));
    cr_assert_not (zjob_expiry_pop (line, 1, id));
    //  Every entry, with an unpop after each (a block emptied included)
    for (size_t index = 0; index < S_ENTRIES / 2; index++) {
        s_pop_expect (line, index);
        zjob_job_t job;
        s_job (&job, index, (int64_t) index + 1);
        zjob_expiry_unpop (line, &job);
        s_pop_expect (line, index);
    }
    //  Appends while the front has moved: the blocks' ring wraps
    for (size_t index = S_ENTRIES; index < 3 * S_ENTRIES; index++)
        s_append (line, index, (int64_t) index + 1);
    cr_assert_eq (zjob_expiry_size (line), 3 * S_ENTRIES - S_ENTRIES / 2);
    //  Up to a cutoff: those that finished before it
    size_t popped = 0;
    while (zjob_expiry_pop (line, S_ENTRIES + 1, id))
        popped++;
    cr_assert_eq (popped, S_ENTRIES - S_ENTRIES / 2);
    for (size_t index = S_ENTRIES; index < 3 * S_ENTRIES; index++)
        s_pop_expect (line, index);
    cr_assert_eq (zjob_expiry_size (line), 0);
    cr_assert_not (zjob_expiry_pop (line, INT64_MAX, id));
    //  And it serves again once empty
    s_append (line, 7, 7);
    s_pop_expect (line, 7);
    zjob_expiry_destroy (&line);
    zjob_expiry_destroy (&line);
    cr_assert_null (line);
}

Test (expiry, sort_orders_by_completion_then_id)
{
    zjob_expiry_t *line = zjob_expiry_new ();
    cr_assert_not_null (line);
    //  Pop a few first so that the line does not start at its first slot
    for (size_t index = 0; index < 100; index++)
        s_append (line, index, 0);
    char id [ZJOB_ID_LEN + 1];
    for (size_t index = 0; index < 100; index++)
        cr_assert (zjob_expiry_pop (line, 1, id));
    //  Backwards by time, pairs with equal times
    for (size_t index = 0; index < S_ENTRIES; index++)
        s_append (line, index, (int64_t) (S_ENTRIES - index / 2));
    zjob_expiry_sort (line);
    //  Oldest first; of two at the same time, the lower id first
    for (size_t pair = S_ENTRIES / 2; pair-- > 0;) {
        int64_t time = (int64_t) (S_ENTRIES - pair);
        cr_assert_not (zjob_expiry_pop (line, time, id), "none before %" PRId64, time);
        s_pop_expect (line, 2 * pair);
        s_pop_expect (line, 2 * pair + 1);
    }
    cr_assert_eq (zjob_expiry_size (line), 0);
    zjob_expiry_destroy (&line);
}
