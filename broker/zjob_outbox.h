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

//  Messages queued, and those among them that are mutating.
size_t
zjob_outbox_size (zjob_outbox_t *self);
size_t
zjob_outbox_mutating (zjob_outbox_t *self);

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
