/*  =========================================================================
    zjob_outbox - replies held until the sync that covers them

    An array of entries (side, flags, offsets) over one byte arena that
    holds each entry's routing id and body back to back. Both grow by
    doubling and are reset, not freed, by a flush: the broker's hot path
    (one SUBMIT, one RESULT) queues its reply without an allocation.
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
} s_out_t;

struct _zjob_outbox_t {
    s_out_t *out;  //  Messages, in order
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
    return self->count;
}

size_t
zjob_outbox_mutating (zjob_outbox_t *self)
{
    assert (self);
    return self->mutating;
}

size_t
zjob_outbox_flush (zjob_outbox_t *self, const zjob_error_t *sync_err,
                   zjob_outbox_send_fn *send, void *arg)
{
    assert (self && send);
    size_t refused = 0;
    for (size_t index = 0; index < self->count; index++) {
        s_out_t *out = &self->out [index];
        const uint8_t *rid = self->arena + out->rid_offset;
        const uint8_t *data = self->arena + out->offset;
        size_t size = out->size;
        zframe_t *frame = NULL;
        if (sync_err && out->mutating) {
            zjob_error_t err;
            zjob_error_set (&err, ZJOB_UNAVAILABLE, "not committed: %s", sync_err->text);
            frame = zjob_msg_error_new (out->request_id, &err);
            if (!frame) {
                refused++;
                continue;
            }
            data = zframe_data (frame);
            size = zframe_size (frame);
        }
        if (send (out->side, rid, out->rid_size, data, size, arg))
            refused++;
        zframe_destroy (&frame);
    }
    self->count = 0;
    self->mutating = 0;
    self->arena_size = 0;
    if (self->arena_max > ZJOB_OUTBOX_KEEP) {
        //  A pass with a huge reply (a long LIST) does not pin its memory
        free (self->arena);
        self->arena = NULL;
        self->arena_max = 0;
    }
    return refused;
}
