/*  =========================================================================
    zjob_store_file - the durable store: live jobs in RAM, mutations journaled

    The live jobs are held exactly as the memory store holds them (its table,
    zjob_store_memory.h), so get and iterate cost what they cost there. Every
    put and remove is also encoded as a record into a write buffer, and sync
    writes the buffer to DIR/journal, one append-only file, then applies the
    fsync policy. Many mutations thus cost one write and at most one
    fdatasync (group commit).

    Journal format. The file starts with the 8 bytes "ZJOBJNL2" (format 2).
    Then records, each

        [u32 length][u32 CRC-32C of the payload][u32 CRC-32C of the 8 bytes
        before][payload: length bytes]                      (all LE)

    where the payload is msgpack: [1, job map] (PUT, the job's whole state,
    by zjob_job_pack) or [2, id] (DEL). Replaying in order, PUT replaces
    and DEL removes, gives the live jobs. The header's own CRC is what lets
    a reader trust a length before it reads what the length points to.
    Format 1 ("ZJOBJNL1", records without the header CRC) is still read;
    such a journal is rewritten in format 2 as soon as it is opened, so
    records of the two formats never share a file.

    Recovery. The journal is mapped and read in one pass, with no syscall
    per record; each job's table slot is prefetched while the next record
    is decoded (a million jobs reopen in about a second). A crash can only
    tear the last record, so that is all that is cut off, with a warning:
    fewer than 12 header bytes left; a header that checks out but whose
    length runs past the end; a CRC mismatch on the record that ends the
    file; a damaged header with no intact record anywhere after it; a
    tail of zero bytes, as some filesystems leave after a crash. A bad
    record with an intact one after it is corruption (a damaged header
    means a damaged length, which a restart must not take for a tear and
    cut half the journal for): the open fails, naming the file, the
    offset and how many intact records follow; with salvage=truncate the
    original is first copied to DIR/journal.corrupt-<ms> and the journal
    is cut at the bad record. Records after the damage are never replayed:
    the damaged one may have been a DEL, and skipping it would bring a
    deleted job back without a word. A record whose CRC is right but whose
    content does not decode is corruption wherever it is. In format 1,
    which has no header CRC, a length running past the end is a torn tail
    only if no intact record follows it.

    Failure. A failed write(2) keeps the unwritten bytes buffered: sync
    returns -1 and the next sync writes them again at the same offset, so
    the file never holds a gap. A failed fdatasync is worse, because the
    kernel may have dropped the dirty pages and a second fdatasync would
    then succeed on lost data; so the store turns "broken": sync returns -1
    until a full rewrite of the journal from the jobs in memory succeeds
    (tried at most once a second), and nothing is declared durable before.

    Compaction. The store knows the journal's size and the live bytes (the
    size of each live job's latest record, kept beside it in the table).
    When the journal passes max(compact, 2 x live) bytes at the end of a
    sync, a compaction starts on a thread of its own, so that the broker's
    loop never waits for it (a rewrite of a million jobs takes seconds).
    The snapshot costs nothing: it is the journal's length at that sync,
    when every record is written, and the journal's bytes never change
    once written. The thread maps that prefix, indexes the latest PUT of
    each id (a DEL drops it; ids are read from the bytes, jobs are never
    decoded), and copies those records verbatim, in journal order, after a
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
    write of each byte. A DIR/lock file held with flock keeps a second
    process off the same journal.

    Options: fsync=always (default; fdatasync on each sync that wrote),
    fsync=interval:<duration> (write on each sync, fdatasync on the first
    sync at least that long after the last one, and at close: without a
    sync call nothing is fsynced, as the store has no timer), fsync=never
    (write only; the OS flushes), compact=<bytes> (default 64m, so small
    stores never pay for a rewrite; k, m, g suffixes), salvage=truncate.
    Stats: journal_bytes (written), pending_bytes, live_bytes, records,
    syncs, fsyncs, compactions, compacting (1 while one is under way),
    last_compact_us, last_fsync_us, trims (malloc_trims, see
    zjob_store_memory.c), policy.
    ========================================================================= */

#include "zjob_store_memory.h"
#include "zjob_store_file.h"
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define ZJOB_JOURNAL_MAGIC      "ZJOBJNL2"          //  What this code writes
#define ZJOB_JOURNAL_MAGIC_V1   "ZJOBJNL1"          //  Read, then rewritten as format 2
#define ZJOB_MAGIC_SIZE         8                   //  bytes of the file header
#define ZJOB_RECORD_HEADER      12                  //  bytes: length, payload CRC, header CRC
#define ZJOB_RECORD_HEADER_V1   8                   //  bytes: length, payload CRC
#define ZJOB_RECORD_PUT         1
#define ZJOB_RECORD_DEL         2
#define ZJOB_COMPACT_DEFAULT    (64ULL << 20)       //  bytes of journal before compacting
#define ZJOB_WRITE_CHUNK        (1 << 20)           //  bytes buffered before a put writes early
#define ZJOB_REWRITE_RETRY_MS   1000                //  msecs between rewrites while broken
#define ZJOB_COMPACT_RETRY_MS   10000               //  msecs after a failed compaction
#define ZJOB_CATCHUP_BYTES      (256 << 10)         //  tail bytes the compactor leaves to
                                                    //  the switch at most (unless it gives up)
#define ZJOB_CATCHUP_ROUNDS     64                  //  tail copies before it gives up

//  Where a background compaction is (s_compact_t.state)
enum {
    S_COMPACT_RUNNING,                  //  The thread works
    S_COMPACT_DONE,                     //  journal.tmp holds the snapshot and most of
                                        //  the tail, fdatasynced; the switch may go
    S_COMPACT_FAILED                    //  error and step say why
};

//  One live job in the compactor's index: the latest PUT of id
typedef struct {
    char id [ZJOB_ID_LEN];              //  Not NUL-terminated
    uint32_t size;                      //  Bytes of the record
    uint64_t offset;                    //  Of the record in the old journal; 0 = empty slot
} s_live_t;

//  A background compaction, shared by the store and its thread. The
//  thread owns everything but source_end and cancel until state leaves
//  S_COMPACT_RUNNING; then the store owns it all.
typedef struct {
    pthread_t thread;
    bool joined;                        //  The store has joined the thread
    int source_fd;                      //  The old journal (a dup), read only
    int fd;                             //  DIR/journal.tmp
    uint64_t snapshot_end;              //  Old journal bytes the snapshot covers
    uint64_t snapshot_records;          //  Records of the store then
    uint64_t copied_end;                //  Old journal bytes copied (snapshot + tail)
    uint64_t bytes;                     //  Bytes written to journal.tmp
    uint64_t records;                   //  Records of the snapshot written to it
    size_t live_hint;                   //  Live jobs when it started
    _Atomic uint64_t source_end;        //  Old journal bytes written; the store
                                        //  publishes it after each write
    atomic_bool cancel;                 //  The store asks the thread to stop
    atomic_int state;                   //  S_COMPACT_*
    int error;                          //  errno of a failure
    const char *step;                   //  What failed
    int64_t started_us;                 //  For the figures
} s_compact_t;

typedef enum {
    S_FSYNC_ALWAYS,
    S_FSYNC_INTERVAL,
    S_FSYNC_NEVER
} s_policy_t;

typedef struct {
    char *dir;                          //  The directory, for messages
    char *path;                         //  DIR/journal, for messages
    int dirfd;                          //  The directory: openat, fsync
    int lockfd;                         //  DIR/lock, flocked while open
    int fd;                             //  The journal; we pwrite at journal_bytes
    zjob_store_memory_t *table;         //  Live jobs with their record sizes
    msgpack_sbuffer pending;            //  Records encoded but not yet written
    s_policy_t policy;                  //  When sync fdatasyncs
    int64_t interval_ms;                //  For S_FSYNC_INTERVAL
    uint64_t compact_min;               //  Journal bytes below which we never compact
    bool salvage;                       //  salvage=truncate was given
    uint64_t journal_bytes;             //  Bytes written to the journal file
                                        //  (pending ones are not counted)
    uint64_t live_bytes;                //  Sum of the table's record sizes
    uint64_t records;                   //  Records in the journal, pending included
    uint64_t syncs;                     //  Calls of sync
    uint64_t fsyncs;                    //  fdatasyncs of the journal
    uint64_t compactions;               //  Rewrites of the journal
    int64_t last_fsync_us;              //  Duration of the last fdatasync
    int64_t last_fsync_ms;              //  Monotonic time of the last fdatasync
    bool unsynced;                      //  Written bytes not yet fdatasynced
    bool write_failed;                  //  The last write failed: puts do not retry
    bool broken;                        //  fdatasync failed: rewrite before trusting
    zjob_error_t failure;               //  Why broken; repeated by sync
    int64_t retry_at;                   //  Monotonic ms of the next rewrite try
    int64_t compact_at;                 //  Monotonic ms before which not to compact
    s_compact_t *compact;               //  The compaction under way, or NULL
    int64_t last_compact_us;            //  Duration of the last compaction
} zjob_store_file_t;

//  Test hook (zjob_store_file.h): the compaction step to _exit at, or NULL
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


//  ---------------------------------------------------------------------
//  Encoding

static void
s_put_le32 (uint8_t *at, uint32_t value)
{
    at [0] = (uint8_t) value;
    at [1] = (uint8_t) (value >> 8);
    at [2] = (uint8_t) (value >> 16);
    at [3] = (uint8_t) (value >> 24);
}

static uint32_t
s_get_le32 (const uint8_t *at)
{
    return (uint32_t) at [0] | (uint32_t) at [1] << 8
         | (uint32_t) at [2] << 16 | (uint32_t) at [3] << 24;
}

//  Append one record to buffer: [1, job] for a job, else [2, id]. Sets
//  *size_p to the record's bytes. 0, or -1 if out of memory (the buffer
//  is then as it was).
static int
s_encode (msgpack_sbuffer *buffer, const zjob_job_t *job, const char *id, uint32_t *size_p)
{
    static const char header [ZJOB_RECORD_HEADER] = { 0 };
    size_t start = buffer->size;
    msgpack_packer packer;
    msgpack_packer_init (&packer, buffer, msgpack_sbuffer_write);
    int rc = msgpack_sbuffer_write (buffer, header, sizeof header)
          || msgpack_pack_array (&packer, 2);
    if (job)
        rc = rc || msgpack_pack_uint8 (&packer, ZJOB_RECORD_PUT)
                || zjob_job_pack (job, &packer);
    else
        rc = rc || msgpack_pack_uint8 (&packer, ZJOB_RECORD_DEL)
                || msgpack_pack_str_with_body (&packer, id, strlen (id));
    size_t length = buffer->size - start - ZJOB_RECORD_HEADER;
    if (rc || length > UINT32_MAX - ZJOB_RECORD_HEADER) {
        buffer->size = start;
        return -1;
    }
    uint8_t *record = (uint8_t *) buffer->data + start;
    s_put_le32 (record, (uint32_t) length);
    s_put_le32 (record + 4, zjob_crc32c (0, record + ZJOB_RECORD_HEADER, length));
    s_put_le32 (record + 8, zjob_crc32c (0, record, 8));
    *size_p = (uint32_t) (length + ZJOB_RECORD_HEADER);
    return 0;
}


//  ---------------------------------------------------------------------
//  Writing

//  Write size bytes at offset, through short writes and EINTR. Returns
//  the bytes written; fewer than size means errno tells why.
static size_t
s_pwrite_all (int fd, const void *data, size_t size, uint64_t offset)
{
    size_t done = 0;
    while (done < size) {
        ssize_t rc = pwrite (fd, (const char *) data + done, size - done,
                             (off_t) (offset + done));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0) {
            if (rc == 0)
                errno = EIO;
            break;
        }
        done += (size_t) rc;
    }
    return done;
}

static int
s_fdatasync (int fd)
{
    int rc;
    do
        rc = fdatasync (fd);
    while (rc == -1 && errno == EINTR);
    return rc;
}

//  Write the pending records at the end of the journal. What was written
//  leaves the buffer even on failure, so a retry goes on where this
//  stopped. 0, or -1 with err filled.
static int
s_write_pending (zjob_store_file_t *self, zjob_error_t *err)
{
    if (self->pending.size == 0) {
        self->write_failed = false;
        return 0;
    }
    size_t done = s_pwrite_all (self->fd, self->pending.data, self->pending.size,
                                self->journal_bytes);
    int error = errno;
    if (done) {
        self->journal_bytes += done;
        self->unsynced = true;
        if (self->compact)
            atomic_store (&self->compact->source_end, self->journal_bytes);
        memmove (self->pending.data, self->pending.data + done, self->pending.size - done);
        self->pending.size -= done;
    }
    self->write_failed = self->pending.size > 0;
    if (self->write_failed)
        return zjob_error_set (err, ZJOB_INTERNAL, "journal %s: write failed: %s",
                               self->path, strerror (error));
    //  Do not keep a large buffer from a burst of puts
    if (self->pending.alloc > 4 * ZJOB_WRITE_CHUNK) {
        msgpack_sbuffer_destroy (&self->pending);
        msgpack_sbuffer_init (&self->pending);
    }
    return 0;
}

//  fdatasync the journal, keeping the figures. 0, or -1 with err filled.
static int
s_sync_journal (zjob_store_file_t *self, zjob_error_t *err)
{
    int64_t start = zclock_usecs ();
    int rc = s_fdatasync (self->fd);
    int error = errno;
    self->last_fsync_us = zclock_usecs () - start;
    self->last_fsync_ms = zclock_mono ();
    self->fsyncs++;
    if (rc)
        return zjob_error_set (err, ZJOB_INTERNAL, "journal %s: fdatasync failed: %s",
                               self->path, strerror (error));
    self->unsynced = false;
    return 0;
}

//  State of a rewrite while it walks the table
typedef struct {
    msgpack_sbuffer buffer;             //  Records not yet written
    int fd;                             //  DIR/journal.tmp
    uint64_t offset;                    //  Bytes written to it
    int64_t live_delta;                 //  Change of the live bytes
    uint64_t records;                   //  Records encoded
    int error;                          //  errno of a failed write, ENOMEM
} s_rewrite_t;

static int
s_flush_rewrite (s_rewrite_t *rewrite)
{
    size_t done = s_pwrite_all (rewrite->fd, rewrite->buffer.data, rewrite->buffer.size,
                                rewrite->offset);
    rewrite->offset += done;
    if (done < rewrite->buffer.size) {
        rewrite->error = errno;
        return -1;
    }
    rewrite->buffer.size = 0;
    return 0;
}

static int
s_rewrite_one (zjob_job_t *job, uint32_t *size, void *arg)
{
    s_rewrite_t *rewrite = (s_rewrite_t *) arg;
    uint32_t record_size;
    if (s_encode (&rewrite->buffer, job, NULL, &record_size)) {
        rewrite->error = ENOMEM;
        return -1;
    }
    rewrite->live_delta += (int64_t) record_size - (int64_t) *size;
    *size = record_size;
    rewrite->records++;
    if (rewrite->buffer.size >= ZJOB_WRITE_CHUNK)
        return s_flush_rewrite (rewrite);
    return 0;
}

//  Replace the journal by one holding a PUT of each live job: write
//  journal.tmp, fdatasync it, rename it over journal, fsync the directory.
//  Pending records are then obsolete and dropped. 0, or -1 with err
//  filled; the old journal stays in use unless the rename was done.
static void s_compact_abort (zjob_store_file_t *self);

static int
s_rewrite (zjob_store_file_t *self, zjob_error_t *err)
{
    s_compact_abort (self);             //  What it was doing is moot now
    s_rewrite_t rewrite = { .offset = 0 };
    msgpack_sbuffer_init (&rewrite.buffer);
    rewrite.fd = openat (self->dirfd, "journal.tmp",
                         O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (rewrite.fd < 0)
        return zjob_error_set (err, ZJOB_INTERNAL, "journal %s: cannot create %s/journal.tmp: %s",
                               self->path, self->dir, strerror (errno));
    const char *step = "write";
    int walk_rc = -1;
    if (msgpack_sbuffer_write (&rewrite.buffer, ZJOB_JOURNAL_MAGIC, ZJOB_MAGIC_SIZE) == 0)
        walk_rc = zjob_store_memory_walk (self->table, s_rewrite_one, &rewrite);
    else
        rewrite.error = ENOMEM;
    self->live_bytes += rewrite.live_delta;
    if (walk_rc || s_flush_rewrite (&rewrite))
        goto failed;
    step = "fdatasync";
    if (s_fdatasync (rewrite.fd)) {
        rewrite.error = errno;
        goto failed;
    }
    step = "rename";
    if (renameat (self->dirfd, "journal.tmp", self->dirfd, "journal")) {
        rewrite.error = errno;
        goto failed;
    }
    //  The new journal is in place under its name
    msgpack_sbuffer_destroy (&rewrite.buffer);
    if (self->fd >= 0)
        close (self->fd);
    self->fd = rewrite.fd;
    self->journal_bytes = rewrite.offset;
    self->records = rewrite.records;
    self->pending.size = 0;
    self->write_failed = false;
    self->unsynced = false;
    self->last_fsync_ms = zclock_mono ();
    self->compactions++;
    int rc;
    do
        rc = fsync (self->dirfd);
    while (rc == -1 && errno == EINTR);
    if (rc) {
        //  The rename may not last: nothing is durable until a rewrite is
        zjob_error_set (&self->failure, ZJOB_INTERNAL, "journal %s: fsync of %s failed: %s",
                        self->path, self->dir, strerror (errno));
        self->broken = true;
        if (err)
            *err = self->failure;
        return -1;
    }
    return 0;

failed:
    msgpack_sbuffer_destroy (&rewrite.buffer);
    close (rewrite.fd);
    unlinkat (self->dirfd, "journal.tmp", 0);
    return zjob_error_set (err, ZJOB_INTERNAL, "journal %s: rewrite failed (%s of %s/journal.tmp): %s",
                           self->path, step, self->dir, strerror (rewrite.error));
}


//  ---------------------------------------------------------------------
//  Background compaction (see the banner)

//  The compactor's index of live ids: open addressing over s_live_t with
//  linear probing, removal by backward shift
typedef struct {
    s_live_t *slots;                    //  mask + 1 of them
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
    return index->slots? 0: -1;
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

//  The id a record's payload is about, and its kind. Records as
//  zjob_job_pack writes them start with the id, which is read straight
//  from the bytes; anything else is unpacked. 0, or -1 if the payload is
//  not a record with an id of ZJOB_ID_LEN characters.
static int
s_record_id (const uint8_t *payload, uint32_t length, msgpack_zone *zone,
             char *id, int *kind)
{
    if (length < 2 || payload [0] != 0x92)
        return -1;
    *kind = payload [1];
    const uint8_t *at = payload + 2;
    if (*kind == ZJOB_RECORD_PUT && length >= 2 + 5 + 4 + ZJOB_ID_LEN) {
        //  Map header (fixmap, map16, map32), then "id", then a fixstr
        size_t skip = (*at & 0xf0) == 0x80? 1: *at == 0xde? 3: *at == 0xdf? 5: 0;
        if (skip && memcmp (at + skip, "\xa2" "id", 3) == 0
        &&  at [skip + 3] == (0xa0 | ZJOB_ID_LEN)) {
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
        != MSGPACK_UNPACK_SUCCESS || object.type != MSGPACK_OBJECT_ARRAY
    ||  object.via.array.size != 2)
        return -1;
    const msgpack_object *body = &object.via.array.ptr [1];
    const msgpack_object *value = NULL;
    if (*kind == ZJOB_RECORD_DEL)
        value = body;
    else
    if (*kind == ZJOB_RECORD_PUT && body->type == MSGPACK_OBJECT_MAP)
        for (uint32_t i = 0; i < body->via.map.size && !value; i++) {
            const msgpack_object *key = &body->via.map.ptr [i].key;
            if (key->type == MSGPACK_OBJECT_STR && key->via.str.size == 2
            &&  memcmp (key->via.str.ptr, "id", 2) == 0)
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
        size_t want = end - offset < room? (size_t) (end - offset): room;
        ssize_t got = pread (compact->source_fd, buffer, want, (off_t) offset);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            compact->error = got? errno: EIO;
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

//  The compactor's work: index the old journal up to the snapshot, write
//  the latest PUT of each live id to journal.tmp, fdatasync it, then copy
//  the tail the store has appended since, until little is left
static int
s_compact_work (s_compact_t *compact)
{
    s_index_t index;
    if (s_index_init (&index, compact->live_hint))
        return s_compact_fail (compact, "index", ENOMEM);
    size_t size = (size_t) compact->snapshot_end;
    void *map = mmap (NULL, size, PROT_READ, MAP_PRIVATE, compact->source_fd, 0);
    uint8_t *buffer = (uint8_t *) malloc (ZJOB_WRITE_CHUNK);
    msgpack_zone zone;
    bool zoned = msgpack_zone_init (&zone, 4096);
    int rc = 0;
    if (map == MAP_FAILED || !buffer || !zoned) {
        rc = s_compact_fail (compact, map == MAP_FAILED? "map": "allocate",
                             map == MAP_FAILED? errno: ENOMEM);
        goto done;
    }
    madvise (map, size, MADV_SEQUENTIAL);
    const uint8_t *data = (const uint8_t *) map;
    uint64_t offset = ZJOB_MAGIC_SIZE;
    for (uint64_t count = 0; offset < size; count++) {
        if ((count & 0xffff) == 0 && atomic_load (&compact->cancel)) {
            rc = s_compact_fail (compact, "cancel", ECANCELED);
            goto done;
        }
        //  Written by this store since it checked the whole file at open:
        //  a record that fails its checks now is damage on the disk
        uint32_t length = size - offset >= ZJOB_RECORD_HEADER? s_get_le32 (data + offset): 0;
        const uint8_t *payload = data + offset + ZJOB_RECORD_HEADER;
        char id [ZJOB_ID_LEN];
        int kind;
        if (size - offset < ZJOB_RECORD_HEADER
        ||  zjob_crc32c (0, data + offset, 8) != s_get_le32 (data + offset + 8)
        ||  length > size - offset - ZJOB_RECORD_HEADER
        ||  zjob_crc32c (0, payload, length) != s_get_le32 (data + offset + 4)
        ||  s_record_id (payload, length, &zone, id, &kind)) {
            rc = s_compact_fail (compact, "read a record", EIO);
            compact->copied_end = offset;       //  Where, for the message
            goto done;
        }
        if (kind == ZJOB_RECORD_PUT) {
            if (s_index_put (&index, id, offset, (uint32_t) (ZJOB_RECORD_HEADER + length))) {
                rc = s_compact_fail (compact, "index", ENOMEM);
                goto done;
            }
        }
        else
            s_index_remove (&index, id);
        offset += ZJOB_RECORD_HEADER + length;
    }
    s_crash_point ("scanned");

    //  The live records in journal order, read sequentially
    size_t live = 0;
    for (size_t slot = 0; slot <= index.mask; slot++)
        if (index.slots [slot].offset)
            index.slots [live++] = index.slots [slot];
    qsort (index.slots, live, sizeof (s_live_t), s_offset_compare);
    memcpy (buffer, ZJOB_JOURNAL_MAGIC, ZJOB_MAGIC_SIZE);
    size_t used = ZJOB_MAGIC_SIZE;
    for (size_t entry = 0; entry <= live; entry++) {
        size_t record = entry < live? index.slots [entry].size: 0;
        if (entry == live || used + record > ZJOB_WRITE_CHUNK) {
            if (s_pwrite_all (compact->fd, buffer, used, compact->bytes) < used) {
                rc = s_compact_fail (compact, "write", errno);
                goto done;
            }
            compact->bytes += used;
            used = 0;
            if (atomic_load (&compact->cancel)) {
                rc = s_compact_fail (compact, "cancel", ECANCELED);
                goto done;
            }
        }
        if (entry == live)
            break;
        const uint8_t *from = data + index.slots [entry].offset;
        if (record > ZJOB_WRITE_CHUNK) {
            //  A record larger than the buffer goes straight from the map
            if (s_pwrite_all (compact->fd, from, record, compact->bytes) < record) {
                rc = s_compact_fail (compact, "write", errno);
                goto done;
            }
            compact->bytes += record;
        }
        else {
            memcpy (buffer + used, from, record);
            used += record;
        }
        compact->records++;
    }
    free (index.slots);
    index.slots = NULL;
    munmap (map, size);
    map = MAP_FAILED;
    s_crash_point ("written");
    if (s_fdatasync (compact->fd)) {
        rc = s_compact_fail (compact, "fdatasync", errno);
        goto done;
    }
    s_crash_point ("synced");

    //  The tail, while the store goes on appending to the old journal:
    //  copied and fdatasynced until what the store added meanwhile is
    //  small, so that the switch, on the store's thread, has little to do
    compact->copied_end = compact->snapshot_end;
    for (int round = 0; round < ZJOB_CATCHUP_ROUNDS; round++) {
        uint64_t end = atomic_load (&compact->source_end);
        if (end - compact->copied_end <= ZJOB_CATCHUP_BYTES || atomic_load (&compact->cancel))
            break;
        if (s_copy_range (compact, compact->copied_end, end, buffer, ZJOB_WRITE_CHUNK)) {
            rc = -1;
            goto done;
        }
        compact->copied_end = end;
        if (s_fdatasync (compact->fd)) {
            rc = s_compact_fail (compact, "fdatasync", errno);
            goto done;
        }
    }
done:
    if (zoned)
        msgpack_zone_destroy (&zone);
    if (map != MAP_FAILED)
        munmap (map, size);
    free (index.slots);
    free (buffer);
    return rc;
}

static void *
s_compact_thread (void *arg)
{
    s_compact_t *compact = (s_compact_t *) arg;
    int rc = s_compact_work (compact);
    atomic_store (&compact->state, rc? S_COMPACT_FAILED: S_COMPACT_DONE);
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
static void
s_compact_abort (zjob_store_file_t *self)
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
static int
s_compact_start (zjob_store_file_t *self, zjob_error_t *err)
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
                               "(%s/journal.tmp): %s", self->path, self->dir, strerror (error));
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
static int
s_compact_finish (zjob_store_file_t *self, zjob_error_t *err)
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
        zsys_warning ("journal %s: compaction failed (%s of %s/journal.tmp): %s; "
                      "retried in %d s", self->path, compact->step, self->dir,
                      strerror (compact->error), ZJOB_COMPACT_RETRY_MS / 1000);
        s_compact_abort (self);
        self->compact_at = zclock_mono () + ZJOB_COMPACT_RETRY_MS;
        return 0;
    }
    s_crash_point ("renamed");
    //  The new journal is in place under its name
    s_close_later (self->fd, compact->source_fd);
    self->fd = compact->fd;
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


//  ---------------------------------------------------------------------
//  Recovery

//  Replay state: the record decoded last is inserted only after the next
//  one is decoded, with its table slot prefetched meanwhile, so that the
//  cache miss of a random slot overlaps with useful work.
typedef struct {
    msgpack_zone zone;                  //  Objects of the record at hand
    zjob_job_t *deferred;               //  Decoded job not yet in the table
    uint32_t deferred_size;             //  Its record size
    char why [ZJOB_ERROR_TEXT_MAX];     //  What is wrong with a bad record
} s_replay_t;

//  Insert the deferred job, if any. 0, or -1 if out of memory.
static int
s_apply_deferred (zjob_store_file_t *self, s_replay_t *replay)
{
    if (!replay->deferred)
        return 0;
    uint32_t old_size;
    int rc = zjob_store_memory_insert (self->table, replay->deferred,
                                       replay->deferred_size, &old_size);
    zjob_job_destroy (&replay->deferred);
    if (rc == 0) {
        self->live_bytes += replay->deferred_size;
        self->live_bytes -= old_size;
    }
    return rc;
}

//  Apply one record's payload to the table. 0, -1 with why filled if the
//  record is corrupt, -2 if out of memory.
static int
s_apply (zjob_store_file_t *self, const uint8_t *payload, uint32_t length, s_replay_t *replay)
{
    msgpack_zone_clear (&replay->zone);
    msgpack_object object;
    size_t offset = 0;
    msgpack_unpack_return rc = msgpack_unpack ((const char *) payload, length, &offset,
                                               &replay->zone, &object);
    if (rc != MSGPACK_UNPACK_SUCCESS || offset != length) {
        snprintf (replay->why, sizeof replay->why, "invalid msgpack");
        return -1;
    }
    if (object.type != MSGPACK_OBJECT_ARRAY || object.via.array.size != 2
    ||  object.via.array.ptr [0].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        snprintf (replay->why, sizeof replay->why, "not a record");
        return -1;
    }
    uint64_t kind = object.via.array.ptr [0].via.u64;
    const msgpack_object *body = &object.via.array.ptr [1];
    if (kind == ZJOB_RECORD_PUT) {
        zjob_error_t err;
        zjob_job_t *job = zjob_job_from_object (body, &err);
        if (!job && err.code == ZJOB_INTERNAL)
            return -2;                  //  Out of memory, not corruption
        if (!job) {
            snprintf (replay->why, sizeof replay->why, "invalid job: %.160s", err.text);
            return -1;
        }
        zjob_store_memory_prefetch (self->table, job->id);
        if (s_apply_deferred (self, replay)) {
            zjob_job_destroy (&job);
            return -2;
        }
        replay->deferred = job;
        replay->deferred_size = length + ZJOB_RECORD_HEADER;
    }
    else
    if (kind == ZJOB_RECORD_DEL) {
        char id [ZJOB_ID_LEN + 1];
        if (body->type != MSGPACK_OBJECT_STR || body->via.str.size > ZJOB_ID_LEN) {
            snprintf (replay->why, sizeof replay->why, "invalid id in a delete");
            return -1;
        }
        memcpy (id, body->via.str.ptr, body->via.str.size);
        id [body->via.str.size] = 0;
        if (s_apply_deferred (self, replay))
            return -2;
        uint32_t old_size;
        if (zjob_store_memory_delete (self->table, id, &old_size) == 0)
            self->live_bytes -= old_size;
    }
    else {
        snprintf (replay->why, sizeof replay->why, "unknown record type %" PRIu64, kind);
        return -1;
    }
    return 0;
}

static bool
s_all_zero (const uint8_t *data, size_t size)
{
    for (size_t index = 0; index < size; index++)
        if (data [index])
            return false;
    return true;
}

//  Copy the journal's bytes to DIR/journal.corrupt-<ms>. 0, or -1 with
//  err filled.
static int
s_save_copy (zjob_store_file_t *self, const uint8_t *data, size_t size,
             char *name, size_t name_size, zjob_error_t *err)
{
    snprintf (name, name_size, "journal.corrupt-%" PRId64, zjob_clock_ms ());
    int fd = openat (self->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return zjob_error_set (err, ZJOB_INTERNAL, "journal %s: cannot create %s/%s: %s",
                               self->path, self->dir, name, strerror (errno));
    int rc = 0;
    if (s_pwrite_all (fd, data, size, 0) < size || s_fdatasync (fd))
        rc = zjob_error_set (err, ZJOB_INTERNAL, "journal %s: cannot write %s/%s: %s",
                             self->path, self->dir, name, strerror (errno));
    close (fd);
    if (rc)
        unlinkat (self->dirfd, name, 0);
    return rc;
}

//  Cut the journal at offset, durably. 0, or -1 with err filled.
static int
s_truncate (zjob_store_file_t *self, uint64_t offset, zjob_error_t *err)
{
    if (ftruncate (self->fd, (off_t) offset) || s_fdatasync (self->fd))
        return zjob_error_set (err, ZJOB_INTERNAL, "journal %s: cannot truncate at %" PRIu64 ": %s",
                               self->path, offset, strerror (errno));
    self->journal_bytes = offset;
    return 0;
}

//  Whether a record of format version starts at offset and is intact:
//  its header checks out (format 2: the header CRC; format 1, which has
//  none: a length that fits), its payload CRC matches, and the payload
//  starts as a record does ([1, ...] or [2, ...]).
static bool
s_intact_at (int version, const uint8_t *data, size_t size, size_t offset)
{
    size_t header = version == 1? ZJOB_RECORD_HEADER_V1: ZJOB_RECORD_HEADER;
    if (size - offset < header + 2)
        return false;
    const uint8_t *at = data + offset;
    const uint8_t *payload = at + header;
    //  The cheap tests first: most offsets fail on these three bytes
    if (payload [0] != 0x92 || (payload [1] != ZJOB_RECORD_PUT && payload [1] != ZJOB_RECORD_DEL))
        return false;
    uint32_t length = s_get_le32 (at);
    if (length < 2 || length > size - offset - header)
        return false;
    if (version != 1 && zjob_crc32c (0, at, 8) != s_get_le32 (at + 8))
        return false;
    return zjob_crc32c (0, payload, length) == s_get_le32 (at + 4);
}

//  Offset of the first intact record at or after from, or 0 if none (the
//  failure path only: a scan of the rest of the file).
static size_t
s_next_intact (int version, const uint8_t *data, size_t size, size_t from)
{
    for (size_t offset = from; offset < size; offset++)
        if (s_intact_at (version, data, size, offset))
            return offset;
    return 0;
}

//  Intact records from offset on, hopping from one to the next and
//  scanning again after a bad one: what the saved copy still holds.
static uint64_t
s_count_intact (int version, const uint8_t *data, size_t size, size_t offset)
{
    size_t header = version == 1? ZJOB_RECORD_HEADER_V1: ZJOB_RECORD_HEADER;
    uint64_t count = 0;
    while ((offset = s_next_intact (version, data, size, offset))) {
        count++;
        offset += header + s_get_le32 (data + offset);
    }
    return count;
}

//  Replay the open journal, of format version (1 or 2), into the table
//  (see the banner). 0, or -1 with err filled.
static int
s_replay (zjob_store_file_t *self, int version, const uint8_t *data, size_t size,
          zjob_error_t *err)
{
    s_replay_t replay = { .deferred = NULL };
    if (!msgpack_zone_init (&replay.zone, 4096))
        return zjob_error_set (err, ZJOB_INTERNAL, "journal %s: out of memory", self->path);
    size_t header = version == 1? ZJOB_RECORD_HEADER_V1: ZJOB_RECORD_HEADER;
    size_t offset = ZJOB_MAGIC_SIZE;
    uint64_t records = 0;
    bool torn = false;
    int rc = 0;
    while (offset < size) {
        size_t left = size - offset;
        if (left < header) {
            snprintf (replay.why, sizeof replay.why, "incomplete record header");
            torn = true;
            break;
        }
        uint32_t length = s_get_le32 (data + offset);
        uint32_t crc = s_get_le32 (data + offset + 4);
        if (version != 1 && zjob_crc32c (0, data + offset, 8) != s_get_le32 (data + offset + 8)) {
            //  The length cannot be believed. Only the last record can be
            //  torn: an intact record after this one says it is damage
            size_t next = s_next_intact (version, data, size, offset + 1);
            snprintf (replay.why, sizeof replay.why, "record header CRC mismatch, length "
                      "field %" PRIu32 " damaged%s", length,
                      next? ", with intact records after it": "");
            torn = next == 0;
            break;
        }
        if (length > left - header) {
            //  Format 2: the header checked out, so this is the last record
            //  cut short. Format 1 cannot tell a damaged length from that,
            //  except by what follows: an intact record after it says the
            //  length is what is wrong
            size_t next = version == 1? s_next_intact (version, data, size, offset + 1): 0;
            if (next)
                snprintf (replay.why, sizeof replay.why, "length %" PRIu32 " runs past the end, "
                          "but an intact record follows at offset %zu: a damaged length",
                          length, next);
            else
                snprintf (replay.why, sizeof replay.why, "length %" PRIu32 " runs past the end",
                          length);
            torn = next == 0;
            break;
        }
        const uint8_t *payload = data + offset + header;
        if (zjob_crc32c (0, payload, length) != crc) {
            snprintf (replay.why, sizeof replay.why, "crc mismatch");
            torn = (offset + header + length == size);
            break;
        }
        rc = s_apply (self, payload, length, &replay);
        if (rc)
            break;
        offset += header + length;
        records++;
    }
    if (rc != -2 && s_apply_deferred (self, &replay))
        rc = -2;
    zjob_job_destroy (&replay.deferred);
    msgpack_zone_destroy (&replay.zone);
    if (rc == -2)
        return zjob_error_set (err, ZJOB_INTERNAL, "journal %s: out of memory replaying "
                               "the record at offset %zu", self->path, offset);
    self->journal_bytes = offset;
    self->records = records;
    if (offset == size)
        return 0;

    if (!torn && s_all_zero (data + offset, size - offset)) {
        snprintf (replay.why, sizeof replay.why, "zero-filled tail");
        torn = true;
    }
    if (torn) {
        zsys_warning ("journal %s: torn record at offset %zu (%s): "
                      "dropping the last %zu bytes, keeping %" PRIu64 " records",
                      self->path, offset, replay.why, size - offset, records);
        return s_truncate (self, offset, err);
    }
    //  What the damaged part still holds, for the message; it is never
    //  replayed (see the README: a lost delete must not bring a job back)
    uint64_t after = s_count_intact (version, data, size, offset + 1);
    if (!self->salvage)
        return zjob_error_set (err, ZJOB_INTERNAL,
                               "journal %s: corrupt record at offset %zu (%s), %" PRIu64
                               " intact records after it; start with ?salvage=truncate to keep "
                               "the %" PRIu64 " records before it",
                               self->path, offset, replay.why, after, records);
    char name [64];
    if (s_save_copy (self, data, size, name, sizeof name, err))
        return -1;
    zsys_warning ("journal %s: corrupt record at offset %zu (%s): salvage=truncate "
                  "keeps the %" PRIu64 " records before it and drops the %zu bytes from it "
                  "on (%" PRIu64 " intact records among them), original saved as %s/%s",
                  self->path, offset, replay.why, records, size - offset, after,
                  self->dir, name);
    return s_truncate (self, offset, err);
}

//  Read the journal at self->fd into the table. 0, or -1 with err filled.
static int
s_recover (zjob_store_file_t *self, zjob_error_t *err)
{
    struct stat status;
    if (fstat (self->fd, &status))
        return zjob_error_set (err, ZJOB_INTERNAL, "journal %s: cannot stat: %s",
                               self->path, strerror (errno));
    size_t size = (size_t) status.st_size;
    if (size < ZJOB_MAGIC_SIZE) {
        //  Only a creation cut short leaves a prefix of the header
        char head [ZJOB_MAGIC_SIZE];
        ssize_t got = size? pread (self->fd, head, size, 0): 0;
        if (got != (ssize_t) size || (memcmp (head, ZJOB_JOURNAL_MAGIC, size) != 0
                                   && memcmp (head, ZJOB_JOURNAL_MAGIC_V1, size) != 0))
            return zjob_error_set (err, ZJOB_INTERNAL,
                                   "journal %s: not a zjob journal (%zu bytes, no " ZJOB_JOURNAL_MAGIC " header)",
                                   self->path, size);
        zsys_warning ("journal %s: incomplete header (%zu bytes), starting empty", self->path, size);
        if (s_rewrite (self, err))
            return -1;
        self->compactions = 0;
        return 0;
    }
    void *map = mmap (NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, self->fd, 0);
    if (map == MAP_FAILED)
        return zjob_error_set (err, ZJOB_INTERNAL, "journal %s: cannot map: %s",
                               self->path, strerror (errno));
    madvise (map, size, MADV_SEQUENTIAL);
    int rc;
    int version = memcmp (map, ZJOB_JOURNAL_MAGIC, ZJOB_MAGIC_SIZE) == 0? 2
                : memcmp (map, ZJOB_JOURNAL_MAGIC_V1, ZJOB_MAGIC_SIZE) == 0? 1: 0;
    if (version == 0)
        rc = zjob_error_set (err, ZJOB_INTERNAL,
                             "journal %s: not a zjob journal (bad magic, expected " ZJOB_JOURNAL_MAGIC
                             " or " ZJOB_JOURNAL_MAGIC_V1 ")", self->path);
    else
        rc = s_replay (self, version, (const uint8_t *) map, size, err);
    munmap (map, size);
    if (rc == 0 && version == 1) {
        //  Records are appended in format 2 only, so an old journal is
        //  rewritten whole before anything is added to it
        if (s_rewrite (self, err))
            return -1;
        self->compactions = 0;
        zsys_info ("journal %s: upgraded from format 1 to format 2 (%" PRIu64 " records)",
                   self->path, self->records);
    }
    return rc;
}


//  ---------------------------------------------------------------------
//  Opening and options

#define ZJOB_FILE_OPTIONS \
    "fsync=always|interval:<duration>|never, compact=<bytes>, salvage=truncate"

//  Bytes such as "1048576", "512k", "64m", "1g" (also "64MiB", "64MB").
//  Returns -1 if text is not that.
static int64_t
s_bytes_parse (const char *text)
{
    if (!isdigit ((unsigned char) *text))
        return -1;
    errno = 0;
    char *end;
    unsigned long long value = strtoull (text, &end, 10);
    if (errno)
        return -1;
    unsigned shift = 0;
    switch (tolower ((unsigned char) *end)) {
        case 'k': shift = 10; end++; break;
        case 'm': shift = 20; end++; break;
        case 'g': shift = 30; end++; break;
        default: break;
    }
    if (shift && (*end == 'i' || *end == 'I'))
        end++;
    if (*end == 'b' || *end == 'B')
        end++;
    if (*end || value > (unsigned long long) (INT64_MAX >> shift))
        return -1;
    return (int64_t) (value << shift);
}

static int
s_parse_options (zjob_store_file_t *self, const char *options, zjob_error_t *err)
{
    if (!options)
        return 0;
    char *copy = strdup (options);
    if (!copy)
        return zjob_error_set (err, ZJOB_INTERNAL, "file store: out of memory");
    int rc = 0;
    char *saveptr = NULL;
    for (char *option = strtok_r (copy, "&", &saveptr); option && rc == 0;
         option = strtok_r (NULL, "&", &saveptr)) {
        char *value = strchr (option, '=');
        if (value)
            *value++ = 0;
        if (streq (option, "fsync") && value) {
            if (streq (value, "always"))
                self->policy = S_FSYNC_ALWAYS;
            else
            if (streq (value, "never"))
                self->policy = S_FSYNC_NEVER;
            else
            if (strncmp (value, "interval:", 9) == 0
            &&  (self->interval_ms = zjob_duration_parse (value + 9)) >= 0)
                self->policy = S_FSYNC_INTERVAL;
            else
                rc = zjob_error_set (err, ZJOB_BAD_REQUEST,
                                     "file store: fsync=%.40s: expected always, "
                                     "interval:<duration> (as interval:50ms) or never", value);
        }
        else
        if (streq (option, "compact") && value) {
            int64_t bytes = s_bytes_parse (value);
            if (bytes < 0)
                rc = zjob_error_set (err, ZJOB_BAD_REQUEST,
                                     "file store: compact=%.40s: expected a size in bytes "
                                     "(as 1048576, 512k or 64m)", value);
            else
                self->compact_min = (uint64_t) bytes;
        }
        else
        if (streq (option, "salvage") && value) {
            if (streq (value, "truncate"))
                self->salvage = true;
            else
                rc = zjob_error_set (err, ZJOB_BAD_REQUEST,
                                     "file store: salvage=%.40s: the only salvage is truncate", value);
        }
        else
            rc = zjob_error_set (err, ZJOB_BAD_REQUEST,
                                 "file store: unknown option '%.40s%s%.40s': accepted are " ZJOB_FILE_OPTIONS,
                                 option, value? "=": "", value? value: "");
    }
    free (copy);
    return rc;
}

//  mkdir -p, with mode 0700 for what it creates. 0 or -1 with errno set.
static int
s_make_dir (const char *dir)
{
    char *path = strdup (dir);
    if (!path)
        return -1;
    int rc = 0;
    for (char *slash = strchr (path + 1, '/'); slash && rc == 0; slash = strchr (slash + 1, '/')) {
        *slash = 0;
        if (mkdir (path, 0700) && errno != EEXIST)
            rc = -1;
        *slash = '/';
    }
    if (rc == 0 && mkdir (path, 0700) && errno != EEXIST)
        rc = -1;
    int error = errno;
    free (path);
    errno = error;
    return rc;
}

static void
s_close (void *self_)
{
    zjob_store_file_t *self = (zjob_store_file_t *) self_;
    if (!self)
        return;
    s_compact_abort (self);
    if (self->pending.size)
        zsys_warning ("journal %s: closed with %zu bytes never written", self->path, self->pending.size);
    //  What fsync=interval left for later cannot wait for a later sync
    if (self->fd >= 0 && self->unsynced && !self->broken && self->policy != S_FSYNC_NEVER) {
        zjob_error_t err;
        if (s_sync_journal (self, &err))
            zsys_warning ("%s", err.text);
    }
    if (self->fd >= 0)
        close (self->fd);
    if (self->lockfd >= 0)
        close (self->lockfd);           //  Releases the flock
    if (self->dirfd >= 0)
        close (self->dirfd);
    zjob_store_memory_table_destroy (&self->table);
    msgpack_sbuffer_destroy (&self->pending);
    free (self->dir);
    free (self->path);
    free (self);
}

static int
s_open (zjob_store_file_t *self, const char *dir, zjob_error_t *err)
{
    self->dir = strdup (dir);
    if (!self->dir || asprintf (&self->path, "%s/journal", dir) < 0) {
        self->path = NULL;
        return zjob_error_set (err, ZJOB_INTERNAL, "file store: out of memory");
    }
    if (s_make_dir (dir))
        return zjob_error_set (err, ZJOB_INTERNAL, "file store: cannot create directory %s: %s",
                               dir, strerror (errno));
    self->dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (self->dirfd < 0)
        return zjob_error_set (err, ZJOB_INTERNAL, "file store: cannot open directory %s: %s",
                               dir, strerror (errno));
    self->lockfd = openat (self->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (self->lockfd < 0)
        return zjob_error_set (err, ZJOB_INTERNAL, "file store: cannot open %s/lock: %s",
                               dir, strerror (errno));
    if (flock (self->lockfd, LOCK_EX | LOCK_NB))
        return zjob_error_set (err, ZJOB_INTERNAL, "file store: %s is in use by another process (%s)",
                               dir, strerror (errno));
    self->table = zjob_store_memory_table_new (true);
    if (!self->table)
        return zjob_error_set (err, ZJOB_INTERNAL, "file store: out of memory");

    //  A journal.tmp is what a compaction left when it was cut short
    if (unlinkat (self->dirfd, "journal.tmp", 0) == 0)
        zsys_warning ("journal %s: removed journal.tmp of an unfinished compaction", self->path);
    self->fd = openat (self->dirfd, "journal", O_RDWR | O_CLOEXEC);
    if (self->fd < 0 && errno == ENOENT) {
        //  A new journal appears whole, with its header, or not at all
        if (s_rewrite (self, err))
            return -1;
        self->compactions = 0;
        return 0;
    }
    if (self->fd < 0)
        return zjob_error_set (err, ZJOB_INTERNAL, "journal %s: cannot open: %s",
                               self->path, strerror (errno));
    return s_recover (self, err);
}


//  ---------------------------------------------------------------------
//  The store operations

static int
s_put (void *self_, zjob_job_t *job, zjob_error_t *err)
{
    zjob_store_file_t *self = (zjob_store_file_t *) self_;
    if (!job || !job->id [0])
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "store put: job without an id");
    size_t mark = self->pending.size;
    uint32_t size, old_size;
    if (s_encode (&self->pending, job, NULL, &size))
        return zjob_error_set (err, ZJOB_INTERNAL, "journal %s: cannot encode job %s",
                               self->path, job->id);
    if (zjob_store_memory_insert (self->table, job, size, &old_size)) {
        self->pending.size = mark;
        return zjob_error_set (err, ZJOB_INTERNAL, "store put: out of memory");
    }
    self->live_bytes += size;
    self->live_bytes -= old_size;
    self->records++;
    //  Write early to bound the buffer; a failure is sync's to report
    if (self->pending.size >= ZJOB_WRITE_CHUNK && !self->broken && !self->write_failed)
        s_write_pending (self, NULL);
    return 0;
}

static zjob_job_t *
s_get (void *self_, const char *id)
{
    zjob_store_file_t *self = (zjob_store_file_t *) self_;
    zjob_job_t *job = zjob_store_memory_lookup (self->table, id);
    return job? zjob_job_ref (job): NULL;
}

static int
s_remove (void *self_, const char *id, zjob_error_t *err)
{
    zjob_store_file_t *self = (zjob_store_file_t *) self_;
    if (!zjob_store_memory_lookup (self->table, id))
        return zjob_error_set (err, ZJOB_NOT_FOUND, "job %s not found", id);
    size_t mark = self->pending.size;
    uint32_t size, old_size;
    if (s_encode (&self->pending, NULL, id, &size))
        return zjob_error_set (err, ZJOB_INTERNAL, "journal %s: cannot encode removal of %s",
                               self->path, id);
    if (zjob_store_memory_delete (self->table, id, &old_size)) {
        self->pending.size = mark;
        return zjob_error_set (err, ZJOB_NOT_FOUND, "job %s not found", id);
    }
    self->live_bytes -= old_size;
    self->records++;
    return 0;
}

static int
s_iterate (void *self_, const zjob_filter_t *filter, zjob_store_visit_fn *visit, void *arg)
{
    zjob_store_file_t *self = (zjob_store_file_t *) self_;
    return zjob_store_memory_ops.iterate (self->table, filter, visit, arg);
}

static size_t
s_count (void *self_)
{
    zjob_store_file_t *self = (zjob_store_file_t *) self_;
    return zjob_store_memory_size (self->table);
}

static int
s_sync (void *self_, zjob_error_t *err)
{
    zjob_store_file_t *self = (zjob_store_file_t *) self_;
    self->syncs++;
    zjob_store_memory_trim (self->table);
    int64_t now = zclock_mono ();
    if (self->broken) {
        //  Only a full rewrite from memory makes the journal trustworthy again
        if (now < self->retry_at) {
            if (err)
                *err = self->failure;
            return -1;
        }
        zjob_error_t failure;
        if (s_rewrite (self, &failure)) {
            self->failure = failure;
            self->retry_at = now + ZJOB_REWRITE_RETRY_MS;
            if (err)
                *err = failure;
            return -1;
        }
        self->broken = false;
        zsys_info ("journal %s: rewritten after a failed fdatasync, durable again", self->path);
        return 0;
    }
    if (s_write_pending (self, err))
        return -1;
    if (self->unsynced
    && (self->policy == S_FSYNC_ALWAYS
    ||  (self->policy == S_FSYNC_INTERVAL && now - self->last_fsync_ms >= self->interval_ms))) {
        if (s_sync_journal (self, &self->failure)) {
            self->broken = true;
            self->retry_at = 0;
            if (err)
                *err = self->failure;
            return -1;
        }
    }
    if (self->compact) {
        int state = atomic_load (&self->compact->state);
        if (state == S_COMPACT_DONE)
            return s_compact_finish (self, err);
        if (state == S_COMPACT_FAILED) {
            s_compact_t *compact = self->compact;
            if (compact->step && streq (compact->step, "read a record"))
                zsys_warning ("journal %s: compaction failed: the record at offset %" PRIu64
                              " no longer reads back (damage on the disk?); retried in %d s",
                              self->path, compact->copied_end, ZJOB_COMPACT_RETRY_MS / 1000);
            else
                zsys_warning ("journal %s: compaction failed (%s of %s/journal.tmp): %s; "
                              "retried in %d s", self->path, compact->step, self->dir,
                              strerror (compact->error), ZJOB_COMPACT_RETRY_MS / 1000);
            s_compact_abort (self);
            self->compact_at = now + ZJOB_COMPACT_RETRY_MS;
        }
        return 0;
    }
    uint64_t threshold = self->compact_min > 2 * self->live_bytes
                       ? self->compact_min: 2 * self->live_bytes;
    if (self->journal_bytes - ZJOB_MAGIC_SIZE > threshold && now >= self->compact_at) {
        zjob_error_t failure;
        if (s_compact_start (self, &failure)) {
            zsys_warning ("%s; compaction is retried in %d s", failure.text,
                          ZJOB_COMPACT_RETRY_MS / 1000);
            self->compact_at = now + ZJOB_COMPACT_RETRY_MS;
        }
    }
    return 0;
}

static void
s_stat (zhashx_t *into, const char *key, uint64_t value)
{
    char text [32];
    snprintf (text, sizeof text, "%" PRIu64, value);
    zhashx_update (into, key, text);
}

static void
s_stats (void *self_, zhashx_t *into)
{
    zjob_store_file_t *self = (zjob_store_file_t *) self_;
    s_stat (into, "journal_bytes", self->journal_bytes);
    s_stat (into, "pending_bytes", self->pending.size);
    s_stat (into, "live_bytes", self->live_bytes);
    s_stat (into, "records", self->records);
    s_stat (into, "syncs", self->syncs);
    s_stat (into, "fsyncs", self->fsyncs);
    s_stat (into, "compactions", self->compactions);
    s_stat (into, "compacting", self->compact != NULL);
    s_stat (into, "trims", zjob_store_memory_trims (self->table));
    s_stat (into, "last_compact_us", (uint64_t) self->last_compact_us);
    s_stat (into, "last_fsync_us", (uint64_t) self->last_fsync_us);
    char policy [48];
    if (self->policy == S_FSYNC_INTERVAL)
        snprintf (policy, sizeof policy, "interval:%" PRId64 "ms", self->interval_ms);
    else
        snprintf (policy, sizeof policy, "%s", self->policy == S_FSYNC_ALWAYS? "always": "never");
    zhashx_update (into, "policy", policy);
}

static const zjob_store_ops_t s_file_ops = {
    .name = "file",
    .put = s_put,
    .get = s_get,
    .remove = s_remove,
    .iterate = s_iterate,
    .count = s_count,
    .sync = s_sync,
    .stats = s_stats,
    .close = s_close
};

zjob_store_t *
zjob_store_file_new (const char *dir, const char *options, zjob_error_t *err)
{
    if (!dir || !*dir) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "file store: no directory given");
        return NULL;
    }
    zjob_store_file_t *self = (zjob_store_file_t *) calloc (1, sizeof *self);
    if (!self) {
        zjob_error_set (err, ZJOB_INTERNAL, "file store: out of memory");
        return NULL;
    }
    self->fd = self->dirfd = self->lockfd = -1;
    msgpack_sbuffer_init (&self->pending);
    self->policy = S_FSYNC_ALWAYS;
    self->compact_min = ZJOB_COMPACT_DEFAULT;
    self->last_fsync_ms = zclock_mono ();
    if (s_parse_options (self, options, err) || s_open (self, dir, err)) {
        s_close (self);
        return NULL;
    }
    zjob_store_t *store = zjob_store_new (&s_file_ops, self);
    if (!store)
        zjob_error_set (err, ZJOB_INTERNAL, "file store: out of memory");
    return store;
}
