/*  =========================================================================
    zjob-worker - a zjob worker that runs a command per job

        zjob-worker [options] --workflow NAME [--workflow NAME...] -- COMMAND [ARGS...]

    Each job the broker hands out runs COMMAND once, as a child process in
    a process group of its own: the job's inputs as a JSON object on its
    stdin; ZJOB_JOB_ID, ZJOB_WORKFLOW, ZJOB_ATTEMPT, ZJOB_PRIORITY and
    ZJOB_WORKER_ID in its environment; progress lines "FRACTION [MESSAGE]"
    read from descriptor 3 (ZJOB_PROGRESS_FD); a JSON object on stdout as
    the outputs. A non-zero exit, a signal, stdout that is not a JSON
    object, a command that cannot be started or one that runs past
    --timeout fail the job, with the tail of stderr in the error message.
    Failures are the broker's to retry, but for permanent ones: an exit
    status listed by --permanent-exit (65, EX_DATAERR, by default) and
    inputs that cannot be given as JSON (kind bad_input) are sent with
    `permanent`. Pause, resume and cancel from the broker become SIGSTOP,
    SIGCONT and SIGTERM (SIGKILL after --grace) to the job's process
    group; a cancel for the job's timeout is the same stop, logged with
    its reason. A job's own timeout is the broker's to enforce, and is
    also applied here a little later (s_run_limit), as a safety net.
    s_usage below is the user's documentation of all this.

    Design. One thread and one poll loop: the worker library's engine
    (zjob_worker.h, the pollable level) for the broker socket, a runner
    (zjob_runner.h) per job for the child's pipes, and a self-pipe that
    the signal handlers write the signal number to (SIGCHLD, SIGTERM,
    SIGINT), so that nothing ever blocks on one child and a signal is
    handled between two passes of the loop rather than inside a handler.
    CZMQ's own SIGINT/SIGTERM handler is turned off: this program decides
    what a signal means.

    Stopping. SIGTERM or SIGINT drains the engine (zjob_worker_drain): no
    new job comes, and the broker's credit for free slots is taken back at
    once, so jobs submitted during the stop stay queued, unattempted.
    Running commands get the grace to finish (their results are
    delivered), then are stopped as on cancel, and their jobs are left
    held, not failed: the DISCONNECT that zjob_worker_destroy sends makes
    the broker queue them again. A second signal kills the commands at
    once. Whatever happens, every child is killed and reaped before the
    program exits (the runner's destructor guarantees it); a worker killed
    outright (SIGKILL) takes every job's whole process group along, through
    each job's watcher process (zjob_runner.h).
    ========================================================================= */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "zjob_json.h"
#include "zjob_log.h"
#include "zjob_runner.h"
#include "zjob_worker.h"
#include "zjob_proto.h"

#define BROKER_DEFAULT "tcp://127.0.0.1:5571"  //  zjobd's default workers endpoint
#define BROKER_ENV "ZJOB_WORKER_BROKER"        //  the variable naming the endpoint
#define GRACE_DEFAULT_MS 10000                 //  msecs from SIGTERM to SIGKILL, and to finish on stop
#define POLL_MAX_MS 1000                       //  msecs one poll waits at most
#define LOG_TEXT_MAX 200                       //  bytes of an error quoted in a log line
#define EXIT_USAGE 1                           //  exit status: an unknown option, a missing argument
#define EXIT_BAD_INPUT 2                       //  exit status: an invalid option value
#define EXIT_INTERNAL 8                        //  exit status: the worker cannot set itself up or go on
#define PERMANENT_EXIT_DEFAULT 65              //  EX_DATAERR (sysexits.h): bad input, do not retry
#define JOB_TIMEOUT_SLACK_MS 1000              //  msecs past the job's timeout before the local stop
#define PARENT_OUTPUTS_ENV_MAX (64 << 10)      //  bytes of parent outputs given in the environment
#define OPT_PERMANENT_EXIT 1000                //  getopt value of --permanent-exit (no short form)
#define OPT_CERT 1001                          //  getopt value of --cert
#define OPT_BROKER_KEY 1002                    //  getopt value of --broker-key
#define OPT_LOG_FORMAT 1003                    //  getopt value of --log-format
#define OPT_PREFETCH 1004                      //  getopt value of --prefetch

//  The command line
typedef struct {
    const char *endpoint;                        //  The broker's workers endpoint
    char name [ZJOB_NAME_MAX + 1];               //  The worker's name
    const char *workflows [ZJOB_WORKFLOWS_MAX];  //  Served, from argv
    size_t workflow_count;
    size_t slots;               //  Jobs run at once
    int prefetch;               //  --prefetch: 0..1000, ZJOB_PREFETCH_AUTO, or
    bool prefetch_set;          //  unset (the engine's default: the environment)
    int64_t grace_ms;           //  Cancel: SIGTERM to SIGKILL; stop: time to finish
    int64_t timeout_ms;         //  Run time limit of a job, 0 = none
    bool permanent_exit [256];  //  Exit statuses that fail a job for good
    bool verbose;               //  Log progress reports too
    const char *log_format;     //  --log-format (or $ZJOB_LOG_FORMAT): text or json
    char **command;             //  COMMAND [ARGS...], NULL-terminated (argv's tail)
    zjob_connect_opts_t keys;   //  --cert, --broker-key (or $ZJOB_CERT, $ZJOB_BROKER_KEY)
} s_options_t;

//  One job this worker holds
typedef struct {
    zjob_task_t *task;          //  The engine's; ended by complete/fail, or held
    zjob_runner_t *runner;      //  Its command
    char id [ZJOB_ID_LEN + 1];  //  The job's id, for logs
    bool cancelled;             //  The broker cancelled it: no result is wanted
    bool handed_back;           //  Stopped by our own stop: leave it to the broker
    char *parents_file;         //  ZJOB_PARENT_OUTPUTS_FILE, removed with the run
    int64_t limit_ms;           //  The run time limit applied, 0 = none
    bool job_limit;             //  It is the job's timeout, not --timeout
} s_run_t;

typedef struct {
    s_options_t *options;   //  As parsed
    zjob_worker_t *worker;  //  The engine
    zlistx_t *runs;         //  s_run_t, every job held
    zmq_pollitem_t *items;  //  Poll set, rebuilt every pass
    s_run_t **owners;       //  owners[i]: the run items[i] belongs to
    size_t items_cap;       //  Entries allocated in items and owners
    bool stopping;          //  A stop signal came: no new job starts
    int64_t stop_at;        //  mono ms when running commands are stopped
    bool stopped_all;       //  They were told to stop
} s_app_t;

static int s_signal_pipe [2] = { -1, -1 };

//  --------------------------------------------------------------------------
//  Usage

static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage: zjob-worker [options] --workflow NAME [--workflow NAME...] -- COMMAND [ARGS...]\n"
             "\n"
             "Takes jobs of the named workflows from a zjob broker and runs COMMAND once per\n"
             "job, in a process group of its own.\n"
             "\n"
             "Options:\n"
             "  -b, --broker ENDPOINT  the broker's workers endpoint (default: $" BROKER_ENV ",\n"
             "                         else " BROKER_DEFAULT ", where zjobd listens by default);\n"
             "                         a comma list (at most 16) names the brokers of one\n"
             "                         shared store: the worker serves whichever is active\n"
             "  -w, --workflow NAME    a workflow to serve; repeat for more (1 to %d)\n"
             "  -s, --slots N          jobs run at once, 1 to %d (default 1)\n"
             "      --prefetch N|auto  jobs the broker may send beyond the slots, waiting\n"
             "                         here (best first) for a free slot, so that none\n"
             "                         waits a round trip to the broker: 0 to %d, or auto,\n"
             "                         sized from the measured round trip and job time\n"
             "                         (default: $ZJOB_WORKER_PREFETCH, else auto)\n"
             "  -n, --name NAME        the worker's name in `zjob workers` (default COMMAND@HOST)\n"
             "  -g, --grace SECONDS    from SIGTERM to SIGKILL when a job is cancelled, and the\n"
             "                         time running jobs get to finish on a stop (default %d)\n"
             "  -t, --timeout SECONDS  fail a job that runs longer, paused time excluded\n"
             "                         (default: no limit). A job with a timeout of its own\n"
             "                         (zjob submit --job-timeout) is stopped by the broker,\n"
             "                         which cancels it (below); zjob-worker also stops it\n"
             "                         itself %gs past that timeout, a safety net should the\n"
             "                         cancel come late, unless --timeout is shorter\n"
             "      --permanent-exit CODES\n"
             "                         exit statuses (a comma list, 1 to 255) that fail a\n"
             "                         job for good: the broker does not retry it (default\n"
             "                         %d, EX_DATAERR; \"none\": any failure may be retried)\n"
             "      --cert FILE        for a broker with CURVE: this worker's certificate, the\n"
             "                         NAME.key_secret of `zjob keygen` (default: $ZJOB_CERT);\n"
             "                         the broker lists NAME.key in its keys/worker/\n"
             "      --broker-key KEY|FILE\n"
             "                         the broker's public key: 40 Z85 characters or its .key\n"
             "                         file (default: $ZJOB_BROKER_KEY)\n"
             "      --log-format text|json\n"
             "                         log lines as text (the default) or as one JSON object\n"
             "                         a line {time, level, program, pid, msg} for log\n"
             "                         shippers (default: $ZJOB_LOG_FORMAT)\n"
             "  -v, --verbose          also log each progress report\n"
             "  -h, --help             this text\n"
             "SECONDS is a number (0.5) or a duration with its unit (500ms, 2m).\n"
             "\n"
             "What the command gets and gives:\n"
             "  stdin   the job's inputs: one JSON object, then a newline and end of file\n"
             "  env     ZJOB_JOB_ID, ZJOB_WORKFLOW, ZJOB_ATTEMPT (1 on the first run),\n"
             "          ZJOB_PRIORITY (low, medium, high, critical), ZJOB_WORKER_ID,\n"
             "          ZJOB_PROGRESS_FD=3; a job with parents (depends_on) also gets\n"
             "          ZJOB_PARENT_OUTPUTS, their outputs as one JSON object {parent id:\n"
             "          outputs or null}, or, from 64 KiB, ZJOB_PARENT_OUTPUTS_FILE, a\n"
             "          file that holds it\n"
             "  fd 3    progress: write lines \"FRACTION [MESSAGE]\", FRACTION from 0 to 1\n"
             "          or a percentage:   echo \"0.4 resizing\" >&3   echo \"40%%\" >&3\n"
             "  stdout  the outputs: one JSON object (nothing at all means {})\n"
             "  stderr  its last 1 KiB is the error message when the job fails\n"
             "  exit 0 completes the job. It fails, with this error kind, on:\n"
             "          exit        a non-zero exit status\n"
             "          signal      death by a signal\n"
             "          bad_output  stdout that is not one JSON object (or over 1 MiB)\n"
             "          bad_input   inputs that cannot be given to it as JSON (never run)\n"
             "          exec        a command that cannot be executed\n"
             "          timeout     a run longer than --timeout or the job's own timeout\n"
             "          spawn       no process could be started (pipes, fork: see the log)\n"
             "  When the command exits, what it left running in its process group is killed.\n"
             "  The broker retries a failed job as its retry policy says, but not a failure\n"
             "  sent as permanent: kind bad_input, and kind exit with a status of\n"
             "  --permanent-exit (exit 65 means \"bad input, do not retry\" by default).\n"
             "\n"
             "Pause sends SIGSTOP to the job's process group and resume SIGCONT; cancel\n"
             "(by a client, or by the broker when the job ran past its timeout: the log\n"
             "says which) sends SIGTERM, then SIGKILL after the grace.\n"
             "\n"
             "SIGTERM or SIGINT stops the worker: it takes no new job, running jobs get the\n"
             "grace to finish, then their commands are stopped as on cancel and the jobs\n"
             "are handed back to the broker, which queues them again. A second signal kills\n"
             "the commands at once. The commands die with the worker even if it is killed\n"
             "with SIGKILL: each job has a watcher process that kills the job's whole process\n"
             "group when the worker dies.\n"
             "\n"
             "Exit status: 0 after a stop by signal; 1 bad usage (an unknown option, a\n"
             "missing argument or value); 2 bad input (an invalid option value, such as an\n"
             "endpoint that cannot be used); 8 the worker cannot set itself up or go on (no\n"
             "memory, no signal handling). A broker that is down or refuses the worker is\n"
             "tried again and again, a key it refuses at the CURVE handshake too (the log\n"
             "says so once, at warning: the broker may list the key on its next reload).\n"
             "Logs go to stderr.\n",
             ZJOB_WORKFLOWS_MAX, ZJOB_SLOTS_MAX, ZJOB_PREFETCH_MAX, GRACE_DEFAULT_MS / 1000,
             (double) JOB_TIMEOUT_SLACK_MS / 1000, PERMANENT_EXIT_DEFAULT);
}

//  Say what is wrong with the command line; returns status, the exit
//  status (EXIT_USAGE or EXIT_BAD_INPUT)
static int
s_usage_error (int status, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fprintf (stderr, "zjob-worker: ");
    vfprintf (stderr, format, args);
    va_end (args);
    fprintf (stderr,
             "\nusage: zjob-worker [options] --workflow NAME [--workflow NAME...] -- COMMAND [ARGS...]\n"
             "Try 'zjob-worker --help' for more.\n");
    return status;
}

//  SECONDS as a number of seconds or a duration with a unit; msecs or -1
static int64_t
s_parse_seconds (const char *text)
{
    char *end;
    double seconds = strtod (text, &end);
    if (end != text && *end == '\0')
        return isfinite (seconds) && seconds >= 0 && seconds <= 1e9
            ? (int64_t) (seconds * 1000 + 0.5)
            : -1;
    //  A plain number was seconds; zjob_duration_parse would read it as msecs
    return strspn (text, "0123456789") < strlen (text) ? zjob_duration_parse (text) : -1;
}

//  --permanent-exit: "none", or a comma list of exit statuses 1..255 (no
//  empty item). Fills codes; 0, or -1 if text is not such a list.
static int
s_parse_exit_codes (const char *text, bool codes [256])
{
    memset (codes, 0, 256 * sizeof (bool));
    if (streq (text, "none"))
        return 0;
    const char *item = text;
    while (true) {
        char *end;
        long code = item [0] >= '0' && item [0] <= '9' ? strtol (item, &end, 10) : -1;
        if (code < 1 || code > 255 || (*end != ',' && *end != '\0'))
            return -1;
        codes [code] = true;
        if (*end == '\0')
            return 0;
        item = end + 1;
    }
}

//  The default name: COMMAND@HOST, cut to fit and cleaned to a valid name
static void
s_default_name (s_options_t *options)
{
    char host [256] = "";
    if (gethostname (host, sizeof (host) - 1) != 0)
        snprintf (host, sizeof (host), "%s", "localhost");
    const char *command = strrchr (options->command [0], '/');
    command = command ? command + 1 : options->command [0];
    char name [512];
    snprintf (name, sizeof (name), "%.200s@%.255s", command, host);
    name [ZJOB_NAME_MAX - 9] = '\0';  //  The engine adds 9 bytes to make the id
    for (char *c = name; *c; c++)
        if (*c <= ' ' || *c > '~')
            *c = '_';
    const char *chosen = zjob_name_valid (name) ? name : "zjob-worker";
    memcpy (options->name, chosen, strlen (chosen) + 1);  //  It fits: cut above
}

//  The long options
static const struct option s_longs [] = {
    { "broker", required_argument, NULL, 'b' },
    { "workflow", required_argument, NULL, 'w' },
    { "slots", required_argument, NULL, 's' },
    { "name", required_argument, NULL, 'n' },
    { "grace", required_argument, NULL, 'g' },
    { "timeout", required_argument, NULL, 't' },
    { "permanent-exit", required_argument, NULL, OPT_PERMANENT_EXIT },
    { "cert", required_argument, NULL, OPT_CERT },
    { "broker-key", required_argument, NULL, OPT_BROKER_KEY },
    { "log-format", required_argument, NULL, OPT_LOG_FORMAT },
    { "prefetch", required_argument, NULL, OPT_PREFETCH },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 }
};

//  What the environment gives when the flags did not: the endpoint and the
//  CURVE keys (an empty variable is none). Returns 0, or the exit status
//  after an error.
static int
s_environment (s_options_t *options)
{
    if (!options->endpoint)
        options->endpoint = getenv (BROKER_ENV);
    if (!options->endpoint || !*options->endpoint)
        options->endpoint = BROKER_DEFAULT;
    if (!options->keys.cert)
        options->keys.cert = getenv ("ZJOB_CERT");
    if (!options->keys.broker_key)
        options->keys.broker_key = getenv ("ZJOB_BROKER_KEY");
    if (options->keys.cert && !*options->keys.cert)
        options->keys.cert = NULL;
    if (options->keys.broker_key && !*options->keys.broker_key)
        options->keys.broker_key = NULL;
    if (!options->log_format)
        options->log_format = getenv ("ZJOB_LOG_FORMAT");
    zjob_log_format_t format;
    if (options->log_format && *options->log_format
        && !zjob_log_parse_format (options->log_format, &format))
        return s_usage_error (EXIT_BAD_INPUT, "bad log format \"%s\" (--log-format or "
                                              "ZJOB_LOG_FORMAT): give text or json",
                              options->log_format);
    if (options->keys.broker_key && !options->keys.cert)
        return s_usage_error (EXIT_BAD_INPUT, "a broker key was given (--broker-key or "
                                              "ZJOB_BROKER_KEY) but no certificate: give this "
                                              "worker's NAME.key_secret with --cert FILE or "
                                              "ZJOB_CERT");
    return 0;
}

//  --name, or the default name, into options; 0, or the exit status
static int
s_set_name (s_options_t *options, const char *name)
{
    if (!name) {
        s_default_name (options);
        return 0;
    }
    if (!zjob_name_valid (name) || strlen (name) > ZJOB_NAME_MAX - 9)
        return s_usage_error (EXIT_BAD_INPUT, "bad --name \"%s\": it takes 1 to %d "
                                              "printable characters without spaces",
                              name, ZJOB_NAME_MAX - 9);
    snprintf (options->name, sizeof (options->name), "%s", name);
    return 0;
}

//  --prefetch: auto or 0..ZJOB_PREFETCH_MAX into options; 0, or -1 if bad
static int
s_parse_prefetch (const char *text, s_options_t *options)
{
    char *end;
    long prefetch = streq (text, "auto") ? ZJOB_PREFETCH_AUTO : strtol (text, &end, 10);
    if (!streq (text, "auto")
        && (end == text || *end || prefetch < 0 || prefetch > ZJOB_PREFETCH_MAX))
        return -1;
    options->prefetch = (int) prefetch;
    options->prefetch_set = true;
    return 0;
}

//  Parse argv into options; returns 0, or the exit status after an error
//  (or after --help) with *done_p set
static int
s_parse (int argc, char *argv [], s_options_t *options, bool *done_p)
{
    memset (options, 0, sizeof (*options));
    options->slots = 1;
    options->grace_ms = GRACE_DEFAULT_MS;
    options->permanent_exit [PERMANENT_EXIT_DEFAULT] = true;
    const char *name = NULL;
    *done_p = true;
    opterr = 0;  //  Our messages, not getopt's
    int opt;
    //  "+": options end at the first non-option, so the command's own
    //  options are never taken for ours, even without "--"
    while ((opt = getopt_long (argc, argv, "+:b:w:s:n:g:t:vh", s_longs, NULL)) != -1) {
        char *end;
        switch (opt) {
            case 'b':
                options->endpoint = optarg;
                break;
            case 'w':
                if (!zjob_name_valid (optarg))
                    return s_usage_error (EXIT_BAD_INPUT, "bad workflow name \"%s\": it takes 1 "
                                                          "to %d printable characters without spaces",
                                          optarg, ZJOB_NAME_MAX);
                if (options->workflow_count == ZJOB_WORKFLOWS_MAX)
                    return s_usage_error (EXIT_USAGE, "too many workflows: %d at most",
                                          ZJOB_WORKFLOWS_MAX);
                options->workflows [options->workflow_count++] = optarg;
                break;
            case 's': {
                long slots = strtol (optarg, &end, 10);
                if (end == optarg || *end || slots < 1 || slots > ZJOB_SLOTS_MAX)
                    return s_usage_error (EXIT_BAD_INPUT, "bad --slots \"%s\": give a number "
                                                          "from 1 to %d",
                                          optarg, ZJOB_SLOTS_MAX);
                options->slots = (size_t) slots;
                break;
            }
            case 'n':
                name = optarg;
                break;
            case 'g':
            case 't': {
                int64_t ms = s_parse_seconds (optarg);
                if (ms < 0)
                    return s_usage_error (EXIT_BAD_INPUT, "bad --%s \"%s\": give seconds "
                                                          "(10, 0.5) or a duration (500ms, 2m)",
                                          opt == 'g' ? "grace" : "timeout", optarg);
                *(opt == 'g' ? &options->grace_ms : &options->timeout_ms) = ms;
                break;
            }
            case OPT_PERMANENT_EXIT:
                if (s_parse_exit_codes (optarg, options->permanent_exit))
                    return s_usage_error (EXIT_BAD_INPUT, "bad --permanent-exit \"%s\": give exit "
                                                          "statuses from 1 to 255 (65,75) or none",
                                          optarg);
                break;
            case OPT_CERT:
            case OPT_BROKER_KEY:
                *(opt == OPT_CERT ? &options->keys.cert : &options->keys.broker_key) = optarg;
                break;
            case OPT_LOG_FORMAT:
                options->log_format = optarg;
                break;
            case OPT_PREFETCH:
                if (s_parse_prefetch (optarg, options))
                    return s_usage_error (EXIT_BAD_INPUT, "bad --prefetch \"%s\": give auto or a "
                                                          "number from 0 to %d",
                                          optarg, ZJOB_PREFETCH_MAX);
                break;
            case 'v':
                options->verbose = true;
                break;
            case 'h':
                s_usage (stdout);
                return 0;
            case ':':
                return s_usage_error (EXIT_USAGE, "%s needs a value", argv [optind - 1]);
            default:
                if (optopt)
                    return s_usage_error (EXIT_USAGE, "unknown option -%c", optopt);
                return s_usage_error (EXIT_USAGE, "unknown option %s", argv [optind - 1]);
        }
    }
    if (options->workflow_count == 0)
        return s_usage_error (EXIT_USAGE, "no workflow given: name one with --workflow NAME");
    if (optind >= argc)
        return s_usage_error (EXIT_USAGE, "no command given: put it after --, as in "
                                          "zjob-worker -w resize -- ./resize.sh");
    options->command = argv + optind;
    int status = s_environment (options);
    if (status)
        return status;
    status = s_set_name (options, name);
    *done_p = status != 0;
    return status;
}

//  --------------------------------------------------------------------------
//  Signals

static void
s_on_signal (int sig)
{
    int saved = errno;
    unsigned char byte = (unsigned char) sig;
    if (write (s_signal_pipe [1], &byte, 1) < 0) {
        //  Full: a wake-up is already pending, and SIGCHLD reaps every child
    }
    errno = saved;
}

//  Route SIGCHLD, SIGTERM and SIGINT to the self-pipe; ignore SIGPIPE (a
//  command that exits before reading its stdin). 0 or -1.
static int
s_signals_setup (void)
{
    if (pipe2 (s_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        return -1;
    struct sigaction action;
    memset (&action, 0, sizeof (action));
    sigemptyset (&action.sa_mask);
    action.sa_handler = s_on_signal;
    action.sa_flags = SA_RESTART;
    if (sigaction (SIGTERM, &action, NULL) || sigaction (SIGINT, &action, NULL))
        return -1;
    action.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    if (sigaction (SIGCHLD, &action, NULL))
        return -1;
    action.sa_handler = SIG_IGN;
    action.sa_flags = 0;
    return sigaction (SIGPIPE, &action, NULL);
}

//  Descriptors 0 to 2 must be open, or a pipe could take their number
static void
s_standard_fds (void)
{
    for (int fd = 0; fd < 3; fd++)
        if (fcntl (fd, F_GETFD) < 0 && errno == EBADF) {
            int null = open ("/dev/null", O_RDWR);
            if (null >= 0 && null != fd) {
                dup2 (null, fd);
                close (null);
            }
        }
}

//  --------------------------------------------------------------------------
//  Jobs

static s_run_t *
s_run_find (s_app_t *app, zjob_task_t *task)
{
    for (s_run_t *run = (s_run_t *) zlistx_first (app->runs); run;
         run = (s_run_t *) zlistx_next (app->runs))
        if (run->task == task)
            return run;
    return NULL;
}

//  Remove run from the list and free it (and its runner: the command is
//  killed if it still runs); its task must be ended or left held
static void
s_run_delete (s_app_t *app, s_run_t *run)
{
    zlistx_delete (app->runs, zlistx_find (app->runs, run));
    zjob_runner_destroy (&run->runner);
    if (run->parents_file)
        unlink (run->parents_file);
    zstr_free (&run->parents_file);
    free (run);
}

//  Fail the run's task; kind and message as the broker records them.
//  A permanent failure is one the broker must not retry.
static void
s_fail (s_app_t *app, s_run_t *run, const char *kind, const char *message, bool permanent)
{
    char shown [LOG_TEXT_MAX];
    zjob_runner_clean_text (shown, sizeof (shown), message, strlen (message), false);
    if (!run->cancelled)
        zjob_log_info ("job %s failed (%s%s): %s", run->id, kind,
                       permanent ? ", permanent: not to be retried" : "", shown);
    if (permanent)
        zjob_worker_fail_permanent (app->worker, &run->task, kind, message);
    else
        zjob_worker_fail (app->worker, &run->task, kind, message);
}

//  "what: the stderr tail", cut from the front to fit in ZJOB_MESSAGE_MAX
static void
s_failure_message (char *buf, size_t size, const char *what, const char *errors)
{
    int used = snprintf (buf, size, *errors ? "%s: " : "%s (nothing on stderr)", what);
    if (used < 0 || (size_t) used >= size || !*errors)
        return;
    size_t room = size - 1 - (size_t) used;
    size_t len = strlen (errors);
    if (len > room) {
        memcpy (buf + used, "...", 3);
        used += 3;
        room -= 3;
        errors += len - room;
        while (((unsigned char) *errors & 0xC0) == 0x80)
            errors++;  //  Start on a whole character
        len = strlen (errors);
    }
    memcpy (buf + used, errors, len + 1);
}

//  The command ended: tell the broker how, unless the job is handed back
static void
s_finish (s_app_t *app, s_run_t *run)
{
    zjob_runner_t *runner = run->runner;
    char message [ZJOB_MESSAGE_MAX];
    char what [128];
    double seconds = (double) zjob_runner_run_ms (runner) / 1000;
    if (run->handed_back) {
        zjob_log_info ("job %s stopped after %.1fs and handed back to the broker", run->id, seconds);
        return;  //  Still held: the DISCONNECT requeues it
    }
    if (run->cancelled) {
        const char *reason = zjob_task_cancel_reason (run->task);
        zjob_log_info ("job %s cancelled%s%s%s: its command stopped after %.1fs", run->id,
                       reason ? " (" : "", reason ? reason : "", reason ? ")" : "", seconds);
        s_fail (app, run, "cancelled", "cancelled", false);  //  Not sent: unwanted
    }
    else if (zjob_runner_timed_out (runner)) {
        snprintf (what, sizeof (what), "ran longer than %s of %.3gs",
                  run->job_limit ? "the job's timeout" : "the time limit",
                  (double) run->limit_ms / 1000);
        s_failure_message (message, sizeof (message), what, zjob_runner_errors (runner));
        s_fail (app, run, ZJOB_KIND_TIMEOUT, message, false);
    }
    else if (zjob_runner_signal (runner)) {
        int sig = zjob_runner_signal (runner);
        const char *abbrev = sigabbrev_np (sig);
        snprintf (what, sizeof (what), "killed by signal %d (SIG%s)", sig,
                  abbrev ? abbrev : "?");
        s_failure_message (message, sizeof (message), what, zjob_runner_errors (runner));
        s_fail (app, run, ZJOB_KIND_SIGNAL, message, false);
    }
    else if (zjob_runner_exit_status (runner) != 0) {
        int status = zjob_runner_exit_status (runner);
        snprintf (what, sizeof (what), "exit status %d", status);
        s_failure_message (message, sizeof (message), what, zjob_runner_errors (runner));
        s_fail (app, run, ZJOB_KIND_EXIT, message,
                status > 0 && status < 256 && app->options->permanent_exit [status]);
    }
    else if (zjob_runner_overflow (runner)) {
        snprintf (message, sizeof (message), "stdout is over the limit of %d bytes",
                  ZJOB_DATA_MAX);
        s_fail (app, run, ZJOB_KIND_BAD_OUTPUT, message, false);
    }
    else {
        size_t size;
        const char *output = zjob_runner_output (runner, &size);
        uint8_t *outputs = NULL;
        size_t outputs_size = 0;
        zjob_error_t err;
        if (strlen (output) != size)
            s_fail (app, run, ZJOB_KIND_BAD_OUTPUT,
                    "stdout holds a NUL byte: it must be a JSON object", false);
        else if (output [strspn (output, " \t\r\n")] != '\0'
                 && zjob_json_to_msgpack (output, &outputs, &outputs_size, &err) != 0) {
            snprintf (message, sizeof (message), "stdout is not a JSON object: %s", err.text);
            s_fail (app, run, ZJOB_KIND_BAD_OUTPUT, message, false);
        }
        else if (outputs_size > ZJOB_DATA_MAX) {
            snprintf (message, sizeof (message),
                      "outputs of %zu bytes (as msgpack) are over the limit of %d bytes",
                      outputs_size, ZJOB_DATA_MAX);
            s_fail (app, run, ZJOB_KIND_BAD_OUTPUT, message, false);
        }
        else {
            zjob_log_info ("job %s completed in %.1fs", run->id, seconds);
            if (zjob_worker_complete (app->worker, &run->task, outputs, outputs_size, &err))
                zjob_log_warning ("job %s failed instead: %s", run->id, err.text);
        }
        free (outputs);
    }
}

//  The run time limit of a job's command: --timeout, or the job's own
//  timeout plus JOB_TIMEOUT_SLACK_MS if that comes first. The broker
//  owns the job's timeout (it fails the attempt and cancels it from the
//  job's dispatch, paused time included); this local limit only stops
//  a command whose CANCEL is late or lost, a little after the broker's
//  deadline so that the broker's own timeout normally wins. 0 = none.
static int64_t
s_run_limit (s_app_t *app, s_run_t *run)
{
    int64_t limit = app->options->timeout_ms;
    uint32_t job_ms = zjob_job_timeout_ms (zjob_task_job (run->task));
    if (job_ms && job_ms != ZJOB_TIMEOUT_NONE
        && (limit == 0 || (int64_t) job_ms + JOB_TIMEOUT_SLACK_MS < limit)) {
        limit = (int64_t) job_ms + JOB_TIMEOUT_SLACK_MS;
        run->job_limit = true;
    }
    run->limit_ms = limit;
    return limit;
}

//  The outputs of the task's parents as one JSON object, {parent id:
//  outputs object, or null}; NULL for a job without parents, or with err
//  filled if they cannot be JSON. The caller frees the text.
static char *
s_parents_json (zjob_task_t *task, bool *failed_p, zjob_error_t *err)
{
    *failed_p = false;
    size_t size;
    const uint8_t *data = zjob_task_parent_outputs (task, &size);
    if (!data || size == 0)
        return NULL;
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    json_t *object = json_object ();
    bool ok = object && msgpack_unpack_next (&unpacked, (const char *) data, size, NULL) == MSGPACK_UNPACK_SUCCESS
        && unpacked.data.type == MSGPACK_OBJECT_MAP;
    for (uint32_t index = 0; ok && index < unpacked.data.via.map.size; index++) {
        const msgpack_object_kv *entry = &unpacked.data.via.map.ptr [index];
        ok = entry->key.type == MSGPACK_OBJECT_STR;
        char id [ZJOB_ID_LEN + 1] = "";
        if (ok)
            snprintf (id, sizeof (id), "%.*s", (int) entry->key.via.str.size,
                      entry->key.via.str.ptr);
        json_t *value = NULL;
        if (ok && entry->val.type == MSGPACK_OBJECT_BIN)
            value = zjob_msgpack_to_json_value ((const uint8_t *) entry->val.via.bin.ptr,
                                                entry->val.via.bin.size, err);
        else if (ok)
            value = json_null ();
        ok = value && json_object_set_new (object, id, value) == 0;
    }
    msgpack_unpacked_destroy (&unpacked);
    char *text = ok ? json_dumps (object, JSON_COMPACT) : NULL;
    json_decref (object);
    if (!text) {
        *failed_p = true;
        if (ok || err->code == 0)
            zjob_error_set (err, ZJOB_BAD_REQUEST, "not a map of outputs");
    }
    return text;
}

//  The environment entry that gives the command its parents' outputs:
//  ZJOB_PARENT_OUTPUTS=JSON under 64 KiB, else ZJOB_PARENT_OUTPUTS_FILE=
//  a temporary file holding it (removed with the run). NULL, with err
//  filled, if the file cannot be written.
static char *
s_parents_env (s_run_t *run, const char *json, zjob_error_t *err)
{
    size_t size = strlen (json);
    if (size < PARENT_OUTPUTS_ENV_MAX)
        return zsys_sprintf ("ZJOB_PARENT_OUTPUTS=%s", json);
    const char *dir = getenv ("TMPDIR");
    char *path = zsys_sprintf ("%s/zjob-parents-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = path ? mkstemp (path) : -1;
    bool written = fd >= 0 && write (fd, json, size) == (ssize_t) size;
    if (fd >= 0)
        close (fd);
    if (!written) {
        zjob_error_set (err, ZJOB_INTERNAL, "parent outputs: cannot write %s: %s",
                        path ? path : "a temporary file", strerror (errno));
        if (fd >= 0)
            unlink (path);
        zstr_free (&path);
        return NULL;
    }
    run->parents_file = path;
    return zsys_sprintf ("ZJOB_PARENT_OUTPUTS_FILE=%s", path);
}

//  Start the command for a new task; a task that cannot start is failed
static void
s_start (s_app_t *app, zjob_task_t *task)
{
    s_run_t *run = (s_run_t *) zmalloc (sizeof (s_run_t));
    if (!run) {
        zjob_worker_fail (app->worker, &task, ZJOB_KIND_SPAWN, "zjob-worker is out of memory");
        return;
    }
    run->task = task;
    snprintf (run->id, sizeof (run->id), "%s", zjob_task_id (task));
    zlistx_add_end (app->runs, run);

    //  Inputs as JSON, then a newline, so that `read` in a shell gets them
    zjob_error_t err;
    zjob_error_set (&err, ZJOB_INTERNAL, "out of memory");
    size_t size;
    const uint8_t *inputs = zjob_task_inputs (task, &size);
    char *json = size ? zjob_msgpack_to_json (inputs, size, ZJOB_JSON_COMPACT, &err)
                      : strdup ("{}");
    char *input = json ? zsys_sprintf ("%s\n", json) : NULL;
    bool converted = json != NULL;
    free (json);
    if (!input) {
        //  Inputs that cannot be JSON are as bad on any attempt: permanent.
        //  Running out of memory is this worker's trouble, not the job's.
        bool bad = !converted && err.code == ZJOB_BAD_REQUEST;
        char message [ZJOB_MESSAGE_MAX];
        snprintf (message, sizeof (message), "inputs cannot be given as JSON: %s", err.text);
        s_fail (app, run, bad ? ZJOB_KIND_BAD_INPUT : ZJOB_KIND_SPAWN, message, bad);
        s_run_delete (app, run);
        return;
    }
    bool parents_bad;
    char *parents = s_parents_json (task, &parents_bad, &err);
    if (parents_bad) {
        char message [ZJOB_MESSAGE_MAX];
        snprintf (message, sizeof (message), "parent outputs cannot be given as JSON: %s",
                  err.text);
        s_fail (app, run, ZJOB_KIND_BAD_INPUT, message, true);
        s_run_delete (app, run);
        zstr_free (&input);
        return;
    }
    char *env [] = {
        zsys_sprintf ("ZJOB_JOB_ID=%s", zjob_task_id (task)),
        zsys_sprintf ("ZJOB_WORKFLOW=%s", zjob_task_workflow (task)),
        zsys_sprintf ("ZJOB_ATTEMPT=%u", (unsigned) zjob_task_attempt (task)),
        zsys_sprintf ("ZJOB_PRIORITY=%s", zjob_priority_name (zjob_task_priority (task))),
        zsys_sprintf ("ZJOB_WORKER_ID=%s", zjob_worker_id (app->worker)),
        parents ? s_parents_env (run, parents, &err) : NULL,
        NULL
    };
    zstr_free (&parents);
    bool env_ok = true;
    for (int i = 0; i < 5; i++)
        env_ok = env_ok && env [i];
    if (env_ok && parents && !env [5]) {
        //  Its parents' outputs could not be written down: try again later
        s_fail (app, run, ZJOB_KIND_SPAWN, err.text, false);
        s_run_delete (app, run);
        for (int i = 0; i < 5; i++)
            zstr_free (&env [i]);
        zstr_free (&input);
        return;
    }
    zjob_runner_config_t config = {
        .argv = (const char *const *) app->options->command,
        .env = (const char *const *) env,
        .input = input,
        .input_size = strlen (input),
        .output_max = ZJOB_DATA_MAX,
        .timeout_ms = s_run_limit (app, run),
        .grace_ms = app->options->grace_ms
    };
    if (env_ok)
        run->runner = zjob_runner_new (&config, &err);
    else
        zjob_error_set (&err, ZJOB_INTERNAL, "out of memory");
    for (int i = 0; i < 6; i++)
        zstr_free (&env [i]);
    zstr_free (&input);
    if (!run->runner) {
        s_fail (app, run, err.code == ZJOB_BAD_REQUEST ? ZJOB_KIND_EXEC : ZJOB_KIND_SPAWN, err.text,
                false);
        s_run_delete (app, run);
        return;
    }
    zjob_log_info ("job %s started: %s, attempt %u, pid %d", run->id, zjob_task_workflow (task),
                   (unsigned) zjob_task_attempt (task), (int) zjob_runner_pid (run->runner));
}

//  Stop every running command: as on cancel (now false) or at once
static void
s_stop_all (s_app_t *app, bool now)
{
    for (s_run_t *run = (s_run_t *) zlistx_first (app->runs); run;
         run = (s_run_t *) zlistx_next (app->runs)) {
        if (!run->runner)
            continue;
        int rc = now ? zjob_runner_kill (run->runner) : zjob_runner_stop (run->runner);
        if (rc == 0 && !run->cancelled)
            run->handed_back = true;  //  Its outcome is ours, not the job's
    }
    app->stopped_all = true;
}

//  An event from the engine
static void
s_on_event (s_app_t *app, int kind, zjob_task_t *task)
{
    if (kind == ZJOB_WORKER_TASK) {
        s_start (app, task);  //  Never while stopping: the engine is drained
        return;
    }
    s_run_t *run = s_run_find (app, task);
    if (!run)
        return;
    if (kind == ZJOB_WORKER_PAUSE && run->runner) {
        if (zjob_runner_pause (run->runner) == 0)
            zjob_log_info ("job %s paused (SIGSTOP to process group %d)", run->id,
                           (int) zjob_runner_pid (run->runner));
    }
    else if (kind == ZJOB_WORKER_RESUME && run->runner) {
        if (zjob_runner_resume (run->runner) == 0)
            zjob_log_info ("job %s resumed (SIGCONT to process group %d)", run->id,
                           (int) zjob_runner_pid (run->runner));
    }
    else if (kind == ZJOB_WORKER_CANCEL) {
        //  Whatever the reason (a client, the job's timeout), the same stop
        const char *reason = zjob_task_cancel_reason (task);
        run->cancelled = true;
        run->handed_back = false;
        if (zjob_runner_stop (run->runner) == 0)
            zjob_log_info ("job %s cancelled%s%s%s: SIGTERM to process group %d, SIGKILL in %.3gs",
                           run->id, reason ? " (" : "", reason ? reason : "", reason ? ")" : "",
                           (int) zjob_runner_pid (run->runner),
                           (double) app->options->grace_ms / 1000);
    }
}

//  Read the self-pipe; sets *reap_p on SIGCHLD
static void
s_on_signals (s_app_t *app, bool *reap_p)
{
    unsigned char signals [64];
    ssize_t got;
    while ((got = read (s_signal_pipe [0], signals, sizeof (signals))) > 0)
        for (ssize_t i = 0; i < got; i++) {
            if (signals [i] == SIGCHLD) {
                *reap_p = true;
                continue;
            }
            if (!app->stopping) {
                app->stopping = true;
                app->stop_at = zjob_mono_ms () + app->options->grace_ms;
                zjob_worker_drain (app->worker);
                zjob_log_info ("%s: taking no new job; %zu running get %.3gs to finish "
                               "(signal again to stop them now)",
                               sigabbrev_np (signals [i]) ? sigabbrev_np (signals [i]) : "signal",
                               zlistx_size (app->runs), (double) app->options->grace_ms / 1000);
            }
            else {
                zjob_log_info ("second signal: killing the running commands");
                s_stop_all (app, true);
            }
        }
}

//  Size the poll set for count items; 0 or -1
static int
s_items_reserve (s_app_t *app, size_t count)
{
    if (count <= app->items_cap)
        return 0;
    zmq_pollitem_t *items = (zmq_pollitem_t *) realloc (app->items, count * sizeof (*items));
    if (items)
        app->items = items;
    s_run_t **owners = (s_run_t **) realloc (app->owners, count * sizeof (*owners));
    if (owners)
        app->owners = owners;
    if (!items || !owners)
        return -1;
    app->items_cap = count;
    return 0;
}

//  True if some command still runs
static bool
s_running (s_app_t *app)
{
    for (s_run_t *run = (s_run_t *) zlistx_first (app->runs); run;
         run = (s_run_t *) zlistx_next (app->runs))
        if (run->runner)
            return true;
    return false;
}

//  The loop. Returns 0 after a stop by signal, -1 when the worker cannot go on.
static int
s_serve (s_app_t *app)
{
    while (true) {
        //  The poll set: the broker, the signals, every command's pipes
        if (s_items_reserve (app, 2 + ZJOB_RUNNER_POLLITEMS * zlistx_size (app->runs))) {
            zjob_log_error ("out of memory");
            return -1;
        }
        app->items [0] = (zmq_pollitem_t){ zsock_resolve (zjob_worker_sock (app->worker)),
                                           0, ZMQ_POLLIN, 0 };
        app->items [1] = (zmq_pollitem_t){ NULL, s_signal_pipe [0], ZMQ_POLLIN, 0 };
        size_t count = 2;
        int wait = zjob_worker_timeout (app->worker);
        if (wait < 0 || wait > POLL_MAX_MS)
            wait = POLL_MAX_MS;
        for (s_run_t *run = (s_run_t *) zlistx_first (app->runs); run;
             run = (s_run_t *) zlistx_next (app->runs)) {
            if (!run->runner)
                continue;
            size_t added = zjob_runner_pollitems (run->runner, app->items + count,
                                                  app->items_cap - count);
            for (size_t i = 0; i < added; i++)
                app->owners [count + i] = run;
            count += added;
            int due = zjob_runner_timeout (run->runner);
            if (due >= 0 && due < wait)
                wait = due;
        }
        if (app->stopping && !app->stopped_all) {
            int64_t left = app->stop_at - zjob_mono_ms ();
            if (left < wait)
                wait = left > 0 ? (int) left : 0;
        }
        if (zmq_poll (app->items, (int) count, wait) < 0 && errno != EINTR) {
            zjob_log_error ("poll failed: %s", zmq_strerror (zmq_errno ()));
            return -1;
        }

        //  Signals, then the commands' pipes and timers
        bool reap = false;
        if (app->items [1].revents)
            s_on_signals (app, &reap);
        for (size_t i = 2; i < count; i++)
            if (app->items [i].revents)
                zjob_runner_update (app->owners [i]->runner);
        for (s_run_t *run = (s_run_t *) zlistx_first (app->runs); run;
             run = (s_run_t *) zlistx_next (app->runs))
            if (run->runner && (reap || zjob_runner_timeout (run->runner) == 0))
                zjob_runner_update (run->runner);

        //  The broker
        while (true) {
            zjob_task_t *task;
            zjob_error_t err;
            int kind = zjob_worker_recv (app->worker, 0, &task, &err);
            if (kind < 0) {
                //  Only an interrupt through CZMQ, whose handler is off
                zjob_log_error ("the worker engine stopped: %s", err.text);
                return -1;
            }
            if (kind == ZJOB_WORKER_NOTHING)
                break;
            s_on_event (app, kind, task);
        }

        //  Progress to report, commands that ended
        s_run_t *run = (s_run_t *) zlistx_first (app->runs);
        while (run) {
            s_run_t *next = (s_run_t *) zlistx_next (app->runs);
            float progress;
            const char *message;
            if (run->runner && !run->cancelled && !run->handed_back
                && zjob_runner_progress (run->runner, &progress, &message)) {
                if (app->options->verbose)
                    zjob_log_info ("job %s progress %.0f%% %s", run->id, progress * 100,
                                   message ? message : "");
                zjob_worker_progress (app->worker, run->task, progress, message);
            }
            if (run->runner && zjob_runner_finished (run->runner)) {
                s_finish (app, run);
                s_run_delete (app, run);
            }
            run = next;
            //  s_run_delete moved the cursor: find next again
            if (run)
                zlistx_find (app->runs, run);
        }

        //  A stop: when the grace is over, stop the commands; when none
        //  is left, leave
        if (app->stopping) {
            if (!app->stopped_all && zjob_mono_ms () >= app->stop_at)
                s_stop_all (app, false);
            if (!s_running (app))
                return 0;
        }
    }
}

int
main (int argc, char *argv [])
{
    s_options_t options;
    bool done;
    int status = s_parse (argc, argv, &options, &done);
    if (done)
        return status;
    s_standard_fds ();

    //  Our own signal handling, in place of CZMQ's; then CZMQ's set-up and
    //  its logging, all before any socket exists (zsys_set_* must be)
    zsys_handler_set (NULL);
    zjob_czmq_init ();
    zsys_set_logstream (stderr);
    zsys_set_logident ("zjob-worker");
    zjob_log_set_program ("zjob-worker");
    zjob_log_format_t format = ZJOB_LOG_TEXT;
    if (options.log_format && *options.log_format)
        zjob_log_parse_format (options.log_format, &format);  //  Checked by s_parse
    zjob_log_set_format (format);
    if (s_signals_setup () != 0) {
        fprintf (stderr, "zjob-worker: cannot set up signal handling: %s\n", strerror (errno));
        return EXIT_INTERNAL;
    }
    zjob_error_t err;
    s_app_t app = { &options, NULL, zlistx_new (), NULL, NULL, 0, false, 0, false };
    app.worker = zjob_worker_new_with (options.endpoint, options.name, options.workflows,
                                       options.workflow_count, options.slots, &options.keys, &err);
    if (app.worker && options.prefetch_set)
        zjob_worker_set_prefetch (app.worker, options.prefetch);
    if (!app.worker || !app.runs) {
        bool keys = !app.worker && zjob_connect_secure (&options.keys) && !strstr (err.text, "--")
            && (strstr (err.text, "certificate") || strstr (err.text, "broker key"));
        fprintf (stderr, "zjob-worker: %s%s\n", app.worker ? "out of memory" : err.text,
                 keys ? " (--cert FILE or ZJOB_CERT, --broker-key KEY|FILE or ZJOB_BROKER_KEY)"
                      : "");
        status = !app.worker && err.code == ZJOB_BAD_REQUEST ? EXIT_BAD_INPUT : EXIT_INTERNAL;
        zjob_worker_destroy (&app.worker);
        zlistx_destroy (&app.runs);
        return status;
    }
    char *command = strdup (options.command [0]);
    for (int i = 1; command && options.command [i]; i++) {
        char *longer = zsys_sprintf ("%s %s", command, options.command [i]);
        free (command);
        command = longer;
    }
    char workflows [1024] = "";
    for (size_t i = 0; i < options.workflow_count; i++)
        snprintf (workflows + strlen (workflows), sizeof (workflows) - strlen (workflows),
                  "%s%s", i ? ", " : "", options.workflows [i]);
    zjob_log_info ("worker %s serving %s from %s with %zu slot%s: runs `%s` per job "
                   "(inputs on stdin, outputs as JSON on stdout, progress lines "
                   "\"FRACTION [MESSAGE]\" on fd 3)",
                   zjob_worker_id (app.worker), workflows, options.endpoint, options.slots,
                   options.slots == 1 ? "" : "s", command ? command : options.command [0]);
    free (command);

    int rc = s_serve (&app);

    //  Kill and reap whatever still runs (only after a fatal error), then
    //  deliver the results and hand back the jobs still held
    while (zlistx_size (app.runs))
        s_run_delete (&app, (s_run_t *) zlistx_first (app.runs));
    if (rc == 0) {
        if (zjob_worker_flush (app.worker, ZJOB_WORKER_LINGER_MS) != 0)
            zjob_log_warning ("some results were not acknowledged by the broker");
        size_t held = zjob_worker_held (app.worker);
        zjob_log_info ("stopped; %zu job%s handed back to the broker", held, held == 1 ? "" : "s");
    }
    zjob_worker_destroy (&app.worker);
    zlistx_destroy (&app.runs);
    free (app.items);
    free (app.owners);
    return rc == 0 ? 0 : EXIT_INTERNAL;
}
