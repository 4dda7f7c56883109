/*  =========================================================================
    zjob_expiry - finished jobs in the order they finished, for cleanup

    A deque of (completed_at, id) entries in blocks of S_BLOCK entries,
    front = oldest: append at the back and pop or unpop at the front are
    O(1). It grows a block at a time (reserve, before the store put that
    makes a job terminal), never by copying the line: a line that doubled
    in one array copied 16 MB at a million entries, a 50 ms pause of the
    broker's loop (bench_core --only loop, a bulk CANCEL of 1M jobs). A
    block whose entries are all popped is freed (one is kept, for an
    unpop right after a pop). An entry holds copies, not a reference: a
    job deleted by other means is freed at once, and its stale entry
    costs 32 bytes until its turn comes at the front (at most one
    retention period).
    ========================================================================= */

#include <stdlib.h>
#include <string.h>
#include "zjob_expiry.h"
#include "zjob_job_impl.h"

#define S_BLOCK 4096  //  entries per block (128 KB)

typedef struct {
    int64_t completed_at;       //  The job's, when appended
    char id [ZJOB_ID_LEN + 1];  //  The job's id
} s_entry_t;

struct _zjob_expiry_t {
    s_entry_t **blocks;  //  Ring of block_max block pointers
    size_t block_max;    //  Slots in blocks
    size_t first;        //  Slot of the front block
    size_t count;        //  Blocks in use, from first
    s_entry_t *spare;    //  The last block popped empty, or NULL
    size_t front;        //  Index of the oldest entry in the front block
    size_t size;         //  Entries in use
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
    for (size_t index = 0; index < self->count; index++)
        free (self->blocks [(self->first + index) % self->block_max]);
    free (self->blocks);
    free (self->spare);
    free (self);
    *self_p = NULL;
}

//  The entry at position index from the front (index < the room)
static s_entry_t *
s_entry (zjob_expiry_t *self, size_t index)
{
    size_t at = self->front + index;
    return &self->blocks [(self->first + at / S_BLOCK) % self->block_max][at % S_BLOCK];
}

int
zjob_expiry_reserve (zjob_expiry_t *self, size_t count)
{
    assert (self);
    while (self->count * S_BLOCK - self->front < self->size + count) {
        if (self->count == self->block_max) {
            //  The ring of pointers doubles: a few hundred at a million
            size_t max = self->block_max ? self->block_max * 2 : 16;
            s_entry_t **blocks = (s_entry_t **) malloc (max * sizeof (s_entry_t *));
            if (!blocks)
                return -1;
            for (size_t index = 0; index < self->count; index++)
                blocks [index] = self->blocks [(self->first + index) % self->block_max];
            free (self->blocks);
            self->blocks = blocks;
            self->block_max = max;
            self->first = 0;
        }
        s_entry_t *block = self->spare;
        self->spare = NULL;
        if (!block && !(block = (s_entry_t *) malloc (S_BLOCK * sizeof (s_entry_t))))
            return -1;
        self->blocks [(self->first + self->count++) % self->block_max] = block;
    }
    return 0;
}

void
zjob_expiry_append (zjob_expiry_t *self, zjob_job_t *job)
{
    assert (self);
    assert (self->size < self->count * S_BLOCK - self->front);
    s_entry_t *entry = s_entry (self, self->size++);
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
    //  Once, after recovery: sorted in one array and copied back. Out of
    //  memory, the line stays as it is: jobs are deleted late, never early
    s_entry_t *line = (s_entry_t *) malloc (self->size * sizeof (s_entry_t));
    if (!line)
        return;
    for (size_t index = 0; index < self->size; index++)
        line [index] = *s_entry (self, index);
    qsort (line, self->size, sizeof (s_entry_t), s_entry_compare);
    for (size_t index = 0; index < self->size; index++)
        *s_entry (self, index) = line [index];
    free (line);
}

bool
zjob_expiry_pop (zjob_expiry_t *self, int64_t before_ms, char id [ZJOB_ID_LEN + 1])
{
    assert (self);
    if (!zjob_expiry_due (self, before_ms))
        return false;
    memcpy (id, s_entry (self, 0)->id, ZJOB_ID_LEN + 1);
    self->size--;
    if (++self->front == S_BLOCK) {
        //  The front block is empty: kept as the spare (an unpop may
        //  want it back), the one kept before is freed
        free (self->spare);
        self->spare = self->blocks [self->first];
        self->first = (self->first + 1) % self->block_max;
        self->count--;
        self->front = 0;
    }
    return true;
}

void
zjob_expiry_unpop (zjob_expiry_t *self, const zjob_job_t *job)
{
    assert (self);
    if (self->front == 0) {
        //  Just after a pop that emptied the front block: it comes back
        //  (the pop freed its slot in the ring)
        assert (self->spare && self->count < self->block_max);
        self->first = (self->first + self->block_max - 1) % self->block_max;
        self->blocks [self->first] = self->spare;
        self->spare = NULL;
        self->count++;
        self->front = S_BLOCK;
    }
    self->front--;
    self->size++;
    s_entry_t *entry = s_entry (self, 0);
    entry->completed_at = job->completed_at;
    memcpy (entry->id, job->id, ZJOB_ID_LEN + 1);
}

bool
zjob_expiry_due (zjob_expiry_t *self, int64_t before_ms)
{
    assert (self);
    return self->size && s_entry (self, 0)->completed_at < before_ms;
}

size_t
zjob_expiry_size (zjob_expiry_t *self)
{
    assert (self);
    return self->size;
}
