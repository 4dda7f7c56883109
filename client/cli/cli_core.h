/*  =========================================================================
    cli_core - what every command of the zjob CLI shares

    The CLI is a small static library (client/cli/) under a thin main
    (client/zjob_main.c), so that its parsing and formatting can be tested
    by calling them, not only by spawning the binary. This module is its
    core: the context a command runs in (zjob_cli_t: the broker endpoints,
    the timeouts, the output mode and the connected client), the exit
    codes, the error messages with their hints, the connection and the
    option parser that every command uses for the options they all take.

    Time. --request-timeout bounds each request (how long the broker may
    take to answer it); --timeout bounds the whole command, wherever it is
    written (before or after the command's name): wait and watch end with
    exit 7 when the job is not finished by then, and every request is given
    at most the time left (ZJOB_CLI_REQUEST_MIN at least, so that a spent
    --timeout can still read the job), so no command outlives --timeout by
    more than that.
    ========================================================================= */

#ifndef ZJOB_CLI_CORE_H_INCLUDED
#define ZJOB_CLI_CORE_H_INCLUDED

#include <getopt.h>
#include "zjob_client.h"
#include "zjob_json.h"
#include "zjob_job_impl.h"  //  In-tree: the CLI reads job fields
#include "zjob_proto.h"
#include "zjob_util.h"

//  The daemon's defaults (ZJOB_BROKER_*_DEFAULT in broker/zjob_broker.h,
//  which the client side does not include: a lower layer never sees it)
#define ZJOB_CLI_BROKER_DEFAULT "tcp://127.0.0.1:5570"
#define ZJOB_CLI_EVENTS_DEFAULT "tcp://127.0.0.1:5572"
#define ZJOB_CLI_REQUEST_TIMEOUT 3000  //  msecs the broker has to answer a request
//  msecs a request gets even when --timeout
//  is (nearly) spent
#define ZJOB_CLI_REQUEST_MIN 100
#define ZJOB_CLI_ENDPOINT_MAX 4096  //  bytes of an endpoint or a list, with its NUL

//  Exit codes, the same for every command (README.md, `zjob help`)
#define ZJOB_EXIT_OK 0             //  done; wait, watch, result: the job completed
#define ZJOB_EXIT_USAGE 1          //  unknown command or option, missing argument
#define ZJOB_EXIT_BAD_INPUT 2      //  an invalid option value, JSON or field (400, 413)
#define ZJOB_EXIT_NOT_FOUND 3      //  no such job (404), or no id can look so
#define ZJOB_EXIT_CONFLICT 4       //  the job's status does not allow it (409)
#define ZJOB_EXIT_UNAVAILABLE 5    //  no broker answered, or it refused (503)
#define ZJOB_EXIT_JOB_FAILED 6     //  the job failed or was cancelled
#define ZJOB_EXIT_TIMEOUT 7        //  the job was not finished within --timeout
#define ZJOB_EXIT_INTERNAL 8       //  the broker failed (500) or answered nonsense
#define ZJOB_EXIT_BUSY 9           //  the broker is at a limit (429): try again later
#define ZJOB_EXIT_DENIED 10        //  the broker refused the key (401) or the operation (403)
#define ZJOB_EXIT_INTERRUPTED 130  //  Ctrl-C

//  A command's parser says "go on" with this (any other value: exit with it)
#define ZJOB_CLI_CONTINUE (-1)

//  What every command works with
typedef struct {
    const char *command;                  //  The command's name, for messages
    char broker [ZJOB_CLI_ENDPOINT_MAX];  //  Client endpoint of the broker
    char events [ZJOB_CLI_ENDPOINT_MAX];  //  Events endpoint of the broker
    int request_timeout_ms;               //  msecs the broker has to answer a request
    int64_t timeout_ms;                   //  --timeout: msecs for the command; -1 none
    int64_t started;                      //  zjob_mono_ms when the command began
    bool json;                            //  Machine output
    bool tty;                             //  stdout is a terminal
    bool stdin_used;                      //  An argument already read stdin
    const char *job_id;                   //  The one job the command is about, or NULL
    zjob_client_t *client;                //  Connected by zjob_cli_connect, else NULL
    zjob_connect_opts_t keys;             //  --cert, --broker-key ($ZJOB_CERT,
                                          //  $ZJOB_BROKER_KEY); borrowed, NULL if not given
} zjob_cli_t;

//  Set up cli for a run: endpoints from $ZJOB_BROKER and $ZJOB_EVENTS
//  (else the defaults), the CURVE keys from $ZJOB_CERT and
//  $ZJOB_BROKER_KEY (empty: not set), the default timeouts, tty from stdout.
void
zjob_cli_init (zjob_cli_t *cli);

//  Release what cli holds (the client); safe to call twice.
void
zjob_cli_fini (zjob_cli_t *cli);

//  Store endpoint into buf (ZJOB_CLI_ENDPOINT_MAX bytes): as given when it
//  names a transport ("tcp://..."), else with "tcp://" put before it
//  ("127.0.0.1:5570"); each endpoint of a comma list alike (the brokers of
//  one shared store). Returns 0, or -1 if it is empty or too long.
int
zjob_cli_endpoint_set (char *buf, const char *endpoint);

//  "zjob COMMAND: message" and a newline on stderr
void
zjob_cli_error (zjob_cli_t *cli, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  A usage error (unknown option, missing argument) with a pointer to the
//  help. Returns ZJOB_EXIT_USAGE.
int
zjob_cli_usage (zjob_cli_t *cli, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  An invalid option value, with a pointer to the help. Returns
//  ZJOB_EXIT_BAD_INPUT.
int
zjob_cli_bad_value (zjob_cli_t *cli, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  The exit code of a status code (zjob_error_code_t).
int
zjob_cli_exit_code (int code);

//  True if err says that no answer came (a timeout, a failed send, the
//  connection), false if the broker answered with an error.
bool
zjob_cli_no_answer (const zjob_error_t *err);

//  With --json and one job (cli->job_id), the failure as {"id", "code",
//  "error"} on stdout; nothing otherwise. code is the status code (404...).
void
zjob_cli_fail_json (zjob_cli_t *cli, int code, const char *text);

//  Report a failed request with what to do about it (with --json and one
//  job, also {"id", "code", "error"} on stdout). Returns the exit code.
int
zjob_cli_fail (zjob_cli_t *cli, const zjob_error_t *err);

//  A subscriber on the events endpoint (--events, ZJOB_EVENTS) with the
//  CLI's keys, or NULL after saying why (the caller exits
//  ZJOB_EXIT_BAD_INPUT): for zjob watch and zjob events.
zjob_events_t *
zjob_cli_events_open (zjob_cli_t *cli);

//  msecs the next request may take: the request timeout, or less when the
//  command's --timeout leaves less, but at least ZJOB_CLI_REQUEST_MIN (or
//  the request timeout, when that is shorter): `wait ID --timeout 0` can
//  still ask once.
int
zjob_cli_request_ms (zjob_cli_t *cli);

//  msecs left of --timeout (0 when passed), or -1 without --timeout.
int64_t
zjob_cli_time_left (zjob_cli_t *cli);

//  Connect to the broker unless connected. Returns 0, or an exit code
//  after saying what went wrong.
int
zjob_cli_connect (zjob_cli_t *cli);

//  The connected client, its timeout set to zjob_cli_request_ms.
zjob_client_t *
zjob_cli_client (zjob_cli_t *cli);

//  Check a job id argument; returns 0 or ZJOB_EXIT_NOT_FOUND after saying
//  why.
int
zjob_cli_check_id (zjob_cli_t *cli, const char *id);

//  Send one asynchronous request (already sent: request) and wait for its
//  reply. Returns the reply, or NULL with err filled (an ERROR reply too).
zjob_reply_t *
zjob_cli_reply (zjob_cli_t *cli, uint64_t request, zjob_error_t *err);


//  --------------------------------------------------------------------------
//  Options. Every command parses its own with getopt_long; the options all
//  commands take are handled by zjob_cli_getopt.

enum {
    ZJOB_OPT_BROKER = 1000,
    ZJOB_OPT_EVENTS,
    ZJOB_OPT_REQUEST_TIMEOUT,
    ZJOB_OPT_TIMEOUT,
    ZJOB_OPT_JSON,
    ZJOB_OPT_CREATED_AFTER,
    ZJOB_OPT_CREATED_BEFORE,
    ZJOB_OPT_MAX_ATTEMPTS,
    ZJOB_OPT_RUN_AT,
    ZJOB_OPT_DELAY,
    ZJOB_OPT_NO_START,
    ZJOB_OPT_BATCH,
    ZJOB_OPT_SORT,
    ZJOB_OPT_ASC,
    ZJOB_OPT_DESC,
    ZJOB_OPT_ALL,
    ZJOB_OPT_OFFSET,
    ZJOB_OPT_DRY_RUN,
    ZJOB_OPT_OLDER_THAN,
    ZJOB_OPT_RESET_ATTEMPTS,
    ZJOB_OPT_DEAD,
    ZJOB_OPT_BACKOFF,
    ZJOB_OPT_BACKOFF_BASE,
    ZJOB_OPT_BACKOFF_FACTOR,
    ZJOB_OPT_BACKOFF_MAX,
    ZJOB_OPT_JITTER,
    ZJOB_OPT_NO_RETRY,
    ZJOB_OPT_JOB_TIMEOUT,
    ZJOB_OPT_HEARTBEAT_TIMEOUT,
    ZJOB_OPT_DEPENDS_ON,
    ZJOB_OPT_ON_PARENT_FAILURE,
    ZJOB_OPT_WAITING_ON,
    ZJOB_OPT_BATCH_ID,        //  submit --batch-id, a filter's --batch
    ZJOB_OPT_BATCH_OPEN,      //  submit --batch-open
    ZJOB_OPT_CALLBACK,        //  submit --callback
    ZJOB_OPT_CALLBACK_INPUT,  //  submit --callback-input
    ZJOB_OPT_TEMPLATE,
    ZJOB_OPT_SCHEDULE,
    ZJOB_OPT_CERT,        //  --cert FILE
    ZJOB_OPT_BROKER_KEY,  //  --broker-key KEY|FILE
    ZJOB_OPT_HELP = -2,   //  zjob_cli_getopt's returns besides options
    ZJOB_OPT_INVALID = -3
};

#define ZJOB_CLI_COMMON_OPTIONS                                                   \
    { "broker", required_argument, NULL, ZJOB_OPT_BROKER },                       \
        { "events", required_argument, NULL, ZJOB_OPT_EVENTS },                   \
        { "request-timeout", required_argument, NULL, ZJOB_OPT_REQUEST_TIMEOUT }, \
        { "connect-timeout", required_argument, NULL, ZJOB_OPT_REQUEST_TIMEOUT }, \
        { "timeout", required_argument, NULL, ZJOB_OPT_TIMEOUT },                 \
        { "json", no_argument, NULL, ZJOB_OPT_JSON },                             \
        { "cert", required_argument, NULL, ZJOB_OPT_CERT },                       \
        { "broker-key", required_argument, NULL, ZJOB_OPT_BROKER_KEY },           \
        { "help", no_argument, NULL, 'h' },                                       \
    {                                                                             \
        NULL, 0, NULL, 0                                                          \
    }

//  Start parsing a command's options (getopt's state is global)
void
zjob_cli_getopt_reset (void);

//  The next option of a command: getopt_long with shorts (a leading '+'
//  stops at the first argument), handling the common options itself.
//  Returns the option, -1 at the end, ZJOB_OPT_HELP, or ZJOB_OPT_INVALID
//  after saying why (*rc_p then holds the exit code).
int
zjob_cli_getopt (zjob_cli_t *cli, int argc, char *argv [], const char *shorts,
                 const struct option *options, int *rc_p);

//  What a command returns when zjob_cli_getopt gave no option of its own:
//  after printing the command's help for ZJOB_OPT_HELP, ZJOB_EXIT_OK; else
//  the exit code of the error (rc, as zjob_cli_getopt set it).
int
zjob_cli_getopt_end (zjob_cli_t *cli, int opt, int rc);

//  Print the help of the command named name to out (commands in cli_help.c)
void
zjob_cli_print_command_help (const char *name, FILE *out);

#endif
