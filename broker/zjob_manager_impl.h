/*  =========================================================================
    zjob_manager_impl - the manager's state, shared by its own files

    zjob_manager.c keeps the one path every change takes; the failure
    rules (zjob_manager_failure.c: the retry policy, finish, adoption, a
    lost worker, timeouts) need that path and the state, and
    zjob_manager_setup.c makes and destroys that state, so they see both
    through this header. Nothing outside the manager's files includes it.
    ========================================================================= */

#ifndef ZJOB_MANAGER_IMPL_H_INCLUDED
#define ZJOB_MANAGER_IMPL_H_INCLUDED

#include "zjob_manager.h"
#include "zjob_queue.h"
#include "zjob_deadlines.h"
#include "zjob_keyindex.h"
#include "zjob_tally.h"
#include "zjob_expiry.h"
#include "zjob_batches.h"
#include "zjob_templates.h"
#include "zjob_queues.h"
#include "zjob_deps.h"

//  A job a worker holds
typedef struct {
    zjob_job_t *job;  //  One reference
    int64_t beat_at;  //  ms UTC of its dispatch or last PROGRESS
} s_held_t;

//  The retry defaults of one level, resolved into plain values (the
//  zjob_retry_defaults_t given, parsed and copied)
typedef struct {
    zjob_retry_defaults_t values;  //  no_retry unused here
    bool no_retry_set;             //  A no_retry list was given
    size_t no_retry_count;
    char *no_retry [ZJOB_NO_RETRY_MAX];
} zjob_level_t;

struct _zjob_manager_t {
    zjob_store_t *store;                 //  The jobs; owned
    size_t max_concurrent;               //  Held jobs at most; 0 = unlimited
    int64_t retention_ms;                //  How long terminal jobs are kept
    zjob_queue_t *queue;                 //  Ready lists and scheduled set
    zhashx_t *held;                      //  job id -> s_held_t
    zjob_keyindex_t *keys;               //  idempotency key -> job id
    zjob_tally_t *tally;                 //  Stored jobs per status and per workflow
    zjob_expiry_t *expiry;               //  Terminal jobs by completed_at, for cleanup
    zhashx_t *provisional;               //  job id -> zjob_requeue_t, for queued jobs
                                         //  requeued while their worker may still run them
    zhashx_t *earlier;                   //  job id -> workers of its earlier attempts
                                         //  ("a\nb\n"), for jobs given to more than one
    zjob_batches_t *batches;             //  Batches' counters (zjob_batches.h)
    zjob_queues_t *queues;               //  Per-workflow queue controls, unique keys
    zjob_deps_t *deps;                   //  Dependencies: waiting children (zjob_deps.c)
    zjob_manager_listener_fn *listener;  //  Hears every change, or NULL
    void *listener_arg;                  //  Passed to the listener
    bool creating;                       //  The listener hears a new job
    zjob_templates_t *templates;         //  The store's templates (issue #11)
    zjob_limits_t limits;                //  The broker's limits (zjob_manager_limits.c)

    //  Failure (zjob_manager_failure.c)
    zjob_level_t broker_level;    //  The broker's defaults
    zhashx_t *workflow_levels;    //  workflow id -> zjob_level_t, or NULL if none
    zhashx_t *policies;           //  signature -> zjob_policy_t (one reference)
    zjob_policy_t *base_policy;   //  The broker's, for specs and workflows with
                                  //  nothing of their own (one reference)
    uint32_t base_max_attempts;   //  Its max_attempts (0 = no limit)
    uint64_t random;              //  PRNG state (splitmix64)
    zjob_deadlines_t *deadlines;  //  Held jobs' timeouts
    zhashx_t *timed_out;          //  job id -> "attempt worker\n..." of its
                                  //  timed-out attempts
    zhashx_t *avoid;              //  job id -> worker that still has a timed-out
                                  //  attempt of it (no JOB to it until released)
};

//  What an operation writes into the job besides status and times
typedef struct {
    bool set_worker;  //  Dispatch: the worker taking it
    const char *worker_id;
    bool set_outputs;  //  Complete: the worker's outputs
    const uint8_t *outputs;
    size_t outputs_size;
    bool set_error;  //  Fail: what went wrong
    const char *error_kind;
    const char *error_message;
    bool adopt;  //  Dispatch: the attempt goes on, not a new one
    //  A failed attempt: recorded in the history (the error above, with
    //  error_attempt, error_worker), run_at set when retried
    bool add_error;
    uint32_t error_attempt;
    const char *error_worker;
    bool set_run_at;
    int64_t run_at;
    bool provisional;            //  Retry of a lost worker's job: undone if it comes back
    bool give_back;              //  Requeue of a job its worker never started: no attempt
    uint32_t result_attempt;     //  Set when not 0
    int pre_event;               //  zjob_event_t + 1 heard before the change; 0: none
    int post_event;              //  zjob_event_t + 1 heard after the change; 0: none
    zjob_manager_edit_fn *edit;  //  zjob_manager_change: any other edit
    void *edit_arg;
} s_edits_t;

//  zjob_manager.c's path, for zjob_manager_failure.c
zjob_job_t *
zjob_mgr_lookup (zjob_manager_t *self, const char *id, zjob_error_t *err);
int
zjob_mgr_apply (zjob_manager_t *self, zjob_job_t *job, zjob_op_t op, const s_edits_t *edits,
                zjob_error_t *err);
int
zjob_mgr_apply_to (zjob_manager_t *self, zjob_job_t *job, zjob_op_t op, int to,
                   const s_edits_t *edits, zjob_error_t *err);
bool
zjob_mgr_earlier_has (zjob_manager_t *self, const char *id, const char *worker_id);
void
zjob_mgr_notify (zjob_manager_t *self, zjob_event_t event, const zjob_job_t *job,
                 zjob_status_t old_status);
//  Index job's idempotency key, if it has one (zjob_manager_setup.c's
//  recovery hook calls it for every stored job)
void
zjob_mgr_key_add (zjob_manager_t *self, const zjob_job_t *job);
//  The workflow hooks: after every change the store accepted (in the one
//  path, zjob_mgr_apply_to, once counts and listener are updated; old
//  status may equal the new), and after a job is deleted (delete and
//  cleanup). A, B and E each add one call there to their module.
void
zjob_mgr_after_change (zjob_manager_t *self, zjob_job_t *job, zjob_status_t old_status);
void
zjob_mgr_after_delete (zjob_manager_t *self, zjob_job_t *job);

//  zjob_manager_queues.c, for zjob_manager.c: the running jobs of a
//  workflow (zjob_queues_running_fn), and take's gate (zjob_queue_gate_fn)
size_t
zjob_mgr_running (const char *workflow, void *arg);
bool
zjob_mgr_queue_gate (const char *workflow, void *arg);
//  The spec to make job index of a batch from, given the jobs made before
//  it (made [i], NULL if not yet); NULL with err filled to refuse it
typedef const zjob_spec_t *(zjob_mgr_spec_fn) (size_t index, zjob_job_t *const *made,
                                               void *arg, zjob_error_t *err);
//  zjob_manager_create_some with the specs taken in order (count indexes;
//  NULL: as given), each handed out by spec_fn (NULL: specs [index]); the
//  jobs are put in that order, and jobs [index] is still spec index's
int
zjob_mgr_create_ordered (zjob_manager_t *self, const zjob_spec_t *specs, size_t count,
                         const bool *skip, const size_t *order, zjob_mgr_spec_fn *spec_fn,
                         void *arg, bool auto_start, zjob_job_t **jobs, zjob_error_t *err);

//  zjob_manager_limits.c, for SUBMIT (zjob_manager_rules.c): 0 if the
//  specs that skip does not mark (skip NULL: all count specs) fit under
//  the limits, else -1 with err filled (ZJOB_TOO_MANY, ZJOB_TOO_LARGE)
int
zjob_mgr_limits_check (zjob_manager_t *self, const zjob_spec_t *specs, size_t count,
                       const bool *skip, zjob_error_t *err);

//  zjob_manager_failure.c, for zjob_manager.c
int
zjob_mgr_failure_init (zjob_manager_t *self, const zjob_manager_config_t *config);
void
zjob_mgr_failure_destroy (zjob_manager_t *self);
//  Give a new job its policy and max_attempts, from spec. 0 or -1 (memory)
int
zjob_mgr_resolve (zjob_manager_t *self, zjob_job_t *job, const zjob_spec_t *spec);
//  Share a recovered job's policy with the equal interned one
void
zjob_mgr_intern (zjob_manager_t *self, zjob_job_t *job);
//  A job became held at now: push its deadlines
void
zjob_mgr_deadlines_arm (zjob_manager_t *self, const zjob_job_t *job, int64_t now);
//  True if worker_id must not be given job now (a timed-out attempt of it
//  is not let go)
bool
zjob_mgr_avoided (zjob_manager_t *self, const zjob_job_t *job, const char *worker_id);
//  Forget a deleted job's failure records
void
zjob_mgr_failure_forget (zjob_manager_t *self, const char *id);

#endif
