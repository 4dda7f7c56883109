/*  =========================================================================
    zjob_registry - the broker's workers: records, credit ring, holders,
    liveness

    The registry knows every worker connection from its READY until it
    leaves or is found dead, and three things about it that the broker's
    dispatch and liveness rules need:

      - credit: a worker announces slots; credit is what it may be sent
        now, never more than its free slots plus the prefetch it was
        granted (jobs it buffers beyond its slots: slots + prefetch -
        held). Workers with credit are kept in a ring, which dispatch walks
        from where it last stopped, so work spreads evenly;
      - holders: which worker holds which job (job id -> worker). This is
        the broker's record, kept apart from the manager's: a cancelled job
        is released by the manager at once, but its worker still has it
        until it answers the CANCEL, and that answer frees the slot;
      - liveness: when a worker is due to be heard from (heartbeat_ms x
        liveness after its last message), and its TCP connection (the
        descriptor and peer address it registered on), so a closed
        connection can be told from a reused descriptor.

    A worker is found dead in several ways (silence, a closed connection,
    a send that fails with EHOSTUNREACH); each calls the one function that
    marks it dead (zjob_registry_mark_dead). It is removed at the end of
    the pass (zjob_registry_reap), when the jobs it held are given to the
    owner's "lost" callback, one by one, to requeue or fail: the registry
    itself knows nothing of jobs beyond their ids, and has no socket.

    Worker records are plain structs the broker reads on its hot path (the
    dispatch walk reads credit, batch and the ring links); only the
    functions below change them.
    ========================================================================= */

#ifndef ZJOB_REGISTRY_H_INCLUDED
#define ZJOB_REGISTRY_H_INCLUDED

#include <czmq.h>
#include <sys/socket.h>
#include "zjob_job.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZJOB_RID_MAX 256    //  bytes in a routing id (libzmq allows 255)
#define ZJOB_RECHECK_MS 10  //  msecs between disconnect checks
#define ZJOB_RECHECKS 20    //  checks after a DISCONNECTED event

typedef struct _zjob_registry_t zjob_registry_t;
typedef struct _zjob_registry_worker_t zjob_registry_worker_t;

//  A worker connection
struct _zjob_registry_worker_t {
    char key [ZJOB_RID_MAX * 2 + 1];  //  Routing id in hex: the registry key
    uint8_t rid [ZJOB_RID_MAX];       //  Routing id, to address it
    size_t rid_size;
    char *worker_id;   //  Id it announced (job->worker_id)
    char *name;        //  Display name, or NULL
    char **workflows;  //  Workflows it serves
    size_t workflow_count;
    size_t slots;                  //  Jobs it runs at once, as announced
    size_t prefetch;               //  Jobs it may hold beyond slots (granted)
    size_t credit;                 //  Jobs it may be sent now
    size_t holding;                //  Jobs sent to it and not yet reported
    int64_t expires_at;            //  Monotonic ms: dead if silent past this
    int64_t seen_at;               //  Monotonic ms of its last message
    int64_t joined_at;             //  ms UTC of its READY
    uint64_t results;              //  Results it reported
    int fd;                        //  Its TCP connection (ZMQ_SRCFD), or -1
    struct sockaddr_storage peer;  //  That connection's far end, to tell a
    socklen_t peer_size;           //  reused descriptor; 0 if unknown
    zjob_registry_worker_t *next;  //  Credit ring: workers with credit
    zjob_registry_worker_t *prev;
    bool in_ring;             //  True while linked into the ring
    bool dead;                //  Found gone; removed by the reap
    const char *dead_reason;  //  "expired" or "disconnect", when dead
    int rechecks;             //  Disconnect checks still to make
    bool joining;             //  READY not yet answered: no JOB before
    size_t batch;             //  Jobs it takes in one JOB (1: single form)
    size_t batch_asked;       //  The batch its READY announced
    zjob_job_t **pending;     //  Batching: jobs taken for it in this
    size_t pending_count;     //  dispatch walk (batch entries), sent at
    bool pending_listed;      //  the walk's end; on the broker's list
};

//  Hears each job a removed worker held and did not hand over: the owner
//  requeues or fails it. job_id is borrowed for the call.
typedef void (zjob_registry_lost_fn) (const char *job_id, void *arg);

//  Hears a worker leave (removed, for reason), before its record is freed.
typedef void (zjob_registry_left_fn) (zjob_registry_worker_t *worker, const char *reason,
                                      void *arg);

//  A new, empty registry: a worker is dead after heartbeat_ms x liveness
//  msecs of silence. NULL if out of memory.
zjob_registry_t *
zjob_registry_new (int64_t heartbeat_ms, int liveness);

//  Destroy the registry and every record (no callback is called). Accepts
//  NULL; sets *self_p to NULL.
void
zjob_registry_destroy (zjob_registry_t **self_p);

//  Set the callbacks that hear lost jobs and leaving workers (either NULL).
void
zjob_registry_set_listener (zjob_registry_t *self, zjob_registry_lost_fn *lost,
                            zjob_registry_left_fn *left, void *arg);

//  Register the worker that sent READY on routing id rid: worker_id, name
//  (may be NULL), its workflows, slots, batch (jobs per JOB; capped at
//  slots), fd (its connection, or -1) and now_mono. A record with the same
//  routing id or the same worker id is removed first ("replaced"), handing
//  the jobs among keep (keep_count ids) that it held to the new record,
//  and giving the others to the lost callback. The new worker is joining:
//  it has no credit yet (the owner grants it with zjob_registry_credit once
//  it has adopted the jobs the worker still runs) and enters the credit
//  ring at zjob_registry_admit. Returns the record
//  (owned by the registry), or NULL if out of memory (nothing changed).
zjob_registry_worker_t *
zjob_registry_join (zjob_registry_t *self, const uint8_t *rid, size_t rid_size,
                    const char *worker_id, const char *name,
                    const char *const *workflows, size_t workflow_count,
                    size_t slots, size_t batch, int fd, int64_t now_mono,
                    const char *const *keep, size_t keep_count);

//  The workers that joined since the last call may now be sent jobs: they
//  enter the credit ring. Returns true if one did.
bool
zjob_registry_admit (zjob_registry_t *self);

//  The worker behind routing id rid, or NULL. O(1); the last one found is
//  tried first, since messages come in runs from one worker.
zjob_registry_worker_t *
zjob_registry_lookup (zjob_registry_t *self, const uint8_t *rid, size_t rid_size);

//  A message came from worker at now_mono: it is alive until now_mono +
//  heartbeat_ms x liveness.
void
zjob_registry_touch (zjob_registry_t *self, zjob_registry_worker_t *worker,
                     int64_t now_mono);

//  THE way a worker is found dead (silent, disconnected, unreachable):
//  it leaves the credit ring and is removed by the next zjob_registry_reap.
//  reason ("expired", "disconnect") is a static string. A worker already
//  dead is left as it is.
void
zjob_registry_mark_dead (zjob_registry_t *self, zjob_registry_worker_t *worker,
                         const char *reason);

//  Remove worker now, for reason: the lost callback hears each job it held
//  (but those in keep, which go to heir, if heir is not NULL), the left
//  callback hears the worker, and the record is freed.
void
zjob_registry_remove (zjob_registry_t *self, zjob_registry_worker_t *worker,
                      const char *reason, zjob_registry_worker_t *heir,
                      const char *const *keep, size_t keep_count);

//  Remove every worker marked dead, as zjob_registry_remove. Returns how
//  many.
size_t
zjob_registry_reap (zjob_registry_t *self);

//  Mark dead ("expired") every live worker silent past its expiry at
//  now_mono. Returns how many.
size_t
zjob_registry_expire (zjob_registry_t *self, int64_t now_mono);

//  A DISCONNECTED event for descriptor fd: the live workers registered on
//  it get their connection checked, now and then every ZJOB_RECHECK_MS up
//  to ZJOB_RECHECKS times (libzmq reports the event just before it closes
//  the descriptor). A worker whose descriptor is closed, or now has
//  another peer, is marked dead ("disconnect").
void
zjob_registry_disconnected (zjob_registry_t *self, int fd, int64_t now_mono);

//  Run the checks that are due at now_mono. Returns the monotonic ms of
//  the next one, 0 if none.
int64_t
zjob_registry_recheck (zjob_registry_t *self, int64_t now_mono);

//  The monotonic ms of the next disconnect check, 0 if none is due.
int64_t
zjob_registry_recheck_at (zjob_registry_t *self);

//  Grant worker (joining, before its first credit) prefetch jobs beyond its
//  slots, at most ZJOB_PREFETCH_MAX and slots + prefetch at most
//  ZJOB_SLOTS_MAX: its credit may grow to slots + prefetch - held, and a
//  batching worker's JOBs carry up to that many jobs. Returns the
//  prefetch granted (0 if out of memory for the larger batch).
size_t
zjob_registry_prefetch (zjob_registry_t *self, zjob_registry_worker_t *worker,
                        size_t prefetch);

//  Give credit back to worker, never beyond its free slots and its
//  prefetch (slots + prefetch - held); a worker with credit joins the
//  ring. Returns true if it joined the ring now.
bool
zjob_registry_credit (zjob_registry_t *self, zjob_registry_worker_t *worker,
                      size_t credit);

//  The credit ring: its cursor (the next worker to visit, NULL if empty),
//  its size, and moving the cursor. ring_remove unlinks a worker (it is
//  linked again by credit).
zjob_registry_worker_t *
zjob_registry_ring (zjob_registry_t *self);
size_t
zjob_registry_ring_size (zjob_registry_t *self);
void
zjob_registry_ring_set (zjob_registry_t *self, zjob_registry_worker_t *worker);
void
zjob_registry_ring_remove (zjob_registry_t *self, zjob_registry_worker_t *worker);

//  worker now holds job_id (sent, or adopted): one more of its slots is
//  busy. Spending its credit is the caller's (a dispatch spends one, an
//  adoption at READY none). Returns 0, or -1 if out of memory.
int
zjob_registry_hold (zjob_registry_t *self, zjob_registry_worker_t *worker,
                    const char *job_id);

//  The worker holding job_id, or NULL.
zjob_registry_worker_t *
zjob_registry_holder (zjob_registry_t *self, const char *job_id);

//  job_id has left worker (reported, given up): forget it, if worker
//  holds it. Returns true if it did.
bool
zjob_registry_release (zjob_registry_t *self, const char *job_id,
                       zjob_registry_worker_t *worker);

//  worker's attempt of job_id timed out: the job is let go (another
//  worker may be given it) but worker still has it until it answers the
//  CANCEL, so its slot stays busy under a key of its own ("<id>~<rid>").
//  A removed worker's stale keys go to the lost callback like job ids
//  (the part before '~' is the job). 0, or -1 if worker did not hold it
//  or out of memory.
int
zjob_registry_hold_stale (zjob_registry_t *self, zjob_registry_worker_t *worker,
                          const char *job_id);

//  worker has let go of its timed-out attempt of job_id (it answered the
//  CANCEL, or sent the attempt's result): its slot is free. Returns true
//  if it held one. Costs nothing while no attempt is held stale.
bool
zjob_registry_release_stale (zjob_registry_t *self, const char *job_id,
                             zjob_registry_worker_t *worker);

//  Write into ids (max entries) the ids of the jobs worker holds, borrowed
//  until the holders change (timed-out attempts not included). Returns
//  how many. O(jobs held by anyone).
size_t
zjob_registry_jobs (zjob_registry_t *self, zjob_registry_worker_t *worker,
                    const char **ids, size_t max);

//  Workers registered, jobs held (by all), and iteration over the workers
//  in no set order (the registry must not change during it).
size_t
zjob_registry_size (zjob_registry_t *self);
size_t
zjob_registry_held (zjob_registry_t *self);
zjob_registry_worker_t *
zjob_registry_first (zjob_registry_t *self);
zjob_registry_worker_t *
zjob_registry_next (zjob_registry_t *self);

#ifdef __cplusplus
}
#endif

#endif
