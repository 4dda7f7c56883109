/*  =========================================================================
    zjob_store_records - the named records of the memory and file stores

    Records are few beside jobs (at most 10,000 templates, 1,000
    schedules, a batch record per batch, a queue record per workflow),
    read by name often and listed in name order now and then. So each kind
    is a zhashx from name to record (O(1) get, put and remove) plus a
    vector of its records sorted by name, built when a walk in name order
    needs it and dropped when a name comes or goes (a put that replaces a
    record keeps it). A listing after a change costs one sort, 10,000
    names in about a millisecond; listings between changes cost a walk.
    Kinds are found in a small zhashx of their own.

    A record is one allocation: the struct, then its name; its data is a
    second, replaced whole by a put, which is why get's pointer is valid
    only until the next put or remove of that record.
    ========================================================================= */

#include "zjob_store_records.h"
#include "zjob_log.h"

//  One record: its data and, for the file store, its journal size
typedef struct {
    uint8_t *data;          //  size bytes, malloc'd
    size_t size;            //  Bytes of data
    uint32_t journal_size;  //  Bytes of its latest journal record
    char name [];           //  NUL-terminated
} s_record_t;

//  The records of one kind
typedef struct {
    zhashx_t *by_name;    //  name -> s_record_t, owned
    s_record_t **sorted;  //  Every record by name, or NULL: build it first
    size_t sorted_count;  //  Entries of sorted
} s_kind_t;

struct _zjob_records_t {
    zhashx_t *kinds;  //  kind -> s_kind_t, owned
    size_t total;     //  Records of every kind
};

static void
s_record_destroy (s_record_t **record_p)
{
    if (*record_p) {
        free ((*record_p)->data);
        free (*record_p);
        *record_p = NULL;
    }
}

static void
s_kind_destroy (s_kind_t **kind_p)
{
    if (*kind_p) {
        zhashx_destroy (&(*kind_p)->by_name);
        free ((*kind_p)->sorted);
        free (*kind_p);
        *kind_p = NULL;
    }
}

zjob_records_t *
zjob_records_new (void)
{
    zjob_records_t *self = (zjob_records_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->kinds = zjob_hashx_new ();
    if (!self->kinds) {
        free (self);
        return NULL;
    }
    zhashx_set_destructor (self->kinds, (zhashx_destructor_fn *) s_kind_destroy);
    return self;
}

void
zjob_records_destroy (zjob_records_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy (&(*self_p)->kinds);
    free (*self_p);
    *self_p = NULL;
}

//  The records of kind; created when create is true. NULL if absent (or
//  out of memory).
static s_kind_t *
s_kind (zjob_records_t *self, const char *kind, bool create)
{
    s_kind_t *records = (s_kind_t *) zhashx_lookup (self->kinds, kind);
    if (records || !create)
        return records;
    records = (s_kind_t *) calloc (1, sizeof *records);
    if (!records)
        return NULL;
    records->by_name = zjob_hashx_new ();
    if (!records->by_name || zhashx_insert (self->kinds, kind, records)) {
        s_kind_destroy (&records);
        return NULL;
    }
    zhashx_set_destructor (records->by_name, (zhashx_destructor_fn *) s_record_destroy);
    return records;
}

//  A name came or went: the sorted vector is out of date
static void
s_unsort (s_kind_t *records)
{
    free (records->sorted);
    records->sorted = NULL;
    records->sorted_count = 0;
}

int
zjob_records_put (zjob_records_t *self, const char *kind, const char *name,
                  const uint8_t *data, size_t size, uint32_t journal_size,
                  uint32_t *old_size_p)
{
    assert (self && kind && name && (data || size == 0));
    s_kind_t *records = s_kind (self, kind, true);
    uint8_t *copy = (uint8_t *) malloc (size ? size : 1);
    if (!records || !copy) {
        free (copy);
        return -1;
    }
    if (size)
        memcpy (copy, data, size);
    s_record_t *record = (s_record_t *) zhashx_lookup (records->by_name, name);
    if (record) {
        if (old_size_p)
            *old_size_p = record->journal_size;
        free (record->data);
    }
    else {
        size_t length = strlen (name);
        record = (s_record_t *) calloc (1, sizeof *record + length + 1);
        if (!record || zhashx_insert (records->by_name, name, record)) {
            free (record);
            free (copy);
            return -1;
        }
        memcpy (record->name, name, length + 1);
        s_unsort (records);
        self->total++;
        if (old_size_p)
            *old_size_p = 0;
    }
    record->data = copy;
    record->size = size;
    record->journal_size = journal_size;
    return 0;
}

int
zjob_records_remove (zjob_records_t *self, const char *kind, const char *name,
                     uint32_t *old_size_p)
{
    assert (self && kind && name);
    s_kind_t *records = s_kind (self, kind, false);
    s_record_t *record = records ? (s_record_t *) zhashx_lookup (records->by_name, name) : NULL;
    if (!record)
        return -1;
    if (old_size_p)
        *old_size_p = record->journal_size;
    zhashx_delete (records->by_name, name);
    s_unsort (records);
    self->total--;
    return 0;
}

const uint8_t *
zjob_records_get (zjob_records_t *self, const char *kind, const char *name, size_t *size_p)
{
    assert (self && kind && name);
    s_kind_t *records = s_kind (self, kind, false);
    s_record_t *record = records ? (s_record_t *) zhashx_lookup (records->by_name, name) : NULL;
    if (!record)
        return NULL;
    if (size_p)
        *size_p = record->size;
    return record->data;
}

static int
s_by_name (const void *a, const void *b)
{
    return strcmp ((*(s_record_t *const *) a)->name, (*(s_record_t *const *) b)->name);
}

//  Build the sorted vector of kind if it is out of date. 0, or -1 if out
//  of memory.
static int
s_sort (s_kind_t *records)
{
    size_t count = zhashx_size (records->by_name);
    if (records->sorted || count == 0)
        return 0;
    records->sorted = (s_record_t **) malloc (count * sizeof *records->sorted);
    if (!records->sorted)
        return -1;
    size_t index = 0;
    for (s_record_t *record = (s_record_t *) zhashx_first (records->by_name); record;
         record = (s_record_t *) zhashx_next (records->by_name))
        records->sorted [index++] = record;
    qsort (records->sorted, count, sizeof *records->sorted, s_by_name);
    records->sorted_count = count;
    return 0;
}

int
zjob_records_each (zjob_records_t *self, const char *kind, zjob_store_record_fn *visit,
                   void *arg)
{
    assert (self && kind && visit);
    s_kind_t *records = s_kind (self, kind, false);
    if (!records || zhashx_size (records->by_name) == 0)
        return 0;
    if (s_sort (records)) {
        zjob_log_error ("zjob_store: out of memory sorting %zu %s records",
                        zhashx_size (records->by_name), kind);
        return 0;
    }
    int visited = 0;
    for (size_t index = 0; index < records->sorted_count; index++) {
        s_record_t *record = records->sorted [index];
        visited++;
        if (visit (record->name, record->data, record->size, arg))
            break;
    }
    return visited;
}

size_t
zjob_records_count (zjob_records_t *self, const char *kind)
{
    assert (self && kind);
    s_kind_t *records = s_kind (self, kind, false);
    return records ? zhashx_size (records->by_name) : 0;
}

size_t
zjob_records_total (zjob_records_t *self)
{
    assert (self);
    return self->total;
}

int
zjob_records_walk (zjob_records_t *self, zjob_records_walk_fn *walk, void *arg)
{
    assert (self && walk);
    for (s_kind_t *records = (s_kind_t *) zhashx_first (self->kinds); records;
         records = (s_kind_t *) zhashx_next (self->kinds)) {
        const char *kind = (const char *) zhashx_cursor (self->kinds);
        for (s_record_t *record = (s_record_t *) zhashx_first (records->by_name); record;
             record = (s_record_t *) zhashx_next (records->by_name)) {
            int rc = walk (kind, record->name, record->data, record->size,
                           &record->journal_size, arg);
            if (rc)
                return rc;
        }
    }
    return 0;
}
