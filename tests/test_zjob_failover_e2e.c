/*  =========================================================================
    test_zjob_failover_e2e - two zjobd on one PostgreSQL database: one
    active, one standby; the active one killed (-9) or stopped (SIGSTOP)

    Real processes only: two zjobd on a fresh database of the test
    server (the CTest fixture pg), each on endpoints of its own chosen
    before it starts (a standby binds nothing until it takes over, and
    the clients must know where it will be); a client and two workers of
    libzjob given both brokers as a list.

    kill -9 (ZJOB_FAILOVER_ROUNDS rounds, default 3; `make failover`
    runs 20): under a steady pipelined load (SUBMITs with idempotency
    keys, sent again when unanswered or refused; the workers complete
    every job at once and note its id), the active zjobd is killed. The
    test measures the ms from the kill (the process gone) until the first
    OK to a SUBMIT sent after it (the standby serves), and until every
    worker is back (it found the broker lost and got a job from the new
    one). Then it checks what a failover must keep: every SUBMIT answered
    OK made a job that is in the database and ends completed, by the
    worker; a key answered twice (once by each broker) got the same id;
    and the database holds one job per key, not two (a resent SUBMIT
    did not make another). The killed zjobd is started again as the new
    standby, for the next round. Per round and at the end (median, max)
    the times are printed.

    SIGSTOP: the active zjobd is stopped; the standby takes over once
    the lease (lease=1s) is gone. When the old one runs again, a SUBMIT
    sent to it alone gets 503 or nothing, its job is never in the
    database, and it exits 8 by itself: nothing is acknowledged by a
    broker that lost the lease.
    ========================================================================= */

#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "zjob_client.h"
#include "zjob_worker.h"
#include "zjob_proto.h"
#include "helper_zjob_test.h"
#include "helper_zjob_pg.h"

#define S_DEADLINE_MS 30000  //  Anything that must happen, on a loaded machine
#define S_WINDOW 32          //  SUBMITs in flight at once
#define S_RATE 400           //  New SUBMITs a second: a steady load
#define S_RESEND_MS 1000     //  A SUBMIT unanswered that long is sent again
#define S_RETRY_MS 20        //  One that could not be sent, or was refused
#define S_STALE_MS 500       //  A JOB read that long after the kill is the new broker's
#define S_WORKERS 2
#define S_JOBS_MAX 40000  //  SUBMITs of one round, at most

//  One zjobd of the pair: its endpoints stay for every run
typedef struct {
    char clients [64];
    char workers [64];
    char events [64];
    pid_t pid;
    int out;         //  Its stdout: the ready line, once active
    char log [700];  //  Its stderr for this run
    int runs;
} s_zjobd_t;

//  One SUBMIT of the load: a key, and what became of it
typedef struct {
    char key [48];
    char id [ZJOB_ID_LEN + 1];  //  "" until an OK
    uint64_t request;           //  In flight, or 0
    int64_t sent_at;            //  mono ms of the last send
    int64_t retry_at;           //  When not in flight and not answered: send again then
} s_submit_t;

//  A worker thread
typedef struct {
    pthread_t thread;
    zjob_worker_t *worker;
    atomic_bool stop;
    atomic_llong armed_at;   //  mono ms of the kill, 0 while none
    atomic_llong back_at;    //  mono ms of its first job after it
    bool unregistered_seen;  //  Lost the broker since the kill
} s_worker_t;

static char *s_dir;
static char *s_conninfo;
static char s_spec [1200];
static s_zjobd_t s_zjobd [2];
static s_worker_t s_workers [S_WORKERS];
static zjob_client_t *s_client;
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static zhashx_t *s_completed;  //  job id -> times a worker completed it (under s_lock)

static s_submit_t *s_submits;  //  This round's
static size_t s_submit_count;
static zhashx_t *s_requests;  //  "request id" -> index in s_submits
static size_t s_mismatches;   //  Keys answered with two ids
static char s_user [32];      //  This round's jobs' user_id: "failover-N"

//  --------------------------------------------------------------------------
//  The two zjobd

//  Six ports of 127.0.0.1 the kernel gave, all different (the sockets
//  are held until the last is chosen), released for the zjobd to bind;
//  below 49152, where libzmq's "*" starts counting, so that no broker of
//  another test takes one while a zjobd of this one is down
static void
s_free_endpoints (void)
{
    int fds [6];
    char *endpoints [6] = { s_zjobd [0].clients, s_zjobd [0].workers, s_zjobd [0].events,
                            s_zjobd [1].clients, s_zjobd [1].workers, s_zjobd [1].events };
    for (int index = 0; index < 6; index++) {
        int port = 0;
        for (int tries = 0; tries < 1000 && (port == 0 || port >= 49152); tries++) {
            if (port)
                close (fds [index]);
            fds [index] = socket (AF_INET, SOCK_STREAM, 0);
            cr_assert_geq (fds [index], 0);
            struct sockaddr_in address = { .sin_family = AF_INET,
                                           .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
            socklen_t size = sizeof address;
            cr_assert_eq (bind (fds [index], (struct sockaddr *) &address, sizeof address), 0);
            cr_assert_eq (getsockname (fds [index], (struct sockaddr *) &address, &size), 0);
            port = ntohs (address.sin_port);
        }
        cr_assert (port > 0 && port < 49152, "no port below 49152");
        snprintf (endpoints [index], sizeof s_zjobd [0].clients, "tcp://127.0.0.1:%d", port);
    }
    for (int index = 0; index < 6; index++)
        close (fds [index]);
}

static void
s_start (int slot)
{
    s_zjobd_t *zjobd = &s_zjobd [slot];
    zjobd->runs++;
    snprintf (zjobd->log, sizeof zjobd->log, "%s/zjobd-%d-%d.log", s_dir, slot, zjobd->runs);
    char *argv [] = { (char *) ZJOB_BIN_DIR "/zjobd", (char *) "--store", s_spec,
                      (char *) "--clients", zjobd->clients, (char *) "--workers",
                      zjobd->workers, (char *) "--events", zjobd->events,
                      (char *) "--heartbeat", (char *) "250ms", (char *) "--log-level",
                      (char *) "info", NULL };
    zjobd->pid = zjob_test_spawn_with (argv, &zjobd->out, zjobd->log);
    cr_assert_gt (zjobd->pid, 0);
}

//  Whether the zjobd's log of this run says text
static bool
s_logged (int slot, const char *text)
{
    FILE *file = fopen (s_zjobd [slot].log, "r");
    if (!file)
        return false;
    char line [4096];
    bool found = false;
    while (!found && fgets (line, sizeof line, file))
        found = strstr (line, text) != NULL;
    fclose (file);
    return found;
}

//  Wait until the zjobd logs text (a standby says "standby:"); polls the
//  file, which has no event to wait on
static void
s_wait_logged (int slot, const char *text)
{
    int64_t deadline = zjob_mono_ms () + S_DEADLINE_MS;
    while (!s_logged (slot, text) && zjob_mono_ms () < deadline)
        zclock_sleep (10);
    cr_assert (s_logged (slot, text), "zjobd %d never logged \"%s\"", slot, text);
}

//  Wait for the ready line: the zjobd is active and serving
static void
s_wait_ready (int slot, int timeout_ms)
{
    char *line = zjob_test_read_line (s_zjobd [slot].out, timeout_ms);
    if (!line) {
        char command [800];
        snprintf (command, sizeof command, "tail -n 20 %s >&2", s_zjobd [slot].log);
        if (system (command) != 0)
            fprintf (stderr, "(no log)\n");
    }
    cr_assert_not_null (line, "zjobd %d printed no ready line", slot);
    cr_assert (strncmp (line, "zjobd ready clients=", 20) == 0, "%s", line);
    cr_assert (strstr (line, s_zjobd [slot].clients), "%s", line);
    free (line);
}

static void
s_stop (int slot, int signal)
{
    s_zjobd_t *zjobd = &s_zjobd [slot];
    if (zjobd->pid > 0) {
        kill (zjobd->pid, SIGCONT);
        kill (zjobd->pid, signal);
        zjob_test_wait_exit (zjobd->pid, 10000);
        zjobd->pid = 0;
    }
    if (zjobd->out >= 0)
        close (zjobd->out);
    zjobd->out = -1;
}

//  --------------------------------------------------------------------------
//  Workers

static void *
s_worker_run (void *arg)
{
    s_worker_t *self = (s_worker_t *) arg;
    while (!atomic_load (&self->stop)) {
        zjob_task_t *task = NULL;
        zjob_error_t err;
        int event = zjob_worker_recv (self->worker, 20, &task, &err);
        int64_t armed = atomic_load (&self->armed_at);
        if (armed && !zjob_worker_registered (self->worker))
            self->unregistered_seen = true;
        if (event != ZJOB_WORKER_TASK || !task)
            continue;
        int64_t now = zjob_mono_ms ();
        //  Back: a job after it found the broker lost and registered again;
        //  or (should it have registered again within one recv, not seen
        //  here) one read S_STALE_MS after the kill, when nothing the dead
        //  broker sent can still be waiting
        if (armed && !atomic_load (&self->back_at)
            && ((self->unregistered_seen && zjob_worker_registered (self->worker))
                || now > armed + S_STALE_MS))
            atomic_store (&self->back_at, now);
        pthread_mutex_lock (&s_lock);
        const char *id = zjob_task_id (task);
        size_t times = (size_t) (uintptr_t) zhashx_lookup (s_completed, id);
        zhashx_update (s_completed, id, (void *) (uintptr_t) (times + 1));
        pthread_mutex_unlock (&s_lock);
        zjob_worker_complete (self->worker, &task, NULL, 0, NULL);
    }
    return NULL;
}

static void
s_workers_start (const char *list)
{
    const char *workflows [] = { "fo" };
    for (int index = 0; index < S_WORKERS; index++) {
        s_worker_t *worker = &s_workers [index];
        zjob_error_t err;
        worker->worker = zjob_worker_new (list, "fo-worker", workflows, 1, 8, &err);
        cr_assert_not_null (worker->worker, "%s", err.text);
        atomic_store (&worker->stop, false);
        cr_assert_eq (pthread_create (&worker->thread, NULL, s_worker_run, worker), 0);
    }
}

static void
s_workers_stop (void)
{
    for (int index = 0; index < S_WORKERS; index++) {
        s_worker_t *worker = &s_workers [index];
        if (!worker->worker)
            continue;
        atomic_store (&worker->stop, true);
        pthread_join (worker->thread, NULL);
        zjob_worker_destroy (&worker->worker);
    }
}

static void
s_workers_arm (int64_t at)
{
    for (int index = 0; index < S_WORKERS; index++) {
        s_workers [index].unregistered_seen = false;
        atomic_store (&s_workers [index].back_at, 0);
        atomic_store (&s_workers [index].armed_at, at);
    }
}

//  The last worker's return, or 0 if one is not back yet
static int64_t
s_workers_back (void)
{
    int64_t last = 0;
    for (int index = 0; index < S_WORKERS; index++) {
        int64_t back = atomic_load (&s_workers [index].back_at);
        if (!back)
            return 0;
        last = back > last ? back : last;
    }
    return last;
}

//  --------------------------------------------------------------------------
//  The load: pipelined SUBMITs with keys, each sent until answered OK

static void
s_send (s_submit_t *submit, int64_t now)
{
    zjob_spec_t spec = { .workflow_id = "fo", .idempotency_key = submit->key, .user_id = s_user };
    zjob_error_t err;
    uint64_t request = zjob_client_send_submit (s_client, &spec, 1, true, &err);
    submit->sent_at = now;
    submit->request = request;
    if (!request) {
        submit->retry_at = now + S_RETRY_MS;  //  No broker connected: a failover
        return;
    }
    char key [32];
    snprintf (key, sizeof key, "%" PRIu64, request);
    zhashx_update (s_requests, key, (void *) (uintptr_t) (submit - s_submits + 1));
}

//  The request's SUBMIT, no longer in flight, or NULL (an old request)
static s_submit_t *
s_take_request (uint64_t request)
{
    char key [32];
    snprintf (key, sizeof key, "%" PRIu64, request);
    size_t index = (size_t) (uintptr_t) zhashx_lookup (s_requests, key);
    zhashx_delete (s_requests, key);
    if (!index)
        return NULL;
    s_submit_t *submit = &s_submits [index - 1];
    if (submit->request != request)
        return NULL;
    submit->request = 0;
    return submit;
}

//  Read the replies waiting; returns the time of the first OK to a SUBMIT
//  sent at or after since (0 for none)
static int64_t
s_replies (int64_t since, int timeout_ms)
{
    int64_t first_ok = 0;
    zjob_error_t err;
    zjob_reply_t *reply;
    while ((reply = zjob_client_recv (s_client, timeout_ms, &err))) {
        timeout_ms = 0;
        int64_t now = zjob_mono_ms ();
        s_submit_t *submit = s_take_request (zjob_reply_request_id (reply));
        if (submit && zjob_reply_status (reply) == ZJOB_OK) {
            size_t count = 0;
            const char *const *ids = zjob_msg_strs (zjob_reply_msg (reply), "ids", &count);
            if (count == 1) {
                if (*submit->id && strcmp (submit->id, ids [0]) != 0)
                    s_mismatches++;
                snprintf (submit->id, sizeof submit->id, "%s", ids [0]);
                if (since && submit->sent_at >= since && !first_ok)
                    first_ok = now;
            }
        }
        if (submit && !*submit->id)
            submit->retry_at = now + S_RETRY_MS;  //  Refused (a 503): again
        zjob_reply_destroy (&reply);
    }
    return first_ok;
}

//  One step of the load: new SUBMITs at the rate (if fresh), the ones
//  unanswered or refused sent again, the replies read. Returns as
//  s_replies does
static int64_t
s_pump (int round, int64_t started, bool fresh, int64_t since)
{
    int64_t now = zjob_mono_ms ();
    size_t in_flight = zhashx_size (s_requests);
    for (size_t index = 0; index < s_submit_count; index++) {
        s_submit_t *submit = &s_submits [index];
        if (*submit->id)
            continue;
        if (submit->request && now - submit->sent_at >= S_RESEND_MS) {
            //  Lost with the broker: the same key again
            zjob_client_forget (s_client, submit->request);
            submit->request = 0;
            submit->retry_at = now;
        }
        if (!submit->request && now >= submit->retry_at)
            s_send (submit, now);
    }
    size_t due = (size_t) ((now - started) * S_RATE / 1000);
    while (fresh && in_flight < S_WINDOW && s_submit_count < due
           && s_submit_count < S_JOBS_MAX) {
        s_submit_t *submit = &s_submits [s_submit_count++];
        memset (submit, 0, sizeof *submit);
        snprintf (submit->key, sizeof submit->key, "fo-%d-%zu", round, s_submit_count);
        s_send (submit, now);
        in_flight++;
    }
    return s_replies (since, 5);
}

static size_t
s_answered (void)
{
    size_t answered = 0;
    for (size_t index = 0; index < s_submit_count; index++)
        answered += *s_submits [index].id != 0;
    return answered;
}

//  --------------------------------------------------------------------------
//  Checks in the database

static long
s_query_long (const char *sql)
{
    char *value = zjob_test_pg_query (s_conninfo, sql);
    cr_assert_not_null (value, "%s", sql);
    long result = atol (value);
    free (value);
    return result;
}

//  Every job answered OK this round is in the database and completed,
//  by a worker, and the database holds no other job of the round's keys
static void
s_check_round (int round, size_t *redelivered_p)
{
    //  Every job finishes: the workers complete them all, the ones the
    //  dead broker had handed out once the new one gives them again
    char sql [256];
    snprintf (sql, sizeof sql,
              "SELECT count(*) FROM zjob_jobs WHERE user_id = '%s' AND status <> 'completed'",
              s_user);
    int64_t deadline = zjob_mono_ms () + S_DEADLINE_MS;
    while (s_query_long (sql) > 0 && zjob_mono_ms () < deadline)
        zclock_sleep (50);  //  Polling the database: no event to wait on
    cr_assert_eq (s_query_long (sql), 0, "round %d: jobs left unfinished", round);

    //  One job per key answered: a SUBMIT resent across the failover
    //  found its key's job
    size_t answered = s_answered ();
    snprintf (sql, sizeof sql, "SELECT count(*) FROM zjob_jobs WHERE user_id = '%s'", s_user);
    long total = s_query_long (sql);
    cr_assert_eq ((size_t) total, answered,
                  "round %d: %ld jobs in the database for %zu keys answered", round, total,
                  answered);
    cr_assert_eq (s_mismatches, 0, "a key was answered with two different ids");

    //  Each answered id is there, completed (in one query: the ids are
    //  plain characters), and a worker completed it
    size_t size = answered * (ZJOB_ID_LEN + 4) + 256;
    char *query = (char *) malloc (size);
    cr_assert_not_null (query);
    size_t used = (size_t) snprintf (query, size,
                                     "SELECT count(*) FROM zjob_jobs WHERE status = "
                                     "'completed' AND id IN (");
    size_t redelivered = 0;
    pthread_mutex_lock (&s_lock);
    for (size_t index = 0; index < s_submit_count; index++) {
        const char *id = s_submits [index].id;
        cr_assert (*id, "round %d: %s never answered OK", round, s_submits [index].key);
        used += (size_t) snprintf (query + used, size - used, "%s'%s'", index ? "," : "", id);
        size_t times = (size_t) (uintptr_t) zhashx_lookup (s_completed, id);
        cr_assert_gt (times, 0, "round %d: job %s answered OK was never run", round, id);
        redelivered += times > 1;
    }
    pthread_mutex_unlock (&s_lock);
    snprintf (query + used, size - used, ")");
    cr_assert_eq ((size_t) s_query_long (query), answered,
                  "round %d: not every job answered OK is in the database, completed", round);
    free (query);
    *redelivered_p = redelivered;
}

//  --------------------------------------------------------------------------
//  Setup

static void
s_setup (void)
{
    s_dir = zjob_test_tmpdir ();
    cr_assert_not_null (s_dir);
    s_conninfo = zjob_test_pg_new_db ();
    cr_assert_not_null (s_conninfo, "no PostgreSQL: run through ctest (the fixture pg), or "
                                    "start one with tests/pg_server.sh start DIR and set "
                                    "ZJOB_TEST_PG=DIR/conninfo");
    for (int slot = 0; slot < 2; slot++) {
        memset (&s_zjobd [slot], 0, sizeof s_zjobd [slot]);
        s_zjobd [slot].out = -1;
    }
    s_free_endpoints ();
    memset (s_workers, 0, sizeof s_workers);
    s_completed = zhashx_new ();
    s_requests = zhashx_new ();
    s_submits = (s_submit_t *) calloc (S_JOBS_MAX, sizeof (s_submit_t));
    cr_assert (s_completed && s_requests && s_submits);
    s_submit_count = 0;
    s_mismatches = 0;
}

static void
s_teardown (void)
{
    zjob_client_destroy (&s_client);
    s_workers_stop ();
    for (int slot = 0; slot < 2; slot++)
        s_stop (slot, SIGKILL);
    zhashx_destroy (&s_completed);
    zhashx_destroy (&s_requests);
    free (s_submits);
    s_submits = NULL;
    zjob_test_pg_drop_db (s_conninfo);
    free (s_conninfo);
    s_conninfo = NULL;
    zjob_test_tmpdir_done (&s_dir);
}

TestSuite (failover, .init = s_setup, .fini = s_teardown, .timeout = 600);

//  Start the pair: slot 0 active, slot 1 standby
static void
s_pair_start (const char *lease)
{
    snprintf (s_spec, sizeof s_spec, "postgres:%s#lease=%s", s_conninfo, lease);
    s_start (0);
    s_wait_ready (0, S_DEADLINE_MS);
    s_start (1);
    s_wait_logged (1, "standby:");
    cr_assert_not (s_logged (1, "zjob_broker: serving"), "the standby serves");
}

static int
s_compare (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x < y ? -1 : x > y;
}

//  --------------------------------------------------------------------------
//  kill -9 of the active zjobd, round after round

Test (failover, kill_the_active_under_load_loses_no_acknowledged_job)
{
    const char *env = getenv ("ZJOB_FAILOVER_ROUNDS");
    int rounds = env && atoi (env) > 0 ? atoi (env) : 3;
    s_pair_start ("2s");
    char list [300];
    snprintf (list, sizeof list, "%s,%s", s_zjobd [0].clients, s_zjobd [1].clients);
    zjob_error_t err;
    s_client = zjob_client_new (list, 2000, &err);
    cr_assert_not_null (s_client, "%s", err.text);
    snprintf (list, sizeof list, "%s,%s", s_zjobd [0].workers, s_zjobd [1].workers);
    s_workers_start (list);

    int64_t *serve_ms = (int64_t *) calloc ((size_t) rounds, sizeof (int64_t));
    int64_t *back_ms = (int64_t *) calloc ((size_t) rounds, sizeof (int64_t));
    int active = 0;
    for (int round = 1; round <= rounds; round++) {
        s_submit_count = 0;
        zhashx_purge (s_requests);
        snprintf (s_user, sizeof s_user, "failover-%d", round);
        //  The load runs a moment, and the workers work, before the kill
        int64_t started = zjob_mono_ms ();
        int64_t deadline = started + S_DEADLINE_MS;
        while ((s_answered () < 100 || zhashx_size (s_completed) == 0)
               && zjob_mono_ms () < deadline)
            s_pump (round, started, true, 0);
        cr_assert_geq (s_answered (), 100, "round %d: the load never ran", round);

        //  kill -9, and the time from when it is gone
        pid_t killed = s_zjobd [active].pid;
        kill (killed, SIGKILL);
        cr_assert (zjob_test_wait_gone (killed, 5000));
        int64_t killed_at = zjob_mono_ms ();
        s_workers_arm (killed_at);
        int64_t served_at = 0;
        deadline = killed_at + S_DEADLINE_MS;
        while ((!served_at || !s_workers_back () || zjob_mono_ms () < served_at + 300)
               && zjob_mono_ms () < deadline) {
            int64_t ok = s_pump (round, started, true, killed_at);
            if (ok && !served_at)
                served_at = ok;
        }
        cr_assert (served_at, "round %d: the standby never served", round);
        cr_assert (s_workers_back (), "round %d: a worker never came back", round);
        serve_ms [round - 1] = served_at - killed_at;
        back_ms [round - 1] = s_workers_back () - killed_at;
        s_workers_arm (0);

        //  No new SUBMITs: the ones unanswered are sent until answered
        deadline = zjob_mono_ms () + S_DEADLINE_MS;
        while (s_answered () < s_submit_count && zjob_mono_ms () < deadline)
            s_pump (round, started, false, 0);
        cr_assert_eq (s_answered (), s_submit_count, "round %d: SUBMITs never answered OK",
                      round);
        cr_assert_eq (zjob_test_wait_exit (killed, 5000), 128 + SIGKILL);
        s_zjobd [active].pid = 0;
        close (s_zjobd [active].out);
        s_zjobd [active].out = -1;

        //  The new active printed its ready line when it took over
        int standby = 1 - active;
        s_wait_ready (standby, 1000);
        size_t redelivered;
        s_check_round (round, &redelivered);
        printf ("failover round %d: killed zjobd %d (pid %d); the standby served after %" PRId64
                " ms, every worker was back after %" PRId64 " ms; %zu jobs acknowledged and "
                "completed, %zu run twice\n",
                round, active, (int) killed, serve_ms [round - 1], back_ms [round - 1],
                s_submit_count, redelivered);
        fflush (stdout);

        //  The killed one comes back as the standby
        s_start (active);
        s_wait_logged (active, "standby:");
        active = standby;
    }
    qsort (serve_ms, (size_t) rounds, sizeof (int64_t), s_compare);
    qsort (back_ms, (size_t) rounds, sizeof (int64_t), s_compare);
    printf ("failover: %d rounds: served after median %" PRId64 " ms, max %" PRId64
            " ms; workers back after median %" PRId64 " ms, max %" PRId64 " ms\n",
            rounds, serve_ms [rounds / 2], serve_ms [rounds - 1], back_ms [rounds / 2],
            back_ms [rounds - 1]);
    fflush (stdout);
    free (serve_ms);
    free (back_ms);
}

//  --------------------------------------------------------------------------
//  SIGSTOP of the active zjobd

//  One SUBMIT on a bare socket to one broker: the reply's command (OK,
//  ERROR), with the error code in *code_p; -1 if none came in timeout_ms
static int
s_submit_direct (zsock_t *sock, const char *workflow, int timeout_ms, int *code_p)
{
    char key [64];
    snprintf (key, sizeof key, "direct-%s", workflow);
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    zjob_msg_begin (builder, ZJOB_CMD_SUBMIT, 7);
    zjob_spec_t spec = { .workflow_id = workflow, .idempotency_key = key };
    zjob_msg_add_specs (builder, "jobs", &spec, 1);
    zframe_t *frame = zjob_msg_end (builder, NULL);
    cr_assert_not_null (frame);
    zjob_test_send (sock, &frame);
    zjob_msg_builder_destroy (&builder);
    zjob_msg_t *msg = zjob_test_recv (sock, ZJOB_ROUTE_BROKER_CLIENT, timeout_ms);
    if (!msg)
        return -1;
    int command = zjob_msg_command (msg);
    *code_p = command == ZJOB_CMD_ERROR ? (int) zjob_msg_uint (msg, "code", 0) : 200;
    zjob_msg_destroy (&msg);
    return command;
}

Test (failover, a_stopped_active_loses_the_lease_and_acknowledges_nothing_after)
{
    s_pair_start ("1s");
    char list [300];
    snprintf (list, sizeof list, "%s,%s", s_zjobd [0].clients, s_zjobd [1].clients);
    zjob_error_t err;
    s_client = zjob_client_new (list, 2000, &err);
    cr_assert_not_null (s_client, "%s", err.text);
    char id [ZJOB_ID_LEN + 1];
    zjob_spec_t spec = { .workflow_id = "before", .idempotency_key = "before-1" };
    cr_assert_eq (zjob_client_submit (s_client, &spec, true, id, &err), 0, "%s", err.text);

    //  A client of the old one alone, connected before it stops
    zsock_t *direct = zjob_test_dealer (s_zjobd [0].clients);
    cr_assert_not_null (direct);
    int code = 0;
    cr_assert_eq (s_submit_direct (direct, "warmup", 5000, &code), ZJOB_CMD_OK);

    //  Stopped: the standby takes over when the lease is gone
    int64_t stopped_at = zjob_mono_ms ();
    kill (s_zjobd [0].pid, SIGSTOP);
    cr_assert (zjob_test_wait_stopped (s_zjobd [0].pid, true, 5000));
    s_wait_ready (1, S_DEADLINE_MS);
    int64_t took_over = zjob_mono_ms () - stopped_at;
    cr_assert (s_logged (1, "active: took the lease"), "no take-over logged");
    //  The list's client follows it (the stopped one's connection falls
    //  to the heartbeats), and its job of before is there
    spec.idempotency_key = "after-1";
    spec.workflow_id = "after";
    cr_assert_eq (zjob_client_submit (s_client, &spec, true, id, &err), 0, "%s", err.text);
    int64_t serving = zjob_mono_ms () - stopped_at;
    zjob_job_t *job = zjob_client_get (s_client, id, &err);
    cr_assert_not_null (job, "%s", err.text);
    zjob_job_destroy (&job);

    //  The old one runs again: what it is sent now is refused or
    //  unanswered, never made durable, and it stops by itself
    int64_t resumed_at = zjob_mono_ms ();
    kill (s_zjobd [0].pid, SIGCONT);
    code = 0;
    int command = s_submit_direct (direct, "direct-to-old", 5000, &code);
    cr_assert (command == -1 || (command == ZJOB_CMD_ERROR && code == ZJOB_UNAVAILABLE),
               "the old zjobd answered %d (code %d)", command, code);
    int status = zjob_test_wait_exit (s_zjobd [0].pid, 15000);
    int64_t exited = zjob_mono_ms () - resumed_at;
    s_zjobd [0].pid = 0;
    cr_assert_eq (status, 8, "the old zjobd exited %d", status);
    cr_assert (s_logged (0, "lost the lease to another broker: stopping"));
    cr_assert_eq (s_query_long ("SELECT count(*) FROM zjob_jobs WHERE workflow = "
                                "'direct-to-old'"),
                  0, "the old zjobd wrote a job after it lost the lease");
    cr_assert_eq (s_query_long ("SELECT count(*) FROM zjob_jobs WHERE workflow IN ('before', "
                                "'after', 'warmup')"),
                  3);
    printf ("failover SIGSTOP: the standby took over %" PRId64 " ms after the stop (lease 1s), "
            "a client of the list was served after %" PRId64 " ms; the old zjobd answered "
            "%s and exited 8 %" PRId64 " ms after SIGCONT\n",
            took_over, serving, command == -1 ? "nothing" : "503", exited);
    fflush (stdout);
    zsock_destroy (&direct);
}

//  --------------------------------------------------------------------------
//  A job a worker holds when the active zjobd dies

//  The worker's next event within timeout_ms: the task it got, or NULL
static zjob_task_t *
s_next_task (zjob_worker_t *worker, int timeout_ms)
{
    int64_t deadline = zjob_mono_ms () + timeout_ms;
    while (zjob_mono_ms () < deadline) {
        zjob_task_t *task = NULL;
        zjob_error_t err;
        int event = zjob_worker_recv (worker, 20, &task, &err);
        cr_assert_geq (event, 0, "%s", err.text);
        if (event == ZJOB_WORKER_TASK && task)
            return task;
    }
    return NULL;
}

Test (failover, a_job_held_across_the_failover_is_adopted_not_run_again)
{
    s_pair_start ("2s");
    char list [300];
    snprintf (list, sizeof list, "%s,%s", s_zjobd [0].clients, s_zjobd [1].clients);
    zjob_error_t err;
    s_client = zjob_client_new (list, 2000, &err);
    cr_assert_not_null (s_client, "%s", err.text);
    snprintf (list, sizeof list, "%s,%s", s_zjobd [0].workers, s_zjobd [1].workers);
    const char *workflows [] = { "held" };
    zjob_worker_t *worker = zjob_worker_new (list, "holder", workflows, 1, 1, &err);
    cr_assert_not_null (worker, "%s", err.text);
    char id [ZJOB_ID_LEN + 1];
    zjob_spec_t spec = { .workflow_id = "held", .idempotency_key = "held-1" };
    cr_assert_eq (zjob_client_submit (s_client, &spec, true, id, &err), 0, "%s", err.text);
    zjob_task_t *task = s_next_task (worker, S_DEADLINE_MS);
    cr_assert_not_null (task, "no job");
    cr_assert_str_eq (zjob_task_id (task), id);

    //  Its dispatch is durable (the pass after it committed it)
    char sql [256];
    snprintf (sql, sizeof sql, "SELECT status FROM zjob_jobs WHERE id = '%s'", id);
    int64_t deadline = zjob_mono_ms () + S_DEADLINE_MS;
    char *status = NULL;
    while ((status = zjob_test_pg_query (s_conninfo, sql)) && !streq (status, "running")
           && zjob_mono_ms () < deadline) {
        zstr_free (&status);
        zclock_sleep (20);  //  Polling the database: no event to wait on
    }
    cr_assert (status && streq (status, "running"), "the dispatch was never committed");
    zstr_free (&status);

    //  The active dies while the job runs; the standby finds it running
    //  in the store and keeps it for its worker a while, which, back with
    //  it in its READY, keeps it: the same attempt, not a new one
    kill (s_zjobd [0].pid, SIGKILL);
    s_wait_ready (1, S_DEADLINE_MS);
    deadline = zjob_mono_ms () + S_DEADLINE_MS;
    while (!s_logged (1, "1 jobs kept") && zjob_mono_ms () < deadline)
        cr_assert_null (s_next_task (worker, 20), "the held job was given again");
    cr_assert (s_logged (1, "1 recovered jobs"), "the new broker found no job to recover");
    cr_assert (s_logged (1, "1 jobs kept"), "the worker never took its job back");
    zjob_job_t *adopted = zjob_client_get (s_client, id, &err);
    cr_assert_not_null (adopted, "%s", err.text);
    cr_assert_eq (adopted->status, ZJOB_RUNNING);
    cr_assert_eq (adopted->attempts, 1);
    zjob_job_destroy (&adopted);
    cr_assert_eq (zjob_worker_complete (worker, &task, NULL, 0, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_worker_flush (worker, 5000), 0, "the new broker refused the result");
    zjob_job_t *job = zjob_client_get (s_client, id, &err);
    cr_assert_not_null (job, "%s", err.text);
    if (job->status != ZJOB_COMPLETED) {
        char command [800];
        snprintf (command, sizeof command, "tail -n 30 %s >&2", s_zjobd [1].log);
        if (system (command) != 0)
            fprintf (stderr, "(no log)\n");
    }
    cr_assert_eq (job->status, ZJOB_COMPLETED, "status %s, attempts %u",
                  zjob_status_name (job->status), job->attempts);
    cr_assert_eq (job->attempts, 1, "the held job was run %u times", job->attempts);
    zjob_job_destroy (&job);
    //  And it is not handed out again afterwards
    cr_assert_null (s_next_task (worker, 1500), "the held job was given again");
    zjob_worker_destroy (&worker);
}

//  --------------------------------------------------------------------------
//  A standby

//  Whether endpoint's port is free to bind (nothing listens on it)
static bool
s_port_free (const char *endpoint)
{
    zsock_t *sock = zsock_new (ZMQ_ROUTER);
    bool free_ = zsock_bind (sock, "%s", endpoint) >= 0;
    zsock_destroy (&sock);
    return free_;
}

Test (failover, a_standby_binds_nothing_and_sigterm_ends_its_wait)
{
    s_pair_start ("2s");
    cr_assert (s_port_free (s_zjobd [1].clients), "the standby bound its clients endpoint");
    cr_assert (s_port_free (s_zjobd [1].workers), "the standby bound its workers endpoint");
    cr_assert (s_port_free (s_zjobd [1].events), "the standby bound its events endpoint");
    cr_assert_not (s_port_free (s_zjobd [0].clients), "the active one binds");
    kill (s_zjobd [1].pid, SIGTERM);
    cr_assert_eq (zjob_test_wait_exit (s_zjobd [1].pid, 5000), 0);
    s_zjobd [1].pid = 0;
    cr_assert (s_logged (1, "SIGTERM: shutting down"));
    //  It never printed a ready line
    cr_assert_null (zjob_test_read_line (s_zjobd [1].out, 100));
}
