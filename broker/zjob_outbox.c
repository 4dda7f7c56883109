/*  =========================================================================
    zjob_outbox - replies held until the sync that covers them

    An array of entries (side, flags, ticket, offsets) over one byte arena
    that holds each entry's routing id and body back to back. Both grow by
    doubling and are reset, not freed, once every entry is sent: the
    broker's hot path (one SUBMIT, one RESULT) queues its reply without an
    allocation. Entries are sent from the front (head); when some stay
    behind (their ticket is not durable yet) they are moved to the front of
    the array and their bytes to the front of the arena: every byte of an
    entry lies at or after its routing id, and entries are added in order,
    so the first entry left marks where the bytes still needed begin. A
    503 written at seal time goes at the arena's end, after all of them.
    ========================================================================= */

#include "zjob_outbox.h"
#include "zjob_proto.h"
#include "zjob_util.h"
#include <stdlib.h>
#include <string.h>

//  A message to send after the sync
typedef struct {
    int side;           //  The owner's socket
    bool mutating;      //  Answers a change: 503 if the sync fails
    size_t rid_offset;  //  Routing id of the peer, in the arena
    size_t rid_size;
    size_t offset;  //  Encoded message in the arena
    size_t size;
    uint64_t request_id;  //  Request answered (for the 503)
    uint64_t ticket;      //  The sync that must be durable first (once sealed)
} s_out_t;

struct _zjob_outbox_t {
    s_out_t *out;   //  Messages, in order
    size_t head;    //  The first not sent yet
    size_t sealed;  //  Those before it are sealed (have their ticket)
    size_t count;
    size_t max;
    size_t mutating;  //  Of them, mutating
    uint8_t *arena;   //  Their routing ids and bytes
    size_t arena_size;
    size_t arena_max;
};

zjob_outbox_t *
zjob_outbox_new (void)
{
    return (zjob_outbox_t *) calloc (1, sizeof (zjob_outbox_t));
}

void
zjob_outbox_destroy (zjob_outbox_t **self_p)
{
    assert (self_p);
    zjob_outbox_t *self = *self_p;
    if (self) {
        free (self->out);
        free (self->arena);
        free (self);
        *self_p = NULL;
    }
}

int
zjob_outbox_add (zjob_outbox_t *self, int side, const uint8_t *rid, size_t rid_size,
                 uint64_t request_id, bool mutating, const uint8_t *data, size_t size)
{
    assert (self);
    s_out_t *out_grown = (s_out_t *) zjob_grow (self->out, &self->max, self->count + 1,
                                                sizeof (s_out_t), 1024);
    if (!out_grown)
        return -1;
    self->out = out_grown;
    uint8_t *grown = (uint8_t *) zjob_grow (self->arena, &self->arena_max,
                                            self->arena_size + rid_size + size, 1, 65536);
    if (!grown)
        return -1;
    self->arena = grown;
    s_out_t *out = &self->out [self->count++];
    out->side = side;
    out->mutating = mutating;
    out->request_id = request_id;
    out->rid_offset = self->arena_size;
    out->rid_size = rid_size;
    if (rid_size)
        memcpy (self->arena + self->arena_size, rid, rid_size);
    self->arena_size += rid_size;
    out->offset = self->arena_size;
    out->size = size;
    if (size)
        memcpy (self->arena + self->arena_size, data, size);
    self->arena_size += size;
    self->mutating += mutating;
    return 0;
}

int
zjob_outbox_add_error (zjob_outbox_t *self, int side, const uint8_t *rid, size_t rid_size,
                       uint64_t request_id, const zjob_error_t *err)
{
    assert (self);
    zframe_t *frame = zjob_msg_error_new (request_id, err);
    if (!frame)
        return -1;
    int rc = zjob_outbox_add (self, side, rid, rid_size, request_id, false,
                              zframe_data (frame), zframe_size (frame));
    zframe_destroy (&frame);
    return rc;
}

size_t
zjob_outbox_size (zjob_outbox_t *self)
{
    assert (self);
    return self->count - self->head;
}

size_t
zjob_outbox_mutating (zjob_outbox_t *self)
{
    assert (self);
    return self->mutating;
}

//  The 503 that replaces a mutating message whose sync failed
static zframe_t *
s_not_committed (const s_out_t *out, const zjob_error_t *sync_err)
{
    zjob_error_t err;
    zjob_error_set (&err, ZJOB_UNAVAILABLE, "not committed: %s", sync_err->text);
    return zjob_msg_error_new (out->request_id, &err);
}

void
zjob_outbox_seal (zjob_outbox_t *self, uint64_t ticket, const zjob_error_t *sync_err)
{
    assert (self);
    for (size_t index = self->sealed; index < self->count; index++) {
        s_out_t *out = &self->out [index];
        out->ticket = ticket;
        if (!sync_err || !out->mutating)
            continue;
        //  Its answer is known now: the 503, after every byte so far
        zframe_t *frame = s_not_committed (out, sync_err);
        size_t size = frame ? zframe_size (frame) : 0;
        uint8_t *grown = frame
            ? (uint8_t *) zjob_grow (self->arena, &self->arena_max, self->arena_size + size, 1,
                                     65536)
            : NULL;
        if (grown) {
            self->arena = grown;
            memcpy (self->arena + self->arena_size, zframe_data (frame), size);
            out->offset = self->arena_size;
            out->size = size;
            self->arena_size += size;
        }
        else
            out->size = 0;  //  Out of memory: nothing is sent rather than an OK
        out->mutating = false;
        self->mutating--;
        zframe_destroy (&frame);
    }
    self->sealed = self->count;
}

//  After a release: forget what was sent, keep the rest at the front
static void
s_compact (zjob_outbox_t *self)
{
    if (self->head == self->count) {
        self->head = self->sealed = self->count = 0;
        self->arena_size = 0;
        if (self->arena_max > ZJOB_OUTBOX_KEEP) {
            //  A pass with a huge reply (a long LIST) does not pin its memory
            free (self->arena);
            self->arena = NULL;
            self->arena_max = 0;
        }
        return;
    }
    if (self->head == 0)
        return;
    size_t shift = self->out [self->head].rid_offset;
    memmove (self->arena, self->arena + shift, self->arena_size - shift);
    self->arena_size -= shift;
    size_t left = self->count - self->head;
    memmove (self->out, self->out + self->head, left * sizeof (s_out_t));
    for (size_t index = 0; index < left; index++) {
        self->out [index].rid_offset -= shift;
        self->out [index].offset -= shift;
    }
    self->sealed -= self->head;
    self->count = left;
    self->head = 0;
}

size_t
zjob_outbox_release (zjob_outbox_t *self, uint64_t done, const zjob_error_t *sync_err,
                     zjob_outbox_send_fn *send, void *arg)
{
    assert (self && send);
    size_t refused = 0;
    for (; self->head < self->sealed && self->out [self->head].ticket <= done; self->head++) {
        s_out_t *out = &self->out [self->head];
        const uint8_t *rid = self->arena + out->rid_offset;
        const uint8_t *data = self->arena + out->offset;
        size_t size = out->size;
        zframe_t *frame = NULL;
        if (out->mutating) {
            self->mutating--;
            if (sync_err) {
                frame = s_not_committed (out, sync_err);
                if (!frame) {
                    refused++;
                    continue;
                }
                data = zframe_data (frame);
                size = zframe_size (frame);
            }
        }
        if (size == 0 || send (out->side, rid, out->rid_size, data, size, arg))
            refused++;
        zframe_destroy (&frame);
    }
    s_compact (self);
    return refused;
}

uint64_t
zjob_outbox_first_ticket (zjob_outbox_t *self)
{
    assert (self);
    return self->head < self->sealed ? self->out [self->head].ticket : 0;
}

size_t
zjob_outbox_flush (zjob_outbox_t *self, const zjob_error_t *sync_err,
                   zjob_outbox_send_fn *send, void *arg)
{
    assert (self && send);
    zjob_outbox_seal (self, 0, NULL);
    return zjob_outbox_release (self, UINT64_MAX, sync_err, send, arg);
}
