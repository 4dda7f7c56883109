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


//  --------------------------------------------------------------------------
//  Overlapped syncs: messages sealed with a ticket, released when it is done

//  The request ids of what was sent, in order, and the codes (200 = OK)
static void
s_sent_ids (s_sent_t *sent, uint64_t *ids, int *codes)
{
    for (size_t index = 0; index < sent->count; index++) {
        zjob_msg_t *msg = s_decoded (sent->body [index]);
        ids [index] = zjob_msg_request_id (msg);
        zjob_error_t err;
        codes [index] = zjob_msg_error (msg, &err);
        zjob_msg_destroy (&msg);
    }
}

Test (outbox, a_ticket_not_done_holds_its_messages_and_all_after_them)
{
    zjob_outbox_t *outbox = zjob_outbox_new ();
    s_sent_t sent = { .count = 0 };
    //  Pass 1 (ticket 1): a change and a read of client-1
    s_add_ok (outbox, 0, "client-1", 1, true);
    s_add_ok (outbox, 0, "client-1", 2, false);
    zjob_outbox_seal (outbox, 1, NULL);
    //  Pass 2, clean (a read): it waits behind ticket 1, with ticket 1
    s_add_ok (outbox, 0, "client-2", 3, false);
    zjob_outbox_seal (outbox, 1, NULL);
    //  Pass 3 (ticket 2), and a message not sealed yet (pass 4 under way)
    s_add_ok (outbox, 0, "client-1", 4, true);
    zjob_outbox_seal (outbox, 2, NULL);
    s_add_ok (outbox, 0, "client-1", 5, false);
    cr_assert_eq (zjob_outbox_first_ticket (outbox), 1);

    //  Nothing durable yet: nothing goes, not even the reads
    cr_assert_eq (zjob_outbox_release (outbox, 0, NULL, s_send, &sent), 0);
    cr_assert_eq (sent.count, 0);
    cr_assert_eq (zjob_outbox_size (outbox), 5);
    cr_assert_eq (zjob_outbox_mutating (outbox), 2);
    //  Ticket 1 done: the first three, in order
    zjob_outbox_release (outbox, 1, NULL, s_send, &sent);
    cr_assert_eq (sent.count, 3);
    uint64_t ids [S_SENT_MAX];
    int codes [S_SENT_MAX];
    s_sent_ids (&sent, ids, codes);
    cr_assert (ids [0] == 1 && ids [1] == 2 && ids [2] == 3);
    cr_assert_str_eq (sent.rid [2], "client-2");
    cr_assert_eq (zjob_outbox_size (outbox), 2);
    cr_assert_eq (zjob_outbox_first_ticket (outbox), 2);
    s_sent_clear (&sent);
    //  Ticket 2 done: request 4 only; 5 is not sealed yet, whatever is done
    zjob_outbox_release (outbox, UINT64_MAX, NULL, s_send, &sent);
    cr_assert_eq (sent.count, 1);
    s_sent_ids (&sent, ids, codes);
    cr_assert_eq (ids [0], 4);
    cr_assert_eq (codes [0], 200);
    cr_assert_eq (zjob_outbox_first_ticket (outbox), 0, "an unsealed message has no ticket");
    s_sent_clear (&sent);
    //  Its bytes survived the moves to the front of the arena
    zjob_outbox_seal (outbox, 3, NULL);
    zjob_outbox_release (outbox, 3, NULL, s_send, &sent);
    cr_assert_eq (sent.count, 1);
    s_sent_ids (&sent, ids, codes);
    cr_assert_eq (ids [0], 5);
    cr_assert_str_eq (sent.rid [0], "client-1");
    cr_assert_eq (zjob_outbox_size (outbox), 0);
    cr_assert_eq (zjob_outbox_mutating (outbox), 0);
    s_sent_clear (&sent);
    zjob_outbox_destroy (&outbox);
}

Test (outbox, a_sync_failed_later_turns_its_changes_into_503_in_their_place)
{
    zjob_outbox_t *outbox = zjob_outbox_new ();
    s_sent_t sent = { .count = 0 };
    s_add_ok (outbox, 0, "client-1", 1, true);
    s_add_ok (outbox, 1, "worker-1", 2, false);
    zjob_outbox_seal (outbox, 1, NULL);
    s_add_ok (outbox, 0, "client-1", 3, true);
    zjob_outbox_seal (outbox, 2, NULL);
    //  The fdatasync covering tickets 1 and 2 failed
    zjob_error_t err;
    zjob_error_set (&err, ZJOB_UNAVAILABLE, "journal j: fdatasync failed: EIO");
    zjob_outbox_release (outbox, 2, &err, s_send, &sent);
    cr_assert_eq (sent.count, 3);
    uint64_t ids [S_SENT_MAX];
    int codes [S_SENT_MAX];
    s_sent_ids (&sent, ids, codes);
    cr_assert (ids [0] == 1 && ids [1] == 2 && ids [2] == 3, "order kept");
    cr_assert (codes [0] == 503 && codes [1] == 200 && codes [2] == 503);
    zjob_msg_t *msg = s_decoded (sent.body [2]);
    zjob_msg_error (msg, &err);
    cr_assert_str_eq (err.text, "not committed: journal j: fdatasync failed: EIO");
    zjob_msg_destroy (&msg);
    s_sent_clear (&sent);
    zjob_outbox_destroy (&outbox);
}

Test (outbox, a_sync_failed_at_once_answers_503_behind_the_syncs_under_way)
{
    zjob_outbox_t *outbox = zjob_outbox_new ();
    s_sent_t sent = { .count = 0 };
    s_add_ok (outbox, 0, "client-1", 1, true);
    zjob_outbox_seal (outbox, 1, NULL);
    //  The next pass's sync failed at once (a write): no new ticket, its
    //  change is answered 503, after ticket 1's OK
    s_add_ok (outbox, 0, "client-1", 2, true);
    s_add_ok (outbox, 0, "client-1", 3, false);
    zjob_error_t err;
    zjob_error_set (&err, ZJOB_UNAVAILABLE, "the store cannot write: ENOSPC");
    zjob_outbox_seal (outbox, 1, &err);
    cr_assert_eq (zjob_outbox_mutating (outbox), 1, "the 503 acknowledges nothing");
    zjob_outbox_release (outbox, 0, NULL, s_send, &sent);
    cr_assert_eq (sent.count, 0, "the 503 does not overtake the OK before it");
    zjob_outbox_release (outbox, 1, NULL, s_send, &sent);
    cr_assert_eq (sent.count, 3);
    uint64_t ids [S_SENT_MAX];
    int codes [S_SENT_MAX];
    s_sent_ids (&sent, ids, codes);
    cr_assert (ids [0] == 1 && ids [1] == 2 && ids [2] == 3);
    cr_assert (codes [0] == 200 && codes [1] == 503 && codes [2] == 200);
    s_sent_clear (&sent);
    zjob_outbox_destroy (&outbox);
}
