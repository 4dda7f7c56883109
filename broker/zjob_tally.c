/*  =========================================================================
    zjob_tally - stored jobs counted per status, in all and per workflow

    totals holds the counts over all jobs; workflows maps a workflow name
    to its own counts and their sum, and an entry goes when its sum comes
    back to 0, so the map never grows with workflows that are gone. A move
    that finds no count to take from (a count that would go negative)
    leaves it at 0: the tally never wraps, whatever its caller does.
    unrun_bytes follows the same rule: a move out of an unrun status takes
    away the job's inputs' size, never more than is counted.
    ========================================================================= */

#include <czmq.h>
#include "zjob_tally.h"
#include "zjob_log.h"
#include "zjob_job_impl.h"
#include "zjob_util.h"

//  Stored jobs of one workflow, per status
typedef struct {
    size_t counts [ZJOB_STATUS_COUNT];  //  Jobs per status
    size_t total;                       //  Sum of counts; the entry goes at 0
} s_entry_t;

struct _zjob_tally_t {
    size_t totals [ZJOB_STATUS_COUNT];  //  Stored jobs per status
    zhashx_t *workflows;                //  workflow_id -> s_entry_t, total > 0
    uint64_t unrun_bytes;               //  Inputs' bytes of the jobs in an unrun
                                        //  status (zjob_tally_unrun_status)
};

static void
s_entry_destroy (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

zjob_tally_t *
zjob_tally_new (void)
{
    zjob_tally_t *self = (zjob_tally_t *) calloc (1, sizeof (zjob_tally_t));
    if (self && (self->workflows = zjob_hashx_new ()) == NULL) {
        free (self);
        return NULL;
    }
    if (self)
        zhashx_set_destructor (self->workflows, s_entry_destroy);
    return self;
}

void
zjob_tally_destroy (zjob_tally_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zhashx_destroy (&(*self_p)->workflows);
        free (*self_p);
        *self_p = NULL;
    }
}

//  The entry of workflow, made (empty) if it has none yet; NULL if out of
//  memory
static s_entry_t *
s_require (zjob_tally_t *self, const char *workflow)
{
    s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->workflows, workflow);
    if (!entry) {
        entry = (s_entry_t *) calloc (1, sizeof (s_entry_t));
        if (!entry)
            return NULL;
        zhashx_insert (self->workflows, workflow, entry);
    }
    return entry;
}

int
zjob_tally_require (zjob_tally_t *self, const char *workflow)
{
    assert (self);
    return s_require (self, workflow) ? 0 : -1;
}

void
zjob_tally_trim (zjob_tally_t *self, const char *workflow)
{
    assert (self);
    s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->workflows, workflow);
    if (entry && entry->total == 0)
        zhashx_delete (self->workflows, workflow);
}

void
zjob_tally_move (zjob_tally_t *self, const zjob_job_t *job, int from, int to)
{
    assert (self);
    bool was = from >= 0 && from < ZJOB_STATUS_COUNT;
    bool is = to >= 0 && to < ZJOB_STATUS_COUNT;
    if (was && self->totals [from] > 0)
        self->totals [from]--;
    if (is)
        self->totals [to]++;
    uint64_t size = job->inputs.size;
    if (was && zjob_tally_unrun_status (from))
        self->unrun_bytes -= size < self->unrun_bytes ? size : self->unrun_bytes;
    if (is && zjob_tally_unrun_status (to))
        self->unrun_bytes += size;
    s_entry_t *entry = is ? s_require (self, job->workflow_id)
                          : (s_entry_t *) zhashx_lookup (self->workflows, job->workflow_id);
    if (!entry) {
        if (is)
            zjob_log_error ("zjob_tally: out of memory counting workflow %s", job->workflow_id);
        return;
    }
    if (was && entry->counts [from] > 0) {
        entry->counts [from]--;
        entry->total--;
    }
    if (is) {
        entry->counts [to]++;
        entry->total++;
    }
    if (entry->total == 0)
        zhashx_delete (self->workflows, job->workflow_id);
}

void
zjob_tally_counts (zjob_tally_t *self, size_t counts [ZJOB_STATUS_COUNT])
{
    assert (self);
    assert (counts);
    memcpy (counts, self->totals, sizeof (self->totals));
}

bool
zjob_tally_unrun_status (int status)
{
    return status == ZJOB_CREATED || status == ZJOB_WAITING || status == ZJOB_QUEUED
        || status == ZJOB_PAUSED;
}

size_t
zjob_tally_unrun (zjob_tally_t *self, uint64_t *bytes_p)
{
    assert (self);
    if (bytes_p)
        *bytes_p = self->unrun_bytes;
    return self->totals [ZJOB_CREATED] + self->totals [ZJOB_WAITING]
        + self->totals [ZJOB_QUEUED] + self->totals [ZJOB_PAUSED];
}

size_t
zjob_tally_workflows (zjob_tally_t *self)
{
    assert (self);
    return zhashx_size (self->workflows);
}

size_t
zjob_tally_count (zjob_tally_t *self, const char *workflow, zjob_status_t status)
{
    assert (self);
    if (!workflow || (int) status < 0 || status >= ZJOB_STATUS_COUNT)
        return 0;
    const s_entry_t *entry = (const s_entry_t *) zhashx_lookup (self->workflows, workflow);
    return entry ? entry->counts [status] : 0;
}

int
zjob_tally_each (zjob_tally_t *self, zjob_tally_fn *fn, void *arg)
{
    assert (self);
    assert (fn);
    int visited = 0;
    s_entry_t *entry = (s_entry_t *) zhashx_first (self->workflows);
    for (; entry; entry = (s_entry_t *) zhashx_next (self->workflows)) {
        fn ((const char *) zhashx_cursor (self->workflows), entry->counts, arg);
        visited++;
    }
    return visited;
}
