/*  =========================================================================
    zjob_store_file_records - the file store's named records

    Records (zjob_store.h: templates, schedules, batches, queue settings)
    live in the table's record set (zjob_store_records.c), as in the memory
    store, and are journaled as jobs are: a put appends

        [3, kind, name, bin data]      a record's whole new state
        [4, kind, name]                its removal

    to the same write buffer as the jobs' records, so the same sync writes
    and fdatasyncs both: a job and a record of one pass are durable
    together. They are framed like every record (length, CRCs), so the
    torn-tail and salvage rules of the journal (zjob_store_file.c) hold
    for them unchanged; a record whose CRC is right but whose content is
    not a record (a kind or name that is not a name, data that is not a
    bin of at most ZJOB_RECORD_MAX bytes) is corruption wherever it is.
    Each record's journal size is kept beside it, counted in the live
    bytes that decide when to compact; the rewrite from memory writes
    the live records after the jobs, and the background compaction keeps
    the latest [3] of each kind and name that no [4] followed
    (zjob_store_file_compact.c).

    A journal holding records cannot be read by a zjobd from before them:
    it stops at the first with "unknown record type 3".
    ========================================================================= */

#include "zjob_store_file_impl.h"

int
zjob_store_file_record_encode (msgpack_sbuffer *buffer, const char *kind, const char *name,
                               const uint8_t *data, size_t size, uint32_t *size_p)
{
    static const char header [ZJOB_RECORD_HEADER] = { 0 };
    size_t start = buffer->size;
    msgpack_packer packer;
    msgpack_packer_init (&packer, buffer, msgpack_sbuffer_write);
    int rc = msgpack_sbuffer_write (buffer, header, sizeof header)
        || msgpack_pack_array (&packer, data ? 4 : 3)
        || msgpack_pack_uint8 (&packer, data ? ZJOB_RECORD_NAMED_PUT : ZJOB_RECORD_NAMED_DEL)
        || msgpack_pack_str_with_body (&packer, kind, strlen (kind))
        || msgpack_pack_str_with_body (&packer, name, strlen (name));
    if (data)
        rc = rc || msgpack_pack_bin_with_body (&packer, data, size);
    if (rc) {
        buffer->size = start;
        return -1;
    }
    return s_seal (buffer, start, size_p);
}

//  Copy a msgpack str that is a name into text (ZJOB_NAME_MAX + 1 bytes).
//  0, or -1 if it is not one.
static int
s_name_of (const msgpack_object *object, char *text)
{
    if (object->type != MSGPACK_OBJECT_STR || object->via.str.size > ZJOB_NAME_MAX)
        return -1;
    memcpy (text, object->via.str.ptr, object->via.str.size);
    text [object->via.str.size] = 0;
    return zjob_name_valid (text) ? 0 : -1;
}

int
zjob_store_file_record_apply (zjob_store_file_t *self, const msgpack_object *object,
                              uint32_t record_size, char *why, size_t why_size)
{
    const msgpack_object *items = object->via.array.ptr;
    bool put = items [0].via.u64 == ZJOB_RECORD_NAMED_PUT;
    char kind [ZJOB_NAME_MAX + 1], name [ZJOB_NAME_MAX + 1];
    if (object->via.array.size != (put ? 4u : 3u)) {
        snprintf (why, why_size, "a named record of %" PRIu32 " items", object->via.array.size);
        return -1;
    }
    if (s_name_of (&items [1], kind) || s_name_of (&items [2], name)) {
        snprintf (why, why_size, "a named record whose kind or name is not a name");
        return -1;
    }
    zjob_records_t *records = zjob_store_memory_records (self->table);
    uint32_t old_size = 0;
    if (put) {
        const msgpack_object *data = &items [3];
        if (data->type != MSGPACK_OBJECT_BIN || data->via.bin.size == 0
            || data->via.bin.size > ZJOB_RECORD_MAX) {
            snprintf (why, why_size, "%s record %s: data is not a bin of 1 to %d bytes",
                      kind, name, ZJOB_RECORD_MAX);
            return -1;
        }
        if (zjob_records_put (records, kind, name, (const uint8_t *) data->via.bin.ptr,
                              data->via.bin.size, record_size, &old_size))
            return -2;
        self->live_bytes += record_size;
    }
    else if (zjob_records_remove (records, kind, name, &old_size))
        return 0;  //  A removal of what a compaction already dropped
    self->live_bytes -= old_size;
    return 0;
}


//  ---------------------------------------------------------------------
//  The store operations

int
zjob_store_file_record_put (void *self_, const char *kind, const char *name,
                            const uint8_t *data, size_t size, zjob_error_t *err)
{
    zjob_store_file_t *self = (zjob_store_file_t *) self_;
    size_t mark = self->pending.size;
    uint32_t record_size, old_size;
    if (zjob_store_file_record_encode (&self->pending, kind, name, data, size, &record_size))
        return zjob_error_set (err, ZJOB_INTERNAL, "journal %s: cannot encode %s record %s",
                               self->path, kind, name);
    if (zjob_records_put (zjob_store_memory_records (self->table), kind, name, data, size,
                          record_size, &old_size)) {
        self->pending.size = mark;
        return zjob_error_set (err, ZJOB_INTERNAL, "store: out of memory for %s record %s",
                               kind, name);
    }
    self->live_bytes += record_size;
    self->live_bytes -= old_size;
    self->records++;
    zjob_store_file_write_early (self);
    return 0;
}

int
zjob_store_file_record_remove (void *self_, const char *kind, const char *name,
                               zjob_error_t *err)
{
    zjob_store_file_t *self = (zjob_store_file_t *) self_;
    zjob_records_t *records = zjob_store_memory_records (self->table);
    if (!zjob_records_get (records, kind, name, NULL))
        return zjob_error_set (err, ZJOB_NOT_FOUND, "%s record %s not found", kind, name);
    size_t mark = self->pending.size;
    uint32_t record_size, old_size;
    if (zjob_store_file_record_encode (&self->pending, kind, name, NULL, 0, &record_size))
        return zjob_error_set (err, ZJOB_INTERNAL, "journal %s: cannot encode removal of %s "
                                                   "record %s",
                               self->path, kind, name);
    if (zjob_records_remove (records, kind, name, &old_size)) {
        self->pending.size = mark;
        return zjob_error_set (err, ZJOB_NOT_FOUND, "%s record %s not found", kind, name);
    }
    self->live_bytes -= old_size;
    self->records++;
    return 0;
}

const uint8_t *
zjob_store_file_record_get (void *self_, const char *kind, const char *name, size_t *size_p)
{
    zjob_store_file_t *self = (zjob_store_file_t *) self_;
    return zjob_records_get (zjob_store_memory_records (self->table), kind, name, size_p);
}

int
zjob_store_file_record_each (void *self_, const char *kind, zjob_store_record_fn *visit,
                             void *arg)
{
    zjob_store_file_t *self = (zjob_store_file_t *) self_;
    return zjob_records_each (zjob_store_memory_records (self->table), kind, visit, arg);
}

size_t
zjob_store_file_record_count (void *self_, const char *kind)
{
    zjob_store_file_t *self = (zjob_store_file_t *) self_;
    return zjob_records_count (zjob_store_memory_records (self->table), kind);
}
