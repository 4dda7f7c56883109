/*  =========================================================================
    test_zjob_limits_e2e - the broker's memory is bounded, whatever its peers

    Real processes: zjobd with --max-queued 1000 on a file store, flooded
    with pipelined SUBMITs on a raw socket, far past the limit: exactly
    1000 are taken and the rest answered 429, nothing past 1000 is made,
    the CLI exits 9; a worker drains some, and exactly that many are
    taken again; CLEANUPs pipelined past --max-pending are answered 429. Then a subscriber that subscribes to everything under
    ev/ and never reads, while 100,000 events of about 1.2 KB each go out
    (a worker's PROGRESS with a 1,000-byte message): the broker's VmRSS
    (/proc/PID/status) grows by less than 64 MB. Unbounded, those events
    would be some 120 MB held for the subscriber; bounded by the events
    socket's high-water mark (ZJOB_HWM, 10,000 messages), about 12 MB,
    and as much again in the workers socket's inbound pipe. The figures
    are printed.
    ========================================================================= */

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "zjob_client.h"
#include "zjob_worker.h"
#include "helper_zjob_test.h"
#include "helper_zjob_e2e.h"

#define DEADLINE_MS 20000  //  msecs any expected thing may take
#define LIMIT 1000         //  --max-queued
#define FLOOD 3000         //  SUBMITs sent without waiting
#define EVENTS 100000      //  Events published to a subscriber that never reads
#define RSS_GROWTH_MAX_KB (64 * 1024)

//  Under AddressSanitizer (this test and the zjobd it starts are built
//  alike) freed memory waits in a quarantine of up to 256 MB instead of
//  being reused, so a resident set says nothing of a bound: the figures
//  are printed, not checked
#if defined(__SANITIZE_ADDRESS__)
#define S_RSS_CHECKED false
#else
#define S_RSS_CHECKED true
#endif

//  What one test started; the fini stops and frees all of it, even after
//  a failed assertion
static zjob_e2e_t s_env;
static zjob_msg_builder_t *s_builder;
#define S_SOCKS 4
static zsock_t *s_socks [S_SOCKS];

static void
s_teardown (void)
{
    for (int index = 0; index < S_SOCKS; index++)
        zsock_destroy (&s_socks [index]);
    zjob_msg_builder_destroy (&s_builder);
    zjob_e2e_teardown (&s_env);
}

TestSuite (limits_e2e, .fini = s_teardown, .timeout = 240);

//  zjobd's resident set in KB, from /proc/PID/status
static long
s_rss_kb (pid_t pid)
{
    char path [64];
    snprintf (path, sizeof (path), "/proc/%d/status", (int) pid);
    FILE *file = fopen (path, "r");
    cr_assert_not_null (file, "%s", path);
    char line [256];
    long rss = -1;
    while (fgets (line, sizeof (line), file))
        if (sscanf (line, "VmRSS: %ld kB", &rss) == 1)
            break;
    fclose (file);
    cr_assert_gt (rss, 0, "no VmRSS in %s", path);
    return rss;
}

//  STATS over sock: the figure key
static uint64_t
s_stat (zsock_t *sock, zjob_msg_builder_t *builder, const char *key)
{
    static uint64_t request = 1000000;
    zjob_msg_begin (builder, ZJOB_CMD_STATS, ++request);
    zjob_msg_t *reply = zjob_test_call (sock, builder, DEADLINE_MS);
    cr_assert_not_null (reply, "no answer to STATS");
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    cr_assert (zjob_msg_has (reply, key), "STATS has no %s", key);
    uint64_t value = zjob_msg_uint (reply, key, 0);
    zjob_msg_destroy (&reply);
    return value;
}

//  Send count SUBMITs of one job each on sock without waiting, then read
//  every answer; the number taken (OK) into *taken_p, refused with 429
//  into *refused_p (anything else fails the test)
static void
s_flood (zsock_t *sock, zjob_msg_builder_t *builder, size_t count, size_t *taken_p,
         size_t *refused_p)
{
    static uint64_t request = 0;
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.workflow_id = "limited";
    zjob_error_t err;
    for (size_t index = 0; index < count; index++) {
        zjob_msg_begin (builder, ZJOB_CMD_SUBMIT, ++request);
        zjob_msg_add_specs (builder, "jobs", &spec, 1);
        zframe_t *frame = zjob_msg_end (builder, &err);
        cr_assert_not_null (frame, "%s", err.text);
        cr_assert_eq (zjob_test_send (sock, &frame), 0);
    }
    *taken_p = *refused_p = 0;
    for (size_t index = 0; index < count; index++) {
        zjob_msg_t *reply = zjob_test_recv (sock, ZJOB_ROUTE_BROKER_CLIENT, DEADLINE_MS);
        cr_assert_not_null (reply, "%zu of %zu answers came", index, count);
        if (zjob_msg_command (reply) == ZJOB_CMD_OK)
            (*taken_p)++;
        else {
            cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_ERROR);
            cr_assert_eq (zjob_msg_uint (reply, "code", 0), ZJOB_TOO_MANY, "%s",
                          zjob_msg_str (reply, "message"));
            cr_assert (strstr (zjob_msg_str (reply, "message"), "(--max-queued 1000); try again"),
                       "%s", zjob_msg_str (reply, "message"));
            (*refused_p)++;
        }
        zjob_msg_destroy (&reply);
    }
}

//  The worker that drains: completes every job it is given
static uint8_t *
s_complete (zjob_task_t *task, size_t *size_p, void *arg)
{
    (void) task;
    (void) arg;
    uint8_t *outputs = (uint8_t *) malloc (1);
    outputs [0] = 0x80;  //  {}
    *size_p = 1;
    return outputs;
}

static void *
s_worker_run (void *arg)
{
    zjob_worker_run ((zjob_worker_t *) arg, s_complete, NULL, NULL);
    return NULL;
}

Test (limits_e2e, a_flood_of_submits_stops_at_max_queued)
{
    const char *const args [] = { "--max-queued", "1000", "--max-queued-bytes", "64M",
                                  "--max-pending", "8", NULL };
    zjob_e2e_setup (&s_env, args, DEADLINE_MS, 0);
    zsock_t *sock = s_socks [0] = zjob_test_dealer (s_env.clients);
    zjob_msg_builder_t *builder = s_builder = zjob_msg_builder_new ();
    cr_assert (sock && builder);
    long rss_before = s_rss_kb (s_env.broker);

    size_t taken, refused;
    s_flood (sock, builder, FLOOD, &taken, &refused);
    printf ("limits_e2e: %d pipelined SUBMITs: %zu taken, %zu refused (429)\n", FLOOD, taken,
            refused);
    cr_assert_eq (taken, LIMIT);
    cr_assert_eq (refused, FLOOD - LIMIT);
    cr_assert_eq (s_stat (sock, builder, "jobs"), LIMIT, "nothing past the limit was made");
    cr_assert_eq (s_stat (sock, builder, "queued_jobs"), LIMIT);
    cr_assert_eq (s_stat (sock, builder, "max_queued"), LIMIT);
    cr_assert_eq (s_stat (sock, builder, "max_queued_bytes"), 64 << 20);
    cr_assert_eq (s_stat (sock, builder, "max_pending"), 8);

    //  The CLI says so, with its own exit status
    cr_assert_eq (zjob_e2e_cli (&s_env, "--request-timeout", "20s", "submit", "limited", NULL),
                  9, "%s", s_env.cli_out);

    //  A worker drains some; once it holds none, exactly the room it made
    //  is taken again
    const char *const workflows [] = { "limited" };
    zjob_error_t err;
    zjob_worker_t *worker = zjob_worker_new (s_env.workers, "drainer", workflows, 1, 4, &err);
    cr_assert_not_null (worker, "%s", err.text);
    pthread_t thread;
    cr_assert_eq (pthread_create (&thread, NULL, s_worker_run, worker), 0);
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (s_stat (sock, builder, "queued_jobs") > LIMIT - 300)
        cr_assert_lt (zjob_mono_ms (), deadline, "the worker does not drain");
    zjob_worker_stop (worker);
    pthread_join (thread, NULL);
    zjob_worker_destroy (&worker);
    deadline = zjob_mono_ms () + DEADLINE_MS;
    while (s_stat (sock, builder, "active") > 0)
        cr_assert_lt (zjob_mono_ms (), deadline, "the worker's jobs are not let go");
    //  Room was made: the worker took 300 at least, though the jobs it
    //  held beyond its slots (prefetch) and gave back unstarted when it
    //  stopped are queued again
    uint64_t held = s_stat (sock, builder, "queued_jobs");
    cr_assert_lt (held, LIMIT, "no room made");
    //  200 more than the room, however far the worker drained before it
    //  stopped (a loaded machine lets it run past the 300 asked for)
    size_t more = (size_t) (LIMIT - held) + 200;
    s_flood (sock, builder, more, &taken, &refused);
    printf ("limits_e2e: drained to %" PRIu64 "; %zu more SUBMITs: %zu taken, %zu refused\n",
            held, more, taken, refused);
    cr_assert_eq (taken, LIMIT - held);
    cr_assert_eq (refused, 200);
    cr_assert_eq (s_stat (sock, builder, "queued_jobs"), LIMIT);
    printf ("limits_e2e: zjobd VmRSS %ld kB before the flood, %ld kB after\n", rss_before,
            s_rss_kb (s_env.broker));

    //  --max-pending: CLEANUPs pipelined on one connection (200) are kept across
    //  passes; past 8 kept, 429
    for (uint64_t request = 1; request <= 200; request++) {
        zjob_msg_begin (builder, ZJOB_CMD_CLEANUP, 5000000 + request);
        zframe_t *frame = zjob_msg_end (builder, &err);
        cr_assert_eq (zjob_test_send (sock, &frame), 0);
    }
    size_t cleaned = 0, too_many = 0;
    for (int index = 0; index < 200; index++) {
        zjob_msg_t *reply = zjob_test_recv (sock, ZJOB_ROUTE_BROKER_CLIENT, DEADLINE_MS);
        cr_assert_not_null (reply, "%d of 200 answers came", index);
        if (zjob_msg_command (reply) == ZJOB_CMD_OK)
            cleaned++;
        else {
            cr_assert_eq (zjob_msg_uint (reply, "code", 0), ZJOB_TOO_MANY);
            cr_assert_str_eq (zjob_msg_str (reply, "message"),
                              "too many requests pending on this connection (8)");
            too_many++;
        }
        zjob_msg_destroy (&reply);
    }
    printf ("limits_e2e: 200 CLEANUPs pipelined on one connection: %zu done, %zu refused "
            "(--max-pending 8)\n",
            cleaned, too_many);
    cr_assert_gt (too_many, 0, "no CLEANUP was refused");
    cr_assert_geq (cleaned, 8);
}

//  Send the request in builder on a worker's socket and wait for the OK
//  or ERROR that answers it (skipping the broker's HEARTBEATs)
static zjob_msg_t *
s_worker_call (zsock_t *worker, zjob_msg_builder_t *builder, uint64_t request_id)
{
    zjob_error_t err;
    zframe_t *frame = zjob_msg_end (builder, &err);
    cr_assert_not_null (frame, "%s", err.text);
    cr_assert_eq (zjob_test_send (worker, &frame), 0);
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (zjob_mono_ms () < deadline) {
        zjob_msg_t *reply = zjob_test_recv (worker, ZJOB_ROUTE_BROKER_WORKER, DEADLINE_MS);
        cr_assert_not_null (reply, "no answer on the workers socket");
        zjob_cmd_t cmd = zjob_msg_command (reply);
        if ((cmd == ZJOB_CMD_OK || cmd == ZJOB_CMD_ERROR)
            && zjob_msg_request_id (reply) == request_id)
            return reply;
        zjob_msg_destroy (&reply);
    }
    cr_assert_fail ("no answer to request %" PRIu64, request_id);
    return NULL;
}

//  A worker by hand on the workers socket (s_socks [0]): READY for
//  "events", then the one job it is given; its id into id
static zsock_t *
s_raw_worker (zjob_msg_builder_t *builder, char *id)
{
    zsock_t *worker = s_socks [0] = zjob_test_dealer (s_env.workers);
    cr_assert_not_null (worker);
    const char *workflow = "events";
    zjob_msg_begin (builder, ZJOB_CMD_READY, 1);
    zjob_msg_add_str (builder, "worker_id", "w-events");
    zjob_msg_add_strs (builder, "workflows", &workflow, 1);
    zjob_msg_add_uint (builder, "slots", 1);
    zjob_msg_t *reply = s_worker_call (worker, builder, 1);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    zjob_msg_destroy (&reply);
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.workflow_id = workflow;
    zjob_error_t err;
    cr_assert_eq (zjob_client_submit (s_env.client, &spec, true, id, &err), 0, "%s", err.text);
    zjob_msg_t *job = zjob_test_expect (worker, ZJOB_ROUTE_BROKER_WORKER, ZJOB_CMD_JOB,
                                        DEADLINE_MS);
    cr_assert_not_null (job, "no JOB");
    zjob_msg_destroy (&job);
    return worker;
}

Test (limits_e2e, a_subscriber_that_never_reads_does_not_grow_the_broker)
{
    //  The worker by hand sends no HEARTBEAT: a long heartbeat keeps it
    //  alive however slowly a loaded machine runs the test
    const char *const args [] = { "--store", "memory:", "--heartbeat", "10s", NULL };
    zjob_e2e_setup (&s_env, args, DEADLINE_MS, 0);
    zjob_msg_builder_t *builder = s_builder = zjob_msg_builder_new ();
    cr_assert_not_null (builder);
    char id [ZJOB_ID_LEN + 1];
    zsock_t *worker = s_raw_worker (builder, id);

    //  The subscriber: everything under ev/, and it never reads. A second
    //  one reads, to see that events go out at all
    zsock_t *stuck = s_socks [1] = zsock_new_sub (s_env.events, "ev/");
    zsock_t *reader = s_socks [2] = zsock_new_sub (s_env.events, "ev/progress");
    cr_assert (stuck && reader);
    //  Subscriptions reach the broker asynchronously: wait until it has
    //  both prefixes
    zsock_t *client = s_socks [3] = zjob_test_dealer (s_env.clients);
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (s_stat (client, builder, "subscriptions") < 2)
        cr_assert_lt (zjob_mono_ms (), deadline, "the subscriptions do not arrive");

    char message [1001];
    memset (message, 'm', sizeof (message) - 1);
    message [sizeof (message) - 1] = 0;
    long rss_before = s_rss_kb (s_env.broker);
    long rss_peak = rss_before;
    size_t read = 0;
    zjob_error_t err;
    for (int index = 0; index < EVENTS; index++) {
        zjob_msg_begin (builder, ZJOB_CMD_PROGRESS, 0);
        zjob_msg_add_str (builder, "id", id);
        zjob_msg_add_float (builder, "progress", (float) index / EVENTS);
        zjob_msg_add_str (builder, "message", message);
        zframe_t *frame = zjob_msg_end (builder, &err);
        cr_assert_not_null (frame, "%s", err.text);
        cr_assert_eq (zjob_test_send (worker, &frame), 0);
        if (index % 5000 == 0) {
            long rss = s_rss_kb (s_env.broker);
            rss_peak = rss > rss_peak ? rss : rss_peak;
        }
        while (zsock_events (reader) & ZMQ_POLLIN) {
            zmsg_t *event = zmsg_recv (reader);
            zmsg_destroy (&event);
            read++;
        }
    }
    //  The RESULT's OK comes after every PROGRESS before it was applied
    zjob_msg_begin (builder, ZJOB_CMD_RESULT, 2);
    zjob_msg_add_str (builder, "id", id);
    zjob_msg_add_str (builder, "status", "completed");
    zjob_msg_add_bin (builder, "outputs", (const uint8_t *) "\x80", 1);
    zjob_msg_t *reply = s_worker_call (worker, builder, 2);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK, "%s", zjob_msg_str (reply, "message"));
    zjob_msg_destroy (&reply);
    long rss_after = s_rss_kb (s_env.broker);
    rss_peak = rss_after > rss_peak ? rss_after : rss_peak;
    printf ("limits_e2e: %d progress events of %zu-byte messages, a subscriber to ev/ that "
            "never reads: zjobd VmRSS %ld kB before, peak %ld kB, %ld kB after (growth %ld kB, "
            "bound %d kB); the reading subscriber read %zu\n",
            EVENTS, sizeof (message) - 1, rss_before, rss_peak, rss_after,
            rss_peak - rss_before, RSS_GROWTH_MAX_KB, read);
    if (S_RSS_CHECKED)
        cr_assert_lt (rss_peak - rss_before, RSS_GROWTH_MAX_KB);
    else
        printf ("limits_e2e: (not checked under AddressSanitizer: its quarantine keeps what is "
                "freed)\n");
    cr_assert_gt (read, 0, "no event went out");
    cr_assert_eq (zjob_client_status (s_env.client, id, &err), ZJOB_COMPLETED, "%s", err.text);
}
