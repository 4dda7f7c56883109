/*  =========================================================================
    zjob_manager_rules - the job rules the broker applies, over the manager

    These are the rules of PROTOCOL.md that are made of the manager's own
    operations rather than of a change to one job: SUBMIT's idempotency
    (9.2: a known key answers with its job if the workflow and inputs are
    the same, else 409), a lost worker's job (requeued, or failed on its
    last attempt), and the user's operations by name on one job (9.5; on
    a list of ids or a filter, in steps: zjob_bulk.c). They use only the
    manager's public functions, so they run, and are tested, without
    sockets; the manager's own file keeps the one path every change takes.
    The store's figures, seen through the manager, are here for the same
    reason.
    ========================================================================= */

#include <stdlib.h>
#include <string.h>
#include "zjob_manager_impl.h"
#include "zjob_log.h"
#include "zjob_deps.h"

static bool
s_streq (const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp (a, b) == 0;
}


//  --------------------------------------------------------------------------
//  True if two inputs are the same msgpack bytes (none is the empty map)

static bool
s_same_inputs (const uint8_t *a, size_t a_size, const uint8_t *b, size_t b_size)
{
    static const uint8_t empty [] = { 0x80 };
    if (a_size == 0) {
        a = empty;
        a_size = 1;
    }
    if (b_size == 0) {
        b = empty;
        b_size = 1;
    }
    return a_size == b_size && memcmp (a, b, a_size) == 0;
}

//  A spec that reuses the key of what (a job's id, or "jobs[i]") must ask
//  for the same workflow and inputs; else 409, naming both. 0 or -1.
static int
s_key_reuse (const zjob_spec_t *spec, size_t index, const char *workflow_id,
             const uint8_t *inputs, size_t inputs_size, const char *what, zjob_error_t *err)
{
    if (!s_streq (spec->workflow_id, workflow_id))
        return zjob_error_set (err, ZJOB_CONFLICT, "jobs[%zu]: idempotency key \"%s\" is "
                                                   "already used by %s with a different workflow (%s)",
                               index,
                               spec->idempotency_key, what, workflow_id ? workflow_id : "");
    if (!s_same_inputs (spec->inputs, spec->inputs_size, inputs, inputs_size))
        return zjob_error_set (err, ZJOB_CONFLICT, "jobs[%zu]: idempotency key \"%s\" is "
                                                   "already used by %s with different inputs",
                               index,
                               spec->idempotency_key, what);
    return 0;
}


//  --------------------------------------------------------------------------
//  Create count jobs, all or none, with no SUBMIT rule

int
zjob_manager_create_batch (zjob_manager_t *self, const zjob_spec_t *specs, size_t count,
                           bool auto_start, zjob_job_t **jobs, zjob_error_t *err)
{
    assert (self);
    if (count == 0)
        return 0;
    if (!specs)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "jobs: required");
    return zjob_manager_create_some (self, specs, count, NULL, auto_start, jobs, err);
}


//  --------------------------------------------------------------------------
//  SUBMIT (PROTOCOL.md 9.2): create each spec, or answer with the job its
//  idempotency key already made, or an earlier spec of the same batch
//  with the same key made. All or none for the jobs it creates.

//  limited: a client's SUBMIT, checked against the broker's limits once
//  the specs that make no job are known (zjob_manager_limits.c)
static int
s_submit (zjob_manager_t *self, const zjob_spec_t *specs, size_t count, bool auto_start,
          bool limited, zjob_job_t **jobs, uint64_t *existing, size_t *existing_count_p,
          zjob_error_t *err)
{
    if (count == 1) {
        //  The common case allocates nothing here
        const char *key = specs [0].idempotency_key;
        jobs [0] = key ? zjob_manager_find_key (self, key) : NULL;
        if (jobs [0]) {
            char what [ZJOB_ID_LEN + 8];
            snprintf (what, sizeof (what), "job %s", jobs [0]->id);
            if (s_key_reuse (&specs [0], 0, jobs [0]->workflow_id, jobs [0]->inputs.data,
                             jobs [0]->inputs.size, what, err)) {
                zjob_job_destroy (&jobs [0]);
                return -1;
            }
            existing [(*existing_count_p)++] = 0;
            return 0;
        }
        //  Step 2: a unique key in use answers with its job (zjob_queues.h)
        bool unique = false;
        size_t first = 0;
        if (specs [0].unique_key
            && zjob_manager_unique_step (self, specs, 1, jobs, &unique, &first, err))
            return -1;
        if (unique) {
            existing [(*existing_count_p)++] = 0;
            return 0;
        }
        if (limited && zjob_mgr_limits_check (self, specs, 1, NULL, err))
            return -1;
        return zjob_deps_create (self, specs, 1, NULL, auto_start, jobs, err) ? -1 : 1;
    }
    //  first [i]: index + 1 of the spec whose job answers spec i, if not
    //  its own (a known key: 0 with jobs [i] set)
    bool *skip = (bool *) calloc (count, sizeof (bool));
    size_t *first = (size_t *) calloc (count, sizeof (size_t));
    zhashx_t *batch_keys = NULL;  //  key -> index + 1 of its first spec
    int rc = skip && first ? 0 : zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    for (size_t index = 0; index < count; index++)
        jobs [index] = NULL;
    for (size_t index = 0; rc == 0 && index < count; index++) {
        const char *key = specs [index].idempotency_key;
        if (!key)
            continue;
        if ((jobs [index] = zjob_manager_find_key (self, key)) != NULL) {
            char what [ZJOB_ID_LEN + 8];
            snprintf (what, sizeof (what), "job %s", jobs [index]->id);
            rc = s_key_reuse (&specs [index], index, jobs [index]->workflow_id,
                              jobs [index]->inputs.data, jobs [index]->inputs.size, what, err);
            skip [index] = true;
            continue;
        }
        if (!batch_keys && (batch_keys = zjob_hashx_new ()) == NULL) {
            rc = zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
            break;
        }
        size_t earlier = (size_t) (uintptr_t) zhashx_lookup (batch_keys, key);
        if (earlier) {
            const zjob_spec_t *before = &specs [earlier - 1];
            char what [32];
            snprintf (what, sizeof (what), "jobs[%zu]", earlier - 1);
            rc = s_key_reuse (&specs [index], index, before->workflow_id, before->inputs,
                              before->inputs_size, what, err);
            skip [index] = true;
            first [index] = earlier;
        }
        else
            zhashx_insert (batch_keys, key, (void *) (uintptr_t) (index + 1));
    }
    //  Step 2: unique keys in use, or given twice in this SUBMIT
    if (rc == 0)
        rc = zjob_manager_unique_step (self, specs, count, jobs, skip, first, err);
    size_t created = 0;
    for (size_t index = 0; rc == 0 && index < count; index++)
        created += !skip [index];
    if (rc == 0 && created && limited)
        rc = zjob_mgr_limits_check (self, specs, count, skip, err);
    if (rc == 0 && created)
        rc = zjob_deps_create (self, specs, count, skip, auto_start, jobs, err);
    for (size_t index = 0; index < count; index++) {
        if (rc == 0 && skip && skip [index]) {
            existing [(*existing_count_p)++] = index;
            if (first [index])
                jobs [index] = zjob_job_ref (jobs [first [index] - 1]);
        }
        else if (rc)
            zjob_job_destroy (&jobs [index]);
    }
    if (rc)
        *existing_count_p = 0;
    free (skip);
    free (first);
    zhashx_destroy (&batch_keys);
    return rc ? -1 : (int) created;
}

//  The pipeline of SUBMIT (issue #11): each step a call into its module
static int
s_pipeline (zjob_manager_t *self, const zjob_spec_t *specs, size_t count, bool auto_start,
            bool limited, zjob_job_t **jobs, uint64_t *existing, size_t *existing_count_p,
            zjob_error_t *err)
{
    *existing_count_p = 0;
    if (count == 0 || !specs)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "jobs: required");
    //  1. Templates merged into the specs that name one
    zjob_templates_applied_t *applied = NULL;
    if (zjob_templates_apply (zjob_manager_templates (self), specs, count, &specs, &applied, err))
        return -1;
    int rc = s_submit (self, specs, count, auto_start, limited, jobs, existing,
                       existing_count_p, err);
    zjob_templates_applied_destroy (&applied);
    return rc;
}

int
zjob_manager_submit (zjob_manager_t *self, const zjob_spec_t *specs, size_t count,
                     bool auto_start, zjob_job_t **jobs, uint64_t *existing,
                     size_t *existing_count_p, zjob_error_t *err)
{
    assert (self);
    assert (jobs && existing && existing_count_p);
    return s_pipeline (self, specs, count, auto_start, false, jobs, existing, existing_count_p,
                       err);
}


//  --------------------------------------------------------------------------
//  SUBMIT with a batch: the specs get the batch's id, the batches check
//  them before any job is created and count the members after

//  The store's durability point: dirty batch records, and the callback
//  jobs that are due, go into the sync (zjob_batches.h)
int
zjob_manager_sync (zjob_manager_t *self, zjob_error_t *err)
{
    assert (self);
    if (zjob_batches_flush (self->batches, true, err))
        return -1;
    //  A resize of the key index goes on faster than its puts alone move it
    zjob_keyindex_step (self->keys, ZJOB_KEYINDEX_SYNC_STEP);
    return zjob_store_sync (self->store, err);
}

int
zjob_manager_sync_begin (zjob_manager_t *self, uint64_t *ticket, zjob_error_t *err)
{
    assert (self);
    if (zjob_batches_flush (self->batches, true, err))
        return -1;
    zjob_keyindex_step (self->keys, ZJOB_KEYINDEX_SYNC_STEP);
    return zjob_store_sync_begin (self->store, ticket, err);
}

zjob_batches_t *
zjob_manager_batches (zjob_manager_t *self)
{
    assert (self);
    return self->batches;
}

int
zjob_manager_submit_with (zjob_manager_t *self, const zjob_spec_t *specs, size_t count,
                          bool auto_start, const zjob_batch_opts_t *opts, zjob_job_t **jobs,
                          uint64_t *existing, size_t *existing_count_p, zjob_error_t *err)
{
    assert (self);
    assert (jobs && existing && existing_count_p);
    *existing_count_p = 0;
    if (count == 0 || !specs)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "jobs: required");
    zjob_spec_t one = { .workflow_id = NULL };  //  The copy of a single spec
    zjob_spec_t *copies = count == 1 ? &one : (zjob_spec_t *) malloc (count * sizeof (zjob_spec_t));
    if (!copies)
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    memcpy (copies, specs, count * sizeof (zjob_spec_t));
    int rc = 0;
    bool members = opts != NULL;
    for (size_t index = 0; rc == 0 && index < count; index++) {
        if (opts && copies [index].batch_id && strcmp (copies [index].batch_id, opts->id))
            rc = zjob_error_set (err, ZJOB_BAD_REQUEST, "jobs[%zu]: batch_id: %s is not the "
                                                        "SUBMIT's batch %s",
                                 index, copies [index].batch_id, opts->id);
        else if (opts)
            copies [index].batch_id = opts->id;
        members |= copies [index].batch_id != NULL;
    }
    //  A client's SUBMIT: under the broker's limits
    if (rc == 0 && !members)
        rc = s_pipeline (self, copies, count, auto_start, true, jobs, existing, existing_count_p,
                         err);
    else if (rc == 0 && zjob_batches_submit_check (self->batches, opts, copies, count, err) == 0) {
        rc = s_pipeline (self, copies, count, auto_start, true, jobs, existing, existing_count_p,
                         err);
        bool one_created = true;
        bool *created = count == 1 ? &one_created : (bool *) malloc (count * sizeof (bool));
        for (size_t index = 0; created && index < count; index++)
            created [index] = true;
        for (size_t index = 0; created && index < *existing_count_p; index++)
            created [existing [index]] = false;
        zjob_error_t cause;
        if (zjob_batches_submitted (self->batches, opts, rc >= 0 ? jobs : NULL, created, count,
                                    &cause))
            zjob_log_error ("zjob_manager: SUBMIT's batch: %s", cause.text);
        if (count > 1)
            free (created);
    }
    else
        rc = -1;
    if (count > 1)
        free (copies);
    return rc;
}


//  --------------------------------------------------------------------------
//  The user's operations by name, on one job, a list, or a filter

int
zjob_manager_apply (zjob_manager_t *self, zjob_apply_t what, const char *id,
                    zjob_error_t *err)
{
    return zjob_manager_apply_with (self, what, id, NULL, err);
}

//  Apply what to job id for real, with opts
static int
s_apply_now (zjob_manager_t *self, zjob_apply_t what, const char *id,
             const zjob_apply_opts_t *opts, zjob_error_t *err)
{
    switch (what) {
        case ZJOB_APPLY_DELETE: return zjob_manager_delete (self, id, err);
        case ZJOB_APPLY_START: return zjob_manager_start (self, id, err);
        case ZJOB_APPLY_PAUSE: return zjob_manager_pause (self, id, err);
        case ZJOB_APPLY_RESUME: return zjob_manager_resume (self, id, err);
        case ZJOB_APPLY_CANCEL: return zjob_manager_cancel (self, id, err);
        case ZJOB_APPLY_RETRY:
            return zjob_manager_retry (self, id, opts && opts->reset_attempts, err);
        case ZJOB_APPLY_RUN_NOW: return zjob_manager_run_now (self, id, err);
    }
    return zjob_error_set (err, ZJOB_BAD_REQUEST, "not a job operation");
}

int
zjob_manager_apply_with (zjob_manager_t *self, zjob_apply_t what, const char *id,
                         const zjob_apply_opts_t *opts, zjob_error_t *err)
{
    assert (self);
    if (!opts || (!opts->dry_run && !opts->veto))
        return s_apply_now (self, what, id, opts, err);
    //  Checked first: the job, the table, then the veto
    zjob_job_t *job = zjob_manager_get (self, id, err);
    if (!job)
        return -1;
    int rc = zjob_manager_allows (self, what, job, err) ? 0 : -1;
    if (rc == 0 && opts->veto)
        rc = opts->veto (what, job, opts->veto_arg, err);
    zjob_job_destroy (&job);
    if (rc == 0 && !opts->dry_run)
        rc = s_apply_now (self, what, id, opts, err);
    return rc;
}

//  The operations on many jobs (by ids, by filter) are zjob_bulk.c's, in
//  bounded steps.


//  --------------------------------------------------------------------------
//  The store, seen through the manager

zjob_manager_t *
zjob_manager_open (const char *spec, const zjob_manager_config_t *config, zjob_error_t *err)
{
    zjob_store_t *store = zjob_store_open (spec, err);
    if (!store)
        return NULL;
    zjob_manager_t *self = zjob_manager_new (&store, config, err);
    zjob_store_destroy (&store);
    return self;
}

const char *
zjob_manager_store_name (zjob_manager_t *self)
{
    assert (self);
    return zjob_store_name (zjob_manager_store (self));
}

void
zjob_manager_store_stats (zjob_manager_t *self, zhashx_t *into)
{
    assert (self);
    zjob_store_stats (zjob_manager_store (self), into);
}

size_t
zjob_manager_stored (zjob_manager_t *self)
{
    assert (self);
    return zjob_store_count (zjob_manager_store (self));
}

static int
s_count_handed_out (zjob_job_t *job, void *arg)
{
    if (job->attempts > 0)
        (*(size_t *) arg)++;
    return 0;
}

size_t
zjob_manager_reclaimable (zjob_manager_t *self)
{
    assert (self);
    zjob_filter_t queued = { .status_mask = 1u << ZJOB_QUEUED };
    size_t handed_out = 0;
    zjob_store_iterate (zjob_manager_store (self), &queued, s_count_handed_out, &handed_out);
    return handed_out;
}
