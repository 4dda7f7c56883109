/*  =========================================================================
    zjob_schedules_impl - what zjob_schedules.c and zjob_schedules_ops.c
    share: the struct of a schedule and of the set, and their helpers.
    Nothing else includes it.
    ========================================================================= */

#ifndef ZJOB_SCHEDULES_IMPL_H_INCLUDED
#define ZJOB_SCHEDULES_IMPL_H_INCLUDED

#include "zjob_schedules.h"
#include "zjob_job_impl.h"

//  One schedule: its record, decoded (every string and byte owned)
typedef struct {
    char *name;        //  The record's name
    char *cron_text;   //  As given
    zjob_cron_t cron;  //  Parsed
    char *tz;          //  NULL: UTC
    char *tpl;         //  The template it submits, or NULL
    char *wf;          //  Or the workflow, with the fields below
    uint8_t *inputs;   //  msgpack map or NULL
    size_t inputs_size;
    uint8_t *metadata;  //  msgpack map or NULL
    size_t metadata_size;
    int priority;  //  ZJOB_PRIORITY_UNSET: the default
    char **tags;
    size_t tag_count;
    bool paused;                      //  Fires nothing
    bool catch_up;                    //  Fires once at start a due time missed
    int64_t next;                     //  ms UTC of the due time it waits for; 0 none
    int64_t last_due;                 //  ms UTC of the last due time fired
    char last_job [ZJOB_ID_LEN + 1];  //  The job made last, "" none
    char *last_error;                 //  Why the last due time made no job
    int64_t created;                  //  ms UTC
} zjob_schedule_t;

struct _zjob_schedules_t {
    zjob_manager_t *manager;                      //  Borrowed
    zjob_schedule_t *items [ZJOB_SCHEDULES_MAX];  //  Sorted by name
    size_t count;
    int64_t earliest;                //  The earliest next of those not paused; 0 none
    zjob_schedules_fired_fn *fired;  //  The listener, or NULL
    void *fired_arg;
};

void
zjob_schedule_free (zjob_schedule_t **self_p);

//  A schedule from its record, or NULL with err
zjob_schedule_t *
zjob_schedule_decode (const char *name, const uint8_t *data, size_t size, zjob_error_t *err);

//  The first slot after now, or 0 (logged) if none
int64_t
zjob_schedule_next_after (const zjob_schedule_t *schedule, int64_t now);

//  Create and queue the job of schedule for due time due; NULL with err
zjob_job_t *
zjob_schedule_make_job (zjob_schedules_t *self, zjob_schedule_t *schedule, int64_t due,
                        zjob_error_t *err);

//  The index of name (*found) or where it would go
size_t
zjob_schedules_find (zjob_schedules_t *self, const char *name, bool *found);

//  Put schedule's record in the store. 0, or -1 with err
int
zjob_schedules_put (zjob_schedules_t *self, const zjob_schedule_t *schedule, zjob_error_t *err);

//  Recompute the earliest due time
void
zjob_schedules_recompute (zjob_schedules_t *self);

#endif
