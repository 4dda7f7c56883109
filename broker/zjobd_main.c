/*  =========================================================================
    zjobd - the zjob broker daemon

    A thin main over the broker actor (zjob_broker.h): it reads options
    from a config file (--config FILE, ZPL as read by CZMQ zconfig) and
    then from flags, which win; starts the actor; prints one line

        zjobd ready clients=tcp://127.0.0.1:5570 workers=... events=...

    on stdout once every socket is bound (with the real ports, so that
    "tcp://127.0.0.1:*" is usable by scripts and tests); and on SIGTERM or
    SIGINT destroys the actor, which stops taking work, syncs the store
    and closes. Exit status: 0 after a clean shutdown, 1 when the broker
    cannot start or stops by itself, 2 for bad options. Logs go to stderr.
    ========================================================================= */

#include "zjob_broker.h"
#include "zjob_manager.h"
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: zjobd [options]\n"
        "  --config FILE          read options from FILE (ZPL; keys under 'broker')\n"
        "  --clients ENDPOINT     client ROUTER        (default " ZJOB_BROKER_CLIENTS_DEFAULT ")\n"
        "  --workers ENDPOINT     worker ROUTER        (default " ZJOB_BROKER_WORKERS_DEFAULT ")\n"
        "  --events ENDPOINT      event PUB            (default " ZJOB_BROKER_EVENTS_DEFAULT ")\n"
        "  --store SPEC           memory: | file:DIR[?fsync=always|interval:50ms|never]\n"
        "                         (default file:DATA-DIR)\n"
        "  --data-dir DIR         directory of the default file store (default "
                                  ZJOB_BROKER_DATA_DIR_DEFAULT ")\n"
        "  --max-concurrent N     jobs held by workers at once, 0 = no limit (default %d)\n"
        "  --heartbeat DURATION   between heartbeats, both ways (default %dms)\n"
        "  --liveness N           heartbeats missed before a worker is dead (default %d)\n"
        "  --log-level LEVEL      error, warning, info, debug (default info)\n"
        "  --batch N              messages read per socket per loop pass (default %d)\n"
        "  --max-message BYTES    larger messages disconnect their sender (default %lld)\n"
        "  --retention DURATION   how long finished jobs are kept (default 7d)\n"
        "  --help                 this text\n",
        (int) ZJOB_MAX_CONCURRENT_DEFAULT, ZJOB_BROKER_HEARTBEAT_DEFAULT,
        ZJOB_BROKER_LIVENESS_DEFAULT, ZJOB_BROKER_BATCH_DEFAULT,
        (long long) ZJOB_BROKER_MAXMSG_DEFAULT);
}

int
main (int argc, char *argv [])
{
    zjob_broker_config_t config;
    zjob_broker_config_init (&config);
    zjob_error_t err;

    //  The config file first, whatever its place: flags override it
    for (int arg = 1; arg < argc; arg++) {
        if (streq (argv [arg], "--help") || streq (argv [arg], "-h")) {
            s_usage (stdout);
            return 0;
        }
        if (streq (argv [arg], "--config")) {
            if (arg + 1 >= argc) {
                fprintf (stderr, "zjobd: --config needs a file\n");
                return 2;
            }
            if (zjob_broker_config_load (&config, argv [arg + 1], &err)) {
                fprintf (stderr, "zjobd: %s\n", err.text);
                return 2;
            }
        }
    }
    for (int arg = 1; arg < argc; arg++) {
        const char *flag = argv [arg];
        if (strncmp (flag, "--", 2) != 0 || arg + 1 >= argc) {
            fprintf (stderr, "zjobd: unexpected argument '%s' (see --help)\n", flag);
            return 2;
        }
        const char *value = argv [++arg];
        if (streq (flag, "--config"))
            continue;
        if (zjob_broker_config_set (&config, flag + 2, value, &err)) {
            fprintf (stderr, "zjobd: %s\n", err.text);
            return 2;
        }
    }

    //  Logs go to stderr; stdout carries only the ready line
    zsys_init ();
    zsys_set_logstream (stderr);
    zsys_set_logident ("zjobd");

    //  The threads started from here on (the broker's) inherit a mask
    //  that blocks SIGTERM and SIGINT, so that they reach this thread and
    //  break its poll at once
    sigset_t signals, saved;
    sigemptyset (&signals);
    sigaddset (&signals, SIGTERM);
    sigaddset (&signals, SIGINT);
    pthread_sigmask (SIG_BLOCK, &signals, &saved);
    zactor_t *broker = zjob_broker_new (&config, &err);
    pthread_sigmask (SIG_SETMASK, &saved, NULL);
    if (!broker) {
        fprintf (stderr, "zjobd: cannot start: %s\n", err.text);
        return 1;
    }
    char *clients = NULL, *workers = NULL, *events = NULL;
    if (zjob_broker_endpoints (broker, &clients, &workers, &events)) {
        fprintf (stderr, "zjobd: the broker does not answer\n");
        zactor_destroy (&broker);
        return 1;
    }
    printf ("zjobd ready clients=%s workers=%s events=%s\n", clients, workers, events);
    fflush (stdout);
    zstr_free (&clients);
    zstr_free (&workers);
    zstr_free (&events);

    //  Wait for a signal (CZMQ's handler sets zsys_interrupted and breaks
    //  the poll) or for the actor to stop by itself (a message on its pipe)
    int rc = 0;
    zpoller_t *poller = zpoller_new (broker, NULL);
    while (!zsys_interrupted) {
        void *which = zpoller_wait (poller, 1000);
        if (which == broker) {
            if (config.log_level >= ZJOB_LOG_ERROR)
                zsys_error ("the broker stopped by itself");
            rc = 1;
            break;
        }
        if (zpoller_terminated (poller))
            break;
    }
    zpoller_destroy (&poller);
    if (rc == 0 && config.log_level >= ZJOB_LOG_INFO)
        zsys_info ("shutting down");
    zactor_destroy (&broker);
    return rc;
}
