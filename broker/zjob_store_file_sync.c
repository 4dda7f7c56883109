/*  =========================================================================
    zjob_store_file_sync - the file store's fdatasync, off the caller's thread

    With fsync=always a sync costs one fdatasync of the journal: a few
    hundred microseconds to tens of milliseconds of waiting for the disk,
    during which the broker's loop would do nothing. zjob_store_sync_begin
    (zjob_store.h) lets it go on with the next pass instead: the store
    writes its buffer as sync does, then hands the fdatasync to a thread of
    its own (the syncer) and gives the caller a ticket; the caller learns
    that the ticket is durable from zjob_store_sync_poll, woken by an
    eventfd it polls.

    Hand-off. One mutex guards the syncer's state; two condition
    variables wake the thread (work, or stop) and whoever waits for it to
    be idle (a synchronous sync, the close). The loop asks by raising
    `wanted` to its ticket and signalling; the thread takes the highest
    ticket wanted when it starts an fdatasync (so one fdatasync covers
    every ticket asked while the previous one ran: group commit across
    passes), runs it without the lock, then sets `synced` to that ticket
    (or `failed`) and adds 1 to the eventfd. fdatasync covers every byte
    written before it was called, and a ticket is asked only after its
    bytes are written, so `synced` never claims a byte that was not
    covered. The thread fdatasyncs its own duplicate of the journal's
    descriptor, so the store may replace the journal (a compaction's
    switch, a rewrite) while an fdatasync runs: the new descriptor goes
    to the thread as `next_fd`, taken at its next round. An fdatasync of
    the old file that ends after the switch claims nothing the switch did
    not make durable already (the switch fdatasyncs the new file with
    every byte of the old one in it).

    Failure. A failed fdatasync may have lost pages that a second one
    would then report as synced (zjob_store_file.c's banner): the thread
    stops at the first failure and does nothing more until the store takes
    it (zjob_store_file_syncer_collect or _settle), which turns the store
    "broken": every ticket not yet synced is then not durable, and the
    store's rule applies (nothing durable before a rewrite of the journal
    from memory succeeds).

    The thread starts at the first ask, so a store synced only
    synchronously (tests, tools, the import) never has one.
    ========================================================================= */

#include "zjob_store_file_impl.h"
#include "zjob_log.h"
#include <fcntl.h>
#include <sys/eventfd.h>

struct _zjob_store_file_syncer_t {
    pthread_t thread;
    pthread_mutex_t mutex;  //  Guards every field below but thread
    pthread_cond_t wake;    //  The thread waits on it for work or stop
    pthread_cond_t idle;    //  Signalled after each fdatasync
    int event_fd;           //  eventfd: +1 after each fdatasync (the owner polls it)
    int fd;                 //  The thread's duplicate of the journal
    int next_fd;            //  The journal's new duplicate, -1 if unchanged
    uint64_t wanted;        //  Highest ticket asked for
    uint64_t synced;        //  Highest ticket fdatasynced
    bool busy;              //  In an fdatasync
    bool failed;            //  An fdatasync failed: nothing more until taken
    int error;              //  errno of the failure
    bool stop;              //  The store is closing
    uint64_t fsyncs;        //  fdatasyncs done
    int64_t last_us;        //  Duration of the last one
};

//  Test hooks (zjob_store_file.h): journal fdatasyncs fail, or wait
static atomic_bool s_fail_fsyncs;
static atomic_bool s_hold_fsyncs;

void
zjob_store_file_fail_fsyncs (bool fail)
{
    atomic_store (&s_fail_fsyncs, fail);
}

void
zjob_store_file_hold_fsyncs (bool hold)
{
    atomic_store (&s_hold_fsyncs, hold);
}

int
zjob_store_file_fdatasync (int fd)
{
    if (atomic_load (&s_fail_fsyncs)) {
        errno = EIO;
        return -1;
    }
    return s_fdatasync (fd);
}

static void *
s_syncer_run (void *arg)
{
    s_syncer_t *self = (s_syncer_t *) arg;
    pthread_mutex_lock (&self->mutex);
    while (true) {
        while (!self->stop && (self->failed || self->wanted == self->synced))
            pthread_cond_wait (&self->wake, &self->mutex);
        if (self->failed || self->wanted == self->synced)
            break;  //  Stopping, with nothing left to do
        if (self->next_fd >= 0) {
            if (self->fd >= 0)
                close (self->fd);
            self->fd = self->next_fd;
            self->next_fd = -1;
        }
        uint64_t target = self->wanted;
        int fd = self->fd;
        self->busy = true;
        pthread_mutex_unlock (&self->mutex);

        while (atomic_load (&s_hold_fsyncs))
            usleep (1000);  //  A test holds the fdatasync (never in production)
        int64_t started = zclock_usecs ();
        int rc = zjob_store_file_fdatasync (fd);
        int error = errno;

        pthread_mutex_lock (&self->mutex);
        self->busy = false;
        self->fsyncs++;
        self->last_us = zclock_usecs () - started;
        if (rc == 0)
            self->synced = target;
        else {
            self->failed = true;
            self->error = error;
        }
        pthread_cond_broadcast (&self->idle);
        uint64_t one = 1;
        if (write (self->event_fd, &one, sizeof one) < 0) {
            //  Only EAGAIN at 2^64 - 2 unread: the owner is told already
        }
    }
    pthread_mutex_unlock (&self->mutex);
    return NULL;
}

//  The store's syncer, started if it is not yet. NULL if it cannot be
static s_syncer_t *
s_syncer (zjob_store_file_t *store)
{
    if (store->syncer)
        return store->syncer;
    s_syncer_t *self = (s_syncer_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->event_fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    self->fd = fcntl (store->fd, F_DUPFD_CLOEXEC, 0);
    self->next_fd = -1;
    //  The ticket numbers go on from the store's: nothing is wanted yet
    self->wanted = self->synced = store->ticket;
    bool mutex = false, wake = false, idle = false;
    if (self->event_fd < 0 || self->fd < 0
        || !(mutex = pthread_mutex_init (&self->mutex, NULL) == 0)
        || !(wake = pthread_cond_init (&self->wake, NULL) == 0)
        || !(idle = pthread_cond_init (&self->idle, NULL) == 0)
        || pthread_create (&self->thread, NULL, s_syncer_run, self)) {
        zjob_log_warning ("journal %s: cannot start the sync thread (%s): fdatasyncs are "
                          "done by the caller",
                          store->path, strerror (errno));
        if (idle)
            pthread_cond_destroy (&self->idle);
        if (wake)
            pthread_cond_destroy (&self->wake);
        if (mutex)
            pthread_mutex_destroy (&self->mutex);
        if (self->event_fd >= 0)
            close (self->event_fd);
        if (self->fd >= 0)
            close (self->fd);
        free (self);
        return NULL;
    }
    store->syncer = self;
    return self;
}

int
zjob_store_file_syncer_ask (zjob_store_file_t *store, uint64_t ticket)
{
    s_syncer_t *self = s_syncer (store);
    if (!self)
        return -1;
    pthread_mutex_lock (&self->mutex);
    self->wanted = ticket;
    pthread_cond_signal (&self->wake);
    pthread_mutex_unlock (&self->mutex);
    return 0;
}

//  The failure the thread stopped at becomes the store's: broken, every
//  ticket given so far resolved. With the mutex held
static void
s_take_failure (zjob_store_file_t *store, s_syncer_t *self)
{
    zjob_error_set (&store->failure, ZJOB_INTERNAL,
                    "journal %s: fdatasync failed: %s (what it wrote may be lost: the "
                    "journal is rewritten whole before anything is durable)",
                    store->path, strerror (self->error));
    store->broken = true;
    store->retry_at = 0;
    store->done = store->ticket;
    self->failed = false;
    self->synced = self->wanted;  //  Nothing left for the thread
}

int
zjob_store_file_syncer_collect (zjob_store_file_t *store, zjob_error_t *err)
{
    s_syncer_t *self = store->syncer;
    if (!self)
        return 0;
    uint64_t count;
    if (read (self->event_fd, &count, sizeof count) < 0) {
        //  EAGAIN: no news since the last read
    }
    pthread_mutex_lock (&self->mutex);
    int rc = 0;
    if (self->failed) {
        s_take_failure (store, self);
        if (err)
            *err = store->failure;
        rc = -1;
    }
    else if (self->synced >= store->asked)
        store->done = store->ticket;  //  The tickets since asked nothing
    else if (self->synced > store->done)
        store->done = self->synced;
    pthread_mutex_unlock (&self->mutex);
    return rc;
}

void
zjob_store_file_syncer_settle (zjob_store_file_t *store)
{
    s_syncer_t *self = store->syncer;
    if (!self)
        return;
    pthread_mutex_lock (&self->mutex);
    while (self->busy || (!self->failed && self->wanted != self->synced))
        pthread_cond_wait (&self->idle, &self->mutex);
    pthread_mutex_unlock (&self->mutex);
    zjob_store_file_syncer_collect (store, NULL);
}

void
zjob_store_file_syncer_journal (zjob_store_file_t *store)
{
    s_syncer_t *self = store->syncer;
    if (!self)
        return;
    int fd = fcntl (store->fd, F_DUPFD_CLOEXEC, 0);
    pthread_mutex_lock (&self->mutex);
    if (self->next_fd >= 0)
        close (self->next_fd);
    self->next_fd = fd;
    if (fd < 0) {
        //  Out of descriptors: the old file's fdatasync would claim the
        //  new one's bytes; make the next one fail instead
        self->failed = true;
        self->error = errno;
    }
    pthread_mutex_unlock (&self->mutex);
}

int
zjob_store_file_syncer_fd (zjob_store_file_t *store)
{
    s_syncer_t *self = s_syncer (store);
    return self ? self->event_fd : -1;
}

void
zjob_store_file_syncer_figures (zjob_store_file_t *store, uint64_t *fsyncs, int64_t *last_us)
{
    s_syncer_t *self = store->syncer;
    *fsyncs = 0;
    if (!self)
        return;
    pthread_mutex_lock (&self->mutex);
    *fsyncs = self->fsyncs;
    if (self->fsyncs)
        *last_us = self->last_us;
    pthread_mutex_unlock (&self->mutex);
}

void
zjob_store_file_syncer_destroy (zjob_store_file_t *store)
{
    s_syncer_t *self = store->syncer;
    if (!self)
        return;
    pthread_mutex_lock (&self->mutex);
    self->stop = true;
    pthread_cond_signal (&self->wake);
    pthread_mutex_unlock (&self->mutex);
    pthread_join (self->thread, NULL);
    pthread_cond_destroy (&self->idle);
    pthread_cond_destroy (&self->wake);
    pthread_mutex_destroy (&self->mutex);
    close (self->event_fd);
    if (self->fd >= 0)
        close (self->fd);
    if (self->next_fd >= 0)
        close (self->next_fd);
    free (self);
    store->syncer = NULL;
}
