/*  =========================================================================
    test_zjob_deps - job dependencies, through the manager (zjob_deps.h)

    Driven through the manager on the memory store (and the file store for
    recovery): a child waits while a parent is not completed and is
    released, with its parents' outputs, when the last one completes; each
    on_parent_failure rule; cascades; a deleted parent; RERUN back to
    waiting; SUBMIT's graph (positions, topological order, cycles, unknown
    parents); a parent with 10,000 children settled in bounded steps; and
    a 100,000-job graph accepted and released.
    ========================================================================= */

#include "helper_zjob_manager.h"
#include "zjob_deps.h"

//  {"n": 2} as msgpack
static const uint8_t s_two [] = { 0x81, 0xa1, 'n', 0x02 };


//  --------------------------------------------------------------------------
//  Helpers

//  A spec of workflow "w" depending on count ids (and positions)
static zjob_spec_t
s_child_spec (const char *const *ids, size_t count, const uint32_t *positions,
              size_t position_count, zjob_on_parent_t rule)
{
    zjob_spec_t spec = s_spec ("w", ZJOB_PRIORITY_UNSET);
    spec.depends_on = ids;
    spec.depends_on_count = count;
    spec.depends_on_index = positions;
    spec.depends_on_index_count = position_count;
    spec.on_parent_failure = rule;
    return spec;
}

//  Submit one spec (auto_start), its id into id; the status it has
static int
s_submit_one (zjob_manager_t *manager, const zjob_spec_t *spec, char *id)
{
    zjob_job_t *jobs [1] = { NULL };
    uint64_t existing [1];
    size_t existing_count = 0;
    zjob_error_t err = { 0, "" };
    int rc = zjob_manager_submit (manager, spec, 1, true, jobs, existing, &existing_count, &err);
    cr_assert_eq (rc, 1, "submit: %s", err.text);
    strcpy (id, jobs [0]->id);
    int status = jobs [0]->status;
    zjob_job_destroy (&jobs [0]);
    return status;
}

//  A child of count parents, submitted; its id into id
static int
s_child (zjob_manager_t *manager, const char *const *parents, size_t count,
         zjob_on_parent_t rule, char *id)
{
    zjob_spec_t spec = s_child_spec (parents, count, NULL, 0, rule);
    return s_submit_one (manager, &spec, id);
}

//  Take job id (it must be the one handed out) and complete it with outputs
static void
s_run (zjob_manager_t *manager, const char *id, const uint8_t *outputs, size_t size)
{
    char taken [ZJOB_ID_LEN + 1];
    s_take (manager, "w1", taken);
    cr_assert_str_eq (taken, id, "take: %s, expected %s", taken, id);
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_complete (manager, id, "w1", outputs, size, &err), 0,
                  "complete: %s", err.text);
}

//  Take job id and fail it for good
static void
s_run_fail (zjob_manager_t *manager, const char *id)
{
    char taken [ZJOB_ID_LEN + 1];
    s_take (manager, "w1", taken);
    cr_assert_str_eq (taken, id);
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_fail (manager, id, "w1", "boom", "it broke", &err), 0,
                  "fail: %s", err.text);
}

//  Step the FIFO until it is empty; the number of steps
static size_t
s_settle_all (zjob_manager_t *manager, size_t max)
{
    size_t steps = 0;
    while (zjob_manager_deps_busy (manager)) {
        zjob_manager_deps_step (manager, max);
        cr_assert_lt (++steps, 1000000, "the FIFO never empties");
    }
    return steps;
}

//  The entry for parent id in a parent_outputs map: 1 if it holds
//  expected (bin, size bytes; NULL: any), 0 for nil, -1 if absent
static int
s_parent_output (const zjob_job_t *job, const char *id, const uint8_t *expected,
                 size_t expected_size)
{
    size_t size;
    const uint8_t *pout = zjob_job_parent_outputs (job, &size);
    cr_assert_not_null (pout, "job %s has no parent_outputs", job->id);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    cr_assert_eq (msgpack_unpack_next (&unpacked, (const char *) pout, size, NULL),
                  MSGPACK_UNPACK_SUCCESS);
    cr_assert_eq (unpacked.data.type, MSGPACK_OBJECT_MAP);
    int found = -1;
    for (uint32_t index = 0; index < unpacked.data.via.map.size; index++) {
        msgpack_object_kv *entry = &unpacked.data.via.map.ptr [index];
        if (entry->key.via.str.size != ZJOB_ID_LEN
            || memcmp (entry->key.via.str.ptr, id, ZJOB_ID_LEN) != 0)
            continue;
        if (entry->val.type == MSGPACK_OBJECT_NIL)
            found = 0;
        else {
            cr_assert_eq (entry->val.type, MSGPACK_OBJECT_BIN);
            found = 1;
            if (expected) {
                cr_assert_eq (entry->val.via.bin.size, expected_size);
                cr_assert_eq (memcmp (entry->val.via.bin.ptr, expected, expected_size), 0);
            }
        }
    }
    msgpack_unpacked_destroy (&unpacked);
    return found;
}

static uint32_t
s_pending (zjob_manager_t *manager, const char *id)
{
    zjob_job_t *job = s_get (manager, id);
    uint32_t pending = job->extra ? job->extra->pending_parents : 0;
    zjob_job_destroy (&job);
    return pending;
}


//  --------------------------------------------------------------------------
//  Release

Test (deps, released_when_the_last_parent_completes)
{
    zjob_manager_t *manager = s_manager (0);
    char a [ZJOB_ID_LEN + 1], b [ZJOB_ID_LEN + 1], c [ZJOB_ID_LEN + 1];
    zjob_spec_t spec = s_spec ("w", ZJOB_PRIORITY_UNSET);
    cr_assert_eq (s_submit_one (manager, &spec, a), ZJOB_QUEUED);
    cr_assert_eq (s_submit_one (manager, &spec, b), ZJOB_QUEUED);
    const char *parents [] = { a, b };
    cr_assert_eq (s_child (manager, parents, 2, ZJOB_ON_PARENT_FAIL, c), ZJOB_WAITING);
    cr_assert_eq (s_pending (manager, c), 2);
    char ids [4][ZJOB_ID_LEN + 1];
    cr_assert_eq (zjob_manager_children (manager, a, ids, 4), 1);
    cr_assert_str_eq (ids [0], c);
    s_assert_counts (manager);

    s_run (manager, a, s_outputs, sizeof (s_outputs));
    s_settle_all (manager, ZJOB_DEPS_STEP);
    cr_assert_eq (s_status (manager, c), ZJOB_WAITING, "one parent is still running");
    cr_assert_eq (s_pending (manager, c), 1);
    cr_assert_eq (zjob_manager_children (manager, a, ids, 4), 0, "a settled: no list");
    cr_assert_eq (zjob_manager_queued (manager), 1, "b only");

    s_run (manager, b, s_two, sizeof (s_two));
    cr_assert (zjob_manager_deps_busy (manager), "b's children wait for a step");
    cr_assert_eq (s_status (manager, c), ZJOB_WAITING);
    s_settle_all (manager, ZJOB_DEPS_STEP);
    cr_assert_eq (s_status (manager, c), ZJOB_QUEUED);
    s_assert_counts (manager);

    //  Its parents' outputs, by id
    zjob_job_t *job = s_get (manager, c);
    cr_assert_eq (s_parent_output (job, a, s_outputs, sizeof (s_outputs)), 1);
    cr_assert_eq (s_parent_output (job, b, s_two, sizeof (s_two)), 1);
    zjob_job_destroy (&job);
    s_run (manager, c, s_outputs, sizeof (s_outputs));
    zjob_manager_destroy (&manager);
}

Test (deps, completed_parent_counts_at_once)
{
    zjob_manager_t *manager = s_manager (0);
    char a [ZJOB_ID_LEN + 1], c [ZJOB_ID_LEN + 1];
    zjob_spec_t spec = s_spec ("w", ZJOB_PRIORITY_UNSET);
    s_submit_one (manager, &spec, a);
    s_run (manager, a, s_outputs, sizeof (s_outputs));
    s_settle_all (manager, ZJOB_DEPS_STEP);
    const char *parents [] = { a };
    cr_assert_eq (s_child (manager, parents, 1, ZJOB_ON_PARENT_FAIL, c), ZJOB_QUEUED);
    zjob_job_t *job = s_get (manager, c);
    cr_assert_eq (s_parent_output (job, a, s_outputs, sizeof (s_outputs)), 1);
    zjob_job_destroy (&job);
    zjob_manager_destroy (&manager);
}

Test (deps, created_child_waits_when_started)
{
    zjob_manager_t *manager = s_manager (0);
    char a [ZJOB_ID_LEN + 1];
    zjob_spec_t spec = s_spec ("w", ZJOB_PRIORITY_UNSET);
    s_submit_one (manager, &spec, a);
    const char *parents [] = { a };
    zjob_spec_t child = s_child_spec (parents, 1, NULL, 0, ZJOB_ON_PARENT_FAIL);
    zjob_error_t err = { 0, "" };
    zjob_job_t *job = zjob_manager_create (manager, &child, false, &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_eq (job->status, ZJOB_CREATED);
    char c [ZJOB_ID_LEN + 1];
    strcpy (c, job->id);
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_start (manager, c, &err), 0, "%s", err.text);
    cr_assert_eq (s_status (manager, c), ZJOB_WAITING);
    //  Paused and resumed while a is running: still waiting
    cr_assert_eq (zjob_manager_pause (manager, c, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_resume (manager, c, &err), 0, "%s", err.text);
    cr_assert_eq (s_status (manager, c), ZJOB_WAITING);
    //  Paused when a completes: queued on resume, with a's outputs
    cr_assert_eq (zjob_manager_pause (manager, c, &err), 0, "%s", err.text);
    s_run (manager, a, s_outputs, sizeof (s_outputs));
    s_settle_all (manager, ZJOB_DEPS_STEP);
    cr_assert_eq (s_status (manager, c), ZJOB_PAUSED);
    cr_assert_eq (zjob_manager_resume (manager, c, &err), 0, "%s", err.text);
    cr_assert_eq (s_status (manager, c), ZJOB_QUEUED);
    job = s_get (manager, c);
    cr_assert_eq (s_parent_output (job, a, s_outputs, sizeof (s_outputs)), 1);
    zjob_job_destroy (&job);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}


//  --------------------------------------------------------------------------
//  on_parent_failure

Test (deps, failed_parent_fails_child)
{
    zjob_manager_t *manager = s_manager (0);
    char a [ZJOB_ID_LEN + 1], c [ZJOB_ID_LEN + 1];
    zjob_spec_t spec = s_spec ("w", ZJOB_PRIORITY_UNSET);
    s_submit_one (manager, &spec, a);
    const char *parents [] = { a };
    s_child (manager, parents, 1, ZJOB_ON_PARENT_FAIL, c);
    s_run_fail (manager, a);
    s_settle_all (manager, ZJOB_DEPS_STEP);
    zjob_job_t *job = s_get (manager, c);
    cr_assert_eq (job->status, ZJOB_FAILED);
    cr_assert_str_eq (job->error_kind, "dependency_failed");
    char expected [128];
    snprintf (expected, sizeof (expected), "parent %s failed", a);
    cr_assert_str_eq (job->error_message, expected);
    zjob_job_destroy (&job);
    s_assert_counts (manager);

    //  A child submitted after: failed at once
    char d [ZJOB_ID_LEN + 1];
    cr_assert_eq (s_child (manager, parents, 1, ZJOB_ON_PARENT_FAIL, d), ZJOB_FAILED);
    zjob_manager_destroy (&manager);
}

Test (deps, cancelled_parent_cancels_child)
{
    zjob_manager_t *manager = s_manager (0);
    char a [ZJOB_ID_LEN + 1], c [ZJOB_ID_LEN + 1], d [ZJOB_ID_LEN + 1];
    zjob_spec_t spec = s_spec ("w", ZJOB_PRIORITY_UNSET);
    s_submit_one (manager, &spec, a);
    const char *parents [] = { a };
    s_child (manager, parents, 1, ZJOB_ON_PARENT_CANCEL, c);
    s_child (manager, parents, 1, ZJOB_ON_PARENT_FAIL, d);
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_cancel (manager, a, &err), 0, "%s", err.text);
    s_settle_all (manager, ZJOB_DEPS_STEP);
    cr_assert_eq (s_status (manager, c), ZJOB_CANCELLED);
    zjob_job_t *job = s_get (manager, d);
    cr_assert_eq (job->status, ZJOB_FAILED);
    char expected [128];
    snprintf (expected, sizeof (expected), "parent %s was cancelled", a);
    cr_assert_str_eq (job->error_message, expected);
    zjob_job_destroy (&job);
    zjob_manager_destroy (&manager);
}

Test (deps, run_rule_releases_with_nil_outputs)
{
    zjob_manager_t *manager = s_manager (0);
    char a [ZJOB_ID_LEN + 1], b [ZJOB_ID_LEN + 1], c [ZJOB_ID_LEN + 1];
    zjob_spec_t spec = s_spec ("w", ZJOB_PRIORITY_UNSET);
    s_submit_one (manager, &spec, a);
    s_submit_one (manager, &spec, b);
    const char *parents [] = { a, b };
    s_child (manager, parents, 2, ZJOB_ON_PARENT_RUN, c);
    s_run_fail (manager, a);
    s_settle_all (manager, ZJOB_DEPS_STEP);
    cr_assert_eq (s_status (manager, c), ZJOB_WAITING, "b is still to complete");
    s_run (manager, b, s_two, sizeof (s_two));
    s_settle_all (manager, ZJOB_DEPS_STEP);
    cr_assert_eq (s_status (manager, c), ZJOB_QUEUED);
    zjob_job_t *job = s_get (manager, c);
    cr_assert_eq (s_parent_output (job, a, NULL, 0), 0, "a failed: nil");
    cr_assert_eq (s_parent_output (job, b, s_two, sizeof (s_two)), 1);
    zjob_job_destroy (&job);
    zjob_manager_destroy (&manager);
}

Test (deps, failure_cascades)
{
    //  a <- b <- c <- d, all failing with their parent
    zjob_manager_t *manager = s_manager (0);
    char ids [4][ZJOB_ID_LEN + 1];
    zjob_spec_t spec = s_spec ("w", ZJOB_PRIORITY_UNSET);
    s_submit_one (manager, &spec, ids [0]);
    for (int index = 1; index < 4; index++) {
        const char *parents [] = { ids [index - 1] };
        cr_assert_eq (s_child (manager, parents, 1, ZJOB_ON_PARENT_FAIL, ids [index]),
                      ZJOB_WAITING);
    }
    s_run_fail (manager, ids [0]);
    s_settle_all (manager, 1);
    for (int index = 1; index < 4; index++) {
        zjob_job_t *job = s_get (manager, ids [index]);
        cr_assert_eq (job->status, ZJOB_FAILED, "job %d", index);
        char expected [128];
        snprintf (expected, sizeof (expected), "parent %s failed", ids [index - 1]);
        cr_assert_str_eq (job->error_message, expected);
        zjob_job_destroy (&job);
    }
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (deps, deleted_parent)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_spec_t spec = s_spec ("w", ZJOB_PRIORITY_UNSET);
    zjob_error_t err = { 0, "" };
    zjob_job_t *parent = zjob_manager_create (manager, &spec, false, &err);
    cr_assert_not_null (parent);
    char a [ZJOB_ID_LEN + 1], c [ZJOB_ID_LEN + 1], r [ZJOB_ID_LEN + 1];
    strcpy (a, parent->id);
    zjob_job_destroy (&parent);
    const char *parents [] = { a };
    cr_assert_eq (s_child (manager, parents, 1, ZJOB_ON_PARENT_FAIL, c), ZJOB_WAITING);
    cr_assert_eq (s_child (manager, parents, 1, ZJOB_ON_PARENT_RUN, r), ZJOB_WAITING);
    cr_assert_eq (zjob_manager_delete (manager, a, &err), 0, "%s", err.text);
    s_settle_all (manager, ZJOB_DEPS_STEP);
    zjob_job_t *job = s_get (manager, c);
    cr_assert_eq (job->status, ZJOB_FAILED);
    cr_assert_str_eq (job->error_kind, "dependency_failed");
    cr_assert (strstr (job->error_message, a), "%s", job->error_message);
    zjob_job_destroy (&job);
    cr_assert_eq (s_status (manager, r), ZJOB_QUEUED, "run: released, a's outputs nil");
    //  A completed parent deleted later changes nothing for its children
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (deps, rerun_goes_back_to_waiting)
{
    zjob_manager_t *manager = s_manager (0);
    char a [ZJOB_ID_LEN + 1], c [ZJOB_ID_LEN + 1];
    zjob_spec_t spec = s_spec ("w", ZJOB_PRIORITY_UNSET);
    s_submit_one (manager, &spec, a);
    const char *parents [] = { a };
    s_child (manager, parents, 1, ZJOB_ON_PARENT_FAIL, c);
    s_run_fail (manager, a);
    s_settle_all (manager, ZJOB_DEPS_STEP);
    cr_assert_eq (s_status (manager, c), ZJOB_FAILED);
    zjob_error_t err = { 0, "" };
    //  The child re-run first: its parent has failed, so it fails again
    cr_assert_eq (zjob_manager_retry (manager, c, false, &err), 0, "%s", err.text);
    cr_assert_eq (s_status (manager, c), ZJOB_WAITING);
    s_settle_all (manager, ZJOB_DEPS_STEP);
    cr_assert_eq (s_status (manager, c), ZJOB_FAILED);
    //  The parent re-run, then the child: it waits for the parent
    cr_assert_eq (zjob_manager_retry (manager, a, false, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_retry (manager, c, false, &err), 0, "%s", err.text);
    cr_assert_eq (s_status (manager, c), ZJOB_WAITING);
    s_settle_all (manager, ZJOB_DEPS_STEP);
    cr_assert_eq (s_status (manager, c), ZJOB_WAITING);
    s_run (manager, a, s_outputs, sizeof (s_outputs));
    s_settle_all (manager, ZJOB_DEPS_STEP);
    cr_assert_eq (s_status (manager, c), ZJOB_QUEUED);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}


//  --------------------------------------------------------------------------
//  SUBMIT's graph

//  Submit count specs (auto_start); -1 and err on a refusal, else 0 and
//  the ids in spec order
static int
s_submit_graph (zjob_manager_t *manager, const zjob_spec_t *specs, size_t count,
                char (*ids) [ZJOB_ID_LEN + 1], zjob_error_t *err)
{
    zjob_job_t **jobs = (zjob_job_t **) calloc (count, sizeof (zjob_job_t *));
    uint64_t *existing = (uint64_t *) calloc (count, sizeof (uint64_t));
    size_t existing_count = 0;
    int rc = zjob_manager_submit (manager, specs, count, true, jobs, existing, &existing_count,
                                  err);
    for (size_t index = 0; rc >= 0 && index < count; index++) {
        if (ids)
            strcpy (ids [index], jobs [index]->id);
        zjob_job_destroy (&jobs [index]);
    }
    free (jobs);
    free (existing);
    return rc < 0 ? -1 : 0;
}

Test (deps, diamond_by_positions)
{
    //  d (0) waits for b (1) and c (2), which wait for a (3): given
    //  children first, created parents first
    zjob_manager_t *manager = s_manager (0);
    const uint32_t d_parents [] = { 1, 2 }, a_position [] = { 3 };
    zjob_spec_t specs [4] = {
        s_child_spec (NULL, 0, d_parents, 2, ZJOB_ON_PARENT_FAIL),
        s_child_spec (NULL, 0, a_position, 1, ZJOB_ON_PARENT_FAIL),
        s_child_spec (NULL, 0, a_position, 1, ZJOB_ON_PARENT_FAIL),
        s_spec ("w", ZJOB_PRIORITY_UNSET),
    };
    char ids [4][ZJOB_ID_LEN + 1];
    zjob_error_t err = { 0, "" };
    cr_assert_eq (s_submit_graph (manager, specs, 4, ids, &err), 0, "%s", err.text);
    cr_assert_eq (s_status (manager, ids [3]), ZJOB_QUEUED);
    cr_assert_eq (s_status (manager, ids [0]), ZJOB_WAITING);
    //  Created in topological order: a's id sorts before b's and c's
    cr_assert_lt (strcmp (ids [3], ids [1]), 0);
    cr_assert_lt (strcmp (ids [1], ids [0]), 0);
    zjob_job_t *d = s_get (manager, ids [0]);
    size_t count;
    const char *const *parents = zjob_job_parents (d, &count);
    cr_assert_eq (count, 2);
    cr_assert_str_eq (parents [0], ids [1]);
    cr_assert_str_eq (parents [1], ids [2]);
    zjob_job_destroy (&d);

    s_run (manager, ids [3], s_outputs, sizeof (s_outputs));
    s_settle_all (manager, ZJOB_DEPS_STEP);
    cr_assert_eq (zjob_manager_queued (manager), 2);
    s_run (manager, ids [1], s_outputs, sizeof (s_outputs));
    s_settle_all (manager, ZJOB_DEPS_STEP);
    cr_assert_eq (s_status (manager, ids [0]), ZJOB_WAITING);
    s_run (manager, ids [2], s_two, sizeof (s_two));
    s_settle_all (manager, ZJOB_DEPS_STEP);
    cr_assert_eq (s_status (manager, ids [0]), ZJOB_QUEUED);
    s_run (manager, ids [0], s_outputs, sizeof (s_outputs));
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (deps, graph_refusals)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_error_t err = { 0, "" };
    //  A cycle: 0 -> 1 -> 2 -> 0 (each waits for the next)
    const uint32_t one [] = { 1 }, two [] = { 2 }, zero [] = { 0 }, nine [] = { 9 };
    zjob_spec_t cycle [4] = {
        s_child_spec (NULL, 0, one, 1, ZJOB_ON_PARENT_FAIL),
        s_child_spec (NULL, 0, two, 1, ZJOB_ON_PARENT_FAIL),
        s_child_spec (NULL, 0, zero, 1, ZJOB_ON_PARENT_FAIL),
        s_spec ("w", ZJOB_PRIORITY_UNSET),
    };
    cr_assert_eq (s_submit_graph (manager, cycle, 4, NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert (strstr (err.text, "depends_on: cycle (jobs["), "%s", err.text);
    cr_assert (strstr (err.text, "jobs[0]") && strstr (err.text, "jobs[1]")
                   && strstr (err.text, "jobs[2]") && !strstr (err.text, "jobs[3]"),
               "%s", err.text);
    cr_assert_eq (zjob_manager_stored (manager), 0, "nothing of it is created");

    //  Out of range, itself
    zjob_spec_t bad [2] = { s_child_spec (NULL, 0, nine, 1, ZJOB_ON_PARENT_FAIL),
                            s_spec ("w", ZJOB_PRIORITY_UNSET) };
    cr_assert_eq (s_submit_graph (manager, bad, 2, NULL, &err), -1);
    cr_assert_str_eq (err.text, "jobs[0]: depends_on: position 9 is out of range (2 jobs)");
    bad [0] = s_child_spec (NULL, 0, zero, 1, ZJOB_ON_PARENT_FAIL);
    cr_assert_eq (s_submit_graph (manager, bad, 1, NULL, &err), -1);
    cr_assert_str_eq (err.text, "jobs[0]: depends_on: position 0 is the job itself");

    //  An unknown parent: 404 naming the spec and the id
    const char *unknown [] = { "0000000000000000000Z" };
    zjob_spec_t orphan [2] = { s_spec ("w", ZJOB_PRIORITY_UNSET),
                               s_child_spec (unknown, 1, NULL, 0, ZJOB_ON_PARENT_FAIL) };
    cr_assert_eq (s_submit_graph (manager, orphan, 2, NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    cr_assert_str_eq (err.text, "jobs[1]: depends_on[0]: no job 0000000000000000000Z");
    cr_assert_eq (s_submit_graph (manager, &orphan [1], 1, NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    cr_assert_str_eq (err.text, "jobs[0]: depends_on[0]: no job 0000000000000000000Z");
    cr_assert_eq (zjob_manager_stored (manager), 0);
    zjob_manager_destroy (&manager);
}


//  --------------------------------------------------------------------------
//  Scale: one parent with 10,000 children, a graph of 100,000 jobs

Test (deps, many_children_settle_in_steps)
{
    zjob_manager_t *manager = s_manager (0);
    char a [ZJOB_ID_LEN + 1];
    zjob_spec_t spec = s_spec ("w", ZJOB_PRIORITY_UNSET);
    s_submit_one (manager, &spec, a);
    const char *parents [] = { a };
    size_t count = 10000;
    zjob_spec_t *specs = (zjob_spec_t *) calloc (count, sizeof (zjob_spec_t));
    for (size_t index = 0; index < count; index++)
        specs [index] = s_child_spec (parents, 1, NULL, 0, ZJOB_ON_PARENT_FAIL);
    zjob_error_t err = { 0, "" };
    cr_assert_eq (s_submit_graph (manager, specs, count, NULL, &err), 0, "%s", err.text);
    free (specs);
    size_t counts [ZJOB_STATUS_COUNT];
    zjob_manager_counts (manager, counts);
    cr_assert_eq (counts [ZJOB_WAITING], count);

    s_run (manager, a, s_outputs, sizeof (s_outputs));
    //  One step settles ZJOB_DEPS_STEP at most (the parent counts as one)
    cr_assert_eq (zjob_manager_deps_step (manager, ZJOB_DEPS_STEP), 1);
    cr_assert_eq (zjob_manager_queued (manager), ZJOB_DEPS_STEP - 1);
    size_t steps = 1 + s_settle_all (manager, ZJOB_DEPS_STEP);
    cr_assert_eq (steps, (count + 1 + ZJOB_DEPS_STEP - 1) / ZJOB_DEPS_STEP);
    cr_assert_eq (zjob_manager_queued (manager), count);
    size_t parents_count;
    cr_assert_eq (zjob_manager_deps_entries (manager, &parents_count), 0);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

//  A layered graph of batches SUBMITs of size jobs each: in a batch, job
//  i > 0 waits for job (i - 1) / 2 (a binary tree); the root of batch b >
//  0 waits for the last job of batch b - 1. Returns the number of jobs
//  completed in taking and completing everything.
static size_t
s_big_graph (zjob_manager_t *manager, size_t batches, size_t size)
{
    zjob_spec_t *specs = (zjob_spec_t *) calloc (size, sizeof (zjob_spec_t));
    uint32_t *positions = (uint32_t *) calloc (size, sizeof (uint32_t));
    char (*ids) [ZJOB_ID_LEN + 1] = calloc (size, ZJOB_ID_LEN + 1);
    char last [ZJOB_ID_LEN + 1] = "";
    const char *previous [] = { last };
    zjob_error_t err = { 0, "" };
    for (size_t batch = 0; batch < batches; batch++) {
        for (size_t index = 0; index < size; index++) {
            positions [index] = (uint32_t) (index ? (index - 1) / 2 : 0);
            specs [index] = s_child_spec (NULL, 0, &positions [index], index > 0,
                                          ZJOB_ON_PARENT_FAIL);
        }
        if (batch > 0)
            specs [0] = s_child_spec (previous, 1, NULL, 0, ZJOB_ON_PARENT_FAIL);
        cr_assert_eq (s_submit_graph (manager, specs, size, ids, &err), 0, "%s", err.text);
        strcpy (last, ids [size - 1]);
    }
    free (specs);
    free (positions);
    free (ids);
    size_t completed = 0;
    zjob_job_t *job;
    do {
        while ((job = zjob_manager_take (manager, NULL, 0, "w1"))) {
            cr_assert_eq (zjob_manager_complete (manager, job->id, "w1", NULL, 0, &err), 0,
                          "%s", err.text);
            zjob_job_destroy (&job);
            completed++;
        }
        s_settle_all (manager, ZJOB_DEPS_STEP);
    } while (zjob_manager_queued (manager) > 0);
    return completed;
}

Test (deps, graph_of_100000_jobs, .timeout = 120)
{
    zjob_manager_t *manager = s_manager (0);
    cr_assert_eq (s_big_graph (manager, 10, 10000), 100000);
    size_t counts [ZJOB_STATUS_COUNT];
    zjob_manager_counts (manager, counts);
    cr_assert_eq (counts [ZJOB_COMPLETED], 100000);
    cr_assert_eq (zjob_manager_deps_entries (manager, NULL), 0);
    zjob_manager_destroy (&manager);
}


//  --------------------------------------------------------------------------
//  Recovery, on the file store

Test (deps, recovery_rebuilds_and_releases, .fini = s_tmpdir_fini)
{
    s_dir = s_tmpdir ();
    zjob_manager_t *manager = s_manager_over (s_file_store (s_dir), 0);
    char a [ZJOB_ID_LEN + 1], b [ZJOB_ID_LEN + 1], c [ZJOB_ID_LEN + 1],
        d [ZJOB_ID_LEN + 1];
    zjob_spec_t spec = s_spec ("w", ZJOB_PRIORITY_UNSET);
    s_submit_one (manager, &spec, b);  //  b first: it is taken first
    s_submit_one (manager, &spec, a);
    const char *on_a [] = { a }, *on_b [] = { b };
    s_child (manager, on_a, 1, ZJOB_ON_PARENT_FAIL, c);
    s_child (manager, on_b, 1, ZJOB_ON_PARENT_FAIL, d);
    //  b completes, and the broker stops before d's release
    s_run (manager, b, s_outputs, sizeof (s_outputs));
    cr_assert (zjob_manager_deps_busy (manager));
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_sync (manager, &err), 0, "%s", err.text);
    zjob_manager_destroy (&manager);

    manager = s_manager_over (s_file_store (s_dir), 0);
    cr_assert_eq (s_status (manager, c), ZJOB_WAITING);
    cr_assert_eq (s_status (manager, d), ZJOB_WAITING);
    cr_assert_eq (s_pending (manager, c), 1);
    char ids [4][ZJOB_ID_LEN + 1];
    cr_assert_eq (zjob_manager_children (manager, a, ids, 4), 1, "the index is rebuilt");
    cr_assert_str_eq (ids [0], c);
    cr_assert (zjob_manager_deps_busy (manager), "d is released at start");
    s_settle_all (manager, ZJOB_DEPS_STEP);
    cr_assert_eq (s_status (manager, d), ZJOB_QUEUED);
    cr_assert_eq (s_status (manager, c), ZJOB_WAITING);
    s_assert_counts (manager);
    //  a is queued again (it was queued), then completes: c is released
    zjob_job_t *job;
    while ((job = zjob_manager_take (manager, NULL, 0, "w1"))) {
        cr_assert_eq (zjob_manager_complete (manager, job->id, "w1", NULL, 0, &err), 0);
        zjob_job_destroy (&job);
    }
    s_settle_all (manager, ZJOB_DEPS_STEP);
    cr_assert_eq (s_status (manager, c), ZJOB_QUEUED);
    zjob_manager_destroy (&manager);
}
