/*  =========================================================================
    zjob_store_file_impl - what the file store's two files share, and nobody else

    The file store is four files over one struct: zjob_store_file.c (the
    store: writing, the rewrite from memory, recovery and salvage, options,
    the store's calls), zjob_store_file_compact.c (the background
    compaction: its thread, its index of live ids, the switch at a sync),
    zjob_store_file_records.c (the named records: their journal entries,
    their replay, their calls) and zjob_store_file_sync.c (the fdatasync
    of an asynchronous sync, on a thread). They share the journal format's
    constants and byte helpers, the struct of the store and of a
    compaction, and the calls declared at the end; everything else is
    static. Private to broker/: nothing outside the file store includes
    it.
    ========================================================================= */

#ifndef ZJOB_STORE_FILE_IMPL_H_INCLUDED
#define ZJOB_STORE_FILE_IMPL_H_INCLUDED

#include "zjob_store_memory.h"
#include "zjob_store_records.h"
#include "zjob_store_file.h"
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#define ZJOB_JOURNAL_MAGIC "ZJOBJNL2"       //  What this code writes
#define ZJOB_JOURNAL_MAGIC_V1 "ZJOBJNL1"    //  Read, then rewritten as format 2
#define ZJOB_MAGIC_SIZE 8                   //  bytes of the file header
#define ZJOB_RECORD_HEADER 12               //  bytes: length, payload CRC, header CRC
#define ZJOB_RECORD_HEADER_V1 8             //  bytes: length, payload CRC
#define ZJOB_RECORD_PUT 1                   //  [1, job map]
#define ZJOB_RECORD_DEL 2                   //  [2, id]
#define ZJOB_RECORD_NAMED_PUT 3             //  [3, kind, name, bin data]
#define ZJOB_RECORD_NAMED_DEL 4             //  [4, kind, name]
#define ZJOB_COMPACT_DEFAULT (64ULL << 20)  //  bytes of journal before compacting
#define ZJOB_WRITE_CHUNK (1 << 20)          //  bytes buffered before a put writes early
#define ZJOB_REWRITE_RETRY_MS 1000          //  msecs between rewrites while broken
#define ZJOB_COMPACT_RETRY_MS 10000         //  msecs after a failed compaction
#define ZJOB_COMPACT_SLACK (64 << 10)       //  bytes free wanted beyond 2 x live


//  Where a background compaction is (s_compact_t.state)
enum {
    S_COMPACT_RUNNING,  //  The thread works
    S_COMPACT_DONE,     //  journal.tmp holds the snapshot and most of
                        //  the tail, fdatasynced; the switch may go
    S_COMPACT_FAILED    //  error and step say why
};

//  A background compaction, shared by the store and its thread. The
//  thread owns everything but source_end and cancel until state leaves
//  S_COMPACT_RUNNING; then the store owns it all.
typedef struct {
    pthread_t thread;
    bool joined;                  //  The store has joined the thread
    int source_fd;                //  The old journal (a dup), read only
    int fd;                       //  DIR/journal.tmp
    uint64_t snapshot_end;        //  Old journal bytes the snapshot covers
    uint64_t snapshot_records;    //  Records of the store then
    uint64_t copied_end;          //  Old journal bytes copied (snapshot + tail)
    uint64_t bytes;               //  Bytes written to journal.tmp
    uint64_t records;             //  Records of the snapshot written to it
    size_t live_hint;             //  Live jobs when it started
    _Atomic uint64_t source_end;  //  Old journal bytes written; the store
                                  //  publishes it after each write
    atomic_bool cancel;           //  The store asks the thread to stop
    atomic_int state;             //  S_COMPACT_*
    int error;                    //  errno of a failure
    const char *step;             //  What failed
    int64_t started_us;           //  For the figures
} s_compact_t;

//  The thread of asynchronous syncs (zjob_store_file_sync.c)
typedef struct _zjob_store_file_syncer_t s_syncer_t;

typedef enum {
    S_FSYNC_ALWAYS,
    S_FSYNC_INTERVAL,
    S_FSYNC_NEVER
} s_policy_t;

typedef struct {
    char *dir;                   //  The directory, for messages
    char *path;                  //  DIR/journal, for messages
    int dirfd;                   //  The directory: openat, fsync
    int lockfd;                  //  DIR/lock, flocked while open
    int fd;                      //  The journal; we pwrite at journal_bytes
    zjob_store_memory_t *table;  //  Live jobs with their record sizes
    msgpack_sbuffer pending;     //  Records encoded but not yet written
    s_policy_t policy;           //  When sync fdatasyncs
    int64_t interval_ms;         //  For S_FSYNC_INTERVAL
    uint64_t compact_min;        //  Journal bytes below which we never compact
    bool salvage;                //  salvage=truncate was given
    uint64_t journal_bytes;      //  Bytes written to the journal file
                                 //  (pending ones are not counted)
    uint64_t live_bytes;         //  Sum of the table's record sizes
    uint64_t records;            //  Records in the journal, pending included
    uint64_t syncs;              //  Calls of sync
    uint64_t fsyncs;             //  fdatasyncs of the journal
    uint64_t compactions;        //  Rewrites of the journal
    int64_t last_fsync_us;       //  Duration of the last fdatasync
    int64_t last_fsync_ms;       //  Monotonic time of the last fdatasync
    bool unsynced;               //  Written bytes not yet fdatasynced
    bool write_failed;           //  The last write failed: puts do not retry
    bool broken;                 //  fdatasync failed: rewrite before trusting
    zjob_error_t failure;        //  Why broken; repeated by sync
    int64_t retry_at;            //  Monotonic ms of the next rewrite try
    int64_t compact_at;          //  Monotonic ms before which not to compact
    s_compact_t *compact;        //  The compaction under way, or NULL
    int64_t last_compact_us;     //  Duration of the last compaction
    s_syncer_t *syncer;          //  The fdatasync thread, or NULL
    uint64_t ticket;             //  Last ticket given (sync_begin)
    uint64_t asked;              //  Last ticket asked of the thread
    uint64_t done;               //  Last ticket known durable
} zjob_store_file_t;


//  ---------------------------------------------------------------------
//  The record format's bytes, and writing them

static inline void
s_put_le32 (uint8_t *at, uint32_t value)
{
    at [0] = (uint8_t) value;
    at [1] = (uint8_t) (value >> 8);
    at [2] = (uint8_t) (value >> 16);
    at [3] = (uint8_t) (value >> 24);
}

static inline uint32_t
s_get_le32 (const uint8_t *at)
{
    return (uint32_t) at [0] | (uint32_t) at [1] << 8
        | (uint32_t) at [2] << 16 | (uint32_t) at [3] << 24;
}

//  Seal the record that starts at start in buffer (a header of
//  ZJOB_RECORD_HEADER bytes, then the payload, up to the buffer's end):
//  fill in its length and CRCs, and set *size_p to its bytes. 0, or -1
//  if the payload is too long (the buffer is then cut back to start).
static inline int
s_seal (msgpack_sbuffer *buffer, size_t start, uint32_t *size_p)
{
    size_t length = buffer->size - start - ZJOB_RECORD_HEADER;
    if (length > UINT32_MAX - ZJOB_RECORD_HEADER) {
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

//  Write size bytes at offset, through short writes and EINTR. Returns
//  the bytes written; fewer than size means errno tells why.
static inline size_t
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

static inline int
s_fdatasync (int fd)
{
    int rc;
    do
        rc = fdatasync (fd);
    while (rc == -1 && errno == EINTR);
    return rc;
}


//  ---------------------------------------------------------------------
//  Compaction (zjob_store_file_compact.c)

//  Start a compaction on a thread; the journal must hold every record
//  (nothing pending). 0, or -1 with err filled.
int
zjob_store_file_compact_start (zjob_store_file_t *self, zjob_error_t *err);

//  The switch, at a sync, once the compactor is done (state
//  S_COMPACT_DONE) and every record is written to the old journal.
//  0 (done, or given up with a warning: the old journal stays, complete),
//  or -1 with err filled if the store is broken.
int
zjob_store_file_compact_finish (zjob_store_file_t *self, zjob_error_t *err);

//  Stop and forget the compaction under way, if any, and its journal.tmp;
//  does nothing without one.
void
zjob_store_file_compact_abort (zjob_store_file_t *self);


//  ---------------------------------------------------------------------
//  Writing (zjob_store_file.c)

//  After a put: write the pending records now if they are many, to bound
//  the buffer; a failure is the next sync's to report.
void
zjob_store_file_write_early (zjob_store_file_t *self);


//  ---------------------------------------------------------------------
//  The fdatasync thread (zjob_store_file_sync.c)

//  fdatasync the journal's fd, through EINTR, or fail as the test hook
//  zjob_store_file_fail_fsyncs says. 0, or -1 with errno
int
zjob_store_file_fdatasync (int fd);

//  Ask the thread (started if need be) to fdatasync the journal and then
//  report ticket synced. 0, or -1 if the thread cannot start (the caller
//  then fdatasyncs itself)
int
zjob_store_file_syncer_ask (zjob_store_file_t *self, uint64_t ticket);

//  Without waiting, take the thread's news into self->done. 0, or -1
//  with err filled (if not NULL) if an fdatasync failed: the store is
//  then broken and done is its last ticket (none durable since)
int
zjob_store_file_syncer_collect (zjob_store_file_t *self, zjob_error_t *err);

//  Wait until the thread is idle, then collect (a failure: broken)
void
zjob_store_file_syncer_settle (zjob_store_file_t *self);

//  The journal's descriptor changed (a rewrite, a compaction's switch):
//  the thread fdatasyncs the new file from its next round on
void
zjob_store_file_syncer_journal (zjob_store_file_t *self);

//  The eventfd readable when the thread has news (started if need be),
//  or -1 if it cannot start
int
zjob_store_file_syncer_fd (zjob_store_file_t *self);

//  The thread's fdatasyncs, and the duration of the last (last_us is
//  left alone if none)
void
zjob_store_file_syncer_figures (zjob_store_file_t *self, uint64_t *fsyncs, int64_t *last_us);

//  Stop the thread after what it was asked, and free it; nothing without one
void
zjob_store_file_syncer_destroy (zjob_store_file_t *self);


//  ---------------------------------------------------------------------
//  Named records (zjob_store_file_records.c)

//  Append a sealed record to buffer: [3, kind, name, data] if data, else
//  [4, kind, name]; *size_p gets its bytes. 0, or -1 if out of memory
//  (the buffer is then as it was).
int
zjob_store_file_record_encode (msgpack_sbuffer *buffer, const char *kind, const char *name,
                               const uint8_t *data, size_t size, uint32_t *size_p);

//  Replay one named record, object (an array whose first item is 3 or 4),
//  of record_size bytes in the journal. 0, -1 with why filled if it is
//  corrupt, -2 if out of memory.
int
zjob_store_file_record_apply (zjob_store_file_t *self, const msgpack_object *object,
                              uint32_t record_size, char *why, size_t why_size);

//  Whether payload, of length bytes, starts as a record of the journal
//  does: [1, ...], [2, ...] (two items), [3, ...] (four), [4, ...] (three).
static inline bool
s_record_start (const uint8_t *payload, uint32_t length)
{
    return length >= 2
        && ((payload [0] == 0x92 && (payload [1] == ZJOB_RECORD_PUT || payload [1] == ZJOB_RECORD_DEL))
            || (payload [0] == 0x94 && payload [1] == ZJOB_RECORD_NAMED_PUT)
            || (payload [0] == 0x93 && payload [1] == ZJOB_RECORD_NAMED_DEL));
}

//  The store's record operations (zjob_store_ops_t), over a
//  zjob_store_file_t
int
zjob_store_file_record_put (void *self, const char *kind, const char *name,
                            const uint8_t *data, size_t size, zjob_error_t *err);
int
zjob_store_file_record_remove (void *self, const char *kind, const char *name,
                               zjob_error_t *err);
const uint8_t *
zjob_store_file_record_get (void *self, const char *kind, const char *name, size_t *size_p);
int
zjob_store_file_record_each (void *self, const char *kind, zjob_store_record_fn *visit,
                             void *arg);
size_t
zjob_store_file_record_count (void *self, const char *kind);

#endif
