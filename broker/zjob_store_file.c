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
    by zjob_job_pack) or [2, id] (DEL), or for a named record (templates,
    schedules...; zjob_store_file_records.c) [3, kind, name, bin] or
    [4, kind, name]. Replaying in order, PUT replaces and DEL removes,
    gives the live jobs and records. The header's own CRC is what lets
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
    the file never holds a gap. A short write (a disk that fills up in the
    middle of a record) moves the offset past the bytes that did land, and
    only the rest stays buffered: the next sync completes the record where
    it stopped; a crash in between leaves a torn last record, which the
    next open cuts off. The puts behind those bytes are in the table
    already, so the first sync that succeeds makes the journal agree with
    it again, nothing put twice. A failed fdatasync is worse, because the
    kernel may have dropped the dirty pages and a second fdatasync would
    then succeed on lost data; so the store turns "broken": sync returns -1
    until a full rewrite of the journal from the jobs in memory succeeds
    (tried at most once a second), and nothing is declared durable before.
    A compaction never competes with the journal for space: it does not
    start without room for about twice the live bytes (statvfs), a failed
    one removes its journal.tmp at the next sync, write failing or not,
    and a journal write that fails while one runs abandons it and is tried
    again at once.

    Compaction. When the journal passes max(compact, 2 x live) bytes at the
    end of a sync, it is rewritten on a thread of the store's own and, at a
    later sync, renamed over the old one (zjob_store_file_compact.c, whose
    banner tells how). A DIR/lock file held with flock keeps a second
    process off the same journal. The struct and the record format the two
    files share are in the private zjob_store_file_impl.h.

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

#include "zjob_store_file_impl.h"
#include "zjob_log.h"
#include "zjob_msgpack.h"
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>


//  ---------------------------------------------------------------------
//  Encoding

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
    if (rc) {
        buffer->size = start;
        return -1;
    }
    return s_seal (buffer, start, size_p);
}

//  ---------------------------------------------------------------------
//  Writing

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

void
zjob_store_file_write_early (zjob_store_file_t *self)
{
    if (self->pending.size >= ZJOB_WRITE_CHUNK && !self->broken && !self->write_failed)
        s_write_pending (self, NULL);
}

//  fdatasync the journal, keeping the figures. 0, or -1 with err filled.
static int
s_sync_journal (zjob_store_file_t *self, zjob_error_t *err)
{
    int64_t start = zclock_usecs ();
    int rc = zjob_store_file_fdatasync (self->fd);
    int error = errno;
    self->last_fsync_us = zclock_usecs () - start;
    self->last_fsync_ms = zclock_mono ();
    self->fsyncs++;
    if (rc)
        return zjob_error_set (err, ZJOB_INTERNAL, "journal %s: fdatasync failed: %s (what "
                                                   "it wrote may be lost: the journal is "
                                                   "rewritten whole before anything is durable)",
                               self->path, strerror (error));
    self->unsynced = false;
    return 0;
}

//  State of a rewrite while it walks the table
typedef struct {
    msgpack_sbuffer buffer;  //  Records not yet written
    int fd;                  //  DIR/journal.tmp
    uint64_t offset;         //  Bytes written to it
    int64_t live_delta;      //  Change of the live bytes
    uint64_t records;        //  Records encoded
    int error;               //  errno of a failed write, ENOMEM
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

static int
s_rewrite_record (const char *kind, const char *name, const uint8_t *data, size_t size,
                  uint32_t *journal_size, void *arg)
{
    s_rewrite_t *rewrite = (s_rewrite_t *) arg;
    uint32_t record_size;
    if (zjob_store_file_record_encode (&rewrite->buffer, kind, name, data, size, &record_size)) {
        rewrite->error = ENOMEM;
        return -1;
    }
    rewrite->live_delta += (int64_t) record_size - (int64_t) *journal_size;
    *journal_size = record_size;
    rewrite->records++;
    if (rewrite->buffer.size >= ZJOB_WRITE_CHUNK)
        return s_flush_rewrite (rewrite);
    return 0;
}

//  Replace the journal by one holding a PUT of each live job and record: write
//  journal.tmp, fdatasync it, rename it over journal, fsync the directory.
//  Pending records are then obsolete and dropped. 0, or -1 with err
//  filled; the old journal stays in use unless the rename was done.

static int
s_rewrite (zjob_store_file_t *self, zjob_error_t *err)
{
    zjob_store_file_compact_abort (self);  //  What it was doing is moot now
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
        walk_rc = zjob_store_memory_walk (self->table, s_rewrite_one, &rewrite)
            || zjob_records_walk (zjob_store_memory_records (self->table), s_rewrite_record,
                                  &rewrite);
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
    zjob_store_file_syncer_journal (self);
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
//  Recovery

//  Replay state: the record decoded last is inserted only after the next
//  one is decoded, with its table slot prefetched meanwhile, so that the
//  cache miss of a random slot overlaps with useful work.
typedef struct {
    msgpack_zone zone;               //  Objects of the record at hand
    zjob_job_t *deferred;            //  Decoded job not yet in the table
    uint32_t deferred_size;          //  Its record size
    char why [ZJOB_ERROR_TEXT_MAX];  //  What is wrong with a bad record
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
    //  Scanned first: msgpack-c sizes an array's objects by its count
    //  before reading them, and a count of 4 billion fits in 5 bytes
    size_t end = 0;
    if (zjob_msgpack_scan (payload, length, ZJOB_MSGPACK_DEPTH_MAX, UINT64_MAX, &end)
            != ZJOB_SCAN_OK
        || end != length) {
        snprintf (replay->why, sizeof replay->why, "invalid msgpack");
        return -1;
    }
    msgpack_unpack_return rc = msgpack_unpack ((const char *) payload, length, &offset,
                                               &replay->zone, &object);
    if (rc != MSGPACK_UNPACK_SUCCESS || offset != length) {
        snprintf (replay->why, sizeof replay->why, "invalid msgpack");
        return -1;
    }
    if (object.type != MSGPACK_OBJECT_ARRAY || object.via.array.size < 2
        || object.via.array.ptr [0].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        snprintf (replay->why, sizeof replay->why, "not a record");
        return -1;
    }
    uint64_t kind = object.via.array.ptr [0].via.u64;
    if (kind == ZJOB_RECORD_NAMED_PUT || kind == ZJOB_RECORD_NAMED_DEL)
        return zjob_store_file_record_apply (self, &object, length + ZJOB_RECORD_HEADER,
                                             replay->why, sizeof replay->why);
    if (object.via.array.size != 2) {
        snprintf (replay->why, sizeof replay->why, "not a record");
        return -1;
    }
    const msgpack_object *body = &object.via.array.ptr [1];
    if (kind == ZJOB_RECORD_PUT) {
        zjob_error_t err;
        zjob_job_t *job = zjob_job_from_object (body, &err);
        if (!job && err.code == ZJOB_INTERNAL)
            return -2;  //  Out of memory, not corruption
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
    else if (kind == ZJOB_RECORD_DEL) {
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
//  starts as a record does (s_record_start).
static bool
s_intact_at (int version, const uint8_t *data, size_t size, size_t offset)
{
    size_t header = version == 1 ? ZJOB_RECORD_HEADER_V1 : ZJOB_RECORD_HEADER;
    if (size - offset < header + 2)
        return false;
    const uint8_t *at = data + offset;
    const uint8_t *payload = at + header;
    //  The cheap tests first: most offsets fail on these three bytes
    if (!s_record_start (payload, 2))
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
    size_t header = version == 1 ? ZJOB_RECORD_HEADER_V1 : ZJOB_RECORD_HEADER;
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
    size_t header = version == 1 ? ZJOB_RECORD_HEADER_V1 : ZJOB_RECORD_HEADER;
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
                                                     "field %" PRIu32 " damaged%s",
                      length,
                      next ? ", with intact records after it" : "");
            torn = next == 0;
            break;
        }
        if (length > left - header) {
            //  Format 2: the header checked out, so this is the last record
            //  cut short. Format 1 cannot tell a damaged length from that,
            //  except by what follows: an intact record after it says the
            //  length is what is wrong
            size_t next = version == 1 ? s_next_intact (version, data, size, offset + 1) : 0;
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
                                                   "the record at offset %zu",
                               self->path, offset);
    self->journal_bytes = offset;
    self->records = records;
    if (offset == size)
        return 0;

    if (!torn && s_all_zero (data + offset, size - offset)) {
        snprintf (replay.why, sizeof replay.why, "zero-filled tail");
        torn = true;
    }
    if (torn) {
        zjob_log_warning ("journal %s: torn record at offset %zu (%s): "
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
    zjob_log_warning ("journal %s: corrupt record at offset %zu (%s): salvage=truncate "
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
        ssize_t got = size ? pread (self->fd, head, size, 0) : 0;
        if (got != (ssize_t) size || (memcmp (head, ZJOB_JOURNAL_MAGIC, size) != 0 && memcmp (head, ZJOB_JOURNAL_MAGIC_V1, size) != 0))
            return zjob_error_set (err, ZJOB_INTERNAL,
                                   "journal %s: not a zjob journal (%zu bytes, no " ZJOB_JOURNAL_MAGIC " header)",
                                   self->path, size);
        zjob_log_warning ("journal %s: incomplete header (%zu bytes), starting empty", self->path, size);
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
    int version = memcmp (map, ZJOB_JOURNAL_MAGIC, ZJOB_MAGIC_SIZE) == 0 ? 2
        : memcmp (map, ZJOB_JOURNAL_MAGIC_V1, ZJOB_MAGIC_SIZE) == 0      ? 1
                                                                         : 0;
    if (version == 0)
        rc = zjob_error_set (err, ZJOB_INTERNAL,
                             "journal %s: not a zjob journal (bad magic, expected " ZJOB_JOURNAL_MAGIC
                             " or " ZJOB_JOURNAL_MAGIC_V1 ")",
                             self->path);
    else {
        //  A snapshot comes in table order: the creation-order index is
        //  sorted once at the end rather than kept record by record
        zjob_store_memory_index_suspend (self->table);
        rc = s_replay (self, version, (const uint8_t *) map, size, err);
        if (zjob_store_memory_index_build (self->table) && rc == 0)
            rc = zjob_error_set (err, ZJOB_INTERNAL, "journal %s: out of memory indexing jobs",
                                 self->path);
    }
    munmap (map, size);
    if (rc == 0 && version == 1) {
        //  Records are appended in format 2 only, so an old journal is
        //  rewritten whole before anything is added to it
        if (s_rewrite (self, err))
            return -1;
        self->compactions = 0;
        zjob_log_info ("journal %s: upgraded from format 1 to format 2 (%" PRIu64 " records)",
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
        case 'k':
            shift = 10;
            end++;
            break;
        case 'm':
            shift = 20;
            end++;
            break;
        case 'g':
            shift = 30;
            end++;
            break;
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

//  One option of the spec (zjob_store_options_each)
static int
s_option (const char *option, const char *value, void *arg, zjob_error_t *err)
{
    zjob_store_file_t *self = (zjob_store_file_t *) arg;
    int rc = 0;
    if (streq (option, "fsync") && value) {
        if (streq (value, "always"))
            self->policy = S_FSYNC_ALWAYS;
        else if (streq (value, "never"))
            self->policy = S_FSYNC_NEVER;
        else if (strncmp (value, "interval:", 9) == 0
                 && (self->interval_ms = zjob_duration_parse (value + 9)) >= 0)
            self->policy = S_FSYNC_INTERVAL;
        else
            rc = zjob_error_set (err, ZJOB_BAD_REQUEST,
                                 "file store: fsync=%.40s: expected always, "
                                 "interval:<duration> (as interval:50ms) or never",
                                 value);
    }
    else if (streq (option, "compact") && value) {
        int64_t bytes = s_bytes_parse (value);
        if (bytes < 0)
            rc = zjob_error_set (err, ZJOB_BAD_REQUEST,
                                 "file store: compact=%.40s: expected a size in bytes "
                                 "(as 1048576, 512k or 64m)",
                                 value);
        else
            self->compact_min = (uint64_t) bytes;
    }
    else if (streq (option, "salvage") && value) {
        if (streq (value, "truncate"))
            self->salvage = true;
        else
            rc = zjob_error_set (err, ZJOB_BAD_REQUEST,
                                 "file store: salvage=%.40s: the only salvage is truncate", value);
    }
    else
        rc = zjob_error_set (err, ZJOB_BAD_REQUEST,
                             "file store: unknown option '%.40s%s%.40s': accepted are " ZJOB_FILE_OPTIONS,
                             option, value ? "=" : "", value ? value : "");
    return rc;
}

static int
s_parse_options (zjob_store_file_t *self, const char *options, zjob_error_t *err)
{
    return zjob_store_options_each (options, "file", s_option, self, err);
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
    zjob_store_file_compact_abort (self);
    zjob_store_file_syncer_settle (self);
    zjob_store_file_syncer_destroy (self);
    if (self->pending.size)
        zjob_log_warning ("journal %s: closed with %zu bytes never written", self->path, self->pending.size);
    //  What fsync=interval left for later cannot wait for a later sync
    if (self->fd >= 0 && self->unsynced && !self->broken && self->policy != S_FSYNC_NEVER) {
        zjob_error_t err;
        if (s_sync_journal (self, &err))
            zjob_log_warning ("%s", err.text);
    }
    if (self->fd >= 0)
        close (self->fd);
    if (self->lockfd >= 0)
        close (self->lockfd);  //  Releases the flock
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
        zjob_log_warning ("journal %s: removed journal.tmp of an unfinished compaction", self->path);
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
    zjob_store_file_write_early (self);
    return 0;
}

static zjob_job_t *
s_get (void *self_, const char *id)
{
    zjob_store_file_t *self = (zjob_store_file_t *) self_;
    zjob_job_t *job = zjob_store_memory_lookup (self->table, id);
    return job ? zjob_job_ref (job) : NULL;
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

static int
s_walk (void *self_, const zjob_filter_t *filter, bool descending, char *cursor, size_t max,
        zjob_store_visit_fn *visit, void *arg)
{
    zjob_store_file_t *self = (zjob_store_file_t *) self_;
    return zjob_store_memory_walk_ids (self->table, filter, descending, cursor, max, visit, arg);
}

static size_t
s_count (void *self_)
{
    zjob_store_file_t *self = (zjob_store_file_t *) self_;
    return zjob_store_memory_size (self->table);
}

//  The compaction under way failed (its thread said why): forget it and
//  its journal.tmp, and try again later
static void
s_compact_failed (zjob_store_file_t *self, int64_t now)
{
    s_compact_t *compact = self->compact;
    if (compact->step && streq (compact->step, "read a record"))
        zjob_log_warning ("journal %s: compaction failed: the record at offset %" PRIu64
                          " no longer reads back (damage on the disk?); retried in %d s",
                          self->path, compact->copied_end, ZJOB_COMPACT_RETRY_MS / 1000);
    else
        zjob_log_warning ("journal %s: compaction failed (%s of %s/journal.tmp): %s; "
                          "retried in %d s",
                          self->path, compact->step, self->dir,
                          strerror (compact->error), ZJOB_COMPACT_RETRY_MS / 1000);
    zjob_store_file_compact_abort (self);
    self->compact_at = now + ZJOB_COMPACT_RETRY_MS;
}

//  Whether the journal's filesystem has room for a compaction: its copy
//  of the live records, with as much again for what the store appends
//  meanwhile. Starting one that cannot finish would only take the space
//  the journal's own writes need. 0, or -1 with err filled.
static int
s_compact_room (zjob_store_file_t *self, zjob_error_t *err)
{
    struct statvfs fs;
    if (fstatvfs (self->fd, &fs))
        return 0;  //  Unknown: the compaction finds out for itself
    uint64_t room = (uint64_t) fs.f_bavail * fs.f_frsize;
    uint64_t needed = 2 * self->live_bytes + ZJOB_COMPACT_SLACK;
    if (room >= needed)
        return 0;
    return zjob_error_set (err, ZJOB_INTERNAL,
                           "journal %s: not compacted: %" PRIu64 " bytes free in %s, "
                           "a compaction needs about %" PRIu64,
                           self->path, room, self->dir, needed);
}

//  What sync and sync_begin share: write, fdatasync (ask > 0: asked of the
//  thread for that ticket, *asked_p set true if it was), compaction. 0,
//  or -1 with err filled
static int
s_sync_with (zjob_store_file_t *self, uint64_t ask, bool *asked_p, zjob_error_t *err)
{
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
        zjob_log_info ("journal %s: rewritten after a failed fdatasync, durable again", self->path);
        return 0;
    }
    //  A compaction that failed (a full disk, say) gives its space back
    //  first, whatever happens to the write below
    if (self->compact && atomic_load (&self->compact->state) == S_COMPACT_FAILED)
        s_compact_failed (self, now);
    if (s_write_pending (self, err)) {
        if (!self->compact)
            return -1;
        //  The journal comes first: a compaction under way may be what
        //  filled the disk. Its journal.tmp goes, and the write is tried
        //  again at once
        zjob_log_warning ("journal %s: a write failed during a compaction: compaction "
                          "abandoned, retried in %d s",
                          self->path, ZJOB_COMPACT_RETRY_MS / 1000);
        zjob_store_file_compact_abort (self);
        self->compact_at = now + ZJOB_COMPACT_RETRY_MS;
        if (s_write_pending (self, err))
            return -1;
    }
    if (self->unsynced
        && (self->policy == S_FSYNC_ALWAYS
            || (self->policy == S_FSYNC_INTERVAL && now - self->last_fsync_ms >= self->interval_ms))) {
        if (ask && zjob_store_file_syncer_ask (self, ask) == 0) {
            //  The thread's fdatasync covers every byte written so far
            self->unsynced = false;
            self->last_fsync_ms = now;
            *asked_p = true;
        }
        else if (s_sync_journal (self, &self->failure)) {
            self->broken = true;
            self->retry_at = 0;
            if (err)
                *err = self->failure;
            return -1;
        }
    }
    if (self->compact) {
        if (atomic_load (&self->compact->state) == S_COMPACT_DONE)
            return zjob_store_file_compact_finish (self, err);
        return 0;
    }
    uint64_t threshold = self->compact_min > 2 * self->live_bytes
        ? self->compact_min
        : 2 * self->live_bytes;
    if (self->journal_bytes - ZJOB_MAGIC_SIZE > threshold && now >= self->compact_at) {
        zjob_error_t failure;
        if (s_compact_room (self, &failure) || zjob_store_file_compact_start (self, &failure)) {
            zjob_log_warning ("%s; compaction is retried in %d s", failure.text,
                              ZJOB_COMPACT_RETRY_MS / 1000);
            self->compact_at = now + ZJOB_COMPACT_RETRY_MS;
        }
    }
    return 0;
}

static int
s_sync (void *self_, zjob_error_t *err)
{
    zjob_store_file_t *self = (zjob_store_file_t *) self_;
    //  The syncs under way first: a failure among them makes the store
    //  broken, and this sync then goes the broken way
    zjob_store_file_syncer_settle (self);
    int rc = s_sync_with (self, 0, NULL, err);
    self->done = self->ticket;  //  Resolved, durable or not
    return rc;
}

//  An asynchronous sync (zjob_store_sync_begin): as sync, but with
//  fsync=always or an interval due the fdatasync goes to the thread.
//  Returns 1 with a ticket already durable (nothing to wait for), 0 with
//  one the thread will report, -1 with err filled
static int
s_sync_begin (void *self_, uint64_t *ticket, zjob_error_t *err)
{
    zjob_store_file_t *self = (zjob_store_file_t *) self_;
    //  A failed fdatasync not yet taken makes the store broken first
    zjob_store_file_syncer_collect (self, NULL);
    bool asked = false;
    uint64_t next = self->ticket + 1;
    if (s_sync_with (self, next, &asked, err))
        return -1;
    *ticket = self->ticket = next;
    if (asked && self->policy == S_FSYNC_ALWAYS) {
        self->asked = next;
        return 0;
    }
    //  Nothing to wait for of its own (fsync=interval and never do not
    //  wait for the disk): durable as soon as the tickets before it are
    if (self->done == next - 1)
        self->done = next;
    return self->done == next ? 1 : 0;
}

static int
s_sync_poll (void *self_, uint64_t *done, zjob_error_t *err)
{
    zjob_store_file_t *self = (zjob_store_file_t *) self_;
    int rc = zjob_store_file_syncer_collect (self, err);
    *done = self->done;
    return rc;
}

static int
s_sync_fd (void *self_)
{
    zjob_store_file_t *self = (zjob_store_file_t *) self_;
    //  fsync=never: every ticket is done when sync_begin returns
    return self->policy == S_FSYNC_NEVER ? -1 : zjob_store_file_syncer_fd (self);
}

static void
s_stats (void *self_, zhashx_t *into)
{
    zjob_store_file_t *self = (zjob_store_file_t *) self_;
    zjob_store_stat (into, "journal_bytes", self->journal_bytes);
    zjob_store_stat (into, "pending_bytes", self->pending.size);
    zjob_store_stat (into, "live_bytes", self->live_bytes);
    zjob_store_stat (into, "records", self->records);
    zjob_store_stat (into, "named_records", zjob_records_total (zjob_store_memory_records (self->table)));
    uint64_t thread_fsyncs;
    int64_t last_fsync_us = self->last_fsync_us;
    zjob_store_file_syncer_figures (self, &thread_fsyncs, &last_fsync_us);
    zjob_store_stat (into, "syncs", self->syncs);
    zjob_store_stat (into, "fsyncs", self->fsyncs + thread_fsyncs);
    zjob_store_stat (into, "compactions", self->compactions);
    zjob_store_stat (into, "compacting", self->compact != NULL);
    zjob_store_stat (into, "trims", zjob_store_memory_trims (self->table));
    zjob_store_stat (into, "last_compact_us", (uint64_t) self->last_compact_us);
    zjob_store_stat (into, "last_fsync_us", (uint64_t) last_fsync_us);
    char policy [48];
    if (self->policy == S_FSYNC_INTERVAL)
        snprintf (policy, sizeof policy, "interval:%" PRId64 "ms", self->interval_ms);
    else
        snprintf (policy, sizeof policy, "%s", self->policy == S_FSYNC_ALWAYS ? "always" : "never");
    zhashx_update (into, "policy", policy);
}

static const zjob_store_ops_t s_file_ops = {
    .name = "file",
    .put = s_put,
    .get = s_get,
    .remove = s_remove,
    .iterate = s_iterate,
    .walk = s_walk,
    .count = s_count,
    .sync = s_sync,
    .sync_begin = s_sync_begin,
    .sync_poll = s_sync_poll,
    .sync_fd = s_sync_fd,
    .stats = s_stats,
    .close = s_close,
    .record_put = zjob_store_file_record_put,
    .record_remove = zjob_store_file_record_remove,
    .record_get = zjob_store_file_record_get,
    .record_each = zjob_store_file_record_each,
    .record_count = zjob_store_file_record_count
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
