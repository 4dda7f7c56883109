/*  =========================================================================
    zjob_deadlines - when held jobs time out: a min-heap of deadlines
    (see zjob_deadlines.h)
    ========================================================================= */

#include <stdlib.h>
#include <string.h>
#include <assert.h>
#include "zjob_deadlines.h"

struct _zjob_deadlines_t {
    zjob_deadline_t *heap;
    size_t size;
    size_t max;
};

zjob_deadlines_t *
zjob_deadlines_new (void)
{
    return (zjob_deadlines_t *) calloc (1, sizeof (zjob_deadlines_t));
}

void
zjob_deadlines_destroy (zjob_deadlines_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free ((*self_p)->heap);
        free (*self_p);
        *self_p = NULL;
    }
}

int
zjob_deadlines_push (zjob_deadlines_t *self, const zjob_deadline_t *entry)
{
    assert (self && entry);
    if (self->size == self->max) {
        size_t max = self->max ? self->max * 2 : 64;
        zjob_deadline_t *heap = (zjob_deadline_t *) realloc (self->heap, max * sizeof (*heap));
        if (!heap)
            return -1;
        self->heap = heap;
        self->max = max;
    }
    size_t index = self->size++;
    while (index > 0) {
        size_t parent = (index - 1) / 2;
        if (self->heap [parent].at <= entry->at)
            break;
        self->heap [index] = self->heap [parent];
        index = parent;
    }
    self->heap [index] = *entry;
    return 0;
}

int64_t
zjob_deadlines_next (zjob_deadlines_t *self)
{
    assert (self);
    return self->size ? self->heap [0].at : 0;
}

bool
zjob_deadlines_pop (zjob_deadlines_t *self, int64_t now_ms, zjob_deadline_t *entry)
{
    assert (self && entry);
    if (self->size == 0 || self->heap [0].at > now_ms)
        return false;
    *entry = self->heap [0];
    zjob_deadline_t last = self->heap [--self->size];
    size_t index = 0;
    while (true) {
        size_t child = index * 2 + 1;
        if (child >= self->size)
            break;
        if (child + 1 < self->size && self->heap [child + 1].at < self->heap [child].at)
            child++;
        if (last.at <= self->heap [child].at)
            break;
        self->heap [index] = self->heap [child];
        index = child;
    }
    if (self->size)
        self->heap [index] = last;
    //  Give memory back when a burst of timeouts is over
    if (self->max > 256 && self->size < self->max / 4) {
        zjob_deadline_t *heap = (zjob_deadline_t *) realloc (self->heap,
                                                             self->max / 2 * sizeof (*heap));
        if (heap) {
            self->heap = heap;
            self->max /= 2;
        }
    }
    return true;
}

size_t
zjob_deadlines_size (zjob_deadlines_t *self)
{
    assert (self);
    return self->size;
}
