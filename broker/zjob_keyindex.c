/*  =========================================================================
    zjob_keyindex - idempotency key -> job id, in 24 bytes a slot

    Open addressing with linear probing over one array of slots, each a
    32-bit hash of the key (0 marks an empty slot) and the job id, as the
    memory store's table is built: the table doubles when three quarters
    full and halves below an eighth, and removal shifts the rest of a run
    back instead of leaving tombstones. A resize is not done in one call
    (at 1.5 million entries, a 96 MB table filled in one SUBMIT took
    340 ms, a pause of the broker's loop): the old table is kept and
    drained into the new one, 64 slots per put or remove and as many as
    the manager asks per sync (zjob_keyindex_step), while lookups check
    both. The old table takes no new entries; its emptied slots (moved or
    removed) are marked rather than shifted, so its remaining probe runs
    stay whole. Several entries may share a hash
    (different keys, or, through the manager's own API, two jobs made with
    one key, of which put keeps the latest); the match callback tells them
    apart.
    ========================================================================= */

#include <stdlib.h>
#include <string.h>
#include "zjob_keyindex.h"
#include "zjob_util.h"

#define S_MIN_SLOTS 64     //  Slots in a new table (power of two)
#define S_MIGRATE_STEP 64  //  Old slots moved on per put or remove
#define S_GONE 1           //  Hash of a migrated or removed old slot

typedef struct {
    uint32_t hash;          //  0: empty
    char id [ZJOB_ID_LEN];  //  Not NUL-terminated
} s_slot_t;

struct _zjob_keyindex_t {
    s_slot_t *slots;
    size_t mask;   //  Slots - 1
    size_t count;  //  Entries, in both tables
    //  A resize under way: the previous table, drained into the one above
    //  a bounded number of slots per call. Its emptied slots keep the hash
    //  S_GONE (never a real hash: those have bit 31 set), so that the
    //  probe runs of the entries still there stay whole.
    s_slot_t *old_slots;  //  NULL when no resize goes on
    size_t old_mask;
    size_t old_next;  //  The next old slot to move
    size_t old_live;  //  Entries still in the old table
};

static uint32_t
s_hash (const char *key)
{
    return (uint32_t) zjob_hash_string (key) | 1u << 31;
}

static void
s_old_free (zjob_keyindex_t *self)
{
    free (self->old_slots);
    self->old_slots = NULL;
}

//  Move on the resize under way by at most budget old slots: each entry
//  met goes to the table, its old slot becomes S_GONE
static void
s_migrate (zjob_keyindex_t *self, size_t budget)
{
    for (; self->old_slots && budget; budget--) {
        if (self->old_next > self->old_mask) {
            s_old_free (self);  //  Not reached: old_live counts what is left
            break;
        }
        s_slot_t *old = &self->old_slots [self->old_next++];
        if (old->hash <= S_GONE)
            continue;
        size_t index = old->hash & self->mask;
        while (self->slots [index].hash)
            index = (index + 1) & self->mask;
        self->slots [index] = *old;
        old->hash = S_GONE;
        if (--self->old_live == 0)
            s_old_free (self);
    }
}

//  Start moving every entry into a table of capacity slots: the current
//  one becomes the old, drained S_MIGRATE_STEP slots per put or remove and
//  more per zjob_keyindex_step, so no call rehashes a million entries
//  (340 ms measured at 1.5 million, bench_keyindex). A resize still under
//  way is finished first (the thresholds leave room for many calls in
//  between, so it has always been drained). 0, or -1 if out of memory
//  (the table is then unchanged).
static int
s_resize (zjob_keyindex_t *self, size_t capacity)
{
    s_migrate (self, SIZE_MAX);
    //  calloc of a large block maps zeroed pages: no time spent clearing
    s_slot_t *slots = (s_slot_t *) calloc (capacity, sizeof (s_slot_t));
    if (!slots)
        return -1;
    self->old_slots = self->slots;
    self->old_mask = self->mask;
    self->old_next = 0;
    self->old_live = self->count;
    self->slots = slots;
    self->mask = capacity - 1;
    if (self->old_live == 0)
        s_old_free (self);
    s_migrate (self, S_MIGRATE_STEP);
    return 0;
}

//  The old slot of the entry with hash and id during a resize, or NULL
static s_slot_t *
s_find_old (zjob_keyindex_t *self, uint32_t hash, const char *id)
{
    if (!self->old_slots)
        return NULL;
    for (size_t index = hash & self->old_mask; self->old_slots [index].hash;
         index = (index + 1) & self->old_mask)
        if (self->old_slots [index].hash == hash
            && memcmp (self->old_slots [index].id, id, ZJOB_ID_LEN) == 0)
            return &self->old_slots [index];
    return NULL;
}

zjob_keyindex_t *
zjob_keyindex_new (void)
{
    zjob_keyindex_t *self = (zjob_keyindex_t *) calloc (1, sizeof (zjob_keyindex_t));
    if (self) {
        self->slots = (s_slot_t *) calloc (S_MIN_SLOTS, sizeof (s_slot_t));
        self->mask = S_MIN_SLOTS - 1;
        if (!self->slots)
            zjob_keyindex_destroy (&self);
    }
    return self;
}

void
zjob_keyindex_destroy (zjob_keyindex_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->slots);
        free ((*self_p)->old_slots);
        free (*self_p);
        *self_p = NULL;
    }
}

//  The slot's id as a string, into id (ZJOB_ID_LEN + 1 bytes)
static void
s_copy_id (const s_slot_t *slot, char *id)
{
    memcpy (id, slot->id, ZJOB_ID_LEN);
    id [ZJOB_ID_LEN] = 0;
}

//  The slot in the run of hash that names id (if id) or that match
//  confirms for key, or NULL; then *empty_p (if given) gets the empty slot
//  that ends the run. Works on either table: S_GONE matches no hash.
static s_slot_t *
s_probe (s_slot_t *slots, size_t mask, uint32_t hash, const char *key, const char *id,
         zjob_keyindex_match_fn *match, void *arg, size_t *empty_p)
{
    size_t index = hash & mask;
    for (; slots [index].hash; index = (index + 1) & mask) {
        if (slots [index].hash != hash)
            continue;
        char other [ZJOB_ID_LEN + 1];
        s_copy_id (&slots [index], other);
        if ((id && streq (other, id)) || (match && match (other, key, arg)))
            return &slots [index];
    }
    if (empty_p)
        *empty_p = index;
    return NULL;
}

int
zjob_keyindex_put (zjob_keyindex_t *self, const char *key, const char *id,
                   zjob_keyindex_match_fn *match, void *arg)
{
    if (!self || !key || !id || strlen (id) != ZJOB_ID_LEN)
        return -1;
    s_migrate (self, S_MIGRATE_STEP);
    uint32_t hash = s_hash (key);
    size_t index;
    s_slot_t *slot = s_probe (self->slots, self->mask, hash, key, id, match, arg, &index);
    if (!slot && self->old_slots)
        slot = s_probe (self->old_slots, self->old_mask, hash, key, id, match, arg, NULL);
    if (slot) {
        memcpy (slot->id, id, ZJOB_ID_LEN);  //  The latest job with key
        return 0;
    }
    //  A new entry: make room first (a new table, into which the entry goes)
    if ((self->count + 1) * 4 > (self->mask + 1) * 3) {
        if (s_resize (self, (self->mask + 1) * 2))
            return -1;
        index = hash & self->mask;
        while (self->slots [index].hash)
            index = (index + 1) & self->mask;
    }
    self->slots [index].hash = hash;
    memcpy (self->slots [index].id, id, ZJOB_ID_LEN);
    self->count++;
    return 0;
}

bool
zjob_keyindex_find (zjob_keyindex_t *self, const char *key,
                    zjob_keyindex_match_fn *match, void *arg, char *id)
{
    if (!self || !key || !match)
        return false;
    uint32_t hash = s_hash (key);
    s_slot_t *slot = s_probe (self->slots, self->mask, hash, key, NULL, match, arg, NULL);
    if (!slot && self->old_slots)
        slot = s_probe (self->old_slots, self->old_mask, hash, key, NULL, match, arg, NULL);
    if (slot)
        s_copy_id (slot, id);
    return slot != NULL;
}

//  Empty the table's slot hole, shifting the rest of its run back
static void
s_remove_at (zjob_keyindex_t *self, size_t hole)
{
    self->slots [hole].hash = 0;
    //  Backward shift: pull later entries of the run into the hole unless
    //  their home slot lies cyclically in (hole, index], where they must stay
    size_t index = hole;
    while (true) {
        index = (index + 1) & self->mask;
        uint32_t other = self->slots [index].hash;
        if (!other)
            break;
        size_t home = other & self->mask;
        if (zjob_probe_stays (hole, index, home))
            continue;
        self->slots [hole] = self->slots [index];
        self->slots [index].hash = 0;
        hole = index;
    }
}

bool
zjob_keyindex_remove (zjob_keyindex_t *self, const char *key, const char *id)
{
    if (!self || !key || !id || strlen (id) != ZJOB_ID_LEN)
        return false;
    s_migrate (self, S_MIGRATE_STEP);
    uint32_t hash = s_hash (key);
    size_t hole = hash & self->mask;
    for (; self->slots [hole].hash; hole = (hole + 1) & self->mask)
        if (self->slots [hole].hash == hash
            && memcmp (self->slots [hole].id, id, ZJOB_ID_LEN) == 0)
            break;
    if (self->slots [hole].hash)
        s_remove_at (self, hole);
    else {
        //  In the old table: its slot is only marked, as migrated ones are
        s_slot_t *old = s_find_old (self, hash, id);
        if (!old)
            return false;
        old->hash = S_GONE;
        if (--self->old_live == 0)
            s_old_free (self);
    }
    self->count--;
    //  Give memory back after mass removal; failing to is harmless
    size_t capacity = self->mask + 1;
    if (capacity > S_MIN_SLOTS && self->count < capacity / 8)
        s_resize (self, capacity / 2);
    return true;
}

bool
zjob_keyindex_step (zjob_keyindex_t *self, size_t max)
{
    if (!self)
        return false;
    s_migrate (self, max);
    return self->old_slots != NULL;
}

size_t
zjob_keyindex_size (zjob_keyindex_t *self)
{
    return self ? self->count : 0;
}

size_t
zjob_keyindex_bytes (zjob_keyindex_t *self)
{
    if (!self)
        return 0;
    size_t slots = self->mask + 1 + (self->old_slots ? self->old_mask + 1 : 0);
    return slots * sizeof (s_slot_t);
}
