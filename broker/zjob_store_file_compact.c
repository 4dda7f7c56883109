/*  =========================================================================
    zjob_store_file_compact - the file store's background compaction

    The journal (zjob_store_file.c) only grows; this file keeps it within a
    constant factor of the live data without the broker's loop waiting.

    Compaction. The store knows the journal's size and the live bytes (the
    size of each live job's latest record, kept beside it in the table).
    When the journal passes max(compact, 2 x live) bytes at the end of a
    sync, a compaction starts on a thread of its own, so that the broker's
    loop never waits for it (a rewrite of a million jobs takes seconds).
    The snapshot costs nothing: it is the journal's length at that sync,
    when every record is written, and the journal's bytes never change
    once written. The thread maps that prefix, indexes the latest PUT of
    each id (a DEL drops it; ids are read from the bytes, jobs are never
    decoded) and the latest named PUT of each kind and name (a named DEL
    drops it; a small zhashx, as named records are few), and copies
    those records verbatim, in journal order, after a
    header into DIR/journal.tmp, then fdatasyncs it. Meanwhile the store
    appends to the old journal as ever; the thread then copies that tail
    too (the same bytes, in order: replaying them after the snapshot gives
    the same jobs), fdatasyncing, until less than 256 KB is left (or
    after 64 rounds, should the store write faster than it copies). At the
    next sync the store switches: it copies the last of the tail, with
    every record of that sync already written, fdatasyncs journal.tmp,
    renames it over DIR/journal, fsyncs the directory and appends to the
    new file from then on; the old file is closed (and so freed) on
    another thread. Until the rename the old journal is complete and the
    only one read at open (which removes a journal.tmp); after it the new
    one is. The thread's index takes 32 bytes a slot, at most three
    quarters full (64 MB for a million live jobs), while it runs. A
    rewrite from memory (the store broken, below) cancels a
    compaction under way. The file stays within a constant factor of the
    live data however often jobs change, at an amortised cost of one extra
    write of each byte.

    The crash-point test hook (zjob_store_file_crash_at) lives here, as
    every step it names is a step of the compaction.
    ========================================================================= */

#include "zjob_store_file_impl.h"
#include "zjob_log.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>

//  tail bytes the compactor leaves to
//  the switch at most (unless it gives up)
#define ZJOB_CATCHUP_BYTES (256 << 10)
#define ZJOB_CATCHUP_ROUNDS 64  //  tail copies before it gives up

//  One live job in the compactor's index: the latest PUT of id
typedef struct {
    char id [ZJOB_ID_LEN];  //  Not NUL-terminated
    uint32_t size;          //  Bytes of the record
    uint64_t offset;        //  Of the record in the old journal; 0 = empty slot
} s_live_t;


static const char *s_crash_at;

void
zjob_store_file_crash_at (const char *step)
{
    s_crash_at = step;
}

static void
s_crash_point (const char *step)
{
    if (s_crash_at && streq (s_crash_at, step))
        _exit (ZJOB_STORE_FILE_CRASH_STATUS);
}


//  Background compaction (see the banner)

//  The compactor's index of live ids: open addressing over s_live_t with
//  linear probing, removal by backward shift
typedef struct {
    s_live_t *slots;  //  mask + 1 of them
    size_t mask;
    size_t count;
} s_index_t;

static size_t
s_index_home (const s_index_t *index, const char *id)
{
    uint64_t hash = zjob_crc32c (0, id, ZJOB_ID_LEN);
    return (size_t) ((hash * 0x9E3779B97F4A7C15ull) >> 24) & index->mask;
}

//  The slot of id, or the empty slot where it would go
static size_t
s_index_find (const s_index_t *index, const char *id)
{
    size_t slot = s_index_home (index, id);
    while (index->slots [slot].offset && memcmp (index->slots [slot].id, id, ZJOB_ID_LEN) != 0)
        slot = (slot + 1) & index->mask;
    return slot;
}

static int
s_index_init (s_index_t *index, size_t expected)
{
    size_t capacity = 64;
    while (capacity < expected + expected / 2)
        capacity *= 2;
    index->slots = (s_live_t *) calloc (capacity, sizeof (s_live_t));
    index->mask = capacity - 1;
    index->count = 0;
    return index->slots ? 0 : -1;
}

static int
s_index_put (s_index_t *index, const char *id, uint64_t offset, uint32_t size)
{
    if ((index->count + 1) * 4 > (index->mask + 1) * 3) {
        s_index_t bigger;
        if (s_index_init (&bigger, (index->mask + 1) * 2))
            return -1;
        for (size_t slot = 0; slot <= index->mask; slot++)
            if (index->slots [slot].offset)
                bigger.slots [s_index_find (&bigger, index->slots [slot].id)] = index->slots [slot];
        bigger.count = index->count;
        free (index->slots);
        *index = bigger;
    }
    s_live_t *live = &index->slots [s_index_find (index, id)];
    if (!live->offset) {
        memcpy (live->id, id, ZJOB_ID_LEN);
        index->count++;
    }
    live->offset = offset;
    live->size = size;
    return 0;
}

static void
s_index_remove (s_index_t *index, const char *id)
{
    size_t hole = s_index_find (index, id);
    if (!index->slots [hole].offset)
        return;
    //  Shift back each later entry of the run that may sit in the hole
    size_t slot = hole;
    while (true) {
        slot = (slot + 1) & index->mask;
        if (!index->slots [slot].offset)
            break;
        size_t home = s_index_home (index, index->slots [slot].id);
        if (((slot - home) & index->mask) >= ((slot - hole) & index->mask)) {
            index->slots [hole] = index->slots [slot];
            hole = slot;
        }
    }
    index->slots [hole].offset = 0;
    index->count--;
}

//  The msgpack str at *at (before end): its bytes and length; *at moves
//  past it. 0, or -1 if there is no str there.
static int
s_read_str (const uint8_t **at, const uint8_t *end, const uint8_t **text, size_t *length)
{
    const uint8_t *byte = *at;
    if (byte >= end)
        return -1;
    size_t head = 1;
    if ((*byte & 0xe0) == 0xa0)
        *length = *byte & 0x1f;
    else if (*byte == 0xd9 && end - byte >= 2) {
        *length = byte [1];
        head = 2;
    }
    else if (*byte == 0xda && end - byte >= 3) {
        *length = (size_t) byte [1] << 8 | byte [2];
        head = 3;
    }
    else
        return -1;
    if ((size_t) (end - byte) - head < *length)
        return -1;
    *text = byte + head;
    *at = byte + head + *length;
    return 0;
}

//  The key of a named record, [3, kind, name, data] or [4, kind, name]:
//  "kind\nname" (a newline is in no name) into key, of S_KEY_MAX bytes.
//  0, or -1 if the payload is not that.
#define S_KEY_MAX (2 * ZJOB_NAME_MAX + 2)
static int
s_named_key (const uint8_t *payload, uint32_t length, char *key)
{
    const uint8_t *at = payload + 2, *end = payload + length;
    const uint8_t *kind, *name;
    size_t kind_length, name_length;
    if (s_read_str (&at, end, &kind, &kind_length) || s_read_str (&at, end, &name, &name_length)
        || kind_length == 0 || kind_length > ZJOB_NAME_MAX
        || name_length == 0 || name_length > ZJOB_NAME_MAX)
        return -1;
    memcpy (key, kind, kind_length);
    key [kind_length] = '\n';
    memcpy (key + kind_length + 1, name, name_length);
    key [kind_length + 1 + name_length] = 0;
    return 0;
}

//  What a record's payload is about, and its kind: a job's id, or a
//  named record's key (s_named_key) in named_key. Records as zjob_job_pack
//  writes them start with the id, which is read straight from the
//  bytes; anything else is unpacked. 0, or -1 if the payload is not a
//  record with an id of ZJOB_ID_LEN characters or a key.
static int
s_record_id (const uint8_t *payload, uint32_t length, msgpack_zone *zone,
             char *id, char *named_key, int *kind)
{
    if (!s_record_start (payload, length))
        return -1;
    if (payload [0] != 0x92) {
        *kind = payload [1];
        return s_named_key (payload, length, named_key);
    }
    *kind = payload [1];
    const uint8_t *at = payload + 2;
    if (*kind == ZJOB_RECORD_PUT && length >= 2 + 5 + 4 + ZJOB_ID_LEN) {
        //  Map header (fixmap, map16, map32), then "id", then a fixstr
        size_t skip = (*at & 0xf0) == 0x80 ? 1 : *at == 0xde ? 3
            : *at == 0xdf                                    ? 5
                                                             : 0;
        if (skip && memcmp (at + skip, "\xa2"
                                       "id",
                            3)
                == 0
            && at [skip + 3] == (0xa0 | ZJOB_ID_LEN)) {
            memcpy (id, at + skip + 4, ZJOB_ID_LEN);
            return 0;
        }
    }
    if (*kind == ZJOB_RECORD_DEL && length == 3 + ZJOB_ID_LEN && *at == (0xa0 | ZJOB_ID_LEN)) {
        memcpy (id, at + 1, ZJOB_ID_LEN);
        return 0;
    }
    //  The general way
    msgpack_zone_clear (zone);
    msgpack_object object;
    size_t offset = 0;
    if (msgpack_unpack ((const char *) payload, length, &offset, zone, &object)
            != MSGPACK_UNPACK_SUCCESS
        || object.type != MSGPACK_OBJECT_ARRAY
        || object.via.array.size != 2)
        return -1;
    const msgpack_object *body = &object.via.array.ptr [1];
    const msgpack_object *value = NULL;
    if (*kind == ZJOB_RECORD_DEL)
        value = body;
    else if (*kind == ZJOB_RECORD_PUT && body->type == MSGPACK_OBJECT_MAP)
        for (uint32_t i = 0; i < body->via.map.size && !value; i++) {
            const msgpack_object *key = &body->via.map.ptr [i].key;
            if (key->type == MSGPACK_OBJECT_STR && key->via.str.size == 2
                && memcmp (key->via.str.ptr, "id", 2) == 0)
                value = &body->via.map.ptr [i].val;
        }
    if (!value || value->type != MSGPACK_OBJECT_STR || value->via.str.size != ZJOB_ID_LEN)
        return -1;
    memcpy (id, value->via.str.ptr, ZJOB_ID_LEN);
    return 0;
}

static int
s_offset_compare (const void *a, const void *b)
{
    uint64_t x = ((const s_live_t *) a)->offset, y = ((const s_live_t *) b)->offset;
    return (x > y) - (x < y);
}

//  Append size bytes of the old journal from offset to journal.tmp. 0, or
//  -1 with compact->error set.
static int
s_copy_range (s_compact_t *compact, uint64_t offset, uint64_t end, uint8_t *buffer, size_t room)
{
    while (offset < end) {
        size_t want = end - offset < room ? (size_t) (end - offset) : room;
        ssize_t got = pread (compact->source_fd, buffer, want, (off_t) offset);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            compact->error = got ? errno : EIO;
            compact->step = "read the journal's tail";
            return -1;
        }
        if (s_pwrite_all (compact->fd, buffer, (size_t) got, compact->bytes) < (size_t) got) {
            compact->error = errno;
            compact->step = "write";
            return -1;
        }
        compact->bytes += (uint64_t) got;
        offset += (uint64_t) got;
    }
    return 0;
}

static int
s_compact_fail (s_compact_t *compact, const char *step, int error)
{
    compact->step = step;
    compact->error = error;
    return -1;
}

static void
s_live_free (void **item)
{
    free (*item);
    *item = NULL;
}

//  Index the old journal up to the snapshot: the latest PUT of each id,
//  which a DEL drops, and the latest named PUT of each key in named
//  (key -> s_live_t, whose id is unused), which a named DEL drops. Named
//  records are few: a zhashx does. 0, or -1 with compact->step and error
//  set.
static int
s_compact_scan (s_compact_t *compact, const uint8_t *data, size_t size, s_index_t *index,
                zhashx_t *named)
{
    msgpack_zone zone;
    if (!msgpack_zone_init (&zone, 4096))
        return s_compact_fail (compact, "allocate", ENOMEM);
    int rc = 0;
    uint64_t offset = ZJOB_MAGIC_SIZE;
    for (uint64_t count = 0; offset < size && rc == 0; count++) {
        if ((count & 0xffff) == 0 && atomic_load (&compact->cancel)) {
            rc = s_compact_fail (compact, "cancel", ECANCELED);
            break;
        }
        //  Written by this store since it checked the whole file at open:
        //  a record that fails its checks now is damage on the disk
        uint32_t length = size - offset >= ZJOB_RECORD_HEADER ? s_get_le32 (data + offset) : 0;
        const uint8_t *payload = data + offset + ZJOB_RECORD_HEADER;
        char id [ZJOB_ID_LEN], key [S_KEY_MAX];
        int kind;
        if (size - offset < ZJOB_RECORD_HEADER
            || zjob_crc32c (0, data + offset, 8) != s_get_le32 (data + offset + 8)
            || length > size - offset - ZJOB_RECORD_HEADER
            || zjob_crc32c (0, payload, length) != s_get_le32 (data + offset + 4)
            || s_record_id (payload, length, &zone, id, key, &kind)) {
            rc = s_compact_fail (compact, "read a record", EIO);
            compact->copied_end = offset;  //  Where, for the message
            break;
        }
        uint32_t record_size = (uint32_t) (ZJOB_RECORD_HEADER + length);
        if (kind == ZJOB_RECORD_PUT) {
            if (s_index_put (index, id, offset, record_size))
                rc = s_compact_fail (compact, "index", ENOMEM);
        }
        else if (kind == ZJOB_RECORD_DEL)
            s_index_remove (index, id);
        else if (kind == ZJOB_RECORD_NAMED_PUT) {
            s_live_t *live = (s_live_t *) zhashx_lookup (named, key);
            if (!live && (live = (s_live_t *) calloc (1, sizeof *live))
                && zhashx_insert (named, key, live)) {
                free (live);
                live = NULL;
            }
            if (live) {
                live->offset = offset;
                live->size = record_size;
            }
            else
                rc = s_compact_fail (compact, "index", ENOMEM);
        }
        else
            zhashx_delete (named, key);
        offset += ZJOB_RECORD_HEADER + length;
    }
    msgpack_zone_destroy (&zone);
    return rc;
}

//  Write a header and the indexed records, jobs and named ones, to
//  journal.tmp, in journal order (read sequentially), through buffer
//  (ZJOB_WRITE_CHUNK bytes). The index is a plain vector after this. 0,
//  or -1 with compact->step and error set.
static int
s_compact_write (s_compact_t *compact, const uint8_t *data, s_index_t *index, zhashx_t *named,
                 uint8_t *buffer)
{
    size_t live = 0;
    for (size_t slot = 0; slot <= index->mask; slot++)
        if (index->slots [slot].offset)
            index->slots [live++] = index->slots [slot];
    if (live + zhashx_size (named) > index->mask + 1) {
        s_live_t *slots = (s_live_t *) realloc (index->slots,
                                                (live + zhashx_size (named)) * sizeof (s_live_t));
        if (!slots)
            return s_compact_fail (compact, "index", ENOMEM);
        index->slots = slots;
    }
    for (s_live_t *entry = (s_live_t *) zhashx_first (named); entry;
         entry = (s_live_t *) zhashx_next (named))
        index->slots [live++] = *entry;
    qsort (index->slots, live, sizeof (s_live_t), s_offset_compare);
    memcpy (buffer, ZJOB_JOURNAL_MAGIC, ZJOB_MAGIC_SIZE);
    size_t used = ZJOB_MAGIC_SIZE;
    for (size_t entry = 0; entry <= live; entry++) {
        size_t record = entry < live ? index->slots [entry].size : 0;
        if (entry == live || used + record > ZJOB_WRITE_CHUNK) {
            if (s_pwrite_all (compact->fd, buffer, used, compact->bytes) < used)
                return s_compact_fail (compact, "write", errno);
            compact->bytes += used;
            used = 0;
            if (atomic_load (&compact->cancel))
                return s_compact_fail (compact, "cancel", ECANCELED);
        }
        if (entry == live)
            break;
        const uint8_t *from = data + index->slots [entry].offset;
        if (record > ZJOB_WRITE_CHUNK) {
            //  A record larger than the buffer goes straight from the map
            if (s_pwrite_all (compact->fd, from, record, compact->bytes) < record)
                return s_compact_fail (compact, "write", errno);
            compact->bytes += record;
        }
        else {
            memcpy (buffer + used, from, record);
            used += record;
        }
        compact->records++;
    }
    return 0;
}

//  The tail, while the store goes on appending to the old journal: copied
//  and fdatasynced until what the store added meanwhile is small, so that
//  the switch, on the store's thread, has little to do. 0, or -1 with
//  compact->step and error set.
static int
s_compact_catch_up (s_compact_t *compact, uint8_t *buffer)
{
    compact->copied_end = compact->snapshot_end;
    for (int round = 0; round < ZJOB_CATCHUP_ROUNDS; round++) {
        uint64_t end = atomic_load (&compact->source_end);
        if (end - compact->copied_end <= ZJOB_CATCHUP_BYTES || atomic_load (&compact->cancel))
            break;
        if (s_copy_range (compact, compact->copied_end, end, buffer, ZJOB_WRITE_CHUNK))
            return -1;
        compact->copied_end = end;
        if (s_fdatasync (compact->fd))
            return s_compact_fail (compact, "fdatasync", errno);
    }
    return 0;
}

//  The compactor's work: index the old journal up to the snapshot, write
//  the latest PUT of each live id to journal.tmp, fdatasync it, then copy
//  the tail the store has appended since, until little is left
static int
s_compact_work (s_compact_t *compact)
{
    s_index_t index;
    if (s_index_init (&index, compact->live_hint))
        return s_compact_fail (compact, "index", ENOMEM);
    zhashx_t *named = zjob_hashx_new ();
    if (!named) {
        free (index.slots);
        return s_compact_fail (compact, "index", ENOMEM);
    }
    zhashx_set_destructor (named, s_live_free);
    size_t size = (size_t) compact->snapshot_end;
    void *map = mmap (NULL, size, PROT_READ, MAP_PRIVATE, compact->source_fd, 0);
    uint8_t *buffer = (uint8_t *) malloc (ZJOB_WRITE_CHUNK);
    int rc;
    if (map == MAP_FAILED || !buffer)
        rc = s_compact_fail (compact, map == MAP_FAILED ? "map" : "allocate",
                             map == MAP_FAILED ? errno : ENOMEM);
    else {
        madvise (map, size, MADV_SEQUENTIAL);
        rc = s_compact_scan (compact, (const uint8_t *) map, size, &index, named);
        if (rc == 0) {
            s_crash_point ("scanned");
            rc = s_compact_write (compact, (const uint8_t *) map, &index, named, buffer);
        }
    }
    free (index.slots);
    zhashx_destroy (&named);
    if (map != MAP_FAILED)
        munmap (map, size);
    if (rc == 0) {
        s_crash_point ("written");
        if (s_fdatasync (compact->fd))
            rc = s_compact_fail (compact, "fdatasync", errno);
    }
    if (rc == 0) {
        s_crash_point ("synced");
        rc = s_compact_catch_up (compact, buffer);
    }
    free (buffer);
    return rc;
}

static void *
s_compact_thread (void *arg)
{
    s_compact_t *compact = (s_compact_t *) arg;
    int rc = s_compact_work (compact);
    atomic_store (&compact->state, rc ? S_COMPACT_FAILED : S_COMPACT_DONE);
    return NULL;
}

static void *
s_close_thread (void *arg)
{
    int *fds = (int *) arg;
    close (fds [0]);
    close (fds [1]);
    free (fds);
    return NULL;
}

//  Close the two descriptors of the replaced journal on a thread of their
//  own: the last close frees the file, and freeing a journal of a
//  gigabyte (its blocks, its cached pages) takes a good part of a second
static void
s_close_later (int fd, int other)
{
    int *fds = (int *) malloc (2 * sizeof (int));
    pthread_attr_t attr;
    pthread_t thread;
    if (fds && pthread_attr_init (&attr) == 0) {
        fds [0] = fd;
        fds [1] = other;
        pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create (&thread, &attr, s_close_thread, fds);
        pthread_attr_destroy (&attr);
        if (rc == 0)
            return;
    }
    free (fds);
    close (fd);
    close (other);
}

//  Stop and forget the compaction under way, if any, and its journal.tmp
void
zjob_store_file_compact_abort (zjob_store_file_t *self)
{
    s_compact_t *compact = self->compact;
    if (!compact)
        return;
    atomic_store (&compact->cancel, true);
    if (!compact->joined)
        pthread_join (compact->thread, NULL);
    close (compact->fd);
    close (compact->source_fd);
    unlinkat (self->dirfd, "journal.tmp", 0);
    free (compact);
    self->compact = NULL;
}

//  Start a compaction on a thread; the journal must hold every record
//  (nothing pending). 0, or -1 with err filled.
int
zjob_store_file_compact_start (zjob_store_file_t *self, zjob_error_t *err)
{
    s_compact_t *compact = (s_compact_t *) calloc (1, sizeof *compact);
    if (!compact)
        return zjob_error_set (err, ZJOB_INTERNAL, "journal %s: out of memory to compact", self->path);
    compact->source_fd = fcntl (self->fd, F_DUPFD_CLOEXEC, 0);
    compact->fd = openat (self->dirfd, "journal.tmp", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (compact->source_fd < 0 || compact->fd < 0) {
        int error = errno;
        if (compact->source_fd >= 0)
            close (compact->source_fd);
        if (compact->fd >= 0) {
            close (compact->fd);
            unlinkat (self->dirfd, "journal.tmp", 0);
        }
        free (compact);
        return zjob_error_set (err, ZJOB_INTERNAL, "journal %s: cannot start a compaction "
                                                   "(%s/journal.tmp): %s",
                               self->path, self->dir, strerror (error));
    }
    compact->snapshot_end = self->journal_bytes;
    compact->snapshot_records = self->records;
    compact->live_hint = zjob_store_memory_size (self->table);
    compact->started_us = zclock_usecs ();
    atomic_init (&compact->source_end, self->journal_bytes);
    atomic_init (&compact->cancel, false);
    atomic_init (&compact->state, S_COMPACT_RUNNING);
    s_crash_point ("started");
    int rc = pthread_create (&compact->thread, NULL, s_compact_thread, compact);
    if (rc) {
        close (compact->fd);
        close (compact->source_fd);
        unlinkat (self->dirfd, "journal.tmp", 0);
        free (compact);
        return zjob_error_set (err, ZJOB_INTERNAL, "journal %s: cannot start the compactor: %s",
                               self->path, strerror (rc));
    }
    self->compact = compact;
    return 0;
}

//  The switch, at a sync, once the compactor is done and every record is
//  written to the old journal: copy the rest of the tail, fdatasync
//  journal.tmp, rename it over journal, fsync the directory, append to it
//  from now on. Returns 0 (done, or given up with a warning: the old
//  journal stays, complete), or -1 with err filled if the store is broken.
int
zjob_store_file_compact_finish (zjob_store_file_t *self, zjob_error_t *err)
{
    s_compact_t *compact = self->compact;
    pthread_join (compact->thread, NULL);
    compact->joined = true;
    uint8_t buffer [64 * 1024];
    int rc = s_copy_range (compact, compact->copied_end, self->journal_bytes,
                           buffer, sizeof buffer);
    if (rc == 0) {
        s_crash_point ("tail");
        if (s_fdatasync (compact->fd))
            rc = s_compact_fail (compact, "fdatasync", errno);
    }
    if (rc == 0 && renameat (self->dirfd, "journal.tmp", self->dirfd, "journal"))
        rc = s_compact_fail (compact, "rename", errno);
    if (rc) {
        zjob_log_warning ("journal %s: compaction failed (%s of %s/journal.tmp): %s; "
                          "retried in %d s",
                          self->path, compact->step, self->dir,
                          strerror (compact->error), ZJOB_COMPACT_RETRY_MS / 1000);
        zjob_store_file_compact_abort (self);
        self->compact_at = zclock_mono () + ZJOB_COMPACT_RETRY_MS;
        return 0;
    }
    s_crash_point ("renamed");
    //  The new journal is in place under its name
    s_close_later (self->fd, compact->source_fd);
    self->fd = compact->fd;
    zjob_store_file_syncer_journal (self);
    self->records = compact->records + (self->records - compact->snapshot_records);
    self->journal_bytes = compact->bytes;
    self->unsynced = false;
    self->last_fsync_ms = zclock_mono ();
    self->compactions++;
    self->last_compact_us = zclock_usecs () - compact->started_us;
    free (compact);
    self->compact = NULL;
    int sync_rc;
    do
        sync_rc = fsync (self->dirfd);
    while (sync_rc == -1 && errno == EINTR);
    if (sync_rc) {
        //  The rename may not last: nothing is durable until a rewrite is
        zjob_error_set (&self->failure, ZJOB_INTERNAL, "journal %s: fsync of %s failed: %s",
                        self->path, self->dir, strerror (errno));
        self->broken = true;
        self->retry_at = 0;
        if (err)
            *err = self->failure;
        return -1;
    }
    s_crash_point ("switched");
    return 0;
}
