/*  =========================================================================
    zjobd - the zjob broker daemon

    A thin main over the broker actor (zjob_broker.h): it reads options
    from a config file (--config FILE, ZPL as read by CZMQ zconfig) and
    then from flags, which win; starts the actor; prints one line

        zjobd ready clients=tcp://127.0.0.1:5570 workers=... events=...

    on stdout once every socket is bound (with the real ports, so that
    "tcp://127.0.0.1:*" is usable by scripts and tests); and on SIGTERM or
    SIGINT destroys the actor, which stops taking work, syncs the store
    and closes. Logs go to stderr, or to --log-file.

    Signals. SIGTERM, SIGINT and SIGHUP are blocked in every thread from
    the start (the broker's threads inherit the mask) and read here from a
    signalfd, polled next to the actor's pipe: a signal is handled between
    two waits, never inside a handler, and CZMQ's own handler stays off.
    SIGHUP is a reload (s_reload): the log file is reopened, so that a log
    rotation (rename, then SIGHUP) or `systemctl reload` never stops the
    broker, and the actor is sent RELOAD, which rereads its key lists
    (--keys; nothing without CURVE).

    Without CURVE the broker serves only loopback endpoints unless told
    --insecure: an open broker lets anyone who reaches it do anything.

    Exit status, the convention of the zjob CLI: 0 after a clean shutdown,
    1 for bad usage (an unknown option, a missing value), 2 for bad input
    (an invalid option value, in a flag or the config file, or one the
    broker refuses when it starts, such as an unknown store), 8 when the
    broker cannot start (a socket that cannot bind, a store that cannot be
    opened) or stops by itself.

    Standby. zjobd opens the store itself before it starts the broker, and
    takes the store's lease first (zjob_store_acquire): at once for a
    store that is not shared, but a PostgreSQL store that another zjobd
    holds makes this one a standby (s_acquire): it logs "standby: ...;
    waiting to take over" once at info, binds nothing and prints no ready
    line, tries again every S_STANDBY_POLL_MS, and takes over when the
    active broker is gone (its lease expired, or its session closed): it
    logs "active: took the lease (epoch N) after S s", starts the broker
    on the store, which it has loaded, and prints the ready line then.
    SIGTERM or SIGINT ends the wait (exit 0). An error (the database
    cannot be reached) is logged once per distinct error at warning and
    tried again with a backoff up to S_ACQUIRE_BACKOFF_MAX_MS. A broker
    whose store finds another took its lease stops (zjob_broker_store.c):
    exit 8.

    Errors are said once. The broker actor logs why it could not start, so
    when the log is stderr this program adds nothing; when the log is a
    file it says it on stderr too, for whoever started the daemon.
    ========================================================================= */

#include "zjob_broker.h"
#include "zjob_http.h"
#include "zjob_import.h"
#include "zjob_log.h"
#include "zjob_manager.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define EXIT_USAGE 1      //  an unknown option, a missing value
#define EXIT_BAD_INPUT 2  //  an invalid option value
#define EXIT_FAILURE_ 8   //  the broker cannot start, or stopped by itself

#define S_STANDBY_POLL_MS 250          //  between tries of a standby for the lease
#define S_ACQUIRE_BACKOFF_MAX_MS 5000  //  between tries after errors, at most

//  The options a flag may name (--NAME VALUE), besides --config, --log-file,
//  --insecure (no value: the option set to "true") and --help;
//  zjob_broker_config_set judges the values
static const char *s_options [] = {
    "clients", "workers", "events", "store", "data-dir", "max-concurrent", "max-prefetch",
    "heartbeat",
    "liveness", "log-level", "batch", "max-message", "retention", "max-attempts", "backoff",
    "backoff-base", "backoff-factor", "backoff-max", "backoff-jitter", "no-retry", "job-timeout",
    "heartbeat-timeout",
    //  Limits on what peers can make the broker hold
    "max-queued", "max-queued-bytes", "max-pending",
    //  CURVE
    "curve-secret", "keys",
    //  Observability
    "http", "http-token", "log-format", NULL
};

static char *s_log_path = NULL;  //  --log-file, or NULL for stderr
static FILE *s_log_file = NULL;  //  The log stream when s_log_path is set

//  --import OLD: copy the store OLD into --store and exit (zjob_import.h)
static const char *s_import = NULL;

static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage: zjobd [options]\n"
             "  --config FILE          read options from FILE (ZPL; keys under 'broker', 'workflow')\n"
             "  --clients ENDPOINT     client ROUTER        (default " ZJOB_BROKER_CLIENTS_DEFAULT ")\n"
             "  --workers ENDPOINT     worker ROUTER        (default " ZJOB_BROKER_WORKERS_DEFAULT ")\n"
             "  --events ENDPOINT      event PUB            (default " ZJOB_BROKER_EVENTS_DEFAULT ")\n"
             "                         (each may be a comma list, e.g. tcp://*:5571,ipc:///run/zjob/w)\n"
             "  --store SPEC           memory: | file:DIR[?fsync=always|interval:50ms|never]\n"
             "                         | sqlite:PATH[?sync=full|normal|off]\n"
             "                         | postgres:CONNINFO[#lease=5s] | postgresql://...\n"
             "                         (default file:DATA-DIR)\n"
             "  --data-dir DIR         directory of the default file store (default " ZJOB_BROKER_DATA_DIR_DEFAULT ")\n"
             "  --max-concurrent N     jobs held by workers at once, 0 = no limit (default %d)\n"
             "  --max-prefetch N       jobs a worker may hold beyond its slots, buffered for\n"
             "                         its next free slot, 0 to 1000 (default %d)\n"
             "  --heartbeat DURATION   between heartbeats, both ways (default %dms)\n"
             "  --liveness N           heartbeats missed before a worker is dead (default %d)\n"
             "  --log-level LEVEL      error, warning, info, debug (default info)\n"
             "  --log-file PATH        log to PATH (appended) instead of stderr\n"
             "  --log-format FORMAT    text or json (one JSON object a line) (default text)\n"
             "  --batch N              messages read per socket per loop pass (default %d)\n"
             "  --max-message BYTES    larger messages disconnect their sender (default %lld)\n"
             "  --retention DURATION   how long finished jobs are kept (default 7d)\n"
             "  The retry policy of jobs that do not give their own (a config file may\n"
             "  also set it per workflow, in a 'workflow' section: workflow/NAME/KEY):\n"
             "  --max-attempts N       attempts at most, 0 = no limit (default 3)\n"
             "  --backoff KIND         fixed or exponential (default exponential)\n"
             "  --backoff-base DURATION  first delay, 0 = none (default 1s)\n"
             "  --backoff-factor X     exponential growth, 1.0 to 100.0 (default 2.0)\n"
             "  --backoff-max DURATION the cap on one delay (default 5m)\n"
             "  --backoff-jitter KIND  full or none (default full)\n"
             "  --no-retry KINDS       error kinds never retried, comma-separated (default bad_input)\n"
             "  --job-timeout DURATION an attempt running longer fails, 0 = none (default 0)\n"
             "  --heartbeat-timeout DURATION  an attempt without progress that long fails,\n"
             "                         0 = none (default 0)\n"
             "  Limits on what clients can make the broker hold, so that it never runs\n"
             "  out of memory (0 = none):\n"
             "  --max-queued N         jobs not yet run (created, waiting, queued, paused);\n"
             "                         a SUBMIT past it is refused: 429 (default %d)\n"
             "  --max-queued-bytes SIZE  the bytes of their inputs; k, M, G suffixes\n"
             "                         (powers of 1024) (default 1GiB)\n"
             "  --max-pending N        requests of one client connection kept across loop\n"
             "                         passes (LIST, operations by filter, CLEANUP);\n"
             "                         one more is refused: 429 (default %d)\n"
             "  Security (CURVE: every peer needs a key the broker lists):\n"
             "  --curve-secret FILE    the broker's certificate with its secret key (the\n"
             "                         NAME.key_secret of zjob keygen); needs --keys\n"
             "  --keys DIR             the keys it accepts: DIR/admin, DIR/client, DIR/worker\n"
             "                         hold public certificates (NAME.key); SIGHUP rereads them\n"
             "  --insecure             without CURVE, bind endpoints other than loopback\n"
             "                         anyway (anyone who reaches them may do anything)\n"
             "  Observability (off unless --http is given):\n"
             "  --http HOST:PORT       serve /metrics, /healthz, /readyz, the JSON API (/api)\n"
             "                         and the dashboard (/) over HTTP; HOST an IPv4 address,\n"
             "                         [IPv6] or a name, PORT 0 picks one (the ready line\n"
             "                         says it); loopback only without CURVE or --insecure\n"
             "  --http-token FILE      the token HTTP requests need (Authorization: Bearer,\n"
             "                         or the dashboard's login): FILE's first line, 16\n"
             "                         characters at least; required with CURVE\n"
             "  --import OLD           copy every job and record of the store OLD (a spec)\n"
             "                         into the empty --store, print what it did, and exit\n"
             "  --help                 this text\n"
             "An ENDPOINT includes its transport: tcp://127.0.0.1:5570, tcp://*:5570 (the\n"
             "latter with CURVE or --insecure).\n"
             "\n"
             "Standby: several zjobd may share one postgres: store; one is active. The\n"
             "others wait, binding nothing and printing no ready line (the log says\n"
             "\"standby: ...; waiting to take over\"), and one takes over when the active one\n"
             "is gone: it then prints the ready line. Give clients and workers every\n"
             "broker's endpoint as a comma list. A zjobd that lost the lease exits 8.\n"
             "\n"
             "Signals: SIGTERM or SIGINT stops the broker cleanly; SIGHUP reopens the log\n"
             "file (after a rotation renamed it), rereads the --keys directory, and the\n"
             "broker goes on serving.\n"
             "\n"
             "Exit status: 0 after a clean stop; 1 bad usage (an unknown option, a missing\n"
             "value); 2 bad input (an invalid option value, in a flag or the config file,\n"
             "a store spec or keys the broker refuses, an endpoint beyond loopback without\n"
             "CURVE or --insecure); 8 the broker cannot start (an endpoint\n"
             "that cannot be bound, a store that cannot be opened) or stopped by itself.\n",
             (int) ZJOB_MAX_CONCURRENT_DEFAULT, ZJOB_BROKER_MAX_PREFETCH_DEFAULT,
             ZJOB_BROKER_HEARTBEAT_DEFAULT,
             ZJOB_BROKER_LIVENESS_DEFAULT, ZJOB_BROKER_BATCH_DEFAULT,
             (long long) ZJOB_BROKER_MAXMSG_DEFAULT, ZJOB_MAX_QUEUED_DEFAULT,
             ZJOB_MAX_PENDING_DEFAULT);
}

//  Say what is wrong with the command line; returns status
static int
s_error (int status, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fprintf (stderr, "zjobd: ");
    vfprintf (stderr, format, args);
    va_end (args);
    fprintf (stderr, status == EXIT_USAGE ? " (see zjobd --help)\n" : "\n");
    return status;
}

static bool
s_known_option (const char *name)
{
    for (size_t index = 0; s_options [index]; index++)
        if (streq (s_options [index], name))
            return true;
    return false;
}

//  An endpoint must name its transport: "127.0.0.1:5570" is a common slip
//  that libzmq reports only as "Invalid argument". 0, or the exit status.
static int
s_check_endpoint (const char *what, const char *endpoint, const char *example)
{
    //  Each of a comma list (zjobd binds them all)
    const char *item = endpoint;
    do {
        size_t len = strcspn (item, ",");
        const char *scheme = strstr (item, "://");
        if (!scheme || (size_t) (scheme - item) >= len)
            return s_error (EXIT_BAD_INPUT, "bad %s endpoint \"%.*s\": an endpoint must "
                                            "include a transport, e.g. %s",
                            what, (int) len, item, example);
        item += len + (item [len] == ',');
    } while (*item);
    return 0;
}

//  Parse the config file and the flags into config; 0, or the exit status
//  (after --help: 0 with *done_p set)
static int
s_parse (int argc, char *argv [], zjob_broker_config_t *config, bool *done_p)
{
    zjob_error_t err;
    *done_p = true;
    //  --help and the config file first, whatever their place: flags
    //  override the file
    for (int arg = 1; arg < argc; arg++) {
        if (streq (argv [arg], "--help") || streq (argv [arg], "-h")) {
            s_usage (stdout);
            return 0;
        }
    }
    for (int arg = 1; arg < argc; arg++) {
        if (streq (argv [arg], "--config")) {
            if (arg + 1 >= argc)
                return s_error (EXIT_USAGE, "--config needs a file");
            if (zjob_broker_config_load (config, argv [arg + 1], &err))
                return s_error (EXIT_BAD_INPUT, "%s", err.text);
        }
    }
    for (int arg = 1; arg < argc; arg++) {
        const char *flag = argv [arg];
        if (strncmp (flag, "--", 2) != 0)
            return s_error (EXIT_USAGE, "unexpected argument '%s'", flag);
        const char *name = flag + 2;
        if (streq (name, "insecure")) {
            zjob_broker_config_set (config, "insecure", "true", NULL);
            continue;
        }
        if (!streq (name, "config") && !streq (name, "log-file") && !streq (name, "import")
            && !s_known_option (name))
            return s_error (EXIT_USAGE, "unknown option '%s'", flag);
        if (arg + 1 >= argc)
            return s_error (EXIT_USAGE, "%s needs a value", flag);
        const char *value = argv [++arg];
        if (streq (name, "config"))
            continue;
        if (streq (name, "import")) {
            s_import = value;
            continue;
        }
        if (streq (name, "log-file")) {
            if (!*value)
                return s_error (EXIT_BAD_INPUT, "--log-file needs a path");
            free (s_log_path);
            s_log_path = strdup (value);
            continue;
        }
        if (zjob_broker_config_set (config, name, value, &err))
            return s_error (EXIT_BAD_INPUT, "%s", err.text);
    }
    int status = s_check_endpoint ("clients", config->clients, ZJOB_BROKER_CLIENTS_DEFAULT);
    if (!status)
        status = s_check_endpoint ("workers", config->workers, ZJOB_BROKER_WORKERS_DEFAULT);
    if (!status)
        status = s_check_endpoint ("events", config->events, ZJOB_BROKER_EVENTS_DEFAULT);
    if (status)
        return status;
    //  Both CURVE options or neither; without CURVE, loopback or --insecure
    if (zjob_broker_config_check (config, &err))
        return s_error (EXIT_BAD_INPUT, "%s", err.text);
    *done_p = false;
    return 0;
}

//  --------------------------------------------------------------------------
//  The log

//  Open the log file (appending) as the log stream; 0 or -1 with errno
static int
s_log_open (void)
{
    int fd = open (s_log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    s_log_file = fdopen (fd, "a");
    if (!s_log_file) {
        int saved = errno;
        close (fd);
        errno = saved;
        return -1;
    }
    zsys_set_logstream (s_log_file);
    zjob_log_set_stream (s_log_file);
    return 0;
}

//  Reopen the log file under its name (a rotation renamed the old one):
//  the new descriptor takes the old one's number, so the stream, which the
//  broker's thread may be writing through at this moment, stays valid and
//  every line after this goes to the new file. 0, or -1 with errno (the
//  old file is kept).
static int
s_log_reopen (void)
{
    int fd = open (s_log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    fflush (s_log_file);
    int rc = dup3 (fd, fileno (s_log_file), O_CLOEXEC) < 0 ? -1 : 0;
    int saved = errno;
    close (fd);
    errno = saved;
    return rc;
}

//  SIGHUP: reload what can change under a running broker: the log file,
//  and the broker's key lists (RELOAD: the actor logs the outcome), so
//  that one signal reloads everything.
static void
s_reload (zactor_t *broker, const zjob_broker_config_t *config)
{
    if (broker)  //  NULL for a standby: only the log
        zstr_send (broker, "RELOAD");
    if (!s_log_path) {
        if (config->log_level >= ZJOB_LOG_INFO)
            zjob_log_info ("SIGHUP: logging to stderr, no log file to reopen");
    }
    else if (s_log_reopen () == 0) {
        if (config->log_level >= ZJOB_LOG_INFO)
            zjob_log_info ("SIGHUP: log reopened (%s)", s_log_path);
    }
    else if (config->log_level >= ZJOB_LOG_ERROR)
        zjob_log_error ("SIGHUP: cannot reopen the log file %s: %s; logging on to the old one",
                        s_log_path, strerror (errno));
}

//  --------------------------------------------------------------------------
//  The store and its lease

//  The lease's epoch, as the store's figures say it ("" if they do not)
static void
s_lease_epoch (zjob_store_t *store, char *text, size_t size)
{
    *text = 0;
    zhashx_t *stats = zhashx_new ();
    if (!stats)
        return;
    zjob_store_stats (store, stats);
    const char *epoch = (const char *) zhashx_lookup (stats, "lease_epoch");
    if (epoch)
        snprintf (text, size, " (epoch %s)", epoch);
    zhashx_destroy (&stats);
}

//  Wait up to wait_ms for a signal: SIGHUP reloads the log; true on
//  SIGTERM or SIGINT (the standby stops)
static bool
s_standby_wait (int signal_fd, int64_t wait_ms, const zjob_broker_config_t *config)
{
    struct pollfd item = { signal_fd, POLLIN, 0 };
    if (poll (&item, 1, (int) wait_ms) <= 0)
        return false;
    struct signalfd_siginfo info;
    bool stop = false;
    while (read (signal_fd, &info, sizeof (info)) == (ssize_t) sizeof (info)) {
        if (info.ssi_signo == SIGHUP)
            s_reload (NULL, config);
        else {
            if (config->log_level >= ZJOB_LOG_INFO)
                zjob_log_info ("%s: shutting down (not active)",
                               info.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
            stop = true;
        }
    }
    return stop;
}

//  Open the store and take its lease (at once unless it is shared and
//  another broker holds it: then wait, a standby, binding nothing).
//  Returns 0 with *store_p the store to start the broker on; else the
//  exit status (0 if a signal stopped the wait)
static int
s_acquire (const zjob_broker_config_t *config, int signal_fd, zjob_store_t **store_p)
{
    zjob_error_t err;
    zjob_store_t *store = zjob_broker_store_open (config, &err);
    if (!store) {
        if (config->log_level >= ZJOB_LOG_ERROR)
            zjob_log_error ("cannot open the store: %s", err.text);
        if (s_log_path)
            fprintf (stderr, "zjobd: cannot open the store: %s\n", err.text);
        return err.code == ZJOB_BAD_REQUEST ? EXIT_BAD_INPUT : EXIT_FAILURE_;
    }
    int64_t started = zjob_mono_ms ();
    int64_t backoff = S_STANDBY_POLL_MS;
    bool standby = false;
    char failing [ZJOB_ERROR_TEXT_MAX] = "";  //  The error last logged
    int rc;
    while ((rc = zjob_store_acquire (store, &err)) != 1) {
        int64_t wait = S_STANDBY_POLL_MS;
        if (rc == 0) {
            if (!standby && config->log_level >= ZJOB_LOG_INFO)
                zjob_log_info ("standby: %s; waiting to take over", err.text);
            standby = true;
            backoff = S_STANDBY_POLL_MS;
            *failing = 0;
        }
        else {
            if (!streq (failing, err.text) && config->log_level >= ZJOB_LOG_WARNING)
                zjob_log_warning ("cannot take the store's lease: %s; trying again for as long "
                                  "as it takes",
                                  err.text);
            snprintf (failing, sizeof failing, "%s", err.text);
            wait = backoff;
            backoff = backoff * 2 > S_ACQUIRE_BACKOFF_MAX_MS ? S_ACQUIRE_BACKOFF_MAX_MS
                                                             : backoff * 2;
        }
        if (s_standby_wait (signal_fd, wait, config)) {
            zjob_store_destroy (&store);
            return 0;
        }
    }
    if (zjob_store_shared (store) && config->log_level >= ZJOB_LOG_INFO) {
        char epoch [64];
        s_lease_epoch (store, epoch, sizeof epoch);
        zjob_log_info ("active: took the lease%s after %.1f s", epoch,
                       (double) (zjob_mono_ms () - started) / 1000.0);
    }
    *store_p = store;
    return 0;
}

//  --------------------------------------------------------------------------
//  The HTTP side

//  Start the HTTP side of the running broker into *http_p; 0, or the exit
//  status (said on stderr and in the log)
static int
s_http_start (zactor_t *broker, const zjob_broker_config_t *config, zjob_http_t **http_p)
{
    zjob_broker_access_t access;
    zjob_error_t err;
    if (zjob_broker_access (broker, &access)) {
        zjob_log_error ("the broker does not answer");
        return EXIT_FAILURE_;
    }
    *http_p = zjob_http_new (config, &access, &err);
    if (*http_p)
        return 0;
    if (config->log_level >= ZJOB_LOG_ERROR)
        zjob_log_error ("cannot start the HTTP server: %s", err.text);
    if (s_log_path)
        fprintf (stderr, "zjobd: cannot start the HTTP server: %s\n", err.text);
    return err.code == ZJOB_BAD_REQUEST ? EXIT_BAD_INPUT : EXIT_FAILURE_;
}

//  " http=HOST:PORT" for the ready line: config's host, the bound port
static void
s_http_address (const char *address, int port, char *text, size_t size)
{
    const char *colon = strrchr (address, ':');
    int host_size = colon ? (int) (colon - address) : (int) strlen (address);
    snprintf (text, size, " http=%.*s:%d", host_size, address, port);
}

//  --------------------------------------------------------------------------
//  Main

//  Serve until SIGTERM or SIGINT, or until the actor stops by itself
//  (a message on its pipe); SIGHUP reloads. Returns the exit status.
static int
s_serve (zactor_t *broker, int signal_fd, zjob_broker_config_t *config)
{
    bool serving = true;
    while (serving) {
        zmq_pollitem_t items [] = {
            { zsock_resolve (broker), 0, ZMQ_POLLIN, 0 },
            { NULL, signal_fd, ZMQ_POLLIN, 0 }
        };
        if (zmq_poll (items, 2, -1) < 0) {
            if (zmq_errno () == EINTR)
                continue;
            zjob_log_error ("poll failed: %s", zmq_strerror (zmq_errno ()));
            return EXIT_FAILURE_;
        }
        if (items [0].revents) {
            if (config->log_level >= ZJOB_LOG_ERROR)
                zjob_log_error ("the broker stopped by itself");
            return EXIT_FAILURE_;
        }
        struct signalfd_siginfo info;
        while (read (signal_fd, &info, sizeof (info)) == (ssize_t) sizeof (info)) {
            if (info.ssi_signo == SIGHUP)
                s_reload (broker, config);
            else {
                if (config->log_level >= ZJOB_LOG_INFO)
                    zjob_log_info ("%s: shutting down",
                                   info.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
                serving = false;
            }
        }
    }
    return 0;
}

int
main (int argc, char *argv [])
{
    zjob_broker_config_t config;
    zjob_broker_config_init (&config);
    bool done;
    int status = s_parse (argc, argv, &config, &done);
    if (done || s_import) {
        free (s_log_path);
        return done ? status : zjob_import_command (&config, s_import, stdout);
    }

    //  Every thread from here on (the broker's, libzmq's) inherits a mask
    //  that blocks the signals read from the signalfd, and CZMQ installs
    //  no handler of its own
    sigset_t signals;
    sigemptyset (&signals);
    sigaddset (&signals, SIGTERM);
    sigaddset (&signals, SIGINT);
    sigaddset (&signals, SIGHUP);
    pthread_sigmask (SIG_BLOCK, &signals, NULL);
    int signal_fd = signalfd (-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
    if (signal_fd < 0) {
        fprintf (stderr, "zjobd: cannot read signals: %s\n", strerror (errno));
        free (s_log_path);
        return EXIT_FAILURE_;
    }
    zsys_handler_set (NULL);
    zjob_czmq_init ();

    //  Logs go to stderr or the log file; stdout carries only the ready line
    zsys_set_logstream (stderr);
    zsys_set_logident ("zjobd");
    zjob_log_set_program ("zjobd");
    zjob_log_set_format ((zjob_log_format_t) config.log_format);
    if (s_log_path && s_log_open ()) {
        int error = errno;
        status = s_error (EXIT_BAD_INPUT, "cannot open the log file %s: %s", s_log_path,
                          strerror (error));
        close (signal_fd);
        free (s_log_path);
        return status;
    }

    //  The store first: a standby waits here, binding nothing
    zjob_store_t *store = NULL;
    status = s_acquire (&config, signal_fd, &store);
    zjob_error_t err;
    config.store_handle = store;  //  The broker takes it
    zactor_t *broker = store ? zjob_broker_new (&config, &err) : NULL;
    config.store_handle = NULL;
    if (store && !broker) {
        //  The actor logged why; on stderr only if the log is elsewhere
        if (s_log_path)
            fprintf (stderr, "zjobd: cannot start: %s\n", err.text);
        status = err.code == ZJOB_BAD_REQUEST ? EXIT_BAD_INPUT : EXIT_FAILURE_;
    }
    char *clients = NULL, *workers = NULL, *events = NULL;
    if (broker && zjob_broker_endpoints (broker, &clients, &workers, &events)) {
        zjob_log_error ("the broker does not answer");
        zactor_destroy (&broker);
        status = EXIT_FAILURE_;
    }
    //  The HTTP side starts once the broker serves (it is one more client
    //  of it) and stops before it
    zjob_http_t *http = NULL;
    if (broker && *config.http)
        status = s_http_start (broker, &config, &http);
    if (broker && status)
        zactor_destroy (&broker);
    if (broker) {
        char http_text [ZJOB_BROKER_ENDPOINT_MAX + 32] = "";
        if (http)
            s_http_address (config.http, zjob_http_port (http), http_text, sizeof http_text);
        printf ("zjobd ready clients=%s workers=%s events=%s%s\n", clients, workers, events,
                http_text);
        fflush (stdout);
    }
    zstr_free (&clients);
    zstr_free (&workers);
    zstr_free (&events);

    if (broker)
        status = s_serve (broker, signal_fd, &config);
    zjob_http_destroy (&http);
    zactor_destroy (&broker);
    close (signal_fd);
    if (s_log_file) {
        zsys_set_logstream (stderr);
        zjob_log_set_stream (NULL);
        fclose (s_log_file);
    }
    free (s_log_path);
    return status;
}
