/*  =========================================================================
    test_zjob_outbox - replies held until the sync that covers them

    The send function records what the outbox delivers; a failed sync
    must turn every mutating reply into a 503 to its request, and leave
    the others alone.
    ========================================================================= */

#include <criterion/criterion.h>
#include <string.h>
#include "zjob_outbox.h"
#include "zjob_proto.h"

#define S_SENT_MAX 8

typedef struct {
    int side [S_SENT_MAX];
    char rid [S_SENT_MAX][16];
    zframe_t *body [S_SENT_MAX];
    size_t count;
    size_t refuse_at;  //  index + 1 of a send to refuse, 0 = none
} s_sent_t;

static int
s_send (int side, const uint8_t *rid, size_t rid_size, const uint8_t *data, size_t size,
        void *arg)
{
    s_sent_t *sent = (s_sent_t *) arg;
    cr_assert_lt (sent->count, S_SENT_MAX);
    size_t index = sent->count++;
    sent->side [index] = side;
    snprintf (sent->rid [index], sizeof (sent->rid [index]), "%.*s", (int) rid_size, rid);
    sent->body [index] = zframe_new (data, size);
    return sent->refuse_at == index + 1 ? -1 : 0;
}

static void
s_sent_clear (s_sent_t *sent)
{
    for (size_t index = 0; index < sent->count; index++)
        zframe_destroy (&sent->body [index]);
    sent->count = 0;
}

//  Queue an OK to request_id carrying id
static void
s_add_ok (zjob_outbox_t *outbox, int side, const char *rid, uint64_t request_id,
          bool mutating)
{
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    zjob_msg_begin (builder, ZJOB_CMD_OK, request_id);
    zjob_msg_add_str (builder, "id", "06H4E76Q144DM4VV8R9F");
    size_t size;
    const uint8_t *data = zjob_msg_end_data (builder, &size, NULL);
    cr_assert_eq (zjob_outbox_add (outbox, side, (const uint8_t *) rid, strlen (rid),
                                   request_id, mutating, data, size),
                  0);
    zjob_msg_builder_destroy (&builder);
}

//  The command and request id of a sent message
static zjob_msg_t *
s_decoded (zframe_t *frame)
{
    zjob_error_t err;
    zjob_msg_t *msg = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                       ZJOB_ROUTE_BROKER_CLIENT, &err);
    cr_assert_not_null (msg, "%s", err.text);
    return msg;
}

Test (outbox, sent_in_order_after_a_good_sync)
{
    zjob_outbox_t *outbox = zjob_outbox_new ();
    cr_assert_not_null (outbox);
    s_add_ok (outbox, 0, "client-1", 1, true);
    s_add_ok (outbox, 1, "worker-1", 2, false);
    zjob_error_t err;
    zjob_error_set (&err, ZJOB_NOT_FOUND, "job x: not found");
    cr_assert_eq (zjob_outbox_add_error (outbox, 0, (const uint8_t *) "client-2", 8, 3, &err),
                  0);
    cr_assert_eq (zjob_outbox_size (outbox), 3);
    cr_assert_eq (zjob_outbox_mutating (outbox), 1);

    s_sent_t sent = { .count = 0 };
    cr_assert_eq (zjob_outbox_flush (outbox, NULL, s_send, &sent), 0);
    cr_assert_eq (sent.count, 3);
    cr_assert_str_eq (sent.rid [0], "client-1");
    cr_assert_eq (sent.side [1], 1);
    cr_assert_str_eq (sent.rid [2], "client-2");
    zjob_msg_t *msg = s_decoded (sent.body [0]);
    cr_assert_eq (zjob_msg_command (msg), ZJOB_CMD_OK);
    cr_assert_eq (zjob_msg_request_id (msg), 1);
    zjob_msg_destroy (&msg);
    msg = s_decoded (sent.body [2]);
    cr_assert_eq (zjob_msg_error (msg, &err), ZJOB_NOT_FOUND);
    zjob_msg_destroy (&msg);
    s_sent_clear (&sent);
    //  Emptied: a second flush sends nothing
    cr_assert_eq (zjob_outbox_size (outbox), 0);
    cr_assert_eq (zjob_outbox_flush (outbox, NULL, s_send, &sent), 0);
    cr_assert_eq (sent.count, 0);
    zjob_outbox_destroy (&outbox);
    zjob_outbox_destroy (&outbox);
    cr_assert_null (outbox);
}

Test (outbox, failed_sync_turns_changes_into_503)
{
    zjob_outbox_t *outbox = zjob_outbox_new ();
    s_add_ok (outbox, 0, "client-1", 7, true);   //  A change: not acknowledged
    s_add_ok (outbox, 0, "client-2", 8, false);  //  A read: answered
    zjob_error_t sync_err;
    zjob_error_set (&sync_err, ZJOB_INTERNAL, "journal: No space left on device");
    s_sent_t sent = { .count = 0 };
    zjob_outbox_flush (outbox, &sync_err, s_send, &sent);
    cr_assert_eq (sent.count, 2);
    zjob_msg_t *msg = s_decoded (sent.body [0]);
    zjob_error_t err;
    cr_assert_eq (zjob_msg_error (msg, &err), ZJOB_UNAVAILABLE);
    cr_assert_eq (zjob_msg_request_id (msg), 7);
    cr_assert (strstr (err.text, "not committed: journal: No space left"), "%s", err.text);
    zjob_msg_destroy (&msg);
    msg = s_decoded (sent.body [1]);
    cr_assert_eq (zjob_msg_command (msg), ZJOB_CMD_OK);
    zjob_msg_destroy (&msg);
    s_sent_clear (&sent);
    zjob_outbox_destroy (&outbox);
}

Test (outbox, refused_sends_are_counted_and_the_rest_go)
{
    zjob_outbox_t *outbox = zjob_outbox_new ();
    s_add_ok (outbox, 1, "worker-1", 1, false);
    s_add_ok (outbox, 1, "worker-2", 2, false);
    s_sent_t sent = { .count = 0, .refuse_at = 1 };
    cr_assert_eq (zjob_outbox_flush (outbox, NULL, s_send, &sent), 1);
    cr_assert_eq (sent.count, 2);
    s_sent_clear (&sent);
    zjob_outbox_destroy (&outbox);
}

Test (outbox, a_huge_pass_gives_its_memory_back)
{
    zjob_outbox_t *outbox = zjob_outbox_new ();
    size_t size = ZJOB_OUTBOX_KEEP + 1;
    uint8_t *big = (uint8_t *) calloc (1, size);
    cr_assert_not_null (big);
    cr_assert_eq (zjob_outbox_add (outbox, 0, (const uint8_t *) "c", 1, 1, false, big, size),
                  0);
    free (big);
    s_sent_t sent = { .count = 0 };
    zjob_outbox_flush (outbox, NULL, s_send, &sent);
    cr_assert_eq (zframe_size (sent.body [0]), size);
    s_sent_clear (&sent);
    //  Still usable afterwards
    s_add_ok (outbox, 0, "client", 2, false);
    zjob_outbox_flush (outbox, NULL, s_send, &sent);
    cr_assert_eq (sent.count, 1);
    s_sent_clear (&sent);
    zjob_outbox_destroy (&outbox);
}
