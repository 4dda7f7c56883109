/*  =========================================================================
    zjob_deadlines - when held jobs time out: a min-heap of deadlines

    The manager pushes an entry when a job with a timeout is handed out
    (its execution deadline, started_at + timeout_ms, and its heartbeat
    deadline, the last dispatch or PROGRESS + heartbeat_timeout_ms) and
    pops the due ones, earliest first, so that finding what has timed out
    costs O(log n) per entry and never a walk over the held jobs.

    Entries are not removed when their job finishes or reports progress:
    each names the job and the attempt it was pushed for, and the manager
    checks it when it pops (is the job still held on that attempt? has a
    PROGRESS moved the heartbeat deadline on?), drops a stale one and
    pushes a moved heartbeat again. So a job that finishes costs nothing
    here, and a job that reports progress costs one push per heartbeat
    period, not per report. The heap holds at most two entries per held
    job with a timeout, plus stale ones until their time comes.
    ========================================================================= */

#ifndef ZJOB_DEADLINES_H_INCLUDED
#define ZJOB_DEADLINES_H_INCLUDED

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include "zjob_id.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    ZJOB_DEADLINE_TIMEOUT = 0,    //  timeout_ms from started_at
    ZJOB_DEADLINE_HEARTBEAT = 1,  //  heartbeat_timeout_ms without progress
} zjob_deadline_kind_t;

typedef struct {
    int64_t at;        //  ms UTC
    uint32_t attempt;  //  The attempt it was set for
    uint8_t kind;      //  zjob_deadline_kind_t
    char id [ZJOB_ID_LEN + 1];
} zjob_deadline_t;

typedef struct _zjob_deadlines_t zjob_deadlines_t;

zjob_deadlines_t *
zjob_deadlines_new (void);
void
zjob_deadlines_destroy (zjob_deadlines_t **self_p);

//  Add an entry. 0, or -1 if out of memory.
int
zjob_deadlines_push (zjob_deadlines_t *self, const zjob_deadline_t *entry);

//  The earliest entry's time, or 0 if none.
int64_t
zjob_deadlines_next (zjob_deadlines_t *self);

//  Pop the earliest entry into *entry if it is due (at <= now_ms).
//  Returns true if it did.
bool
zjob_deadlines_pop (zjob_deadlines_t *self, int64_t now_ms, zjob_deadline_t *entry);

//  Entries in the heap (live and stale).
size_t
zjob_deadlines_size (zjob_deadlines_t *self);

#ifdef __cplusplus
}
#endif

#endif
