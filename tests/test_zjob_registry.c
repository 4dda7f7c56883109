/*  =========================================================================
    test_zjob_registry - the broker's worker registry, without sockets

    Workers are registered with made-up routing ids; the lost and left
    callbacks record what the broker would requeue and announce. The
    disconnect check uses a real loopback TCP connection, since it asks
    the kernel for the descriptor's peer.
    ========================================================================= */

#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>
#include "zjob_registry.h"

//  What the callbacks heard
typedef struct {
    char lost [16][ZJOB_ID_LEN + 1];
    size_t lost_count;
    char left [16][64];  //  "worker_id:reason"
    size_t left_count;
} s_heard_t;

static void
s_lost (const char *job_id, void *arg)
{
    s_heard_t *heard = (s_heard_t *) arg;
    if (heard->lost_count < 16)
        snprintf (heard->lost [heard->lost_count++], ZJOB_ID_LEN + 1, "%s", job_id);
}

static void
s_left (zjob_registry_worker_t *worker, const char *reason, void *arg)
{
    s_heard_t *heard = (s_heard_t *) arg;
    if (heard->left_count < 16)
        snprintf (heard->left [heard->left_count++], 64, "%s:%s", worker->worker_id, reason);
}

static zjob_registry_worker_t *
s_join (zjob_registry_t *registry, const char *rid, const char *worker_id, size_t slots,
        const char *const *keep, size_t keep_count)
{
    const char *workflows [] = { "wf" };
    zjob_registry_worker_t *worker = zjob_registry_join (
        registry, (const uint8_t *) rid, strlen (rid), worker_id, NULL, workflows, 1, slots,
        1, -1, 1000, keep, keep_count);
    cr_assert_not_null (worker);
    return worker;
}

Test (registry, join_lookup_admit_credit)
{
    zjob_registry_t *registry = zjob_registry_new (100, 3);
    cr_assert_not_null (registry);
    zjob_registry_worker_t *a = s_join (registry, "rid-a", "a", 2, NULL, 0);
    cr_assert_eq (zjob_registry_size (registry), 1);
    cr_assert_eq (zjob_registry_lookup (registry, (const uint8_t *) "rid-a", 5), a);
    cr_assert_null (zjob_registry_lookup (registry, (const uint8_t *) "rid-b", 5));
    cr_assert_null (zjob_registry_lookup (registry, NULL, 0));
    //  Credit is capped at free slots; a joining worker stays out of the ring
    cr_assert_not (zjob_registry_credit (registry, a, 5));
    cr_assert_eq (a->credit, 2);
    cr_assert_null (zjob_registry_ring (registry));
    cr_assert (zjob_registry_admit (registry));
    cr_assert_eq (zjob_registry_ring (registry), a);
    cr_assert_not (zjob_registry_admit (registry), "nobody is joining now");

    //  Two workers in the ring: the newcomer goes behind the cursor
    zjob_registry_worker_t *b = s_join (registry, "rid-b", "b", 1, NULL, 0);
    zjob_registry_credit (registry, b, 1);
    zjob_registry_admit (registry);
    cr_assert_eq (zjob_registry_ring_size (registry), 2);
    cr_assert_eq (zjob_registry_ring (registry), a);
    cr_assert_eq (a->next, b);
    zjob_registry_ring_set (registry, b);
    cr_assert_eq (zjob_registry_ring (registry), b);
    zjob_registry_ring_remove (registry, b);
    cr_assert_eq (zjob_registry_ring_size (registry), 1);
    cr_assert_eq (zjob_registry_ring (registry), a);
    //  Credit brings it back
    cr_assert (zjob_registry_credit (registry, b, 1));
    cr_assert_eq (zjob_registry_ring_size (registry), 2);
    zjob_registry_destroy (&registry);
    zjob_registry_destroy (&registry);
    cr_assert_null (registry);
}

Test (registry, holders)
{
    zjob_registry_t *registry = zjob_registry_new (100, 3);
    zjob_registry_worker_t *a = s_join (registry, "rid-a", "a", 4, NULL, 0);
    zjob_registry_worker_t *b = s_join (registry, "rid-b", "b", 4, NULL, 0);
    cr_assert_eq (zjob_registry_hold (registry, a, "job-1"), 0);
    cr_assert_eq (zjob_registry_hold (registry, a, "job-2"), 0);
    cr_assert_eq (zjob_registry_hold (registry, a, "job-2"), 0, "twice is once");
    cr_assert_eq (a->holding, 2);
    cr_assert_eq (zjob_registry_held (registry), 2);
    cr_assert_eq (zjob_registry_holder (registry, "job-1"), a);
    cr_assert_null (zjob_registry_holder (registry, "job-9"));
    //  Credit counts only free slots
    zjob_registry_credit (registry, a, 4);
    cr_assert_eq (a->credit, 2);
    const char *ids [4];
    cr_assert_eq (zjob_registry_jobs (registry, a, ids, 4), 2);
    cr_assert_eq (zjob_registry_jobs (registry, b, ids, 4), 0);
    //  Only the holder releases
    cr_assert_not (zjob_registry_release (registry, "job-1", b));
    cr_assert (zjob_registry_release (registry, "job-1", a));
    cr_assert_not (zjob_registry_release (registry, "job-1", a));
    cr_assert_eq (a->holding, 1);
    //  A job moving to another worker leaves the first one's count
    cr_assert_eq (zjob_registry_hold (registry, b, "job-2"), 0);
    cr_assert_eq (a->holding, 0);
    cr_assert_eq (b->holding, 1);
    zjob_registry_destroy (&registry);
}

Test (registry, mark_dead_and_reap)
{
    s_heard_t heard = { .lost_count = 0 };
    zjob_registry_t *registry = zjob_registry_new (100, 3);
    zjob_registry_set_listener (registry, s_lost, s_left, &heard);
    zjob_registry_worker_t *a = s_join (registry, "rid-a", "a", 2, NULL, 0);
    s_join (registry, "rid-b", "b", 2, NULL, 0);
    zjob_registry_credit (registry, a, 1);
    zjob_registry_admit (registry);
    zjob_registry_hold (registry, a, "job-1");
    zjob_registry_mark_dead (registry, a, "disconnect");
    zjob_registry_mark_dead (registry, a, "expired");  //  The first reason stands
    cr_assert (a->dead);
    cr_assert_null (zjob_registry_ring (registry), "a dead worker leaves the ring at once");
    cr_assert_eq (heard.left_count, 0, "removed only by the reap");
    cr_assert_eq (zjob_registry_reap (registry), 1);
    cr_assert_eq (zjob_registry_reap (registry), 0);
    cr_assert_eq (heard.lost_count, 1);
    cr_assert_str_eq (heard.lost [0], "job-1");
    cr_assert_eq (heard.left_count, 1);
    cr_assert_str_eq (heard.left [0], "a:disconnect");
    cr_assert_eq (zjob_registry_size (registry), 1);
    cr_assert_null (zjob_registry_holder (registry, "job-1"));
    cr_assert_null (zjob_registry_lookup (registry, (const uint8_t *) "rid-a", 5));
    zjob_registry_destroy (&registry);
}

Test (registry, expire_silent_workers)
{
    s_heard_t heard = { .lost_count = 0 };
    zjob_registry_t *registry = zjob_registry_new (100, 3);  //  300 ms
    zjob_registry_set_listener (registry, s_lost, s_left, &heard);
    zjob_registry_worker_t *a = s_join (registry, "rid-a", "a", 1, NULL, 0);  //  at 1000
    zjob_registry_worker_t *b = s_join (registry, "rid-b", "b", 1, NULL, 0);
    zjob_registry_touch (registry, b, 1200);
    cr_assert_eq (zjob_registry_expire (registry, 1299), 0);
    cr_assert_eq (zjob_registry_expire (registry, 1300), 1);
    cr_assert (a->dead);
    cr_assert_str_eq (a->dead_reason, "expired");
    cr_assert_not (b->dead);
    cr_assert_eq (zjob_registry_expire (registry, 1499), 0);
    cr_assert_eq (zjob_registry_expire (registry, 1500), 1);
    cr_assert_eq (zjob_registry_reap (registry), 2);
    cr_assert_eq (heard.left_count, 2);
    zjob_registry_destroy (&registry);
}

Test (registry, replaced_record_hands_over_kept_jobs)
{
    s_heard_t heard = { .lost_count = 0 };
    zjob_registry_t *registry = zjob_registry_new (100, 3);
    zjob_registry_set_listener (registry, s_lost, s_left, &heard);
    zjob_registry_worker_t *old = s_join (registry, "rid-a", "a", 2, NULL, 0);
    zjob_registry_hold (registry, old, "job-1");
    zjob_registry_hold (registry, old, "job-2");
    //  The same worker id on a new connection keeps job-2 only
    const char *keep [] = { "job-2" };
    zjob_registry_worker_t *fresh = s_join (registry, "rid-z", "a", 2, keep, 1);
    cr_assert_eq (zjob_registry_size (registry), 1);
    cr_assert_eq (heard.left_count, 1);
    cr_assert_str_eq (heard.left [0], "a:replaced");
    cr_assert_eq (heard.lost_count, 1);
    cr_assert_str_eq (heard.lost [0], "job-1");
    cr_assert_eq (zjob_registry_holder (registry, "job-2"), fresh);
    cr_assert_eq (fresh->holding, 1);
    cr_assert (fresh->joining);
    zjob_registry_credit (registry, fresh, 2);
    cr_assert_eq (fresh->credit, 1);
    //  Removed at once, without a heir: its jobs are lost
    zjob_registry_remove (registry, fresh, "disconnect", NULL, NULL, 0);
    cr_assert_eq (heard.lost_count, 2);
    cr_assert_str_eq (heard.lost [1], "job-2");
    cr_assert_eq (zjob_registry_size (registry), 0);
    cr_assert_not (zjob_registry_admit (registry), "its joining was forgotten");
    zjob_registry_destroy (&registry);
}

Test (registry, disconnected_descriptor)
{
    //  A loopback connection: the registry knows the accepted end's peer
    int listener = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = { .sin_family = AF_INET };
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    cr_assert_eq (bind (listener, (struct sockaddr *) &address, sizeof (address)), 0);
    cr_assert_eq (listen (listener, 1), 0);
    socklen_t size = sizeof (address);
    getsockname (listener, (struct sockaddr *) &address, &size);
    int client = socket (AF_INET, SOCK_STREAM, 0);
    cr_assert_eq (connect (client, (struct sockaddr *) &address, sizeof (address)), 0);
    int served = accept (listener, NULL, NULL);
    cr_assert_geq (served, 0);

    zjob_registry_t *registry = zjob_registry_new (100, 3);
    const char *workflows [] = { "wf" };
    zjob_registry_worker_t *worker = zjob_registry_join (
        registry, (const uint8_t *) "rid", 3, "w", NULL, workflows, 1, 1, 1, served, 0,
        NULL, 0);
    cr_assert_gt (worker->peer_size, 0);
    //  The event arrives while the connection still looks alive: checked again
    zjob_registry_disconnected (registry, served, 0);
    cr_assert_not (worker->dead);
    cr_assert_eq (zjob_registry_recheck_at (registry), ZJOB_RECHECK_MS);
    //  Another descriptor's event changes nothing
    zjob_registry_disconnected (registry, served + 100, 0);
    cr_assert_not (worker->dead);
    close (served);
    cr_assert_eq (zjob_registry_recheck (registry, ZJOB_RECHECK_MS), 0);
    cr_assert (worker->dead);
    cr_assert_str_eq (worker->dead_reason, "disconnect");
    cr_assert_eq (zjob_registry_reap (registry), 1);
    zjob_registry_destroy (&registry);
    close (client);
    close (listener);
}

//  Prefetch: credit may grow to slots + prefetch - held, never beyond;
//  the grant is bounded (slots + prefetch <= ZJOB_SLOTS_MAX), and a
//  batching worker's JOBs may then carry a whole window
Test (registry, prefetch_credit)
{
    zjob_registry_t *registry = zjob_registry_new (100, 3);
    zjob_registry_worker_t *a = s_join (registry, "rid-a", "a", 2, NULL, 0);
    cr_assert_eq (zjob_registry_prefetch (registry, a, 3), 3);
    zjob_registry_credit (registry, a, 2);
    zjob_registry_admit (registry);
    cr_assert_eq (a->credit, 2, "READY's credit: the free slots only");
    zjob_registry_credit (registry, a, 100);
    cr_assert_eq (a->credit, 5, "slots + prefetch, no more");
    cr_assert_eq (zjob_registry_hold (registry, a, "00000000000000000001"), 0);
    cr_assert_eq (zjob_registry_hold (registry, a, "00000000000000000002"), 0);
    cr_assert_eq (zjob_registry_hold (registry, a, "00000000000000000003"), 0);
    a->credit = 0;
    zjob_registry_credit (registry, a, 100);
    cr_assert_eq (a->credit, 2, "slots + prefetch - held: 2 + 3 - 3");
    //  Without prefetch, as before: free slots
    zjob_registry_worker_t *b = s_join (registry, "rid-b", "b", 2, NULL, 0);
    zjob_registry_credit (registry, b, 100);
    cr_assert_eq (b->credit, 2);
    //  Bounded: prefetch at most ZJOB_PREFETCH_MAX, with the slots at most
    //  ZJOB_SLOTS_MAX
    zjob_registry_worker_t *c = s_join (registry, "rid-c", "c", 990, NULL, 0);
    cr_assert_eq (zjob_registry_prefetch (registry, c, 1000), 10);
    const char *workflows [] = { "wf" };
    zjob_registry_worker_t *d = zjob_registry_join (
        registry, (const uint8_t *) "rid-d", 5, "d", NULL, workflows, 1, 4, 1000, -1, 1000,
        NULL, 0);
    cr_assert_eq (d->batch, 4, "a batch up to its slots");
    cr_assert_eq (zjob_registry_prefetch (registry, d, 60), 60);
    cr_assert_eq (d->batch, 64, "and to its whole window with prefetch");
    zjob_registry_destroy (&registry);
}
