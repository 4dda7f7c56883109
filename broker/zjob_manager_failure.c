/*  =========================================================================
    zjob_manager_failure - what happens when an attempt fails

    The manager's failure rules (see the top of zjob_manager.h): the retry
    policy a job is created with, a worker's result (zjob_manager_finish),
    the adoption of a job its worker still runs, a lost worker, and the
    timeouts of held jobs. Every change goes through zjob_manager.c's one
    path (zjob_mgr_apply_to), so the store, the queues, the counts and the
    listener move together as for any other operation.

    Policies. A job's policy is resolved at creation, field by field: the
    spec's value, else its workflow's default, else the broker's, else the
    built-in one. The policies are interned by their values (a signature
    string -> one zjob_policy_t, the table holding a reference), so a
    million jobs of one workflow share one; a spec that gives no policy
    field at all (the common case) takes its workflow's ready-made policy
    without building a signature. Interned policies live as long as the
    manager: there are as many as distinct policies submitted.

    Retry. A failed attempt is retried iff the failure is not permanent
    (RESULT permanent, or its kind in the job's no_retry) and attempts
    are left (max_attempts 0 = no limit, else attempts < max_attempts):
    ZJOB_OP_RETRY, run_at = now + zjob_retry_delay (full jitter from the
    manager's splitmix64, seedable). A retry of a lost worker's job is
    provisional, as its requeue was: the worker may come back and adopt
    the job, or send the attempt's result. Else the job fails for good and
    the listener hears DEAD_EXHAUSTED or DEAD_PERMANENT after the failure.
    A job stored by an earlier version (no policy) keeps its old rules: a
    failed RESULT is final, a lost worker requeues it (front of the queue,
    at once) unless it was on its max_attempts-th attempt.

    A late result. A RESULT for an attempt that is not the current one
    (the job was retried, or re-dispatched) is accepted if it completes
    the job (the work is done: at-least-once); a failure of an attempt the
    job has already been retried for is ignored unless it is permanent.
    A RESULT of a timed-out attempt is always ignored: the manager keeps,
    per job, the attempts that timed out and their workers.

    Timeouts. Held jobs with a timeout have entries in a min-heap
    (zjob_deadlines.h), checked when popped (still held on that attempt?
    a PROGRESS moved the heartbeat on?). A paused job's timeout is looked
    at again each second (paused time counts: it times out as soon as it
    is resumed past its deadline).
    ========================================================================= */

#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <unistd.h>
#include "zjob_manager_impl.h"
#include "zjob_log.h"
#include "zjob_retry.h"

#define S_TIMED_OUT_KEPT 20  //  timed-out attempts remembered per job
#define S_PAUSED_RECHECK_MS 1000

static bool
s_streq (const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp (a, b) == 0;
}


//  --------------------------------------------------------------------------
//  Policies: levels of defaults, resolution, interning

static void
s_policy_destroy (void **item_p)
{
    zjob_policy_release ((zjob_policy_t **) item_p);
}

static void
s_level_free (zjob_level_t *level)
{
    for (size_t i = 0; i < level->no_retry_count; i++)
        free (level->no_retry [i]);
    level->no_retry_count = 0;
}

static void
s_level_destroy (void **item_p)
{
    zjob_level_t *level = (zjob_level_t *) *item_p;
    if (level) {
        s_level_free (level);
        free (level);
    }
    *item_p = NULL;
}

//  Parse defaults into level (kinds copied). 0, or -1 if out of memory.
static int
s_level_set (zjob_level_t *level, const zjob_retry_defaults_t *defaults)
{
    memset (level, 0, sizeof (*level));
    if (!defaults)
        return 0;
    level->values = *defaults;
    level->values.no_retry = NULL;
    level->no_retry_set = defaults->no_retry != NULL;
    const char *cursor = defaults->no_retry;
    while (cursor && *cursor && level->no_retry_count < ZJOB_NO_RETRY_MAX) {
        size_t len = strcspn (cursor, ", ");
        if (len > 0 && len <= ZJOB_NAME_MAX) {
            char *kind = (char *) malloc (len + 1);
            if (!kind)
                return -1;
            memcpy (kind, cursor, len);
            kind [len] = 0;
            level->no_retry [level->no_retry_count++] = kind;
        }
        cursor += len;
        cursor += strspn (cursor, ", ");
    }
    return 0;
}

//  The first of a, b, c, d that is not zero
static uint32_t
s_pick (uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
    return a ? a : b ? b
        : c          ? c
                     : d;
}

//  An explicit "none" (UINT32_MAX) is 0 on the job
static uint32_t
s_none (uint32_t value)
{
    return value == ZJOB_TIMEOUT_NONE ? 0 : value;
}

//  The values of the policy spec (may be NULL) gets over level wf (may
//  be NULL) over the broker's; kinds and their count into kinds_p/count_p
static void
s_resolve_values (const zjob_manager_t *self, const zjob_spec_t *spec, const zjob_level_t *wf,
                  zjob_policy_t *policy, const char *const **kinds_p, size_t *count_p,
                  uint32_t *max_attempts_p)
{
    const zjob_retry_defaults_t *w = wf ? &wf->values : NULL;
    const zjob_retry_defaults_t *b = &self->broker_level.values;
    memset (policy, 0, sizeof (*policy));
    policy->backoff = (uint8_t) s_pick (spec ? spec->backoff : 0, w ? w->backoff : 0, b->backoff,
                                        ZJOB_BACKOFF_EXPONENTIAL);
    policy->jitter = (uint8_t) s_pick (spec ? spec->jitter : 0, w ? w->jitter : 0, b->jitter,
                                       ZJOB_JITTER_FULL);
    policy->backoff_base_ms = s_none (s_pick (spec ? spec->backoff_base_ms : 0,
                                              w ? w->backoff_base_ms : 0, b->backoff_base_ms,
                                              ZJOB_BACKOFF_BASE_DEFAULT_MS));
    policy->backoff_max_ms = s_none (s_pick (spec ? spec->backoff_max_ms : 0,
                                             w ? w->backoff_max_ms : 0, b->backoff_max_ms,
                                             ZJOB_BACKOFF_MAX_DEFAULT_MS));
    policy->timeout_ms = s_none (s_pick (spec ? spec->timeout_ms : 0, w ? w->timeout_ms : 0,
                                         b->timeout_ms, 0));
    policy->heartbeat_timeout_ms = s_none (s_pick (spec ? spec->heartbeat_timeout_ms : 0,
                                                   w ? w->heartbeat_timeout_ms : 0,
                                                   b->heartbeat_timeout_ms, 0));
    double factor = spec && spec->backoff_factor ? spec->backoff_factor
        : w && w->backoff_factor                 ? w->backoff_factor
        : b->backoff_factor                      ? b->backoff_factor
                                                 : ZJOB_BACKOFF_FACTOR_DEFAULT;
    policy->backoff_factor = (float) factor;
    *max_attempts_p = s_none (s_pick (spec ? spec->max_attempts : 0, w ? w->max_attempts : 0,
                                      b->max_attempts, ZJOB_MAX_ATTEMPTS_DEFAULT));
    static const char *const builtin [] = { ZJOB_NO_RETRY_DEFAULT };
    if (spec && spec->no_retry) {
        *kinds_p = spec->no_retry;
        *count_p = spec->no_retry_count;
    }
    else if (wf && wf->no_retry_set) {
        *kinds_p = (const char *const *) wf->no_retry;
        *count_p = wf->no_retry_count;
    }
    else if (self->broker_level.no_retry_set) {
        *kinds_p = (const char *const *) self->broker_level.no_retry;
        *count_p = self->broker_level.no_retry_count;
    }
    else {
        *kinds_p = builtin;
        *count_p = 1;
    }
}

//  The interned policy equal to values with kinds (a new reference), or
//  NULL if out of memory
static zjob_policy_t *
s_intern (zjob_manager_t *self, const zjob_policy_t *values, const char *const *kinds,
          size_t count)
{
    char signature [64 + ZJOB_NO_RETRY_MAX * (ZJOB_NAME_MAX + 1)];
    int size = snprintf (signature, sizeof (signature), "%u/%u/%u/%u/%u/%u/%a|",
                         values->backoff, values->jitter, values->backoff_base_ms,
                         values->backoff_max_ms, values->timeout_ms,
                         values->heartbeat_timeout_ms, (double) values->backoff_factor);
    for (size_t i = 0; i < count && size > 0 && (size_t) size < sizeof (signature); i++)
        size += snprintf (signature + size, sizeof (signature) - (size_t) size, "%s,", kinds [i]);
    zjob_policy_t *policy = (zjob_policy_t *) zhashx_lookup (self->policies, signature);
    if (policy) {
        policy->refs++;
        return policy;
    }
    policy = zjob_policy_new (values, kinds, count);
    if (!policy)
        return NULL;
    if (zhashx_insert (self->policies, signature, policy) == 0)
        policy->refs++;  //  The table's
    return policy;
}

int
zjob_mgr_failure_init (zjob_manager_t *self, const zjob_manager_config_t *config)
{
    self->policies = zjob_hashx_new ();
    self->workflow_levels = zjob_hashx_new ();
    self->timed_out = zjob_hashx_new ();
    self->avoid = zjob_hashx_new ();
    self->deadlines = zjob_deadlines_new ();
    if (!self->policies || !self->workflow_levels || !self->timed_out || !self->avoid
        || !self->deadlines)
        return -1;
    zhashx_set_destructor (self->policies, s_policy_destroy);
    zhashx_set_destructor (self->workflow_levels, s_level_destroy);
    zhashx_set_destructor (self->timed_out, (zhashx_destructor_fn *) zstr_free);
    zhashx_set_destructor (self->avoid, (zhashx_destructor_fn *) zstr_free);
    zhashx_set_duplicator (self->avoid, (zhashx_duplicator_fn *) strdup);
    self->random = config && config->seed ? config->seed
                                          : (uint64_t) zjob_clock_ms () ^ (uint64_t) getpid () << 32;
    if (s_level_set (&self->broker_level, config ? &config->defaults : NULL))
        return -1;
    //  The policy of a spec with nothing of its own, per level
    const char *const *kinds;
    size_t count;
    zjob_policy_t values;
    s_resolve_values (self, NULL, NULL, &values, &kinds, &count, &self->base_max_attempts);
    if (!(self->base_policy = s_intern (self, &values, kinds, count)))
        return -1;
    for (size_t i = 0; config && i < config->workflow_count; i++) {
        const zjob_workflow_defaults_t *wf = &config->workflows [i];
        if (!wf->workflow_id)
            continue;
        zjob_level_t *level = (zjob_level_t *) calloc (1, sizeof (zjob_level_t));
        if (!level || s_level_set (level, &wf->defaults)) {
            free (level);
            return -1;
        }
        zhashx_update (self->workflow_levels, wf->workflow_id, level);
    }
    return 0;
}

void
zjob_mgr_failure_destroy (zjob_manager_t *self)
{
    zjob_policy_release (&self->base_policy);
    zhashx_destroy (&self->policies);
    zhashx_destroy (&self->workflow_levels);
    zhashx_destroy (&self->timed_out);
    zhashx_destroy (&self->avoid);
    zjob_deadlines_destroy (&self->deadlines);
    s_level_free (&self->broker_level);
}

//  True if spec gives any field of the policy
static bool
s_spec_has_policy (const zjob_spec_t *spec)
{
    return spec->max_attempts || spec->backoff || spec->backoff_base_ms
        || spec->backoff_factor != 0.0 || spec->backoff_max_ms || spec->jitter
        || spec->no_retry || spec->timeout_ms || spec->heartbeat_timeout_ms;
}

int
zjob_mgr_resolve (zjob_manager_t *self, zjob_job_t *job, const zjob_spec_t *spec)
{
    const zjob_level_t *wf = zhashx_size (self->workflow_levels)
        ? (const zjob_level_t *) zhashx_lookup (self->workflow_levels, job->workflow_id)
        : NULL;
    zjob_policy_release (&job->policy);
    if (!wf && !s_spec_has_policy (spec)) {
        //  The common case: the broker's policy, shared
        job->policy = self->base_policy;
        job->policy->refs++;
        job->max_attempts = self->base_max_attempts;
        return 0;
    }
    const char *const *kinds;
    size_t count;
    zjob_policy_t values;
    uint32_t max_attempts;
    s_resolve_values (self, spec, wf, &values, &kinds, &count, &max_attempts);
    job->policy = s_intern (self, &values, kinds, count);
    job->max_attempts = max_attempts;
    return job->policy ? 0 : -1;
}

void
zjob_mgr_intern (zjob_manager_t *self, zjob_job_t *job)
{
    if (!job->policy)
        return;
    zjob_policy_t *shared = s_intern (self, job->policy,
                                      (const char *const *) job->policy->no_retry,
                                      job->policy->no_retry_count);
    if (shared) {
        zjob_policy_release (&job->policy);
        job->policy = shared;
    }
}


//  --------------------------------------------------------------------------
//  Timed-out attempts: remembered per job, and the worker that still has one

//  Remember that attempt of job id, with worker_id, timed out
static void
s_timed_out_add (zjob_manager_t *self, const char *id, uint32_t attempt, const char *worker_id)
{
    const char *list = (const char *) zhashx_lookup (self->timed_out, id);
    int lines = 0;
    for (const char *c = list; c && *c; c++)
        lines += *c == '\n';
    if (list && lines >= S_TIMED_OUT_KEPT)
        list = strchr (list, '\n') + 1;  //  Forget the oldest
    char *grown = zsys_sprintf ("%s%" PRIu32 " %s\n", list ? list : "", attempt,
                                worker_id ? worker_id : "");
    if (grown)
        zhashx_update (self->timed_out, id, grown);
    if (worker_id)
        zhashx_update (self->avoid, id, (void *) worker_id);
}

//  True if a result from worker_id for attempt (0: not said) of job is
//  for an attempt that timed out
static bool
s_timed_out_result (zjob_manager_t *self, const zjob_job_t *job, const char *worker_id,
                    uint32_t attempt)
{
    const char *list = (const char *) zhashx_lookup (self->timed_out, job->id);
    if (!list)
        return false;
    if (!attempt && job->held && s_streq (job->worker_id, worker_id))
        return false;  //  From the worker of the current attempt
    for (const char *line = list; *line; line = strchr (line, '\n') + 1) {
        char *rest;
        unsigned long number = strtoul (line, &rest, 10);
        size_t size = strcspn (rest + 1, "\n");
        if (attempt ? number == attempt
                    : worker_id && strlen (worker_id) == size
                    && memcmp (rest + 1, worker_id, size) == 0)
            return true;
    }
    return false;
}

bool
zjob_mgr_avoided (zjob_manager_t *self, const zjob_job_t *job, const char *worker_id)
{
    const char *worker = (const char *) zhashx_lookup (self->avoid, job->id);
    return worker && s_streq (worker, worker_id);
}

void
zjob_mgr_failure_forget (zjob_manager_t *self, const char *id)
{
    zhashx_delete (self->timed_out, id);
    zhashx_delete (self->avoid, id);
}

void
zjob_manager_attempt_released (zjob_manager_t *self, const char *id, const char *worker_id)
{
    assert (self);
    const char *worker = id ? (const char *) zhashx_lookup (self->avoid, id) : NULL;
    if (worker && (!worker_id || streq (worker, worker_id)))
        zhashx_delete (self->avoid, id);
}


//  --------------------------------------------------------------------------
//  A failed attempt, by the policy

//  What failed, and how
typedef struct {
    const char *kind;
    const char *message;
    const char *worker_id;  //  That had the attempt
    uint32_t attempt;
    bool permanent;    //  Never retry
    bool provisional;  //  A lost worker's: the retry may be undone
    int pre_event;     //  zjob_event_t + 1 heard first (TIMED_OUT), or 0
} s_failure_t;

//  Record the failure and retry job or fail it for good. Returns 1 if
//  retried, 2 if failed, -1 with err filled.
static int
s_fail_attempt (zjob_manager_t *self, zjob_job_t *job, const s_failure_t *failure,
                zjob_error_t *err)
{
    const char *kind = failure->kind && *failure->kind ? failure->kind : "error";
    bool permanent = failure->permanent || zjob_policy_no_retry (job->policy, kind);
    bool exhausted = job->max_attempts && job->attempts >= job->max_attempts;
    s_edits_t edits = {
        .set_error = true, .add_error = true, .error_kind = kind, .error_message = failure->message, .error_attempt = failure->attempt, .error_worker = failure->worker_id, .pre_event = failure->pre_event
    };
    if (!permanent && !exhausted) {
        uint64_t delay = zjob_retry_delay (job->policy, job->attempts,
                                           zjob_retry_random (&self->random));
        edits.set_run_at = true;
        edits.run_at = zjob_clock_ms () + (int64_t) delay;
        edits.provisional = failure->provisional;
        //  A paused job stays paused (let go): resume queues it for run_at
        int to = job->status == ZJOB_PAUSED ? ZJOB_PAUSED : ZJOB_QUEUED;
        zjob_op_t op = to == ZJOB_PAUSED ? ZJOB_OP_REQUEUE : ZJOB_OP_RETRY;
        return zjob_mgr_apply_to (self, job, op, to, &edits, err) ? -1 : 1;
    }
    edits.result_attempt = failure->attempt;
    edits.post_event = 1 + (permanent ? ZJOB_EVENT_DEAD_PERMANENT : ZJOB_EVENT_DEAD_EXHAUSTED);
    return zjob_mgr_apply_to (self, job, ZJOB_OP_FAIL, ZJOB_FAILED, &edits, err) ? -1 : 2;
}


//  --------------------------------------------------------------------------
//  A worker's result. Returns 1 if the job changed, 0 if not, -1.

int
zjob_manager_finish (zjob_manager_t *self, const char *id, const char *worker_id,
                     const char *const *workflows, size_t workflow_count,
                     bool completed, const uint8_t *outputs, size_t size,
                     const char *kind, const char *message, zjob_error_t *err)
{
    return zjob_manager_finish_attempt (self, id, worker_id, workflows, workflow_count,
                                        completed, outputs, size, kind, message, 0, false, err);
}

//  The one rule of PROTOCOL.md 10.5: from the worker of the current (or
//  last) attempt, or of an earlier one, and only if it serves the job's
//  workflow. 0, or -1 with err filled.
static int
s_result_allowed (zjob_manager_t *self, const zjob_job_t *job, const char *worker_id,
                  const char *const *workflows, size_t workflow_count, zjob_error_t *err)
{
    bool served = !workflows || workflow_count == 0;
    for (size_t index = 0; !served && index < workflow_count; index++)
        served = workflows [index] && streq (workflows [index], job->workflow_id);
    if (!worker_id
        || (!s_streq (job->worker_id, worker_id)
            && !zjob_mgr_earlier_has (self, job->id, worker_id)))
        return zjob_error_set (err, ZJOB_CONFLICT, "job %s was never given to worker %s",
                               job->id, worker_id ? worker_id : "(none)");
    if (!served)
        return zjob_error_set (err, ZJOB_CONFLICT,
                               "worker %s does not serve workflow %s of job %s", worker_id,
                               job->workflow_id, job->id);
    return 0;
}

int
zjob_manager_finish_attempt (zjob_manager_t *self, const char *id, const char *worker_id,
                             const char *const *workflows, size_t workflow_count,
                             bool completed, const uint8_t *outputs, size_t size,
                             const char *kind, const char *message, uint32_t attempt,
                             bool permanent, zjob_error_t *err)
{
    assert (self);
    zjob_job_t *job = zjob_mgr_lookup (self, id, err);
    if (!job)
        return -1;
    if (s_result_allowed (self, job, worker_id, workflows, workflow_count, err)) {
        zjob_job_destroy (&job);
        return -1;
    }
    if (zjob_status_terminal ((zjob_status_t) job->status)
        || (zhashx_size (self->timed_out) && s_timed_out_result (self, job, worker_id, attempt))) {
        zjob_job_destroy (&job);
        return 0;  //  Over already, or an attempt that timed out: ignored
    }
    uint32_t number = attempt ? attempt : job->attempts;
    bool current = job->held && s_streq (job->worker_id, worker_id)
        && (!attempt || attempt == job->attempts);
    int rc = 0;
    if (completed || !job->policy) {
        //  Done (the work was done, whichever attempt did it), or a job of
        //  an earlier version, whose failed result is final. The table's
        //  rule (running only) is waived.
        s_edits_t edits = { .set_worker = true, .worker_id = worker_id, .result_attempt = number };
        if (completed) {
            edits.set_outputs = true;
            edits.outputs = outputs;
            edits.outputs_size = size;
            //  The failed attempts before it stay in the history only
            edits.set_error = true;
        }
        else {
            edits.set_error = edits.add_error = true;
            edits.error_kind = kind && *kind ? kind : "error";
            edits.error_message = message;
            edits.error_attempt = number;
            edits.error_worker = worker_id;
        }
        rc = zjob_mgr_apply_to (self, job, completed ? ZJOB_OP_COMPLETE : ZJOB_OP_FAIL,
                                completed ? ZJOB_COMPLETED : ZJOB_FAILED, &edits, err)
            ? -1
            : 1;
    }
    else if (!current && !permanent && !zjob_policy_no_retry (job->policy, kind)) {
        //  The failure of an attempt given up on: the job is being retried
        //  (or runs again) already, and that counted the attempt
        rc = 0;
    }
    else {
        s_failure_t failure = { kind, message, worker_id, number, permanent, false, 0 };
        rc = s_fail_attempt (self, job, &failure, err) < 0 ? -1 : 1;
    }
    zjob_job_destroy (&job);
    return rc;
}


//  --------------------------------------------------------------------------
//  Give a queued job back to the worker that still runs it.

zjob_job_t *
zjob_manager_adopt (zjob_manager_t *self, const char *id, const char *worker_id,
                    zjob_error_t *err)
{
    assert (self);
    zjob_job_t *job = zjob_mgr_lookup (self, id, err);
    if (!job)
        return NULL;
    if (job->status != ZJOB_QUEUED || job->attempts == 0) {
        zjob_error_set (err, ZJOB_CONFLICT, "job %s is %s%s: it cannot be adopted", job->id,
                        zjob_status_name ((zjob_status_t) job->status),
                        job->attempts ? "" : " and was never handed out");
        zjob_job_destroy (&job);
        return NULL;
    }
    //  A dispatch of this very job, but not a new attempt: the attempt it
    //  continues was counted when it was first handed out, and keeps its
    //  started_at
    s_edits_t edits = { .set_worker = true, .worker_id = worker_id, .adopt = true };
    if (zjob_mgr_apply (self, job, ZJOB_OP_DISPATCH, &edits, err))
        zjob_job_destroy (&job);
    return job;
}


//  --------------------------------------------------------------------------
//  A job its worker never started, given back

int
zjob_manager_give_back (zjob_manager_t *self, const char *id, const char *worker_id,
                        zjob_error_t *err)
{
    assert (self);
    s_held_t *held = id ? (s_held_t *) zhashx_lookup (self->held, id) : NULL;
    if (!held || !worker_id)
        return 0;
    zjob_job_t *job = zjob_job_ref (held->job);
    int rc = 0;
    if (job->status == ZJOB_RUNNING && job->held && job->attempts
        && s_streq (job->worker_id, worker_id)) {
        //  Not the worker's attempt: no late result of it can come, so the
        //  job keeps no worker (a RESULT from it is refused, 409)
        s_edits_t edits = { .set_worker = true, .worker_id = NULL, .give_back = true };
        rc = zjob_mgr_apply (self, job, ZJOB_OP_REQUEUE, &edits, err) ? -1 : 1;
    }
    zjob_job_destroy (&job);
    return rc;
}


//  --------------------------------------------------------------------------
//  The worker holding job id was lost

int
zjob_manager_worker_lost (zjob_manager_t *self, const char *id, zjob_error_t *err)
{
    assert (self);
    zjob_job_t *job = zjob_mgr_lookup (self, id, err);
    if (!job)
        return -1;
    int rc = 0;
    char worker_id [ZJOB_NAME_MAX + 1];
    snprintf (worker_id, sizeof (worker_id), "%s", job->worker_id ? job->worker_id : "");
    if (job->status == ZJOB_RUNNING && job->held && job->policy) {
        s_failure_t failure = { "worker_lost", "the worker was lost", worker_id, job->attempts,
                                false, true, 0 };
        rc = s_fail_attempt (self, job, &failure, err);
        rc = rc < 0 ? -1 : rc == 1 ? ZJOB_LOST_REQUEUED
                                   : ZJOB_LOST_FAILED;
    }
    else if (job->status == ZJOB_RUNNING && job->max_attempts
             && job->attempts >= job->max_attempts) {
        //  A job of an earlier version on its last attempt: failed
        s_edits_t edits = { .set_error = true, .add_error = true, .error_kind = "worker_lost", .error_message = "the worker was lost on the last attempt", .error_attempt = job->attempts, .error_worker = worker_id };
        rc = zjob_mgr_apply (self, job, ZJOB_OP_FAIL, &edits, err) ? -1 : ZJOB_LOST_FAILED;
    }
    if (rc == 0 && job->held)
        rc = zjob_manager_requeue (self, id, err) == 0 ? ZJOB_LOST_REQUEUED : -1;
    zjob_job_destroy (&job);
    return rc;
}


//  --------------------------------------------------------------------------
//  Timeouts

void
zjob_mgr_deadlines_arm (zjob_manager_t *self, const zjob_job_t *job, int64_t now)
{
    const zjob_policy_t *policy = job->policy;
    if (!policy || !(policy->timeout_ms || policy->heartbeat_timeout_ms))
        return;
    zjob_deadline_t entry = { 0, job->attempts, ZJOB_DEADLINE_TIMEOUT, "" };
    memcpy (entry.id, job->id, sizeof (entry.id));
    int rc = 0;
    if (policy->timeout_ms) {
        entry.at = (job->started_at ? job->started_at : now) + policy->timeout_ms;
        rc |= zjob_deadlines_push (self->deadlines, &entry);
    }
    if (policy->heartbeat_timeout_ms) {
        entry.kind = ZJOB_DEADLINE_HEARTBEAT;
        entry.at = now + policy->heartbeat_timeout_ms;
        rc |= zjob_deadlines_push (self->deadlines, &entry);
    }
    if (rc)
        zjob_log_error ("zjob_manager: out of memory arming the timeout of job %s", job->id);
}

int64_t
zjob_manager_next_deadline (zjob_manager_t *self)
{
    assert (self);
    return zjob_deadlines_next (self->deadlines);
}

//  "30s" or "1500ms"
static void
s_duration (char *text, size_t size, uint32_t ms)
{
    if (ms % 1000 == 0)
        snprintf (text, size, "%" PRIu32 "s", ms / 1000);
    else
        snprintf (text, size, "%" PRIu32 "ms", ms);
}

//  Time out one held job for entry, due at now. Returns true if it did.
static bool
s_expire (zjob_manager_t *self, const zjob_deadline_t *entry, int64_t now,
          zjob_manager_expired_fn *fn, void *arg)
{
    s_held_t *held = (s_held_t *) zhashx_lookup (self->held, entry->id);
    if (!held || held->job->attempts != entry->attempt || !held->job->policy)
        return false;  //  Stale: let go, or on another attempt since
    zjob_job_t *job = held->job;
    bool beat = entry->kind == ZJOB_DEADLINE_HEARTBEAT;
    uint32_t limit = beat ? job->policy->heartbeat_timeout_ms : job->policy->timeout_ms;
    zjob_deadline_t again = *entry;
    again.at = (beat ? held->beat_at : job->started_at) + limit;
    if (job->status != ZJOB_RUNNING)
        again.at = now + (beat ? limit : S_PAUSED_RECHECK_MS);
    if (again.at > now) {
        //  It reported progress since, or it is paused: not yet
        if (zjob_deadlines_push (self->deadlines, &again))
            zjob_log_error ("zjob_manager: out of memory re-arming the timeout of job %s", job->id);
        return false;
    }
    job = zjob_job_ref (job);
    char worker_id [ZJOB_NAME_MAX + 1];
    snprintf (worker_id, sizeof (worker_id), "%s", job->worker_id ? job->worker_id : "");
    char duration [32], message [64];
    s_duration (duration, sizeof (duration), limit);
    snprintf (message, sizeof (message), beat ? "no progress for %s" : "ran longer than %s",
              duration);
    const char *reason = beat ? "heartbeat_timeout" : "timeout";
    s_failure_t failure = { reason, message, worker_id, job->attempts, false, false,
                            1 + ZJOB_EVENT_TIMED_OUT };
    zjob_error_t err;
    bool done = s_fail_attempt (self, job, &failure, &err) > 0;
    if (done) {
        s_timed_out_add (self, job->id, entry->attempt, worker_id);
        if (fn)
            fn (job, worker_id, entry->attempt, reason, arg);
    }
    else {
        //  The store refused: try again in a second
        zjob_log_warning ("zjob_manager: cannot time out job %s: %s", job->id, err.text);
        again.at = now + S_PAUSED_RECHECK_MS;
        zjob_deadlines_push (self->deadlines, &again);
    }
    zjob_job_destroy (&job);
    return done;
}

int
zjob_manager_expire_step (zjob_manager_t *self, int64_t now_ms, size_t max,
                          zjob_manager_expired_fn *fn, void *arg)
{
    assert (self);
    //  Stale entries count toward max too: a call does bounded work
    zjob_deadline_t entry;
    for (size_t done = 0; done < max; done++) {
        if (!zjob_deadlines_pop (self->deadlines, now_ms, &entry))
            return 0;
        s_expire (self, &entry, now_ms, fn, arg);
    }
    int64_t next = zjob_deadlines_next (self->deadlines);
    return next && next <= now_ms ? 1 : 0;
}
