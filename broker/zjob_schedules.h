/*  =========================================================================
    zjob_schedules - recurring schedules: cron expressions that make jobs

    A schedule is a named store record of kind "schedule" (zjob_store's
    records, durable by the same sync as the jobs): its cron expression
    and time zone (zjob_cron), what job to make (a template's name, or a
    workflow with inputs, priority, tags and metadata), whether it is
    paused, its catch_up flag, and its state: next (the due time it waits
    for), last_due, last_job, created. The record is a msgpack map with
    the keys cron, tz, tpl, wf, in, pri, tags, meta, paused, catch_up,
    next, last_due, last_job, last_error, created; unknown keys are
    skipped, so a later version may add some.

    Firing, exactly once per due time. The broker's loop wakes for the
    earliest next (zjob_schedules_next_due) and calls zjob_schedules_fire:
    for each schedule due, in one pass, the job is created through
    zjob_manager_submit (schedule_id = the name, scheduled_for = the due
    time; a template is merged by the manager) and the record is put with
    last_due = that due time, next = the first slot after now and
    last_job. The pass's one sync makes both durable or neither: after a
    crash before it, the schedule still waits for that due time and
    fires it at start. The job also carries the idempotency key
    "schedule:NAME@DUE", so that even a journal whose tail kept the job
    but lost the record cannot make the due time fire twice: the second
    submit answers the first job. A schedule late by several slots fires
    once (the earliest missed due time), never once per slot.

    At start (zjob_schedules_new), a schedule whose next has passed fires
    once with that due time if catch_up (the default), or moves on to the
    first slot after now if not. A paused schedule makes nothing; resumed,
    it waits for its first slot after now (no catch-up of a pause).

    Bounds: at most ZJOB_SCHEDULES_MAX schedules; a fire call makes at
    most max jobs (the broker passes ZJOB_SCHEDULES_STEP), the others wait
    for the next pass, which comes at once. Finding the due ones is a walk
    of the in-memory array (1,000 entries: microseconds); the record's
    inputs and metadata stay in the store until a fire reads them.
    ========================================================================= */

#ifndef ZJOB_SCHEDULES_H_INCLUDED
#define ZJOB_SCHEDULES_H_INCLUDED

#include "zjob_manager.h"
#include "zjob_cron.h"
#include "zjob_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZJOB_SCHEDULES_MAX 1000        //  schedules one broker keeps
#define ZJOB_SCHEDULES_STEP 100        //  schedules fired per loop pass at most
#define ZJOB_SCHEDULE_NAME_MAX 100     //  bytes of a name (it goes in a key)
#define ZJOB_SCHEDULE_KIND "schedule"  //  the store record kind

typedef struct _zjob_schedules_t zjob_schedules_t;

//  What a schedule makes and how; strings and bytes borrowed. Exactly one
//  of template_name and workflow_id is set; inputs, metadata, tags and
//  priority go with workflow_id only.
typedef struct {
    const char *name;           //  A name, 1..ZJOB_SCHEDULE_NAME_MAX bytes
    const char *cron;           //  zjob_cron syntax
    const char *timezone;       //  IANA zone id; NULL or "" for UTC
    bool catch_up;              //  Fire a due time missed while down
    bool paused;                //  Made paused
    const char *template_name;  //  Or NULL
    const char *workflow_id;    //  Or NULL
    const uint8_t *inputs;      //  msgpack map, or NULL
    size_t inputs_size;
    zjob_priority_t priority;  //  ZJOB_PRIORITY_UNSET for the default
    const char *const *tags;
    size_t tag_count;
    const uint8_t *metadata;  //  msgpack map, or NULL
    size_t metadata_size;
} zjob_schedule_spec_t;

//  The schedules of manager's store, loaded from its records at now (ms
//  UTC): the catch-up rule is applied to each (records of those that do
//  not catch up are rewritten: the caller syncs). manager is borrowed and
//  must outlive it. A record that does not decode is logged and left
//  alone (not fired). NULL with err if out of memory or a put fails.
zjob_schedules_t *
zjob_schedules_new (zjob_manager_t *manager, int64_t now, zjob_error_t *err);

//  Destroy. Accepts NULL; sets *self_p to NULL.
void
zjob_schedules_destroy (zjob_schedules_t **self_p);

//  Hears each job a schedule's due time made (not run_now's), after its
//  record is put: name, the due time, the job (borrowed for the call).
typedef void (zjob_schedules_fired_fn) (const char *name, int64_t due, const zjob_job_t *job,
                                        void *arg);

//  Set the one listener (NULL to remove).
void
zjob_schedules_set_listener (zjob_schedules_t *self, zjob_schedules_fired_fn *fn, void *arg);

//  The earliest next due time (ms UTC) of the schedules not paused; 0 if
//  none.
int64_t
zjob_schedules_next_due (zjob_schedules_t *self);

//  Fire the schedules due at now (ms UTC), at most max of them. Returns
//  the number of records written (a job made, or a due time noted as
//  failed: each needs the pass's sync), 0 if none was due.
size_t
zjob_schedules_fire (zjob_schedules_t *self, int64_t now, size_t max);

//  Add a schedule at now. Refused: a bad name, expression, zone or job
//  (400), a template not stored (404), a name taken (409) unless replace
//  (then it keeps created, last_due and last_job), more than
//  ZJOB_SCHEDULES_MAX (429). 0, or -1 with err.
int
zjob_schedules_add (zjob_schedules_t *self, const zjob_schedule_spec_t *spec, bool replace,
                    int64_t now, zjob_error_t *err);

//  Pause or resume the schedule name (a resumed one waits for its first
//  slot after now). 0, or -1 with err (404).
int
zjob_schedules_pause (zjob_schedules_t *self, const char *name, bool paused, int64_t now,
                      zjob_error_t *err);

//  Delete the schedule name (its jobs stay). 0, or -1 with err (404).
int
zjob_schedules_delete (zjob_schedules_t *self, const char *name, zjob_error_t *err);

//  Make schedule name's job now: scheduled_for = now, next unchanged.
//  Returns the new job (the caller destroys it), or NULL with err.
zjob_job_t *
zjob_schedules_run_now (zjob_schedules_t *self, const char *name, int64_t now,
                        zjob_error_t *err);

//  How many schedules there are.
size_t
zjob_schedules_count (zjob_schedules_t *self);

//  Fill info with schedule name as stored (strings and bytes borrowed
//  until the next change of the schedules). 0, or -1 with err (404).
int
zjob_schedules_info (zjob_schedules_t *self, const char *name, zjob_schedule_info_t *info,
                     zjob_error_t *err);

//  The SCHEDULE request msg (op add, get, list, pause, resume, delete,
//  run_now) at now (ms UTC): its OK begun and filled in builder. Returns 1
//  if the OK confirms state (a change), 0 for a read, -1 with err. self
//  NULL: 503 (a broker without schedules).
int
zjob_schedules_handle (zjob_schedules_t *self, zjob_msg_t *msg, zjob_msg_builder_t *builder,
                       int64_t now, zjob_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
