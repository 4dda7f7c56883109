/*  =========================================================================
    zjob_broker_timers - the broker's timed work, and how long it may wait

    The loop pass starts with what time has made due (zjob_broker_timed):
    scheduled jobs whose run_at came join the ready queue; rate-limited
    workflows get their tokens; at most ZJOB_EXPIRE_STEP held jobs past
    their timeout are retried or failed (their workers are sent CANCEL by
    zjob_broker_expired); at most ZJOB_DEPS_STEP children of parents that
    settled are released, failed or cancelled; at most ZJOB_SCHEDULES_STEP
    due schedules fire. Each step is bounded, so no pass is long, whatever
    the number of jobs; what is left makes the next poll not wait.

    Before the poll, zjob_broker_wait_ms says how long the loop may block:
    until the first of those due times, the next heartbeat tick or
    disconnect re-check, or the end of the reclaim window after a restart
    (if dispatch waits for it), or the next try of a sync that failed
    (zjob_broker_writes.c); not at all while the last pass left work.
    Scheduled jobs, schedules and timeouts are wall clock (zjob_clock_ms),
    the rest monotonic (zjob_mono_ms). The loop itself is zjob_broker.c's.
    ========================================================================= */

#include "zjob_broker_impl.h"
#include "zjob_deps.h"
#include "zjob_queues.h"
#include "zjob_schedules.h"

//  One bounded step of timeouts, when one is due
static void
s_expire (s_broker_t *self)
{
    int64_t now = zjob_clock_ms ();
    int64_t deadline = zjob_manager_next_deadline (self->manager);
    self->expire_more = false;
    if (!deadline || deadline > now)
        return;
    self->expiring = true;
    self->expire_more = zjob_manager_expire_step (self->manager, now, ZJOB_EXPIRE_STEP,
                                                  zjob_broker_expired, self)
        > 0;
    self->expiring = false;
}

//  The timed work of a pass (zjob_broker_impl.h)
void
zjob_broker_timed (s_broker_t *self)
{
    //  Scheduled jobs whose time has come join the ready queue (in memory
    //  only: nothing to commit)
    if (zjob_manager_promote (self->manager, zjob_clock_ms ()) > 0)
        self->dispatch_needed = true;
    //  A rate-limited workflow's token came, or QUEUE resumed or raised one
    if (zjob_queues_refill (zjob_manager_queues (self->manager)))
        self->dispatch_needed = true;
    //  Held jobs past their timeout: retried or failed, their workers told
    s_expire (self);
    //  Children of settled parents: released, failed or cancelled, a
    //  bounded number per pass (zjob_deps.h); each change is heard as any
    zjob_manager_deps_step (self->manager, ZJOB_DEPS_STEP);
    //  A shared store's lease wants a sync now and then, even idle
    zjob_broker_renew (self);
    self->dirty |= zjob_schedules_fire (zjob_clients_schedules (self->clients_handler), zjob_clock_ms (), ZJOB_SCHEDULES_STEP) > 0;  //  Jobs and records: one sync
}

//  How long the loop may wait for input (zjob_broker_impl.h)
int64_t
zjob_broker_wait_ms (s_broker_t *self)
{
    int64_t timeout = self->next_tick - zjob_mono_ms ();
    if (timeout < 0)
        timeout = 0;
    int64_t recheck_at = zjob_registry_recheck_at (self->registry);
    if (recheck_at && recheck_at - zjob_mono_ms () < timeout)
        timeout = recheck_at > zjob_mono_ms () ? recheck_at - zjob_mono_ms () : 0;
    //  Wake when the next scheduled job is due (run_at is wall clock)
    int64_t due = zjob_manager_next_due (self->manager);
    if (due && due - zjob_clock_ms () < timeout)
        timeout = due > zjob_clock_ms () ? due - zjob_clock_ms () : 0;
    due = zjob_schedules_next_due (zjob_clients_schedules (self->clients_handler));
    if (due && due - zjob_clock_ms () < timeout)  //  And the next schedule's
        timeout = due > zjob_clock_ms () ? due - zjob_clock_ms () : 0;
    //  And when a rate-limited workflow's next token is due
    int64_t token = zjob_queues_next_token (zjob_manager_queues (self->manager));
    if (token && token - zjob_mono_ms () < timeout)
        timeout = token > zjob_mono_ms () ? token - zjob_mono_ms () : 0;
    //  And when the next held job times out
    int64_t deadline = zjob_manager_next_deadline (self->manager);
    if (deadline && deadline - zjob_clock_ms () < timeout)
        timeout = deadline > zjob_clock_ms () ? deadline - zjob_clock_ms () : 0;
    if (self->expire_more)
        timeout = 0;
    //  Wake when the reclaim window ends, if something waits for it
    if (self->hold_until && self->dispatch_needed
        && self->hold_until - zjob_mono_ms () < timeout)
        timeout = self->hold_until > zjob_mono_ms () ? self->hold_until - zjob_mono_ms () : 0;
    if (self->dispatch_needed && zjob_registry_ring (self->registry)
        && !self->hold_until && !self->sync_failing)
        timeout = 0;
    //  While the store cannot write, its sync is tried again once a second
    if (self->sync_failing && self->sync_retry_at - zjob_mono_ms () < timeout)
        timeout = self->sync_retry_at > zjob_mono_ms () ? self->sync_retry_at - zjob_mono_ms () : 0;
    timeout = zjob_broker_renew_wait (self, timeout);  //  And for the lease's sync
    if (zjob_clients_deferred (self->clients_handler))
        timeout = 0;  //  A CLEANUP or a LIST goes on in the next pass
    if (zjob_manager_deps_busy (self->manager))
        timeout = 0;  //  Children still to settle
    return timeout;
}
