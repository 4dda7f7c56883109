/*  =========================================================================
    zjob_worker_prefetch - the worker engine's buffer beyond its slots

    A worker far from the broker idles a round trip per job if it holds no
    more jobs than slots: each RESULT gives a slot back, and the next JOB
    comes a round trip later. With prefetch (PROTOCOL.md 10.2, READY's
    `prefetch`) the broker may send more, and this file keeps them.

    The buffer. Every task the broker sends goes into `buffer`, ordered
    best first (priority, then arrival), and the program is given tasks
    from its head while it has fewer than `slots` (zjob_worker_buffer_
    release), so the program never runs more than its slots and a
    high-priority job that comes while low-priority ones wait starts
    before them. A paused buffered task stays there, not startable, until
    RESUME; a cancelled or dropped one leaves it without the program ever
    seeing it. Without prefetch the buffer only ever holds what fits in
    the slots, so tasks reach the program as before.

    The window. The broker grants a ceiling (READY's OK `prefetch`, at
    most ours) and keeps sending while it has credit; its OK's credit
    covers only the free slots. The engine counts the window: the broker's
    credit plus the jobs of ours it holds, which a JOB leaves as it is, a
    RESULT of n held jobs moves by credit - n, and the OK to a CANCEL
    leaves too (its slot comes back with it). It steers that window to
    slots + prefetch with the only levers version 1 has: a CREDIT after
    READY's OK, and each RESULT's `credit`, more than its results to grow,
    fewer to shrink. A session without a grant (an older broker, or
    prefetch 0) gives credit as before, one per result.

    Sizing (ZJOB_PREFETCH_AUTO). The buffer must cover what the slots
    finish in one round trip: prefetch = rtt / service * slots, rounded
    up. The round trip is timed from a RESULT (or READY) to its answer,
    one request at a time, smoothed like TCP's (1/8 of each sample), but
    for an answer read after the program kept the engine from its socket
    for a good part of that time (working on its last event on the
    engine's thread: the answer may have waited, unread); the
    service time from a task's giving to the program to its end, which
    under load is the slot's real cycle (the program's own queueing
    included) rather than the handler's time alone. Nothing is prefetched
    before both are measured, nor when the product is under half a job:
    slow jobs next to the broker gain nothing from a buffer, and would
    only keep jobs from workers with free slots. Credit already given is
    not taken back (it would take a new READY, which hands back jobs in
    flight): a shrinking window shrinks as jobs come and are finished.
    ========================================================================= */

#include <stdlib.h>
#include <string.h>
#include "zjob_worker_impl.h"
#include "zjob_log.h"

#define S_SMOOTH 8            //  A new sample moves a smoothed figure by 1/S_SMOOTH
#define S_AUTO_MIN_JOBS 0.5   //  auto: below this many jobs per round trip, none
#define S_PROBE_MAX_MS 10000  //  msecs after which an unanswered timing is dropped

static int64_t
s_now_us (void)
{
    return zclock_usecs ();
}

//  --------------------------------------------------------------------------
//  Sizing

//  zlistx comparator of the buffer, below
static int
s_task_compare (const void *item1, const void *item2);

void
zjob_worker_prefetch_init (zjob_worker_t *self)
{
    zlistx_set_comparator (self->buffer, s_task_compare);
    self->prefetch_want = ZJOB_PREFETCH_AUTO;
    const char *value = getenv ("ZJOB_WORKER_PREFETCH");
    if (!value || !*value || streq (value, "auto"))
        return;
    char *end = NULL;
    long number = strtol (value, &end, 10);
    if (end != value && !*end && number >= 0 && number <= ZJOB_PREFETCH_MAX)
        self->prefetch_want = (int) number;
    else
        zjob_log_warning ("zjob_worker: ZJOB_WORKER_PREFETCH=%s is not auto or a number from 0 "
                          "to %d: auto",
                          value, ZJOB_PREFETCH_MAX);
}

size_t
zjob_worker_prefetch_size (double rtt_us, double service_us, size_t slots, size_t ceiling)
{
    if (!(rtt_us > 0) || !(service_us > 0))
        return 0;
    double jobs = rtt_us / service_us * (double) slots;
    if (jobs < S_AUTO_MIN_JOBS)
        return 0;
    if (jobs >= (double) ceiling)
        return ceiling;
    size_t whole = (size_t) jobs;  //  Rounded up (libzjob needs no libm)
    return (double) whole < jobs ? whole + 1 : whole;
}

//  The prefetch wanted now, within the grant
static void
s_prefetch_update (zjob_worker_t *self)
{
    size_t ceiling = self->prefetch_granted;
    if (self->prefetch_want == ZJOB_PREFETCH_AUTO)
        self->prefetch = zjob_worker_prefetch_size (self->rtt_us, self->service_us, self->slots,
                                                    ceiling);
    else
        self->prefetch = (size_t) self->prefetch_want < ceiling ? (size_t) self->prefetch_want
                                                                : ceiling;
}

size_t
zjob_worker_prefetch_ask (zjob_worker_t *self)
{
    if (self->draining || self->prefetch_want == 0)
        return 0;
    //  auto asks the most it could want; what it sends for is the credit
    return self->prefetch_want == ZJOB_PREFETCH_AUTO ? ZJOB_PREFETCH_MAX
                                                     : (size_t) self->prefetch_want;
}

void
zjob_worker_prefetch_granted (zjob_worker_t *self, zjob_msg_t *ok, size_t dropped)
{
    self->prefetch_granted = zjob_worker_prefetch_ask (self)
        ? (size_t) zjob_msg_uint (ok, "prefetch", 0)
        : 0;
    size_t kept = self->ready_listed > dropped ? self->ready_listed - dropped : 0;
    self->window = (int64_t) kept + (int64_t) zjob_msg_uint (ok, "credit", 0);
    //  The results it re-sends were listed: the broker holds their jobs
    for (zjob_worker_result_t *result = (zjob_worker_result_t *) zlistx_first (self->results); result;
         result = (zjob_worker_result_t *) zlistx_next (self->results))
        result->released = false;
    s_prefetch_update (self);
}

uint64_t
zjob_worker_prefetch_credit (zjob_worker_t *self, size_t count, size_t held)
{
    if (self->draining)
        return 0;  //  No slot comes back, even for results finished before
    if (!self->prefetch_granted)
        return count;  //  One slot per result, as without prefetch
    s_prefetch_update (self);
    int64_t want = (int64_t) (self->slots + self->prefetch);
    int64_t credit = want - self->window + (int64_t) held;
    if (credit < 0)
        credit = 0;
    if (credit > ZJOB_SLOTS_MAX)
        credit = ZJOB_SLOTS_MAX;
    self->window += credit - (int64_t) held;
    return (uint64_t) credit;
}

void
zjob_worker_prefetch_top_up (zjob_worker_t *self)
{
    if (!self->prefetch_granted || self->draining || !self->registered || self->disconnected)
        return;
    s_prefetch_update (self);
    int64_t short_of = (int64_t) (self->slots + self->prefetch) - self->window;
    if (short_of <= 0)
        return;
    if (short_of > ZJOB_SLOTS_MAX)
        short_of = ZJOB_SLOTS_MAX;
    zjob_worker_begin (self, ZJOB_CMD_CREDIT);
    zjob_msg_add_uint (self->builder, "credit", (uint64_t) short_of);
    zjob_worker_send_built (self);
    self->window += short_of;
}

void
zjob_worker_probe_sent (zjob_worker_t *self, uint64_t request_id)
{
    int64_t now = s_now_us ();
    if (self->probe_id && now - self->probe_us < S_PROBE_MAX_MS * 1000LL)
        return;  //  One at a time
    self->probe_id = request_id;
    self->probe_us = now;
}

void
zjob_worker_probe_answered (zjob_worker_t *self, uint64_t request_id)
{
    if (!self->probe_id || request_id != self->probe_id)
        return;
    double sample = (double) (s_now_us () - self->probe_us);
    self->probe_id = 0;
    //  The answer may have waited, unread, while the program worked on its
    //  last event (a program that runs its jobs on the engine's thread):
    //  such a sample times the program, not the broker
    if ((double) self->blind_us * 4 > sample)
        return;
    if (sample < 1)
        sample = 1;
    self->rtt_us = self->rtt_us > 0 ? self->rtt_us + (sample - self->rtt_us) / S_SMOOTH : sample;
}


//  --------------------------------------------------------------------------
//  The buffer

//  zlistx comparator: best first, by priority then arrival
static int
s_task_compare (const void *item1, const void *item2)
{
    const zjob_task_t *one = (const zjob_task_t *) item1;
    const zjob_task_t *two = (const zjob_task_t *) item2;
    if (one->job->priority != two->job->priority)
        return one->job->priority > two->job->priority ? -1 : 1;
    return one->seq < two->seq ? -1 : one->seq > two->seq ? 1
                                                          : 0;
}

void
zjob_worker_buffer_add (zjob_worker_t *self, zjob_task_t *task)
{
    task->seq = ++self->arrivals;
    //  From the tail: a job of the same priority as those waiting goes last
    //  at once
    if (!zlistx_insert (self->buffer, task, false))
        zlistx_add_end (self->buffer, task);  //  Out of memory: arrival order
}

void
zjob_worker_buffer_release (zjob_worker_t *self)
{
    zjob_task_t *task = (zjob_task_t *) zlistx_first (self->buffer);
    while (task && self->given < self->slots) {
        if (!task->paused) {
            zlistx_detach_cur (self->buffer);  //  The cursor goes back one
            task->given = true;
            task->given_us = s_now_us ();
            self->given++;
            zjob_worker_queue_event (self, ZJOB_WORKER_TASK, task);
        }
        task = (zjob_task_t *) zlistx_next (self->buffer);
    }
}

void
zjob_worker_buffer_forget (zjob_worker_t *self, zjob_task_t *task, bool wanted)
{
    if (!task->given) {
        void *handle = zlistx_find (self->buffer, task);
        if (handle)
            zlistx_delete (self->buffer, handle);
        return;
    }
    task->given = false;
    if (self->given)
        self->given--;
    if (wanted && task->given_us) {
        double sample = (double) (s_now_us () - task->given_us);
        if (sample < 1)
            sample = 1;
        self->service_us = self->service_us > 0
            ? self->service_us + (sample - self->service_us) / S_SMOOTH
            : sample;
    }
}


//  --------------------------------------------------------------------------
//  Jobs handed back unstarted (READY's release)

void
zjob_worker_give_back (zjob_worker_t *self, const char *id)
{
    if (zlistx_size (self->given_back) >= ZJOB_PREFETCH_MAX) {
        char *oldest = (char *) zlistx_first (self->given_back);
        zjob_log_warning ("zjob_worker: %s: more than %d jobs to give back: job %s left "
                          "to the broker's loss",
                          self->worker_id, ZJOB_PREFETCH_MAX, oldest);
        zlistx_delete (self->given_back, zlistx_cursor (self->given_back));
        if (self->ready_released)
            self->ready_released--;
    }
    if (!zlistx_add_end (self->given_back, (void *) id))
        zjob_log_warning ("zjob_worker: %s: out of memory giving back job %s", self->worker_id,
                          id);
}

size_t
zjob_worker_given_back (zjob_worker_t *self, const char **ids, size_t max, size_t *walked_p)
{
    size_t count = 0, walked = 0;
    for (const char *id = (const char *) zlistx_first (self->given_back); id && count < max;
         id = (const char *) zlistx_next (self->given_back)) {
        walked++;
        //  Never in both jobs and release (a 400): one READY lists is kept
        const zjob_task_t *task = (const zjob_task_t *) zhashx_lookup (self->tasks, id);
        if (!task || !(task->successor || (!task->cancelled && !task->dropped)))
            ids [count++] = id;
    }
    if (walked_p)
        *walked_p = walked;
    return count;
}

void
zjob_worker_given_back_settled (zjob_worker_t *self)
{
    for (; self->ready_released && zlistx_first (self->given_back); self->ready_released--)
        zlistx_delete (self->given_back, zlistx_cursor (self->given_back));
    self->ready_released = 0;
}


//  --------------------------------------------------------------------------
//  The public calls

int
zjob_worker_set_prefetch (zjob_worker_t *self, int prefetch)
{
    if (!self || prefetch < ZJOB_PREFETCH_AUTO || prefetch > ZJOB_PREFETCH_MAX)
        return -1;
    self->prefetch_want = prefetch;
    s_prefetch_update (self);
    zjob_worker_prefetch_top_up (self);
    return 0;
}

size_t
zjob_worker_prefetch (zjob_worker_t *self)
{
    s_prefetch_update (self);
    return self->prefetch;
}
