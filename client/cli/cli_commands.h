/*  =========================================================================
    cli_commands - the commands of the zjob CLI and their table

    One function per command, grouped by file: cli_jobs.c (submit, get,
    status, result, list), cli_lifecycle.c (start, pause, resume, cancel,
    delete, retry, run-now: one job, several or a filter), cli_policy.c
    (submit's retry policy and timeouts), cli_watch.c (wait, watch),
    cli_admin.c (cleanup, stats, workers, metrics), cli_schedule.c (schedule) and cli_help.c (help, and the
    cli_admin.c (cleanup, stats, workers, metrics), cli_queue.c (queue: per-workflow
    pause and limits), cli_keygen.c (keygen: a CURVE key pair; it connects
    to nothing) and cli_help.c (help, and the
    table of every command with its usage and help text). A command takes
    its arguments from its name on (argv [0] is the name), parses its own
    options and returns the exit code.
    ========================================================================= */

#ifndef ZJOB_CLI_COMMANDS_H_INCLUDED
#define ZJOB_CLI_COMMANDS_H_INCLUDED

#include "cli_core.h"

typedef int (zjob_cli_fn) (zjob_cli_t *cli, int argc, char *argv []);

typedef struct {
    const char *name;
    zjob_cli_fn *run;
    const char *usage;    //  Arguments, after "zjob NAME"
    const char *summary;  //  One line, for `zjob help`
    const char *help;     //  Description and options
} zjob_cli_command_t;

//  The command called name, or NULL
const zjob_cli_command_t *
zjob_cli_command_find (const char *name);

//  The commands, in the order `zjob help` lists them; *count_p of them
const zjob_cli_command_t *
zjob_cli_commands (size_t *count_p);

//  `zjob help`: the commands, global options, exit codes and statuses
void
zjob_cli_print_help (FILE *out);

//  The commands. Each runs on argv [0..argc) (argv [0] is its name), prints
//  its output on stdout and its errors on stderr, and returns the exit code;
//  it connects (cli->client) only after its arguments are checked, and
//  never for --help.
int zjob_cli_cmd_submit (zjob_cli_t *cli, int argc, char *argv []);
int zjob_cli_cmd_get (zjob_cli_t *cli, int argc, char *argv []);
int zjob_cli_cmd_status (zjob_cli_t *cli, int argc, char *argv []);
int zjob_cli_cmd_result (zjob_cli_t *cli, int argc, char *argv []);
int zjob_cli_cmd_list (zjob_cli_t *cli, int argc, char *argv []);
int zjob_cli_cmd_start (zjob_cli_t *cli, int argc, char *argv []);
int zjob_cli_cmd_pause (zjob_cli_t *cli, int argc, char *argv []);
int zjob_cli_cmd_resume (zjob_cli_t *cli, int argc, char *argv []);
int zjob_cli_cmd_cancel (zjob_cli_t *cli, int argc, char *argv []);
int zjob_cli_cmd_delete (zjob_cli_t *cli, int argc, char *argv []);
int zjob_cli_cmd_retry (zjob_cli_t *cli, int argc, char *argv []);
int zjob_cli_cmd_run_now (zjob_cli_t *cli, int argc, char *argv []);
int zjob_cli_cmd_wait (zjob_cli_t *cli, int argc, char *argv []);
int zjob_cli_cmd_watch (zjob_cli_t *cli, int argc, char *argv []);
//  cli_events.c: zjob events, every event of the broker
int zjob_cli_cmd_events (zjob_cli_t *cli, int argc, char *argv []);
int zjob_cli_cmd_cleanup (zjob_cli_t *cli, int argc, char *argv []);
int zjob_cli_cmd_stats (zjob_cli_t *cli, int argc, char *argv []);
int zjob_cli_cmd_workers (zjob_cli_t *cli, int argc, char *argv []);
int zjob_cli_cmd_metrics (zjob_cli_t *cli, int argc, char *argv []);
//  cli_template.c: zjob template set|get|list|delete
int zjob_cli_cmd_template (zjob_cli_t *cli, int argc, char *argv []);
int zjob_cli_cmd_queue (zjob_cli_t *cli, int argc, char *argv []);
int zjob_cli_cmd_help (zjob_cli_t *cli, int argc, char *argv []);
int zjob_cli_cmd_batch (zjob_cli_t *cli, int argc, char *argv []);
//  cli_keygen.c: zjob keygen NAME, a CURVE key pair
int zjob_cli_cmd_keygen (zjob_cli_t *cli, int argc, char *argv []);

//  submit's batch options (cli_batch.c): --batch-id, --batch-open,
//  --callback, --callback-input; strings borrowed from argv
typedef struct {
    zjob_batch_opts_t opts;  //  opts.id NULL: no batch
    zjob_spec_t callback;    //  opts.callback points here when given
    json_t *inputs;          //  --callback-input's object, or NULL
    uint8_t *packed;         //  The callback's inputs as msgpack (owned)
} zjob_cli_batch_t;

//  Take one of submit's batch options. Returns 1 if opt was one, 0 if
//  not, or -1 after a message (*rc_p: the exit code).
int
zjob_cli_batch_option (zjob_cli_t *cli, int opt, const char *arg, zjob_cli_batch_t *batch,
                       int *rc_p);

//  After the options: check them together and pack the callback's inputs.
//  Returns 0, or an exit code after a message.
int
zjob_cli_batch_ready (zjob_cli_t *cli, zjob_cli_batch_t *batch);

//  Free what batch owns.
void
zjob_cli_batch_free (zjob_cli_batch_t *batch);
int zjob_cli_cmd_schedule (zjob_cli_t *cli, int argc, char *argv []);

//  A STATS reply (as JSON) for people: the queue with its ready and
//  scheduled jobs, the limit when the broker has one, workers, rates, the
//  jobs by status and workflow, the store
void
zjob_cli_print_stats (json_t *stats);

//  The filter options shared by list and the lifecycle commands
#define ZJOB_CLI_FILTER_OPTIONS                                               \
    { "status", required_argument, NULL, 's' },                               \
        { "workflow", required_argument, NULL, 'w' },                         \
        { "user", required_argument, NULL, 'u' },                             \
        { "tag", required_argument, NULL, 't' },                              \
        { "created-after", required_argument, NULL, ZJOB_OPT_CREATED_AFTER }, \
        { "dead", no_argument, NULL, ZJOB_OPT_DEAD },                         \
        { "waiting-on", required_argument, NULL, ZJOB_OPT_WAITING_ON },       \
        { "batch", required_argument, NULL, ZJOB_OPT_BATCH_ID },              \
        { "batch-id", required_argument, NULL, ZJOB_OPT_BATCH_ID },           \
        { "schedule", required_argument, NULL, ZJOB_OPT_SCHEDULE },           \
    {                                                                         \
        "created-before", required_argument, NULL, ZJOB_OPT_CREATED_BEFORE    \
    }

//  A filter being built from options; strings are borrowed from argv
typedef struct {
    zjob_filter_t filter;
    const char **tags;  //  The filter's tags (freed by the caller)
    bool given;         //  Some criterion was given
    bool plain;         //  --status named a real status
    int64_t narrowed;   //  ZJOB_CLI_SCHEDULED | ZJOB_CLI_READY seen
} zjob_cli_filter_t;

//  Take one filter option. Returns 1 if opt was one, 0 if not, or -1 after
//  a message (*rc_p: the exit code).
int
zjob_cli_filter_option (zjob_cli_t *cli, int opt, const char *arg,
                        zjob_cli_filter_t *filter, int *rc_p);

//  Parse a command whose only argument is one job id (options: the common
//  ones). Returns ZJOB_CLI_CONTINUE with *id_p set and the broker
//  connected, or the exit code to end with.
int
zjob_cli_parse_id_command (zjob_cli_t *cli, int argc, char *argv [], const char **id_p);

//  Parse a command with no arguments (options: the common ones). Returns
//  ZJOB_CLI_CONTINUE with the broker connected, or the exit code.
int
zjob_cli_parse_plain (zjob_cli_t *cli, int argc, char *argv []);

#endif
