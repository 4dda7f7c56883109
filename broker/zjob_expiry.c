/*  =========================================================================
    zjob_expiry - finished jobs in the order they finished, for cleanup

    A ring buffer of (completed_at, id) entries, front = oldest: append
    at the back and pop or unpop at the front are O(1), and it grows by
    doubling (reserve, before the store put that makes a job terminal).
    An entry holds copies, not a reference: a job deleted by other means
    is freed at once, and its stale entry costs 32 bytes until its turn
    comes at the front (at most one retention period).
    ========================================================================= */

#include <stdlib.h>
#include <string.h>
#include "zjob_expiry.h"
#include "zjob_job_impl.h"

typedef struct {
    int64_t completed_at;       //  The job's, when appended
    char id [ZJOB_ID_LEN + 1];  //  The job's id
} s_entry_t;

struct _zjob_expiry_t {
    s_entry_t *ring;  //  max entries, size used from front
    size_t max;       //  Entries allocated
    size_t front;     //  Index of the oldest entry
    size_t size;      //  Entries in use
};

zjob_expiry_t *
zjob_expiry_new (void)
{
    return (zjob_expiry_t *) calloc (1, sizeof (zjob_expiry_t));
}

void
zjob_expiry_destroy (zjob_expiry_t **self_p)
{
    assert (self_p);
    zjob_expiry_t *self = *self_p;
    if (!self)
        return;
    free (self->ring);
    free (self);
    *self_p = NULL;
}

int
zjob_expiry_reserve (zjob_expiry_t *self, size_t count)
{
    assert (self);
    if (self->size + count <= self->max)
        return 0;
    size_t max = self->max ? self->max : 1024;
    while (max < self->size + count)
        max *= 2;
    s_entry_t *ring = (s_entry_t *) malloc (max * sizeof (s_entry_t));
    if (!ring)
        return -1;
    //  Unwrap the entries into the front of the new ring
    for (size_t index = 0; index < self->size; index++)
        ring [index] = self->ring [(self->front + index) % self->max];
    free (self->ring);
    self->ring = ring;
    self->max = max;
    self->front = 0;
    return 0;
}

void
zjob_expiry_append (zjob_expiry_t *self, zjob_job_t *job)
{
    assert (self);
    assert (self->size < self->max);
    s_entry_t *entry = &self->ring [(self->front + self->size++) % self->max];
    entry->completed_at = job->completed_at;
    memcpy (entry->id, job->id, sizeof (entry->id));
}

static int
s_entry_compare (const void *a, const void *b)
{
    const s_entry_t *x = (const s_entry_t *) a;
    const s_entry_t *y = (const s_entry_t *) b;
    if (x->completed_at != y->completed_at)
        return x->completed_at < y->completed_at ? -1 : 1;
    return strcmp (x->id, y->id);
}

void
zjob_expiry_sort (zjob_expiry_t *self)
{
    assert (self);
    if (self->size < 2)
        return;
    if (self->front + self->size > self->max) {
        //  Wrapped: unwrap into a ring of the same size first. Out of
        //  memory, the line stays as it is: jobs are deleted late, never
        //  early
        s_entry_t *ring = (s_entry_t *) malloc (self->max * sizeof (s_entry_t));
        if (!ring)
            return;
        for (size_t index = 0; index < self->size; index++)
            ring [index] = self->ring [(self->front + index) % self->max];
        free (self->ring);
        self->ring = ring;
        self->front = 0;
    }
    qsort (self->ring + self->front, self->size, sizeof (s_entry_t), s_entry_compare);
}

bool
zjob_expiry_pop (zjob_expiry_t *self, int64_t before_ms, char id [ZJOB_ID_LEN + 1])
{
    assert (self);
    if (self->size == 0 || self->ring [self->front].completed_at >= before_ms)
        return false;
    memcpy (id, self->ring [self->front].id, ZJOB_ID_LEN + 1);
    self->front = (self->front + 1) % self->max;
    self->size--;
    return true;
}

void
zjob_expiry_unpop (zjob_expiry_t *self, const zjob_job_t *job)
{
    assert (self);
    assert (self->size < self->max);
    self->front = (self->front + self->max - 1) % self->max;
    self->ring [self->front].completed_at = job->completed_at;
    memcpy (self->ring [self->front].id, job->id, ZJOB_ID_LEN + 1);
    self->size++;
}

bool
zjob_expiry_due (zjob_expiry_t *self, int64_t before_ms)
{
    assert (self);
    return self->size && self->ring [self->front].completed_at < before_ms;
}

size_t
zjob_expiry_size (zjob_expiry_t *self)
{
    assert (self);
    return self->size;
}
