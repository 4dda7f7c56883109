/*  =========================================================================
    zjob_outbox - replies held until the sync that covers them

    The broker acknowledges nothing before the store's sync has made it
    durable (group commit). So every message a loop pass produces - the
    replies, and the PAUSE/RESUME/CANCEL its changes call for - is queued
    here, with its peer's routing id, and sent only after the pass's sync,
    in the order it was queued. A reply that answers a change is marked
    "mutating": if the sync fails, it is not sent as it is but rewritten
    into ERROR 503 ("not committed: ..."), so nothing that may be lost is
    acknowledged; every other message goes out unchanged.

    Overlapped syncs. A store whose sync completes later
    (zjob_store_sync_begin: the file store's fdatasync on a thread) gives
    each pass a ticket; the pass's messages are then sealed with it
    (zjob_outbox_seal) and stay queued while the broker goes on with the
    next pass; zjob_outbox_release sends, in order, those whose ticket is
    durable, and stops at the first that is not. Nothing overtakes an
    earlier message, so replies keep their order per peer (and overall),
    and a read answered in a later pass does not go out before the
    acknowledgement of a change it may show. A mutating message whose sync
    failed becomes the 503 at seal time (the sync failed at once) or at
    release (it failed later). zjob_outbox_flush is seal + release of
    everything, the synchronous case.

    Messages are copied into one arena that is reused pass after pass, so
    a warm outbox allocates nothing; one that grew past ZJOB_OUTBOX_KEEP
    (a long LIST) gives its memory back after the flush. The outbox has no
    socket: the owner's send function delivers each message and handles
    failures (a worker that is gone, a client that stopped reading).
    ========================================================================= */

#ifndef ZJOB_OUTBOX_H_INCLUDED
#define ZJOB_OUTBOX_H_INCLUDED

#include <czmq.h>
#include "zjob_error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZJOB_OUTBOX_KEEP (8 << 20)  //  bytes of arena kept between flushes

typedef struct _zjob_outbox_t zjob_outbox_t;

//  Delivers one message: side is the owner's (which socket), rid the
//  peer's routing id; all borrowed for the call. Returns 0, or -1 if the
//  message could not be sent (the outbox goes on with the next one).
typedef int (zjob_outbox_send_fn) (int side, const uint8_t *rid, size_t rid_size,
                                   const uint8_t *data, size_t size, void *arg);

//  A new, empty outbox. NULL if out of memory.
zjob_outbox_t *
zjob_outbox_new (void);

//  Destroy the outbox and what it holds, unsent. Accepts NULL; sets
//  *self_p to NULL.
void
zjob_outbox_destroy (zjob_outbox_t **self_p);

//  Queue a copy of size bytes at data for peer rid (rid_size bytes) on
//  side; request_id is the request answered (for the 503), mutating says
//  whether it acknowledges a change. Returns 0, or -1 if out of memory
//  (nothing queued).
int
zjob_outbox_add (zjob_outbox_t *self, int side, const uint8_t *rid, size_t rid_size,
                 uint64_t request_id, bool mutating, const uint8_t *data, size_t size);

//  Queue an ERROR reply to request_id with err's code and message (never
//  mutating). Returns 0, or -1 if out of memory.
int
zjob_outbox_add_error (zjob_outbox_t *self, int side, const uint8_t *rid,
                       size_t rid_size, uint64_t request_id, const zjob_error_t *err);

//  Messages queued (not yet sent), and those among them that are
//  mutating.
size_t
zjob_outbox_size (zjob_outbox_t *self);
size_t
zjob_outbox_mutating (zjob_outbox_t *self);

//  Seal the messages queued since the last seal with ticket (tickets never
//  decrease from one seal to the next): they go out at a release of a
//  done ticket >= ticket. sync_err not NULL: the pass's sync failed at
//  once, and each mutating one becomes ERROR 503 "not committed:
//  <sync_err's text>" now (it still waits for the tickets before it).
void
zjob_outbox_seal (zjob_outbox_t *self, uint64_t ticket, const zjob_error_t *sync_err);

//  Send with send, in order, the sealed messages whose ticket is <= done,
//  stopping at the first that is not. sync_err not NULL: the tickets up to
//  done failed, and each mutating message sent becomes ERROR 503 "not
//  committed: <sync_err's text>". Returns the number send refused.
size_t
zjob_outbox_release (zjob_outbox_t *self, uint64_t done, const zjob_error_t *sync_err,
                     zjob_outbox_send_fn *send, void *arg);

//  The ticket of the first message waiting, if sealed; 0 if none is.
uint64_t
zjob_outbox_first_ticket (zjob_outbox_t *self);

//  Send every queued message with send, in order, and empty the outbox.
//  sync_err NULL: the pass's sync succeeded, everything goes as queued;
//  otherwise each mutating message becomes ERROR 503 "not committed:
//  <sync_err's text>" to its request. Returns the number send refused.
size_t
zjob_outbox_flush (zjob_outbox_t *self, const zjob_error_t *sync_err,
                   zjob_outbox_send_fn *send, void *arg);

#ifdef __cplusplus
}
#endif

#endif
