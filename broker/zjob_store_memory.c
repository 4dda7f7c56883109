/*  =========================================================================
    zjob_store_memory - the store that keeps every job in RAM

    The store is a hash table from job id to job, holding one reference to
    each job it was given. Nothing is copied: put of a job already stored is
    a lookup that finds the same pointer and does nothing, since the owner
    changed that very object in place.

    The table is our own rather than a zhashx, for memory. The manager's
    target is 300 bytes per queued job beyond its inputs for the job, the
    queue and the store together, and a zhashx item is a 40-byte malloc
    plus a bucket pointer: measured, 61 bytes per job at a million jobs
    even without copies of the keys. Here the table is open addressing
    with linear probing over two arrays: the job pointers, keyed by the id
    inside the job (no key copies), and a 32-bit hash of each id, so that
    a probe reads adjacent hashes and touches a job only on a likely match,
    and growing never rehashes a string. It doubles when three quarters
    full: 12 bytes per slot, 16 to 32 bytes per job (17 measured at a
    million). Removal shifts the following entries of the run back instead
    of leaving tombstones, so lookups stay short after heavy churn, and the
    table halves when it falls below an eighth full. A resize is not done
    in one call (a million jobs rehashed took 35 ms, a pause of the
    broker's loop): the old table is kept and drained into the new one,
    64 slots per insert or delete and 65,536 per sync (trim), while
    lookups check both; the old table's emptied slots are marked rather
    than shifted, so its remaining probe runs stay whole.

    The table also keeps a creation-order index for LIST's resumable walk
    (zjob_store_walk): a vector of the jobs sorted by id, 8 bytes per job.
    Ids are time-sortable and monotonic within a process, so an insert is
    nearly always an append; one out of order is a binary insert. A
    removal leaves a tombstone, the id copied into an arena, so binary
    searches by id (a walk's cursor, the next removal) still read an id
    in every entry; once tombstones outnumber live entries one pass drops
    them all (2-3 ms at a million) and frees the arena whole. During a
    bulk load (the file store's replay, whose snapshot comes in table
    order) the index is suspended and built by one sort at the end.

    The file store shares this table (zjob_store_memory.h) and asks for a
    parallel array of 32-bit sizes: the bytes of each job's latest journal
    record, from which it knows the size of the live data.

    The table also owns the store's named records (templates, schedules,
    batches, queue settings: zjob_store_records.c), so that the file
    store, which shares the table, finds its records there too.

    Freed memory goes back to the allocator, not to the OS: glibc keeps the
    freed chunks of a million jobs (measured: 474 MB resident with no job
    left after a cleanup of a million) because a few live allocations pin
    the heap's top. So each sync asks zjob_store_memory_trim, which calls
    malloc_trim(0) (it gives whole free pages back, wherever they are)
    when the table has fallen below half of its peak since the last trim,
    at most every 5 s, and not for tables that never held 4096 jobs. The
    common case costs two compares. A trim is not free: glibc walks the
    free chunks with the heap locked, 0.76 s here after 999,000 of a
    million jobs were removed (389 MB resident before, 7 MB after;
    bench_core --only trim). But the removals that made it worthwhile took
    3.4 s themselves, and there is one trim per halving of the table, so
    it adds about a fifth to work the broker has just done, in the same
    loop pass when the removals came in bulk (a cleanup). A thread would
    not hide it: the loop's next malloc waits for the heap's lock.
    ========================================================================= */

#include "zjob_store_memory.h"
#include "zjob_store_records.h"
#ifdef __GLIBC__
#include <malloc.h>  //  malloc_trim
#endif

#define ZJOB_TABLE_MIN 64           //  slots in a new table (power of two)
#define ZJOB_TRIM_INTERVAL_MS 5000  //  msecs between two trims at least
#define ZJOB_TRIM_MIN_JOBS 4096     //  a peak below this is not worth a trim
#define S_TOMB_SIZE 24              //  bytes of a tombstone's id (even: tagged)
#define S_MIGRATE_STEP 64           //  old slots moved on per insert or delete
#define S_MIGRATE_SYNC 65536        //  old slots moved on per trim (per sync)
#define S_GONE 1                    //  hash of a migrated or removed old slot

typedef struct _s_arena_t s_arena_t;

struct _zjob_store_memory_t {
    zjob_job_t **slots;  //  capacity entries, NULL = empty
    uint32_t *hashes;    //  Parallel: the id's hash, 0 = empty
    uint32_t *sizes;     //  Parallel: sizes, or NULL
    size_t mask;         //  capacity - 1; capacity is a power of 2
    size_t count;        //  Jobs stored
    size_t peak;         //  Most jobs stored since the last trim
    int64_t trimmed_at;  //  Monotonic ms of the last trim, 0 if none
    uint64_t trims;      //  Trims done
    //  A resize under way: the previous table, drained into the one above
    //  a bounded number of slots per call. Its emptied slots keep the
    //  hash S_GONE (never a real hash: those have bit 31 set), so that
    //  the probe runs of the entries still there stay whole.
    zjob_job_t **old_slots;  //  NULL when no resize goes on
    uint32_t *old_hashes;
    uint32_t *old_sizes;
    size_t old_mask;
    size_t old_next;  //  The next old slot to move
    size_t old_live;  //  Jobs still in the old table
    //  The creation-order index: entries by id, ascending, each a job
    //  (borrowed: the slots hold the reference) or, low bit set, a
    //  tombstone (the id of a removed job, in the arena)
    uintptr_t *order;
    size_t order_count;       //  Entries in order, tombstones included
    size_t order_max;         //  Entries allocated
    size_t order_dead;        //  Tombstones among them
    bool order_off;           //  Not kept (a load): rebuilt by index_build
    s_arena_t *arena;         //  Blocks of tombstone ids, newest first
    size_t arena_used;        //  Ids used in the newest block
    zjob_records_t *records;  //  The store's named records
};

static int s_order_add (zjob_store_memory_t *self, zjob_job_t *job);
static void s_order_drop (zjob_store_memory_t *self, const char *id);
static void s_order_compact (zjob_store_memory_t *self);

//  The id's hash (zjob_hash_string: its finalizer spreads ids that differ
//  only in their last characters over the low bits we index with). Never
//  0, which marks an empty slot.
static inline uint32_t
s_hash (const char *id)
{
    return (uint32_t) zjob_hash_string (id) | 1u << 31;
}

//  Index of the slot holding id, or of the empty slot where it would go.
//  Slots are compared by hash first, so a probe reads only the hash array
//  until a likely match.
static size_t
s_find (zjob_store_memory_t *self, const char *id, uint32_t hash)
{
    size_t index = hash & self->mask;
    while (self->hashes [index]) {
        if (self->hashes [index] == hash && streq (self->slots [index]->id, id))
            break;
        index = (index + 1) & self->mask;
    }
    return index;
}

//  The old slot holding id during a resize, or SIZE_MAX
static size_t
s_find_old (zjob_store_memory_t *self, const char *id, uint32_t hash)
{
    if (!self->old_slots)
        return SIZE_MAX;
    size_t index = hash & self->old_mask;
    while (self->old_hashes [index]) {
        if (self->old_hashes [index] == hash && streq (self->old_slots [index]->id, id))
            return index;
        index = (index + 1) & self->old_mask;
    }
    return SIZE_MAX;
}

//  The slot holding id, in the table or the old one; NULL if absent.
//  *size_p gets its size's address (NULL in a table without sizes).
static zjob_job_t **
s_locate (zjob_store_memory_t *self, const char *id, uint32_t hash, uint32_t **size_p)
{
    size_t index = s_find (self, id, hash);
    if (self->slots [index]) {
        *size_p = self->sizes ? &self->sizes [index] : NULL;
        return &self->slots [index];
    }
    index = s_find_old (self, id, hash);
    if (index == SIZE_MAX)
        return NULL;
    *size_p = self->old_sizes ? &self->old_sizes [index] : NULL;
    return &self->old_slots [index];
}

static void
s_old_free (zjob_store_memory_t *self)
{
    free (self->old_slots);
    free (self->old_hashes);
    free (self->old_sizes);
    self->old_slots = NULL;
    self->old_hashes = NULL;
    self->old_sizes = NULL;
}

//  Move on the resize under way by at most budget old slots: each job met
//  goes to the table, its old slot becomes S_GONE
static void
s_migrate (zjob_store_memory_t *self, size_t budget)
{
    for (; self->old_slots && budget; budget--) {
        size_t old = self->old_next++;
        uint32_t hash = self->old_hashes [old];
        if (!self->old_slots [old])
            continue;
        size_t index = hash & self->mask;
        while (self->hashes [index])
            index = (index + 1) & self->mask;
        self->hashes [index] = hash;
        self->slots [index] = self->old_slots [old];
        if (self->sizes)
            self->sizes [index] = self->old_sizes [old];
        self->old_slots [old] = NULL;
        self->old_hashes [old] = S_GONE;
        if (--self->old_live == 0)
            s_old_free (self);
    }
}

//  Start moving every entry into a table of capacity slots: the current
//  one becomes the old, drained S_MIGRATE_STEP slots per insert or delete
//  and S_MIGRATE_SYNC per trim, so no call rehashes a million jobs (35 ms
//  measured). A resize still under way is finished first. 0, or -1 if out
//  of memory (the table is then unchanged).
static int
s_resize (zjob_store_memory_t *self, size_t capacity)
{
    s_migrate (self, SIZE_MAX);
    //  calloc of a large block maps zeroed pages: no time spent clearing
    zjob_job_t **slots = (zjob_job_t **) calloc (capacity, sizeof *slots);
    uint32_t *hashes = (uint32_t *) calloc (capacity, sizeof *hashes);
    uint32_t *sizes = self->sizes ? (uint32_t *) calloc (capacity, sizeof *sizes) : NULL;
    if (!slots || !hashes || (self->sizes && !sizes)) {
        free (slots);
        free (hashes);
        free (sizes);
        return -1;
    }
    self->old_slots = self->slots;
    self->old_hashes = self->hashes;
    self->old_sizes = self->sizes;
    self->old_mask = self->mask;
    self->old_next = 0;
    self->old_live = self->count;
    self->slots = slots;
    self->hashes = hashes;
    self->sizes = sizes;
    self->mask = capacity - 1;
    if (self->old_live == 0)
        s_old_free (self);
    s_migrate (self, S_MIGRATE_STEP);
    return 0;
}

zjob_store_memory_t *
zjob_store_memory_table_new (bool with_sizes)
{
    zjob_store_memory_t *self = (zjob_store_memory_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->slots = (zjob_job_t **) calloc (ZJOB_TABLE_MIN, sizeof *self->slots);
    self->hashes = (uint32_t *) calloc (ZJOB_TABLE_MIN, sizeof *self->hashes);
    if (with_sizes)
        self->sizes = (uint32_t *) calloc (ZJOB_TABLE_MIN, sizeof *self->sizes);
    self->mask = ZJOB_TABLE_MIN - 1;
    self->records = zjob_records_new ();
    if (!self->slots || !self->hashes || (with_sizes && !self->sizes) || !self->records)
        zjob_store_memory_table_destroy (&self);
    return self;
}

void
zjob_store_memory_table_destroy (zjob_store_memory_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zjob_store_memory_t *self = *self_p;
    if (self->slots)
        for (size_t index = 0; index <= self->mask; index++)
            zjob_job_destroy (&self->slots [index]);
    if (self->old_slots)
        for (size_t index = 0; index <= self->old_mask; index++)
            zjob_job_destroy (&self->old_slots [index]);
    s_old_free (self);
    free (self->slots);
    free (self->hashes);
    free (self->sizes);
    s_order_compact (self);
    free (self->order);
    zjob_records_destroy (&self->records);
    free (self);
    *self_p = NULL;
}

int
zjob_store_memory_insert (zjob_store_memory_t *self, zjob_job_t *job,
                          uint32_t size, uint32_t *old_size_p)
{
    assert (self);
    assert (job);
    s_migrate (self, S_MIGRATE_STEP);
    uint32_t hash = s_hash (job->id);
    uint32_t *size_at = NULL;
    zjob_job_t **slot = s_locate (self, job->id, hash, &size_at);
    if (slot) {
        if (old_size_p)
            *old_size_p = size_at ? *size_at : 0;
        if (*slot != job) {
            zjob_job_t *old = *slot;
            s_order_add (self, job);  //  Replaces old: allocates nothing
            *slot = zjob_job_ref (job);
            zjob_job_destroy (&old);
        }
        if (size_at)
            *size_at = size;
        return 0;
    }
    if (old_size_p)
        *old_size_p = 0;
    //  Grow before the table passes three quarters full
    if ((self->count + 1) * 4 > (self->mask + 1) * 3 && s_resize (self, (self->mask + 1) * 2))
        return -1;
    size_t index = s_find (self, job->id, hash);
    if (s_order_add (self, job))
        return -1;
    self->slots [index] = zjob_job_ref (job);
    self->hashes [index] = hash;
    self->count++;
    if (self->count > self->peak)
        self->peak = self->count;
    if (self->sizes)
        self->sizes [index] = size;
    return 0;
}

zjob_job_t *
zjob_store_memory_lookup (zjob_store_memory_t *self, const char *id)
{
    assert (self);
    if (!id)
        return NULL;
    uint32_t *size_at;
    zjob_job_t **slot = s_locate (self, id, s_hash (id), &size_at);
    return slot ? *slot : NULL;
}

void
zjob_store_memory_prefetch (zjob_store_memory_t *self, const char *id)
{
    assert (self);
    size_t index = s_hash (id) & self->mask;
    __builtin_prefetch (&self->hashes [index]);
    __builtin_prefetch (&self->slots [index], 1);
    if (self->sizes)
        __builtin_prefetch (&self->sizes [index], 1);
}

int
zjob_store_memory_delete (zjob_store_memory_t *self, const char *id,
                          uint32_t *old_size_p)
{
    assert (self);
    if (!id)
        return -1;
    s_migrate (self, S_MIGRATE_STEP);
    uint32_t hash = s_hash (id);
    size_t hole = s_find (self, id, hash);
    if (!self->slots [hole]) {
        //  In the old table: its slot is only marked, as migrated ones are
        size_t old = s_find_old (self, id, hash);
        if (old == SIZE_MAX)
            return -1;
        if (old_size_p)
            *old_size_p = self->old_sizes ? self->old_sizes [old] : 0;
        s_order_drop (self, self->old_slots [old]->id);
        zjob_job_destroy (&self->old_slots [old]);
        self->old_hashes [old] = S_GONE;
        self->count--;
        if (--self->old_live == 0)
            s_old_free (self);
        return 0;
    }
    if (old_size_p)
        *old_size_p = self->sizes ? self->sizes [hole] : 0;
    s_order_drop (self, self->slots [hole]->id);
    zjob_job_destroy (&self->slots [hole]);
    self->hashes [hole] = 0;
    self->count--;

    //  Backward shift: pull later entries of the run into the hole unless
    //  their home slot lies cyclically in (hole, index], where they must stay
    size_t index = hole;
    while (true) {
        index = (index + 1) & self->mask;
        uint32_t moved = self->hashes [index];
        if (!moved)
            break;
        size_t home = moved & self->mask;
        if (zjob_probe_stays (hole, index, home))
            continue;
        self->slots [hole] = self->slots [index];
        self->hashes [hole] = moved;
        if (self->sizes)
            self->sizes [hole] = self->sizes [index];
        self->slots [index] = NULL;
        self->hashes [index] = 0;
        hole = index;
    }
    //  Give memory back after mass removal; failing to is harmless
    size_t capacity = self->mask + 1;
    if (capacity > ZJOB_TABLE_MIN && self->count < capacity / 8 && !self->old_slots)
        s_resize (self, capacity / 2);
    return 0;
}

bool
zjob_store_memory_trim (zjob_store_memory_t *self)
{
    assert (self);
    s_migrate (self, S_MIGRATE_SYNC);
    //  Two compares on the common path: only a table that fell below half
    //  of a sizeable peak reads the clock
    if (self->peak < ZJOB_TRIM_MIN_JOBS || self->count >= self->peak / 2)
        return false;
    int64_t now = zclock_mono ();
    if (self->trimmed_at && now - self->trimmed_at < ZJOB_TRIM_INTERVAL_MS)
        return false;
#ifdef __GLIBC__
    malloc_trim (0);
#endif
    self->trimmed_at = now;
    self->peak = self->count;
    self->trims++;
    return true;
}

uint64_t
zjob_store_memory_trims (zjob_store_memory_t *self)
{
    assert (self);
    return self->trims;
}

size_t
zjob_store_memory_size (zjob_store_memory_t *self)
{
    assert (self);
    return self->count;
}

int
zjob_store_memory_walk (zjob_store_memory_t *self,
                        zjob_store_memory_walk_fn *walk, void *arg)
{
    assert (self);
    assert (walk);
    for (size_t index = 0; index <= self->mask; index++) {
        zjob_job_t *job = self->slots [index];
        if (!job)
            continue;
        int rc = walk (job, self->sizes ? &self->sizes [index] : NULL, arg);
        if (rc)
            return rc;
    }
    for (size_t index = 0; self->old_slots && index <= self->old_mask; index++) {
        zjob_job_t *job = self->old_slots [index];
        if (!job)
            continue;
        int rc = walk (job, self->old_sizes ? &self->old_sizes [index] : NULL, arg);
        if (rc)
            return rc;
    }
    return 0;
}


//  ---------------------------------------------------------------------
//  The creation-order index

//  Ids in one arena block of tombstones
#define S_ARENA_IDS 4096

//  A block of tombstone ids, freed all at once by a compaction
struct _s_arena_t {
    s_arena_t *next;                      //  The block filled before
    char ids [S_ARENA_IDS][S_TOMB_SIZE];  //  Each a NUL-terminated id
};

//  The id of an index entry: a live job's, or a tombstone's copy
static inline const char *
s_entry_id (uintptr_t entry)
{
    return entry & 1 ? (const char *) (entry & ~(uintptr_t) 1)
                     : ((const zjob_job_t *) entry)->id;
}

//  Index of the first entry whose id is not below id (order_count if none)
static size_t
s_order_lower (const zjob_store_memory_t *self, const char *id)
{
    size_t lo = 0, hi = self->order_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp (s_entry_id (self->order [mid]), id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

//  Room for one more entry. 0, or -1 if out of memory.
static int
s_order_reserve (zjob_store_memory_t *self)
{
    if (self->order_count < self->order_max)
        return 0;
    size_t max = self->order_max ? self->order_max + self->order_max / 2 : ZJOB_TABLE_MIN;
    uintptr_t *order = (uintptr_t *) realloc (self->order, max * sizeof *order);
    if (!order)
        return -1;
    self->order = order;
    self->order_max = max;
    return 0;
}

//  Drop every tombstone: one pass that keeps the live entries in order
static void
s_order_compact (zjob_store_memory_t *self)
{
    size_t kept = 0;
    for (size_t index = 0; index < self->order_count; index++)
        if (!(self->order [index] & 1))
            self->order [kept++] = self->order [index];
    self->order_count = kept;
    self->order_dead = 0;
    while (self->arena) {
        s_arena_t *next = self->arena->next;
        free (self->arena);
        self->arena = next;
    }
    self->arena_used = 0;
    //  Give back most of a vector that mass removal emptied
    if (self->order_max > ZJOB_TABLE_MIN && self->order_max / 4 > kept) {
        size_t max = kept * 2 > ZJOB_TABLE_MIN ? kept * 2 : ZJOB_TABLE_MIN;
        uintptr_t *order = (uintptr_t *) realloc (self->order, max * sizeof *order);
        if (order) {
            self->order = order;
            self->order_max = max;
        }
    }
}

//  Put job in the index in its place by id: an append for an id above
//  every other (nearly always), else a binary search, and then a revived
//  tombstone, a replaced job of that id, or an insert. 0, or -1 if out of
//  memory (the index is then unchanged).
static int
s_order_add (zjob_store_memory_t *self, zjob_job_t *job)
{
    if (self->order_off)
        return 0;
    size_t count = self->order_count;
    if (count == 0 || strcmp (s_entry_id (self->order [count - 1]), job->id) < 0) {
        if (s_order_reserve (self))
            return -1;
        self->order [self->order_count++] = (uintptr_t) job;
        return 0;
    }
    size_t index = s_order_lower (self, job->id);
    if (index < count && streq (s_entry_id (self->order [index]), job->id)) {
        if (self->order [index] & 1)
            self->order_dead--;
        self->order [index] = (uintptr_t) job;
        return 0;
    }
    //  Out of order: a clock stepped back, or ids from elsewhere
    if (s_order_reserve (self))
        return -1;
    memmove (self->order + index + 1, self->order + index,
             (count - index) * sizeof *self->order);
    self->order [index] = (uintptr_t) job;
    self->order_count++;
    return 0;
}

//  Take the job with id out of the index: its entry becomes a tombstone,
//  a copy of the id, so that binary searches still read an id there. The
//  last entry is dropped instead; tombstones are compacted away once they
//  outnumber the live entries.
static void
s_order_drop (zjob_store_memory_t *self, const char *id)
{
    if (self->order_off)
        return;
    size_t index = s_order_lower (self, id);
    assert (index < self->order_count && !(self->order [index] & 1));
    if (index == self->order_count - 1) {
        self->order_count--;
        return;
    }
    if (!self->arena || self->arena_used == S_ARENA_IDS) {
        s_arena_t *arena = (s_arena_t *) malloc (sizeof *arena);
        if (!arena) {
            //  No memory for a tombstone: close the gap now instead
            memmove (self->order + index, self->order + index + 1,
                     (self->order_count - index - 1) * sizeof *self->order);
            self->order_count--;
            return;
        }
        arena->next = self->arena;
        self->arena = arena;
        self->arena_used = 0;
    }
    char *copy = self->arena->ids [self->arena_used++];
    snprintf (copy, S_TOMB_SIZE, "%s", id);
    self->order [index] = (uintptr_t) copy | 1;
    self->order_dead++;
    if (self->order_dead > self->order_count - self->order_dead)
        s_order_compact (self);
}

//  strcmp of two jobs' ids, for qsort
static int
s_order_compare (const void *a, const void *b)
{
    return strcmp ((*(zjob_job_t *const *) a)->id, (*(zjob_job_t *const *) b)->id);
}

void
zjob_store_memory_index_suspend (zjob_store_memory_t *self)
{
    assert (self);
    self->order_off = true;
    self->order_count = 0;
    s_order_compact (self);
}

int
zjob_store_memory_index_build (zjob_store_memory_t *self)
{
    assert (self);
    if (!self->order_off)
        return 0;
    uintptr_t *order = (uintptr_t *) malloc ((self->count ? self->count : 1) * sizeof *order);
    if (!order)
        return -1;
    size_t count = 0;
    for (size_t index = 0; index <= self->mask; index++)
        if (self->slots [index])
            order [count++] = (uintptr_t) self->slots [index];
    for (size_t index = 0; self->old_slots && index <= self->old_mask; index++)
        if (self->old_slots [index])
            order [count++] = (uintptr_t) self->old_slots [index];
    assert (count == self->count);
    qsort (order, count, sizeof *order, s_order_compare);
    free (self->order);
    self->order = order;
    self->order_count = count;
    self->order_max = self->count ? self->count : 1;
    self->order_dead = 0;
    self->order_off = false;
    return 0;
}

int
zjob_store_memory_walk_ids (zjob_store_memory_t *self, const zjob_filter_t *filter,
                            bool descending, char *cursor, size_t max,
                            zjob_store_visit_fn *visit, void *arg)
{
    assert (self && cursor && visit);
    assert (!self->order_off);
    size_t count = self->order_count;
    //  Where to go on: past cursor, found again by its id, wherever the
    //  index has moved it since
    size_t next;
    if (!descending)
        next = cursor [0] ? s_order_lower (self, cursor) : 0;
    else
        next = cursor [0] ? s_order_lower (self, cursor) : count;
    if (!descending && next < count && streq (s_entry_id (self->order [next]), cursor))
        next++;
    size_t examined = 0;
    while (examined < max) {
        if (descending ? next == 0 : next >= count)
            return 1;
        size_t index = descending ? --next : next++;
        uintptr_t entry = self->order [index];
        examined++;
        if (entry & 1)
            continue;
        zjob_job_t *job = (zjob_job_t *) entry;
        if (filter && !zjob_filter_match (filter, job))
            continue;
        if (visit (job, arg)) {
            snprintf (cursor, ZJOB_ID_LEN + 1, "%s", job->id);
            return 0;
        }
    }
    if (descending ? next == 0 : next >= count)
        return 1;
    //  The cursor is the last entry examined, live or tombstone
    snprintf (cursor, ZJOB_ID_LEN + 1, "%s", s_entry_id (self->order [descending ? next : next - 1]));
    return 0;
}


//  ---------------------------------------------------------------------
//  The store operations

static int
s_put (void *self, zjob_job_t *job, zjob_error_t *err)
{
    if (!job || !job->id [0])
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "store put: job without an id");
    if (zjob_store_memory_insert ((zjob_store_memory_t *) self, job, 0, NULL))
        return zjob_error_set (err, ZJOB_INTERNAL, "store put: out of memory");
    return 0;
}

static zjob_job_t *
s_get (void *self, const char *id)
{
    zjob_job_t *job = zjob_store_memory_lookup ((zjob_store_memory_t *) self, id);
    return job ? zjob_job_ref (job) : NULL;
}

static int
s_remove (void *self, const char *id, zjob_error_t *err)
{
    if (zjob_store_memory_delete ((zjob_store_memory_t *) self, id, NULL))
        return zjob_error_set (err, ZJOB_NOT_FOUND, "job %s not found", id ? id : "(null)");
    return 0;
}

typedef struct {
    const zjob_filter_t *filter;  //  NULL = every job
    zjob_store_visit_fn *visit;   //  The caller's visitor
    void *arg;                    //  Its argument
    int visited;                  //  Jobs passed to visit
} s_iteration_t;

static int
s_iterate_one (zjob_job_t *job, uint32_t *size, void *arg)
{
    s_iteration_t *iteration = (s_iteration_t *) arg;
    if (iteration->filter && !zjob_filter_match (iteration->filter, job))
        return 0;
    iteration->visited++;
    return iteration->visit (job, iteration->arg);
}

static int
s_iterate (void *self, const zjob_filter_t *filter, zjob_store_visit_fn *visit, void *arg)
{
    s_iteration_t iteration = { filter, visit, arg, 0 };
    zjob_store_memory_walk ((zjob_store_memory_t *) self, s_iterate_one, &iteration);
    return iteration.visited;
}

static int
s_walk (void *self, const zjob_filter_t *filter, bool descending, char *cursor, size_t max,
        zjob_store_visit_fn *visit, void *arg)
{
    return zjob_store_memory_walk_ids ((zjob_store_memory_t *) self, filter, descending, cursor,
                                       max, visit, arg);
}

static size_t
s_count (void *self)
{
    return zjob_store_memory_size ((zjob_store_memory_t *) self);
}

static int
s_sync (void *self, zjob_error_t *err)
{
    zjob_store_memory_trim ((zjob_store_memory_t *) self);
    return 0;  //  Nothing is promised beyond RAM
}

zjob_records_t *
zjob_store_memory_records (zjob_store_memory_t *self)
{
    assert (self);
    return self->records;
}

static int
s_record_put (void *self, const char *kind, const char *name, const uint8_t *data, size_t size,
              zjob_error_t *err)
{
    zjob_records_t *records = ((zjob_store_memory_t *) self)->records;
    if (zjob_records_put (records, kind, name, data, size, 0, NULL))
        return zjob_error_set (err, ZJOB_INTERNAL, "store: out of memory for %s record %s",
                               kind, name);
    return 0;
}

static int
s_record_remove (void *self, const char *kind, const char *name, zjob_error_t *err)
{
    if (zjob_records_remove (((zjob_store_memory_t *) self)->records, kind, name, NULL))
        return zjob_error_set (err, ZJOB_NOT_FOUND, "%s record %s not found", kind, name);
    return 0;
}

static const uint8_t *
s_record_get (void *self, const char *kind, const char *name, size_t *size_p)
{
    return zjob_records_get (((zjob_store_memory_t *) self)->records, kind, name, size_p);
}

static int
s_record_each (void *self, const char *kind, zjob_store_record_fn *visit, void *arg)
{
    return zjob_records_each (((zjob_store_memory_t *) self)->records, kind, visit, arg);
}

static size_t
s_record_count (void *self, const char *kind)
{
    return zjob_records_count (((zjob_store_memory_t *) self)->records, kind);
}

static void
s_close (void *self)
{
    zjob_store_memory_t *table = (zjob_store_memory_t *) self;
    zjob_store_memory_table_destroy (&table);
}

const zjob_store_ops_t zjob_store_memory_ops = {
    .name = "memory",
    .put = s_put,
    .get = s_get,
    .remove = s_remove,
    .iterate = s_iterate,
    .walk = s_walk,
    .count = s_count,
    .sync = s_sync,
    .stats = NULL,
    .close = s_close,
    .record_put = s_record_put,
    .record_remove = s_record_remove,
    .record_get = s_record_get,
    .record_each = s_record_each,
    .record_count = s_record_count
};

zjob_store_t *
zjob_store_memory_new (void)
{
    zjob_store_memory_t *table = zjob_store_memory_table_new (false);
    if (!table)
        return NULL;
    return zjob_store_new (&zjob_store_memory_ops, table);
}
