/*  =========================================================================
    test_zjob_threads - libzjob in a multithreaded program

    Many threads of one process create and destroy clients and workers at
    the same moment, as a multithreaded server embedding libzjob does at
    start. CZMQ's first-time set-up (zsys_init) is not thread-safe: two
    threads that create their first sockets together abort in CZMQ
    ("zsys_set_thread_name_prefix() is not valid after creating sockets").
    libzjob must do that set-up once, before any socket of its own.

    The race exists only while CZMQ is not yet set up, so each round runs
    in a fresh child process of the test (a fork that has never touched
    CZMQ), released by a barrier so that its threads start together. The
    broker is the real zjobd, a separate process, so that nothing sets
    CZMQ up in the racing process before its threads do.
    ========================================================================= */

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include "zjob_client.h"
#include "zjob_worker.h"
#include "helper_zjob_test.h"

#define DEADLINE_MS 30000  //  msecs a child may take (sanitizers, -j2)
#define THREADS 16         //  threads racing in one process
#define ROUNDS 3           //  creations per thread, each behind the barrier
#define PROCESSES 8        //  fresh processes: the race is at the first round

static struct {
    pid_t broker;        //  zjobd
    int broker_out;      //  Its stdout (the ready line)
    char clients [256];  //  Its endpoints
    char workers [256];
    char events [256];
} s_env;

static pthread_barrier_t s_barrier;  //  Releases the threads of a round together
static atomic_int s_failures;        //  Constructions that failed, in this child

static void
s_setup (void)
{
    memset (&s_env, 0, sizeof (s_env));
    char *argv [] = { ZJOB_BIN_DIR "/zjobd", "--clients", "tcp://127.0.0.1:*",
                      "--workers", "tcp://127.0.0.1:*", "--events", "tcp://127.0.0.1:*",
                      "--store", "memory:", "--log-level", "error", NULL };
    s_env.broker = zjob_test_spawn (argv, &s_env.broker_out);
    cr_assert_gt (s_env.broker, 0);
    char *line = zjob_test_read_line (s_env.broker_out, DEADLINE_MS);
    cr_assert_not_null (line, "zjobd did not say it is ready");
    int parsed = sscanf (line, "zjobd ready clients=%255s workers=%255s events=%255s",
                         s_env.clients, s_env.workers, s_env.events);
    free (line);
    cr_assert_eq (parsed, 3);
}

static void
s_teardown (void)
{
    if (s_env.broker > 0) {
        kill (s_env.broker, SIGTERM);
        zjob_test_wait_exit (s_env.broker, DEADLINE_MS);
    }
    if (s_env.broker_out > 0)
        close (s_env.broker_out);
}

TestSuite (threads, .init = s_setup, .fini = s_teardown, .timeout = 240);

//  One racing thread: each round, a worker and a client at once with the
//  other threads, a PING, and both destroyed
static void *
s_racer (void *arg)
{
    const char *workflows [] = { "threads" };
    for (int round = 0; round < ROUNDS; round++) {
        pthread_barrier_wait (&s_barrier);
        zjob_error_t err;
        zjob_worker_t *worker = zjob_worker_new (s_env.workers, "racer", workflows, 1, 1, &err);
        zjob_client_t *client = zjob_client_new (s_env.clients, DEADLINE_MS / 2, &err);
        zjob_events_t *events = zjob_events_new (s_env.events, &err);
        if (!worker || !client || !events || zjob_client_ping (client, &err) != 0) {
            fprintf (stderr, "round %d: %s\n", round, err.text);
            s_failures++;
        }
        zjob_events_destroy (&events);
        zjob_client_destroy (&client);
        zjob_worker_destroy (&worker);
    }
    return NULL;
}

//  The child: THREADS threads racing ROUNDS times; exits 0 if every
//  construction worked (an abort in CZMQ ends it by SIGABRT)
static void
s_child (void)
{
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    pthread_barrier_init (&s_barrier, NULL, THREADS);
    pthread_t threads [THREADS];
    for (int i = 0; i < THREADS; i++)
        if (pthread_create (&threads [i], NULL, s_racer, NULL) != 0)
            _exit (3);
    for (int i = 0; i < THREADS; i++)
        pthread_join (threads [i], NULL);
    pthread_barrier_destroy (&s_barrier);
    //  _exit: the test runner's exit handlers belong to the parent
    _exit (s_failures ? 1 : 0);
}

Test (threads, clients_and_workers_created_at_once_by_many_threads)
{
    for (int process = 0; process < PROCESSES; process++) {
        pid_t child = fork ();
        cr_assert_geq (child, 0);
        if (child == 0)
            s_child ();
        int status = zjob_test_wait_exit (child, DEADLINE_MS);
        cr_assert_eq (status, 0, "process %d of %d: %d threads creating clients and workers "
                                 "at once %s",
                      process + 1, PROCESSES, THREADS,
                      status > 128 ? "crashed (signal)" : status < 0 ? "hung"
                                                                     : "failed");
    }
}
