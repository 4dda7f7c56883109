/*  =========================================================================
    zjob_deps - job dependencies: waiting children, their release, graphs

    See zjob_deps.h for the rules. Here: the children index (parent id ->
    a vector of child references), the settling FIFO, the count of a
    child's pending parents, parent_outputs, and SUBMIT's graph (positions
    resolved, Kahn's order, a cycle named).

    Why entries are hints and counts are recomputed. A child's pending
    parents could be a counter decremented once per settled parent, but
    then every entry would have to be exact: a child cancelled or deleted
    while its parent runs would need removing from a list that may hold
    100,000 children, and a re-run child would need to know which of its
    entries survive. Counting afresh costs O(parents) (at most 64 hash
    lookups) per settled entry and makes every entry idempotent, so none
    is ever removed before its parent settles.
    ========================================================================= */

#include <stdlib.h>
#include <string.h>
#include "zjob_deps.h"
#include "zjob_log.h"
#include "zjob_manager_impl.h"

//  The children of one parent: references, in the order they came
typedef struct {
    size_t count;
    size_t max;
    zjob_job_t **jobs;
} s_kids_t;

//  One piece of work on the FIFO: a settled parent (its list to check),
//  or one child to check
typedef struct _s_item_t {
    struct _s_item_t *next;
    char id [ZJOB_ID_LEN + 1];  //  The parent's id (a parent item)
    const char *why;            //  What settled it if it is gone: NULL
                                //  (completed), "failed", "was cancelled",
                                //  "was deleted"
    zjob_job_t *child;          //  A child item: the job (a reference)
    s_kids_t *kids;             //  The parent's list, once taken from the index
    size_t next_kid;            //  The next entry of kids to check
} s_item_t;

struct _zjob_deps_t {
    zjob_manager_t *manager;  //  Borrowed: the owner
    zhashx_t *children;       //  parent id -> s_kids_t (owned; no destructor,
                              //  so that a list can leave the hash)
    s_item_t *head;           //  The FIFO, oldest first
    s_item_t *tail;
    zhashx_t *making;  //  During zjob_deps_create: id -> job made earlier in
                       //  the SUBMIT, not stored yet (borrowed)
    bool out_of_memory;
};

//  What a child's parents say now
typedef struct {
    uint32_t pending;  //  Parents not settled
    int bad;           //  Index of the first parent that fails it, or -1
    const char *why;   //  How that parent settled
} s_count_t;

static bool
s_streq (const char *a, const char *b)
{
    return a && b && strcmp (a, b) == 0;
}

static void
s_kids_free (s_kids_t **kids_p)
{
    s_kids_t *kids = *kids_p;
    if (kids) {
        for (size_t index = 0; index < kids->count; index++)
            zjob_job_destroy (&kids->jobs [index]);
        free (kids->jobs);
        free (kids);
    }
    *kids_p = NULL;
}

//  The parents of job, or NULL (count 0)
static const char *const *
s_parents (const zjob_job_t *job, size_t *count_p)
{
    *count_p = 0;
    return zjob_job_parents (job, count_p);
}

//  Append child (the reference is taken) to parent id's list
static int
s_kids_add (zjob_deps_t *self, const char *id, zjob_job_t *child)
{
    s_kids_t *kids = (s_kids_t *) zhashx_lookup (self->children, id);
    if (!kids) {
        kids = (s_kids_t *) calloc (1, sizeof (s_kids_t));
        if (!kids || zhashx_insert (self->children, id, kids)) {
            free (kids);
            return -1;
        }
    }
    if (kids->count == kids->max) {
        size_t max = kids->max ? kids->max * 2 : 4;
        zjob_job_t **jobs = (zjob_job_t **) realloc (kids->jobs, max * sizeof (zjob_job_t *));
        if (!jobs)
            return -1;
        kids->jobs = jobs;
        kids->max = max;
    }
    kids->jobs [kids->count++] = child;
    return 0;
}


//  --------------------------------------------------------------------------
//  The tracker

zjob_deps_t *
zjob_deps_new (zjob_manager_t *manager)
{
    assert (manager);
    zjob_deps_t *self = (zjob_deps_t *) calloc (1, sizeof (zjob_deps_t));
    if (!self)
        return NULL;
    self->manager = manager;
    self->children = zjob_hashx_new ();
    if (!self->children) {
        free (self);
        return NULL;
    }
    return self;
}

static void
s_pop (zjob_deps_t *self)
{
    s_item_t *item = self->head;
    self->head = item->next;
    if (!self->head)
        self->tail = NULL;
    zjob_job_destroy (&item->child);
    s_kids_free (&item->kids);
    free (item);
}

void
zjob_deps_destroy (zjob_deps_t **self_p)
{
    assert (self_p);
    zjob_deps_t *self = *self_p;
    if (!self)
        return;
    while (self->head)
        s_pop (self);
    for (s_kids_t *kids = (s_kids_t *) zhashx_first (self->children); kids;
         kids = (s_kids_t *) zhashx_next (self->children))
        s_kids_free (&kids);
    zhashx_destroy (&self->children);
    free (self);
    *self_p = NULL;
}

static s_item_t *
s_push (zjob_deps_t *self)
{
    s_item_t *item = (s_item_t *) calloc (1, sizeof (s_item_t));
    if (!item) {
        self->out_of_memory = true;
        zjob_log_error ("zjob_deps: out of memory queueing a settle");
        return NULL;
    }
    if (self->tail)
        self->tail->next = item;
    else
        self->head = item;
    self->tail = item;
    return item;
}

//  A parent settled (why: NULL if it completed): its list is checked in turn
static void
s_push_parent (zjob_deps_t *self, const char *id, const char *why)
{
    s_item_t *item = s_push (self);
    if (item) {
        snprintf (item->id, sizeof (item->id), "%s", id);
        item->why = why;
    }
}

static void
s_push_child (zjob_deps_t *self, zjob_job_t *child)
{
    s_item_t *item = s_push (self);
    if (item)
        item->child = zjob_job_ref (child);
}

//  How a terminal status settles children; NULL for completed
static const char *
s_why (int status)
{
    return status == ZJOB_FAILED   ? "failed"
        : status == ZJOB_CANCELLED ? "was cancelled"
        : status == ZJOB_COMPLETED ? NULL
                                   : "was deleted";
}


//  --------------------------------------------------------------------------
//  A child's parents, counted now. A parent that is gone completed and
//  was cleaned up (its outputs are nil), unless it is gone_id, which
//  settled as gone_why. With index, the child is appended to the list of
//  each parent not settled.

static void
s_count (zjob_deps_t *self, zjob_job_t *job, const char *gone_id, const char *gone_why,
         bool index, s_count_t *count)
{
    count->pending = 0;
    count->bad = -1;
    count->why = NULL;
    size_t parent_count;
    const char *const *parents = s_parents (job, &parent_count);
    bool run = zjob_job_on_parent_failure (job) == ZJOB_ON_PARENT_RUN;
    for (size_t index_k = 0; index_k < parent_count; index_k++) {
        const char *id = parents [index_k];
        zjob_job_t *parent = self->making ? (zjob_job_t *) zhashx_lookup (self->making, id)
                                          : NULL;
        zjob_job_t *stored = parent ? NULL : zjob_mgr_lookup (self->manager, id, NULL);
        if (stored)
            parent = stored;
        const char *why = NULL;
        if (!parent)
            why = s_streq (gone_id, id) ? gone_why : NULL;
        else if (zjob_status_terminal ((zjob_status_t) parent->status))
            why = s_why (parent->status);
        else {
            count->pending++;
            zjob_job_t *entry = index ? zjob_job_ref (job) : NULL;
            if (entry && s_kids_add (self, id, entry)) {
                zjob_job_destroy (&entry);
                self->out_of_memory = true;
            }
        }
        if (why && !run && count->bad < 0) {
            count->bad = (int) index_k;
            count->why = why;
        }
        zjob_job_destroy (&stored);
    }
    if (job->extra)
        job->extra->pending_parents = count->pending;
}


//  --------------------------------------------------------------------------
//  parent_outputs: {parent id: bin (its outputs map), or nil if it is gone
//  or did not complete}, from the parents as they are stored

static int
s_outputs_build (zjob_deps_t *self, zjob_job_t *job, zjob_error_t *err)
{
    size_t parent_count;
    const char *const *parents = s_parents (job, &parent_count);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    int rc = msgpack_pack_map (&pk, parent_count);
    for (size_t index = 0; rc == 0 && index < parent_count; index++) {
        const char *id = parents [index];
        size_t size = strlen (id);
        rc = msgpack_pack_str (&pk, size) || msgpack_pack_str_body (&pk, id, size);
        zjob_job_t *parent = rc == 0 ? zjob_mgr_lookup (self->manager, id, NULL) : NULL;
        if (rc == 0 && parent && parent->status == ZJOB_COMPLETED && parent->outputs.size)
            rc = msgpack_pack_bin (&pk, parent->outputs.size)
                || msgpack_pack_bin_body (&pk, parent->outputs.data, parent->outputs.size);
        else if (rc == 0)
            rc = msgpack_pack_nil (&pk);
        zjob_job_destroy (&parent);
    }
    if (rc)
        rc = zjob_error_set (err, ZJOB_INTERNAL, "parent outputs: out of memory");
    else
        rc = zjob_job_set_parent_outputs (job, (const uint8_t *) buffer.data, buffer.size, err);
    msgpack_sbuffer_destroy (&buffer);
    return rc;
}

int
zjob_deps_outputs (zjob_deps_t *self, zjob_job_t *job, int from, zjob_error_t *err)
{
    assert (self && job);
    size_t parent_count;
    s_parents (job, &parent_count);
    if (parent_count == 0 || from == ZJOB_QUEUED || from == ZJOB_RUNNING)
        return 0;
    return s_outputs_build (self, job, err);
}


//  --------------------------------------------------------------------------
//  Settle one child: fail or cancel it by its rule, release it when no
//  parent is pending, else leave it waiting

static void
s_settle (zjob_deps_t *self, zjob_job_t *child, const char *gone_id, const char *gone_why)
{
    //  The entry may be stale: the child deleted, re-run, or settled already
    zjob_job_t *stored = zjob_mgr_lookup (self->manager, child->id, NULL);
    bool current = stored == child;
    zjob_job_destroy (&stored);
    if (!current || child->status != ZJOB_WAITING)
        return;
    s_count_t count;
    s_count (self, child, gone_id, gone_why, false, &count);
    zjob_error_t err = { 0, "" };
    int rc = 0;
    const char *what = "release";
    if (count.bad >= 0 && zjob_job_on_parent_failure (child) == ZJOB_ON_PARENT_CANCEL) {
        what = "cancel";
        rc = zjob_mgr_apply (self->manager, child, ZJOB_OP_CANCEL, NULL, &err);
    }
    else if (count.bad >= 0) {
        size_t parent_count;
        const char *const *parents = s_parents (child, &parent_count);
        char message [ZJOB_ID_LEN + 64];
        snprintf (message, sizeof (message), "parent %s %s", parents [count.bad], count.why);
        s_edits_t edits = {
            .set_error = true, .error_kind = "dependency_failed", .error_message = message
        };
        what = "fail";
        rc = zjob_mgr_apply (self->manager, child, ZJOB_OP_FAIL, &edits, &err);
    }
    else if (count.pending == 0) {
        rc = zjob_mgr_apply (self->manager, child, ZJOB_OP_RELEASE, NULL, &err);
        if (rc && err.code != ZJOB_INTERNAL) {
            //  Its parents' outputs do not fit in one job: it cannot run
            char message [ZJOB_ERROR_TEXT_MAX];
            snprintf (message, sizeof (message), "%s", err.text);
            s_edits_t edits = {
                .set_error = true, .error_kind = "dependency_failed", .error_message = message
            };
            what = "fail";
            rc = zjob_mgr_apply (self->manager, child, ZJOB_OP_FAIL, &edits, &err);
        }
    }
    if (rc)
        zjob_log_warning ("zjob_deps: cannot %s job %s: %s", what, child->id, err.text);
}


//  --------------------------------------------------------------------------
//  The manager's calls

int
zjob_deps_admit (zjob_deps_t *self, zjob_job_t *job, zjob_error_t *err)
{
    assert (self && job);
    size_t parent_count;
    const char *const *parents = s_parents (job, &parent_count);
    if (parent_count == 0)
        return 0;
    for (size_t index = 0; index < parent_count; index++) {
        if (self->making && zhashx_lookup (self->making, parents [index]))
            continue;
        zjob_job_t *parent = zjob_mgr_lookup (self->manager, parents [index], NULL);
        if (!parent)
            return zjob_error_set (err, ZJOB_NOT_FOUND, "depends_on[%zu]: no job %s", index,
                                   parents [index]);
        zjob_job_destroy (&parent);
    }
    if (job->status != ZJOB_QUEUED)
        return 0;
    s_count_t count;
    s_count (self, job, NULL, NULL, false, &count);
    if (count.pending || count.bad >= 0) {
        job->status = ZJOB_WAITING;
        return 0;
    }
    return s_outputs_build (self, job, err);
}

void
zjob_deps_created (zjob_deps_t *self, zjob_job_t *job)
{
    assert (self && job);
    size_t parent_count;
    s_parents (job, &parent_count);
    if (parent_count == 0 || zjob_status_terminal ((zjob_status_t) job->status))
        return;
    s_count_t count;
    s_count (self, job, NULL, NULL, true, &count);
    if (job->status == ZJOB_WAITING && (count.bad >= 0 || count.pending == 0))
        s_settle (self, job, NULL, NULL);  //  At once: a parent failed already
}

int
zjob_deps_route (zjob_deps_t *self, zjob_job_t *job)
{
    assert (self && job);
    size_t parent_count;
    s_parents (job, &parent_count);
    if (parent_count == 0)
        return ZJOB_QUEUED;
    s_count_t count;
    s_count (self, job, NULL, NULL, false, &count);
    return count.pending || count.bad >= 0 ? ZJOB_WAITING : ZJOB_QUEUED;
}

void
zjob_deps_changed (zjob_deps_t *self, zjob_job_t *job, int old_status)
{
    assert (self && job);
    int status = job->status;
    if (status == old_status)
        return;
    if (zjob_status_terminal ((zjob_status_t) status)
        && zhashx_lookup (self->children, job->id))
        s_push_parent (self, job->id, s_why (status));
    if (status != ZJOB_WAITING)
        return;
    size_t parent_count;
    s_parents (job, &parent_count);
    if (parent_count == 0)
        return;
    //  Into the lists again (the entries of its creation may be gone: a
    //  parent settled and was re-run since); a child that can be settled
    //  now is, in its turn
    s_count_t count;
    s_count (self, job, NULL, NULL, true, &count);
    if (count.bad >= 0 || count.pending == 0)
        s_push_child (self, job);
}

void
zjob_deps_deleted (zjob_deps_t *self, const zjob_job_t *job)
{
    assert (self && job);
    if (zhashx_lookup (self->children, job->id))
        s_push_parent (self, job->id, s_why (job->status));
}

int
zjob_deps_recovered (zjob_deps_t *self, zjob_job_t *job)
{
    assert (self && job);
    size_t parent_count;
    s_parents (job, &parent_count);
    if (parent_count == 0 || zjob_status_terminal ((zjob_status_t) job->status))
        return 0;
    s_count_t count;
    s_count (self, job, NULL, NULL, true, &count);
    //  Its parents settled while the broker was down
    if (job->status == ZJOB_WAITING && (count.bad >= 0 || count.pending == 0))
        s_push_child (self, job);
    return self->out_of_memory ? -1 : 0;
}


//  --------------------------------------------------------------------------
//  The FIFO, in steps

//  One step of the parent item at the head; *done_p counts the work
static void
s_step_parent (zjob_deps_t *self, s_item_t *item, size_t max, size_t *done_p)
{
    zjob_job_t *parent = zjob_mgr_lookup (self->manager, item->id, NULL);
    bool open = parent && !zjob_status_terminal ((zjob_status_t) parent->status);
    if (parent && !open)
        item->why = s_why (parent->status);  //  As it is now (re-run and failed again)
    zjob_job_destroy (&parent);
    (*done_p)++;
    if (!item->kids && !open) {
        //  Its list leaves the index: a child added later (re-run, then
        //  waiting again) starts a new list
        item->kids = (s_kids_t *) zhashx_lookup (self->children, item->id);
        if (item->kids)
            zhashx_delete (self->children, item->id);
    }
    if (item->kids && open) {
        //  Re-run before its children were all checked: they wait again
        for (size_t index = item->next_kid; index < item->kids->count; index++) {
            if (s_kids_add (self, item->id, item->kids->jobs [index]))
                zjob_job_destroy (&item->kids->jobs [index]);
            item->kids->jobs [index] = NULL;
        }
        item->kids->count = item->next_kid;
    }
    if (!item->kids || open) {
        s_pop (self);
        return;
    }
    //  At least one child a visit, so that any max makes progress
    bool first = true;
    while (item->next_kid < item->kids->count && (*done_p < max || first)) {
        zjob_job_t *child = item->kids->jobs [item->next_kid++];
        s_settle (self, child, item->id, item->why);
        (*done_p)++;
        first = false;
    }
    if (item->next_kid == item->kids->count)
        s_pop (self);
}

int
zjob_manager_deps_step (zjob_manager_t *manager, size_t max)
{
    assert (manager);
    zjob_deps_t *self = manager->deps;
    size_t done = 0;
    while (self->head && done < max) {
        s_item_t *item = self->head;
        if (item->child) {
            zjob_job_t *child = zjob_job_ref (item->child);
            s_pop (self);
            s_settle (self, child, NULL, NULL);
            zjob_job_destroy (&child);
            done++;
        }
        else
            s_step_parent (self, item, max, &done);
    }
    return self->head ? 1 : 0;
}

bool
zjob_manager_deps_busy (zjob_manager_t *manager)
{
    assert (manager);
    return manager->deps->head != NULL;
}

size_t
zjob_manager_children (zjob_manager_t *manager, const char *id, char (*ids) [ZJOB_ID_LEN + 1],
                       size_t max)
{
    assert (manager);
    zjob_deps_t *self = manager->deps;
    s_kids_t *kids = id ? (s_kids_t *) zhashx_lookup (self->children, id) : NULL;
    if (!kids || max == 0)
        return 0;
    zhashx_t *seen = zjob_hashx_new ();
    size_t count = 0;
    for (size_t index = 0; seen && index < kids->count && count < max; index++) {
        zjob_job_t *child = kids->jobs [index];
        if (zjob_status_terminal ((zjob_status_t) child->status)
            || zhashx_lookup (seen, child->id))
            continue;
        zjob_job_t *stored = zjob_mgr_lookup (manager, child->id, NULL);
        bool current = stored == child;
        zjob_job_destroy (&stored);
        if (current && zhashx_insert (seen, child->id, child) == 0)
            memcpy (ids [count++], child->id, ZJOB_ID_LEN + 1);
    }
    zhashx_destroy (&seen);
    return count;
}

size_t
zjob_manager_deps_entries (zjob_manager_t *manager, size_t *parents_p)
{
    assert (manager);
    zjob_deps_t *self = manager->deps;
    size_t entries = 0;
    for (s_kids_t *kids = (s_kids_t *) zhashx_first (self->children); kids;
         kids = (s_kids_t *) zhashx_next (self->children))
        entries += kids->count;
    if (parents_p)
        *parents_p = zhashx_size (self->children);
    return entries;
}


//  --------------------------------------------------------------------------
//  SUBMIT's graph: positions resolved, created in topological order

//  What s_resolve needs: the SUBMIT, and room for one resolved spec
typedef struct {
    zjob_deps_t *deps;
    const zjob_spec_t *specs;
    const bool *skip;                    //  Specs answered by a job there
    zjob_job_t **jobs;                   //  Those jobs
    zjob_spec_t spec;                    //  The spec handed out
    const char *ids [ZJOB_PARENTS_MAX];  //  Its depends_on
} s_resolve_t;

//  Spec index as the job is made from it: its positions turned into the
//  ids of the jobs made before it (Kahn's order made them first)
static const zjob_spec_t *
s_resolve (size_t index, zjob_job_t *const *made, void *arg, zjob_error_t *err)
{
    s_resolve_t *resolve = (s_resolve_t *) arg;
    const zjob_spec_t *spec = &resolve->specs [index];
    if (spec->depends_on_index_count == 0)
        return spec;
    if (spec->depends_on_count + spec->depends_on_index_count > ZJOB_PARENTS_MAX) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "depends_on: more than %d parents",
                        ZJOB_PARENTS_MAX);
        return NULL;
    }
    size_t count = 0;
    for (size_t k = 0; k < spec->depends_on_count; k++)
        resolve->ids [count++] = spec->depends_on [k];
    for (size_t k = 0; k < spec->depends_on_index_count; k++) {
        size_t position = spec->depends_on_index [k];
        bool there = resolve->skip && resolve->skip [position];
        zjob_job_t *parent = there ? resolve->jobs [position] : made [position];
        assert (parent);  //  Validated and ordered before
        resolve->ids [count++] = parent->id;
        if (!there && !zhashx_lookup (resolve->deps->making, parent->id))
            zhashx_insert (resolve->deps->making, parent->id, parent);
    }
    resolve->spec = *spec;
    resolve->spec.depends_on = resolve->ids;
    resolve->spec.depends_on_count = count;
    resolve->spec.depends_on_index = NULL;
    resolve->spec.depends_on_index_count = 0;
    return &resolve->spec;
}

//  Every position names another spec of the SUBMIT, one that makes a job
//  or is answered by a stored one (jobs). 0 or -1.
static int
s_positions_check (const zjob_spec_t *specs, size_t count, const bool *skip,
                   zjob_job_t *const *jobs, zjob_error_t *err)
{
    for (size_t index = 0; index < count; index++) {
        if (skip && skip [index])
            continue;
        for (size_t k = 0; k < specs [index].depends_on_index_count; k++) {
            uint32_t position = specs [index].depends_on_index [k];
            if (position >= count)
                return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                       "jobs[%zu]: depends_on: position %u is out of range "
                                       "(%zu jobs)",
                                       index, position, count);
            if (position == index)
                return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                       "jobs[%zu]: depends_on: position %u is the job itself",
                                       index, position);
            if (skip && skip [position] && !jobs [position])
                //  Answered by the job an earlier spec of the SUBMIT makes
                return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                       "jobs[%zu]: depends_on: position %u repeats the "
                                       "idempotency key of an earlier spec: name that one",
                                       index, position);
        }
    }
    return 0;
}

//  The specs left over by Kahn's algorithm hold a cycle: find one by
//  walking parents from the first of them (each has a parent left over),
//  and name it parent first. Returns -1.
static int
s_cycle_error (const zjob_spec_t *specs, size_t count, const bool *skip, const bool *placed,
               zjob_error_t *err)
{
    size_t *seen_at = (size_t *) calloc (count, sizeof (size_t));  //  step + 1
    size_t *path = (size_t *) calloc (count + 1, sizeof (size_t));
    if (!seen_at || !path) {
        free (seen_at);
        free (path);
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "jobs: depends_on: cycle");
    }
    size_t node = 0;
    while (placed [node] || (skip && skip [node]))
        node++;
    size_t steps = 0;
    while (!seen_at [node]) {
        seen_at [node] = steps + 1;
        path [steps++] = node;
        const zjob_spec_t *spec = &specs [node];
        for (size_t k = 0; k < spec->depends_on_index_count; k++) {
            size_t position = spec->depends_on_index [k];
            if (!placed [position] && !(skip && skip [position])) {
                node = position;
                break;
            }
        }
    }
    //  path [seen_at [node] - 1 .. steps - 1] is the cycle, children first
    size_t first = seen_at [node] - 1;
    char text [ZJOB_ERROR_TEXT_MAX - 64];
    size_t used = 0;
    for (size_t step = steps; step > first && used < sizeof (text) - 32; step--)
        used += (size_t) snprintf (text + used, sizeof (text) - used, "jobs[%zu] -> ",
                                   path [step - 1]);
    if (used >= sizeof (text) - 32)
        used += (size_t) snprintf (text + used, sizeof (text) - used, "... -> ");
    snprintf (text + used, sizeof (text) - used, "jobs[%zu]", path [steps - 1]);
    zjob_error_set (err, ZJOB_BAD_REQUEST, "jobs[%zu]: depends_on: cycle (%s)", node, text);
    free (seen_at);
    free (path);
    return -1;
}

//  order (count entries) receives the specs to create parents first
//  (Kahn's algorithm, the lowest index first among the ready), then the
//  skipped ones. 0, or -1 with err (a cycle, or out of memory).
static int
s_topo_order (const zjob_spec_t *specs, size_t count, const bool *skip, size_t *order,
              zjob_error_t *err)
{
    //  The edges parent -> child, as lists of children per parent (CSR)
    size_t *degree = (size_t *) calloc (count, sizeof (size_t));
    size_t *start = (size_t *) calloc (count + 1, sizeof (size_t));
    bool *placed = (bool *) calloc (count, sizeof (bool));
    size_t edges = 0;
    for (size_t index = 0; index < count; index++)
        edges += specs [index].depends_on_index_count;
    size_t *child = (size_t *) calloc (edges ? edges : 1, sizeof (size_t));
    int rc = degree && start && placed && child
        ? 0
        : zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    for (size_t index = 0; rc == 0 && index < count; index++) {
        if (skip && skip [index])
            continue;
        for (size_t k = 0; k < specs [index].depends_on_index_count; k++) {
            size_t position = specs [index].depends_on_index [k];
            if (skip && skip [position])
                continue;  //  A job there already
            start [position + 1]++;
            degree [index]++;
        }
    }
    for (size_t index = 0; rc == 0 && index < count; index++)
        start [index + 1] += start [index];
    size_t *fill = rc == 0 ? (size_t *) calloc (count, sizeof (size_t)) : NULL;
    if (rc == 0 && !fill)
        rc = zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    for (size_t index = 0; rc == 0 && index < count; index++) {
        if (skip && skip [index])
            continue;
        for (size_t k = 0; k < specs [index].depends_on_index_count; k++) {
            size_t position = specs [index].depends_on_index [k];
            if (!(skip && skip [position]))
                child [start [position] + fill [position]++] = index;
        }
    }
    //  order doubles as Kahn's queue: [head, tail) are ready, not expanded
    size_t tail = 0;
    for (size_t index = 0; rc == 0 && index < count; index++)
        if (!(skip && skip [index]) && degree [index] == 0)
            order [tail++] = index;
    for (size_t head = 0; rc == 0 && head < tail; head++) {
        size_t node = order [head];
        placed [node] = true;
        for (size_t edge = start [node]; edge < start [node + 1]; edge++)
            if (--degree [child [edge]] == 0)
                order [tail++] = child [edge];
    }
    size_t made = 0;
    for (size_t index = 0; rc == 0 && index < count; index++)
        made += !(skip && skip [index]);
    if (rc == 0 && tail < made)
        rc = s_cycle_error (specs, count, skip, placed, err);
    for (size_t index = 0; rc == 0 && index < count; index++)
        if (skip && skip [index])
            order [tail++] = index;
    free (degree);
    free (start);
    free (placed);
    free (child);
    free (fill);
    return rc;
}

int
zjob_deps_create (zjob_manager_t *manager, const zjob_spec_t *specs, size_t count,
                  const bool *skip, bool auto_start, zjob_job_t **jobs, zjob_error_t *err)
{
    assert (manager && specs && jobs);
    bool positions = false;
    for (size_t index = 0; index < count; index++)
        positions |= specs [index].depends_on_index_count > 0 && !(skip && skip [index]);
    if (!positions && count == 1) {
        jobs [0] = zjob_manager_create (manager, &specs [0], auto_start, err);
        if (!jobs [0] && err && strncmp (err->text, "depends_on[", 11) == 0) {
            //  Named as in a batch, as the parent's 404 always is
            char cause [ZJOB_ERROR_TEXT_MAX];
            snprintf (cause, sizeof (cause), "%s", err->text);
            zjob_error_set (err, err->code, "jobs[0]: %s", cause);
        }
        return jobs [0] ? 0 : -1;
    }
    if (!positions)
        return zjob_manager_create_some (manager, specs, count, skip, auto_start, jobs, err);
    if (s_positions_check (specs, count, skip, jobs, err))
        return -1;
    zjob_deps_t *self = manager->deps;
    size_t *order = (size_t *) calloc (count, sizeof (size_t));
    self->making = zjob_hashx_new ();
    s_resolve_t *resolve = (s_resolve_t *) calloc (1, sizeof (s_resolve_t));
    int rc = order && self->making && resolve
        ? s_topo_order (specs, count, skip, order, err)
        : zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    if (rc == 0) {
        resolve->deps = self;
        resolve->specs = specs;
        resolve->skip = skip;
        resolve->jobs = jobs;
        rc = zjob_mgr_create_ordered (manager, specs, count, skip, order, s_resolve, resolve,
                                      auto_start, jobs, err);
    }
    zhashx_destroy (&self->making);
    free (resolve);
    free (order);
    return rc;
}
