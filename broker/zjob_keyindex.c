/*  =========================================================================
    zjob_keyindex - idempotency key -> job id, in 24 bytes a slot

    Open addressing with linear probing over one array of slots, each a
    32-bit hash of the key (0 marks an empty slot) and the job id, as the
    memory store's table is built: the table doubles when three quarters
    full and halves below an eighth, and removal shifts the rest of a run
    back instead of leaving tombstones. Several entries may share a hash
    (different keys, or, through the manager's own API, two jobs made with
    one key, of which put keeps the latest); the match callback tells them
    apart.
    ========================================================================= */

#include <stdlib.h>
#include <string.h>
#include "zjob_keyindex.h"
#include "zjob_util.h"

#define S_MIN_SLOTS 64  //  Slots in a new table (power of two)

typedef struct {
    uint32_t hash;          //  0: empty
    char id [ZJOB_ID_LEN];  //  Not NUL-terminated
} s_slot_t;

struct _zjob_keyindex_t {
    s_slot_t *slots;
    size_t mask;   //  Slots - 1
    size_t count;  //  Entries
};

static uint32_t
s_hash (const char *key)
{
    return (uint32_t) zjob_hash_string (key) | 1u << 31;
}

//  Move every entry into a table of capacity slots. 0, or -1 if out of
//  memory (the table is then unchanged).
static int
s_resize (zjob_keyindex_t *self, size_t capacity)
{
    s_slot_t *slots = (s_slot_t *) calloc (capacity, sizeof (s_slot_t));
    if (!slots)
        return -1;
    size_t mask = capacity - 1;
    for (size_t old = 0; old <= self->mask; old++) {
        if (!self->slots [old].hash)
            continue;
        size_t index = self->slots [old].hash & mask;
        while (slots [index].hash)
            index = (index + 1) & mask;
        slots [index] = self->slots [old];
    }
    free (self->slots);
    self->slots = slots;
    self->mask = mask;
    return 0;
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

int
zjob_keyindex_put (zjob_keyindex_t *self, const char *key, const char *id,
                   zjob_keyindex_match_fn *match, void *arg)
{
    if (!self || !key || !id || strlen (id) != ZJOB_ID_LEN)
        return -1;
    uint32_t hash = s_hash (key);
    size_t index = hash & self->mask;
    for (; self->slots [index].hash; index = (index + 1) & self->mask) {
        s_slot_t *slot = &self->slots [index];
        if (slot->hash != hash)
            continue;
        char other [ZJOB_ID_LEN + 1];
        s_copy_id (slot, other);
        if (streq (other, id) || (match && match (other, key, arg))) {
            memcpy (slot->id, id, ZJOB_ID_LEN);  //  The latest job with key
            return 0;
        }
    }
    //  A new entry: make room first (it may move every slot)
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
    for (size_t index = hash & self->mask; self->slots [index].hash;
         index = (index + 1) & self->mask)
        if (self->slots [index].hash == hash) {
            s_copy_id (&self->slots [index], id);
            if (match (id, key, arg))
                return true;
        }
    return false;
}

bool
zjob_keyindex_remove (zjob_keyindex_t *self, const char *key, const char *id)
{
    if (!self || !key || !id || strlen (id) != ZJOB_ID_LEN)
        return false;
    uint32_t hash = s_hash (key);
    size_t hole = hash & self->mask;
    for (; self->slots [hole].hash; hole = (hole + 1) & self->mask)
        if (self->slots [hole].hash == hash
            && memcmp (self->slots [hole].id, id, ZJOB_ID_LEN) == 0)
            break;
    if (!self->slots [hole].hash)
        return false;
    self->slots [hole].hash = 0;
    self->count--;

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
    //  Give memory back after mass removal; failing to is harmless
    size_t capacity = self->mask + 1;
    if (capacity > S_MIN_SLOTS && self->count < capacity / 8)
        s_resize (self, capacity / 2);
    return true;
}

size_t
zjob_keyindex_size (zjob_keyindex_t *self)
{
    return self ? self->count : 0;
}

size_t
zjob_keyindex_bytes (zjob_keyindex_t *self)
{
    return self ? (self->mask + 1) * sizeof (s_slot_t) : 0;
}
